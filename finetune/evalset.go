package finetune

import (
	"iter"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/bertbench/bertbench/dataset"
)

// Normalize is a source text as overlap with the evaluation set compares
// it: NFKC-normalised (full-width letters and digits become ASCII, ligatures
// split, compatibility forms unified), case-folded (Unicode full case
// folding: "Straße" and "STRASSE" are one), NFKC again (folding can undo
// it), every run of white space (Unicode's, including the ideographic
// space) one ASCII space, with white space and punctuation (Unicode
// category P: ".", "。", "!", quotes, brackets) trimmed from both ends.
// Punctuation inside the text stays: "Let's eat, Grandma" is not "Lets eat
// Grandma". A text of nothing but punctuation keeps it (trimming would make
// "..." and "?!" one source).
func Normalize(s string) string {
	s = norm.NFKC.String(s)
	s = cases.Fold().String(s)
	s = norm.NFKC.String(s)
	s = strings.Join(strings.Fields(s), " ")
	if t := strings.TrimFunc(s, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) }); t != "" {
		return t
	}
	return s
}

// EvalSet is the evaluation items training data must not overlap: their
// given ids and their normalised sources. Its memory is about the size of
// those ids and sources. The zero value is not usable; a nil *EvalSet
// matches nothing.
type EvalSet struct {
	ids     map[string]struct{}
	sources map[string]struct{}
}

// NewEvalSet returns an empty set.
func NewEvalSet() *EvalSet {
	return &EvalSet{ids: make(map[string]struct{}), sources: make(map[string]struct{})}
}

// Add adds an evaluation item: its id when its record gives one
// (dataset.Item.IDGiven; a line's id is a position, not an identity), and
// its normalised source unless empty.
func (s *EvalSet) Add(it dataset.Item) {
	if it.IDGiven() {
		s.ids[it.ID] = struct{}{}
	}
	if src := Normalize(it.Source); src != "" {
		s.sources[src] = struct{}{}
	}
}

// AddAll adds every item of a sequence (dataset.Reader.All), stopping at
// the first error, which it returns.
func (s *EvalSet) AddAll(items iter.Seq2[dataset.Item, error]) error {
	for it, err := range items {
		if err != nil {
			return err
		}
		s.Add(it)
	}
	return nil
}

// Len is the number of distinct ids and of distinct normalised sources.
func (s *EvalSet) Len() (ids, sources int) {
	if s == nil {
		return 0, 0
	}
	return len(s.ids), len(s.sources)
}

// Match reports whether it overlaps the set, and how: OverlapID when its
// given id is an evaluation id, else OverlapSource when its normalised
// source is an evaluation source.
func (s *EvalSet) Match(it dataset.Item) (Reason, bool) {
	if s == nil {
		return "", false
	}
	if it.IDGiven() {
		if _, ok := s.ids[it.ID]; ok {
			return OverlapID, true
		}
	}
	if src := Normalize(it.Source); src != "" {
		if _, ok := s.sources[src]; ok {
			return OverlapSource, true
		}
	}
	return "", false
}
