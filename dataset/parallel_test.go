package dataset

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestParallel: the corpus package's Pairs, as items.
func TestParallel(t *testing.T) {
	dir := t.TempDir()
	c := writeFile(t, dir, "c.txt", "a\n\nc\n")
	r1 := writeFile(t, dir, "r1.txt", "A\nB\nC\n")
	r2 := writeFile(t, dir, "r2.txt", "x\r\ny\r\n\r\n")
	short := writeFile(t, dir, "short.txt", "A\nB\n")
	long := writeFile(t, dir, "long.txt", "1\n2\n3\n4\n5")
	jsonRefs := writeFile(t, dir, "refs.txt", "{\"reference\": \"A\"}\nB\nC\n")

	got, err := ReadAllParallel(c, []string{r1, r2}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{
		{ID: "L1", Line: 1, Source: "a", References: []string{"A", "x"}},
		{ID: "L2", Line: 2, Source: "", References: []string{"B", "y"}},
		{ID: "L3", Line: 3, Source: "c", References: []string{"C", ""}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}

	for _, tc := range []struct {
		name        string
		source      string
		refs        []string
		stdin       string
		kind        error
		want        []string
		count, othe int
	}{
		{"a reference file ends first", c, []string{r1, short}, "", ErrCountMismatch, []string{c + " has 3 lines but " + short + " has 2", "pair up line by line"}, 3, 2},
		{"the source ends first", c, []string{long}, "", ErrCountMismatch, []string{c + " has 3 lines but " + long + " has 5"}, 3, 5},
		{"stdin source ends first", Stdin, []string{r1}, "p\n", ErrCountMismatch, []string{"standard input has 1 lines but " + r1 + " has 3"}, 1, 3},
		{"stdin twice", Stdin, []string{Stdin}, "", ErrNoFile, []string{"standard input (-) can stand for only one"}, 0, 0},
		{"no references", c, nil, "", ErrMissingField, []string{"no reference file"}, 0, 0},
		{"a missing file", filepath.Join(dir, "missing.txt"), []string{r1}, "", ErrNoFile, []string{"missing.txt: cannot open"}, 0, 0},
		{"a missing reference file", c, []string{r1, filepath.Join(dir, "missing.txt")}, "", ErrNoFile, []string{"missing.txt: cannot open"}, 0, 0},
		{"JSON lines in a reference file", c, []string{jsonRefs}, "", ErrLooksLikeJSONL, []string{jsonRefs + ":1: the line is a JSON object"}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadAllParallel(tc.source, tc.refs, Options{Stdin: strings.NewReader(tc.stdin)})
			wantErr(t, err, tc.kind, tc.want...)
			var me *CountMismatchError
			if errors.As(err, &me) && (me.Count != tc.count || me.OtherCount != tc.othe) {
				t.Errorf("counts %d, %d; want %d, %d", me.Count, me.OtherCount, tc.count, tc.othe)
			}
		})
	}

	got, err = ReadAllParallel(Stdin, []string{r1}, Options{Stdin: strings.NewReader("p\nq\nr")})
	if err != nil || len(got) != 3 || got[2].Source != "r" || got[2].References[0] != "C" {
		t.Errorf("stdin source: %+v %v", got, err)
	}
}

// TestParallelStreams: items come before a mismatch found at the end.
func TestParallelStreams(t *testing.T) {
	dir := t.TempDir()
	r, err := OpenParallel(writeFile(t, dir, "c.txt", "a\nb\nc\n"), []string{writeFile(t, dir, "r.txt", "A\n")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if it, err := r.Next(); err != nil || it.Source != "a" {
		t.Fatalf("first item: %+v %v", it, err)
	}
	if _, err := r.Next(); !errors.Is(err, ErrCountMismatch) || !strings.Contains(err.Error(), "has 3 lines but") {
		t.Errorf("second: %v; want the mismatch", err)
	}
}
