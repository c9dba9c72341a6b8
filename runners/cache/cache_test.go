package cache_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/cache"
)

func ptr[T any](v T) *T { return &v }

func TestKeyCoversEverythingThatChangesTheOutput(t *testing.T) {
	base := runners.Request{Prompt: "p", System: "s", Mode: runners.ModeChat,
		Params: runners.Params{Temperature: ptr(0.0), Seed: ptr(1), MaxTokens: ptr(8)}}
	key := func(spec, digest string, r runners.Request) string {
		k, err := cache.Key(spec, digest, r)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k0 := key("ollama:m", "d1", base)
	type in struct {
		spec, digest string
		req          runners.Request
	}
	variants := map[string]func(*in){
		"spec":        func(v *in) { v.spec = "ollama:n" },
		"digest":      func(v *in) { v.digest = "d2" },
		"prompt":      func(v *in) { v.req.Prompt = "q" },
		"system":      func(v *in) { v.req.System = "" },
		"mode":        func(v *in) { v.req.Mode = runners.ModeGenerate },
		"temperature": func(v *in) { v.req.Params.Temperature = ptr(0.5) },
		"unset temp":  func(v *in) { v.req.Params.Temperature = nil },
		"seed":        func(v *in) { v.req.Params.Seed = ptr(2) },
		"max tokens":  func(v *in) { v.req.Params.MaxTokens = ptr(9) },
		"stop":        func(v *in) { v.req.Params.Stop = []string{"\n"} },
		"top p":       func(v *in) { v.req.Params.TopP = ptr(0.9) },
		"num ctx":     func(v *in) { v.req.Params.NumCtx = ptr(512) },
		"presence":    func(v *in) { v.req.Params.PresencePenalty = ptr(1.5) },
	}
	for name, change := range variants {
		v := in{"ollama:m", "d1", base}
		change(&v)
		if key(v.spec, v.digest, v.req) == k0 {
			t.Errorf("changing the %s does not change the key", name)
		}
	}
	// Keep-alive and the item id do not change the output, and chat is the
	// default mode.
	same := base
	same.Params.KeepAlive = ptr(time.Hour)
	same.Mode = ""
	same.ItemID = "item-7"
	if key("ollama:m", "d1", same) != k0 {
		t.Error("keep-alive, the item id or the implicit chat mode changed the key")
	}
	// An experiment's repeats each have their own entry (or every repeat
	// after the first would be the first one again), and the first
	// repeat's key is the plain request's, as it was before repeats had
	// a field: entries written by translate or an older bertbench serve it.
	const pinned = "65675c1e773b61e3d9f56feb4da1e2d6572e4a76f13a6176ccdb35d7c24922aa"
	if k0 != pinned {
		t.Errorf("the key of a request that is no repeat changed: %s, was %s", k0, pinned)
	}
	rep := base
	rep.Repeat = 0
	if key("ollama:m", "d1", rep) != k0 {
		t.Error("repeat 0 changed the key")
	}
	seen := map[string]int{k0: 0}
	for i := 1; i <= 3; i++ {
		rep.Repeat = i
		k := key("ollama:m", "d1", rep)
		if j, dup := seen[k]; dup {
			t.Errorf("repeats %d and %d share a key", i, j)
		}
		seen[k] = i
	}
	// A presence penalty of 0 is a setting of its own, not the server's
	// default.
	zero, unset := base, base
	zero.Params.PresencePenalty = ptr(0.0)
	if key("ollama:m", "d1", zero) == key("ollama:m", "d1", unset) {
		t.Error("presence penalty 0 has the key of an unset one")
	}
}

// countingRunner answers every prompt, failing those listed in fail.
type countingRunner struct {
	calls atomic.Int64
	fail  map[string]bool
	delay time.Duration
}

func (c *countingRunner) Spec() string { return "test:echo" }
func (c *countingRunner) Run(ctx context.Context, req runners.Request) (runners.Result, error) {
	c.calls.Add(1)
	time.Sleep(c.delay)
	if c.fail[req.Prompt] {
		return runners.Failed(c.Spec(), 1, errors.New("boom"))
	}
	return runners.Result{Runner: c.Spec(), Output: "echo " + req.Prompt, Attempts: 1}, nil
}

func TestWrapServesHitsAndNeverStoresFailures(t *testing.T) {
	store, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	inner := &countingRunner{fail: map[string]bool{"bad": true}}
	r := cache.Wrap(inner, store)
	ctx := context.Background()
	for round := 0; round < 2; round++ {
		res, err := r.Run(ctx, runners.Request{Prompt: "good"})
		if err != nil || res.Output != "echo good" || res.Cached != (round == 1) {
			t.Fatalf("round %d: %+v, %v", round, res, err)
		}
		if round == 1 && res.Attempts != 0 {
			t.Errorf("a cache hit reports %d attempts", res.Attempts)
		}
		if _, err := r.Run(ctx, runners.Request{Prompt: "bad"}); err == nil {
			t.Fatal("failure not reported")
		}
	}
	// good: 1 call then a hit; bad: called both times.
	if got := inner.calls.Load(); got != 3 {
		t.Errorf("%d calls, want 3", got)
	}
	if err := store.Put("00ff", runners.Result{Error: "x"}); err == nil {
		t.Error("Put stored a failed result")
	}
}

func TestConcurrentIdenticalRequestsShareOneCall(t *testing.T) {
	store, _ := cache.Open(t.TempDir())
	inner := &countingRunner{delay: 50 * time.Millisecond}
	r := cache.Wrap(inner, store)
	var wg sync.WaitGroup
	var paid atomic.Int64 // results not marked cached
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.Run(context.Background(), runners.Request{Prompt: "same"})
			if err != nil || res.Output != "echo same" {
				t.Errorf("%+v, %v", res, err)
			}
			if !res.Cached {
				paid.Add(1)
				if res.Attempts != 1 {
					t.Errorf("the caller that made the call reports %d attempts", res.Attempts)
				}
			} else if res.Attempts != 0 {
				t.Errorf("a shared result reports %d attempts", res.Attempts)
			}
		}()
	}
	wg.Wait()
	if got := inner.calls.Load(); got != 1 {
		t.Errorf("%d calls for 8 identical concurrent requests, want 1", got)
	}
	if paid.Load() != 1 {
		t.Errorf("%d results not marked cached, want exactly 1 (the one that called the model)", paid.Load())
	}
}

