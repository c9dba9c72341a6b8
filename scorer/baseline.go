package scorer

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Baseline is the rescale baseline b for precision, recall and F: a score x
// is reported as (x−b)/(1−b).
type Baseline struct {
	P, R, F float64
}

// Rescale applies the baseline to s, component by component.
func (b Baseline) Rescale(s PRF) PRF {
	return PRF{
		P: (s.P - b.P) / (1 - b.P),
		R: (s.R - b.R) / (1 - b.R),
		F: (s.F - b.F) / (1 - b.F),
	}
}

func (b Baseline) validate() error {
	for _, c := range []struct {
		name string
		v    float64
	}{{"P", b.P}, {"R", b.R}, {"F", b.F}} {
		if math.IsNaN(c.v) || math.IsInf(c.v, 0) || c.v >= 1 {
			return fmt.Errorf("baseline %s = %v: must be a finite number below 1", c.name, c.v)
		}
	}
	return nil
}

// BaselineTable is a rescale baseline file: one Baseline per layer.
type BaselineTable map[int]Baseline

// Layer returns the baseline for layer, or an error listing the layers
// the table has.
func (t BaselineTable) Layer(layer int) (Baseline, error) {
	b, ok := t[layer]
	if !ok {
		lo, hi := math.MaxInt, math.MinInt
		for l := range t {
			lo, hi = min(lo, l), max(hi, l)
		}
		return Baseline{}, asInput(fmt.Errorf("the baseline has no row for layer %d (it covers layers %d..%d): use the baseline made for this model", layer, lo, hi))
	}
	return b, nil
}

// ParseBaseline reads a baseline table in the reference's format: a header
// "LAYER,P,R,F", then one row per layer ("0,0.83,0.83,0.83"). Commas or
// tabs separate the fields; blank lines are ignored. name is used in error
// messages.
func ParseBaseline(r io.Reader, name string) (BaselineTable, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	t := BaselineTable{}
	header := false
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if text == "" {
			continue
		}
		fields := strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == '\t' })
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		if !header {
			if len(fields) != 4 || !strings.EqualFold(fields[0], "LAYER") || fields[1] != "P" || fields[2] != "R" || fields[3] != "F" {
				return nil, asInput(fmt.Errorf("%s:%d: want the header LAYER,P,R,F, got %q", name, line, text))
			}
			header = true
			continue
		}
		if len(fields) != 4 {
			return nil, asInput(fmt.Errorf("%s:%d: want 4 fields (LAYER,P,R,F), got %d", name, line, len(fields)))
		}
		layer, err := strconv.Atoi(fields[0])
		if err != nil || layer < 0 {
			return nil, asInput(fmt.Errorf("%s:%d: layer %q is not a non-negative integer", name, line, fields[0]))
		}
		var v [3]float64
		for i := range v {
			v[i], err = strconv.ParseFloat(fields[i+1], 64)
			if err != nil {
				return nil, asInput(fmt.Errorf("%s:%d: %q is not a number", name, line, fields[i+1]))
			}
		}
		b := Baseline{P: v[0], R: v[1], F: v[2]}
		if err := b.validate(); err != nil {
			return nil, asInput(fmt.Errorf("%s:%d: %w", name, line, err))
		}
		if _, dup := t[layer]; dup {
			return nil, asInput(fmt.Errorf("%s:%d: layer %d appears twice", name, line, layer))
		}
		t[layer] = b
	}
	if err := sc.Err(); err != nil {
		return nil, asInput(fmt.Errorf("reading %s: %w", name, err))
	}
	if len(t) == 0 {
		return nil, asInput(fmt.Errorf("%s: no baseline rows (want a header LAYER,P,R,F and one row per layer)", name))
	}
	return t, nil
}

// ReadBaselineFile reads a baseline table from a file (see ParseBaseline).
func ReadBaselineFile(path string) (BaselineTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, asInput(fmt.Errorf("baseline file: %w", err))
	}
	defer f.Close()
	return ParseBaseline(f, path)
}
