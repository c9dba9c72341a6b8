package experiment

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/bertbench/bertbench/dataset"
	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/modelspec"
	"github.com/bertbench/bertbench/prompt"
	"github.com/bertbench/bertbench/runners"
)

var (
	namePattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	devicePattern = regexp.MustCompile(`^(cpu|cuda(:[0-9]+)?)$`)
	langPattern   = regexp.MustCompile(`^[a-z]{2,3}([-_][A-Za-z0-9]+)*$`)
)

// Validate checks everything about the config that can be checked
// offline, without calling a model: names (present, well formed, unique,
// and naming a runner or prompt that exists), runner specs
// (runners.ParseSpec; a replay:FILE's file exists), parameters
// (runners.Params.Validate), prompt templates (prompt.Parse, and a target
// language when they use {{.To}}), the dataset (the file opens and its
// first item has the named fields and a reference; the rest of the file is
// read when the experiment runs), the scoring options (device, layer, a
// checkpoint or model folder that exists, a baseline for rescale when one
// can be found offline), repeat and concurrency bounds, and the output
// folder.
//
// Validate reports every problem it finds, not only the first, as Errors:
// one line each, "FILE:LINE:COL: PATH: what is wrong, and the fix", in
// file order (at most MaxErrors, then a line saying how many more). Each
// matches ErrInvalidInput, and the underlying error (a
// *runners.FieldError renamed to its YAML path, a *dataset.Error) with
// errors.As.
func (c *Config) Validate() error {
	v := &validator{c: c, runners: map[string]int{}, prompts: map[string]int{}}
	v.config()
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs.sorted()
}

type validator struct {
	c    *Config
	errs Errors
	// runners and prompts map the names defined to their index.
	runners, prompts map[string]int
	// targetUsers are the prompts that name {{.To}}.
	targetUsers []int
	// defaultPrompt: the config has no prompts but the default one.
	defaultPrompt bool
}

func (v *validator) add(e *Error) { v.errs = append(v.errs, e) }

func (v *validator) errorf(path, format string, args ...any) {
	v.add(v.c.errorf(path, format, args...))
}

// wrap reports err, an error of another package, at path with msg.
func (v *validator) wrap(path string, err error, msg string) {
	e := v.c.errorf(path, "%s", msg)
	e.Err = err
	v.add(e)
}

func (v *validator) config() {
	c := v.c
	if c.Name == "" {
		v.errorf("name", "no name; give the experiment one, e.g. name: en-zh")
	} else if !namePattern.MatchString(c.Name) {
		v.errorf("name", "%q is not a usable name; use letters, digits, '.', '_' and '-' (starting with a letter or digit)", c.Name)
	}
	v.runnerList()
	v.promptList()
	switch {
	case c.Dataset == nil && c.Generate == nil:
		v.errorf("", "no dataset; give one (dataset: {file: items.jsonl}) or a generate: block that makes one")
	case c.Dataset != nil && c.Generate != nil:
		v.errorf("generate", "both dataset and generate; give one of them")
	case c.Dataset != nil:
		v.dataset("dataset", c.Dataset, true)
	default:
		v.generate()
	}
	if len(v.targetUsers) > 0 && strings.TrimSpace(c.To) == "" {
		if c.promptsDefaulted || v.defaultPrompt {
			v.errorf("to", "no target language, and the default prompt names it as {{.To}}; add e.g. to: Chinese")
		} else {
			v.errorf(fmt.Sprintf("prompts[%d].template", v.targetUsers[0]), "the prompt names the target language as {{.To}}, but the config sets none; add e.g. to: Chinese")
		}
	}
	v.variations()
	if c.Repeat < 0 || c.Repeat > MaxRepeat {
		v.errorf("repeat", "%d is out of range; give 1 to %d", c.Repeat, MaxRepeat)
	}
	v.scoring()
	v.output()
}

// name checks a name at path, of a kind ("runner"), against the names
// already seen (nil: no uniqueness check); it reports whether it is
// usable.
func (v *validator) name(path, kind, name string, seen map[string]int, index int) bool {
	switch {
	case name == "":
		v.errorf(path, "no name; give the %s one, e.g. name: %s", kind, exampleName(kind))
		return false
	case !namePattern.MatchString(name):
		v.errorf(path, "%q is not a usable %s name; use letters, digits, '.', '_' and '-' (starting with a letter or digit)", name, kind)
		return false
	}
	if seen != nil {
		if prev, dup := seen[name]; dup {
			v.errorf(path, "%s name %q is also the name of %ss[%d]; give each %s its own name", kind, name, kind, prev, kind)
			return false
		}
		seen[name] = index
	}
	return true
}

