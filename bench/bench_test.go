package bench_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/bench"
	"github.com/bertbench/bertbench/bertscore"
	"github.com/bertbench/bertbench/internal/fixture"
	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/scorer"
)

func TestParseLengths(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bench.Lengths
		err  bool
	}{
		{in: "15", want: bench.Lengths{Min: 15, Max: 15}},
		{in: "15:40", want: bench.Lengths{Min: 15, Max: 40}},
		{in: "1", want: bench.Lengths{Min: 1, Max: 1}},
		{in: "0", err: true},
		{in: "40:15", err: true},
		{in: "x", err: true},
		{in: "5:", err: true},
		{in: "1:401", err: true},
	} {
		got, err := bench.ParseLengths(tc.in)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("ParseLengths(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
		if !tc.err && got.String() != tc.in {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tc.in)
		}
	}
}

// TestSynthetic: the pairs are reproducible from the seed, of lengths in
// the range, and every sentence is distinct, even at one word each.
func TestSynthetic(t *testing.T) {
	for _, l := range []bench.Lengths{{Min: 15, Max: 15}, {Min: 3, Max: 40}, {Min: 1, Max: 1}} {
		cands, refs := bench.Synthetic(500, l, 7)
		again, _ := bench.Synthetic(500, l, 7)
		other, _ := bench.Synthetic(500, l, 8)
		if !slices.Equal(cands, again) || slices.Equal(cands, other) {
			t.Errorf("%v: the same seed must give the same pairs, another seed others", l)
		}
		seen := map[string]bool{}
		for i, c := range cands {
			for _, s := range []string{c, refs[i][0]} {
				if n := len(strings.Fields(s)); n < l.Min || n > l.Max {
					t.Fatalf("%v: %q has %d words", l, s, n)
				}
				if seen[s] {
					t.Fatalf("%v: %q appears twice", l, s)
				}
				seen[s] = true
			}
		}
	}
}

