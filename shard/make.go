package shard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bertbench/bertbench/bertscore"
	"github.com/bertbench/bertbench/modelspec"
	"github.com/bertbench/bertbench/scorer"
)

// MakeOptions say what to plan.
type MakeOptions struct {
	// Inputs are the files to score.
	Inputs Inputs
	// Model is the model, opened on the CPU (planning tokenizes, it does
	// not encode) with Scoring's lang and layer; it gives the Config.
	Model *bertscore.Model
	// Scoring records how shards open the model (Model, ModelDir, Lang,
	// Layer, Device, TF32, BatchTokens); a ModelDir path is stored
	// relative to the plan's folder.
	Scoring Scoring
	// Threads is the planning's tokenizer threads (0: every CPU); shards
	// choose their own.
	Threads int
	// IDF weighs tokens by idf over every reference of the job; IDFTable
	// gives the table instead.
	IDF      bool
	IDFTable *scorer.IDFTable
	// Rescale, Baseline and BaselineTable are bertscore.ScorerOptions'.
	Rescale       bool
	Baseline      *scorer.Baseline
	BaselineTable scorer.BaselineTable
	// Shards is the number of shards, or ShardSize the items in each
	// (exactly one of the two is set).
	Shards, ShardSize int
	// Dir is the folder the plan is written to (made if missing), as
	// PlanFile; the shards' files go there too.
	Dir string
}

