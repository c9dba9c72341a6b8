package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/bertbench/bertbench/scorer"
)

// writeScores writes res in format (text, json, jsonl or csv).
func writeScores(w io.Writer, format string, res *scorer.Result) error {
	bw := bufio.NewWriter(w)
	var err error
	switch format {
	case "text":
		err = writeText(bw, res)
	case "json":
		err = writeJSON(bw, res)
	case "jsonl":
		err = writeJSONL(bw, res)
	case "csv":
		err = writeCSV(bw, res)
	default:
		err = fmt.Errorf("unknown format %q", format)
	}
	if err != nil {
		return fmt.Errorf("score: writing results: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("score: writing results: %w", err)
	}
	return nil
}

// writeText prints one "P\tR\tF" line per pair and the reference CLI's
// summary line: "<hash> P: p R: r F1: f".
func writeText(w *bufio.Writer, res *scorer.Result) error {
	for _, p := range res.Pairs {
		fmt.Fprintf(w, "%.6f\t%.6f\t%.6f\n", p.P, p.R, p.F)
	}
	_, err := fmt.Fprintf(w, "%s P: %.6f R: %.6f F1: %.6f\n", res.Hash, res.Mean.P, res.Mean.R, res.Mean.F)
	return err
}

// scoresJSON is the --format json document.
type scoresJSON struct {
	Hash  string       `json:"hash"`
	Pairs []scorer.PRF `json:"pairs"`
	Mean  scorer.PRF   `json:"mean"`
}

// writeJSON prints exactly
// {"hash": "...", "pairs": [{"P": p, "R": r, "F": f}, ...], "mean": {"P": p, "R": r, "F": f}}
// on one line; an undefined score is null (scorer.PRF's MarshalJSON).
func writeJSON(w *bufio.Writer, res *scorer.Result) error {
	pairs := res.Pairs
	if pairs == nil {
		pairs = []scorer.PRF{}
	}
	b, err := json.Marshal(scoresJSON{Hash: res.Hash, Pairs: pairs, Mean: res.Mean})
	if err != nil {
		return err
	}
	w.Write(spaced(b))
	return w.WriteByte('\n')
}

// writeJSONL prints one JSON object per pair:
// {"line": n, "P": p, "R": r, "F": f, "hash": "..."} with n 1-based.
func writeJSONL(w *bufio.Writer, res *scorer.Result) error {
	hash, err := json.Marshal(res.Hash)
	if err != nil {
		return err
	}
	for i, p := range res.Pairs {
		prf, err := json.Marshal(p)
		if err != nil {
			return err
		}
		// prf is {"P":..,"R":..,"F":..}; put the line first and the hash last.
		row := fmt.Appendf(nil, `{"line":%d,%s,"hash":%s}`, i+1, prf[1:len(prf)-1], hash)
		w.Write(spaced(row))
		w.WriteByte('\n')
	}
	return nil
}

// spaced returns compact JSON with a space after every colon and comma
// outside strings, the layout bertbench has always printed.
func spaced(compact []byte) []byte {
	out := make([]byte, 0, len(compact)+len(compact)/4)
	inString, escaped := false, false
	for _, c := range compact {
		out = append(out, c)
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && (c == ':' || c == ','):
			out = append(out, ' ')
		}
	}
	return out
}

// writeCSV prints a header "line,P,R,F,hash" and one row per pair.
func writeCSV(w *bufio.Writer, res *scorer.Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"line", "P", "R", "F", "hash"}); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for i, p := range res.Pairs {
		if err := cw.Write([]string{strconv.Itoa(i + 1), f(p.P), f(p.R), f(p.F), res.Hash}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
