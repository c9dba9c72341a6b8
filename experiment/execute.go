package experiment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/bertbench/bertbench/bertscore"
	"github.com/bertbench/bertbench/dataset"
	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/cache"
	"github.com/bertbench/bertbench/runners/pricing"
	"github.com/bertbench/bertbench/store"
)

// Options say how Execute runs an experiment. The zero value runs it into
// the config's output folder, as a new run, without a response cache.
type Options struct {
	// Out is the output folder, instead of the config's (Config.OutputDir).
	Out string
	// Resume continues the latest run in the output folder's store
	// instead of starting a new one: what it stored is kept, no model is
	// called again for an item it has an output for (a failed call is
	// tried again), and nothing is stored twice. The config must be the
	// one the run started with (its Hash).
	Resume bool
	// Cache is the response cache the runners read and write (nil: none).
	// Each repeat of a variation has its own entries
	// (runners.Request.Repeat), so that repeats are real calls.
	Cache *cache.Store
	// Prices lays a price table over the built-in one (nil: the built-in
	// table).
	Prices pricing.Table
	// Models resolves a scoring model given by name (nil: the default
	// model cache, models.DefaultCacheDir).
	Models *models.Cache
	// ORTLib and CUDAProvider are the ONNX Runtime library and the CUDA
	// provider ("": found as bertscore.Options says).
	ORTLib, CUDAProvider string
	// Threads is the scorer's CPU threads (0: every CPU the process may
	// use).
	Threads int
	// ToolVersion is recorded with the run.
	ToolVersion string
	// Progress, when set, is told how far each phase is; it is called
	// from one goroutine at a time.
	Progress func(Progress)
	// Stderr receives notes and warnings (nil: discarded).
	Stderr io.Writer
	// Getenv reads the environment for the runners' keys (nil:
	// os.Getenv).
	Getenv func(string) string
}

// Phase is a stage of Execute.
type Phase string

// The phases, in order.
const (
	PhaseTeacher  Phase = "references"
	PhaseGenerate Phase = "generate"
	PhaseImport   Phase = "import"
	PhaseScore    Phase = "score"
)

// Progress is how far a phase is: Done of Total (Total 0: not known).
type Progress struct {
	Phase       Phase
	Done, Total int
}

// Report is what Execute did and where the results are.
type Report struct {
	// Store is the results store's path; RunID the run's id in it.
	Store, RunID string
	// Resumed: the run was continued, not started.
	Resumed bool
	// Planned is the number of generations the plan asks for; Skipped
	// those a resumed run had stored already; Generated those this
	// session stored (Failed of them with an error).
	Planned, Skipped, Generated, Failed int
	// Scoring is the scoring configuration's hash; Scored counts the
	// scores this session stored, Encoded the distinct (output,
	// references) pairs it encoded for them (identical outputs of several
	// variations are encoded once).
	Scoring         string
	Scored, Encoded int
	// Rescaled: the scores have baseline-rescaled values.
	Rescaled bool
	// Variations sums up each variation, in the plan's order (from the
	// store, so a resumed run's earlier sessions count too).
	Variations []store.VariationSummary
}

