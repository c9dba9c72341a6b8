package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
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

// num formats v as a JSON number (shortest form that reads back exactly);
// an undefined score (NaN, see scorer.Match) is null.
func num(v float64) (string, error) {
	if math.IsNaN(v) {
		return "null", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func prfJSON(p scorer.PRF) (string, error) {
	var s [3]string
	for i, v := range [3]float64{p.P, p.R, p.F} {
		var err error
		if s[i], err = num(v); err != nil {
			return "", err
		}
	}
	return `{"P": ` + s[0] + `, "R": ` + s[1] + `, "F": ` + s[2] + `}`, nil
}

// writeJSON prints exactly
// {"hash": "...", "pairs": [{"P": p, "R": r, "F": f}, ...], "mean": {"P": p, "R": r, "F": f}}.
func writeJSON(w *bufio.Writer, res *scorer.Result) error {
	hash, err := json.Marshal(res.Hash)
	if err != nil {
		return err
	}
	w.WriteString(`{"hash": `)
	w.Write(hash)
	w.WriteString(`, "pairs": [`)
	for i, p := range res.Pairs {
		if i > 0 {
			w.WriteString(", ")
		}
		s, err := prfJSON(p)
		if err != nil {
			return err
		}
		w.WriteString(s)
	}
	mean, err := prfJSON(res.Mean)
	if err != nil {
		return err
	}
	_, err = w.WriteString(`], "mean": ` + mean + "}\n")
	return err
}

// writeJSONL prints one JSON object per pair:
// {"line": n, "P": p, "R": r, "F": f, "hash": "..."} with n 1-based.
func writeJSONL(w *bufio.Writer, res *scorer.Result) error {
	hash, err := json.Marshal(res.Hash)
	if err != nil {
		return err
	}
	for i, p := range res.Pairs {
		s, err := prfJSON(p)
		if err != nil {
			return err
		}
		// s is {"P": .., "R": .., "F": ..}; put the line first and the hash last.
		fmt.Fprintf(w, `{"line": %d, %s, "hash": %s}`+"\n", i+1, s[1:len(s)-1], hash)
	}
	return nil
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
