package shard

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bertbench/bertbench/internal/outfile"
	"github.com/bertbench/bertbench/scorer"
)

// PlanFormat names the plan file's format; a plan of another format is
// refused.
const PlanFormat = "bertbench-plan/1"

// PlanFile is the plan's file name in its folder.
const PlanFile = "plan.json"

// Plan is a scoring job cut into shards, as plan.json holds it. Paths in
// it are relative to the plan's folder (or absolute), so the folder and
// the inputs can be mounted anywhere that keeps them side by side.
type Plan struct {
	// Format is PlanFormat.
	Format string `json:"format"`
	// Cands and Refs are the input files, Field and IDField how they are
	// read (see Inputs).
	Cands   File   `json:"cands"`
	Refs    []File `json:"refs"`
	Field   string `json:"field,omitempty"`
	IDField string `json:"id_field,omitempty"`
	// Items is the number of items (candidates) the job scores.
	Items int `json:"items"`
	// Scoring is how a shard opens the model and its scorer.
	Scoring Scoring `json:"scoring"`
	// Config is the scorer configuration a shard produces (the one a
	// single `bertbench score` run of the same flags reports), Hash its
	// hash.
	Config scorer.Config `json:"config"`
	Hash   string        `json:"hash"`
	// IDF is the idf table (scorer.IDFTable's JSON) over every reference
	// of the job (or the table given with --idf-file); absent without idf.
	IDF json.RawMessage `json:"idf,omitempty"`
	// Baseline is the rescale baseline; absent without rescaling.
	Baseline *scorer.Baseline `json:"baseline,omitempty"`
	// Shards are the shards, Shards[i] shard i.
	Shards []Shard `json:"shards"`
	// Digest is the hex sha256 of the plan's compact JSON with Digest
	// empty: what shards and markers name the plan by.
	Digest string `json:"digest"`

	path string           // the plan file, absolute
	idf  *scorer.IDFTable // IDF parsed
}

// File is one input file.
type File struct {
	// Path is relative to the plan's folder, or absolute.
	Path string `json:"path"`
	// SHA256 is the file's hex sha256, Bytes its size.
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
	// Items is the number of items (lines, records) read from it.
	Items int `json:"items"`
}

// Scoring says how a shard opens the model: the score flags a plan was
// made with.
type Scoring struct {
	// Model is a pulled model's name, or, with ModelDir, a model folder
	// (relative to the plan's folder, or absolute).
	Model    string `json:"model"`
	ModelDir bool   `json:"model_dir,omitempty"`
	// Lang, Layer, Device and TF32 are score's --lang, --layer, --device
	// and --tf32.
	Lang   string `json:"lang,omitempty"`
	Layer  int    `json:"layer,omitempty"`
	Device string `json:"device"`
	TF32   bool   `json:"tf32,omitempty"`
	// BatchTokens is score's --batch-tokens (it does not change a score).
	// Threads are each machine's own: a shard's --threads, not the plan's.
	BatchTokens int `json:"batch_tokens,omitempty"`
}

// Shard is one shard: items First to First+Count-1 (0-based, in input
// order).
type Shard struct {
	Index int `json:"index"`
	First int `json:"first"`
	Count int `json:"count"`
	// FirstID and LastID are the ids of its first and last items.
	FirstID string `json:"first_id"`
	LastID  string `json:"last_id"`
	// Digest is the hex sha256 of its items' digests, in order (an item's
	// digest covers its id, its candidate and its references).
	Digest string `json:"digest"`
}

// ShardFile is the name of shard i's results file in the plan's folder:
// one JSON object per pair, {"i": item index, "id": item id, "P": p, "R":
// r, "F": f}, in item order.
func ShardFile(i int) string { return fmt.Sprintf("shard-%05d.jsonl", i) }

// PartialFile is how the names start that shard i's results are written
// under until they are complete: each run of the shard writes a file of
// its own, PartialFile(i) followed by its process id and a random tag
// ("shard-00003.jsonl.partial-4711-9f86d081"), so that two runs of one
// shard at once (a requeued Slurm task, a duplicate pod) never write the
// same file; each renames its own over ShardFile, with the same bytes.
func PartialFile(i int) string { return ShardFile(i) + ".partial-" }

// DoneFile is the name of shard i's done marker, written last.
func DoneFile(i int) string { return fmt.Sprintf("shard-%05d.done.json", i) }

// parseShardName reads the shard index from a ShardFile, PartialFile or
// DoneFile name; ok is false for other names.
func parseShardName(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "shard-")
	if !ok || len(rest) < 5 {
		return 0, false
	}
	digits := rest[:strings.IndexFunc(rest+".", func(r rune) bool { return r < '0' || r > '9' })]
	switch suffix := rest[len(digits):]; {
	case suffix == ".jsonl", suffix == ".done.json":
	case strings.HasPrefix(suffix, ".jsonl.partial-") && len(suffix) > len(".jsonl.partial-"):
	default:
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil && len(digits) >= 5
}

