package retry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bertbench/bertbench/runners"
	fs "github.com/bertbench/bertbench/runners/faultserver"
	"github.com/bertbench/bertbench/runners/ollama"
	"github.com/bertbench/bertbench/runners/openai"
	"github.com/bertbench/bertbench/runners/retry"
)

// dialects builds, for a fault server, the real runners that talk to it.
var dialects = []struct {
	name string
	mode runners.Mode
	new  func(t testing.TB, url string) runners.Runner
}{
	{"openai", runners.ModeChat, func(t testing.TB, url string) runners.Runner {
		return openai.New("fault-model", "", openai.Config{BaseURL: url + "/v1", APIKey: "sk-test-fault"})
	}},
	{"ollama-chat", runners.ModeChat, func(t testing.TB, url string) runners.Runner {
		srv, err := ollama.NewServer(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ollama.New(srv, "fault", "")
	}},
	{"ollama-generate", runners.ModeGenerate, func(t testing.TB, url string) runners.Runner {
		srv, err := ollama.NewServer(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ollama.New(srv, "fault", "")
	}},
}

func TestFaults(t *testing.T) {
	fast := retry.Policy{MaxAttempts: 4, BaseDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond, Timeout: 10 * time.Second}
	cases := []struct {
		name         string
		script       []fs.Fault
		policy       retry.Policy
		wantAttempts int
		wantErr      string // "" means success
		minElapsed   time.Duration
	}{
		{name: "ok", script: nil, policy: fast, wantAttempts: 1},
		{name: "429 honours Retry-After", script: []fs.Fault{fs.RateLimit}, policy: fast, wantAttempts: 2, minElapsed: time.Second},
		{name: "500 twice then ok", script: []fs.Fault{fs.ServerError, fs.ServerError}, policy: fast, wantAttempts: 3},
		{name: "503 empty body then ok", script: []fs.Fault{fs.EmptyError}, policy: fast, wantAttempts: 2},
		{name: "500 until giving up", script: []fs.Fault{fs.ServerError, fs.ServerError, fs.ServerError, fs.ServerError, fs.ServerError},
			policy: fast, wantAttempts: 4, wantErr: "giving up after 4 attempts"},
		{name: "hang past timeout then ok", script: []fs.Fault{fs.Hang},
			policy: retry.Policy{MaxAttempts: 3, BaseDelay: 5 * time.Millisecond, Timeout: time.Second}, wantAttempts: 2},
		{name: "hang every time", script: []fs.Fault{fs.Hang, fs.Hang},
			policy: retry.Policy{MaxAttempts: 2, BaseDelay: 5 * time.Millisecond, Timeout: 500 * time.Millisecond}, wantAttempts: 2, wantErr: "timeout"},
		{name: "reset mid-stream then ok", script: []fs.Fault{fs.ResetMidStream}, policy: fast, wantAttempts: 2},
		{name: "400 is not retried", script: []fs.Fault{fs.BadRequest}, policy: fast, wantAttempts: 1, wantErr: "400"},
		{name: "Retry-After beyond the limit fails", script: []fs.Fault{fs.RateLimit},
			policy: retry.Policy{MaxAttempts: 3, MaxRetryAfter: 500 * time.Millisecond}, wantAttempts: 1, wantErr: "retry after 1s"},
	}
	for _, d := range dialects {
		for _, tc := range cases {
			t.Run(d.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				srv := fs.New(tc.script...)
				defer srv.Close()
				r := retry.Wrap(d.new(t, srv.URL), tc.policy)
				start := time.Now()
				res, err := r.Run(context.Background(), runners.Request{Prompt: "hi", Mode: d.mode})
				elapsed := time.Since(start)
				if res.Attempts != tc.wantAttempts {
					t.Errorf("Attempts = %d, want %d (err: %v)", res.Attempts, tc.wantAttempts, err)
				}
				// Every attempt reaches the server: count there too.
				if srv.Calls() != tc.wantAttempts {
					t.Errorf("server saw %d calls, want %d", srv.Calls(), tc.wantAttempts)
				}
				if tc.wantErr == "" {
					if err != nil {
						t.Fatalf("Run: %v", err)
					}
					if want := fs.Output; res.Output != want {
						t.Errorf("Output = %q, want %q (a retried stream must not keep the partial output)", res.Output, want)
					}
					if res.PromptTokens != 7 || res.CompletionTokens != 3 || res.DoneReason != "stop" {
						t.Errorf("tokens %d/%d done %q, want 7/3 stop", res.PromptTokens, res.CompletionTokens, res.DoneReason)
					}
					if res.Error != "" {
						t.Errorf("Result.Error = %q on success", res.Error)
					}
				} else {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
					}
					if res.Error != err.Error() {
						t.Errorf("Result.Error = %q, want the returned error %q", res.Error, err.Error())
					}
				}
				if elapsed < tc.minElapsed {
					t.Errorf("took %v, want at least %v (Retry-After)", elapsed, tc.minElapsed)
				}
			})
		}
	}
}

// TestCancelStopsRetrying: a caller that gives up (Ctrl-C) is not retried.
func TestCancelStopsRetrying(t *testing.T) {
	srv := fs.New(fs.Hang, fs.Hang, fs.Hang)
	defer srv.Close()
	r := retry.Wrap(dialects[0].new(t, srv.URL), retry.Policy{MaxAttempts: 3, Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	res, err := r.Run(ctx, runners.Request{Prompt: "hi"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res.Attempts != 1 || srv.Calls() != 1 {
		t.Errorf("attempts %d, server calls %d; want 1 and 1", res.Attempts, srv.Calls())
	}
}

func TestBackoffBounds(t *testing.T) {
	p := retry.Policy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	for _, tc := range []struct {
		n        int
		min, max time.Duration
	}{
		{1, 50 * time.Millisecond, 100 * time.Millisecond},
		{2, 100 * time.Millisecond, 200 * time.Millisecond},
		{3, 200 * time.Millisecond, 400 * time.Millisecond},
		{10, 500 * time.Millisecond, time.Second},
	} {
		for range 50 {
			if d := p.Backoff(tc.n); d < tc.min || d > tc.max {
				t.Fatalf("Backoff(%d) = %v, want in [%v, %v]", tc.n, d, tc.min, tc.max)
			}
		}
	}
}

// TestDelayHonoursRetryAfterWithJitter: a Retry-After is waited for in
// full, plus a little jitter so that callers stopped together spread out.
func TestDelayHonoursRetryAfterWithJitter(t *testing.T) {
	p := retry.Policy{BaseDelay: 100 * time.Millisecond}
	seen := map[time.Duration]bool{}
	for range 50 {
		d := p.Delay(3, 2*time.Second)
		if d < 2*time.Second || d > 2*time.Second+50*time.Millisecond {
			t.Fatalf("Delay = %v, want in [2s, 2.05s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Error("no jitter on Retry-After")
	}
	if d := p.Delay(1, 0); d < 50*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("without Retry-After: %v, want Backoff(1) in [50ms, 100ms]", d)
	}
}
