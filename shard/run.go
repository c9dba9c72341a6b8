package shard

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/bertbench/bertbench/bertscore"
	"github.com/bertbench/bertbench/internal/outfile"
	"github.com/bertbench/bertbench/onnxrt"
	"github.com/bertbench/bertbench/scorer"
)

// DoneFormat names the done marker's format.
const DoneFormat = "bertbench-shard-done/1"

// Done is a shard's done marker (DoneFile): written last, once its
// results file is complete.
type Done struct {
	Format string `json:"format"`
	// Plan is the digest of the plan the shard belongs to.
	Plan string `json:"plan_digest"`
	// Shard is the shard's index, Shards the plan's number of shards.
	Shard  int `json:"shard"`
	Shards int `json:"shards"`
	// First and Count are the shard's items, ItemsDigest their digest (as
	// the plan's Shard has them).
	First       int    `json:"first"`
	Count       int    `json:"count"`
	ItemsDigest string `json:"items_digest"`
	// File is the results file's name (ShardFile), SHA256 its hex sha256
	// and Bytes its size.
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
	// Config and Hash are the configuration the shard was scored with.
	Config scorer.Config `json:"config"`
	Hash   string        `json:"hash"`
	// Stats is the scorer's account of the work.
	Stats scorer.Stats `json:"stats"`
}

// OpenModel opens the model a plan names: spec is a model folder or a
// pulled model's name, opts the plan's lang, layer, device, TF32 and
// threads (the caller adds its runtime library, CUDA provider and model
// cache).
type OpenModel func(ctx context.Context, spec string, opts bertscore.Options) (*bertscore.Model, error)

// RunOptions say how to run a shard.
type RunOptions struct {
	// Open opens the model.
	Open OpenModel
	// Device, when set, runs the shard on another device than the plan's
	// (with TF32 for CUDA); the merge takes its results only if they are
	// the plan's scores (scorer.Config.SameScores).
	Device string
	TF32   bool
	// Threads is the shard's CPU threads (0: every CPU it may use);
	// BatchTokens, when set, replaces the plan's.
	Threads, BatchTokens int
	// Progress, when set, is called with the pairs scored so far and the
	// shard's count.
	Progress func(done, total int)
}

// IndexFromEnv reads the shard index a cluster gives its task:
// JOB_COMPLETION_INDEX (a Kubernetes Indexed Job), else
// SLURM_ARRAY_TASK_ID (a Slurm job array). getenv is os.Getenv, or a
// test's.
func IndexFromEnv(getenv func(string) string) (int, error) {
	found, from := -1, ""
	for _, name := range []string{"JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"} {
		v := getenv(name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, inputf(nil, "--shard-from-env: %s is %q, not a shard index (a whole number from 0)", name, v)
		}
		// Both set and differing: one was inherited (sbatch passes the
		// submitter's environment on), and which is the task's own cannot
		// be told.
		if found >= 0 && n != found {
			return 0, inputf(nil, "--shard-from-env: %s is %d but %s is %d: unset the one this task inherited (sbatch passes the submitting shell's environment on), or give --shard I", from, found, name, n)
		}
		found, from = n, name
	}
	if found >= 0 {
		return found, nil
	}
	return 0, inputf(nil, "--shard-from-env: neither JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's) nor SLURM_ARRAY_TASK_ID (a Slurm job array's) is set: run it as such a task, or give --shard I")
}

// ValidDone returns shard i's done marker when it is valid: of this plan
// and shard, and its results file has the sha256 the marker records. It
// returns nil and no error when there is no marker, and nil and the
// reason when the marker is not valid.
func (p *Plan) ValidDone(i int) (*Done, error) {
	d, err := p.readDone(i)
	if err != nil || d == nil {
		return nil, err
	}
	if err := p.checkDone(i, d); err != nil {
		return nil, err
	}
	sum, _, err := fileDigest(p.ShardPath(i))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading shard %d's results: %w", i, err) // a runtime failure, not bad input
	}
	if err != nil {
		return nil, inputf(ErrForeignShard, "%s has a done marker but no results file %s: rerun bertbench score --plan %s --shard %d", DoneFile(i), p.ShardPath(i), p.Path(), i)
	}
	if sum != d.SHA256 {
		return nil, inputf(ErrForeignShard, "%s does not match its done marker %s (sha256 %.12s, the marker says %.12s): the file changed or is from another run; rerun bertbench score --plan %s --shard %d",
			p.ShardPath(i), DoneFile(i), sum, d.SHA256, p.Path(), i)
	}
	return d, nil
}

