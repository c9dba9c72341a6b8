package runners

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{" 0.5 ", 500 * time.Millisecond},
		{"0", 0},
		{"-2", 0},
		{now.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"soon", 0},
	} {
		if got := ParseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name      string
		err       error
		status    int
		retryable bool
	}{
		{"429", boom, 429, true},
		{"500", boom, 500, true},
		{"503", boom, 503, true},
		{"501", boom, 501, false},
		{"408", boom, 408, true},
		{"400", boom, 400, false},
		{"401", boom, 401, false},
		{"404", boom, 404, false},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), 0, true},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), 0, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, 0, true},
		{"truncated", ErrTruncated, 200, true},
		{"truncated 400", ErrTruncated, 400, false},
		{"model not found", ErrModelNotFound, 0, false},
		{"plain", boom, 0, false},
	} {
		err := Classify("op", tc.err, tc.status, time.Second)
		var ce *CallError
		if !errors.As(err, &ce) || ce.Retryable != tc.retryable || !errors.Is(err, tc.err) {
			t.Errorf("%s: %#v, want retryable=%v wrapping the cause", tc.name, err, tc.retryable)
		}
	}
	if Classify("op", nil, 500, 0) != nil {
		t.Error("nil error classified")
	}
	inner := Classify("inner", boom, 500, 0)
	if Classify("outer", inner, 400, 0) != inner {
		t.Error("a CallError was re-wrapped")
	}
}

type slowRunner struct {
	cur, peak atomic.Int64
}

func (s *slowRunner) Spec() string { return "test:slow" }
func (s *slowRunner) Run(ctx context.Context, _ Request) (Result, error) {
	n := s.cur.Add(1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(10 * time.Millisecond)
	s.cur.Add(-1)
	return Result{Runner: s.Spec()}, nil
}

func TestLimit(t *testing.T) {
	inner := &slowRunner{}
	r := Limit(inner, 3)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Run(context.Background(), Request{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if p := inner.peak.Load(); p != 3 {
		t.Errorf("peak concurrency %d, want 3", p)
	}
	if got := MaxConcurrency(r); got != 3 {
		t.Errorf("MaxConcurrency(Limit(r, 3)) = %d", got)
	}
	if got := MaxConcurrency(inner); got != 0 {
		t.Errorf("MaxConcurrency of a runner without a limit = %d, want 0", got)
	}
	// A caller that gives up while waiting for a slot gets its error.
	block := Limit(&slowRunner{}, 1)
	go block.Run(context.Background(), Request{})
	time.Sleep(time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res, err := block.Run(ctx, Request{}); err != nil && res.Error == "" {
		t.Errorf("error %v not recorded in the result", err)
	}
}

func TestDurationJSON(t *testing.T) {
	d := Duration(1234567 * time.Nanosecond)
	b, _ := d.MarshalJSON()
	if string(b) != "1.234" {
		t.Errorf("marshal: %s", b)
	}
	var back Duration
	if err := back.UnmarshalJSON(b); err != nil || back.Std() != 1234*time.Microsecond {
		t.Errorf("unmarshal: %v, %v", back.Std(), err)
	}
	if err := back.UnmarshalJSON([]byte(`"1s"`)); err == nil {
		t.Error("string accepted")
	}
}

// TestResultJSONAlwaysHasCost: every results line carries cost_usd, null
// when the model has no price, so scripts can rely on the field.
func TestResultJSONAlwaysHasCost(t *testing.T) {
	b, err := json.Marshal(Result{Runner: "ollama:m"})
	if err != nil || !strings.Contains(string(b), `"cost_usd":null`) {
		t.Errorf("%s, %v", b, err)
	}
	c := 0.25
	if b, _ := json.Marshal(Result{CostUSD: &c}); !strings.Contains(string(b), `"cost_usd":0.25`) {
		t.Errorf("%s", b)
	}
}
