package experiment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/bertbench/bertbench/bertscore"
	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/onnxrt"
	"github.com/bertbench/bertbench/scorer"
	"github.com/bertbench/bertbench/store"
)

// ModelDir is the folder, in an output folder, that scoring.import builds
// the encoder into.
const ModelDir = "model"

// score scores every stored output the scoring configuration has not
// scored yet.
func (x *executor) score(ctx context.Context) error {
	m, err := x.openModel(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	if m.Resolved().Manifest != nil && m.Resolved().Manifest.Synthetic {
		fmt.Fprintf(x.stderr, "bertbench: warning: the scoring model %s has random weights: its scores show the pipeline working, not translation quality\n", m.Name())
	}
	s := x.cfg.Scoring
	raw, err := m.Scorer(bertscore.ScorerOptions{Threads: x.opts.Threads})
	if err != nil {
		return modelError(err)
	}
	var table *scorer.IDFTable
	if s.IDF {
		refs := func(yield func(string, error) bool) {
			for it, err := range x.run.Items(ctx) {
				if err != nil {
					yield("", err)
					return
				}
				for _, ref := range it.References {
					if !yield(ref, nil) {
						return
					}
				}
			}
		}
		if table, err = raw.IDFSeq(ctx, refs); err != nil {
			return x.scoreError(ctx, err)
		}
		if raw, err = raw.WithIDF(table); err != nil {
			return modelError(err)
		}
	}
	// The stream is scored raw and rescaled here, with the very baseline
	// the rescaling scorer (whose configuration the scores are stored
	// under) would apply: both values from one encoding.
	named := raw
	var base *scorer.Baseline
	if s.Rescale {
		if base, err = x.baseline(m); err != nil {
			return err
		}
		if named, err = m.Scorer(bertscore.ScorerOptions{IDFTable: table, Rescale: true, Baseline: base, Threads: x.opts.Threads}); err != nil {
			return modelError(err)
		}
	}
	conf, err := json.Marshal(named.Config())
	if err != nil {
		return fmt.Errorf("scoring configuration: %w", err)
	}
	hash := named.Hash()
	if err := x.run.AddScoring(ctx, hash, string(conf)); err != nil {
		return err
	}
	x.rep.Scoring, x.rep.Rescaled = hash, s.Rescale

	total, err := x.toScoreCount(ctx, hash)
	if err != nil {
		return err
	}
	x.progress(Progress{Phase: PhaseScore, Total: total})
	d := newDedup(base)
	wctx := context.WithoutCancel(ctx) // a matched chunk is stored even after Ctrl-C
	done := 0
	put := func(scores []store.Score, encoded int) error {
		if len(scores) == 0 && encoded == 0 {
			return nil
		}
		n, err := x.run.PutScores(wctx, hash, scores)
		x.rep.Scored += n
		x.rep.Encoded += encoded
		done += len(scores)
		x.progress(Progress{Phase: PhaseScore, Done: done, Total: total})
		return err
	}
	_, err = raw.Stream(ctx, d.pairs(x.run.ToScoreByItem(ctx, hash)), func(c scorer.Chunk) error {
		return put(d.scored(c), len(c.Pairs))
	})
	if err != nil {
		return x.scoreError(ctx, err)
	}
	return put(d.rest(), 0)
}

// scoreError maps an error of the scoring pass.
func (x *executor) scoreError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted while scoring: %w", ctx.Err())
	}
	return modelError(err)
}

// toScoreCount is how many stored outputs are left to score under hash.
func (x *executor) toScoreCount(ctx context.Context, hash string) (int, error) {
	d, err := x.run.Store().RunDetail(ctx, x.run.ID())
	if err != nil {
		return 0, err
	}
	n := d.Generations - d.Failed
	for _, sc := range d.Scorings {
		if sc.Hash == hash {
			n -= sc.Scores
		}
	}
	return max(n, 0), nil
}