// readDone reads shard i's marker; nil when there is none.
func (p *Plan) readDone(i int) (*Done, error) {
	b, err := os.ReadFile(p.DonePath(i))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("shard %d: %w", i, err)
	}
	d := &Done{}
	if err := json.Unmarshal(b, d); err != nil || d.Format != DoneFormat {
		return nil, inputf(ErrForeignShard, "%s is not a bertbench done marker (%v): remove it and rerun bertbench score --plan %s --shard %d", p.DonePath(i), err, p.Path(), i)
	}
	return d, nil
}

// checkDone checks that marker d, found as shard i's, is of this plan and
// shard and of a configuration giving the plan's scores.
func (p *Plan) checkDone(i int, d *Done) error {
	rerun := fmt.Sprintf("bertbench score --plan %s --shard %d", p.Path(), i)
	switch s := p.Shards[i]; {
	case d.Plan != p.Digest:
		return inputf(ErrForeignShard, "%s is a shard of another plan (plan digest %.12s, this plan's is %.12s): rerun %s", p.DonePath(i), d.Plan, p.Digest, rerun)
	case d.Shard != i:
		return inputf(ErrForeignShard, "%s says it is shard %d, a duplicate of that shard's marker: remove it and rerun %s", p.DonePath(i), d.Shard, rerun)
	case d.Shards != len(p.Shards) || d.First != s.First || d.Count != s.Count || d.ItemsDigest != s.Digest:
		return inputf(ErrForeignShard, "%s covers other items than the plan's shard %d (items %d..%d): rerun %s", p.DonePath(i), i, s.First, s.First+s.Count-1, rerun)
	case !p.givesScores(d.Config):
		return inputf(ErrForeignShard, "%s was scored with %s, which does not give the plan's scores (%s): rerun %s with the plan's settings", p.DonePath(i), d.Hash, p.Hash, rerun)
	}
	return nil
}

// givesScores reports whether scores of configuration c are the plan's:
// the same ScoreConfig and arithmetic, to the scorer's parity bound
// (scorer.Config.SameScores).
func (p *Plan) givesScores(c scorer.Config) bool { return c.SameScores(p.Config) }

// Run scores shard i of the plan. It first checks the inputs against the
// plan (a changed input is refused, even for a shard that is done: its
// results are of the old input). A shard with a valid done marker is not
// scored again: Run returns the marker and already set. Otherwise it
// scores the shard's items into its partial file, renames it to ShardFile
// and writes the done marker.
func (p *Plan) Run(ctx context.Context, i int, o RunOptions) (d *Done, already bool, err error) {
	if i < 0 || i >= len(p.Shards) {
		return nil, false, inputf(nil, "shard %d is out of range: the plan %s has %d shards, 0 to %d", i, p.Path(), len(p.Shards), len(p.Shards)-1)
	}
	if err := p.checkInputs(); err != nil {
		return nil, false, err
	}
	d, err = p.ValidDone(i)
	if err == nil && d != nil {
		return d, true, nil
	}
	// An invalid marker goes first, so that it never stands for results
	// being rewritten. (No marker: nothing to remove, and a run of the
	// shard at once may be writing its valid one.)
	if err != nil {
		if err := os.Remove(p.DonePath(i)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, false, fmt.Errorf("shard %d: removing the stale marker: %w", i, err)
		}
	}
	s, err := p.scorer(ctx, o)
	if err != nil {
		return nil, false, err
	}
	defer s.close()
	d, err = p.score(ctx, i, s.scorer, o.Progress)
	if err != nil {
		return nil, false, err
	}
	return d, false, nil
}

// checkInputs refuses inputs whose digest is not the plan's.
func (p *Plan) checkInputs() error {
	for _, f := range append([]File{p.Cands}, p.Refs...) {
		path := p.resolve(f.Path)
		sum, _, err := fileDigest(path)
		if err != nil {
			return err
		}
		if sum != f.SHA256 {
			return inputf(ErrInputChanged, "input %s changed since the plan was made (sha256 %.12s, the plan has %.12s): restore it, or make a new plan", path, sum, f.SHA256)
		}
	}
	return nil
}

// openScorer is a shard's scorer and the model it runs on.
type openScorer struct {
	scorer *scorer.Scorer
	model  *bertscore.Model
}

func (s openScorer) close() { s.model.Close() }

