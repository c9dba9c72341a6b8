package modelspec_test

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/internal/fixture"
	"github.com/bertbench/bertbench/modelspec"
)

func TestParseBaselines(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[int]modelspec.Baseline
		wantErr string // substring; "" means no error
	}{
		{name: "reference format", in: "LAYER,P,R,F\n0,0.3,0.29,0.298\n3,0.45,0.446,0.448\n",
			want: map[int]modelspec.Baseline{0: {P: 0.3, R: 0.29, F: 0.298}, 3: {P: 0.45, R: 0.446, F: 0.448}}},
		{name: "tabs, CRLF, BOM, blank lines, spaces", in: "\ufeffLAYER\tP\tR\tF\r\n\r\n2\t0.1\t0.2\t 0.3\r\n",
			want: map[int]modelspec.Baseline{2: {P: 0.1, R: 0.2, F: 0.3}}},
		{name: "negative values", in: "layer,P,R,F\n1,-0.5,-1e3,0\n", want: map[int]modelspec.Baseline{1: {P: -0.5, R: -1000, F: 0}}},
		{name: "no header", in: "0,0.3,0.29,0.298\n", wantErr: "b.tsv:1: want the header"},
		{name: "header with other fields", in: "L,P\n0,1,2,3\n", wantErr: "b.tsv:1: want the header"},
		{name: "empty", in: "", wantErr: "no baseline rows"},
		{name: "header only", in: "LAYER,P,R,F\n", wantErr: "no baseline rows"},
		{name: "short row", in: "LAYER,P,R,F\n0,0.3,0.29\n", wantErr: "b.tsv:2: want 4 fields"},
		{name: "not a number", in: "LAYER,P,R,F\n0,x,0.29,0.1\n", wantErr: `b.tsv:2: "x" is not a number`},
		{name: "out of range", in: "LAYER,P,R,F\n0,1e309,0.29,0.1\n", wantErr: `"1e309" is not a number`},
		{name: "b = 1", in: "LAYER,P,R,F\n0,1,0.29,0.1\n", wantErr: "below 1"},
		{name: "NaN", in: "LAYER,P,R,F\n0,NaN,0.29,0.1\n", wantErr: "b.tsv:2: baseline P = NaN: must be a finite number below 1"},
		{name: "-Inf", in: "LAYER,P,R,F\n0,0.1,-Inf,0.1\n", wantErr: "baseline R = -Inf"},
		{name: "duplicate layer", in: "LAYER,P,R,F\n0,0.1,0.1,0.1\n0,0.2,0.2,0.2\n", wantErr: "b.tsv:3: layer 0 appears twice"},
		{name: "negative layer", in: "LAYER,P,R,F\n-1,0.1,0.1,0.1\n", wantErr: "non-negative"},
		{name: "fractional layer", in: "LAYER,P,R,F\n1.5,0.1,0.1,0.1\n", wantErr: "non-negative integer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := modelspec.ParseBaselines(strings.NewReader(tc.in), "b.tsv")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(tc.want) {
				t.Fatalf("rows %v, want %v", rows, tc.want)
			}
			for l, w := range tc.want {
				if rows[l] != w {
					t.Errorf("layer %d: %+v, want %+v", l, rows[l], w)
				}
			}
		})
	}
}

// TestParseBaselinesFixtures reads the fixtures' baseline files, written
// by the reference's tooling.
func TestParseBaselinesFixtures(t *testing.T) {
	for _, name := range fixture.Names() {
		path := fixture.Path(t, name, "baseline.tsv")
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := modelspec.ParseBaselines(f, path)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		g := fixture.ReadGolden(t, name)
		if _, ok := rows[g.Meta.NumLayers]; !ok {
			t.Errorf("%s: no row for the fixture's layer %d: %v", path, g.Meta.NumLayers, rows)
		}
	}
	f, err := os.Open(fixture.Path(t, "tiny-mbert", "baseline.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := modelspec.ParseBaselines(f, "baseline.tsv")
	if err != nil || len(rows) != 5 || rows[3].P != 0.45 {
		t.Errorf("tiny-mbert baseline: %v %v", rows, err)
	}
}

// FuzzParseBaselines: any input gives rows that all are valid, or an
// error; never a panic.
func FuzzParseBaselines(f *testing.F) {
	f.Add("LAYER,P,R,F\n0,0.3,0.296,0.298\n1,0.35,0.346,0.348\n")
	f.Add("LAYER\tP\tR\tF\r\n3\t0.1\t0.2\t0.3")
	f.Add("LAYER,P,R,F\n0,1e309,0,0\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := modelspec.ParseBaselines(strings.NewReader(in), "fuzz")
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		if len(rows) == 0 {
			t.Fatal("no error and no rows")
		}
		for l, b := range rows {
			if l < 0 || b.Validate() != nil || math.IsNaN(b.P) {
				t.Fatalf("invalid row %d: %+v", l, b)
			}
		}
	})
}
