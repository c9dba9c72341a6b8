package scorer

import (
	"fmt"
	"io"
	"math"
	"os"

	"github.com/bertbench/bertbench/modelspec"
)

// Baseline is the rescale baseline b for precision, recall and F: a score x
// is reported as (x−b)/(1−b).
type Baseline modelspec.Baseline

// Rescale applies the baseline to s, component by component.
func (b Baseline) Rescale(s PRF) PRF {
	return PRF{
		P: (s.P - b.P) / (1 - b.P),
		R: (s.R - b.R) / (1 - b.R),
		F: (s.F - b.F) / (1 - b.F),
	}
}

func (b Baseline) validate() error { return modelspec.Baseline(b).Validate() }

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

// ParseBaseline reads a baseline table in the reference's format (see
// modelspec.ParseBaselines: a header "LAYER,P,R,F", then one row per
// layer). name is used in error messages, which are input errors.
func ParseBaseline(r io.Reader, name string) (BaselineTable, error) {
	rows, err := modelspec.ParseBaselines(r, name)
	if err != nil {
		return nil, asInput(err)
	}
	t := make(BaselineTable, len(rows))
	for layer, b := range rows {
		t[layer] = Baseline(b)
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