// scorer opens the model and makes the plan's scorer, checking that it
// gives the plan's scores.
func (p *Plan) scorer(ctx context.Context, o RunOptions) (openScorer, error) {
	sc := p.Scoring
	if o.Device != "" {
		sc.Device, sc.TF32 = o.Device, o.TF32
	}
	sc.BatchTokens = cmp.Or(o.BatchTokens, sc.BatchTokens)
	dev, err := onnxrt.ParseDevice(sc.Device)
	if err != nil {
		return openScorer{}, asInput(fmt.Errorf("device: %w", err))
	}
	spec := sc.Model
	if sc.ModelDir {
		spec = p.resolve(spec)
	}
	if o.Open == nil {
		return openScorer{}, errors.New("shard: no model opener")
	}
	m, err := o.Open(ctx, spec, bertscore.Options{Lang: sc.Lang, Layer: sc.Layer, Device: dev, TF32: sc.TF32, Threads: o.Threads})
	if err != nil {
		return openScorer{}, asModelErr(err)
	}
	opts := bertscore.ScorerOptions{Rescale: p.Baseline != nil, Baseline: p.Baseline, BatchTokens: sc.BatchTokens, Threads: o.Threads}
	if p.Config.Score.IDF == scorer.IDFTableGiven {
		opts.IDFTable = p.idf
	}
	s, err := m.Scorer(opts)
	if err == nil && p.Config.Score.IDF == scorer.IDFRefs {
		s, err = s.WithRefsIDF(p.idf)
	}
	if err != nil {
		m.Close()
		return openScorer{}, asModelErr(err)
	}
	if got := s.Config(); !p.givesScores(got) {
		m.Close()
		return openScorer{}, inputf(ErrForeignShard, "the model %s scores as %s here, and the plan %s as %s: it is not the same model and settings (or --device changes the scores); make a new plan, or run with the plan's settings",
			spec, got.Hash(), p.Path(), p.Hash)
	}
	return openScorer{scorer: s, model: m}, nil
}

// score scores shard i with s into its files.
func (p *Plan) score(ctx context.Context, i int, s *scorer.Scorer, progress func(int, int)) (*Done, error) {
	sh := p.Shards[i]
	start := time.Now()
	partial := p.newPartialPath(i)
	f, err := outfile.Stream(partial, 0o644)
	if err != nil {
		return nil, fmt.Errorf("shard %d: %w", i, err)
	}
	defer f.Close()
	renamed := false
	defer func() {
		if !renamed {
			_ = os.Remove(partial) // this run's own: no other writes it
		}
	}()
	release, err := lockPartial(partial)
	if err != nil {
		return nil, fmt.Errorf("shard %d: %w", i, err)
	}
	defer release()
	sum := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, sum), 64<<10)
	var bytesOut int64
	items := sha256.New()
	// The ids of the pairs handed to the scorer and not yet written: the
	// scorer reads pairs on one goroutine and hands scores back on another.
	var (
		mu  sync.Mutex
		ids []string
	)
	count := 0
	pairs := func(yield func(scorer.Pair, error) bool) {
		for it, err := range p.shardItems(i) {
			if err != nil {
				yield(scorer.Pair{}, err)
				return
			}
			d := it.digest()
			items.Write(d[:])
			mu.Lock()
			ids = append(ids, it.id)
			mu.Unlock()
			count++
			if !yield(scorer.Pair{Cand: it.cand, Refs: it.refs}, nil) {
				return
			}
		}
	}
	line := make([]byte, 0, 256)
	written := 0
	res, err := s.Stream(ctx, pairs, func(c scorer.Chunk) error {
		mu.Lock()
		chunkIDs := ids[:len(c.Pairs)]
		ids = ids[len(c.Pairs):]
		mu.Unlock()
		for k, prf := range c.Pairs {
			b, err := prf.MarshalJSON()
			if err != nil {
				return err
			}
			id, err := json.Marshal(chunkIDs[k])
			if err != nil {
				return err
			}
			line = append(line[:0], `{"i":`...)
			line = strconv.AppendInt(line, int64(sh.First+written), 10)
			line = append(line, `,"id":`...)
			line = append(line, id...)
			line = append(line, ',')
			line = append(line, b[1:]...) // "P":..,"R":..,"F":..}
			line = append(line, '\n')
			n, err := w.Write(line)
			bytesOut += int64(n)
			if err != nil {
				return err
			}
			written++
		}
		if progress != nil {
			progress(written, sh.Count)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, scorer.ErrInvalidInput) {
			return nil, asInput(err)
		}
		return nil, err
	}
	if got := hex.EncodeToString(items.Sum(nil)); count != sh.Count || got != sh.Digest {
		return nil, inputf(ErrInputChanged, "shard %d's items are not the plan's (%d items, digest %.12s; the plan has %d, %.12s): an input changed while the shard read it; rerun it", i, count, got, sh.Count, sh.Digest)
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("shard %d: %w", i, err)
	}
	if err := syncFile(f.Path()); err != nil {
		return nil, fmt.Errorf("shard %d: %w", i, err)
	}
	if err := f.Commit(); err != nil {
		return nil, fmt.Errorf("shard %d: %w", i, err)
	}
	// Another run of the shard at once renames the same bytes: the last
	// rename wins, and either is the shard's results.
	if err := os.Rename(f.Path(), p.ShardPath(i)); err != nil {
		return nil, fmt.Errorf("shard %d: %w", i, err)
	}
	renamed = true
	d := &Done{Format: DoneFormat, Plan: p.Digest, Shard: i, Shards: len(p.Shards), First: sh.First, Count: sh.Count, ItemsDigest: sh.Digest,
		File: ShardFile(i), SHA256: hex.EncodeToString(sum.Sum(nil)), Bytes: bytesOut, Config: res.Config, Hash: res.Hash, Stats: res.Stats}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("shard %d: done marker: %w", i, err)
	}
	if err := outfile.WriteFile(p.DonePath(i), append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("shard %d: %w", i, err)
	}
	p.removeAbandoned(i, start)
	return d, nil
}

