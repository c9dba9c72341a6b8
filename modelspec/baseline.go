package modelspec

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Baseline is the rescale baseline b for precision, recall and F: a score
// x is reported as (x−b)/(1−b).
type Baseline struct {
	P float64 `json:"P"`
	R float64 `json:"R"`
	F float64 `json:"F"`
}

// Validate reports an error unless every component is a finite number
// below 1.
func (b Baseline) Validate() error {
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

// ParseBaselines reads a baseline file in the reference's format (its
// rescale_baseline/<lang>/<model>.tsv): a header "LAYER,P,R,F", then one
// row per layer ("0,0.83,0.83,0.83"). Commas or tabs separate the fields;
// a byte-order mark, CRLF line ends and blank lines are accepted; layers
// may come in any order, and need not all be there. Every value must be a
// finite number below 1. It returns the rows by layer; name labels the
// errors, which name the line.
func ParseBaselines(r io.Reader, name string) (map[int]Baseline, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	rows := map[int]Baseline{}
	header := false
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		fields := strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == '\t' })
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		if !header {
			if len(fields) != 4 || !strings.EqualFold(fields[0], "LAYER") || fields[1] != "P" || fields[2] != "R" || fields[3] != "F" {
				return nil, fmt.Errorf("%s:%d: want the header LAYER,P,R,F, got %q", name, line, text)
			}
			header = true
			continue
		}
		if len(fields) != 4 {
			return nil, fmt.Errorf("%s:%d: want 4 fields (LAYER,P,R,F), got %d", name, line, len(fields))
		}
		layer, err := strconv.Atoi(fields[0])
		if err != nil || layer < 0 {
			return nil, fmt.Errorf("%s:%d: layer %q is not a non-negative integer", name, line, fields[0])
		}
		var v [3]float64
		for i := range v {
			v[i], err = strconv.ParseFloat(fields[i+1], 64)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %q is not a number", name, line, fields[i+1])
			}
		}
		b := Baseline{P: v[0], R: v[1], F: v[2]}
		if err := b.Validate(); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if _, dup := rows[layer]; dup {
			return nil, fmt.Errorf("%s:%d: layer %d appears twice", name, line, layer)
		}
		rows[layer] = b
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no baseline rows (want a header LAYER,P,R,F and one row per layer)", name)
	}
	return rows, nil
}
