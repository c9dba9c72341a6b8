package experiment

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bertbench/bertbench/prompt"
	"github.com/bertbench/bertbench/runners"
)

// hashVersion changes whenever what Hash or Run.Key covers changes.
const hashVersion = 1

func defaultPrompt() Prompt {
	return Prompt{Name: DefaultPromptName, Template: prompt.DefaultTranslate}
}

// Run is one pass of one variation over the dataset: one combination of
// its runner, prompt and parameter values, and one of its repeats.
type Run struct {
	// Name names the combination: the variation's name, then, for each of
	// runner, prompt, temperature, top_p, max_tokens, seed and num_ctx
	// that the variation lists more than one value of, "/" and the value
	// (a runner's or prompt's name, "temperature=0.7", ...). Unique in a
	// plan; the same for every repeat.
	Name string
	// Variation is the name of the variation it comes from.
	Variation string
	// Repeat is the repeat's index, from 0; Repeats is how many there are.
	Repeat, Repeats int
	// Runner is the runner's name and Spec its spec, a replay:FILE's file
	// resolved against the config's folder.
	Runner, Spec string
	// Mode is the runner's API mode ("" is chat).
	Mode runners.Mode
	// Concurrency, Timeout and Retries are the runner's; 0 selects the
	// default.
	Concurrency int
	Timeout     time.Duration
	Retries     int
	// Prompt is the prompt's name, Template its text and System its
	// system prompt.
	Prompt, Template, System string
	// Params are the sampling parameters of the combination.
	Params runners.Params
	// Key identifies what the run's outputs depend on: the runner spec as
	// the config writes it, mode, template, system prompt, target
	// language, parameters and the repeat's index (not the names, nor
	// concurrency, timeout or retries). A resumed run whose Key changed
	// cannot reuse the outputs stored under the old one. Hex SHA-256.
	Key string
}

// ID is the run's id in a plan: NAME#N, N the repeat from 1.
func (r Run) ID() string { return r.Name + "#" + strconv.Itoa(r.Repeat+1) }

// Plan expands the variations into runs: for each variation in order,
// every combination of its runners, prompts, temperatures, top_p values,
// max_tokens, seeds and num_ctx values (in that order, the last varying
// fastest), each repeated Repeat times (repeats innermost). The same
// config always gives the same plan. Plan expects a config that Validate
// accepted; a name it cannot resolve is an error.
func (c *Config) Plan() ([]Run, error) {
	runnerAt := map[string]Runner{}
	for _, r := range c.Runners {
		runnerAt[r.Name] = r
	}
	promptAt := map[string]Prompt{}
	for _, p := range c.Prompts {
		promptAt[p.Name] = p
	}
	prompts := c.Prompts
	if len(prompts) == 0 {
		prompts = []Prompt{defaultPrompt()}
		promptAt[DefaultPromptName] = prompts[0]
	}
	var plan []Run
	for i, va := range c.Variations {
		path := fmt.Sprintf("variations[%d]", i)
		var runs []Runner
		for _, n := range va.Runner {
			r, ok := runnerAt[n]
			if !ok {
				return nil, Errors{c.errorf(path+".runner", "no runner is named %q; run Validate first", n)}
			}
			runs = append(runs, r)
		}
		var prs []Prompt
		for _, n := range va.Prompt {
			p, ok := promptAt[n]
			if !ok {
				return nil, Errors{c.errorf(path+".prompt", "no prompt is named %q; run Validate first", n)}
			}
			prs = append(prs, p)
		}
		if len(prs) == 0 {
			if len(prompts) != 1 {
				return nil, Errors{c.errorf(path+".prompt", "no prompt, and the config has %d; run Validate first", len(prompts))}
			}
			prs = prompts
		}
		repeats := va.Repeat
		if repeats == 0 {
			repeats = c.Repeat
		}
		if repeats == 0 {
			repeats = DefaultRepeat
		}
		for _, combo := range combinations(va, runs, prs, c.resolveSpec) {
			for rep := range repeats {
				run := combo
				run.Repeat, run.Repeats = rep, repeats
				key, err := c.runKey(run, runnerAt[run.Runner].Spec)
				if err != nil {
					return nil, Errors{c.errorf(path, "%v; run Validate first", err)}
				}
				run.Key = key
				plan = append(plan, run)
			}
		}
	}
	return plan, nil
}

