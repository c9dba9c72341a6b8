// Package bertscore opens a BERTScore model, a model folder or a known
// model's name, into ready scorers: it resolves the folder (package
// models: the cache, the manifest, the known models' layers and
// baselines), loads its tokenizer (package scorer/tokenize) and one
// encoder session on the device asked for (package onnxrt), and makes
// scorers (package scorer) over them. One Model serves any number of
// scorers, with and without idf or rescaling, without loading the model
// again.
//
// # Examples
//
//	m, err := bertscore.Open(ctx, "bert-base-multilingual-cased", bertscore.Options{Device: onnxrt.Device{Kind: onnxrt.CUDA}})
//	if err != nil { ... }
//	defer m.Close()
//	plain, err := m.Scorer(bertscore.ScorerOptions{})
//	rescaled, err := m.Scorer(bertscore.ScorerOptions{IDF: true, Rescale: true, Lang: "de"})
//	res, err := plain.Score(ctx, cands, refs)
package bertscore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bertbench/bertbench/internal/cpus"
	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/modelspec"
	"github.com/bertbench/bertbench/onnxrt"
	"github.com/bertbench/bertbench/scorer"
)

// IsInputError reports whether err was caused by the caller's input (a
// model that does not exist or does not fit, contradictory options, a bad
// file): errors from models and from scorer and onnxrt alike.
func IsInputError(err error) bool {
	return errors.Is(err, scorer.ErrInvalidInput) || errors.Is(err, models.ErrInvalidInput)
}

// Options says how to open a model.
type Options struct {
	// Cache resolves model names (nil: the default cache, see
	// models.DefaultCacheDir). A folder path needs no cache.
	Cache *models.Cache
	// Lang is the target language: it picks the default model when the
	// spec is empty, and the rescale baseline (ScorerOptions.Lang
	// overrides it).
	Lang string
	// Layer is the encoder layer the model outputs, for a folder without
	// a manifest saying so (0: not given; a manifest's layer must agree).
	Layer int

	// ORTLib is the ONNX Runtime library ("" finds it: onnxrt.Find).
	ORTLib string
	// Device is where the encoder runs (the CPU when zero).
	Device onnxrt.Device
	// TF32 lets CUDA use TF32 for float32 products (not exact; see
	// onnxrt.EncoderOptions.TF32).
	TF32 bool
	// Precision, when set, is what the encoder must compute in ("fp32",
	// "fp16", "int8", "fp32+tf32": the model's build precision, with
	// modelspec.TF32Suffix when TF32): a model of another one is an input
	// error, found from its manifest before loading where it has one.
	Precision string
	// CUDAProvider is the CUDA execution provider library ("" finds it:
	// onnxrt.FindCUDAProvider).
	CUDAProvider string
	// Threads is the number of CPU threads for the encoder, and the
	// default for the scorers' tokenizing and matching; 0 means every CPU
	// the process may use, more than cpus.MaxThreads is an input error.
	Threads int
	// Profile, when set, has ONNX Runtime trace the encoder's every node
	// into <Profile>_<date>.json, written when the model is closed
	// (onnxrt.EncoderOptions.Profile).
	Profile string
}

// Model is an opened model: its folder, its tokenizer and one encoder
// session, shared by the scorers it makes. It is safe for concurrent use.
type Model struct {
	resolved *models.Resolved
	layer    int // scorer.LayerUnknown when not known
	lang     string
	threads  int
	tok      scorer.Tokenizer
	enc      *onnxrt.Encoder
	loadTime time.Duration
}

// Open resolves spec, a model folder, a cached model's NAME[@REVISION] or
// "" (the default model for opts.Lang; see models.Cache.Resolve), and
// opens it. Nothing is downloaded: a known model not pulled yet is an
// input error that says how to pull it.
func Open(ctx context.Context, spec string, opts Options) (*Model, error) {
	var (
		r   *models.Resolved
		err error
	)
	if st, serr := os.Stat(spec); spec != "" && serr == nil && st.IsDir() {
		r, err = models.ResolveDir(spec)
	} else {
		cache := opts.Cache
		if cache == nil {
			dir, derr := models.DefaultCacheDir()
			if derr != nil {
				return nil, derr
			}
			cache = models.NewCache(dir)
		}
		r, err = cache.Resolve(ctx, spec, opts.Lang)
	}
	if err != nil {
		return nil, err
	}
	return OpenResolved(ctx, r, opts)
}

