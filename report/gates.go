package report

import (
	"fmt"

	"github.com/bertbench/bertbench/gate"
)

// gateSummary writes "thresholds: all 3 passed" or "thresholds: 1 of 3
// failed".
func gateSummary(rs []gate.Result) string {
	failed := 0
	for _, r := range rs {
		if !r.Pass {
			failed++
		}
	}
	if failed == 0 {
		return fmt.Sprintf("thresholds: all %d passed", len(rs))
	}
	return fmt.Sprintf("thresholds: %d of %d failed", failed, len(rs))
}

// gateValue writes a result's number, or why there is none.
func gateValue(r gate.Result) string {
	if !r.Known {
		return r.Note
	}
	v := fmt.Sprintf("%.4g", r.Value)
	if r.Note != "" {
		v += " (" + r.Note + ")"
	}
	return v
}
