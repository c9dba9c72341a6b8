package batch_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/batch"
	"github.com/bertbench/bertbench/runners/cache"
	"github.com/bertbench/bertbench/runners/factory"
	"github.com/bertbench/bertbench/runners/faultserver"
	"github.com/bertbench/bertbench/runners/ollamatest"
	"github.com/bertbench/bertbench/runners/openai"
	"github.com/bertbench/bertbench/runners/retry"
)

var shared ollamatest.Shared

func TestMain(m *testing.M) { os.Exit(shared.Main(m)) }

func ptr[T any](v T) *T { return &v }

// newRunner builds the usual stack (retries, limit, optionally a cache,
// pricing) for an OpenAI-compatible server at url.
func newRunner(t *testing.T, url string, opts factory.Options) runners.Runner {
	t.Helper()
	opts.Getenv = func(string) string { return "" }
	opts.Retry = retry.Policy{MaxAttempts: 2, BaseDelay: time.Millisecond}
	r, err := factory.New("openai-compatible:"+faultserver.DefaultModel+"@"+url+"/v1", opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sources makes one job per text, keyed by its 1-based position; an empty
// text is an Empty job.
func sources(texts ...string) []batch.Job[int] {
	jobs := make([]batch.Job[int], len(texts))
	for i, s := range texts {
		jobs[i] = batch.Job[int]{Key: i + 1, Request: runners.Request{Prompt: s}, Empty: s == ""}
	}
	return jobs
}

// collect runs the batch and returns the outcomes by key, failing on a key
// handed over twice.
func collect(t *testing.T, ctx context.Context, r runners.Runner, jobs []batch.Job[int], opts batch.Options) (map[int]batch.Outcome[int], batch.Summary, error) {
	t.Helper()
	got := map[int]batch.Outcome[int]{}
	sum, err := batch.Run(ctx, r, slices.Values(jobs), opts, func(o batch.Outcome[int]) error {
		if _, dup := got[o.Key]; dup {
			t.Errorf("key %d handed over twice", o.Key)
		}
		got[o.Key] = o
		return nil
	})
	return got, sum, err
}

func keys(m map[int]batch.Outcome[int]) []int {
	var ks []int
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestRun plays fault scripts through the real runner stack, one worker,
// so that the order of calls is the order of jobs.
func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name      string
		script    []faultserver.Fault
		texts     []string
		wantKeys  []int
		wantCalls int
		wantStop  int   // key of the job that stopped the batch, 0 for none
		wantKind  error // what the stop error matches
		wantLive  int
		wantFail  []int
	}{
		{"every job finishes once, empty ones without a call", nil,
			[]string{"one", "", "two", "three", ""}, []int{1, 2, 3, 4, 5}, 3, 0, nil, 3, nil},
		{"a failed call is an outcome, not a stop", []faultserver.Fault{faultserver.OK, faultserver.BadRequest},
			[]string{"one", "two", "three"}, []int{1, 2, 3}, 3, 0, nil, 2, []int{2}},
		{"a model gone missing stops feeding after its outcome", []faultserver.Fault{faultserver.OK, faultserver.NotFound, faultserver.NotFound},
			[]string{"one", "two", "three", "four"}, []int{1, 2}, 2, 2, runners.ErrModelNotFound, 1, []int{2}},
		{"the first call can stop it", []faultserver.Fault{faultserver.NotFound},
			[]string{"one", "", "three"}, []int{1}, 1, 1, runners.ErrModelNotFound, 0, []int{1}},
		{"no jobs", nil, nil, nil, 0, 0, nil, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := faultserver.New(tc.script...)
			defer srv.Close()
			got, sum, err := collect(t, context.Background(), newRunner(t, srv.URL, factory.Options{}), sources(tc.texts...), batch.Options{Workers: 1})
			if ks := keys(got); !slices.Equal(ks, tc.wantKeys) {
				t.Errorf("keys handed over %v, want %v", ks, tc.wantKeys)
			}
			if n := srv.Calls(); n != tc.wantCalls {
				t.Errorf("server saw %d calls, want %d", n, tc.wantCalls)
			}
			var stop *batch.StopError[int]
			switch {
			case tc.wantStop == 0 && err != nil:
				t.Errorf("Run: %v, want nil", err)
			case tc.wantStop != 0 && (!errors.As(err, &stop) || stop.Key != tc.wantStop || !errors.Is(err, tc.wantKind)):
				t.Errorf("Run: %v (%T), want a StopError at key %d matching %v", err, err, tc.wantStop, tc.wantKind)
			}
			var failed []int
			for _, k := range keys(got) {
				o := got[k]
				if (o.Err != nil) != (o.Result.Error != "") {
					t.Errorf("key %d: error %v but Result.Error %q", k, o.Err, o.Result.Error)
				}
				if o.Err != nil {
					failed = append(failed, k)
					continue
				}
				if want := map[bool]string{true: "", false: faultserver.Output}[tc.texts[k-1] == ""]; o.Result.Output != want || o.Result.Runner == "" {
					t.Errorf("key %d: output %q from %q, want %q", k, o.Result.Output, o.Result.Runner, want)
				}
			}
			if !slices.Equal(failed, tc.wantFail) {
				t.Errorf("failed keys %v, want %v", failed, tc.wantFail)
			}
			if sum.Finished != len(tc.wantKeys) || sum.Tally.Live != tc.wantLive || sum.Tally.Failed != len(tc.wantFail) {
				t.Errorf("summary: %d finished, tally %s; want %d finished, %d live, %d failed", sum.Finished, &sum.Tally, len(tc.wantKeys), tc.wantLive, len(tc.wantFail))
			}
		})
	}
}

