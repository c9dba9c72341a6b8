package store

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/runners"
)

// exportRun is a run with three generations (one failed) and two scoring
// configurations, one with a NaN component and no rescaled score.
func exportRun(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	s := MustOpen(t)
	r := mustCreate(t, s, testConfig())
	if err := r.PutItems(ctx, testItems(2)); err != nil {
		t.Fatal(err)
	}
	mustPut(t, r, testGeneration(Key{"a", "item-0", 0}))
	mustPut(t, r, testGeneration(Key{"b", "item-1", 1}))
	failed := runners.Result{Error: "HTTP 500", Attempts: 3}
	mustPut(t, r, Generation{Key: Key{"a", "item-1", 0}, Result: failed})
	for _, h := range []string{"0123456789abcdef", "fedcba9876543210"} {
		if err := r.AddScoring(ctx, h, `{"h":"`+h+`"}`); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.PutScores(ctx, "0123456789abcdef", []Score{
		{Key: Key{"a", "item-0", 0}, Raw: PRF{0.9, 0.8, 0.85}, Rescaled: &PRF{0.1, 0.2, 0.3}},
		{Key: Key{"b", "item-1", 1}, Raw: PRF{math.NaN(), 0.5, math.NaN()}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.PutScores(ctx, "fedcba9876543210", []Score{{Key: Key{"a", "item-0", 0}, Raw: PRF{0.7, 0.7, 0.7}}}); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStore_Export(t *testing.T) {
	ctx := context.Background()
	s := exportRun(t)

	t.Run("JSONL", func(t *testing.T) {
		var buf bytes.Buffer
		if err := s.Export(ctx, &buf, "r1", FormatJSONL); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		if len(lines) != 3 {
			t.Fatalf("%d lines:\n%s", len(lines), buf.String())
		}
		var got []map[string]any
		for _, l := range lines {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("%v: %s", err, l)
			}
			got = append(got, m)
		}
		// By variation, then dataset order: a/item-0, a/item-1, b/item-1.
		if got[0]["item"] != "item-0" || got[1]["error"] != "HTTP 500" || got[2]["variation"] != "b" || got[2]["repeat"] != 1.0 {
			t.Errorf("order or fields wrong:\n%s", buf.String())
		}
		if got[0]["latency_ms"] != 1234.567 || got[0]["cost_usd"] != 0.00042 || got[1]["cost_usd"] != nil {
			t.Errorf("latency or cost: %v %v %v", got[0]["latency_ms"], got[0]["cost_usd"], got[1]["cost_usd"])
		}
		if flags := got[1]["flags"].([]any); len(flags) != 1 || flags[0] != "error" {
			t.Errorf("flags of the failed row: %v", flags)
		}
		sc := got[2]["scores"].([]any)[0].(map[string]any)
		if v, ok := sc["p"]; !ok || v != nil || sc["r"] != 0.5 {
			t.Errorf("NaN score not null: %v", sc)
		}
		if _, ok := sc["p_rescaled"]; ok {
			t.Errorf("rescaled score without a baseline: %v", sc)
		}
		if n := len(got[0]["scores"].([]any)); n != 2 {
			t.Errorf("%d scores for a/item-0, want 2", n)
		}
	})
	t.Run("CSV", func(t *testing.T) {
		var buf bytes.Buffer
		if err := s.Export(ctx, &buf, "", FormatCSV); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 4 {
			t.Fatalf("%d records", len(recs))
		}
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		if len(recs[0]) != len(csvColumns)+12 {
			t.Errorf("header %v", recs[0])
		}
		a0, b1 := recs[1], recs[3]
		if a0[col["0123456789ab.f"]] != "0.85" || a0[col["0123456789ab.f_rescaled"]] != "0.3" || a0[col["fedcba987654.p"]] != "0.7" {
			t.Errorf("scores of a/item-0: %v", a0)
		}
		if b1[col["0123456789ab.p"]] != "" || b1[col["0123456789ab.r"]] != "0.5" || b1[col["fedcba987654.p"]] != "" {
			t.Errorf("NaN and missing scores of b/item-1 not empty: %v", b1)
		}
		if recs[2][col["error"]] != "HTTP 500" || recs[2][col["flags"]] != "error" || a0[col["references"]] != `["句子 0"]` {
			t.Errorf("rows: %v", recs)
		}
	})
	t.Run("BadFormat", func(t *testing.T) {
		if err := s.Export(ctx, &bytes.Buffer{}, "r1", "xml"); err == nil {
			t.Error("exported as xml")
		}
	})
}
