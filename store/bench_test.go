package store

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkRun_PutGeneration measures how many finished generations per
// second the store commits, each in its own transaction as a run stores
// them (rows/s is the figure to read).
func BenchmarkRun_PutGeneration(b *testing.B) {
	ctx := context.Background()
	s := MustOpen(b)
	r := mustCreate(b, s, testConfig())
	items := testItems(b.N)
	if err := r.PutItems(ctx, items); err != nil {
		b.Fatal(err)
	}
	gens := make([]Generation, b.N)
	for i := range gens {
		gens[i] = testGeneration(Key{"a", items[i].ID, 0})
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := r.PutGeneration(ctx, gens[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkRun_PutItems measures item inserts, batched in transactions.
func BenchmarkRun_PutItems(b *testing.B) {
	s := MustOpen(b)
	r := mustCreate(b, s, testConfig())
	items := testItems(b.N)
	b.ResetTimer()
	if err := r.PutItems(context.Background(), items); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkStore_Rows measures streaming an export of 10,000 scored
// generations.
func BenchmarkStore_Rows(b *testing.B) {
	ctx := context.Background()
	s := MustOpen(b)
	r := mustCreate(b, s, testConfig())
	const n = 10000
	items := testItems(n)
	if err := r.PutItems(ctx, items); err != nil {
		b.Fatal(err)
	}
	if err := r.AddScoring(ctx, "h", "{}"); err != nil {
		b.Fatal(err)
	}
	scores := make([]Score, n)
	for i := range n {
		k := Key{"a", fmt.Sprintf("item-%d", i), 0}
		mustPut(b, r, testGeneration(k))
		scores[i] = Score{Key: k, Raw: PRF{0.9, 0.8, 0.85}}
	}
	if _, err := r.PutScores(ctx, "h", scores); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		count := 0
		for _, err := range s.Rows(ctx, "r1") {
			if err != nil {
				b.Fatal(err)
			}
			count++
		}
		if count != n {
			b.Fatalf("%d rows", count)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
}
