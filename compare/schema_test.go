package compare

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bertbench/bertbench/runners/outputcheck"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

func compileSchema(tb testing.TB) *jsonschema.Schema {
	tb.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(JSONSchema()))
	if err != nil {
		tb.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	const url = "https://github.com/bertbench/bertbench/compare/schema.json"
	if err := c.AddResource(url, doc); err != nil {
		tb.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		tb.Fatal(err)
	}
	return sch
}

// fullComparison has every optional part filled: rescaled scores, deltas,
// latency, TTFT, cost, flags, missing and failed items.
func fullComparison(tb testing.TB) *Comparison {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 3))
	a := withRescaled(side("r1", "a", normals(rng, 20, 0.8, 0.05)))
	b := withRescaled(side("r2", "", normals(rng, 21, 0.82, 0.05)))
	cost := 0.0004
	for i := range b.Generations {
		g := &b.Generations[i]
		g.TTFT, g.CostUSD, g.CompletionTokens = 30*time.Millisecond, &cost, 40
	}
	b.Generations[3].Flags = []outputcheck.Flag{outputcheck.WrongLanguage}
	b.Generations[4] = Generation{Item: b.Generations[4].Item, Error: "HTTP 500", Flags: []outputcheck.Flag{outputcheck.Error}, Attempts: 3}
	b.Generations = append(b.Generations, Generation{Item: "item-000", Repeat: 2, Output: "third", Raw: &PRF{0.8, 0.8, 0.8}, Rescaled: &PRF{0.3, 0.3, 0.3}, Cached: true})
	c := mustCompare(tb, Input{Sides: []SideInput{a, b}, Scoring: "abc123"}, Options{Resamples: 300, Permutations: 300})
	s := c.Sides[1]
	if s.Delta == nil || s.Delta.Rescaled == nil || s.Quality.Rescaled == nil || s.Perf.TTFTMS == nil || s.Perf.CostUSD == nil ||
		s.Perf.TokensPerSecond == nil || len(s.Coverage.Unscored) == 0 || len(c.Sides[0].Coverage.Missing) == 0 ||
		c.Items[0].Sides[1].DeltaRescaled == nil || !c.Settings.TwoLevel {
		tb.Fatalf("the full comparison lacks a part: %+v", s)
	}
	return c
}

func TestJSONSchema_Validates(t *testing.T) {
	sch := compileSchema(t)
	single := side("r", "only", []float64{0.8, 0.9})
	unscored := side("r", "b", []float64{0.8})
	unscored.Generations[0].Raw = nil
	cases := map[string]*Comparison{
		"full":             fullComparison(t),
		"raw only":         mustCompare(t, Input{Sides: []SideInput{side("r", "a", []float64{0.8, 0.7}), side("r", "b", []float64{0, 0.7})}}, Options{Resamples: 50, Permutations: 50}),
		"one side":         mustCompare(t, Input{Sides: []SideInput{single}}, Options{Resamples: 50}),
		"nothing compared": mustCompare(t, Input{Sides: []SideInput{side("r", "a", []float64{0.8}), unscored}}, Options{Resamples: 50}),
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			b := marshal(t, c)
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(inst); err != nil {
				t.Errorf("the JSON does not match the schema: %v\n%s", err, b)
			}
		})
	}
	// A wrong document is refused: the schema can fail.
	var doc map[string]any
	if err := json.Unmarshal(marshal(t, cases["full"]), &doc); err != nil {
		t.Fatal(err)
	}
	doc["sides"].([]any)[0].(map[string]any)["extra"] = 1
	if err := sch.Validate(doc); err == nil {
		t.Error("a document with an unknown field passed")
	}
	delete(doc, "schema")
	if err := sch.Validate(doc); err == nil {
		t.Error("a document without schema passed")
	}
}

// TestJSONSchema_Fields checks that every JSON field of the model's
// structs is a property of its schema object and every property a field,
// each required, so the two cannot drift apart.
func TestJSONSchema_Fields(t *testing.T) {
	var doc struct {
		Defs map[string]struct {
			Required   []string                   `json:"required"`
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"$defs"`
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(JSONSchema(), &doc); err != nil {
		t.Fatal(err)
	}
	check := func(name string, typ reflect.Type, required []string, props map[string]json.RawMessage) {
		fields := jsonFields(typ)
		slices.Sort(fields)
		slices.Sort(required)
		var keys []string
		for k := range props {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(fields, keys) || !slices.Equal(fields, required) {
			t.Errorf("%s (%s):\n fields     %v\n properties %v\n required   %v", name, typ, fields, keys, required)
		}
	}
	check("root", reflect.TypeFor[Comparison](), doc.Required, doc.Properties)
	for def, typ := range map[string]reflect.Type{
		"settings": reflect.TypeFor[Settings](), "side": reflect.TypeFor[Side](), "alignment": reflect.TypeFor[Alignment](),
		"sideSummary": reflect.TypeFor[SideSummary](), "coverage": reflect.TypeFor[Coverage](), "quality": reflect.TypeFor[Quality](),
		"scores": reflect.TypeFor[Scores](), "estimate": reflect.TypeFor[Estimate](), "delta": reflect.TypeFor[Delta](),
		"deltaScores": reflect.TypeFor[DeltaScores](), "deltaEstimate": reflect.TypeFor[DeltaEstimate](), "perf": reflect.TypeFor[Perf](),
		"rate": reflect.TypeFor[Rate](), "percentiles": reflect.TypeFor[Percentiles](), "prf": reflect.TypeFor[PRF](),
		"itemRow": reflect.TypeFor[ItemRow](), "itemSide": reflect.TypeFor[ItemSide](),
	} {
		d, ok := doc.Defs[def]
		if !ok {
			t.Errorf("schema has no $defs/%s", def)
			continue
		}
		check(def, typ, d.Required, d.Properties)
	}
}

// jsonFields lists a struct's JSON names, embedded structs flattened.
func jsonFields(typ reflect.Type) []string {
	var out []string
	for f := range typ.Fields() {
		if f.Anonymous {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			panic("field " + f.Name + " of " + typ.String() + " has no json name")
		}
		out = append(out, name)
	}
	return out
}
