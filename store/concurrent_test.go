package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestStore_ConcurrentReaders reads the store in several goroutines, and
// through a second Store on the same file (as `runs list` in another
// process would), while a writer stores generations: every read sees a
// consistent, growing prefix and nothing fails with "database is locked".
func TestStore_ConcurrentReaders(t *testing.T) {
	ctx := context.Background()
	path := PathIn(t.TempDir())
	s := mustOpenPath(t, path)
	other := mustOpenPath(t, path)
	r := mustCreate(t, s, testConfig())
	const n = 300
	if err := r.PutItems(ctx, testItems(n)); err != nil {
		t.Fatal(err)
	}

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for i := range n {
			if _, err := r.PutGeneration(ctx, testGeneration(Key{"a", fmt.Sprintf("item-%d", i), 0})); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for reader := range 3 {
		wg.Go(func() {
			st := s
			if reader == 0 {
				st = other
			}
			last, reads := 0, 0
			for {
				select {
				case <-done:
					if reads == 0 {
						t.Errorf("reader %d never read while the writer wrote", reader)
					}
					return
				default:
				}
				count := 0
				for row, err := range st.Rows(ctx, "r1") {
					if err != nil {
						t.Errorf("reader %d: %v", reader, err)
						return
					}
					if row.Result.Output == "" {
						t.Errorf("reader %d: half a row: %+v", reader, row)
					}
					count++
				}
				if count < last {
					t.Errorf("reader %d: %d rows after %d", reader, count, last)
				}
				last = count
				if _, err := st.ListRuns(ctx); err != nil {
					t.Errorf("reader %d: %v", reader, err)
					return
				}
				reads++
			}
		})
	}
	wg.Wait()
	d, err := other.RunDetail(ctx, "r1")
	if err != nil || d.Generations != n {
		t.Fatalf("after writing: %+v, %v", d, err)
	}
}

// TestRun_ScoreWhileReading stores scores from inside the loop that reads
// the pairs to score, as a scoring pass does: the open read never blocks
// the writes.
func TestRun_ScoreWhileReading(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a deadlock fails, not hangs
	defer cancel()
	s := MustOpen(t)
	r := mustCreate(t, s, testConfig())
	const n = 50
	if err := r.PutItems(ctx, testItems(n)); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		mustPut(t, r, testGeneration(Key{"b", fmt.Sprintf("item-%d", i), 1}))
	}
	if err := r.AddScoring(ctx, "h", "{}"); err != nil {
		t.Fatal(err)
	}
	scored := 0
	for p, err := range r.ToScore(ctx, "h") {
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.PutScores(ctx, "h", []Score{{Key: p.Key, Raw: PRF{0.5, 0.5, 0.5}}}); err != nil {
			t.Fatal(err)
		}
		scored++
	}
	if scored != n {
		t.Errorf("scored %d, want %d", scored, n)
	}
	if left := collect(t, r.ToScore(ctx, "h")); len(left) != 0 {
		t.Errorf("%d left to score", len(left))
	}
	// Breaking out of a loop releases its connection.
	for range s.Rows(ctx, "r1") {
		break
	}
	if inUse := s.r.Stats().InUse; inUse != 0 {
		t.Errorf("%d read connections still in use after the loops ended", inUse)
	}
}
