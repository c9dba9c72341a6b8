package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/bertbench/bertbench/dataset"
)

// scoreInputs are the -c, -r, --field and --id-field of score.
type scoreInputs struct {
	cands   string
	refs    []string
	field   string // "": the candidates are lines of text
	idField string
	stdin   io.Reader
}

// readScorePairs reads the candidates and their references: lines of
// text side by side, or, with --field, the candidates from a JSONL, CSV
// or TSV file (a results file, in any order) matched to the references by
// item id.
func readScorePairs(in scoreInputs) (cands []string, refs [][]string, err error) {
	if in.field == "" {
		if in.idField != "" {
			return nil, nil, usagef("score: --id-field is only used with --field")
		}
		if f := dataset.FormatOf(in.cands); in.cands != dataset.Stdin && f != dataset.Text {
			what := "holds JSON objects"
			if f != dataset.JSONL {
				what = "is a " + strings.ToUpper(string(f)) + " file"
			}
			return nil, nil, usagef("score: %s %s: name the field that holds the candidates with --field (for bertbench translate's results, --field output)", in.cands, what)
		}
		items, err := dataset.ReadAllParallel(in.cands, in.refs, dataset.Options{Stdin: in.stdin})
		if errors.Is(err, dataset.ErrLooksLikeJSONL) {
			return nil, nil, usagef("score: %v; name the field with --field (for bertbench translate's results, --field output)", err)
		}
		if err != nil {
			return nil, nil, asUsage(fmt.Errorf("score: %w", err))
		}
		cands, refs = make([]string, len(items)), make([][]string, len(items))
		for i, it := range items {
			cands[i], refs[i] = it.Source, it.References
		}
		return cands, refs, nil
	}
	byID, err := readFieldCandidates(in)
	if err != nil {
		return nil, nil, err
	}
	refItems, lineAligned, err := readReferences(in)
	if err != nil {
		return nil, nil, err
	}
	known := make(map[string]bool, len(refItems))
	for _, it := range refItems {
		known[it.ID] = true
	}
	first, extra := "", 0
	for id, c := range byID {
		if !known[id] {
			extra++
			if first == "" || c.line < byID[first].line {
				first = id
			}
		}
	}
	if extra > 0 {
		if lineAligned && anyGivenID(byID) {
			return nil, nil, usagef("score: %s: the candidates have ids of their own (e.g. %q), and the references in %s are line-aligned text (items L1, L2, ...): give the references as the dataset the candidates come from (-r items.jsonl, with the same ids)",
				dataset.DisplayName(in.cands), firstGivenID(byID), dataset.DisplayName(in.refs[0]))
		}
		return nil, nil, usagef("score: %s:%d: candidate for item %s, which the references do not have (%d such candidates); score against the dataset they translate",
			dataset.DisplayName(in.cands), byID[first].line, first, extra)
	}
	for _, it := range refItems {
		c, ok := byID[it.ID]
		if !ok {
			return nil, nil, usagef("score: %s has no candidate for item %s (%s:%d): every reference needs one", dataset.DisplayName(in.cands), it.ID, dataset.DisplayName(in.refs[0]), it.Line)
		}
		cands, refs = append(cands, c.text), append(refs, it.References)
	}
	return cands, refs, nil
}

// candidate is one candidate read with --field.
type candidate struct {
	text  string
	line  int
	given bool // its id is the record's own, not derived from a line
}

// readFieldCandidates reads the --field candidates by item id: the
// record's --id-field (default id), else its "line" field (bertbench
// translate's results carry the input's line), else its own line.
func readFieldCandidates(in scoreInputs) (map[string]candidate, error) {
	format := dataset.FormatOf(in.cands)
	if in.cands == dataset.Stdin {
		format = dataset.JSONL
	}
	if format == dataset.Text {
		return nil, usagef("score: --field needs candidates in JSONL, CSV or TSV (%s is read as text, one candidate a line: drop --field)", in.cands)
	}
	rd, err := dataset.Open(in.cands, dataset.Options{Format: format, SourceField: in.field, IDField: in.idField,
		ReferenceFields: []string{}, Extra: true, Stdin: in.stdin})
	if err != nil {
		return nil, asUsage(fmt.Errorf("score: %w", err))
	}
	defer rd.Close()
	out := map[string]candidate{}
	for it, err := range rd.All() {
		if err != nil {
			return nil, asUsage(fmt.Errorf("score: %w", err))
		}
		id := it.ID
		if !it.IDGiven() {
			if l, ok := it.Extra["line"]; ok {
				n, err := strconv.Atoi(strings.TrimSpace(l))
				if err != nil || n < 1 {
					return nil, usagef("score: %s:%d: \"line\" is %s, not a line number; fix it, or give the items ids", dataset.DisplayName(in.cands), it.Line, l)
				}
				id = "L" + strconv.Itoa(n)
			}
		}
		if prev, dup := out[id]; dup {
			return nil, usagef("score: %s:%d: a second candidate for item %s (the first is on line %d); keep one per item", dataset.DisplayName(in.cands), it.Line, id, prev.line)
		}
		out[id] = candidate{text: it.Source, line: it.Line, given: it.IDGiven()}
	}
	if len(out) == 0 {
		return nil, usagef("score: %s has no candidates: nothing to score", dataset.DisplayName(in.cands))
	}
	return out, nil
}

// readReferences reads the items to score against: line-aligned text
// files (items L1, L2, ...; lineAligned) or one dataset file with ids.
func readReferences(in scoreInputs) (items []dataset.Item, lineAligned bool, err error) {
	isDataset := false
	for _, r := range in.refs {
		if r != dataset.Stdin && dataset.FormatOf(r) != dataset.Text {
			isDataset = true
		}
	}
	if isDataset && len(in.refs) > 1 {
		return nil, false, usagef("score: give one reference file when it is a dataset (%s): its items hold every reference", strings.Join(in.refs, ", "))
	}
	if isDataset {
		items, err = dataset.ReadAll(in.refs[0], dataset.Options{RequireReferences: true})
	} else {
		items, err = readTextReferences(in.refs, in.stdin)
	}
	if err != nil {
		return nil, false, asUsage(fmt.Errorf("score: %w", err))
	}
	if len(items) == 0 {
		return nil, false, usagef("score: %s has no items: nothing to score", dataset.DisplayName(in.refs[0]))
	}
	return items, !isDataset, nil
}

// readTextReferences reads line-aligned reference files as items L1, L2,
// ...: the first file's lines are the items, each file's line i a
// reference of item i.
func readTextReferences(files []string, stdin io.Reader) ([]dataset.Item, error) {
	var (
		items []dataset.Item
		err   error
	)
	if len(files) == 1 {
		items, err = dataset.ReadAll(files[0], dataset.Options{Format: dataset.Text, Stdin: stdin})
	} else {
		items, err = dataset.ReadAllParallel(files[0], files[1:], dataset.Options{Stdin: stdin})
	}
	if err != nil {
		return nil, err
	}
	for i := range items {
		items[i].References = append([]string{items[i].Source}, items[i].References...)
	}
	return items, nil
}

func anyGivenID(cands map[string]candidate) bool { return firstGivenID(cands) != "" }

// firstGivenID is the given id of the candidate on the lowest line.
func firstGivenID(cands map[string]candidate) string {
	best, line := "", 0
	for id, c := range cands {
		if c.given && (best == "" || c.line < line) {
			best, line = id, c.line
		}
	}
	return best
}