func exampleName(kind string) string {
	switch kind {
	case "runner":
		return "llama2-base"
	case "prompt":
		return "plain"
	}
	return "llama2-t0"
}

func (v *validator) runnerList() {
	c := v.c
	if len(c.Runners) == 0 {
		v.errorf("runners", "no runners; list the models to call, e.g. runners: [{name: llama2, spec: ollama:llama2:13b}]")
	}
	for i, r := range c.Runners {
		p := fmt.Sprintf("runners[%d]", i)
		v.name(p+".name", "runner", r.Name, v.runners, i)
		sp, err := runners.ParseSpec(r.Spec)
		if err != nil {
			v.wrap(p+".spec", err, err.Error()+specFix(r.Spec))
		} else if sp.Provider == runners.ProviderReplay {
			v.existingFile(p+".spec", c.Path(sp.Model), "the recording of replay:FILE")
		}
		switch runners.Mode(r.Mode) {
		case "", runners.ModeChat:
		case runners.ModeGenerate:
			if err == nil && sp.Provider != runners.ProviderOllama {
				v.errorf(p+".mode", "mode generate needs an ollama: runner (%s speaks chat completions only); drop mode", sp.Provider)
			}
		default:
			v.errorf(p+".mode", "%q is not a mode; give chat or generate", r.Mode)
		}
		if r.Concurrency < 0 || r.Concurrency > MaxConcurrency {
			v.errorf(p+".concurrency", "%d is out of range; give 1 to %d (or leave it out: 1 for Ollama, 4 otherwise)", r.Concurrency, MaxConcurrency)
		}
		if r.Retries < 0 || r.Retries > MaxRetries {
			v.errorf(p+".retries", "%d is out of range; give 1 to %d attempts (1: no retry)", r.Retries, MaxRetries)
		}
		if r.Timeout < 0 {
			v.errorf(p+".timeout", "%v is negative; give a positive duration such as 5m", r.Timeout.Std())
		}
	}
}

// templateMsg words a prompt.Parse error about the template's own lines
// ("template:1:2: ...") as "template line 1, column 2: ...".
func templateMsg(err error) string {
	msg := err.Error()
	rest, ok := strings.CutPrefix(msg, "template:")
	if !ok {
		return msg
	}
	line, rest, ok := strings.Cut(rest, ":")
	if _, err := strconv.Atoi(line); !ok || err != nil {
		return msg
	}
	if col, after, ok := strings.Cut(rest, ":"); ok {
		if _, err := strconv.Atoi(col); err == nil {
			return fmt.Sprintf("template line %s, column %s:%s", line, col, after)
		}
	}
	return fmt.Sprintf("template line %s:%s", line, rest)
}

// specFix adds a hint for a spec written the way another tool writes it.
func specFix(spec string) string {
	provider, rest, ok := strings.Cut(strings.TrimSpace(spec), ":")
	switch {
	case spec == "":
		return ""
	case !ok:
		return fmt.Sprintf("; for an Ollama model write ollama:%s", spec)
	}
	known := []string{runners.ProviderOllama, runners.ProviderOpenAI, runners.ProviderOpenAICompatible, runners.ProviderReplay}
	if s := suggest(provider, known); s != "" && s != provider {
		return fmt.Sprintf("; did you mean %s:%s?", s, rest)
	}
	return ""
}

func (v *validator) promptList() {
	c := v.c
	prompts := c.Prompts
	if len(prompts) == 0 { // a config made in Go: Plan gives it the default
		prompts = []Prompt{defaultPrompt()}
		v.defaultPrompt = true
	}
	for i, pr := range prompts {
		p := fmt.Sprintf("prompts[%d]", i)
		v.name(p+".name", "prompt", pr.Name, v.prompts, i)
		t, err := prompt.Parse("template", pr.Template)
		if err != nil {
			v.wrap(p+".template", err, templateMsg(err))
			continue
		}
		if t.UsesTarget() {
			v.targetUsers = append(v.targetUsers, i)
		}
	}
}

