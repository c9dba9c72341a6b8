package shard

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"os"
	"strconv"
	"strings"

	"github.com/bertbench/bertbench/dataset"
)

// Inputs names what a job scores, as bertbench score reads it: Cands and
// Refs are line-aligned text files (line i of every reference file a
// reference of candidate line i), or, with Field, the candidates are that
// field of a JSONL, CSV or TSV file in any order, matched by item id to
// references that are line-aligned text files (items L1, L2, ...) or one
// dataset file with ids; the items come in the references' order.
// Standard input cannot be planned: every shard reads the files again.
type Inputs struct {
	Cands   string
	Refs    []string
	Field   string
	IDField string
}

// item is one item to score: a candidate and its references.
type item struct {
	id   string
	cand string
	refs []string
}

// Check refuses inputs that cannot be planned or read, before any is
// opened.
func (in Inputs) Check() error {
	if in.Cands == "" {
		return inputf(nil, "no candidates: give them with -c FILE")
	}
	if len(in.Refs) == 0 {
		return inputf(nil, "no reference file: give one with -r FILE (repeat for several references)")
	}
	for _, f := range append([]string{in.Cands}, in.Refs...) {
		if f == dataset.Stdin {
			return inputf(nil, "standard input (-) cannot be planned: every shard reads the inputs again; save it to a file")
		}
	}
	if in.Field == "" {
		if in.IDField != "" {
			return inputf(nil, "--id-field is only used with --field")
		}
		if f := dataset.FormatOf(in.Cands); f != dataset.Text {
			what := "holds JSON objects"
			if f != dataset.JSONL {
				what = "is a " + strings.ToUpper(string(f)) + " file"
			}
			return inputf(nil, "%s %s: name the field that holds the candidates with --field (for bertbench translate's results, --field output)", in.Cands, what)
		}
		return nil
	}
	if dataset.FormatOf(in.Cands) == dataset.Text {
		return inputf(nil, "--field needs candidates in JSONL, CSV or TSV (%s is read as text, one candidate a line: drop --field)", in.Cands)
	}
	if in.refsDataset() && len(in.Refs) > 1 {
		return inputf(nil, "give one reference file when it is a dataset (%s): its items hold every reference", strings.Join(in.Refs, ", "))
	}
	return nil
}

// refsDataset reports whether the references are a dataset file (not
// line-aligned text).
func (in Inputs) refsDataset() bool {
	for _, r := range in.Refs {
		if dataset.FormatOf(r) != dataset.Text {
			return true
		}
	}
	return false
}

// datasetErr makes dataset's input errors input errors of this package.
func datasetErr(err error) error {
	if errors.Is(err, dataset.ErrLooksLikeJSONL) {
		return inputf(nil, "%v; name the field with --field (for bertbench translate's results, --field output)", err)
	}
	if errors.Is(err, dataset.ErrInvalidInput) {
		return asInput(err)
	}
	return err
}

// textItems streams the items of line-aligned text inputs.
func (in Inputs) textItems() iter.Seq2[item, error] {
	return func(yield func(item, error) bool) {
		r, err := dataset.OpenParallel(in.Cands, in.Refs, dataset.Options{})
		if err != nil {
			yield(item{}, datasetErr(err))
			return
		}
		defer r.Close()
		for it, err := range r.All() {
			if err != nil {
				yield(item{}, datasetErr(err))
				return
			}
			if !yield(item{id: it.ID, cand: it.Source, refs: it.References}, nil) {
				return
			}
		}
	}
}