// blockingRunner answers when release is closed, or fails when ctx ends.
type blockingRunner struct {
	calls   atomic.Int64
	release chan struct{}
}

func (b *blockingRunner) Spec() string { return "test:block" }
func (b *blockingRunner) Run(ctx context.Context, req runners.Request) (runners.Result, error) {
	b.calls.Add(1)
	select {
	case <-b.release:
		return runners.Result{Runner: b.Spec(), Output: "done", Attempts: 1}, nil
	case <-ctx.Done():
		return runners.Failed(b.Spec(), 1, ctx.Err())
	}
}

// TestSharedCallAndCancellation: a caller's cancellation ends only its own
// wait; a caller whose shared call another caller cancelled makes it again.
func TestSharedCallAndCancellation(t *testing.T) {
	waitCalls := func(b *blockingRunner, n int64) {
		for b.calls.Load() < n {
			time.Sleep(time.Millisecond)
		}
	}
	t.Run("waiter cancelled", func(t *testing.T) {
		store, _ := cache.Open(t.TempDir())
		inner := &blockingRunner{release: make(chan struct{})}
		r := cache.Wrap(inner, store)
		lead := make(chan runners.Result)
		go func() {
			res, _ := r.Run(context.Background(), runners.Request{Prompt: "p"})
			lead <- res
		}()
		waitCalls(inner, 1)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := r.Run(ctx, runners.Request{Prompt: "p"}); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled waiter: %v", err)
		}
		close(inner.release) // the waiter returned while the call was still running
		if res := <-lead; res.Output != "done" || res.Cached {
			t.Errorf("leader: %+v", res)
		}
	})
	t.Run("leader cancelled", func(t *testing.T) {
		store, _ := cache.Open(t.TempDir())
		inner := &blockingRunner{release: make(chan struct{})}
		r := cache.Wrap(inner, store)
		ctx, cancel := context.WithCancel(context.Background())
		lead := make(chan error)
		go func() {
			_, err := r.Run(ctx, runners.Request{Prompt: "p"})
			lead <- err
		}()
		waitCalls(inner, 1)
		follow := make(chan runners.Result)
		go func() {
			res, err := r.Run(context.Background(), runners.Request{Prompt: "p"})
			if err != nil {
				t.Errorf("follower: %v", err)
			}
			follow <- res
		}()
		time.Sleep(20 * time.Millisecond) // let the follower join the call (the outcome is the same if it has not)
		cancel()
		if err := <-lead; !errors.Is(err, context.Canceled) {
			t.Errorf("leader: %v", err)
		}
		waitCalls(inner, 2)
		close(inner.release)
		if res := <-follow; res.Output != "done" {
			t.Errorf("follower: %+v", res)
		}
		if inner.calls.Load() != 2 {
			t.Errorf("%d calls, want 2", inner.calls.Load())
		}
	})
}

