package runners

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"
)

// dialClosed returns the error of a real HTTP request to a loopback port
// where nothing listens.
func dialClosed(t *testing.T) error {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+addr+"/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("something answers at %s", addr)
	}
	return err
}

func TestUnreachable(t *testing.T) {
	refused := dialClosed(t)
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", refused, true},
		{"wrapped refusal", fmt.Errorf("giving up after 5 attempts: %w", refused), true},
		{"no route", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}, true},
		{"no such host", &net.DNSError{Err: "no such host", Name: "nosuch.invalid", IsNotFound: true}, true},
		{"DNS timeout", &net.DNSError{Err: "i/o timeout", Name: "slow.example", IsTimeout: true}, false},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), false},
		{"timeout", context.DeadlineExceeded, false},
		{"truncated stream", ErrTruncated, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Unreachable(tc.err); got != tc.want {
				t.Errorf("Unreachable(%v) = %v, want %v", tc.err, got, tc.want)
			}
			// Classified, the error matches ErrUnreachable exactly then,
			// through any further wrapping, and stays retryable.
			ce := Classify("op", tc.err, 0, 0)
			wrapped := fmt.Errorf("giving up after 2 attempts: %w", ce)
			if got := errors.Is(wrapped, ErrUnreachable); got != tc.want {
				t.Errorf("errors.Is(classified, ErrUnreachable) = %v, want %v", got, tc.want)
			}
			if got := StopsBatch(wrapped); got != tc.want {
				t.Errorf("StopsBatch = %v, want %v", got, tc.want)
			}
		})
	}
	// An HTTP answer means the server is there, whatever the error says.
	if errors.Is(Classify("op", refused, 502, 0), ErrUnreachable) {
		t.Error("an error with an HTTP status matched ErrUnreachable")
	}
	if !Classify("op", refused, 0, 0).(*CallError).Retryable {
		t.Error("a refused connection is not retryable (a restarting server comes back)")
	}
}

func TestStopsBatch(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("x: %w", ErrModelNotFound), true},
		{fmt.Errorf("x: %w", ErrContextFull), false},
		{fmt.Errorf("x: %w", ErrAborted), false},
		{errors.New("HTTP 500"), false},
		{nil, false},
	} {
		if got := StopsBatch(tc.err); got != tc.want {
			t.Errorf("StopsBatch(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestInvalidInput(t *testing.T) {
	cause := errors.New("adapter x.gguf: no such file")
	err := fmt.Errorf("adapters create: %w", InvalidInput(cause))
	if !errors.Is(err, ErrInvalidInput) || !errors.Is(err, cause) {
		t.Errorf("%v: want it to match ErrInvalidInput and its cause", err)
	}
	if err.Error() != "adapters create: adapter x.gguf: no such file" {
		t.Errorf("text %q: the kind must not add words", err)
	}
	if InvalidInput(nil) != nil {
		t.Error("InvalidInput(nil) != nil")
	}
	if errors.Is(cause, ErrInvalidInput) {
		t.Error("an unmarked error matches ErrInvalidInput")
	}
}

func ms(n float64) Duration { return Duration(time.Duration(n * float64(time.Millisecond))) }

func TestTally(t *testing.T) {
	cost := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name    string
		results []Result
		want    string
		median  time.Duration
		trunc   int
		window  int
	}{
		{"nothing", nil, "0 live calls, 0 from cache, 0 failed", 0, 0, 0},
		{"cached latencies are kept out", []Result{
			{Attempts: 1, Latency: ms(100)},
			{Attempts: 2, Latency: ms(300)},
			{Cached: true, Latency: ms(5)}, // measured in another run
			{Cached: true, Latency: ms(7)},
		}, "2 live calls (latency median 200ms, mean 200ms), 2 from cache (not in the latency figures), 0 failed", 200 * time.Millisecond, 0, 0},
		{"failures and calls never made are not timed", []Result{
			{Attempts: 1, Latency: ms(12.34)},
			{Attempts: 5, Error: "giving up", Latency: ms(999)},
			{}, // an empty source: no call
		}, "1 live call (latency median 12.3ms, mean 12.3ms), 0 from cache, 1 failed", 12340 * time.Microsecond, 0, 0},
		{"cost over priced live calls", []Result{
			{Attempts: 1, Latency: ms(1), CostUSD: cost(0.25)},
			{Attempts: 1, Latency: ms(3), CostUSD: cost(0.5)},
			{Cached: true, CostUSD: cost(100)},
		}, "2 live calls (latency median 2ms, mean 2ms, cost $0.750000), 1 from cache (not in the latency figures), 0 failed", 2 * time.Millisecond, 0, 0},
		{"replayed results are counted apart, not timed or costed", []Result{
			{Attempts: 1, Latency: ms(4)},
			{Replayed: true, Latency: ms(400), CostUSD: cost(1)}, // recorded in another run
			{Replayed: true, Latency: ms(500)},
		}, "1 live call (latency median 4ms, mean 4ms), 0 from cache, 2 replayed (not in the latency figures), 0 failed", 4 * time.Millisecond, 0, 0},
		{"truncated inputs, failed and cached ones too", []Result{
			{Attempts: 1, Latency: ms(1), TruncatedInput: true, Ollama: &OllamaCounters{NumCtx: 64}},
			{Cached: true, TruncatedInput: true, Ollama: &OllamaCounters{NumCtx: 128}},
			{Attempts: 1, Error: "context window full", TruncatedInput: true},
		}, "1 live call (latency median 1ms, mean 1ms), 1 from cache (not in the latency figures), 1 failed", time.Millisecond, 3, 128},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tl Tally
			for _, r := range tc.results {
				tl.Add(r)
			}
			if got := tl.String(); got != tc.want {
				t.Errorf("String() = %q\nwant       %q", got, tc.want)
			}
			if got := tl.MedianLatency(); got != tc.median {
				t.Errorf("median %v, want %v", got, tc.median)
			}
			if tl.Truncated != tc.trunc || tl.TruncatedWindow != tc.window {
				t.Errorf("truncated %d (window %d), want %d (%d)", tl.Truncated, tl.TruncatedWindow, tc.trunc, tc.window)
			}
		})
	}
}
