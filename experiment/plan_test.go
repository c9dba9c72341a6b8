package experiment_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bertbench/bertbench/experiment"
	"github.com/bertbench/bertbench/prompt"
)

// mustLoad loads a config that must be valid.
func mustLoad(t *testing.T, config string) *experiment.Config {
	t.Helper()
	c, lines, _ := load(t, config)
	if lines != nil {
		t.Fatalf("unexpected errors:\n%s", strings.Join(lines, "\n"))
	}
	return c
}

func mustPlan(t *testing.T, c *experiment.Config) []experiment.Run {
	t.Helper()
	plan, err := c.Plan()
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func ids(plan []experiment.Run) []string {
	var out []string
	for _, r := range plan {
		out = append(out, r.ID())
	}
	return out
}

func TestConfig_Plan(t *testing.T) {
	c := mustLoad(t, `name: t
dataset: {file: items.jsonl}
to: Chinese
runners:
  - {name: base, spec: "ollama:llama2:13b", concurrency: 1, timeout: 90s, retries: 2}
  - {name: lora, spec: "replay:rec.jsonl", mode: chat}
prompts:
  - {name: plain, template: "Into {{.To}}: {{.Source}}", system: Be brief.}
  - {name: formal, template: "Formally, into {{.To}}: {{.Source}}"}
variations:
  - name: sweep
    runner: [base, lora]
    prompt: plain
    temperature: [0, 0.7]
    seed: 3
    stop: ["\n"]
  - name: prompts
    runner: base
    prompt: [plain, formal]
    max_tokens: [64, 128]
    repeat: 2
repeat: 1
`)
	plan := mustPlan(t, c)
	want := []string{
		"sweep/base/temperature=0#1", "sweep/base/temperature=0.7#1", "sweep/lora/temperature=0#1", "sweep/lora/temperature=0.7#1",
		"prompts/plain/max_tokens=64#1", "prompts/plain/max_tokens=64#2", "prompts/plain/max_tokens=128#1", "prompts/plain/max_tokens=128#2",
		"prompts/formal/max_tokens=64#1", "prompts/formal/max_tokens=64#2", "prompts/formal/max_tokens=128#1", "prompts/formal/max_tokens=128#2",
	}
	if got := ids(plan); !slices.Equal(got, want) {
		t.Fatalf("plan\n%q\nwant\n%q", got, want)
	}
	r := plan[1]
	if r.Variation != "sweep" || r.Runner != "base" || r.Spec != "ollama:llama2:13b" || r.Concurrency != 1 || r.Timeout != 90*time.Second || r.Retries != 2 ||
		r.Prompt != "plain" || r.System != "Be brief." || r.Template != "Into {{.To}}: {{.Source}}" ||
		*r.Params.Temperature != 0.7 || *r.Params.Seed != 3 || r.Params.MaxTokens != nil || !slices.Equal(r.Params.Stop, []string{"\n"}) || r.Repeats != 1 {
		t.Errorf("run %s: %+v", r.ID(), r)
	}
	// A replay recording is resolved against the config's folder.
	if r := plan[2]; r.Spec != "replay:"+filepath.Join(c.Dir, "rec.jsonl") || r.Mode != "chat" {
		t.Errorf("replay run: spec %q mode %q", r.Spec, r.Mode)
	}
	if r := plan[5]; r.Repeat != 1 || r.Repeats != 2 || *r.Params.MaxTokens != 64 || r.Params.Temperature != nil {
		t.Errorf("run %s: %+v", r.ID(), r)
	}

	t.Run("Keys", func(t *testing.T) {
		keys := map[string]string{}
		for _, r := range plan {
			if prev, dup := keys[r.Key]; dup {
				t.Errorf("%s and %s have the same key", prev, r.ID())
			}
			keys[r.Key] = r.ID()
		}
		// The same config gives the same plan; a name or the concurrency
		// does not change a key, a parameter or the target does.
		again := mustPlan(t, mustLoad(t, strings.NewReplacer("name: sweep", "name: renamed", "concurrency: 1", "concurrency: 2").Replace(configOf(t, c))))
		for i := range plan {
			if again[i].Key != plan[i].Key {
				t.Errorf("%s: key changed with the names or the concurrency", plan[i].ID())
			}
		}
		other := mustPlan(t, mustLoad(t, strings.Replace(configOf(t, c), "to: Chinese", "to: German", 1)))
		if other[0].Key == plan[0].Key {
			t.Error("the target language does not change the key")
		}
	})
}

// configOf reads back the file a config was loaded from.
func configOf(t *testing.T, c *experiment.Config) string {
	t.Helper()
	b, err := os.ReadFile(c.File)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConfig_PlanSameOutputsSameKey: two runs that send the same requests
// (a sweep value equal to another variation's) share a key, so that the
// runner can tell their outputs are the same.
func TestConfig_PlanSameOutputsSameKey(t *testing.T) {
	plan := mustPlan(t, mustLoad(t, base+"    temperature: 0\n  - name: sweep\n    runner: llama2\n    temperature: [0, 1]\n"))
	if plan[0].Key != plan[1].Key || plan[1].Key == plan[2].Key {
		t.Errorf("keys %s %s %s", plan[0].Key[:8], plan[1].Key[:8], plan[2].Key[:8])
	}
}

func TestParse_Defaults(t *testing.T) {
	c := mustLoad(t, base)
	if c.Name != "t" || c.Repeat != 1 || c.Scoring.Device != "cpu" || len(c.Prompts) != 1 || c.Prompts[0].Name != "default" || c.Prompts[0].Template != prompt.DefaultTranslate {
		t.Errorf("defaults: %+v", c)
	}
	if got, want := c.OutputDir(), filepath.Join(c.Dir, "runs", "t"); got != want {
		t.Errorf("OutputDir() = %q, want %q", got, want)
	}
	plan := mustPlan(t, c)
	if len(plan) != 1 || plan[0].ID() != "base#1" || plan[0].Prompt != "default" {
		t.Errorf("plan %+v", plan)
	}

	// The name defaults to the file's; generate's file to generated.jsonl.
	dir := folder(t)
	config := strings.Replace(strings.Replace(base, "name: t\n", "", 1), "dataset: {file: items.jsonl}\n", "generate: {sources: {file: src.txt}, runner: llama2}\n", 1)
	c, err := experiment.Parse(filepath.Join(dir, "my-study.yaml"), []byte(config))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "my-study" || c.Generate.File != "generated.jsonl" {
		t.Errorf("name %q, generated file %q", c.Name, c.Generate.File)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// A variation's repeat is the config's unless it sets its own.
	plan = mustPlan(t, mustLoad(t, base+"    repeat: 2\n  - {name: other, runner: llama2}\nrepeat: 3\n"))
	if got := ids(plan); !slices.Equal(got, []string{"base#1", "base#2", "other#1", "other#2", "other#3"}) {
		t.Errorf("plan %q", got)
	}
}

func TestParse_AnchorsAndMerge(t *testing.T) {
	c := mustLoad(t, base+"    temperature: &t 0.5\n  - &v {name: second, runner: llama2, seed: 7, temperature: *t}\n  - <<: *v\n    name: third\n")
	plan := mustPlan(t, c)
	if got := ids(plan); !slices.Equal(got, []string{"base#1", "second#1", "third#1"}) {
		t.Fatalf("plan %q", got)
	}
	if r := plan[2]; *r.Params.Temperature != 0.5 || *r.Params.Seed != 7 {
		t.Errorf("merged run: %+v", r.Params)
	}
}

func TestConfig_Hash(t *testing.T) {
	hash := func(config string) string {
		t.Helper()
		h, err := mustLoad(t, config).Hash()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h0 := hash(base)
	for what, config := range map[string]string{
		"comments and layout": "# a study\n" + strings.Replace(base, "dataset: {file: items.jsonl}", "dataset:\n  file: items.jsonl   # the items", 1),
		"key order":           strings.Replace(base, "name: t\ndataset: {file: items.jsonl}\n", "dataset: {file: items.jsonl}\nname: t\n", 1),
		"the name":            strings.Replace(base, "name: t", "name: other", 1),
		"the output folder":   base + "output: elsewhere\n",
		"defaults written":    base + "repeat: 1\nscoring: {device: cpu}\nprompts: [{name: default, template: " + quote(prompt.DefaultTranslate) + "}]\n",
	} {
		if hash(config) != h0 {
			t.Errorf("%s changed the hash", what)
		}
	}
	if hash(strings.Replace(base, "runner: llama2\n", "runner: llama2\n    repeat: 2\n", 1)) != hash(base+"repeat: 2\n") {
		t.Error("a repeat set on the variation hashes apart from the same repeat set for the config")
	}
	for what, config := range map[string]string{
		"a parameter":   base + "    temperature: 0.5\n",
		"the dataset":   strings.Replace(base, "{file: items.jsonl}", "{file: src.txt, reference_files: [refs.txt]}", 1),
		"the runner":    strings.Replace(base, "13b", "7b", 1),
		"the scoring":   base + "scoring: {idf: true}\n",
		"the target":    strings.Replace(base, "Chinese", "German", 1),
		"a concurrency": strings.Replace(base, "ollama:llama2:13b\n", "ollama:llama2:13b\n    concurrency: 2\n", 1),
	} {
		if hash(config) == h0 {
			t.Errorf("changing %s does not change the hash", what)
		}
	}
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func TestList_OneOrMany(t *testing.T) {
	c := mustLoad(t, base+"    seed: 4\n  - {name: b, runner: [llama2], seed: [1, 2]}\n")
	if !slices.Equal(c.Variations[0].Seed, experiment.List[int]{4}) || !slices.Equal(c.Variations[1].Seed, experiment.List[int]{1, 2}) ||
		!slices.Equal(c.Variations[1].Runner, experiment.List[string]{"llama2"}) {
		t.Errorf("lists: %v %v %v", c.Variations[0].Seed, c.Variations[1].Seed, c.Variations[1].Runner)
	}
}

// TestLoad_Examples: the shipped examples load, and plan as their
// comments say.
func TestLoad_Examples(t *testing.T) {
	demo, err := experiment.Load("../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plan := mustPlan(t, demo)
	if got := ids(plan); !slices.Equal(got, []string{"llama2-base#1", "llama2-lora#1", "gpt-3.5-turbo#1"}) {
		t.Errorf("demo plan %q", got)
	}
	for _, r := range plan {
		file, ok := strings.CutPrefix(r.Spec, "replay:")
		if _, err := os.Stat(file); !ok || err != nil {
			t.Errorf("%s: spec %q does not name a recording here (%v)", r.ID(), r.Spec, err)
		}
	}
	if got, want := demo.ModelPath(), filepath.Join("..", "examples", "runs", "demo", "model"); got != want {
		t.Errorf("demo model folder %q, want %q", got, want)
	}

	study, err := experiment.Load("../examples/en-zh-finetune.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plan = mustPlan(t, study)
	want := []string{"llama2-base#1", "llama2-base#2", "llama2-base#3", "llama2-lora#1", "llama2-lora#2", "llama2-lora#3",
		"gpt-3.5-turbo#1", "gpt-3.5-turbo#2", "gpt-3.5-turbo#3",
		"sweep/llama2-base/temperature=0#1", "sweep/llama2-base/temperature=0.7#1", "sweep/llama2-lora/temperature=0#1", "sweep/llama2-lora/temperature=0.7#1"}
	if got := ids(plan); !slices.Equal(got, want) {
		t.Errorf("study plan\n%q\nwant\n%q", got, want)
	}
	if g := study.Generate; g == nil || g.Runner != "gpt-4" || g.Prompt != "teacher" || g.File != "generated.jsonl" {
		t.Errorf("generate: %+v", g)
	}
}