// openModel opens the scoring model: built from scoring.import into the
// output folder (unless a model built from the same checkpoint is there),
// a model folder, or a model by name.
func (x *executor) openModel(ctx context.Context) (*bertscore.Model, error) {
	s := x.cfg.Scoring
	spec := x.cfg.ModelPath()
	if s.Import != "" {
		spec = filepath.Join(x.out, ModelDir)
		if err := x.importModel(ctx, spec); err != nil {
			return nil, err
		}
	}
	dev, err := onnxrt.ParseDevice(s.Device)
	if err != nil {
		return nil, modelError(err)
	}
	layer := 0
	if s.Layer != nil {
		layer = *s.Layer
	}
	m, err := bertscore.Open(ctx, spec, bertscore.Options{
		Cache: x.opts.Models, Lang: s.Lang, Layer: layer,
		ORTLib: x.opts.ORTLib, Device: dev, CUDAProvider: x.opts.CUDAProvider, Threads: x.opts.Threads,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("interrupted while loading the scoring model: %w", ctx.Err())
		}
		return nil, modelError(err)
	}
	return m, nil
}

// importModel builds the encoder from scoring.import into dir, as
// `bertbench models import` does, unless dir holds one built from the
// same checkpoint files at the same layer. It builds into a temporary
// folder beside dir and renames it, so that a killed build leaves no
// half model.
func (x *executor) importModel(ctx context.Context, dir string) error {
	s := x.cfg.Scoring
	ckpt := x.cfg.Path(s.Import)
	if man, err := models.ReadManifest(dir); err == nil && man != nil && man.Layer == *s.Layer && sameCheckpoint(man, ckpt) {
		return nil
	}
	old, _ := filepath.Glob(filepath.Join(x.out, ModelDir+".tmp-*"))
	for _, o := range old {
		_ = os.RemoveAll(o) // left by a killed build
	}
	x.progress(Progress{Phase: PhaseImport})
	tmp, err := os.MkdirTemp(x.out, ModelDir+".tmp-")
	if err != nil {
		return fmt.Errorf("scoring.import: %w", err)
	}
	defer os.RemoveAll(tmp) // gone once renamed
	opts := models.ImportOptions{Layer: *s.Layer, Lang: s.Lang, Producer: "bertbench " + x.opts.ToolVersion}
	if s.Baseline != "" {
		opts.BaselineFile = x.cfg.Path(s.Baseline)
	}
	if _, err := models.Import(ctx, ckpt, tmp, opts); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted while building the scoring model: %w", ctx.Err())
		}
		if errors.Is(err, models.ErrInvalidInput) {
			return inputError{fmt.Errorf("scoring.import: %w", err)}
		}
		return fmt.Errorf("scoring.import: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("scoring.import: replacing %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("scoring.import: %w", err)
	}
	fmt.Fprintf(x.stderr, "bertbench: built the scoring model %s from %s (layer %d)\n", dir, ckpt, *s.Layer)
	return nil
}

