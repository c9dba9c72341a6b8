package experiment_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/dataset"
	"github.com/bertbench/bertbench/experiment"
	"github.com/bertbench/bertbench/prompt"
	"github.com/bertbench/bertbench/runners"
)

// fixtures are the data files the test configs name.
var fixtures = map[string]string{
	"items.csv":              "id,text,reference\n1,hello,你好\n",
	"items.jsonl":            `{"id": 1, "source": "hello", "reference": "你好"}` + "\n",
	"src.txt":                "hello\nbye\n",
	"refs.txt":               "你好\n再见\n",
	"rec.jsonl":              `{"line": 1, "output": "你好"}` + "\n",
	"base.tsv":               "LAYER,P,R,F\n0,0.1,0.1,0.1\n1,0.2,0.2,0.2\n",
	"ckpt/config.json":       "{}",
	"ckpt/model.safetensors": "",
}

// folder writes the fixtures into a fresh folder.
func folder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range fixtures {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// load writes config as exp.yaml beside the fixtures and loads it; it
// returns the config and the error's lines with the folder left out.
func load(t *testing.T, config string) (*experiment.Config, []string, error) {
	t.Helper()
	dir := folder(t)
	path := filepath.Join(dir, "exp.yaml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := experiment.Load(path)
	if err == nil {
		return c, nil, nil
	}
	return c, strings.Split(strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""), "\n"), err
}

// base is a valid config that the cases change.
const base = `name: t
dataset: {file: items.jsonl}
to: Chinese
runners:
  - name: llama2
    spec: ollama:llama2:13b
variations:
  - name: base
    runner: llama2
`

// TestLoad_MustShow: the four kinds of config error the issue names,
// each one line with FILE:LINE:COL, the field's path and the fix.
func TestLoad_MustShow(t *testing.T) {
	for _, tc := range []struct {
		name, config, want string
	}{
		{"UnknownField", base + "    tempreature: 0.7\n",
			`exp.yaml:10:5: variations[0].tempreature: unknown field; did you mean "temperature"? (a variation has: name, runner, prompt, temperature, top_p, max_tokens, seed, num_ctx, stop, repeat)`},
		{"BadRunnerSpec", strings.Replace(base, "ollama:llama2:13b", "olama:llama2:13b", 1),
			`exp.yaml:6:11: runners[0].spec: runner spec "olama:llama2:13b": unknown provider "olama" (want ollama, openai, openai-compatible or replay); did you mean ollama:llama2:13b?`},
		{"MissingDatasetColumn", strings.Replace(base, "{file: items.jsonl}", "{file: items.csv, reference_fields: [ref]}", 1),
			`exp.yaml:2:10: dataset.source_field: items.csv:1: no column "source" in the header (its columns: "id", "text", "reference"); add it, or name the source column as the header does (the config names it in source_field)`},
		{"WrongType", base + "    temperature: hot\n",
			`exp.yaml:10:18: variations[0].temperature: want a number (e.g. 0.7), got the text "hot"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, lines, err := load(t, tc.config)
			if len(lines) != 1 || lines[0] != tc.want {
				t.Fatalf("got %q\nwant one line %q", lines, tc.want)
			}
			if !errors.Is(err, experiment.ErrInvalidInput) {
				t.Errorf("%v does not match ErrInvalidInput", err)
			}
		})
	}
}

func TestParse_Errors(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		want         []string
	}{
		{"Syntax", "runners: [a\n", []string{`exp.yaml:1:10: YAML syntax: sequence end token ']' not found; fix the YAML (quote text that holds a colon followed by a space, or starts with {, [, *, & or #)`}},
		{"DuplicateKey", base + "to: German\n", []string{`exp.yaml:10:1: key "to" already defined at line 3; give each key once`}},
		{"Empty", "# nothing yet\n", []string{`exp.yaml: the file holds no config; start from examples/demo.yaml`}},
		{"TwoDocuments", base + "---\n" + base, []string{`exp.yaml:11:1: more than one YAML document (---); keep one experiment per file`}},
		{"EveryProblemInFileOrder", "runners: {name: a}\nrepeat: many\nvariations:\n  - name: v\n    seed: 1.5\n    stop: \"\\n\"\n    runner: [a, {x: 1}]\nscoring: {idf: yes, layre: 3}\n", []string{
			`exp.yaml:1:10: runners: want a list (- item lines, or [a, b]), got a mapping`,
			`exp.yaml:2:9: repeat: want a whole number (e.g. 42), got the text "many"`,
			`exp.yaml:5:11: variations[0].seed: want a whole number (e.g. 42), got the number 1.5`,
			`exp.yaml:6:11: variations[0].stop: want a list (- item lines, or [a, b]), got the text "\n"`,
			`exp.yaml:7:17: variations[0].runner[1]: want text, got a mapping`,
			`exp.yaml:8:16: scoring.idf: want true or false, got the text "yes"`,
			`exp.yaml:8:21: scoring.layre: unknown field; did you mean "layer"? (scoring has: model, import, lang, layer, idf, rescale, baseline, device)`,
		}},
		{"NumberForText", base + "    prompt: 1.50\n", []string{`exp.yaml:10:13: variations[0].prompt: want text, got the number 1.50; quote it to keep it as written: "1.50"`}},
		{"BadDuration", strings.Replace(base, "ollama:llama2:13b\n", "ollama:llama2:13b\n    timeout: 5 minutes\n", 1), []string{`exp.yaml:7:14: runners[0].timeout: "5 minutes" is not a duration; write it like 90s, 5m or 1h30m`}},
		{"UnknownTopLevel", base + "varations: []\n", []string{`exp.yaml:10:1: varations: unknown field; did you mean "variations"? (the config has: name, dataset, generate, to, runners, prompts, variations, repeat, scoring, output)`}},
		{"AliasWithoutAnchor", base + "    seed: *s\n", []string{`exp.yaml:10:11: variations[0].seed: alias *s names no anchor defined before it; define &s first`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, lines, err := load(t, tc.config)
			if !slices.Equal(lines, tc.want) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(tc.want, "\n"))
			}
			if !errors.Is(err, experiment.ErrInvalidInput) {
				t.Errorf("%v does not match ErrInvalidInput", err)
			}
		})
	}
}

func TestValidate_Errors(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		want         []string
	}{
		{"SpecWithoutProvider", strings.Replace(base, "ollama:llama2:13b", "llama2", 1),
			[]string{`exp.yaml:6:11: runners[0].spec: runner spec "llama2": want PROVIDER:MODEL, e.g. ollama:llama2:13b, openai:gpt-3.5-turbo, openai-compatible:NAME@http://host:port/v1 or replay:FILE; for an Ollama model write ollama:llama2`}},
		{"ReplayFileMissing", strings.Replace(base, "ollama:llama2:13b", "replay:none.jsonl", 1),
			[]string{`exp.yaml:6:11: runners[0].spec: the recording of replay:FILE: none.jsonl: no such file or directory; check the path (relative paths are read from the config's folder)`}},
		{"GenerateModeNeedsOllama", strings.Replace(base, "ollama:llama2:13b\n", "openai:gpt-4\n    mode: generate\n", 1),
			[]string{`exp.yaml:7:11: runners[0].mode: mode generate needs an ollama: runner (openai speaks chat completions only); drop mode`}},
		{"RunnerBounds", strings.Replace(base, "ollama:llama2:13b\n", "ollama:llama2:13b\n    concurrency: 1000\n    retries: -1\n", 1), []string{
			`exp.yaml:7:18: runners[0].concurrency: 1000 is out of range; give 1 to 256 (or leave it out: 1 for Ollama, 4 otherwise)`,
			`exp.yaml:8:14: runners[0].retries: -1 is out of range; give 1 to 100 attempts (1: no retry)`,
		}},
		{"Params", base + "    temperature: -1\n    top_p: [0.5, 2]\n    max_tokens: 0\n    num_ctx: [512, 512]\n", []string{
			`exp.yaml:10:18: variations[0].temperature: -1 must be >= 0`,
			`exp.yaml:11:18: variations[0].top_p[1]: 2 must be in [0, 1]`,
			`exp.yaml:12:17: variations[0].max_tokens: 0 must be positive`,
			`exp.yaml:13:20: variations[0].num_ctx[1]: 512 is listed twice; list each value once`,
		}},
		{"NaN", base + "    temperature: .nan\n", []string{`exp.yaml:10:18: variations[0].temperature: NaN must be a finite number >= 0`}},
		{"Names", base + "  - name: base\n    runner: [llama2, lama2, gpt]\n  - name: bad/name\n    runner: llama2\n    repeat: 0\nrepeat: 1001\n", []string{
			`exp.yaml:10:11: variations[1].name: variation name "base" is also the name of variations[0]; give each variation its own name`,
			`exp.yaml:11:22: variations[1].runner[1]: no runner is named "lama2"; did you mean "llama2"? (runners: llama2)`,
			`exp.yaml:11:29: variations[1].runner[2]: no runner is named "gpt"; name one of the runners: llama2`,
			`exp.yaml:12:11: variations[2].name: "bad/name" is not a usable variation name; use letters, digits, '.', '_' and '-' (starting with a letter or digit)`,
			`exp.yaml:15:9: repeat: 1001 is out of range; give 1 to 1000`,
		}},
		// A recording answers every repeat alike: repeats of a replay are
		// refused where the repeat is set (the variation, or the config
		// for the variations that take its repeat, named once).
		{"ReplayRepeats", strings.Replace(base, "    spec: ollama:llama2:13b\n", "    spec: ollama:llama2:13b\n  - name: rec\n    spec: replay:rec.jsonl\n", 1) +
			"  - name: replayed\n    runner: [llama2, rec]\n    repeat: 2\n  - name: inherits\n    runner: rec\n  - name: inherits-too\n    runner: rec\n  - name: once\n    runner: rec\n    repeat: 1\n  - name: later\n    runner: rec\n    repeat: 4\nrepeat: 3\n", []string{
			`exp.yaml:14:13: variations[1].repeat: runner rec is a replay: a recording holds one output per item, so replay repeats would all be the same; use repeat: 1 or record each repeat in its own file/variation`,
			`exp.yaml:24:13: variations[5].repeat: runner rec is a replay: a recording holds one output per item, so replay repeats would all be the same; use repeat: 1 or record each repeat in its own file/variation`,
			`exp.yaml:25:9: repeat: variations[2] (inherits) takes this repeat; runner rec is a replay: a recording holds one output per item, so replay repeats would all be the same; use repeat: 1 or record each repeat in its own file/variation`,
		}},
		{"Prompts", strings.Replace(base, "to: Chinese\n", "prompts:\n  - name: p\n    template: \"{{.Text}}\"\n  - name: q\n    template: |\n      Into {{.To}}:\n      {{.Source}\n  - name: r\n    template: \"Into {{.To}}: {{.Source}}\"\n", 1), []string{
			`exp.yaml:5:15: prompts[0].template: template line 1, column 2: .Text: no field Text; a prompt sees .Source, .To, .ID, .Line, .Fields.NAME`,
			`exp.yaml:7:15: prompts[1].template: template line 2: bad character U+007D '}'`,
			`exp.yaml:11:15: prompts[2].template: the prompt names the target language as {{.To}}, but the config sets none; add e.g. to: Chinese`,
			`exp.yaml:16:5: variations[0].prompt: no prompt, and the config has 3; name one: prompt: p`,
		}},
		{"DefaultPromptNeedsTo", strings.Replace(base, "to: Chinese\n", "", 1),
			[]string{`exp.yaml:1:1: to: no target language, and the default prompt names it as {{.To}}; add e.g. to: Chinese`}},
		{"NoDataset", strings.Replace(base, "dataset: {file: items.jsonl}\n", "", 1),
			[]string{`exp.yaml:1:1: no dataset; give one (dataset: {file: items.jsonl}) or a generate: block that makes one`}},
		{"DatasetFileMissing", strings.Replace(base, "items.jsonl", "nope.jsonl", 1),
			[]string{`exp.yaml:2:17: dataset.file: nope.jsonl: cannot open: no such file or directory; check the path`}},
		{"DatasetWithoutReferences", strings.Replace(base, "{file: items.jsonl}", "{file: src.txt}", 1),
			[]string{`exp.yaml:2:17: dataset.file: src.txt: a text file holds no references; give reference files beside it, or a JSONL, CSV or TSV file with reference fields`}},
		{"ReferenceFilesWithCSV", strings.Replace(base, "{file: items.jsonl}", "{file: items.csv, reference_files: [refs.txt]}", 1),
			[]string{`exp.yaml:2:45: dataset.reference_files: reference files go with a text dataset (one source per line); a csv file names its reference fields in reference_fields`}},
		{"DatasetBadFormat", strings.Replace(base, "{file: items.jsonl}", "{file: items.jsonl, format: yaml}", 1),
			[]string{`exp.yaml:2:38: dataset.format: unknown format "yaml": want auto, text, jsonl, csv, tsv`}},
		{"MissingJSONLField", strings.Replace(base, "{file: items.jsonl}", "{file: items.jsonl, id_field: key, reference_fields: [ref]}", 1),
			[]string{`exp.yaml:2:64: dataset.reference_fields[0]: items.jsonl:1: no "ref" field: every line needs its references (a string, or an array of strings) (the config names it in reference_fields[0])`}},
		{"Generate", strings.Replace(base, "dataset: {file: items.jsonl}\n", "generate:\n  sources: {file: src.txt}\n  runner: teacher\n  temperature: -0.5\n  file: gen.json\n", 1), []string{
			`exp.yaml:4:11: generate.runner: no runner is named "teacher"; name one of the runners: llama2`,
			`exp.yaml:5:16: generate.temperature: -0.5 must be >= 0`,
			`exp.yaml:6:9: generate.file: "gen.json": the generated dataset is JSONL; give a name ending in .jsonl`,
		}},
		{"DatasetAndGenerate", base + "generate: {sources: {file: src.txt}, runner: llama2}\n",
			[]string{`exp.yaml:10:11: generate: both dataset and generate; give one of them`}},
		{"Scoring", base + "scoring:\n  device: gpu\n  lang: Chinese\n  layer: -1\n  baseline: base.tsv\n", []string{
			`exp.yaml:11:11: scoring.device: "gpu" is not a device; give cpu, cuda or cuda:N (N the GPU's index)`,
			`exp.yaml:12:9: scoring.lang: "Chinese" is not a language code; give one like zh, en or de`,
			`exp.yaml:13:10: scoring.layer: -1 is negative; give the encoder layer, from 0 (the embeddings)`,
			`exp.yaml:14:13: scoring.baseline: a baseline is only used with rescale; add rescale: true or drop baseline`,
		}},
		{"ImportNeedsLayerAndBaseline", base + "scoring: {import: ckpt, rescale: true}\n", []string{
			`exp.yaml:10:19: scoring.import: import needs the layer to cut the checkpoint at; add layer: N under scoring`,
			`exp.yaml:10:34: scoring.rescale: an imported checkpoint has no rescale baseline; give one: baseline: FILE (LAYER,P,R,F rows), or drop rescale`,
		}},
		{"ImportNotACheckpoint", base + "scoring: {import: ., layer: 1}\n",
			[]string{`exp.yaml:10:19: scoring.import: ` + "DIR" + ` has no config.json; give a Hugging Face checkpoint folder (config.json, model.safetensors, tokenizer.json)`}},
		{"BaselineWithoutTheLayer", base + "scoring: {import: ckpt, layer: 5, rescale: true, baseline: base.tsv}\n",
			[]string{`exp.yaml:10:60: scoring.baseline: base.tsv has no row for layer 5 (it has layers 0, 1); use the baseline made for this model`}},
		{"RescaleNeedsLang", base + "scoring: {rescale: true}\n",
			[]string{`exp.yaml:10:20: scoring.rescale: rescale needs the target language to pick bert-base-multilingual-cased's baseline; add lang: CODE (zh, en, ...) under scoring, or give baseline: FILE`}},
		{"RescaleNoKnownBaseline", base + "scoring: {model: roberta-large, lang: zh, rescale: true}\n",
			[]string{`exp.yaml:10:52: scoring.rescale: the reference publishes no baseline for roberta-large in zh at layer 17 (it has baselines for en); give one: baseline: FILE, or drop rescale`}},
		{"ModelFolderMissing", base + "scoring: {model: ./models/none}\n",
			[]string{`exp.yaml:10:18: scoring.model: the model folder: models/none: no such file or directory; check the path (relative paths are read from the config's folder)`}},
		{"OutputIsAFile", base + "output: items.csv\n",
			[]string{`exp.yaml:10:9: output: the output folder items.csv is a file; give another output folder`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, lines, err := load(t, tc.config)
			for i := range lines {
				// A folder the message names in full.
				if j := strings.Index(lines[i], "scoring.import: /"); j >= 0 {
					k := strings.Index(lines[i][j:], " has no")
					lines[i] = lines[i][:j] + "scoring.import: DIR" + lines[i][j+k:]
				}
			}
			if !slices.Equal(lines, tc.want) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(tc.want, "\n"))
			}
			if !errors.Is(err, experiment.ErrInvalidInput) {
				t.Errorf("%v does not match ErrInvalidInput", err)
			}
		})
	}
}