// refItems streams the reference side of --field inputs: each item's id,
// line and references (cand left empty), in the references' order.
func (in Inputs) refItems() iter.Seq2[dataset.Item, error] {
	return func(yield func(dataset.Item, error) bool) {
		var (
			r   *dataset.Reader
			err error
		)
		lineAligned := !in.refsDataset()
		switch {
		case !lineAligned:
			r, err = dataset.Open(in.Refs[0], dataset.Options{RequireReferences: true})
		case len(in.Refs) == 1:
			r, err = dataset.Open(in.Refs[0], dataset.Options{Format: dataset.Text})
		default:
			r, err = dataset.OpenParallel(in.Refs[0], in.Refs[1:], dataset.Options{})
		}
		if err != nil {
			yield(dataset.Item{}, datasetErr(err))
			return
		}
		defer r.Close()
		for it, err := range r.All() {
			if err != nil {
				yield(dataset.Item{}, datasetErr(err))
				return
			}
			if lineAligned {
				// The first file's line is a reference too.
				it.References = append([]string{it.Source}, it.References...)
			}
			if !yield(it, nil) {
				return
			}
		}
	}
}

// candidate is one --field candidate.
type candidate struct {
	text   string // kept only when asked for
	digest [sha256.Size]byte
	line   int
	given  bool // its id is the record's own, not derived from a line
}

// readCandidates reads the --field candidates by item id: the record's
// --id-field (default id), else its "line" field (bertbench translate's
// results carry the input's line), else its own line. want, when not nil,
// limits the candidates kept (with their text) to the ids it accepts, and
// then duplicates among the others are not looked for; without it every
// candidate is kept, without its text, and a second candidate for an id
// is an error.
func (in Inputs) readCandidates(want func(id string) bool) (map[string]candidate, error) {
	rd, err := dataset.Open(in.Cands, dataset.Options{Format: dataset.FormatOf(in.Cands), SourceField: in.Field, IDField: in.IDField,
		ReferenceFields: []string{}, Extra: true})
	if err != nil {
		return nil, datasetErr(err)
	}
	defer rd.Close()
	out := map[string]candidate{}
	for it, err := range rd.All() {
		if err != nil {
			return nil, datasetErr(err)
		}
		id := it.ID
		if !it.IDGiven() {
			if l, ok := it.Extra["line"]; ok {
				n, err := strconv.Atoi(strings.TrimSpace(l))
				if err != nil || n < 1 {
					return nil, inputf(nil, "%s:%d: \"line\" is %s, not a line number; fix it, or give the items ids", in.Cands, it.Line, l)
				}
				id = "L" + strconv.Itoa(n)
			}
		}
		if want != nil {
			if want(id) {
				out[id] = candidate{text: it.Source, line: it.Line}
			}
			continue
		}
		if prev, dup := out[id]; dup {
			return nil, inputf(nil, "%s:%d: a second candidate for item %s (the first is on line %d); keep one per item", in.Cands, it.Line, id, prev.line)
		}
		out[id] = candidate{digest: sha256.Sum256([]byte(it.Source)), line: it.Line, given: it.IDGiven()}
	}
	if want == nil && len(out) == 0 {
		return nil, inputf(nil, "%s has no candidates: nothing to score", in.Cands)
	}
	return out, nil
}

// itemDigest is the digest of one item: its id, its candidate's sha256
// and its references, each length-prefixed.
func itemDigest(id string, candDigest [sha256.Size]byte, refs []string) [sha256.Size]byte {
	h := sha256.New()
	put := func(b []byte) {
		h.Write(binary.AppendUvarint(nil, uint64(len(b))))
		h.Write(b)
	}
	put([]byte(id))
	put(candDigest[:])
	h.Write(binary.AppendUvarint(nil, uint64(len(refs))))
	for _, r := range refs {
		put([]byte(r))
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// digestOf is itemDigest of a whole item.
func (it item) digest() [sha256.Size]byte {
	return itemDigest(it.id, sha256.Sum256([]byte(it.cand)), it.refs)
}

// fileDigest is the hex sha256 of a file and its size.
func fileDigest(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, asInput(fmt.Errorf("input: %w", err))
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("reading %s: %w", path, err)
	}
	return hexSum(h), n, nil
}

func hexSum(h hash.Hash) string { return fmt.Sprintf("%x", h.Sum(nil)) }