func resolveTiny(t *testing.T) *models.Resolved {
	t.Helper()
	r, err := models.ResolveDir(fixture.Dir(t, "tiny-mbert"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRunCounts: a run after a warm-up reports the encoder's work, and
// a corpus of repeated sentences counts the tokens the encoder ran
// (each distinct sentence once), fewer than the corpus's raw total.
func TestRunCounts(t *testing.T) {
	model := resolveTiny(t)
	cands := slices.Repeat([]string{"the cat sat on the mat", "谢谢你的帮助"}, 50)
	refs := make([][]string, len(cands))
	for i := range refs {
		refs[i] = []string{"a cat was on the mat"}
	}
	var last, total int
	res, err := bench.Run(context.Background(), bench.Options{
		Model: model, Cands: cands, Refs: refs, Warmup: 1, Runs: 2,
		Scorer:   bertscore.ScorerOptions{BatchTokens: 16, Threads: 1},
		Progress: func(d, n int) { last, total = d, n },
	})
	if err != nil {
		t.Fatal(err)
	}
	if last != 300 || total != 300 {
		t.Errorf("progress ended at %d of %d, want 300 of 300 (3 runs × 100 pairs)", last, total)
	}
	if len(res.Runs) != 2 || res.Pairs != 100 || res.Warmup != 1 {
		t.Fatalf("%d runs of %d pairs after %d warm-up, want 2 of 100 after 1", len(res.Runs), res.Pairs, res.Warmup)
	}
	tok, err := scorer.LoadTokenizer(fixture.Path(t, "tiny-mbert", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	all := append(slices.Clone(cands), make([]string, len(refs))...)
	for i := range refs {
		all[len(cands)+i] = refs[i][0]
	}
	b, err := tok.EncodeBatch(all, 1)
	if err != nil {
		t.Fatal(err)
	}
	raw, distinct := 0, 0
	for _, ids := range b.IDs {
		raw += len(ids)
	}
	for _, s := range []string{"the cat sat on the mat", "谢谢你的帮助", "a cat was on the mat"} {
		d, _ := tok.EncodeBatch([]string{s}, 1)
		distinct += len(d.IDs[0])
	}
	if distinct >= raw {
		t.Fatalf("the corpus's %d tokens are not more than its distinct sentences' %d", raw, distinct)
	}
	for i, r := range res.Runs {
		if r.Tokens != distinct || r.Sentences != 3 {
			t.Errorf("run %d: %d tokens in %d sentences, want the %d tokens of the 3 distinct sentences (the corpus has %d)", i, r.Tokens, r.Sentences, distinct, raw)
		}
		if r.Batches < 1 || r.PaddedTokens < r.Tokens {
			t.Errorf("run %d: %d batches, %d padded tokens for %d tokens", i, r.Batches, r.PaddedTokens, r.Tokens)
		}
	}
	if len(res.Batches) != res.Sum().Batches {
		t.Errorf("%d batch times for %d measured batches (the warm-up's must not count)", len(res.Batches), res.Sum().Batches)
	}
	if e := res.PaddingEfficiency(); e <= 0 || e > 1 {
		t.Errorf("padding efficiency %v, want in (0, 1]", e)
	}
	if res.BatchPercentile(0.5) > res.BatchPercentile(0.95) {
		t.Errorf("p50 %v above p95 %v", res.BatchPercentile(0.5), res.BatchPercentile(0.95))
	}
	if res.Device != "cpu" || res.Precision != "fp32" || res.Load <= 0 || res.PeakRSSBytes <= 0 {
		t.Errorf("device %q, precision %q, load %v, peak RSS %d", res.Device, res.Precision, res.Load, res.PeakRSSBytes)
	}
}

func TestRunInvalid(t *testing.T) {
	model := resolveTiny(t)
	for name, o := range map[string]bench.Options{
		"no model":    {Cands: []string{"a"}, Refs: [][]string{{"b"}}, Runs: 1},
		"no pairs":    {Model: model, Runs: 1},
		"no runs":     {Model: model, Cands: []string{"a"}, Refs: [][]string{{"b"}}},
		"uneven refs": {Model: model, Cands: []string{"a", "b"}, Refs: [][]string{{"b"}}, Runs: 1},
	} {
		if _, err := bench.Run(context.Background(), o); !errors.Is(err, bench.ErrInvalidInput) {
			t.Errorf("%s: error %v, want ErrInvalidInput", name, err)
		}
	}
}

// TestRunProfile: with a profile prefix, ONNX Runtime's own trace of the
// encoder is written and summed by operator: MatMul is there, the shares
// add up to one and the most expensive operator comes first.
func TestRunProfile(t *testing.T) {
	model := resolveTiny(t)
	prefix := t.TempDir() + "/encoder"
	res, err := bench.Run(context.Background(), bench.Options{
		Model: model, Cands: []string{"the cat sat on the mat", "谢谢你的帮助"},
		Refs: [][]string{{"a cat was on the mat"}, {"谢谢"}}, Runs: 1, Profile: prefix,
		Scorer: bertscore.ScorerOptions{Threads: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Profile
	if p == nil || !strings.HasPrefix(p.File, prefix+"_") || len(p.Ops) == 0 {
		t.Fatalf("profile %+v, want ONNX Runtime's trace %s_*.json summed by operator", p, prefix)
	}
	sum, sawMatMul := 0.0, false
	for i, op := range p.Ops {
		sum += op.Share
		sawMatMul = sawMatMul || strings.Contains(op.Op, "MatMul")
		if op.Calls < 1 || (i > 0 && op.Seconds > p.Ops[i-1].Seconds) {
			t.Errorf("operator %d %+v: want at least one call and the most time first", i, op)
		}
	}
	if !sawMatMul || sum < 0.999 || sum > 1.001 {
		t.Errorf("operators %+v: want a MatMul among them and shares adding up to 1 (got %v)", p.Ops, sum)
	}
}

func TestReadProfileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := dir + "/bad.json"
	if err := os.WriteFile(bad, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir + "/missing.json", bad} {
		if _, err := bench.ReadProfile(path); err == nil || !strings.Contains(err.Error(), "profile") {
			t.Errorf("ReadProfile(%s) error %v, want a profile error", path, err)
		}
	}
}