func TestCorruptEntryIsAMissAndClearCounts(t *testing.T) {
	dir := t.TempDir()
	store, _ := cache.Open(dir)
	inner := &countingRunner{}
	r := cache.Wrap(inner, store)
	r.Run(context.Background(), runners.Request{Prompt: "a"})
	r.Run(context.Background(), runners.Request{Prompt: "b"})
	key, _ := cache.Key("test:echo", "", runners.Request{Prompt: "a"})
	if err := os.WriteFile(filepath.Join(dir, key[:2], key+".json"), []byte("{truncated"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res, err := r.Run(context.Background(), runners.Request{Prompt: "a"}); err != nil || res.Cached {
		t.Fatalf("corrupt entry: %+v, %v", res, err)
	}
	if inner.calls.Load() != 3 {
		t.Errorf("%d calls, want 3", inner.calls.Load())
	}
	os.WriteFile(filepath.Join(dir, "README"), []byte("not ours"), 0o644)
	n, err := store.Clear()
	if err != nil || n != 2 {
		t.Fatalf("Clear = %d, %v; want 2", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "README")); err != nil {
		t.Error("Clear removed a file the cache did not write")
	}
	if res, _ := r.Run(context.Background(), runners.Request{Prompt: "b"}); res.Cached {
		t.Error("hit after Clear")
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("BERTBENCH_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/x/cache")
	if d, err := cache.DefaultDir(); err != nil || d != "/x/cache/bertbench/responses" {
		t.Errorf("DefaultDir = %q, %v", d, err)
	}
	t.Setenv("BERTBENCH_CACHE", "/y")
	if d, _ := cache.DefaultDir(); d != "/y/responses" {
		t.Errorf("with $BERTBENCH_CACHE: %q", d)
	}
}

// BenchmarkHit measures serving a stored result: key derivation, file
// read and JSON decode.
func BenchmarkHit(b *testing.B) {
	store, _ := cache.Open(b.TempDir())
	r := cache.Wrap(&countingRunner{}, store)
	req := runners.Request{Prompt: strings.Repeat("a source sentence of moderate length. ", 4), Params: runners.Params{Temperature: ptr(0.0)}}
	if _, err := r.Run(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if res, err := r.Run(context.Background(), req); err != nil || !res.Cached {
			b.Fatal(res, err)
		}
	}
}
