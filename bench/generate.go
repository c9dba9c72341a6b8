package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bertbench/bertbench/runners"
)

// GenerateOptions say how to load-test text generation runners.
type GenerateOptions struct {
	// Runners are the runners to measure, one after the other. Build them
	// without the response cache (a cached answer measures nothing) and
	// without retries (a retry hides an error and adds its backoff to the
	// latency), with a concurrency limit of at least the highest level.
	Runners []runners.Runner
	// Concurrency are the levels: at each, that many requests are in
	// flight at once (each at least 1).
	Concurrency []int
	// Requests bounds the measured requests of each level (at least 1).
	Requests int
	// Duration, when positive, ends a level once it has run that long:
	// no request but the first starts after it, those in flight finish.
	// Requests still bounds the level.
	Duration time.Duration
	// Warmup requests are sent to each runner one at a time before its
	// first level and not measured (they load the model).
	Warmup int
	// Prompts are the requests sent, in turn (at least one).
	Prompts []runners.Request
	// OnSample, when set, is called with every measured request's sample
	// as it completes, one call at a time.
	OnSample func(Sample)
	// Progress, when set, is called with the requests done so far over
	// every runner and level, warm-up included, and the most there can
	// be (a level that Duration ends early does fewer); one call at a time,
	// never with OnSample.
	Progress func(done, total int)
}

// Sample is one measured request: the stream's element.
type Sample struct {
	// Runner is the runner's spec; Concurrency the level; Seq the
	// request's number within the level, from 0.
	Runner      string
	Concurrency int
	Seq         int
	// Start is when the request was sent; Latency how long it took to
	// the last byte (the runner's own measure for a success, the wall
	// time around the call for a failure); TTFT to the first piece of
	// output (0 when none came).
	Start         time.Time
	Latency, TTFT time.Duration
	// OutputTokens are the tokens generated (the server's count).
	OutputTokens int
	// EvalDuration is the server's own generation time for them (Ollama's
	// eval_duration; 0 when the server does not report it).
	EvalDuration time.Duration
	// ErrorKind classifies a failure (ErrorKind); "" on success. Error is
	// its text.
	ErrorKind, Error string
	// NotLive marks a result served from a cache or a recording: no model
	// ran, so it is counted apart and measures nothing.
	NotLive bool
}

// Error kinds a Sample may carry.
const (
	KindTimeout     = "timeout"     // the call ran past its deadline
	KindRateLimit   = "rate_limit"  // HTTP 429
	KindServer      = "server"      // HTTP 5xx
	KindClient      = "client"      // another HTTP 4xx
	KindNotFound    = "not_found"   // the server does not have the model
	KindUnreachable = "unreachable" // no connection could be made
	KindTruncated   = "truncated"   // the stream broke off (reset, EOF)
	KindCanceled    = "canceled"    // the benchmark was interrupted
	KindOther       = "other"
)

// ErrorKind names the kind of a runner error for the error table.
func ErrorKind(err error) string {
	var ce *runners.CallError
	hasCall := errors.As(err, &ce)
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return KindCanceled
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return KindTimeout
	case errors.Is(err, runners.ErrModelNotFound):
		return KindNotFound
	case errors.Is(err, runners.ErrUnreachable):
		return KindUnreachable
	case hasCall && ce.StatusCode == 429:
		return KindRateLimit
	case hasCall && ce.StatusCode >= 500:
		return KindServer
	case hasCall && ce.StatusCode >= 400:
		return KindClient
	case errors.Is(err, runners.ErrTruncated), hasCall && ce.Retryable:
		return KindTruncated
	}
	return KindOther
}

// Level is the summary of one runner at one concurrency level: what the
// reporter makes of the level's samples.
type Level struct {
	Runner      string
	Concurrency int
	// Requests counts the samples; OK the successes; Errors the failures
	// by kind; NotLive results from a cache or recording (in neither).
	Requests, OK, NotLive int
	Errors                map[string]int
	// Wall is the level's wall time, first send to last answer.
	Wall time.Duration
	// Latency and TTFT are the successes' sorted latencies and times to
	// first token (requests without any output left out of TTFT).
	Latency, TTFT []time.Duration
	// OutputTokens sums the successes' generated tokens; EvalDuration the
	// server's generation time for the successes that report one, whose
	// tokens are EvalTokens.
	OutputTokens, EvalTokens int
	EvalDuration             time.Duration
	// WallTokens and WallTime are the tokens and latencies of the
	// successes without server counters, for their tokens/s.
	WallTokens int
	WallTime   time.Duration
}