// promptRefs checks the prompt names a variation or generate gives; an
// empty list is the only prompt, when there is only one.
func (v *validator) promptRefs(path string, names []string) {
	if len(names) == 0 {
		if len(v.c.Prompts) > 1 {
			v.errorf(path, "no prompt, and the config has %d; name one: prompt: %s", len(v.c.Prompts), v.c.Prompts[0].Name)
		}
		return
	}
	v.refs(path, "prompt", names, v.prompts, promptNames(v.c))
}

// refs checks names that must each name one of defined.
func (v *validator) refs(path, kind string, names []string, defined map[string]int, all []string) {
	for i, n := range names {
		p := path
		if len(names) > 1 {
			p = fmt.Sprintf("%s[%d]", path, i)
		}
		if _, ok := defined[n]; !ok {
			switch s := suggest(n, all); {
			case len(all) == 0:
				v.errorf(p, "no %s is named %q, and the config defines none; add it to %ss", kind, n, kind)
			case s != "":
				v.errorf(p, "no %s is named %q; did you mean %q? (%ss: %s)", kind, n, s, kind, strings.Join(all, ", "))
			default:
				v.errorf(p, "no %s is named %q; name one of the %ss: %s", kind, n, kind, strings.Join(all, ", "))
			}
		}
		if j := slices.Index(names, n); j >= 0 && j < i {
			v.errorf(p, "%q is listed twice; list each %s once", n, kind)
		}
	}
}

func runnerNames(c *Config) []string {
	var out []string
	for _, r := range c.Runners {
		out = append(out, r.Name)
	}
	return out
}

func promptNames(c *Config) []string {
	var out []string
	for _, p := range c.Prompts {
		out = append(out, p.Name)
	}
	return out
}

func (v *validator) variations() {
	c := v.c
	if len(c.Variations) == 0 {
		v.errorf("variations", "no variations; list what to compare, e.g. variations: [{name: base, runner: llama2}]")
	}
	seen := map[string]int{}
	configRepeat := false // the config's repeat was refused for a replay
	for i, va := range c.Variations {
		p := fmt.Sprintf("variations[%d]", i)
		v.name(p+".name", "variation", va.Name, seen, i)
		if len(va.Runner) == 0 {
			v.errorf(p+".runner", "no runner; name one of: %s", strings.Join(runnerNames(c), ", "))
		}
		v.refs(p+".runner", "runner", va.Runner, v.runners, runnerNames(c))
		v.promptRefs(p+".prompt", va.Prompt)
		checkAxis(v, p+".temperature", va.Temperature, func(x float64) runners.Params { return runners.Params{Temperature: &x} })
		checkAxis(v, p+".top_p", va.TopP, func(x float64) runners.Params { return runners.Params{TopP: &x} })
		checkAxis(v, p+".max_tokens", va.MaxTokens, func(x int) runners.Params { return runners.Params{MaxTokens: &x} })
		checkAxis(v, p+".seed", va.Seed, func(x int) runners.Params { return runners.Params{Seed: &x} })
		checkAxis(v, p+".num_ctx", va.NumCtx, func(x int) runners.Params { return runners.Params{NumCtx: &x} })
		if va.Repeat < 0 || va.Repeat > MaxRepeat {
			v.errorf(p+".repeat", "%d is out of range; give 1 to %d (or leave it out for the config's repeat)", va.Repeat, MaxRepeat)
		}
		v.replayRepeats(p, va, &configRepeat)
	}
}

// replayRepeats refuses repeats of a variation with a replay runner: a
// recording holds one output per item (the replay runner answers by the
// item, not the repeat), so its repeats would all be the same and their
// variance would read zero. The error is at the variation's repeat, or
// at the config's when the variation takes that one, naming the
// config's repeat once (*configNamed says it was).
func (v *validator) replayRepeats(path string, va Variation, configNamed *bool) {
	c := v.c
	repeat, at, atConfig := va.Repeat, path+".repeat", false
	if repeat == 0 {
		repeat, at, atConfig = c.Repeat, "repeat", true
	}
	if repeat <= 1 || repeat > MaxRepeat || atConfig && *configNamed {
		return
	}
	for _, name := range va.Runner {
		i, ok := v.runners[name]
		if !ok {
			continue
		}
		if sp, err := runners.ParseSpec(c.Runners[i].Spec); err == nil && sp.Provider == runners.ProviderReplay {
			who := ""
			if atConfig {
				who = fmt.Sprintf("%s (%s) takes this repeat; ", path, va.Name)
			}
			v.errorf(at, "%srunner %s is a replay: a recording holds one output per item, so replay repeats would all be the same; use repeat: 1 or record each repeat in its own file/variation", who, name)
			*configNamed = *configNamed || atConfig
			return
		}
	}
}

