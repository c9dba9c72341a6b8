package scorer_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/bertbench/bertbench/bertscore"
	"github.com/bertbench/bertbench/internal/fixture"
	"github.com/bertbench/bertbench/internal/orttest"
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
				orttest.Require(b)
				m, err := bertscore.Open(context.Background(), tg.dir, bertscore.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer m.Close()
				s, err := m.Scorer(bertscore.ScorerOptions{BatchTokens: budget})
				if err != nil {
					b.Fatal(err)
				}
				tokens := 0
				tok := tokenizerOf(b, tg.dir)
				for _, txt := range append(append([]string{}, cands...), flatten(refs)...) {
					ids, err := tok.Encode(txt)
					if err != nil {
						b.Fatal(err)
					}
					tokens += len(ids)
				}
				var st scorer.Stats
				b.ResetTimer()
				for b.Loop() {
					res, err := s.Score(context.Background(), cands, refs)
					if err != nil {
						b.Fatal(err)
					}
					st.Tokenize += res.Stats.Tokenize
					st.Encode += res.Stats.Encode
					st.Match += res.Stats.Match
				}
				sec := b.Elapsed().Seconds()
				b.ReportMetric(float64(len(cands)*b.N)/sec, "pairs/s")
				b.ReportMetric(float64(tokens*b.N)/sec, "tokens/s")
				// Where the time goes, per Score call (tokenizing overlaps
				// encoding), and the model's load time, once.
				n := float64(b.N)
				b.ReportMetric(st.Tokenize.Seconds()*1e3/n, "tokenize-ms/op")
				b.ReportMetric(st.Encode.Seconds()*1e3/n, "encode-ms/op")
				b.ReportMetric(st.Match.Seconds()*1e3/n, "match-ms/op")
				b.ReportMetric(m.LoadTime().Seconds()*1e3, "load-ms")
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