// closedURL returns a loopback URL where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// TestRun_UnreachableStops: a server that cannot be reached stops the
// batch after the first call that tried it.
func TestRun_UnreachableStops(t *testing.T) {
	got, sum, err := collect(t, context.Background(), newRunner(t, closedURL(t), factory.Options{}), sources("one", "two", "three"), batch.Options{Workers: 1})
	var stop *batch.StopError[int]
	if !errors.As(err, &stop) || stop.Key != 1 || !errors.Is(err, runners.ErrUnreachable) {
		t.Fatalf("Run: %v, want a StopError at key 1 matching ErrUnreachable", err)
	}
	if ks := keys(got); !slices.Equal(ks, []int{1}) || got[1].Result.Attempts != 2 {
		t.Errorf("outcomes %v (attempts %d), want key 1 only, after 2 attempts", ks, got[1].Result.Attempts)
	}
	if sum.Tally.Failed != 1 {
		t.Errorf("tally %s", &sum.Tally)
	}
}

// gate is a real HTTP server in front of a fault server that counts the
// calls in flight; each call is held until one more than bound is in
// flight (the bound is broken) or hold passes.
type gate struct {
	*httptest.Server
	inflight, peak atomic.Int64
}

func newGate(t *testing.T, bound int64, hold time.Duration) *gate {
	t.Helper()
	fs := faultserver.New()
	t.Cleanup(fs.Close)
	g := &gate{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/chat/completions" {
			n := g.inflight.Add(1)
			defer g.inflight.Add(-1)
			for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
			}
			deadline := time.Now().Add(hold)
			for g.inflight.Load() <= bound && time.Now().Before(deadline) && r.Context().Err() == nil {
				time.Sleep(time.Millisecond)
			}
		}
		fs.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(g.Close)
	return g
}

// TestRun_Workers: a batch makes as many calls at once as the runner lets
// run (its limit, else DefaultWorkers), or as Options.Workers asks when
// that is fewer; never more.
func TestRun_Workers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limit   int // the runner's concurrency (0: a runner with no limit)
		workers int
		want    int64
	}{
		{"the runner's limit", 2, 0, 2},
		{"no limit: DefaultWorkers", 0, 0, batch.DefaultWorkers},
		{"fewer workers than the limit", 3, 1, 1},
		{"more workers than the limit wait for it", 3, 8, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate(t, tc.want, 300*time.Millisecond)
			var r runners.Runner
			if tc.limit == 0 {
				r = openai.New(faultserver.DefaultModel, "openai-compatible:test", openai.Config{BaseURL: g.URL + "/v1"})
			} else {
				r = newRunner(t, g.URL, factory.Options{Concurrency: tc.limit})
			}
			var texts []string
			for i := range 2 * tc.want {
				texts = append(texts, fmt.Sprint("text ", i))
			}
			got, _, err := collect(t, context.Background(), r, sources(texts...), batch.Options{Workers: tc.workers})
			if err != nil || len(got) != len(texts) {
				t.Fatalf("Run: %v, %d of %d outcomes", err, len(got), len(texts))
			}
			if p := g.peak.Load(); p != tc.want {
				t.Errorf("peak %d calls at once, want %d", p, tc.want)
			}
		})
	}
}

