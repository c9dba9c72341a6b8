// Package replay is a runner that calls no model: it answers each request
// with the output recorded for the request's item (runners.Request.ItemID)
// in a JSONL file, so that a study can be scored and reported again
// offline, from the generations of an earlier run. Its spec is
// "replay:FILE".
//
// # The recording
//
// One JSON object per line; blank lines are skipped. Either the lines that
// `bertbench translate -o FILE` writes, or a simple {"id": ..., "output":
// "..."} per item. Each line needs an "output" string and names its item
// by "id" (a string, or a number taken as written, as package dataset
// reads ids), or else by "line", the item's 1-based line in its input,
// which gives the id "L<line>" (the id dataset gives an item without
// one). Every other field of runners.Result that the line has is kept:
// model, tokens, latency, cost, done reason, and a recorded error. An item
// recorded twice is an error. The whole file is read by Open and held in
// memory (the outputs and their records, about the file's size).
//
// # What a replayed result says
//
// A replayed Result has Replayed set and Cached unset, Attempts 0 (no call
// was made), Runner the replay spec, and the recording's model, tokens,
// latency and cost: those describe the call that was recorded, in another
// run, not a measurement of this one, which is why runners.Tally counts
// replayed results apart and keeps them out of its latency figures. A
// recorded failure is replayed as that failure. A request whose item the
// file lacks, or that names no item, fails with an error that matches
// runners.ErrInvalidInput and names the item and the file; the retry layer
// does not retry it.
//
// # Examples
//
//	r, err := replay.Open("runs/llama2.jsonl")
//	if err != nil {
//		return err
//	}
//	res, err := r.Run(ctx, runners.Request{Prompt: text, ItemID: item.ID})
package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"

	"github.com/bertbench/bertbench/runners"
)

// MaxLineBytes bounds one line of a recording: 16 MiB.
const MaxLineBytes = 16 << 20

// Runner answers requests from a recording. It is safe for concurrent use.
type Runner struct {
	spec, file string
	recs       map[string]runners.Result
}

var _ runners.Runner = (*Runner)(nil)

// Open reads the recording in file. A file that is missing or malformed
// gives an error, "FILE:LINE: what is wrong, and the fix", matching
// runners.ErrInvalidInput; a read failing half way is not an input error.
func Open(file string) (*Runner, error) {
	f, err := os.Open(file)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, runners.InvalidInput(fmt.Errorf("%s: cannot open the recording: %v; check the path in replay:FILE", file, err))
	}
	defer f.Close()
	recs, err := read(f, file)
	if err != nil {
		return nil, err
	}
	return &Runner{spec: runners.ProviderReplay + ":" + file, file: file, recs: recs}, nil
}

// Spec returns "replay:FILE".
func (r *Runner) Spec() string { return r.spec }

// Len is how many items the recording holds.
func (r *Runner) Len() int { return len(r.recs) }

// Run returns the output recorded for req.ItemID (see the package
// documentation); the prompt is not looked at.
func (r *Runner) Run(ctx context.Context, req runners.Request) (runners.Result, error) {
	if err := ctx.Err(); err != nil {
		return runners.Failed(r.spec, 0, fmt.Errorf("%s: %w", r.spec, err))
	}
	if req.ItemID == "" {
		return runners.Failed(r.spec, 0, runners.InvalidInput(fmt.Errorf(
			"%s: the request carries no item id, and a recording is read by item id (the caller must set runners.Request.ItemID)", r.spec)))
	}
	res, ok := r.recs[req.ItemID]
	if !ok {
		return runners.Failed(r.spec, 0, runners.InvalidInput(fmt.Errorf(
			"%s: no recorded output for item %q (the file holds %d items); record it, or replay a file made from the same dataset", r.file, req.ItemID, len(r.recs))))
	}
	if res.Error != "" {
		err := fmt.Errorf("%s: item %q: the recorded call failed: %s", r.file, req.ItemID, res.Error)
		res.Error = err.Error()
		return res, err
	}
	return res, nil
}

// line is one line of a recording: translate's output line (its line, id
// and result fields) or a simple {id, output}.
type line struct {
	Line int             `json:"line"`
	ID   json.RawMessage `json:"id"`
	// Output shadows the Result's, so that a missing one can be told.
	Output *string `json:"output"`
	runners.Result
}

// read reads every record of a recording, keyed by item id.
func read(rd io.Reader, name string) (map[string]runners.Result, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	recs := make(map[string]runners.Result)
	lineOf := make(map[string]int)
	n := 0
	bad := func(format string, args ...any) error {
		return runners.InvalidInput(fmt.Errorf("%s:%d: %s", name, n, fmt.Sprintf(format, args...)))
	}
	for sc.Scan() {
		n++
		b := sc.Bytes()
		if n == 1 {
			b = bytes.TrimPrefix(b, []byte("\ufeff"))
		}
		if b = bytes.TrimSpace(b); len(b) == 0 {
			continue
		}
		if b[0] != '{' || !json.Valid(b) {
			return nil, bad("not a JSON object; each line of a recording is one JSON object with an \"output\" and an \"id\" (or \"line\")")
		}
		var l line
		err := json.Unmarshal(b, &l)
		var te *json.UnmarshalTypeError
		if err == nil && l.Output == nil || errors.As(err, &te) && te.Field == "output" {
			return nil, bad("no \"output\" string field; each line needs the recorded output, e.g. {\"id\": \"1\", \"output\": \"text\"}")
		}
		if err != nil {
			return nil, bad("%v; fix the field (its type is that of bertbench translate's output) or drop it", err)
		}
		id, err := idOf(l.ID, l.Line)
		if err != nil {
			return nil, bad("%v", err)
		}
		if prev, ok := lineOf[id]; ok {
			return nil, bad("item %q is also recorded on line %d; keep one recording per item (one file per run)", id, prev)
		}
		lineOf[id] = n
		res := l.Result
		res.Output = *l.Output
		res.Replayed, res.Cached, res.Attempts = true, false, 0
		res.Runner = runners.ProviderReplay + ":" + name
		recs[id] = res
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			n++
			return nil, bad("line longer than %d MiB", MaxLineBytes>>20)
		}
		return nil, fmt.Errorf("%s: reading the recording: %w", name, err)
	}
	if len(recs) == 0 {
		return nil, runners.InvalidInput(fmt.Errorf("%s: holds no recorded output; record one with bertbench translate -o FILE", name))
	}
	return recs, nil
}

// idOf is a line's item id: its "id" (a string, or a number as written),
// else "L<line>".
func idOf(raw json.RawMessage, line int) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		if line < 1 {
			return "", errors.New(`neither "id" nor "line": each line needs its item's id, or the line of its input (as bertbench translate writes)`)
		}
		return "L" + strconv.Itoa(line), nil
	}
	var id string
	switch {
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &id); err != nil {
			return "", fmt.Errorf(`"id": %v`, err)
		}
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		id = string(raw) // a number, exactly as written
	default:
		return "", fmt.Errorf(`"id" must be a string or a number, not %s`, raw)
	}
	if id == "" {
		return "", errors.New(`"id" is empty; give every item an id`)
	}
	return id, nil
}
