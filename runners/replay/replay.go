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
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"unicode"

	"github.com/bertbench/bertbench/runners"
)

// MaxLineBytes bounds one line of a recording: 16 MiB.
const MaxLineBytes = 16 << 20

// Runner answers requests from a recording. It is safe for concurrent use.
type Runner struct {
	spec, file string
	// index holds, sorted by the hash of the item id, where each item's
	// line is in the file: 24 bytes an item, whatever its output's size,
	// so a run over a large recording holds no outputs in memory. A line
	// is read again (and its id checked) when its item is asked for.
	index []entry
}

// entry locates one recorded line.
type entry struct {
	hash uint64 // of the item id (FNV-1a)
	off  int64  // of the line in the file
	n    int32  // bytes of the line, without its newline
	line int32  // 1-based line number, for messages
}

var _ runners.Runner = (*Runner)(nil)

// Open reads the recording in file once, checking every line, and keeps
// where each item's line is. A file that is missing or malformed gives an
// error, "FILE:LINE: what is wrong, and the fix", matching
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
	r := &Runner{spec: runners.ProviderReplay + ":" + file, file: file}
	if err := r.read(f); err != nil {
		return nil, err
	}
	return r, nil
}

// Spec returns "replay:FILE".
func (r *Runner) Spec() string { return r.spec }

// Len is how many items the recording holds.
func (r *Runner) Len() int { return len(r.index) }

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
	res, ok, err := r.lookup(req.ItemID)
	if err != nil {
		return runners.Failed(r.spec, 0, err)
	}
	if !ok {
		return runners.Failed(r.spec, 0, runners.InvalidInput(fmt.Errorf(
			"%s: no recorded output for item %q (the file holds %d items); record it, or replay a file made from the same dataset", r.file, req.ItemID, len(r.index))))
	}
	if res.Error != "" {
		err := fmt.Errorf("%s: item %q: the recorded call failed: %s", r.file, req.ItemID, res.Error)
		res.Error = err.Error()
		return res, err
	}
	return res, nil
}

// lookup reads the line recorded for id back from the file.
func (r *Runner) lookup(id string) (runners.Result, bool, error) {
	h := hashID(id)
	i, _ := slices.BinarySearchFunc(r.index, h, func(e entry, h uint64) int { return cmp.Compare(e.hash, h) })
	if i == len(r.index) || r.index[i].hash != h {
		return runners.Result{}, false, nil
	}
	f, err := os.Open(r.file)
	if err != nil {
		return runners.Result{}, false, fmt.Errorf("%s: reopening the recording: %w", r.file, err)
	}
	defer f.Close()
	for ; i < len(r.index) && r.index[i].hash == h; i++ {
		e := r.index[i]
		b := make([]byte, e.n)
		if _, err := f.ReadAt(b, e.off); err != nil {
			return runners.Result{}, false, fmt.Errorf("%s: reading line %d again: %w (was the file changed during the run?)", r.file, e.line, err)
		}
		got, res, err := r.parse(b, int(e.line))
		if err != nil {
			return runners.Result{}, false, fmt.Errorf("%s changed during the run: %w", r.file, err)
		}
		if got == id {
			return res, true, nil
		}
	}
	return runners.Result{}, false, nil
}

// hashID is the FNV-1a hash of an item id.
func hashID(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
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

// parse reads one non-blank line (n is its number) into its item id and
// replayed result.
func (r *Runner) parse(b []byte, n int) (string, runners.Result, error) {
	bad := func(format string, args ...any) error {
		return runners.InvalidInput(fmt.Errorf("%s:%d: %s", r.file, n, fmt.Sprintf(format, args...)))
	}
	if b[0] != '{' || !json.Valid(b) {
		return "", runners.Result{}, bad("not a JSON object; each line of a recording is one JSON object with an \"output\" and an \"id\" (or \"line\")")
	}
	var l line
	err := json.Unmarshal(b, &l)
	var te *json.UnmarshalTypeError
	if err == nil && l.Output == nil || errors.As(err, &te) && te.Field == "output" {
		return "", runners.Result{}, bad("no \"output\" string field; each line needs the recorded output, e.g. {\"id\": \"1\", \"output\": \"text\"}")
	}
	if err != nil {
		return "", runners.Result{}, bad("%v; fix the field (its type is that of bertbench translate's output) or drop it", err)
	}
	id, err := idOf(l.ID, l.Line)
	if err != nil {
		return "", runners.Result{}, bad("%v", err)
	}
	res := l.Result
	res.Output = *l.Output
	res.Replayed, res.Cached, res.Attempts = true, false, 0
	res.Runner = r.spec
	return id, res, nil
}

// read checks every line of the recording and indexes it by item id.
func (r *Runner) read(rd io.Reader) error {
	br := bufio.NewReaderSize(rd, 64<<10)
	var off int64
	n := 0
	for {
		raw, err := readLine(br)
		if len(raw) == 0 && err == io.EOF {
			break
		}
		if errors.Is(err, bufio.ErrTooLong) {
			return runners.InvalidInput(fmt.Errorf("%s:%d: line longer than %d MiB", r.file, n+1, MaxLineBytes>>20))
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("%s: reading the recording: %w", r.file, err)
		}
		n++
		start, b := off, raw
		off += int64(len(raw))
		b = bytes.TrimRight(b, "\r\n")
		if n == 1 && bytes.HasPrefix(b, []byte("\ufeff")) {
			b, start = b[3:], start+3
		}
		// The offset must skip exactly what TrimSpace drops.
		lead := len(b) - len(bytes.TrimLeftFunc(b, unicode.IsSpace))
		b, start = bytes.TrimSpace(b), start+int64(lead)
		if len(b) > 0 {
			id, _, perr := r.parse(b, n)
			if perr != nil {
				return perr
			}
			r.index = append(r.index, entry{hash: hashID(id), off: start, n: int32(len(b)), line: int32(n)})
		}
		if err == io.EOF {
			break
		}
	}
	if len(r.index) == 0 {
		return runners.InvalidInput(fmt.Errorf("%s: holds no recorded output; record one with bertbench translate -o FILE", r.file))
	}
	slices.SortFunc(r.index, func(a, b entry) int { return cmp.Or(cmp.Compare(a.hash, b.hash), cmp.Compare(a.line, b.line)) })
	// Items recorded twice: equal hashes, then equal ids (read back).
	for i := 1; i < len(r.index); i++ {
		if r.index[i].hash != r.index[i-1].hash {
			continue
		}
		for j := i - 1; j >= 0 && r.index[j].hash == r.index[i].hash; j-- {
			a, _, errA := r.reread(r.index[j])
			b, _, errB := r.reread(r.index[i])
			if errA != nil || errB != nil {
				return errors.Join(errA, errB)
			}
			if a == b {
				return runners.InvalidInput(fmt.Errorf("%s:%d: item %q is also recorded on line %d; keep one recording per item (one file per run)", r.file, r.index[i].line, a, r.index[j].line))
			}
		}
	}
	return nil
}

// reread reads an indexed line again (duplicate checks at Open).
func (r *Runner) reread(e entry) (string, runners.Result, error) {
	f, err := os.Open(r.file)
	if err != nil {
		return "", runners.Result{}, err
	}
	defer f.Close()
	b := make([]byte, e.n)
	if _, err := f.ReadAt(b, e.off); err != nil {
		return "", runners.Result{}, err
	}
	return r.parse(b, int(e.line))
}

// readLine reads one line with its newline, at most MaxLineBytes.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > MaxLineBytes {
			return nil, bufio.ErrTooLong
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return line, err
	}
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