// TestRun_CancelDropsUnfinishedCalls: a call cut short by ctx did not
// finish and is not handed over; the finished ones are, and Run says the
// batch did not complete.
func TestRun_CancelDropsUnfinishedCalls(t *testing.T) {
	srv := faultserver.New(faultserver.OK, faultserver.OK, faultserver.Hang)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for srv.Calls() < 3 {
			time.Sleep(2 * time.Millisecond)
		}
		cancel() // while the third call hangs
	}()
	got, sum, err := collect(t, ctx, newRunner(t, srv.URL, factory.Options{}), sources("one", "two", "three", "four"), batch.Options{Workers: 1})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v, want context.Canceled", err)
	}
	if ks := keys(got); !slices.Equal(ks, []int{1, 2}) || sum.Finished != 2 {
		t.Errorf("outcomes %v (%d finished), want keys 1 and 2", ks, sum.Finished)
	}
	if n := srv.Calls(); n != 3 {
		t.Errorf("server saw %d calls, want 3", n)
	}
}

// TestRun_CallbackErrorStops: the caller's error (a full disk) stops the
// batch, is returned as it is, and nothing more is handed over.
func TestRun_CallbackErrorStops(t *testing.T) {
	srv := faultserver.New()
	defer srv.Close()
	errFull := errors.New("disk full")
	var handed int
	jobs := sources(strings.Split(strings.Repeat("x,", 10), ",")[:10]...)
	sum, err := batch.Run(context.Background(), newRunner(t, srv.URL, factory.Options{}), slices.Values(jobs), batch.Options{Workers: 1}, func(o batch.Outcome[int]) error {
		handed++
		if handed == 2 {
			return errFull
		}
		return nil
	})
	if err != errFull || handed != 2 || sum.Finished != 1 {
		t.Errorf("Run: %v after %d outcomes (%d accepted), want %v after 2 (1 accepted)", err, handed, sum.Finished, errFull)
	}
	if n := srv.Calls(); n > 3 {
		t.Errorf("server saw %d calls after the callback failed at the second, want at most 3", n)
	}
}

// TestRun_TallyLiveAndCached: a rerun served from the response cache is
// counted apart from live calls; empty jobs are in neither.
func TestRun_TallyLiveAndCached(t *testing.T) {
	srv := faultserver.New()
	defer srv.Close()
	store, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, srv.URL, factory.Options{Cache: store})
	jobs := sources("one", "", "two", "three")
	for round, want := range []runners.Tally{{Live: 3}, {Cached: 3}} {
		got, sum, err := collect(t, context.Background(), r, jobs, batch.Options{})
		if err != nil || len(got) != 4 || sum.Finished != 4 {
			t.Fatalf("round %d: %v, %d outcomes", round, err, len(got))
		}
		if sum.Tally.Live != want.Live || sum.Tally.Cached != want.Cached || sum.Tally.Failed != 0 {
			t.Errorf("round %d: tally %s, want %d live, %d cached", round, &sum.Tally, want.Live, want.Cached)
		}
	}
	if n := srv.Calls(); n != 3 {
		t.Errorf("server saw %d calls, want 3 (the rerun comes from the cache)", n)
	}
}