// checkAxis checks each value of a parameter list with
// runners.Params.Validate, naming a bad one by its path, and refuses a
// value listed twice (its runs would have the same name).
func checkAxis[T comparable](v *validator, path string, vals List[T], params func(T) runners.Params) {
	for i, x := range vals {
		p := path
		if len(vals) > 1 {
			p = fmt.Sprintf("%s[%d]", path, i)
		}
		if j := slices.Index(vals, x); j >= 0 && j < i {
			v.errorf(p, "%v is listed twice; list each value once", x)
			continue
		}
		v.params(p, params(x))
	}
}

// params checks parameters with runners.Params.Validate, naming the field
// by path (a path ending in the field's own name, or its prefix when
// several fields are checked at once).
func (v *validator) params(path string, ps runners.Params) {
	err := ps.Validate()
	var fe *runners.FieldError
	if !errors.As(err, &fe) {
		return
	}
	p := path
	if !strings.Contains(lastStep(path), fe.Field) {
		p = path + "." + fe.Field
		if path == "" {
			p = fe.Field
		}
	}
	e := v.c.errorf(p, "%v %s", fe.Value, fe.Reason)
	e.Err = fe.Rename(p)
	v.add(e)
}

func lastStep(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

func (v *validator) generate() {
	c, g := v.c, v.c.Generate
	v.dataset("generate.sources", &g.Sources, false)
	switch {
	case g.Runner == "":
		v.errorf("generate.runner", "no teacher runner; name one of: %s", strings.Join(runnerNames(c), ", "))
	default:
		v.refs("generate.runner", "runner", []string{g.Runner}, v.runners, runnerNames(c))
	}
	var names []string
	if g.Prompt != "" {
		names = []string{g.Prompt}
	}
	v.promptRefs("generate.prompt", names)
	v.params("generate", runners.Params{Temperature: g.Temperature, TopP: g.TopP, MaxTokens: g.MaxTokens, NumCtx: g.NumCtx})
	if filepath.Ext(g.File) != ".jsonl" {
		v.errorf("generate.file", "%q: the generated dataset is JSONL; give a name ending in .jsonl", g.File)
	}
}

// dataset checks that a dataset opens and that its first item has the
// fields the config names (and a reference, when refs). Only the first
// record is read: the rest is read when the experiment runs.
func (v *validator) dataset(path string, d *Dataset, refs bool) {
	c := v.c
	format, err := dataset.ParseFormat(d.Format)
	if err != nil {
		v.errorf(path+".format", "%v", err)
		return
	}
	if d.File == "" {
		v.errorf(path+".file", "no file; give the dataset's file, e.g. file: items.jsonl")
		return
	}
	if d.File == dataset.Stdin {
		v.errorf(path+".file", "standard input cannot be a dataset here; give a file")
		return
	}
	opts := dataset.Options{Format: format, IDField: d.IDField, SourceField: d.SourceField, ReferenceFields: d.ReferenceFields, RequireReferences: refs}
	if !refs {
		opts.ReferenceFields = []string{}
	}
	var r *dataset.Reader
	if len(d.ReferenceFiles) > 0 {
		if !refs {
			v.errorf(path+".reference_files", "sources need no references (the teacher makes them); drop reference_files")
			return
		}
		if f := format; f != dataset.Auto && f != dataset.Text || f == dataset.Auto && dataset.FormatOf(d.File) != dataset.Text {
			v.errorf(path+".reference_files", "reference files go with a text dataset (one source per line); a %s file names its reference fields in reference_fields", dataset.FormatOf(d.File))
			return
		}
		files := make([]string, len(d.ReferenceFiles))
		for i, f := range d.ReferenceFiles {
			files[i] = c.Path(f)
		}
		opts.RequireReferences = false
		r, err = dataset.OpenParallel(c.Path(d.File), files, opts)
	} else {
		r, err = dataset.Open(c.Path(d.File), opts)
	}
	if err == nil {
		defer r.Close()
		_, err = r.Next()
		if err == io.EOF {
			v.errorf(path+".file", "%s holds no items; give a dataset with at least one", c.Path(d.File))
			return
		}
	}
	if err == nil {
		return
	}
	field := datasetField(path, d, err)
	msg := err.Error()
	if errors.Is(err, dataset.ErrMissingField) && !strings.HasSuffix(field, ".file") {
		msg += fmt.Sprintf(" (the config names it in %s)", strings.TrimPrefix(field, path+"."))
	}
	v.wrap(field, err, msg)
}

// datasetField is the config field a dataset error is about.
func datasetField(path string, d *Dataset, err error) string {
	var de *dataset.Error
	if !errors.As(err, &de) || de.Field == "" {
		if errors.Is(err, dataset.ErrCountMismatch) {
			return path + ".reference_files"
		}
		return path + ".file"
	}
	switch {
	case de.Field == d.IDField || d.IDField == "" && de.Field == dataset.DefaultIDField:
		return path + ".id_field"
	case de.Field == d.SourceField || d.SourceField == "" && de.Field == dataset.DefaultSourceField:
		return path + ".source_field"
	}
	if i := slices.Index(d.ReferenceFields, de.Field); i >= 0 {
		return fmt.Sprintf("%s.reference_fields[%d]", path, i)
	}
	if len(d.ReferenceFields) > 0 {
		return path + ".reference_fields"
	}
	return path + ".file"
}

// existingFile checks that path names a file (what says what it is for).
func (v *validator) existingFile(cfgPath, path, what string) bool {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		v.errorf(cfgPath, "%s: %s: %v; check the path (relative paths are read from the config's folder)", what, path, unwrapPath(err))
		return false
	case st.IsDir():
		v.errorf(cfgPath, "%s: %s is a folder; give a file", what, path)
		return false
	}
	return true
}

