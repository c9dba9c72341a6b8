package scorer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// MarshalJSON writes {"P":p,"R":r,"F":f}, each number in encoding/json's
// shortest form, and an undefined (NaN) component as null: the one place
// scores become JSON.
func (p PRF) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	for i, c := range [3]struct {
		name string
		v    float64
	}{{"P", p.P}, {"R", p.R}, {"F", p.F}} {
		if i == 0 {
			b.WriteString(`{"`)
		} else {
			b.WriteString(`,"`)
		}
		b.WriteString(c.name + `":`)
		if math.IsNaN(c.v) {
			b.WriteString("null")
			continue
		}
		num, err := json.Marshal(c.v)
		if err != nil {
			return nil, fmt.Errorf("score %s: %w", c.name, err)
		}
		b.Write(num)
	}
	b.WriteString("}")
	return b.Bytes(), nil
}

// UnmarshalJSON reads what MarshalJSON writes: null is NaN.
func (p *PRF) UnmarshalJSON(data []byte) error {
	var raw struct{ P, R, F *float64 }
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	get := func(v *float64) float64 {
		if v == nil {
			return math.NaN()
		}
		return *v
	}
	*p = PRF{P: get(raw.P), R: get(raw.R), F: get(raw.F)}
	return nil
}