// RequestsPerSecond is the successes per second of the level's wall time.
func (l *Level) RequestsPerSecond() float64 { return perSecond(l.OK, l.Wall) }

// ThroughputTokensPerSecond is the output tokens of all successes per
// second of the level's wall time: what the server delivers at this
// concurrency.
func (l *Level) ThroughputTokensPerSecond() float64 { return perSecond(l.OutputTokens, l.Wall) }

// StreamTokensPerSecond is the generation speed one request sees: from
// the server's own counters (Ollama's eval_count / eval_duration) where
// it reports them, else the tokens over the request's latency; the two
// are pooled by their share of tokens. 0 with no tokens.
func (l *Level) StreamTokensPerSecond() float64 {
	d := l.EvalDuration + l.WallTime
	return perSecond(l.EvalTokens+l.WallTokens, d)
}

// TokensSource says where StreamTokensPerSecond comes from: "server"
// (the server's eval counters), "wall" (tokens over latency), "mixed",
// or "" with no tokens.
func (l *Level) TokensSource() string {
	switch {
	case l.EvalTokens > 0 && l.WallTokens > 0:
		return "mixed"
	case l.EvalTokens > 0:
		return "server"
	case l.WallTokens > 0:
		return "wall"
	}
	return ""
}

// Percentile is the q-th quantile (0..1, nearest rank) of sorted (0 when
// empty).
func Percentile(sorted []time.Duration, q float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	i := int(q*float64(n)+0.999999) - 1
	return sorted[min(max(i, 0), n-1)]
}

// Reporter sums up a stream of samples into levels, in the order their
// (runner, concurrency) first appears. It is not safe for concurrent use.
type Reporter struct {
	levels []*Level
	first  map[*Level]time.Time
	last   map[*Level]time.Time
}

// Add takes one sample.
func (r *Reporter) Add(s Sample) {
	var l *Level
	for _, x := range r.levels {
		if x.Runner == s.Runner && x.Concurrency == s.Concurrency {
			l = x
		}
	}
	if l == nil {
		l = &Level{Runner: s.Runner, Concurrency: s.Concurrency, Errors: map[string]int{}}
		r.levels = append(r.levels, l)
		if r.first == nil {
			r.first, r.last = map[*Level]time.Time{}, map[*Level]time.Time{}
		}
		r.first[l] = s.Start
	}
	if s.Start.Before(r.first[l]) {
		r.first[l] = s.Start
	}
	if end := s.Start.Add(s.Latency); end.After(r.last[l]) {
		r.last[l] = end
	}
	l.Wall = r.last[l].Sub(r.first[l])
	l.Requests++
	switch {
	case s.ErrorKind != "":
		l.Errors[s.ErrorKind]++
		return
	case s.NotLive:
		l.NotLive++
		return
	}
	l.OK++
	l.Latency = insertSorted(l.Latency, s.Latency)
	if s.TTFT > 0 {
		l.TTFT = insertSorted(l.TTFT, s.TTFT)
	}
	l.OutputTokens += s.OutputTokens
	if s.EvalDuration > 0 {
		l.EvalTokens += s.OutputTokens
		l.EvalDuration += s.EvalDuration
	} else {
		l.WallTokens += s.OutputTokens
		l.WallTime += s.Latency
	}
}

func insertSorted(s []time.Duration, d time.Duration) []time.Duration {
	i, _ := slices.BinarySearch(s, d)
	return slices.Insert(s, i, d)
}

// Levels returns the summaries so far.
func (r *Reporter) Levels() []*Level { return r.levels }

