package scorer_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/bertbench/bertbench/internal/fixture"
	"github.com/bertbench/bertbench/internal/testkit"
	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/scorer"
)

// benchCorpus returns a fixture's plain case repeated to n pairs, each
// copy made distinct so deduplication does not skip work.
func benchCorpus(b testing.TB, name string, n int) (cands []string, refs [][]string) {
	g := fixture.ReadGolden(b, name)
	c := g.Case(b, "plain")
	flat := c.FlatRefs(b)
	for i := 0; len(cands) < n; i++ {
		k := i % len(c.Cands)
		suffix := fmt.Sprintf(" %d", i/len(c.Cands))
		cands = append(cands, c.Cands[k]+suffix)
		refs = append(refs, []string{flat[k] + suffix})
	}
	return cands, refs
}

// BenchmarkScore measures end-to-end scoring throughput (tokenize,
// encode, match) on each fixture, and on the model folder named by
// $BERTBENCH_BENCH_MODEL when set (for example an mBERT-size model from
// `bertbench models synth`), at a few token budgets. The corpus is the
// tiny-mbert plain case (Chinese), repeated: 512 pairs, 64 for the
// $BERTBENCH_BENCH_MODEL model.
func BenchmarkScore(b *testing.B) {
	type target struct {
		name  string
		dir   string
		pairs int
	}
	var targets []target
	for _, f := range fixture.Names() {
		targets = append(targets, target{f, fixture.Dir(b, f), 512})
	}
	if dir := os.Getenv("BERTBENCH_BENCH_MODEL"); dir != "" {
		targets = append(targets, target{"env", dir, 64})
	}
	for _, tg := range targets {
		cands, refs := benchCorpus(b, "tiny-mbert", tg.pairs)
		for _, budget := range []int{512, 2048, 8192} {
			b.Run(fmt.Sprintf("%s/budget=%d", tg.name, budget), func(b *testing.B) {
				testkit.RequireORT(b)
				m, err := models.ResolveDir(tg.dir)
				if err != nil {
					b.Fatal(err)
				}
				s, err := scorer.New(context.Background(), scorer.Options{Model: m, BatchTokens: budget})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				tokens := 0
				tok := tokenizerOf(b, tg.dir)
				for _, txt := range append(append([]string{}, cands...), flatten(refs)...) {
					ids, err := tok.Encode(txt)
					if err != nil {
						b.Fatal(err)
					}
					tokens += len(ids)
				}
				b.ResetTimer()
				for b.Loop() {
					if _, err := s.Score(context.Background(), cands, refs); err != nil {
						b.Fatal(err)
					}
				}
				sec := b.Elapsed().Seconds()
				b.ReportMetric(float64(len(cands)*b.N)/sec, "pairs/s")
				b.ReportMetric(float64(tokens*b.N)/sec, "tokens/s")
			})
		}
	}
}

func flatten(refs [][]string) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r...)
	}
	return out
}