// TestValidate_Valid: configs that use every part of the format load.
func TestValidate_Valid(t *testing.T) {
	for _, tc := range []struct{ name, config string }{
		{"Base", base},
		{"ParallelTextFiles", strings.Replace(base, "{file: items.jsonl}", "{file: src.txt, reference_files: [refs.txt]}", 1)},
		{"CSVColumns", strings.Replace(base, "{file: items.jsonl}", "{file: items.csv, source_field: text, reference_fields: [reference]}", 1)},
		{"Replay", strings.Replace(base, "ollama:llama2:13b", "replay:rec.jsonl", 1)},
		{"Generate", strings.Replace(base, "dataset: {file: items.jsonl}\n", "generate:\n  sources: {file: src.txt}\n  runner: llama2\n  temperature: 0\n", 1)},
		{"ImportWithBaseline", base + "scoring: {import: ckpt, layer: 1, rescale: true, baseline: base.tsv, idf: true, device: 'cuda:1'}\n"},
		{"KnownModelBaseline", base + "scoring: {model: bert-base-chinese, lang: zh, rescale: true, layer: 8}\n"},
		{"DefaultModelForLang", base + "scoring: {lang: de, rescale: true}\n"},
		{"AnchorsAndMerge", base + "    temperature: &t 0.5\n  - &v {name: second, runner: llama2, temperature: *t}\n  - <<: *v\n    name: third\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, lines, _ := load(t, tc.config); lines != nil {
				t.Fatalf("unexpected errors:\n%s", strings.Join(lines, "\n"))
			}
		})
	}
}