// removeAbandoned removes the partial files of shard i that killed runs
// left (no run holds their lock), once a run of the shard has succeeded;
// those of runs under way stay. It is housekeeping: a file it cannot
// remove stays, and the next success tries again.
func (p *Plan) removeAbandoned(i int, now time.Time) {
	for _, path := range p.Partials(i) {
		_, _ = removeAbandoned(path, now)
	}
}

// syncFile flushes a written file to the disk before it is renamed.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// shardItems streams shard i's items: the inputs are read from the start
// and the items before the shard passed over; only the shard's own items
// are held (for --field inputs, whose candidates come in any order, the
// shard's ids and references, then their candidates).
func (p *Plan) shardItems(i int) iter.Seq2[item, error] {
	sh := p.Shards[i]
	in := p.Inputs()
	if in.Field == "" {
		return func(yield func(item, error) bool) {
			k := 0
			for it, err := range in.textItems() {
				if err != nil {
					yield(item{}, err)
					return
				}
				if k >= sh.First+sh.Count {
					return
				}
				if k >= sh.First && !yield(it, nil) {
					return
				}
				k++
			}
		}
	}
	return func(yield func(item, error) bool) {
		var mine []item
		k := 0
		for it, err := range in.refItems() {
			if err != nil {
				yield(item{}, err)
				return
			}
			if k >= sh.First+sh.Count {
				break
			}
			if k >= sh.First {
				mine = append(mine, item{id: it.ID, refs: it.References})
			}
			k++
		}
		want := make(map[string]bool, len(mine))
		for _, it := range mine {
			want[it.id] = true
		}
		cands, err := in.readCandidates(func(id string) bool { return want[id] })
		if err != nil {
			yield(item{}, err)
			return
		}
		for _, it := range mine {
			c, ok := cands[it.id]
			if !ok {
				yield(item{}, inputf(ErrInputChanged, "%s has no candidate for item %s: an input changed since the plan", in.Cands, it.id))
				return
			}
			it.cand = c.text
			if !yield(it, nil) {
				return
			}
		}
	}
}

// jsonLine is one line of a shard file.
type jsonLine struct {
	I  int    `json:"i"`
	ID string `json:"id"`
	scorer.PRF
}

// parseLine reads one line of a shard file.
func parseLine(b []byte) (jsonLine, error) {
	var l struct {
		I  *int    `json:"i"`
		ID *string `json:"id"`
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return jsonLine{}, err
	}
	if l.I == nil || l.ID == nil {
		return jsonLine{}, errors.New(`want {"i": N, "id": ID, "P": p, "R": r, "F": f}`)
	}
	var prf scorer.PRF
	if err := prf.UnmarshalJSON(bytes.TrimSpace(b)); err != nil {
		return jsonLine{}, err
	}
	return jsonLine{I: *l.I, ID: *l.ID, PRF: prf}, nil
}
