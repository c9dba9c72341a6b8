package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bertbench/bertbench/bertscore"
	"github.com/bertbench/bertbench/internal/cpus"
	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/onnxrt"
)

// ErrInvalidInput marks errors caused by the caller's options.
var ErrInvalidInput = errors.New("invalid input")

// Options says what to benchmark.
type Options struct {
	// Model is the model folder to open (once; its load is Result.Load).
	Model *models.Resolved
	// Open are the model's options: device, precision (TF32), threads.
	Open bertscore.Options
	// Precision, when set, is the precision the encoder must compute in
	// ("fp32", "fp16", "int8", "fp32+tf32"): the model's own (chosen when
	// it was built), with "+tf32" when Open.TF32. A model of another
	// precision is refused (ErrInvalidInput) before anything is scored.
	Precision string
	// Scorer are the scorer's options (batch budget, threads); its
	// OnBatch and Progress are the benchmark's own.
	Scorer bertscore.ScorerOptions
	// Cands and Refs are the pairs scored by every run (see Synthetic).
	Cands []string
	Refs  [][]string
	// Warmup runs are scored first and not measured; then Runs (at least
	// one) are.
	Warmup, Runs int
	// Progress, when set, is called with the pairs scored so far over all
	// the runs, warm-up included, and their total.
	Progress func(done, total int)
	// Peak, when set, measures the CPU's practical peak first, in the
	// same process (Runtime and Threads are filled in from Open; an empty
	// Precision is the model's: int8 for an int8 model, else fp32), so
	// that the encoder's rate reads as a fraction of it; the theoretical
	// peak is read then too.
	Peak *PeakOptions
	// Profile, when set, has ONNX Runtime trace every node's run
	// (warm-up included) into <Profile>_<date>.json, summed by operator
	// type into Result.Profile.
	Profile string
}

// RunStats is one measured scoring of the pairs.
type RunStats struct {
	// Total is the Score call's wall time; Tokenize, Encode and Match its
	// stages' (scorer.Stats: tokenizing overlaps encoding, so they may
	// add up to more than Total).
	Total, Tokenize, Encode, Match time.Duration
	// Sentences and Tokens are the distinct sentences the encoder ran and
	// their tokens; PaddedTokens its input, padding included; Batches its
	// runs.
	Sentences, Tokens, PaddedTokens, Batches int
}

// Result is a benchmark's outcome.
type Result struct {
	// Model names the model; Device and Precision are what the encoder
	// really ran on and in ("cpu", "cuda:0"; "fp32", "fp32+tf32").
	Model, Device, Precision string
	// Pairs is the number of pairs each run scored.
	Pairs int
	// Warmup is the number of unmeasured runs; Runs the measured ones.
	Warmup int
	Runs   []RunStats
	// Load is how long opening the model took.
	Load time.Duration
	// Batches holds every measured encoder run's wall time, sorted.
	Batches []time.Duration
	// PeakRSSBytes is the process's peak resident set size after the runs
	// (0 when not known): the model, the runtime and the scoring.
	PeakRSSBytes int64
	// Shape is the encoder's, for its FLOP count (zero when the folder
	// has no readable config.json).
	Shape EncoderShape
	// Peak is the practical peak measured first (nil without
	// Options.Peak); CPU the theoretical one (zero when not read).
	Peak *Peak
	// Profile is where the encoder's time went, by operator (with
	// Options.Profile).
	Profile *Profile
	CPU     CPUPeak
}

// FLOPsPerToken is the encoder's arithmetic per token at the runs' mean
// sentence length (EncoderShape.FLOPsPerToken; 0 when not known).
func (r *Result) FLOPsPerToken() float64 {
	s := r.Sum()
	if !r.Shape.Known() || s.Sentences == 0 {
		return 0
	}
	return r.Shape.FLOPsPerToken(float64(s.Tokens) / float64(s.Sentences))
}

// EncoderGFLOPS is the encoder's useful arithmetic rate: the tokens
// encoded (padding not counted) times FLOPsPerToken, over the time spent
// encoding, in GFLOP/s.
func (r *Result) EncoderGFLOPS() float64 {
	s := r.Sum()
	return perSecond(s.Tokens, s.Encode) * r.FLOPsPerToken() / 1e9
}

// FractionOfPeak is EncoderGFLOPS over the measured practical peak (0
// without one).
func (r *Result) FractionOfPeak() float64 {
	if r.Peak == nil || r.Peak.GOPS() == 0 {
		return 0
	}
	return r.EncoderGFLOPS() / r.Peak.GOPS()
}

// Sum adds up the measured runs.
func (r *Result) Sum() RunStats {
	var s RunStats
	for _, x := range r.Runs {
		s.Total += x.Total
		s.Tokenize += x.Tokenize
		s.Encode += x.Encode
		s.Match += x.Match
		s.Sentences += x.Sentences
		s.Tokens += x.Tokens
		s.PaddedTokens += x.PaddedTokens
		s.Batches += x.Batches
	}
	return s
}