// TestValidate_ReadsTheFirstRecordOnly: the dataset is checked by its
// first record; the rest is read when the experiment runs (a large file is
// not read whole to check a config).
func TestValidate_ReadsTheFirstRecordOnly(t *testing.T) {
	config := strings.Replace(base, "items.jsonl", "big.jsonl", 1)
	dir := folder(t)
	data := `{"id": 1, "source": "a", "reference": "b"}` + "\nnot JSON\n"
	if err := os.WriteFile(filepath.Join(dir, "big.jsonl"), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := experiment.Parse(filepath.Join(dir, "exp.yaml"), []byte(config))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate read past the first record: %v", err)
	}
}

// TestValidate_UnderlyingErrors: a parameter error is the runners
// package's FieldError named by its YAML path, a dataset error the
// dataset package's, each matched through the config error.
func TestValidate_UnderlyingErrors(t *testing.T) {
	_, _, err := load(t, strings.Replace(base, "{file: items.jsonl}", "{file: items.csv}", 1)+"    top_p: [0.5, 1.5]\n")
	var fe *runners.FieldError
	if !errors.As(err, &fe) || fe.Field != "variations[0].top_p[1]" || fe.Value != 1.5 {
		t.Errorf("FieldError = %+v, want top_p[1] 1.5 (from %v)", fe, err)
	}
	var de *dataset.Error
	if !errors.As(err, &de) || !errors.Is(err, dataset.ErrMissingField) || de.Field != "source" {
		t.Errorf("dataset error = %+v (from %v)", de, err)
	}
	var ce *experiment.Error
	if !errors.As(err, &ce) || ce.Path != "dataset.source_field" || ce.Line != 2 {
		t.Errorf("first config error = %+v", ce)
	}
	_, _, err = load(t, strings.Replace(base, "to: Chinese\n", "to: Chinese\nprompts: [{name: p, template: '{{.X}}'}]\n", 1))
	if !errors.Is(err, prompt.ErrInvalidInput) {
		t.Errorf("a template error %v does not match prompt.ErrInvalidInput", err)
	}
}