// Make reads the inputs, streaming, and writes the plan to
// Dir/plan.json, atomically: the input digests and counts, the shards
// and, with idf, the idf table over every reference.
func Make(ctx context.Context, o MakeOptions) (*Plan, error) {
	in := o.Inputs
	if err := in.Check(); err != nil {
		return nil, err
	}
	if (o.Shards > 0) == (o.ShardSize > 0) || o.Shards < 0 || o.ShardSize < 0 {
		return nil, inputf(nil, "give the number of shards (--shards N) or their size (--shard-size K), one of them")
	}
	if o.Model == nil {
		return nil, inputf(nil, "plan: no model")
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, asInput(fmt.Errorf("plan folder: %w", err))
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	p := &Plan{Format: PlanFormat, Field: in.Field, IDField: in.IDField, Scoring: o.Scoring, path: filepath.Join(dir, PlanFile)}
	if p.Scoring.ModelDir {
		p.Scoring.Model = relTo(dir, p.Scoring.Model)
	}
	if p.Cands, err = fileEntry(dir, in.Cands); err != nil {
		return nil, err
	}
	for _, r := range in.Refs {
		f, err := fileEntry(dir, r)
		if err != nil {
			return nil, err
		}
		p.Refs = append(p.Refs, f)
	}
	base, err := o.Model.Scorer(bertscore.ScorerOptions{IDFTable: o.IDFTable, Rescale: o.Rescale, Baseline: o.Baseline,
		BaselineTable: o.BaselineTable, Lang: o.Scoring.Lang, BatchTokens: o.Scoring.BatchTokens, Threads: o.Threads})
	if err != nil {
		return nil, asModelErr(err)
	}
	if err := checkDevice(base.Config(), o.Scoring); err != nil {
		return nil, err
	}
	sc := &scan{in: in}
	s, table := base, o.IDFTable
	if o.IDF && table == nil {
		table, err = base.IDFSeq(ctx, sc.refs(ctx))
		if sc.err != nil {
			return nil, sc.err
		}
		if err != nil {
			return nil, asModelErr(err)
		}
		if s, err = base.WithRefsIDF(table); err != nil {
			return nil, asModelErr(err)
		}
	} else {
		for range sc.refs(ctx) {
		}
		if sc.err != nil {
			return nil, sc.err
		}
	}
	if err := sc.finish(); err != nil {
		return nil, err
	}
	n := len(sc.ids)
	if n == 0 {
		return nil, inputf(nil, "%s has no items: nothing to score", in.Cands)
	}
	if o.Shards > n {
		return nil, inputf(nil, "--shards %d is more shards than the %d items: use at most %d", o.Shards, n, n)
	}
	p.Items = n
	p.Cands.Items = sc.candItems
	for i := range p.Refs {
		p.Refs[i].Items = n
	}
	for i, r := range ranges(n, o.Shards, o.ShardSize) {
		h := sha256.New()
		for _, d := range sc.digests[r[0]:r[1]] {
			h.Write(d[:])
		}
		p.Shards = append(p.Shards, Shard{Index: i, First: r[0], Count: r[1] - r[0],
			FirstID: sc.ids[r[0]], LastID: sc.ids[r[1]-1], Digest: hex.EncodeToString(h.Sum(nil))})
	}
	p.Config = shardConfig(s.Config(), o.Scoring)
	p.Hash = p.Config.Hash()
	p.Baseline = s.Baseline()
	if table != nil {
		if p.IDF, err = json.Marshal(table); err != nil {
			return nil, fmt.Errorf("plan: idf table: %w", err)
		}
		p.idf = table
	}
	if err := p.write(); err != nil {
		return nil, err
	}
	return p, nil
}

// shardConfig is the Config a shard on s.Device produces, from the
// planning scorer's (which ran on the CPU): the device the encoder names
// and, with TF32, the precision it reports (as onnxrt.NewEncoder does).
func shardConfig(cfg scorer.Config, s Scoring) scorer.Config {
	cfg.Runtime.Device = s.Device
	if s.TF32 {
		cfg.Runtime.Precision += "+tf32"
	}
	return cfg
}

// checkDevice refuses a plan whose shards could never run: a model the
// runtime does not run on the plan's device (int8 on CUDA). cfg is the
// planning scorer's, on the CPU.
func checkDevice(cfg scorer.Config, s Scoring) error {
	kind, _, _ := strings.Cut(s.Device, ":")
	if kind != "cuda" {
		return nil
	}
	if err := modelspec.Precision(cfg.Runtime.Precision).CheckCUDA(); err != nil {
		return inputf(nil, "--device %s: the model %s is %s: %v", s.Device, s.Model, cfg.Runtime.Precision, err)
	}
	return nil
}

// fileEntry describes an input file, its path relative to dir.
func fileEntry(dir, path string) (File, error) {
	sum, size, err := fileDigest(path)
	if err != nil {
		return File{}, err
	}
	return File{Path: relTo(dir, path), SHA256: sum, Bytes: size}, nil
}

// relTo is path relative to dir when it can be, else absolute.
func relTo(dir, path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	if rel, err := filepath.Rel(dir, abs); err == nil {
		return rel
	}
	return abs
}

// asModelErr keeps the model's and the scorer's input errors input errors.
func asModelErr(err error) error {
	if bertscore.IsInputError(err) {
		return asInput(err)
	}
	return err
}

// scan reads every item of the inputs once, for a plan: each item's id
// and digest, checking what score checks.
type scan struct {
	in        Inputs
	ids       []string
	digests   [][sha256.Size]byte
	candItems int
	err       error
	// --field inputs: the candidates not yet matched, and the first
	// reference item without a candidate.
	cands       map[string]candidate
	missing     string
	missingLine int
}

// refs streams every reference of every item while recording the items;
// it stops at the first problem, which it leaves in sc.err.
func (sc *scan) refs(ctx context.Context) func(yield func(string, error) bool) {
	return func(yield func(string, error) bool) {
		add := func(id string, cand [sha256.Size]byte, refs []string) bool {
			sc.ids = append(sc.ids, id)
			sc.digests = append(sc.digests, itemDigest(id, cand, refs))
			for _, r := range refs {
				if !yield(r, nil) {
					return false
				}
			}
			return true
		}
		fail := func(err error) {
			sc.err = err
			yield("", err)
		}
		if sc.in.Field == "" {
			for it, err := range sc.in.textItems() {
				if err == nil {
					err = ctx.Err()
				}
				if err != nil {
					fail(err)
					return
				}
				sc.candItems++
				if !add(it.id, sha256.Sum256([]byte(it.cand)), it.refs) {
					return
				}
			}
			return
		}
		cands, err := sc.in.readCandidates(nil)
		if err != nil {
			fail(err)
			return
		}
		sc.cands, sc.candItems = cands, len(cands)
		for it, err := range sc.in.refItems() {
			if err == nil {
				err = ctx.Err()
			}
			if err != nil {
				fail(err)
				return
			}
			c, ok := sc.cands[it.ID]
			if !ok {
				if sc.missing == "" {
					sc.missing, sc.missingLine = it.ID, it.Line
				}
				continue
			}
			delete(sc.cands, it.ID)
			if !add(it.ID, c.digest, it.References) {
				return
			}
		}
	}
}

// finish reports, for --field inputs, candidates the references do not
// have and reference items without a candidate, as score does.
func (sc *scan) finish() error {
	in := sc.in
	if in.Field == "" {
		return nil
	}
	if len(sc.cands) > 0 {
		first, given := "", ""
		for id, c := range sc.cands {
			if first == "" || c.line < sc.cands[first].line {
				first = id
			}
			if c.given && (given == "" || c.line < sc.cands[given].line) {
				given = id
			}
		}
		if !in.refsDataset() && given != "" {
			return inputf(nil, "%s: the candidates have ids of their own (e.g. %q), and the references in %s are line-aligned text (items L1, L2, ...): give the references as the dataset the candidates come from (-r items.jsonl, with the same ids)",
				in.Cands, given, in.Refs[0])
		}
		return inputf(nil, "%s:%d: candidate for item %s, which the references do not have (%d such candidates); score against the dataset they translate",
			in.Cands, sc.cands[first].line, first, len(sc.cands))
	}
	if sc.missing != "" {
		return inputf(nil, "%s has no candidate for item %s (%s:%d): every reference needs one", in.Cands, sc.missing, in.Refs[0], sc.missingLine)
	}
	return nil
}