// OpenResolved opens a resolved model folder: it checks the layer against
// the manifest, loads the tokenizer and makes the encoder session.
func OpenResolved(ctx context.Context, r *models.Resolved, opts Options) (*Model, error) {
	start := time.Now()
	if r == nil {
		return nil, inputf("bertscore: no model given")
	}
	if opts.Threads < 0 || opts.Layer < 0 {
		return nil, inputf("bertscore: threads and layer must not be negative")
	}
	if limit := cpus.MaxThreads(); opts.Threads > limit {
		return nil, inputf("bertscore: %d threads is more than this process can use (at most %d: %d × the %d CPUs of its affinity mask and cgroup quota)",
			opts.Threads, limit, cpus.ThreadsPerCPU, cpus.Usable())
	}
	// The manifest says the build precision before the model is loaded;
	// the loaded graph says what really runs.
	if mf := r.Manifest; opts.Precision != "" && mf != nil && mf.Precision != "" {
		got := mf.Precision
		if opts.TF32 {
			got += modelspec.TF32Suffix
		}
		if got != opts.Precision {
			return nil, precisionMismatch(r, opts.Precision, got)
		}
	}
	m := &Model{resolved: r, lang: opts.Lang, threads: opts.Threads}
	if err := m.resolveLayer(opts.Layer); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tok, err := scorer.LoadTokenizer(filepath.Join(r.Dir, models.TokenizerFile))
	if err != nil {
		return nil, err
	}
	m.tok = tok
	rt, err := onnxrt.Load(opts.ORTLib)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.enc, err = rt.NewEncoder(filepath.Join(r.Dir, models.ONNXFile), onnxrt.EncoderOptions{
		Device: opts.Device, Threads: opts.Threads, TF32: opts.TF32, CUDAProvider: opts.CUDAProvider,
		Profile: opts.Profile,
	})
	if err != nil {
		if opts.Device.Kind == onnxrt.CUDA && !IsInputError(err) {
			return nil, fmt.Errorf("--device %s: %w", opts.Device, err)
		}
		return nil, err
	}
	if got := m.enc.Info().Precision; opts.Precision != "" && got != opts.Precision {
		m.enc.Close()
		return nil, precisionMismatch(r, opts.Precision, got)
	}
	m.loadTime = time.Since(start)
	return m, nil
}

// precisionMismatch is the input error of a model that computes in got
// when want was asked for.
func precisionMismatch(r *models.Resolved, want, got string) error {
	build, _, _ := strings.Cut(want, "+")
	return inputf("precision %s asked for, but model %s computes in %s: the precision is chosen when the model is built (`bertbench models import|pull|synth --precision %s`)", want, r.Name, got, build)
}

// resolveLayer settles which layer the model outputs: the manifest's, or
// the one given for a folder without a manifest.
func (m *Model) resolveLayer(given int) error {
	m.layer = scorer.LayerUnknown
	if given > 0 {
		m.layer = given
	}
	man := m.resolved.Manifest
	// A manifest written by `models import` always records the checkpoint's
	// total layers; its layer then holds even when it is 0.
	if man != nil && (man.Layer > 0 || man.TotalLayers > 0) {
		if given != 0 && given != man.Layer {
			return inputf("layer %d was asked for, but the model folder %s was cut at layer %d (its %s says so): drop --layer, or build a model cut at layer %d",
				given, m.resolved.Dir, man.Layer, models.ManifestFile, given)
		}
		m.layer = man.Layer
	}
	return nil
}

