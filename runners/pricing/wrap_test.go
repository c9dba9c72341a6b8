package pricing_test

import (
	"context"
	"testing"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/cache"
	"github.com/bertbench/bertbench/runners/faultserver"
	"github.com/bertbench/bertbench/runners/ollama"
	"github.com/bertbench/bertbench/runners/openai"
	"github.com/bertbench/bertbench/runners/pricing"
)

// TestWrapPricesEveryKindAndCachedResults: a price table applies to
// OpenAI-compatible and Ollama runners alike, and to results served from
// the cache, which are priced by the table of the run that serves them.
// The fault server answers with 7 prompt and 3 completion tokens.
func TestWrapPricesEveryKindAndCachedResults(t *testing.T) {
	srv := faultserver.New(faultserver.OK, faultserver.OK, faultserver.BadRequest)
	defer srv.Close()
	store, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h, err := ollama.NewServer(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	compat := cache.Wrap(openai.New("fault-model", "openai-compatible:fault-model@"+srv.URL+"/v1", openai.Config{BaseURL: srv.URL + "/v1"}), store)
	local := ollama.New(h, "fault", "")
	req := runners.Request{Prompt: "p"}
	for _, tc := range []struct {
		name   string
		r      runners.Runner
		table  pricing.Table
		cached bool
		want   *float64
	}{
		{"openai-compatible, by the spec's model", compat, pricing.Table{"fault-model": {InputPer1M: 1e6, OutputPer1M: 0}}, false, ptr(7.0)},
		{"the same line from the cache, at this run's prices", compat, pricing.Table{"fault-model": {InputPer1M: 0, OutputPer1M: 1e6}}, true, ptr(3.0)},
		{"no price: nil, not a stored figure", compat, pricing.Table{"other": {InputPer1M: 1, OutputPer1M: 1}}, true, nil},
		// The fault server reports the model as fault:latest.
		{"ollama, by the reported model", local, pricing.Table{"fault:latest": {InputPer1M: 1e6, OutputPer1M: 1e6}}, false, ptr(10.0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := pricing.Wrap(tc.r, tc.table).Run(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Cached != tc.cached {
				t.Errorf("cached %v, want %v", res.Cached, tc.cached)
			}
			switch {
			case tc.want == nil && res.CostUSD != nil:
				t.Errorf("cost %v, want nil", *res.CostUSD)
			case tc.want != nil && (res.CostUSD == nil || *res.CostUSD != *tc.want):
				t.Errorf("cost %v, want %v", res.CostUSD, *tc.want)
			}
		})
	}
	// A failed call is not priced.
	res, err := pricing.Wrap(local, pricing.Table{"fault:latest": {InputPer1M: 1, OutputPer1M: 1}}).Run(context.Background(), req)
	if err == nil || res.CostUSD != nil {
		t.Errorf("failed call: err %v, cost %v", err, res.CostUSD)
	}
}

func ptr[T any](v T) *T { return &v }
