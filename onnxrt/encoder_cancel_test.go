//go:build unix

package onnxrt

import (
	"context"
	"errors"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/bertbench/bertbench/scorer"
)

// cpuTime is the CPU time the process has used so far, all threads.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestEncodeCancel: cancelling the context before a run gives
// context.Canceled; cancelling it while a batch runs stops that batch:
// Encode returns context.Canceled where the run would have succeeded. The
// batch runs on one thread, so it takes at least as long as the CPU time
// it needs, measured on an uncancelled run (CPU time, unlike wall time, does
// not depend on what else the machine runs); cancelling a tenth and a
// quarter of that into a run lands mid-run. The encoder still works
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
	var cpu time.Duration
	for range 2 {
		before := cpuTime(t)
		if _, err := e.Encode(context.Background(), scorer.Batch{IDs: ids}); err != nil {
			t.Fatal(err)
		}
		cpu = cpuTime(t) - before
	}
	t.Logf("the batch needs %v of CPU time", cpu)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Encode(ctx, scorer.Batch{IDs: ids}); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled context: error %v, want context.Canceled", err)
	}
	for _, part := range []time.Duration{10, 4} {
		delay := cpu / part
		ctx, cancel := context.WithCancel(context.Background())
		timer := time.AfterFunc(delay, cancel)
		start := time.Now()
		_, err := e.Encode(ctx, scorer.Batch{IDs: ids})
		took := time.Since(start)
		timer.Stop()
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled %v into a run that needs %v of CPU: error %v after %v, want context.Canceled (the running batch was not stopped)", delay, cpu, err, took)
		}
		t.Logf("cancelled %v in: returned after %v", delay, took)
		got, err := e.Encode(context.Background(), scorer.Batch{IDs: ids[:2]})
		if err != nil || !slices.Equal(got.Data, want.Data) {
			t.Fatalf("after a cancelled run (%v): %v, output equal %v", delay, err, slices.Equal(got.Data, want.Data))
		}
	}
}
