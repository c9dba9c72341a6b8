package scorer

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

// TestParseBaseline: the scorer reads baseline files with
// modelspec.ParseBaselines (tested there); its errors are input errors, and
// the table gives a layer's row or says which layers it covers.
func TestParseBaseline(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		layer   int
		want    Baseline
		wantErr string // substring; "" means no error
	}{
		{name: "reference format", in: "LAYER,P,R,F\n0,0.3,0.29,0.298\n3,0.45,0.446,0.448\n", layer: 3, want: Baseline{0.45, 0.446, 0.448}},
		{name: "tabs, CRLF, BOM, blank lines", in: "\ufeffLAYER\tP\tR\tF\r\n\r\n2\t0.1\t0.2\t0.3\r\n", layer: 2, want: Baseline{0.1, 0.2, 0.3}},
		{name: "no header", in: "0,0.3,0.29,0.298\n", wantErr: "want the header"},
		{name: "NaN", in: "LAYER,P,R,F\n0,NaN,0.29,0.1\n", wantErr: "finite"},
		{name: "missing layer", in: "LAYER,P,R,F\n0,0.1,0.1,0.1\n1,0.1,0.1,0.1\n", layer: 5, wantErr: "no row for layer 5 (it covers layers 0..1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab, err := ParseBaseline(strings.NewReader(tc.in), "b.tsv")
			var b Baseline
			if err == nil {
				b, err = tab.Layer(tc.layer)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				if !errors.Is(err, ErrInvalidInput) {
					t.Errorf("error %v is not ErrInvalidInput", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b != tc.want {
				t.Errorf("got %+v, want %+v", b, tc.want)
			}
		})
	}
}

func TestBaselineRescale(t *testing.T) {
	got := Baseline{P: 0.5, R: 0.2, F: 0}.Rescale(PRF{P: 0.75, R: 0.6, F: 0.3})
	want := PRF{P: 0.5, R: 0.5, F: 0.3}
	if math.Abs(got.P-want.P)+math.Abs(got.R-want.R)+math.Abs(got.F-want.F) > 1e-12 {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestParseIDFTable(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    *IDFTable
		wantErr string
	}{
		{name: "golden shape", in: `{"num_docs": 3, "default": 1.3862943611198906, "idf": {"2": 0.0, "258": 0.69}}`,
			want: &IDFTable{NumDocs: 3, Default: 1.3862943611198906, IDF: map[int32]float64{2: 0, 258: 0.69}}},
		{name: "default from num_docs", in: `{"num_docs": 3, "idf": {}}`, want: &IDFTable{NumDocs: 3, Default: math.Log(4), IDF: map[int32]float64{}}},
		{name: "neither", in: `{"idf": {"1": 1}}`, wantErr: "needs \"default\""},
		{name: "bad key", in: `{"default": 1, "idf": {"x": 1}}`, wantErr: `"x" is not a token id`},
		{name: "negative key", in: `{"default": 1, "idf": {"-3": 1}}`, wantErr: "is not a token id"},
		{name: "negative value", in: `{"default": 1, "idf": {"3": -1}}`, wantErr: ">= 0"},
		{name: "unknown field", in: `{"default": 1, "idfs": {}}`, wantErr: "unknown field"},
		{name: "not JSON", in: `LAYER,P`, wantErr: "not an idf table"},
		{name: "trailing data", in: `{"default": 1} {}`, wantErr: "extra data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseIDFTable(strings.NewReader(tc.in), "idf.json")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalidInput) {
					t.Fatalf("error %v, want an input error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.NumDocs != tc.want.NumDocs || got.Default != tc.want.Default || len(got.IDF) != len(tc.want.IDF) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for id, v := range tc.want.IDF {
				if got.Weight(id) != v {
					t.Errorf("idf[%d] = %v, want %v", id, got.Weight(id), v)
				}
			}
			if got.Weight(99999) != tc.want.Default {
				t.Errorf("unseen id weighs %v, want the default %v", got.Weight(99999), tc.want.Default)
			}
		})
	}
}

func TestIDFTableRoundTrip(t *testing.T) {
	c := newDFCounter()
	c.add([]int32{101, 5, 5, 102})
	c.add([]int32{101, 7, 102})
	c.add([]int32{101, 5, 102})
	tab := c.table()
	if w := tab.Weight(101); w != 0 {
		t.Errorf("an id in every document weighs %v, want 0", w)
	}
	if w, want := tab.Weight(5), math.Log(4.0/3.0); math.Abs(w-want) > 1e-15 {
		t.Errorf("idf(5) = %v, want %v (duplicates inside a document count once)", w, want)
	}
	if w, want := tab.Weight(42), math.Log(4); w != want {
		t.Errorf("unseen id weighs %v, want ln(M+1) = %v", w, want)
	}
	data, err := json.Marshal(tab)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseIDFTable(bytes.NewReader(data), "round-trip")
	if err != nil {
		t.Fatal(err)
	}
	if back.NumDocs != tab.NumDocs || back.Default != tab.Default || len(back.IDF) != len(tab.IDF) {
		t.Fatalf("round trip: %+v, want %+v", back, tab)
	}
	for id, v := range tab.IDF {
		if back.IDF[id] != v {
			t.Errorf("round trip idf[%d] = %v, want %v", id, back.IDF[id], v)
		}
	}
}

// FuzzParseIDFTable: any input gives a usable table or an input error.
func FuzzParseIDFTable(f *testing.F) {
	f.Add(`{"num_docs": 68, "default": 4.23410650459726, "idf": {"2": 0.0, "258": 2.624668592163159}}`)
	f.Add(`{"num_docs": 0, "idf": {}}`)
	f.Add(`{"default": 1, "idf": {"2147483648": 1}}`)
	f.Fuzz(func(t *testing.T, in string) {
		tab, err := ParseIDFTable(strings.NewReader(in), "fuzz")
		if err != nil {
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("error %v is not an input error", err)
			}
			return
		}
		if !finiteNonNeg(tab.Default) {
			t.Fatalf("default %v", tab.Default)
		}
		for id, v := range tab.IDF {
			if id < 0 || !finiteNonNeg(v) {
				t.Fatalf("idf[%d] = %v", id, v)
			}
		}
	})
}
