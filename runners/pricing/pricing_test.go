package pricing

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultParses(t *testing.T) {
	if _, err := parse(builtin, "built-in"); err != nil {
		t.Fatal(err)
	}
	if len(Default()) < 10 {
		t.Errorf("built-in table has %d models", len(Default()))
	}
}

func TestCost(t *testing.T) {
	tab := Table{"gpt-4o": {2.5, 10}, "gpt-4o-mini": {0.15, 0.6}, "gpt-3.5-turbo": {0.5, 1.5}}
	for _, tc := range []struct {
		model   string
		in, out int
		want    float64
		ok      bool
	}{
		{"gpt-4o", 1000, 500, (1000*2.5 + 500*10) / 1e6, true},
		{"gpt-4o-mini-2024-07-18", 1e6, 0, 0.15, true},
		{"gpt-4o-2024-08-06", 0, 1e6, 10, true},
		{"gpt-3.5-turbo-0125", 2e6, 2e6, 4, true},
		{"gpt-4o2", 1, 1, 0, false},
		// Variants are not priced as their family: o1-mini is not o1.
		{"gpt-4o-audio-preview", 1, 1, 0, false},
		{"gpt-4o-mini-realtime-preview-2024-12-17", 1, 1, 0, false},
		{"gpt-3.5-turbo-16k", 1, 1, 0, false},
		{"gpt-4o-2024-8-6", 1, 1, 0, false},
		{"llama2:13b", 1, 1, 0, false},
	} {
		got := tab.Cost(tc.model, tc.in, tc.out)
		if (got != nil) != tc.ok || (got != nil && abs(*got-tc.want) > 1e-12) {
			t.Errorf("Cost(%s) = %v, want %v (priced %v)", tc.model, deref(got), tc.want, tc.ok)
		}
	}
}

func TestLoadOverrides(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "p.json")
	os.WriteFile(p, []byte(`{"models": {"gpt-4o": {"input_per_1m": 1, "output_per_1m": 2}, "my-vllm": {"input_per_1m": 0, "output_per_1m": 0.1}}}`), 0o644)
	tab, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if tab["gpt-4o"] != (Price{1, 2}) || tab["my-vllm"].OutputPer1M != 0.1 || tab["gpt-4o-mini"].InputPer1M == 0 {
		t.Errorf("merged table: %v", tab)
	}
	for body, want := range map[string]string{
		`{"models": {"x": {"input": 1}}}`: "unknown field",
		`{"models": {}}`:                  "no \"models\"",
		`{"models": {"x": {"input_per_1m": -1, "output_per_1m": 1}}}`: "non-negative",
		`[1, 2]`: "want {",
	} {
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), p) {
			t.Errorf("Load(%s): %v, want error naming the file and %q", body, err, want)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestDefaultNeverMisprices: the built-in table prices dated snapshots of
// its models and leaves variants it does not list unpriced.
func TestDefaultNeverMisprices(t *testing.T) {
	d := Default()
	if d.Cost("gpt-4o-mini-2024-07-18", 1, 1) == nil || d.Cost("gpt-3.5-turbo-0125", 1, 1) == nil {
		t.Error("dated snapshot not priced")
	}
	for _, m := range []string{"o1-mini", "o3-pro", "gpt-4o-audio-preview"} {
		if c := d.Cost(m, 1e6, 1e6); c != nil {
			t.Errorf("%s priced at %v from its family's entry", m, *c)
		}
	}
}