// Path is the plan file's absolute path.
func (p *Plan) Path() string { return p.path }

// Dir is the plan's folder, where the shards' files go.
func (p *Plan) Dir() string { return filepath.Dir(p.path) }

// NumShards is the number of shards.
func (p *Plan) NumShards() int { return len(p.Shards) }

// Device is the device the shards run on, as --device takes it ("cpu",
// "cuda", "cuda:1").
func (p *Plan) Device() string { return p.Scoring.Device }

// DeviceKind is "cpu" or "cuda": what a launcher asks the cluster for.
func (p *Plan) DeviceKind() string {
	kind, _, _ := strings.Cut(p.Scoring.Device, ":")
	return kind
}

// ShardPath and DonePath are shard i's files in the plan's folder.
func (p *Plan) ShardPath(i int) string { return filepath.Join(p.Dir(), ShardFile(i)) }
func (p *Plan) DonePath(i int) string  { return filepath.Join(p.Dir(), DoneFile(i)) }

// Partials are shard i's partial files in the plan's folder (PartialFile):
// those of runs under way, and those that killed runs left.
func (p *Plan) Partials(i int) []string {
	// The pattern has no metacharacters but the final one: no error.
	out, _ := filepath.Glob(filepath.Join(p.Dir(), PartialFile(i)+"*"))
	return out
}

// newPartialPath is a partial file's path of shard i for this run.
func (p *Plan) newPartialPath(i int) string {
	var tag [4]byte
	_, _ = rand.Read(tag[:]) // crypto/rand.Read never fails
	return filepath.Join(p.Dir(), fmt.Sprintf("%s%d-%x", PartialFile(i), os.Getpid(), tag))
}

// resolve makes a path stored in the plan usable here.
func (p *Plan) resolve(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(p.Dir(), path)
}

// Inputs are the plan's inputs, with their paths usable here.
func (p *Plan) Inputs() Inputs {
	in := Inputs{Cands: p.resolve(p.Cands.Path), Field: p.Field, IDField: p.IDField}
	for _, r := range p.Refs {
		in.Refs = append(in.Refs, p.resolve(r.Path))
	}
	return in
}

// IDFTable is the plan's idf table, nil without idf.
func (p *Plan) IDFTable() *scorer.IDFTable { return p.idf }

// digest computes the plan's digest.
func (p *Plan) digest() (string, error) {
	c := *p
	c.Digest = ""
	b, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("plan: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// write sets the digest and writes the plan to its path, atomically.
func (p *Plan) write() error {
	d, err := p.digest()
	if err != nil {
		return err
	}
	p.Digest = d
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	return outfile.WriteFile(p.path, append(b, '\n'), 0o644)
}

// Load reads a plan file, checking its format and its digest (an edited
// plan is refused: its shards would not match it).
func Load(path string) (*Plan, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return nil, inputf(ErrBadPlan, "plan: %v (make one with bertbench plan ... --out DIR)", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	p := &Plan{}
	if err := dec.Decode(p); err != nil {
		return nil, inputf(ErrBadPlan, "%s is not a bertbench plan: %v", path, err)
	}
	if p.Format != PlanFormat {
		return nil, inputf(ErrBadPlan, "%s is a plan of format %q; this bertbench reads %q: make the plan again with this bertbench", path, p.Format, PlanFormat)
	}
	p.path = abs
	want, err := p.digest()
	if err != nil {
		return nil, err
	}
	if p.Digest != want {
		return nil, inputf(ErrBadPlan, "%s was edited after it was made (its digest is %.12s, its contents hash to %.12s): make the plan again with bertbench plan", path, p.Digest, want)
	}
	if len(p.IDF) > 0 {
		if p.idf, err = scorer.ParseIDFTable(bytes.NewReader(p.IDF), path+": idf"); err != nil {
			return nil, inputf(ErrBadPlan, "%v", err)
		}
	}
	for i, s := range p.Shards {
		if s.Index != i || s.Count <= 0 {
			return nil, inputf(ErrBadPlan, "%s: shard %d is listed as shard %d with %d items: make the plan again", path, i, s.Index, s.Count)
		}
	}
	return p, nil
}

// ranges cuts n items into contiguous shards: count shards of sizes that
// differ by at most one, or shards of size items (the last one shorter).
func ranges(n, count, size int) [][2]int {
	var out [][2]int
	if size > 0 {
		for lo := 0; lo < n; lo += size {
			out = append(out, [2]int{lo, min(lo+size, n)})
		}
		return out
	}
	for i := range count {
		out = append(out, [2]int{i * n / count, (i + 1) * n / count})
	}
	return out
}
