package scorer

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// TestPRFJSON: scores marshal with encoding/json, an undefined component
// as null, and read back (null as NaN), inside any document.
func TestPRFJSON(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		in   PRF
		want string
	}{
		{PRF{P: 0.5, R: 0.25, F: 1.0 / 3}, `{"P":0.5,"R":0.25,"F":0.3333333333333333}`},
		{PRF{P: nan, R: 0.75, F: 0}, `{"P":null,"R":0.75,"F":0}`},
		{PRF{P: nan, R: nan, F: nan}, `{"P":null,"R":null,"F":null}`},
		{PRF{P: -1e-9, R: 1e21, F: 0}, `{"P":-1e-9,"R":1e+21,"F":0}`},
	} {
		b, err := json.Marshal(tc.in)
		if err != nil || string(b) != tc.want {
			t.Errorf("%+v: %s, %v; want %s", tc.in, b, err, tc.want)
			continue
		}
		var back PRF
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		for i, pair := range [][2]float64{{back.P, tc.in.P}, {back.R, tc.in.R}, {back.F, tc.in.F}} {
			if pair[0] != pair[1] && !(math.IsNaN(pair[0]) && math.IsNaN(pair[1])) {
				t.Errorf("%s read back as %+v (component %d)", b, back, i)
			}
		}
	}
	if _, err := json.Marshal(PRF{P: math.Inf(1)}); err == nil {
		t.Error("an infinite score marshalled")
	}
	// In a document: a slice of scores, and a Result with its Config.
	doc, err := json.Marshal(Result{Summary: Summary{Count: 1, Mean: PRF{P: nan}}, Pairs: []PRF{{P: nan, R: 1, F: 0}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"pairs":[{"P":null,"R":1,"F":0}]`, `"mean":{"P":null,"R":0,"F":0}`, `"config":{"score":{"algorithm":""`, `"tokenize_ns":0`} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("result JSON %s lacks %s", doc, want)
		}
	}
}
