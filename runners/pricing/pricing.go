// Package pricing turns token counts into money: a table of per-model
// prices (USD per 1M input and output tokens), built in for OpenAI's models
// and overridable from a JSON file of the same format.
package pricing

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"strings"
)

//go:embed prices.json
var builtin []byte

// Price is what one model costs.
type Price struct {
	InputPer1M  float64 `json:"input_per_1m"`
	OutputPer1M float64 `json:"output_per_1m"`
}

// Table maps model names to prices.
type Table map[string]Price

type file struct {
	About  string `json:"about,omitempty"`
	Models Table  `json:"models"`
}

// Default returns the built-in table.
func Default() Table {
	t, err := parse(builtin, "built-in prices.json")
	if err != nil {
		// The embedded file is checked by TestDefaultParses.
		return Table{}
	}
	return t
}

// Load returns the built-in table with the entries of the JSON file at
// path laid over it. The file looks like
//
//	{"models": {"gpt-4o": {"input_per_1m": 2.5, "output_per_1m": 10}}}
func Load(path string) (Table, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("prices: %w", err)
	}
	over, err := parse(b, path)
	if err != nil {
		return nil, err
	}
	t := Default()
	maps.Copy(t, over)
	return t, nil
}

func parse(b []byte, name string) (Table, error) {
	var f file
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("prices %s: %w (want {\"models\": {\"MODEL\": {\"input_per_1m\": N, \"output_per_1m\": N}}})", name, err)
	}
	if len(f.Models) == 0 {
		return nil, fmt.Errorf("prices %s: no \"models\" entries", name)
	}
	for m, p := range f.Models {
		if p.InputPer1M < 0 || p.OutputPer1M < 0 || math.IsNaN(p.InputPer1M) || math.IsNaN(p.OutputPer1M) {
			return nil, fmt.Errorf("prices %s: model %q: prices must be non-negative", name, m)
		}
	}
	return f.Models, nil
}

// Lookup finds the price of model: an exact entry, else the entry that
// model extends with a snapshot date ("-2024-07-18" or "-0125"): a dated
// snapshot such as gpt-4o-mini-2024-07-18 is priced as gpt-4o-mini. Other
// variants (o1-mini, o3-pro, gpt-4o-audio-preview) often cost something
// else entirely, so they are not priced from their family's entry: an
// unknown price is nil, never a wrong one.
func (t Table) Lookup(model string) (Price, bool) {
	if p, ok := t[model]; ok {
		return p, true
	}
	for name, p := range t {
		if rest, ok := strings.CutPrefix(model, name+"-"); ok && snapshotDate(rest) {
			return p, true
		}
	}
	return Price{}, false
}

// snapshotDate reports a model snapshot suffix: YYYY-MM-DD or MMDD.
func snapshotDate(s string) bool {
	digits := func(s string) bool {
		for _, r := range s {
			if r < '0' || r > '9' {
				return false
			}
		}
		return s != ""
	}
	switch len(s) {
	case 4:
		return digits(s)
	case 10:
		return digits(s[:4]) && s[4] == '-' && digits(s[5:7]) && s[7] == '-' && digits(s[8:])
	}
	return false
}

// Cost returns the price in USD of a call to model with the given token
// counts, or nil when the model has no price.
func (t Table) Cost(model string, promptTokens, completionTokens int) *float64 {
	p, ok := t.Lookup(model)
	if !ok {
		return nil
	}
	c := (float64(promptTokens)*p.InputPer1M + float64(completionTokens)*p.OutputPer1M) / 1e6
	return &c
}