// TestValidate_ManyErrors: past MaxErrors, a last line counts the rest.
func TestValidate_ManyErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString(base)
	for range experiment.MaxErrors + 5 {
		b.WriteString("  - name: base\n    runner: llama2\n")
	}
	_, lines, _ := load(t, b.String())
	if len(lines) != experiment.MaxErrors+1 || lines[experiment.MaxErrors] != "exp.yaml: and 5 more problems; fix these first" {
		t.Errorf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
}

// TestValidate_MadeInGo: a config built in Go has no file positions; its
// errors still name the path.
func TestValidate_MadeInGo(t *testing.T) {
	dir := folder(t)
	c := &experiment.Config{Name: "go", Dir: dir}
	c.Dataset = &experiment.Dataset{File: "items.jsonl"}
	c.Runners = []experiment.Runner{{Name: "m", Spec: "ollama:m"}}
	c.Variations = []experiment.Variation{{Name: "v", Runner: experiment.List[string]{"m"}, Temperature: experiment.List[float64]{0, -2}}}
	err := c.Validate()
	want := "to: no target language, and the default prompt names it as {{.To}}; add e.g. to: Chinese\n" +
		"variations[0].temperature[1]: -2 must be >= 0"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	c.Variations[0].Temperature, c.To = nil, "Chinese"
	if err := c.Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	plan, err := c.Plan()
	if err != nil || len(plan) != 1 || plan[0].Template != prompt.DefaultTranslate || plan[0].Repeats != 1 {
		t.Errorf("plan %+v, %v", plan, err)
	}
}

func TestLoad_MissingFile(t *testing.T) {
	_, err := experiment.Load(filepath.Join(t.TempDir(), "none.yaml"))
	if err == nil || !errors.Is(err, experiment.ErrInvalidInput) || !strings.HasSuffix(err.Error(), "none.yaml: cannot read the config: no such file or directory; check the path") {
		t.Errorf("err = %v", err)
	}
}