// existingDir checks that path names a folder.
func (v *validator) existingDir(cfgPath, path, what string) bool {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		v.errorf(cfgPath, "%s: %s: %v; check the path (relative paths are read from the config's folder)", what, path, unwrapPath(err))
		return false
	case !st.IsDir():
		v.errorf(cfgPath, "%s: %s is not a folder", what, path)
		return false
	}
	return true
}

func (v *validator) scoring() {
	c, s := v.c, &v.c.Scoring
	if s.Device != "" && !devicePattern.MatchString(s.Device) {
		v.errorf("scoring.device", "%q is not a device; give cpu, cuda or cuda:N (N the GPU's index)", s.Device)
	}
	if s.Lang != "" && !langPattern.MatchString(s.Lang) {
		v.errorf("scoring.lang", "%q is not a language code; give one like zh, en or de", s.Lang)
	}
	if s.Layer != nil && *s.Layer < 0 {
		v.errorf("scoring.layer", "%d is negative; give the encoder layer, from 0 (the embeddings)", *s.Layer)
	}
	layerOK := s.Layer == nil || *s.Layer >= 0
	var resolved *models.Resolved
	switch {
	case s.Import != "" && s.Model != "":
		v.errorf("scoring.import", "both model and import; give a model folder or name, or a checkpoint to import, not both")
	case s.Import != "":
		dir := c.Path(s.Import)
		if v.existingDir("scoring.import", dir, "the checkpoint to import") {
			for _, f := range []string{"config.json", "model.safetensors"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					v.errorf("scoring.import", "%s has no %s; give a Hugging Face checkpoint folder (config.json, model.safetensors, tokenizer.json)", dir, f)
					break
				}
			}
		}
		if s.Layer == nil {
			v.errorf("scoring.import", "import needs the layer to cut the checkpoint at; add layer: N under scoring")
		}
	case s.Model != "" && looksLikePath(c, s.Model):
		if v.existingDir("scoring.model", c.ModelPath(), "the model folder") {
			r, err := models.ResolveDir(c.ModelPath())
			if err != nil {
				v.errorf("scoring.model", "%v", err)
			} else {
				resolved = r
			}
		}
	}
	var table map[int]modelspec.Baseline
	if s.Baseline != "" {
		p := c.Path(s.Baseline)
		if v.existingFile("scoring.baseline", p, "the baseline file") {
			f, err := os.Open(p)
			if err == nil {
				table, err = modelspec.ParseBaselines(f, p)
				f.Close()
			}
			if err != nil {
				v.wrap("scoring.baseline", err, err.Error())
				table = nil
			}
		}
		if !s.Rescale {
			v.errorf("scoring.baseline", "a baseline is only used with rescale; add rescale: true or drop baseline")
		}
	}
	if !s.Rescale || !layerOK {
		return
	}
	layer := -1
	switch {
	case s.Layer != nil:
		layer = *s.Layer
	case resolved != nil && resolved.Manifest != nil:
		layer = resolved.Manifest.Layer
	}
	switch {
	case table != nil:
		if layer < 0 {
			if s.Import == "" && resolved == nil {
				return // a model by name: its layer is known once it is resolved
			}
			v.errorf("scoring.baseline", "the model folder does not say its layer (no bertbench.json); add layer: N under scoring to pick the baseline's row")
			return
		}
		if _, ok := table[layer]; !ok {
			v.errorf("scoring.baseline", "%s has no row for layer %d (it has %s); use the baseline made for this model", c.Path(s.Baseline), layer, layersOf(table))
		}
	case s.Baseline != "":
		// unreadable: reported above
	case s.Import != "":
		v.errorf("scoring.rescale", "an imported checkpoint has no rescale baseline; give one: baseline: FILE (LAYER,P,R,F rows), or drop rescale")
	case resolved != nil:
		if b, _, err := resolved.BaselineFor(s.Lang); err != nil || b == nil {
			v.errorf("scoring.rescale", "the model folder %s has no rescale baseline%s; give one: baseline: FILE, or drop rescale", c.ModelPath(), forLang(s.Lang))
		}
	default:
		name := s.Model
		if name == "" {
			name = models.DefaultModelForLang(s.Lang)
		}
		k, ok := models.LookupKnown(name)
		if !ok {
			return // a pulled model: its baseline is known once it is resolved
		}
		if s.Lang == "" {
			v.errorf("scoring.rescale", "rescale needs the target language to pick %s's baseline; add lang: CODE (zh, en, ...) under scoring, or give baseline: FILE", k.Name)
			return
		}
		l := k.Layer
		if layer >= 0 {
			l = layer
		}
		if b, _, err := models.KnownBaseline(k.Name, s.Lang, l); err != nil || b == nil {
			v.errorf("scoring.rescale", "the reference publishes no baseline for %s in %s at layer %d (it has %s); give one: baseline: FILE, or drop rescale", k.Name, s.Lang, l, langsOf(k.Name))
		}
	}
}

