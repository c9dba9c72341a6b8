package bench

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// OpTime is one operator type's share of an encoder's run time, from ONNX
// Runtime's profile.
type OpTime struct {
	// Op is the operator type after ONNX Runtime's fusions ("MatMul",
	// "FusedMatMul", "Attention", "SkipLayerNormalization", ...).
	Op string `json:"op"`
	// Time is the kernels' summed run time, Calls how many ran.
	Time  time.Duration `json:"-"`
	Calls int           `json:"calls"`
	// Share is Time over every operator's time (0..1).
	Share float64 `json:"share"`
	// Seconds is Time in seconds (for JSON).
	Seconds float64 `json:"seconds"`
}

// Profile is where an encoder's time went, operator by operator.
type Profile struct {
	// File is ONNX Runtime's trace (Chrome's trace format).
	File string `json:"file"`
	// Ops are the operator types, the most time first.
	Ops []OpTime `json:"ops"`
}

// profileEvent is one event of ONNX Runtime's trace that matters here: a
// node's kernel run ("<node>_kernel_time", category "Node").
type profileEvent struct {
	Cat  string `json:"cat"`
	Name string `json:"name"`
	Dur  int64  `json:"dur"` // microseconds
	Args struct {
		OpName string `json:"op_name"`
	} `json:"args"`
}

// ReadProfile sums ONNX Runtime's trace at path by operator type.
func ReadProfile(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	var events []profileEvent
	if err := json.Unmarshal(data, &events); err != nil {
		return nil, fmt.Errorf("profile: %s: %w", path, err)
	}
	byOp := map[string]*OpTime{}
	var total time.Duration
	for _, e := range events {
		if e.Cat != "Node" || !strings.HasSuffix(e.Name, "_kernel_time") || e.Args.OpName == "" {
			continue
		}
		t := byOp[e.Args.OpName]
		if t == nil {
			t = &OpTime{Op: e.Args.OpName}
			byOp[e.Args.OpName] = t
		}
		d := time.Duration(e.Dur) * time.Microsecond
		t.Time += d
		t.Calls++
		total += d
	}
	p := &Profile{File: path}
	for _, t := range byOp {
		if total > 0 {
			t.Share = float64(t.Time) / float64(total)
		}
		t.Seconds = t.Time.Seconds()
		p.Ops = append(p.Ops, *t)
	}
	slices.SortFunc(p.Ops, func(a, b OpTime) int {
		return cmp.Or(cmp.Compare(b.Time, a.Time), strings.Compare(a.Op, b.Op))
	})
	return p, nil
}

// profileFile finds the trace ONNX Runtime wrote for prefix
// (<prefix>_<date>.json), the newest when there are several.
func profileFile(prefix string) (string, error) {
	matches, err := filepath.Glob(prefix + "_*.json")
	if err != nil {
		return "", fmt.Errorf("profile: %w", err)
	}
	var newest string
	var when time.Time
	for _, m := range matches {
		st, err := os.Stat(m)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		if newest == "" || st.ModTime().After(when) {
			newest, when = m, st.ModTime()
		}
	}
	if newest == "" {
		return "", fmt.Errorf("profile: ONNX Runtime wrote no %s_*.json", prefix)
	}
	return newest, nil
}
