package experiment

import (
	"encoding"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Defaults of the config.
const (
	// DefaultRepeat is how many times each variation runs over the dataset
	// when the config does not say.
	DefaultRepeat = 1
	// DefaultDevice is the scoring device.
	DefaultDevice = "cpu"
	// DefaultPromptName is the name of the prompt a config without prompts
	// gets (prompt.DefaultTranslate).
	DefaultPromptName = "default"
	// DefaultGeneratedFile is where a generate block's dataset is written,
	// under the output folder.
	DefaultGeneratedFile = "generated.jsonl"
	// DefaultOutputDir is the folder, beside the config file, that holds
	// each experiment's output folder (runs/NAME).
	DefaultOutputDir = "runs"
)

// Limits the config is checked against.
const (
	MaxRepeat      = 1000
	MaxConcurrency = 256
	MaxRetries     = 100
)

// Config is an experiment: the items to translate (a dataset, or sources
// whose references a teacher model generates), the runners and prompts,
// the variations to run, how to score them and where the results go.
//
// Relative paths in a config (dataset files, replay:FILE recordings, model
// folders, baselines, the output folder) are read from the config file's
// folder (Dir).
type Config struct {
	// Name names the experiment in results and reports. Default: the
	// config file's name without its extension.
	Name string `yaml:"name,omitempty" json:"name,omitempty" jsonschema:"pattern=^[A-Za-z0-9][A-Za-z0-9._-]*$"`
	// Dataset is the items to translate, with their references. Give
	// either dataset or generate.
	Dataset *Dataset `yaml:"dataset,omitempty" json:"dataset,omitempty"`
	// Generate makes the dataset instead: a teacher runner translates the
	// sources, and its outputs become the references.
	Generate *Generate `yaml:"generate,omitempty" json:"generate,omitempty"`
	// To is the target language that prompts name as {{.To}}, e.g.
	// "Chinese". Required when a prompt uses it.
	To string `yaml:"to,omitempty" json:"to,omitempty"`
	// Runners are the models to call, each under a name that variations
	// and generate refer to.
	Runners []Runner `yaml:"runners" json:"runners" jsonschema:"required;minItems=1"`
	// Prompts are the prompt templates, each under a name that variations
	// and generate refer to. Default: one prompt named "default", the
	// translate command's default prompt.
	Prompts []Prompt `yaml:"prompts,omitempty" json:"prompts,omitempty"`
	// Variations are what the experiment compares. Each one runs every
	// combination of its runners, prompts and parameter values over the
	// dataset, repeat times.
	Variations []Variation `yaml:"variations" json:"variations" jsonschema:"required;minItems=1"`
	// Repeat is how many times each variation runs over the dataset
	// (default 1); a variation's own repeat overrides it.
	Repeat int `yaml:"repeat,omitempty" json:"repeat,omitempty" jsonschema:"minimum=1;maximum=1000"`
	// Scoring says how the outputs are scored with BERTScore.
	Scoring Scoring `yaml:"scoring,omitempty" json:"scoring"`
	// Output is the folder the results go into. Default: runs/NAME beside
	// the config file.
	Output string `yaml:"output,omitempty" json:"output,omitempty"`

	// Dir is the folder relative paths are read from: the config file's
	// folder (Parse sets it); "" is the current folder.
	Dir string `yaml:"-" json:"-"`
	// File is the config's file name as given to Parse, which errors
	// begin with; "" for a config made in Go.
	File string `yaml:"-" json:"-"`

	// src is the parsed YAML, for error positions (nil when made in Go).
	src *source
	// promptsDefaulted: the file gives no prompts, and normalize added the
	// default one.
	promptsDefaulted bool
}

// Dataset is a file of items: text (one source per line, with
// line-aligned reference files), JSONL, CSV or TSV (see package dataset).
type Dataset struct {
	// File is the dataset file.
	File string `yaml:"file" json:"file" jsonschema:"required;minLength=1"`
	// Format is the file's format: auto (by the file name: .jsonl,
	// .ndjson, .csv, .tsv, else text), text, jsonl, csv or tsv.
	Format string `yaml:"format,omitempty" json:"format,omitempty" jsonschema:"enum=auto|text|jsonl|csv|tsv"`
	// IDField names the item id's field or column (default "id"; items
	// without one get "L<line>").
	IDField string `yaml:"id_field,omitempty" json:"id_field,omitempty"`
	// SourceField names the source text's field or column (default
	// "source").
	SourceField string `yaml:"source_field,omitempty" json:"source_field,omitempty"`
	// ReferenceFields name the reference fields or columns, in order.
	// Default: "reference", "reference1", "reference2", ... (and, in JSONL,
	// "references", an array of strings).
	ReferenceFields []string `yaml:"reference_fields,omitempty" json:"reference_fields,omitempty"`
	// ReferenceFiles are reference files for a text dataset, line i of
	// each a reference for line i of the file.
	ReferenceFiles []string `yaml:"reference_files,omitempty" json:"reference_files,omitempty"`
}

// Generate makes the experiment's dataset: the teacher runner translates
// each source item, and its output becomes the item's reference. The
// generated items are written to a file under the output folder and
// reused by later runs.
type Generate struct {
	// Sources are the items to make references for (a dataset whose
	// references, if any, are not used).
	Sources Dataset `yaml:"sources" json:"sources" jsonschema:"required"`
	// Runner names the teacher runner (one of runners).
	Runner string `yaml:"runner" json:"runner" jsonschema:"required;minLength=1"`
	// Prompt names the teacher's prompt (one of prompts); it may be left
	// out when there is only one.
	Prompt string `yaml:"prompt,omitempty" json:"prompt,omitempty"`
	// Params are the teacher's sampling parameters.
	Params `yaml:",inline"`
	// File is the generated dataset (JSONL: id, source, reference), under
	// the output folder. Default: generated.jsonl.
	File string `yaml:"file,omitempty" json:"file,omitempty" jsonschema:"pattern=\\.jsonl$"`
}

// Params are sampling parameters; unset ones keep the server's default.
type Params struct {
	// Temperature is the sampling temperature (0: greedy).
	Temperature *float64 `yaml:"temperature,omitempty" json:"temperature,omitempty" jsonschema:"minimum=0"`
	// TopP is nucleus sampling's p, in [0, 1].
	TopP *float64 `yaml:"top_p,omitempty" json:"top_p,omitempty" jsonschema:"minimum=0;maximum=1"`
	// MaxTokens caps the generated tokens (Ollama's num_predict).
	MaxTokens *int `yaml:"max_tokens,omitempty" json:"max_tokens,omitempty" jsonschema:"minimum=1"`
	// Seed is the sampling seed.
	Seed *int `yaml:"seed,omitempty" json:"seed,omitempty"`
	// NumCtx is Ollama's context window, in tokens.
	NumCtx *int `yaml:"num_ctx,omitempty" json:"num_ctx,omitempty" jsonschema:"minimum=1"`
	// Stop are stop sequences.
	Stop []string `yaml:"stop,omitempty" json:"stop,omitempty"`
}

// Runner is a model to call, under a name.
type Runner struct {
	// Name is how variations and generate refer to the runner, and how
	// results name it.
	Name string `yaml:"name" json:"name" jsonschema:"required;pattern=^[A-Za-z0-9][A-Za-z0-9._-]*$"`
	// Spec is the runner spec: ollama:MODEL[@URL], openai:MODEL,
	// openai-compatible:MODEL@URL or replay:FILE.
	Spec string `yaml:"spec" json:"spec" jsonschema:"required;pattern=^(ollama|openai|openai-compatible|replay):."`
	// Mode is the API shape: chat (default) or generate (Ollama only).
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty" jsonschema:"enum=chat|generate"`
	// Concurrency is the most calls to this runner at once. Default: 1
	// for Ollama (latencies are only comparable one call at a time), 4
	// otherwise.
	Concurrency int `yaml:"concurrency,omitempty" json:"concurrency,omitempty" jsonschema:"minimum=1;maximum=256"`
	// Timeout bounds each call, e.g. 5m (a call past it is retried).
	// Default: 5m.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Retries is the most attempts per call, on 429, 5xx, resets and
	// timeouts (default 5; 1: no retry).
	Retries int `yaml:"retries,omitempty" json:"retries,omitempty" jsonschema:"minimum=1;maximum=100"`
}

// Prompt is a prompt template, under a name.
type Prompt struct {
	// Name is how variations and generate refer to the prompt.
	Name string `yaml:"name" json:"name" jsonschema:"required;pattern=^[A-Za-z0-9][A-Za-z0-9._-]*$"`
	// Template is a Go text/template that sees one item: {{.Source}},
	// {{.To}}, {{.ID}}, {{.Line}} and {{.Fields.NAME}}.
	Template string `yaml:"template" json:"template" jsonschema:"required;minLength=1"`
	// System is a system prompt sent with it (plain text).
	System string `yaml:"system,omitempty" json:"system,omitempty"`
}

// Variation is one line of the comparison. Runner, prompt and each
// parameter take one value or a list; a variation with lists runs every
// combination, each named NAME/VALUE/... by the values that vary (for
// example sweep/lora/temperature=0.7), repeat times.
type Variation struct {
	// Name names the variation in results and reports.
	Name string `yaml:"name" json:"name" jsonschema:"required;pattern=^[A-Za-z0-9][A-Za-z0-9._-]*$"`
	// Runner names the runner or runners (from runners).
	Runner List[string] `yaml:"runner" json:"runner" jsonschema:"required"`
	// Prompt names the prompt or prompts (from prompts); it may be left
	// out when there is only one.
	Prompt List[string] `yaml:"prompt,omitempty" json:"prompt,omitempty"`
	// Temperature is the sampling temperature or temperatures (0: greedy).
	Temperature List[float64] `yaml:"temperature,omitempty" json:"temperature,omitempty" jsonschema:"minimum=0"`
	// TopP is nucleus sampling's p, in [0, 1].
	TopP List[float64] `yaml:"top_p,omitempty" json:"top_p,omitempty" jsonschema:"minimum=0;maximum=1"`
	// MaxTokens caps the generated tokens (Ollama's num_predict).
	MaxTokens List[int] `yaml:"max_tokens,omitempty" json:"max_tokens,omitempty" jsonschema:"minimum=1"`
	// Seed is the sampling seed or seeds.
	Seed List[int] `yaml:"seed,omitempty" json:"seed,omitempty"`
	// NumCtx is Ollama's context window, in tokens.
	NumCtx List[int] `yaml:"num_ctx,omitempty" json:"num_ctx,omitempty" jsonschema:"minimum=1"`
	// Stop are stop sequences (one set for every combination).
	Stop []string `yaml:"stop,omitempty" json:"stop,omitempty"`
	// Repeat is how many times the variation runs over the dataset.
	// Default: the config's repeat.
	Repeat int `yaml:"repeat,omitempty" json:"repeat,omitempty" jsonschema:"minimum=1;maximum=1000"`
}

// Scoring says how outputs are scored: with which encoder model (a model
// folder, a pulled model's name, or one built from a checkpoint), at which
// layer, with idf weighting and baseline rescaling or not, and where.
type Scoring struct {
	// Model is a model folder (model.onnx, tokenizer.json, optional
	// bertbench.json) or a pulled model's NAME. Default: lang's default
	// model, else bert-base-multilingual-cased.
	Model string `yaml:"model,omitempty" json:"model,omitempty"`
	// Import builds the encoder from a Hugging Face checkpoint folder
	// (config.json, model.safetensors, tokenizer.json) cut at layer, as
	// `bertbench models import` does, into the output folder's model/
	// folder. Instead of model.
	Import string `yaml:"import,omitempty" json:"import,omitempty"`
	// Lang is the target language's code (zh, en, de, ...): it picks the
	// default model and its rescale baseline.
	Lang string `yaml:"lang,omitempty" json:"lang,omitempty" jsonschema:"pattern=^[a-z]{2,3}([-_][A-Za-z0-9]+)*$"`
	// Layer is the encoder layer whose output is scored: where import
	// cuts the checkpoint (required with import), and the baseline row of
	// a model folder without bertbench.json.
	Layer *int `yaml:"layer,omitempty" json:"layer,omitempty" jsonschema:"minimum=0"`
	// IDF weighs tokens by their idf over the references.
	IDF bool `yaml:"idf,omitempty" json:"idf,omitempty"`
	// Rescale rescales scores with a baseline b: (x-b)/(1-b).
	Rescale bool `yaml:"rescale,omitempty" json:"rescale,omitempty"`
	// Baseline is a baseline file (LAYER,P,R,F rows) for rescale.
	// Default: the model's own baseline (its bertbench.json, or the
	// reference's for a known model and lang).
	Baseline string `yaml:"baseline,omitempty" json:"baseline,omitempty"`
	// Device runs the encoder: cpu (default), cuda or cuda:N.
	Device string `yaml:"device,omitempty" json:"device,omitempty" jsonschema:"pattern=^(cpu|cuda(:[0-9]+)?)$"`
}

// List is one value or a list of values: a YAML scalar is a list of one.
type List[T any] []T

// UnmarshalYAML reads a single value or a sequence.
func (l *List[T]) UnmarshalYAML(unmarshal func(any) error) error {
	var many []T
	if err := unmarshal(&many); err == nil {
		*l = many
		return nil
	}
	var one T
	if err := unmarshal(&one); err != nil {
		return err
	}
	*l = List[T]{one}
	return nil
}

// oneOrMany marks List for the structure check.
func (List[T]) oneOrMany() {}

// Duration is a time.Duration written as Go writes one: 90s, 5m, 1h30m.
type Duration time.Duration

// UnmarshalText reads a duration such as "5m".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration; write it like 90s, 5m or 1h30m", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// JSONSchema describes a Duration in the config's JSON Schema.
func (Duration) JSONSchema() map[string]any {
	return map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`}
}

var _ encoding.TextUnmarshaler = (*Duration)(nil)

// DefaultConfig returns a config with every default that does not depend
// on the file set: Parse decodes a file over it.
func DefaultConfig() *Config {
	return &Config{Repeat: DefaultRepeat, Scoring: Scoring{Device: DefaultDevice}}
}

// Parse reads a config from data; name is the file's name, which errors
// begin with and whose folder relative paths are read from. The YAML is
// decoded strictly: a syntax error, an unknown field or a value of the
// wrong type is an error naming its line and column (every such problem
// is reported, one line each). Parse does not check what the values mean:
// call Validate (Load does both).
func Parse(name string, data []byte) (*Config, error) {
	c := DefaultConfig()
	c.File, c.Dir = name, filepath.Dir(name)
	if name == "" {
		c.Dir = ""
	}
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, Errors{c.yamlError(err)}
	}
	var body ast.Node
	switch docs := nonEmptyDocs(file); len(docs) {
	case 0:
		return nil, Errors{c.errorAt(nil, "", "the file holds no config; start from examples/demo.yaml")}
	case 1:
		body = docs[0].Body
	default:
		return nil, Errors{c.errorAt(docs[1].Body, "", "more than one YAML document (---); keep one experiment per file")}
	}
	chk := newChecker(c)
	chk.check(body, typeOfConfig, "")
	if len(chk.errs) > 0 {
		return nil, chk.errs.sorted()
	}
	// A key given twice is refused by the parser already; allowing
	// duplicates here lets a mapping override what a merge key (<<) brings.
	if err := yaml.NodeToValue(body, c, yaml.Strict(), yaml.AllowDuplicateMapKey()); err != nil {
		return nil, Errors{c.yamlError(err)}
	}
	c.src = chk.src
	c.normalize()
	return c, nil
}

// nonEmptyDocs are the documents of f that hold something.
func nonEmptyDocs(f *ast.File) []*ast.DocumentNode {
	var out []*ast.DocumentNode
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			out = append(out, d)
		}
	}
	return out
}

// Load reads the config file path, then checks it (Parse, then Validate).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("cannot read the config: %v; check the path", unwrapPath(err))}}
	}
	c, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// normalize fills in the defaults that depend on the file: the name, the
// default prompt, the generated file. A variation's repeat stays 0 when
// the file does not set it: it is the config's (Plan).
func (c *Config) normalize() {
	if c.Name == "" && c.File != "" {
		base := filepath.Base(c.File)
		c.Name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	if len(c.Prompts) == 0 {
		c.Prompts = []Prompt{defaultPrompt()}
		c.promptsDefaulted = true
	}
	if c.Repeat == 0 {
		c.Repeat = DefaultRepeat
	}
	if c.Generate != nil && c.Generate.File == "" {
		c.Generate.File = DefaultGeneratedFile
	}
	if c.Scoring.Device == "" {
		c.Scoring.Device = DefaultDevice
	}
}

// Path resolves a path from the config against Dir.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || c.Dir == "" {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// OutputDir is the resolved output folder: Output, else runs/NAME, beside
// the config file.
func (c *Config) OutputDir() string {
	if c.Output != "" {
		return c.Path(c.Output)
	}
	return c.Path(filepath.Join(DefaultOutputDir, c.Name))
}