// ScorerOptions configures one scorer of a Model.
type ScorerOptions struct {
	// IDF weighs tokens by idf over each Score call's references;
	// IDFTable gives the table instead.
	IDF      bool
	IDFTable *scorer.IDFTable
	// Rescale applies a baseline: Baseline if set, else the row of
	// BaselineTable for the model's layer, else the model's baseline for
	// Lang (see models.Resolved.BaselineFor; "" is Options.Lang, then the
	// model's own language).
	Rescale       bool
	Baseline      *scorer.Baseline
	BaselineTable scorer.BaselineTable
	Lang          string
	// BatchTokens, ChunkTokens, Threads, Progress and OnBatch are the
	// scorer's (see scorer.Options); Threads 0 is the Model's.
	BatchTokens, ChunkTokens, Threads int
	Progress                          func(done, total int)
	OnBatch                           func(time.Duration)
}

// Scorer makes a scorer on the model's encoder session and tokenizer. The
// scorer must not be used after the Model is closed.
func (m *Model) Scorer(o ScorerOptions) (*scorer.Scorer, error) {
	b, err := m.baseline(o)
	if err != nil {
		return nil, err
	}
	threads := o.Threads
	if threads == 0 {
		threads = m.threads
	}
	s, err := scorer.New(m.enc, m.tok, scorer.Options{
		Model: m.resolved.Name, Layer: m.layer,
		IDF: o.IDF, IDFTable: o.IDFTable, Baseline: b,
		BatchTokens: o.BatchTokens, ChunkTokens: o.ChunkTokens, Threads: threads, Progress: o.Progress,
		OnBatch: o.OnBatch,
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// baseline picks the rescale baseline for o (nil without rescaling).
func (m *Model) baseline(o ScorerOptions) (*scorer.Baseline, error) {
	if !o.Rescale {
		return nil, nil
	}
	r := m.resolved
	switch {
	case o.Baseline != nil:
		b := *o.Baseline
		return &b, nil
	case o.BaselineTable != nil:
		if m.layer == scorer.LayerUnknown {
			return nil, inputf("rescaling with a baseline file needs the model's layer to pick the row, and %s has no %s saying it: pass --layer N (the number of encoder layers the ONNX model keeps)", r.Dir, models.ManifestFile)
		}
		b, err := o.BaselineTable.Layer(m.layer)
		if err != nil {
			return nil, err
		}
		return &b, nil
	}
	lang := o.Lang
	if lang == "" {
		lang = m.lang
	}
	b, _, err := r.BaselineFor(lang)
	if err != nil {
		return nil, inputError{fmt.Errorf("rescale baseline: %w", err)}
	}
	if b == nil {
		in := ""
		if lang != "" {
			in = " for language " + lang
		}
		return nil, inputf("rescaling needs a baseline, and the model folder %s has none%s in a %s: pass --baseline FILE (LAYER,P,R,F)", r.Dir, in, models.ManifestFile)
	}
	out := scorer.Baseline(*b)
	return &out, nil
}

// Resolved is the model's folder, manifest and name.
func (m *Model) Resolved() *models.Resolved { return m.resolved }

// Name names the model in results.
func (m *Model) Name() string { return m.resolved.Name }

// Layer is the layer the model outputs (scorer.LayerUnknown when not
// known).
func (m *Model) Layer() int { return m.layer }

// Encoder is the model's encoder session, shared by its scorers.
func (m *Model) Encoder() *onnxrt.Encoder { return m.enc }

// Tokenizer is the model's tokenizer, shared by its scorers.
func (m *Model) Tokenizer() scorer.Tokenizer { return m.tok }

// LoadTime is how long Open took: resolving, the tokenizer, the session.
func (m *Model) LoadTime() time.Duration { return m.loadTime }

// Close releases the encoder session, after any run in progress; the
// model's scorers fail afterwards.
func (m *Model) Close() error {
	if m == nil {
		return nil
	}
	return m.enc.Close()
}

// inputf builds an input error (scorer.ErrInvalidInput).
func inputf(format string, args ...any) error {
	return inputError{fmt.Errorf(format, args...)}
}

type inputError struct{ err error }

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == scorer.ErrInvalidInput }