// PairsPerSecond is the pairs scored per second of scoring, over the
// measured runs.
func (r *Result) PairsPerSecond() float64 {
	return perSecond(r.Pairs*len(r.Runs), r.Sum().Total)
}

// TokensPerSecond is the tokens encoded per second of scoring.
func (r *Result) TokensPerSecond() float64 {
	s := r.Sum()
	return perSecond(s.Tokens, s.Total)
}

// PaddingEfficiency is the share of the encoder's input that is real
// tokens: Tokens / PaddedTokens (0 with no batches).
func (r *Result) PaddingEfficiency() float64 {
	s := r.Sum()
	if s.PaddedTokens == 0 {
		return 0
	}
	return float64(s.Tokens) / float64(s.PaddedTokens)
}

// BatchPercentile is the q-th quantile (0..1, nearest rank) of the
// measured encoder runs' wall times (0 with none).
func (r *Result) BatchPercentile(q float64) time.Duration {
	return Percentile(r.Batches, q)
}

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Run opens the model, scores the pairs Warmup + Runs times and
// measures the Runs.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Model == nil {
		return nil, fmt.Errorf("bench: no model: %w", ErrInvalidInput)
	}
	if len(o.Cands) == 0 || len(o.Cands) != len(o.Refs) {
		return nil, fmt.Errorf("bench: %d candidates and %d reference lists (want as many, at least one): %w", len(o.Cands), len(o.Refs), ErrInvalidInput)
	}
	if o.Runs < 1 || o.Warmup < 0 {
		return nil, fmt.Errorf("bench: %d runs after %d warm-up runs (want at least 1, and warm-up not negative): %w", o.Runs, o.Warmup, ErrInvalidInput)
	}
	if o.Open.Precision == "" {
		o.Open.Precision = o.Precision // OpenResolved checks it
	}
	res := &Result{Pairs: len(o.Cands), Warmup: o.Warmup}
	res.Shape, _ = ReadEncoderShape(o.Model) // unknown: no FLOP figures
	if o.Peak != nil {
		rt, err := onnxrt.Load(o.Open.ORTLib)
		if err != nil {
			return nil, err
		}
		po := *o.Peak
		po.Runtime, po.Threads = rt, o.Open.Threads
		if po.Precision == "" {
			po.Precision = PeakFP32
			if o.Precision == PeakInt8 || (o.Model.Manifest != nil && o.Model.Manifest.Precision == PeakInt8) {
				po.Precision = PeakInt8
			}
		}
		if res.Peak, err = MeasurePeak(ctx, po); err != nil {
			return nil, err
		}
		cores := cpus.Usable()
		if t := o.Open.Threads; t > 0 {
			cores = min(t, cores)
		}
		res.CPU, _ = ReadCPUPeak(HostFS(), cores)
	}
	start := time.Now()
	if o.Profile != "" {
		o.Open.Profile = o.Profile
	}
	m, err := bertscore.OpenResolved(ctx, o.Model, o.Open)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	load := time.Since(start)
	var batches []time.Duration
	measuring := false
	so := o.Scorer
	so.OnBatch = func(d time.Duration) {
		if measuring {
			batches = append(batches, d)
		}
	}
	res.Model, res.Load = m.Name(), load
	total := len(o.Cands) * (o.Warmup + o.Runs)
	for i := range o.Warmup + o.Runs {
		so.Progress = nil
		if o.Progress != nil {
			base := i * len(o.Cands)
			so.Progress = func(done, _ int) { o.Progress(base+done, total) }
		}
		s, err := m.Scorer(so)
		if err != nil {
			return nil, err
		}
		measuring = i >= o.Warmup
		out, err := s.Score(ctx, o.Cands, o.Refs)
		if err != nil {
			return nil, err
		}
		res.Device, res.Precision = out.Config.Runtime.Device, out.Config.Runtime.Precision
		if !measuring {
			continue
		}
		st := out.Stats
		res.Runs = append(res.Runs, RunStats{
			Total: st.Wall, Tokenize: st.Tokenize, Encode: st.Encode, Match: st.Match,
			Sentences: st.Sentences, Tokens: st.Tokens, PaddedTokens: st.PaddedTokens, Batches: st.Batches,
		})
	}
	slices.Sort(batches)
	res.Batches = batches
	res.PeakRSSBytes = peakRSS()
	if o.Profile != "" {
		// ONNX Runtime writes the trace when the session ends.
		if err := m.Close(); err != nil {
			return nil, err
		}
		file, err := profileFile(o.Profile)
		if err != nil {
			return nil, err
		}
		if res.Profile, err = ReadProfile(file); err != nil {
			return nil, err
		}
	}
	return res, nil
}
