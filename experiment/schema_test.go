package experiment_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/bertbench/bertbench/experiment/internal/schemagen/gen"
)

const schemaFile = "../examples/bertbench.schema.json"

// TestSchema_UpToDate: the committed schema is what the generator makes
// from today's types, so that it cannot go stale.
func TestSchema_UpToDate(t *testing.T) {
	want, err := gen.Schema(".")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date: run `go generate ./experiment` and commit it", schemaFile)
	}
}

// compileSchema compiles the committed schema.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("bertbench.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("bertbench.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// checkYAML validates a YAML config against the schema.
func checkYAML(t *testing.T, sch *jsonschema.Schema, config string) error {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(inst)
}

// TestSchema_Examples: both examples, which Load accepts
// (TestLoad_Examples), are valid by the schema too, and so are the test
// configs Validate accepts.
func TestSchema_Examples(t *testing.T) {
	sch := compileSchema(t)
	for _, f := range []string{"../examples/demo.yaml", "../examples/en-zh-finetune.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkYAML(t, sch, string(b)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, config := range []string{
		base,
		base + "    temperature: [0, 0.7]\n    seed: 1\n    prompt: [default]\nscoring: {import: ckpt, layer: 0, rescale: true, baseline: base.tsv, device: 'cuda:0'}\n",
		strings.Replace(base, "ollama:llama2:13b\n", "ollama:llama2:13b\n    timeout: 1h30m\n    concurrency: 1\n    mode: generate\n", 1),
	} {
		if err := checkYAML(t, sch, config); err != nil {
			t.Errorf("%v\nfor\n%s", err, config)
		}
	}
}

// TestSchema_Refuses: the schema is as strict as Parse about fields and
// types, and checks the simple bounds Validate does.
func TestSchema_Refuses(t *testing.T) {
	sch := compileSchema(t)
	for name, config := range map[string]string{
		"UnknownField":      base + "    tempreature: 0.7\n",
		"WrongType":         base + "    temperature: hot\n",
		"NegativeTemp":      base + "    temperature: [0, -1]\n",
		"TopPOver1":         base + "    top_p: 2\n",
		"BadDevice":         base + "scoring: {device: gpu}\n",
		"BadFormat":         strings.Replace(base, "{file: items.jsonl}", "{file: items.jsonl, format: yaml}", 1),
		"NoRunners":         strings.Replace(base, "runners:\n  - name: llama2\n    spec: ollama:llama2:13b\n", "runners: []\n", 1),
		"SpecWithoutKind":   strings.Replace(base, "ollama:llama2:13b", "llama2", 1),
		"BadName":           strings.Replace(base, "name: base", "name: a/b", 1),
		"ConcurrencyZero":   strings.Replace(base, "ollama:llama2:13b\n", "ollama:llama2:13b\n    concurrency: 0\n", 1),
		"BadTimeout":        strings.Replace(base, "ollama:llama2:13b\n", "ollama:llama2:13b\n    timeout: soon\n", 1),
		"VariationNoRunner": strings.Replace(base, "    runner: llama2\n", "", 1),
	} {
		t.Run(name, func(t *testing.T) {
			if err := checkYAML(t, sch, config); err == nil {
				t.Errorf("the schema accepts\n%s", config)
			}
		})
	}
}