// sameCheckpoint reports whether the model man describes was built from
// the checkpoint folder ckpt as it is now: every input file it names
// there, with the same sha256.
func sameCheckpoint(man *models.Manifest, ckpt string) bool {
	if man.Source == nil || len(man.Source.Files) == 0 {
		return false
	}
	for name, sum := range man.Source.Files {
		got, err := sha256File(filepath.Join(ckpt, name))
		if err != nil || !strings.EqualFold(got, sum) {
			return false
		}
	}
	return true
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// baseline is the rescale baseline: the baseline file's row for the
// model's layer, else the model's own for scoring.lang.
func (x *executor) baseline(m *bertscore.Model) (*scorer.Baseline, error) {
	s := x.cfg.Scoring
	if s.Baseline != "" {
		path := x.cfg.Path(s.Baseline)
		t, err := scorer.ReadBaselineFile(path)
		if err != nil {
			return nil, modelError(err)
		}
		if m.Layer() == scorer.LayerUnknown {
			return nil, Errors{x.cfg.errorf("scoring.baseline", "the model %s does not say its layer, to pick the row of %s; add layer: N under scoring", m.Name(), path)}
		}
		b, err := t.Layer(m.Layer())
		if err != nil {
			return nil, modelError(err)
		}
		return &b, nil
	}
	b, _, err := m.Resolved().BaselineFor(s.Lang)
	if err != nil {
		return nil, modelError(err)
	}
	if b == nil {
		return nil, Errors{x.cfg.errorf("scoring.rescale", "the model %s has no rescale baseline%s; give one (baseline: FILE), or drop rescale", m.Name(), forLang(s.Lang))}
	}
	out := scorer.Baseline(*b)
	return &out, nil
}

// dedup hands the scorer each distinct (output, references) pair of an
// item once and gives its score to every generation that has it: the
// variations (and repeats) that produced the same output for the same
// item. It reads the outputs by item, so it holds one item's outputs,
// plus those the scorer has taken and not scored yet (a few chunks).
type dedup struct {
	base *scorer.Baseline

	mu    sync.Mutex
	sent  map[int]*shared // by the index of the pair handed to the scorer
	next  int
	item  string
	group map[string]*shared // the current item's outputs
	late  []store.Score      // generations whose output was scored already
}

// shared is one distinct pair: the generations waiting for its score, or
// its score.
type shared struct {
	keys  []store.Key
	score scorer.PRF
	done  bool
}

func newDedup(base *scorer.Baseline) *dedup {
	return &dedup{base: base, sent: map[int]*shared{}, group: map[string]*shared{}}
}

// pairs reads the outputs to score and yields the distinct pairs.
func (d *dedup) pairs(src func(yield func(store.Pair, error) bool)) func(yield func(scorer.Pair, error) bool) {
	return func(yield func(scorer.Pair, error) bool) {
		for p, err := range src {
			if err != nil {
				yield(scorer.Pair{}, err)
				return
			}
			if len(p.References) == 0 {
				yield(scorer.Pair{}, inputError{fmt.Errorf("item %s has no reference to score against", p.Item)})
				return
			}
			key := p.Candidate + "\x00" + strings.Join(p.References, "\x00")
			d.mu.Lock()
			if p.Item != d.item {
				d.item, d.group = p.Item, map[string]*shared{}
			}
			if sh := d.group[key]; sh != nil {
				if sh.done {
					d.late = append(d.late, d.scoreOf(p.Key, sh.score))
				} else {
					sh.keys = append(sh.keys, p.Key)
				}
				d.mu.Unlock()
				continue
			}
			sh := &shared{keys: []store.Key{p.Key}}
			d.group[key] = sh
			d.sent[d.next] = sh
			d.next++
			d.mu.Unlock()
			if !yield(scorer.Pair{Cand: p.Candidate, Refs: p.References}, nil) {
				return
			}
		}
	}
}

// scored takes a chunk of scores and returns the store's scores for every
// generation they belong to, with those that came late.
func (d *dedup) scored(c scorer.Chunk) []store.Score {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []store.Score
	for i, prf := range c.Pairs {
		sh := d.sent[c.Start+i]
		delete(d.sent, c.Start+i)
		if sh == nil {
			continue
		}
		sh.done, sh.score = true, prf
		for _, k := range sh.keys {
			out = append(out, d.scoreOf(k, prf))
		}
		sh.keys = nil
	}
	out = append(out, d.late...)
	d.late = nil
	return out
}

// rest returns the scores that came late after the last chunk.
func (d *dedup) rest() []store.Score {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.late
	d.late = nil
	return out
}

func (d *dedup) scoreOf(k store.Key, raw scorer.PRF) store.Score {
	sc := store.Score{Key: k, Raw: store.PRF{P: raw.P, R: raw.R, F: raw.F}}
	if d.base != nil {
		r := d.base.Rescale(raw)
		sc.Rescaled = &store.PRF{P: r.P, R: r.R, F: r.F}
	}
	return sc
}