func forLang(lang string) string {
	if lang == "" {
		return ""
	}
	return " for " + lang
}

func layersOf(t map[int]modelspec.Baseline) string {
	var ls []int
	for l := range t {
		ls = append(ls, l)
	}
	slices.Sort(ls)
	var s []string
	for _, l := range ls {
		s = append(s, strconv.Itoa(l))
	}
	return "layers " + strings.Join(s, ", ")
}

func langsOf(model string) string {
	ls := models.BaselineLangs(model)
	if len(ls) == 0 {
		return "none"
	}
	return "baselines for " + strings.Join(ls, ", ")
}

// looksLikePath tells a model folder from a model name: a name has at
// most one slash (OWNER/NAME) and does not start with ".", "/" or "~"; a
// folder that exists beside the config is a folder.
func looksLikePath(c *Config, s string) bool {
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "~") || strings.Count(s, "/") > 1 || strings.HasSuffix(s, "/") {
		return true
	}
	st, err := os.Stat(c.Path(s))
	return err == nil && st.IsDir()
}

// ModelPath is the scoring model as `bertbench score --model` takes it: a
// model folder resolved against Dir, a model name unchanged, or, with
// import, the output folder's model/ folder the checkpoint is built into.
func (c *Config) ModelPath() string {
	s := c.Scoring
	switch {
	case s.Import != "":
		return filepath.Join(c.OutputDir(), "model")
	case s.Model != "" && looksLikePath(c, s.Model):
		return c.Path(s.Model)
	}
	return s.Model
}

func (v *validator) output() {
	dir := v.c.OutputDir()
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		path := "output"
		if v.c.Output == "" {
			path = "name"
		}
		v.errorf(path, "the output folder %s is a file; give another output folder", dir)
	}
}
