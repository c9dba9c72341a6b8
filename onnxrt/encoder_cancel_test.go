package onnxrt

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/bertbench/bertbench/scorer"
)

// TestEncodeCancel: cancelling the context before a run gives
// context.Canceled; cancelling it while a batch runs stops that batch:
// Encode returns context.Canceled where the run would have succeeded. The
// batch runs on one thread; the fastest of three uncancelled runs bounds
// how fast it can go (a busy machine only slows a run down, and the
// process's CPU time is no measure: it counts every thread, other tests'
// included), so cancelling a tenth and a fifth of that into a run lands
// mid-run. The encoder still works
// afterwards (the run options, not the session, were terminated).
func TestEncodeCancel(t *testing.T) {
	e := openEncoder(t, fixtureModel("tiny-mbert"), EncoderOptions{Threads: 1})
	ids := make([][]int32, 64)
	for i := range ids {
		ids[i] = make([]int32, 512)
		for k := range ids[i] {
			ids[i][k] = int32(5 + (i*31+k)%1000)
		}
	}
	want, err := e.Encode(context.Background(), scorer.Batch{IDs: ids[:2]})
	if err != nil {
		t.Fatal(err)
	}
	// The first run of a shape does more (ONNX Runtime plans its memory);
	// the second is measured.
	if _, err := e.Encode(context.Background(), scorer.Batch{IDs: ids}); err != nil {
		t.Fatal(err)
	}
	fastest := time.Duration(math.MaxInt64)
	for range 3 {
		start := time.Now()
		if _, err := e.Encode(context.Background(), scorer.Batch{IDs: ids}); err != nil {
			t.Fatal(err)
		}
		fastest = min(fastest, time.Since(start))
	}
	t.Logf("the batch takes at least %v", fastest)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Encode(ctx, scorer.Batch{IDs: ids}); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled context: error %v, want context.Canceled", err)
	}
	for _, part := range []time.Duration{10, 5} {
		delay := fastest / part
		ctx, cancel := context.WithCancel(context.Background())
		timer := time.AfterFunc(delay, cancel)
		start := time.Now()
		_, err := e.Encode(ctx, scorer.Batch{IDs: ids})
		took := time.Since(start)
		timer.Stop()
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled %v into a run that takes at least %v: error %v after %v, want context.Canceled (the running batch was not stopped)", delay, fastest, err, took)
		}
		t.Logf("cancelled %v in: returned after %v", delay, took)
		got, err := e.Encode(context.Background(), scorer.Batch{IDs: ids[:2]})
		if err != nil || !slices.Equal(got.Data, want.Data) {
			t.Fatalf("after a cancelled run (%v): %v, output equal %v", delay, err, slices.Equal(got.Data, want.Data))
		}
	}
}