// Execute runs the experiment cfg (a config Load or Validate accepted):
// it stores the dataset's items, asks every variation of the plan for
// every item, repeat times, through the runners, storing each output as
// it finishes (so that a process killed at any moment loses no finished
// output), then scores the stored outputs with one encoder session,
// encoding an output that several variations share once, and stores the
// scores as each chunk is matched. It returns what it did even when it
// fails part way.
//
// Runners run concurrently, each within its own concurrency, except
// Ollama runners on one server, which run one after another (two models
// loaded at once on one machine would slow each other and their
// latencies would mean nothing).
//
// An error matching ErrInvalidInput is the input's fault (the config, the
// dataset, a recording, a model folder, a resumed run's changed config);
// ctx's error means the run was interrupted: everything finished is
// stored, and Resume continues it. A runner that stops (a model missing,
// a server gone) leaves the other runners and the scoring to finish and
// is reported as the error.
func Execute(ctx context.Context, cfg *Config, opts Options) (rep *Report, err error) {
	rep = &Report{}
	plan, err := cfg.Plan()
	if err != nil {
		return rep, err
	}
	out := opts.Out
	if out == "" {
		out = cfg.OutputDir()
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return rep, fmt.Errorf("output folder: %w", err)
	}
	x := &executor{cfg: cfg, opts: opts, plan: plan, out: out, rep: rep}
	if x.stderr = opts.Stderr; x.stderr == nil {
		x.stderr = io.Discard
	}
	open := store.Open
	if opts.Resume {
		open = store.OpenExisting // a resume finds a store, never makes one
	}
	st, err := open(ctx, store.PathIn(out))
	if errors.Is(err, store.ErrNoStore) {
		return rep, inputError{fmt.Errorf("nothing to resume: no results store in %s; run without --resume first (or name the output folder the run wrote)", out)}
	}
	if err != nil {
		return rep, err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	rep.Store = st.Path()
	if err := x.open(ctx, st); err != nil {
		return rep, err
	}
	defer func() { err = x.finish(ctx, err) }()

	if cfg.Generate != nil {
		if err := x.teacher(ctx); err != nil {
			return rep, err
		}
	} else {
		x.dataset = cfg.Dataset
	}
	if err := x.putItems(ctx); err != nil {
		return rep, err
	}
	stopped, err := x.generate(ctx)
	if err != nil {
		return rep, err
	}
	if err := x.score(ctx); err != nil {
		return rep, err
	}
	return rep, stopped
}

// executor is one Execute call.
type executor struct {
	cfg    *Config
	opts   Options
	plan   []Run
	out    string
	rep    *Report
	stderr io.Writer
	run    *store.Run
	// dataset is the items' dataset: the config's, or the one its
	// generate block made.
	dataset *Dataset

	progressMu sync.Mutex
	repMu      sync.Mutex // rep's counters, counted by every lane
}

// count updates the report's counters.
func (x *executor) count(fn func(*Report)) {
	x.repMu.Lock()
	defer x.repMu.Unlock()
	fn(x.rep)
}

func (x *executor) progress(p Progress) {
	if x.opts.Progress == nil {
		return
	}
	x.progressMu.Lock()
	defer x.progressMu.Unlock()
	x.opts.Progress(p)
}

// open creates the run, or resumes the latest one.
func (x *executor) open(ctx context.Context, st *store.Store) error {
	hash, err := x.cfg.Hash()
	if err != nil {
		return err
	}
	text, err := x.configText()
	if err != nil {
		return err
	}
	rc := store.RunConfig{Config: text, ConfigHash: hash, ToolVersion: x.opts.ToolVersion, Variations: x.variations()}
	if x.opts.Resume {
		r, err := st.ResumeRun(ctx, "", rc)
		if err != nil {
			if errors.Is(err, store.ErrRunNotFound) || errors.Is(err, store.ErrConfigChanged) {
				return inputError{err}
			}
			return err
		}
		x.run, x.rep.Resumed = r, true
	} else {
		runs, err := st.ListRuns(ctx)
		if err != nil {
			return err
		}
		r, err := st.CreateRun(ctx, rc)
		if err != nil {
			return err
		}
		x.run = r
		if n := len(runs); n > 0 {
			fmt.Fprintf(x.stderr, "bertbench: %s holds %d earlier run(s); this is a new one, %s (--resume continues the latest instead)\n", st.Path(), n, r.ID())
		}
	}
	x.rep.RunID = x.run.ID()
	return nil
}

// configText is the config as the user wrote it: its file, else JSON.
func (x *executor) configText() (string, error) {
	if x.cfg.File != "" {
		b, err := os.ReadFile(x.cfg.File)
		if err != nil {
			return "", fmt.Errorf("reading the config again: %w", err)
		}
		return string(b), nil
	}
	b, err := json.MarshalIndent(x.cfg, "", "  ")
	if err != nil {
		return "", fmt.Errorf("the config as JSON: %w", err)
	}
	return string(b), nil
}

// variations are the plan's combinations as the store records them: one
// per name, with the runner spec as the config writes it (not resolved
// against the folder bertbench runs in, so that a run resumes from
// anywhere).
func (x *executor) variations() []store.Variation {
	specOf := map[string]string{}
	for _, r := range x.cfg.Runners {
		specOf[r.Name] = r.Spec
	}
	lang := x.targetLang()
	var vs []store.Variation
	seen := map[string]bool{}
	for _, r := range x.plan {
		if seen[r.Name] {
			continue
		}
		seen[r.Name] = true
		vs = append(vs, store.Variation{Name: r.Name, Runner: specOf[r.Runner], Prompt: r.Template, System: r.System,
			Mode: r.Mode, Params: r.Params, Repeats: r.Repeats, TargetLang: lang})
	}
	return vs
}

// targetLang is the language outputs are checked against: scoring.lang,
// else the language `to` names.
func (x *executor) targetLang() string {
	if x.cfg.Scoring.Lang != "" {
		return x.cfg.Scoring.Lang
	}
	return LanguageTag(x.cfg.To)
}

// datasetReader reads one of a config's datasets.
type datasetReader struct {
	cfg *Config
	d   *Dataset
}

// withDataset is a reader of d, whose paths are read from the config's
// folder.
func (c *Config) withDataset(d *Dataset) datasetReader { return datasetReader{c, d} }

// options are how the dataset is read: with references (required), or
// without (a generate block's sources).
func (r datasetReader) options(refs bool) dataset.Options {
	d := r.d
	f, _ := dataset.ParseFormat(d.Format) // Validate checked it
	o := dataset.Options{Format: f, IDField: d.IDField, SourceField: d.SourceField, ReferenceFields: d.ReferenceFields,
		RequireReferences: refs, Extra: true}
	if !refs {
		o.ReferenceFields = []string{}
	}
	return o
}

// items streams the dataset's items.
func (r datasetReader) items(refs bool) func(yield func(dataset.Item, error) bool) {
	return func(yield func(dataset.Item, error) bool) {
		d := r.d
		var (
			rd  *dataset.Reader
			err error
		)
		if len(d.ReferenceFiles) > 0 && refs {
			files := make([]string, len(d.ReferenceFiles))
			for i, f := range d.ReferenceFiles {
				files[i] = r.cfg.Path(f)
			}
			rd, err = dataset.OpenParallel(r.cfg.Path(d.File), files, r.options(refs))
		} else {
			rd, err = dataset.Open(r.cfg.Path(d.File), r.options(refs))
		}
		if err != nil {
			yield(dataset.Item{}, datasetError(err))
			return
		}
		defer rd.Close()
		for it, err := range rd.All() {
			if err != nil {
				yield(dataset.Item{}, datasetError(err))
				return
			}
			if !yield(it, nil) {
				return
			}
		}
	}
}

// items streams the experiment's items.
func (x *executor) items() func(yield func(dataset.Item, error) bool) {
	return x.cfg.withDataset(x.dataset).items(true)
}

// putItems stores the dataset's items (again, on a resume: an item that
// changed since is an input error).
func (x *executor) putItems(ctx context.Context) error {
	const chunk = 1000
	var buf []store.Item
	flush := func() error {
		err := x.run.PutItems(ctx, buf)
		buf = buf[:0]
		if errors.Is(err, store.ErrInputChanged) {
			return inputError{err}
		}
		return err
	}
	n := 0
	for it, err := range x.items() {
		if err != nil {
			return err
		}
		buf = append(buf, store.Item{ID: it.ID, Source: it.Source, References: it.References})
		n++
		if len(buf) == chunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(buf) > 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	if n == 0 {
		return Errors{x.cfg.errorf("dataset.file", "%s holds no item; give a dataset with at least one", x.cfg.Path(x.dataset.File))}
	}
	if x.rep.Resumed {
		if err := x.itemsRemoved(ctx, n); err != nil {
			return err
		}
	}
	for _, v := range x.variations() {
		x.rep.Planned += n * v.Repeats
	}
	return nil
}

// itemsRemoved refuses a resumed run whose dataset (of n items, all
// stored now) lacks an item the run stored before: the generations are
// made for the dataset's items, so that item's would be left missing in a
// run that ends done. It is an input error matching store.ErrInputChanged.
func (x *executor) itemsRemoved(ctx context.Context, n int) error {
	stored := 0
	for _, err := range x.run.Items(ctx) {
		if err != nil {
			return err
		}
		stored++
	}
	if stored <= n {
		return nil
	}
	ids := make(map[string]bool, n) // only now: the run cannot go on anyway
	for it, err := range x.items() {
		if err != nil {
			return err
		}
		ids[it.ID] = true
	}
	missing := ""
	for it, err := range x.run.Items(ctx) {
		if err != nil {
			return err
		}
		if !ids[it.ID] {
			missing = it.ID
			break
		}
	}
	return inputError{fmt.Errorf("dataset %s: the run stored %d item(s) this file no longer has (the first: %q), whose outputs would be left missing (%w: items removed): the dataset changed since the run started; start a new run",
		x.cfg.Path(x.dataset.File), stored-n, missing, store.ErrInputChanged)}
}

// finish records how the run ended, and maps err for the caller.
func (x *executor) finish(ctx context.Context, err error) error {
	status := store.StatusDone
	switch {
	case ctx.Err() != nil && err != nil:
		status = store.StatusInterrupted
	case err != nil:
		status = store.StatusFailed
	}
	if ferr := x.run.Finish(ctx, status); ferr != nil && err == nil {
		err = ferr
	}
	sums, serr := x.run.Store().Summaries(context.WithoutCancel(ctx), x.run.ID(), x.rep.Scoring)
	if serr == nil {
		x.rep.Variations = sums
	} else if err == nil {
		err = serr
	}
	return err
}

// inputError marks an error caused by the input (ErrInvalidInput).
type inputError struct{ err error }

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == ErrInvalidInput }

// datasetError makes a dataset's input error one of the experiment's.
func datasetError(err error) error {
	if errors.Is(err, dataset.ErrInvalidInput) {
		return inputError{fmt.Errorf("dataset: %w", err)}
	}
	return fmt.Errorf("dataset: %w", err)
}

// modelError makes a scoring model's input error one of the experiment's.
func modelError(err error) error {
	if bertscore.IsInputError(err) {
		return inputError{fmt.Errorf("scoring: %w", err)}
	}
	return fmt.Errorf("scoring: %w", err)
}

// runnerError makes a runner's input error (a spec, a recording) one of
// the experiment's.
func runnerError(name string, err error) error {
	err = fmt.Errorf("runner %s: %w", name, err)
	if errors.Is(err, runners.ErrInvalidInput) {
		return inputError{err}
	}
	return err
}

// absPath is p made absolute when it can be (for messages).
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
