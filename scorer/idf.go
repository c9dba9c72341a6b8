package scorer

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// IDFTable holds inverse document frequencies by token id, as
// idf(id) = ln((NumDocs+1)/(df(id)+1)) over a list of reference sentences;
// ids the table does not list weigh Default (ln(NumDocs+1) when computed).
//
// On disk it is JSON, the same shape as the reference fixtures'
// idf_over_refs_of_plain:
//
//	{"num_docs": 68, "default": 4.2341, "idf": {"101": 0.0, "2769": 1.87}}
//
// "default" may be left out when "num_docs" is given.
type IDFTable struct {
	NumDocs int
	Default float64
	IDF     map[int32]float64
}

// Weight returns the idf of id.
func (t *IDFTable) Weight(id int32) float64 {
	if v, ok := t.IDF[id]; ok {
		return v
	}
	return t.Default
}

type idfJSON struct {
	NumDocs *int               `json:"num_docs"`
	Default *float64           `json:"default"`
	IDF     map[string]float64 `json:"idf"`
}

// MarshalJSON writes the table in its file format.
func (t *IDFTable) MarshalJSON() ([]byte, error) {
	m := make(map[string]float64, len(t.IDF))
	for id, v := range t.IDF {
		m[strconv.FormatInt(int64(id), 10)] = v
	}
	n, d := t.NumDocs, t.Default
	return json.Marshal(idfJSON{NumDocs: &n, Default: &d, IDF: m})
}

// ParseIDFTable reads an idf table (see IDFTable for the format). name is
// used in error messages.
func ParseIDFTable(r io.Reader, name string) (*IDFTable, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var j idfJSON
	if err := dec.Decode(&j); err != nil {
		return nil, asInput(fmt.Errorf("%s: not an idf table: %v (want JSON {\"num_docs\": N, \"default\": d, \"idf\": {\"<token id>\": v, ...}})", name, err))
	}
	if dec.More() {
		return nil, asInput(fmt.Errorf("%s: extra data after the idf table's JSON object", name))
	}
	t := &IDFTable{IDF: make(map[int32]float64, len(j.IDF))}
	if j.NumDocs != nil {
		if *j.NumDocs < 0 {
			return nil, asInput(fmt.Errorf("%s: num_docs %d is negative", name, *j.NumDocs))
		}
		t.NumDocs = *j.NumDocs
	}
	switch {
	case j.Default != nil:
		t.Default = *j.Default
	case j.NumDocs != nil:
		t.Default = math.Log(float64(t.NumDocs) + 1)
	default:
		return nil, asInput(fmt.Errorf("%s: the idf table needs \"default\" (the weight of unlisted ids) or \"num_docs\"", name))
	}
	if !finiteNonNeg(t.Default) {
		return nil, asInput(fmt.Errorf("%s: default idf %v must be a finite number >= 0", name, t.Default))
	}
	for k, v := range j.IDF {
		id, err := strconv.ParseInt(k, 10, 32)
		if err != nil || id < 0 {
			return nil, asInput(fmt.Errorf("%s: idf key %q is not a token id (a non-negative integer)", name, k))
		}
		if !finiteNonNeg(v) {
			return nil, asInput(fmt.Errorf("%s: idf of token %s is %v; want a finite number >= 0", name, k, v))
		}
		t.IDF[int32(id)] = v
	}
	return t, nil
}

// digest is a short hex digest of the table's contents (ids in order).
func (t *IDFTable) digest() string {
	ids := slices.Sorted(maps.Keys(t.IDF))
	var b strings.Builder
	fmt.Fprintf(&b, "%d,%v", t.NumDocs, t.Default)
	for _, id := range ids {
		fmt.Fprintf(&b, ";%d=%v", id, t.IDF[id])
	}
	return digest(b.String())
}

func finiteNonNeg(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0 }

// ReadIDFFile reads an idf table from a file (see ParseIDFTable).
func ReadIDFFile(path string) (*IDFTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, asInput(fmt.Errorf("idf file: %w", err))
	}
	defer f.Close()
	return ParseIDFTable(f, path)
}

// dfCounter counts, per token id, how many documents contain it.
type dfCounter struct {
	docs int
	df   map[int32]int
	seen map[int32]struct{}
}

func newDFCounter() *dfCounter {
	return &dfCounter{df: map[int32]int{}, seen: map[int32]struct{}{}}
}

func (c *dfCounter) add(ids []int32) {
	c.docs++
	clear(c.seen)
	for _, id := range ids {
		if _, dup := c.seen[id]; dup {
			continue
		}
		c.seen[id] = struct{}{}
		c.df[id]++
	}
}

func (c *dfCounter) table() *IDFTable {
	m := float64(c.docs)
	t := &IDFTable{NumDocs: c.docs, Default: math.Log(m + 1), IDF: make(map[int32]float64, len(c.df))}
	for id, n := range c.df {
		t.IDF[id] = math.Log((m + 1) / float64(n+1))
	}
	return t
}