// ErrorKinds lists the error kinds seen in any level, sorted.
func ErrorKinds(levels []*Level) []string {
	seen := map[string]bool{}
	for _, l := range levels {
		for k := range l.Errors {
			seen[k] = true
		}
	}
	kinds := make([]string, 0, len(seen))
	for k := range seen {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// MaxRequestsWithDuration is the Requests bound a caller should use with
// a Duration when the user gave none: a level that long stops at this
// many requests all the same.
const MaxRequestsWithDuration = 10000

// Generate runs the load test: for each runner, the warm-up requests one
// at a time, then each concurrency level in turn, with at most Requests
// requests and, with a Duration, no new one after it. Every measured
// request becomes a Sample, fed to OnSample and to the returned levels'
// reporter. A failed request is a sample, not an error: Generate fails
// only on bad options, a failed warm-up (the runner does not answer at
// all) or ctx.
func Generate(ctx context.Context, o GenerateOptions) ([]*Level, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	total := len(o.Runners) * (o.Warmup + o.Requests*len(o.Concurrency))
	rep := &Reporter{}
	var mu sync.Mutex // one OnSample, Progress and Reporter.Add at a time
	done := 0
	tick := func() {
		done++
		if o.Progress != nil {
			o.Progress(done, total)
		}
	}
	emit := func(s Sample) {
		mu.Lock()
		defer mu.Unlock()
		rep.Add(s)
		if o.OnSample != nil {
			o.OnSample(s)
		}
		tick()
	}
	for _, r := range o.Runners {
		for i := range o.Warmup {
			_, err := r.Run(ctx, o.Prompts[i%len(o.Prompts)])
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, fmt.Errorf("bench generate: %s: warm-up request: %w", r.Spec(), err)
			}
			tick()
		}
		for _, c := range o.Concurrency {
			attack(ctx, r, c, o, emit)
			if err := ctx.Err(); err != nil {
				return rep.Levels(), err
			}
		}
	}
	return rep.Levels(), nil
}

func (o GenerateOptions) check() error {
	switch {
	case len(o.Runners) == 0:
		return fmt.Errorf("bench generate: no runner: %w", ErrInvalidInput)
	case len(o.Concurrency) == 0:
		return fmt.Errorf("bench generate: no concurrency level: %w", ErrInvalidInput)
	case o.Requests < 1:
		return fmt.Errorf("bench generate: %d requests a level (want at least 1): %w", o.Requests, ErrInvalidInput)
	case o.Warmup < 0 || o.Duration < 0:
		return fmt.Errorf("bench generate: negative warm-up or duration: %w", ErrInvalidInput)
	case len(o.Prompts) == 0:
		return fmt.Errorf("bench generate: no prompt: %w", ErrInvalidInput)
	}
	for _, c := range o.Concurrency {
		if c < 1 {
			return fmt.Errorf("bench generate: concurrency %d (want at least 1): %w", c, ErrInvalidInput)
		}
	}
	return nil
}

// attack runs one level: c workers take request numbers until Requests
// are taken, the level's Duration has passed, or ctx is done.
func attack(ctx context.Context, r runners.Runner, c int, o GenerateOptions, emit func(Sample)) {
	var next atomic.Int64
	begin := time.Now()
	var wg sync.WaitGroup
	for range min(c, o.Requests) {
		wg.Go(func() {
			for {
				seq := int(next.Add(1)) - 1
				// The first request always goes, so that every level has a row.
				if seq >= o.Requests || ctx.Err() != nil || (seq > 0 && o.Duration > 0 && time.Since(begin) >= o.Duration) {
					return
				}
				emit(call(ctx, r, c, seq, o.Prompts[seq%len(o.Prompts)]))
			}
		})
	}
	wg.Wait()
}

// call sends one request and makes its sample.
func call(ctx context.Context, r runners.Runner, c, seq int, req runners.Request) Sample {
	start := time.Now()
	res, err := r.Run(ctx, req)
	wall := time.Since(start)
	s := Sample{Runner: r.Spec(), Concurrency: c, Seq: seq, Start: start, Latency: wall, TTFT: res.TTFT.Std(), OutputTokens: res.CompletionTokens}
	if err != nil {
		s.ErrorKind, s.Error, s.TTFT, s.OutputTokens = ErrorKind(err), err.Error(), 0, 0
		return s
	}
	if res.Latency > 0 {
		s.Latency = res.Latency.Std()
	}
	if res.Ollama != nil {
		s.EvalDuration = res.Ollama.EvalDuration.Std()
	}
	s.NotLive = res.Cached || res.Replayed
	return s
}