// TestRun_SourceLeftEarly: on a stop the batch stops ranging over the
// source (it takes no more jobs than it had fed).
func TestRun_SourceLeftEarly(t *testing.T) {
	srv := faultserver.New(faultserver.NotFound)
	defer srv.Close()
	var yielded int
	jobs := func(yield func(batch.Job[int]) bool) {
		for i := 1; i <= 1000; i++ {
			yielded++
			if !yield(batch.Job[int]{Key: i, Request: runners.Request{Prompt: "x"}}) {
				return
			}
		}
	}
	_, err := batch.Run(context.Background(), newRunner(t, srv.URL, factory.Options{}), jobs, batch.Options{Workers: 1}, nil)
	if !errors.Is(err, runners.ErrModelNotFound) || yielded > 3 {
		t.Errorf("Run: %v after the source yielded %d jobs, want a stop within 3", err, yielded)
	}
}

func failing(batch.Outcome[int]) error { return errors.New("no") }

// slowFailing fails like a slow disk: by the time it returns, the other
// workers wait to hand over their outcomes.
func slowFailing(o batch.Outcome[int]) error {
	time.Sleep(50 * time.Millisecond)
	return failing(o)
}

// TestRun_NoGoroutineLeak: whatever ends a batch, every goroutine it
// started has ended when Run returns (counted once idle connections are
// closed; given 5 s to settle).
func TestRun_NoGoroutineLeak(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script []faultserver.Fault
		cancel bool // cancel once the third call is made
		each   func(batch.Outcome[int]) error
		texts  []string
	}{
		{"all finished", nil, false, nil, nil},
		{"stopped", []faultserver.Fault{faultserver.OK, faultserver.NotFound}, false, nil, nil},
		{"cancelled while calls hang", []faultserver.Fault{faultserver.OK, faultserver.OK, faultserver.Hang, faultserver.Hang, faultserver.Hang}, true, nil, nil},
		{"the callback failed", nil, false, failing, nil},
		{"the callback failed with outcomes waiting", nil, false, slowFailing, make([]string, 50)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := faultserver.New(tc.script...)
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{}}
			r := newRunner(t, srv.URL, factory.Options{HTTPClient: client, Concurrency: 3})
			base := runtime.NumGoroutine()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var wg sync.WaitGroup
			if tc.cancel {
				wg.Go(func() {
					for srv.Calls() < 3 && ctx.Err() == nil {
						time.Sleep(2 * time.Millisecond)
					}
					cancel()
				})
			}
			if tc.texts == nil {
				tc.texts = []string{"a", "b", "", "c", "d", "e", "f", "g"}
			}
			batch.Run(ctx, r, slices.Values(sources(tc.texts...)), batch.Options{}, tc.each)
			cancel()
			wg.Wait()
			client.CloseIdleConnections()
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
				client.CloseIdleConnections()
			}
			if n := runtime.NumGoroutine(); n > base {
				buf := make([]byte, 1<<20)
				t.Errorf("%d goroutines after the batch, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
			}
		})
	}
}

// TestRun_Ollama runs a batch through the usual stack on a real Ollama:
// two calls at once (the stack's limit), an empty source answered without
// a call, every outcome under its key with the server's counters.
func TestRun_Ollama(t *testing.T) {
	srv, _ := shared.Tiny(t)
	r, err := factory.New("ollama:"+ollamatest.TinyModel+"@"+srv.URL, factory.Options{Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := runners.Preflight(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	jobs := sources("the cat sat on the mat", "", "hello world", "a red house", "the sun")
	for i := range jobs {
		jobs[i].Request.Params = runners.Params{Temperature: ptr(0.0), Seed: ptr(1), MaxTokens: ptr(4)}
	}
	got, sum, err := collect(t, context.Background(), r, jobs, batch.Options{})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, srv.LogTail(2000))
	}
	if ks := keys(got); !slices.Equal(ks, []int{1, 2, 3, 4, 5}) {
		t.Fatalf("keys %v", ks)
	}
	for k, o := range got {
		if k == 2 {
			if o.Result.Attempts != 0 || o.Result.Output != "" {
				t.Errorf("empty job: %+v", o.Result)
			}
			continue
		}
		if o.Err != nil || o.Result.Output == "" || o.Result.CompletionTokens != 4 || o.Result.Ollama == nil || o.Result.Attempts != 1 {
			t.Errorf("key %d: %v %+v", k, o.Err, o.Result)
		}
	}
	if sum.Tally.Live != 4 || sum.Tally.MedianLatency() <= 0 {
		t.Errorf("tally %s", &sum.Tally)
	}
}