// combinations lists a variation's combinations, named, without repeats.
func combinations(va Variation, runs []Runner, prs []Prompt, resolve func(string) string) []Run {
	axes := []axis{
		{len(runs), func(i int) string { return runs[i].Name }, func(r *Run, i int) {
			x := runs[i]
			r.Runner, r.Spec, r.Mode = x.Name, resolve(x.Spec), runners.Mode(x.Mode)
			r.Concurrency, r.Timeout, r.Retries = x.Concurrency, x.Timeout.Std(), x.Retries
		}},
		{len(prs), func(i int) string { return prs[i].Name }, func(r *Run, i int) {
			r.Prompt, r.Template, r.System = prs[i].Name, prs[i].Template, prs[i].System
		}},
		floatAxis(va.Temperature, "temperature", func(p *runners.Params) **float64 { return &p.Temperature }),
		floatAxis(va.TopP, "top_p", func(p *runners.Params) **float64 { return &p.TopP }),
		intAxis(va.MaxTokens, "max_tokens", func(p *runners.Params) **int { return &p.MaxTokens }),
		intAxis(va.Seed, "seed", func(p *runners.Params) **int { return &p.Seed }),
		intAxis(va.NumCtx, "num_ctx", func(p *runners.Params) **int { return &p.NumCtx }),
	}
	out := []Run{{Variation: va.Name, Params: runners.Params{Stop: va.Stop}}}
	labels := [][]string{nil}
	for _, ax := range axes {
		if ax.n == 0 {
			continue
		}
		var next []Run
		var nextLabels [][]string
		for j, r := range out {
			for i := range ax.n {
				rr := r
				ax.set(&rr, i)
				l := labels[j]
				if ax.n > 1 {
					l = append(l[:len(l):len(l)], ax.label(i))
				}
				next, nextLabels = append(next, rr), append(nextLabels, l)
			}
		}
		out, labels = next, nextLabels
	}
	for j := range out {
		out[j].Name = strings.Join(append([]string{va.Name}, labels[j]...), "/")
	}
	return out
}

// axis is one dimension of a variation: n values, each with a label for
// the run's name and a setter.
type axis struct {
	n     int
	label func(i int) string
	set   func(r *Run, i int)
}

func floatAxis(vals List[float64], name string, field func(*runners.Params) **float64) axis {
	return axis{len(vals), func(i int) string { return name + "=" + strconv.FormatFloat(vals[i], 'g', -1, 64) },
		func(r *Run, i int) { x := vals[i]; *field(&r.Params) = &x }}
}

func intAxis(vals List[int], name string, field func(*runners.Params) **int) axis {
	return axis{len(vals), func(i int) string { return name + "=" + strconv.Itoa(vals[i]) },
		func(r *Run, i int) { x := vals[i]; *field(&r.Params) = &x }}
}

// resolveSpec resolves a replay:FILE spec's file against Dir; other specs
// are returned unchanged.
func (c *Config) resolveSpec(spec string) string {
	sp, err := runners.ParseSpec(spec)
	if err != nil || sp.Provider != runners.ProviderReplay {
		return spec
	}
	return runners.ProviderReplay + ":" + c.Path(sp.Model)
}

// runKey is Run.Key; spec is the runner's spec as the config writes it.
func (c *Config) runKey(r Run, spec string) (string, error) {
	mode := r.Mode
	if mode == "" {
		mode = runners.ModeChat
	}
	return hashJSON(struct {
		V        int            `json:"v"`
		Spec     string         `json:"spec"`
		Mode     runners.Mode   `json:"mode"`
		Template string         `json:"template"`
		System   string         `json:"system"`
		To       string         `json:"to"`
		Params   runners.Params `json:"params"`
		Repeat   int            `json:"repeat"`
	}{hashVersion, spec, mode, r.Template, r.System, c.To, r.Params, r.Repeat})
}

// Hash identifies the experiment for resume checks: a hex SHA-256 over the
// config with its defaults filled in, as JSON, leaving out what does not
// change the results (the name, the output folder, comments, layout and
// the order of keys). Paths count as written, not the files' contents.
// It fails only for a config Validate refuses (a NaN parameter).
func (c *Config) Hash() (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("experiment: hashing the config: %w", err)
	}
	var n Config
	if err := json.Unmarshal(b, &n); err != nil {
		return "", fmt.Errorf("experiment: hashing the config: %w", err)
	}
	n.File = c.File
	n.normalize()
	// Each variation's repeat, wherever the file sets it.
	for i := range n.Variations {
		if n.Variations[i].Repeat == 0 {
			n.Variations[i].Repeat = n.Repeat
		}
	}
	n.Repeat = 0
	n.Name, n.Output = "", ""
	return hashJSON(struct {
		V      int     `json:"v"`
		Config *Config `json:"config"`
	}{hashVersion, &n})
}

func hashJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("experiment: hashing: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
