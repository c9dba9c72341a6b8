package jsonschema_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/experiment/internal/jsonschema"
)

type many []int

func (m *many) UnmarshalYAML(func(any) error) error { return nil }

type self struct{}

func (self) JSONSchema() map[string]any { return map[string]any{"type": "string", "format": "x"} }

type inner struct {
	A int `yaml:"a"`
}

type outer struct {
	Name   string   `yaml:"name" jsonschema:"required;pattern=^a$"`
	Temp   *float64 `yaml:"temp,omitempty" jsonschema:"minimum=0;maximum=2"`
	Seeds  many     `yaml:"seeds" jsonschema:"minimum=1"`
	Self   self     `yaml:"self"`
	Inner  inner    `yaml:"inner"`
	Inline inner    `yaml:",inline"`
	Skip   string   `yaml:"-"`
	Kind   string   `yaml:"kind" jsonschema:"enum=x|y"`
	//lint:ignore U1000 an unexported field, which the schema leaves out
	hidden string
}

func TestGenerate(t *testing.T) {
	docs := jsonschema.Docs{"outer": "outer is a test.", "outer.Name": "Name names it.", "inner.A": "A is a."}
	b, err := jsonschema.Generate(reflect.TypeFor[outer](), jsonschema.Options{Title: "T", Docs: docs})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := `{"$defs":{"inner":{"additionalProperties":false,"properties":{"a":{"description":"a is a.","type":"integer"}},"type":"object"}},` +
		`"$schema":"https://json-schema.org/draft/2020-12/schema","additionalProperties":false,"description":"outer is a test.",` +
		`"properties":{"a":{"description":"a is a.","type":"integer"},"inner":{"$ref":"#/$defs/inner"},"kind":{"enum":["x","y"],"type":"string"},` +
		`"name":{"description":"name names it.","pattern":"^a$","type":"string"},` +
		`"seeds":{"oneOf":[{"minimum":1,"type":"integer"},{"items":{"minimum":1,"type":"integer"},"minItems":1,"type":"array"}]},` +
		`"self":{"format":"x","type":"string"},"temp":{"maximum":2,"minimum":0,"type":"number"}},` +
		`"required":["name"],"title":"T","type":"object"}`
	if g, _ := json.Marshal(got); string(g) != want {
		t.Errorf("got  %s\nwant %s", g, want)
	}
	if !strings.HasSuffix(string(b), "}\n") {
		t.Error("no final newline")
	}
}

func TestGenerate_Errors(t *testing.T) {
	type badKeyword struct {
		A int `yaml:"a" jsonschema:"minimum=low"`
	}
	type unknownKeyword struct {
		A int `yaml:"a" jsonschema:"maxLength=3"`
	}
	type unsupported struct {
		A map[string]int `yaml:"a"`
	}
	for _, tc := range []struct {
		t    reflect.Type
		want string
	}{
		{reflect.TypeFor[badKeyword](), `badKeyword.A: minimum="low": want a number`},
		{reflect.TypeFor[unknownKeyword](), `unknownKeyword.A: unknown keyword "maxLength"`},
		{reflect.TypeFor[unsupported](), `unsupported.A: type map[string]int has no JSON Schema here`},
		{reflect.TypeFor[int](), `int is not a struct`},
	} {
		if _, err := jsonschema.Generate(tc.t, jsonschema.Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.t, err, tc.want)
		}
	}
}

func TestReadDocs(t *testing.T) {
	docs, err := jsonschema.ReadDocs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if got := docs["Runner.Spec"]; !strings.HasPrefix(got, "Spec is the runner spec: ollama:MODEL[@URL]") || strings.Contains(got, "\n") {
		t.Errorf("Runner.Spec: %q", got)
	}
	if docs["Config"] == "" {
		t.Error("no doc for Config")
	}
}
