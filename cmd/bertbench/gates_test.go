package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/gate"
	"github.com/bertbench/bertbench/store"
)

// TestApplyGates is the one call a command that prints its own summary
// (run) makes to gate a run: each result on its line, a gateFailure with
// exit status 3 when one failed, a usage error for a threshold that
// cannot be checked.
func TestApplyGates(t *testing.T) {
	ctx := context.Background()
	s, err := store.OpenExisting(ctx, studyStore(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := reportComparison(ctx, s, reportOptions{run: "study", resamples: 200, permutations: 200})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := gate.ParseAll([]string{"F>=0.80", "F:+0.05"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = applyGates(&out, "run", c, ts)
	var gf gateFailure
	if !errors.As(err, &gf) || gf.ExitCode() != exitGate || err.Error() != "run: 1 of 2 thresholds failed: F:+0.05 on study:tuned" {
		t.Errorf("error %v, want a gateFailure (exit %d)", err, exitGate)
	}
	if out.String() != "✓ F>=0.80  study:tuned  0.828\n✗ F:+0.05  study:tuned  0.02 (Δ F mean)\n" {
		t.Errorf("printed %q", out.String())
	}
	out.Reset()
	if err := applyGates(&out, "run", c, ts[:1]); err != nil || !strings.HasPrefix(out.String(), "✓") {
		t.Errorf("passing: %v, %q", err, out.String())
	}
	c.Sides = c.Sides[:1]
	c.Sides[0].IsBaseline = true
	var ue usageError
	if err := applyGates(&out, "run", c, ts[1:]); !errors.As(err, &ue) {
		t.Errorf("a change with no other side: %v, want a usage error", err)
	}
}
