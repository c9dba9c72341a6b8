// Package retry wraps a runner with a per-attempt timeout and retries with
// exponential backoff and jitter for transient failures: HTTP 429 and 5xx,
// reset or truncated connections, and attempts that ran past the timeout.
// A server's Retry-After is honoured. Cancelling the caller's context stops
// at once, without retrying.
package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/bertbench/bertbench/runners"
)

// Policy says how often and how patiently to retry. The zero value of a
// field selects its default.
type Policy struct {
	// MaxAttempts is the total number of tries, first one included
	// (default 5; 1 disables retries).
	MaxAttempts int
	// BaseDelay is the backoff before the second attempt (default 500ms);
	// it doubles for each further attempt, with jitter.
	BaseDelay time.Duration
	// MaxDelay caps the backoff (default 30s).
	MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After the runner waits for
	// (default 2m); a server asking for more fails the call.
	MaxRetryAfter time.Duration
	// Timeout bounds each attempt (0: no limit beyond the caller's ctx).
	Timeout time.Duration
}

func (p Policy) withDefaults() Policy {
	if p.MaxAttempts < 1 {
		p.MaxAttempts = 5
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 500 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 30 * time.Second
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = 2 * time.Minute
	}
	return p
}

// Backoff returns the jittered delay before attempt n+1 after n failed
// attempts: uniformly random in [d/2, d] with d = BaseDelay·2^(n-1),
// capped at MaxDelay.
func (p Policy) Backoff(n int) time.Duration {
	p = p.withDefaults()
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// Delay returns the wait before attempt n+1 after n failed attempts whose
// last answer asked to retry after retryAfter (0: no Retry-After). A
// server's Retry-After is waited for in full, plus up to BaseDelay/2 of
// jitter so that the many callers a rate limit stopped at once do not all
// come back at the same instant; otherwise it is Backoff(n).
func (p Policy) Delay(n int, retryAfter time.Duration) time.Duration {
	p = p.withDefaults()
	if retryAfter <= 0 {
		return p.Backoff(n)
	}
	return retryAfter + time.Duration(rand.Int64N(int64(p.BaseDelay/2)+1))
}

// Wrap returns r with p applied. Result.Attempts counts every try.
func Wrap(r runners.Runner, p Policy) runners.Runner {
	return &retrier{inner: r, policy: p.withDefaults()}
}

type retrier struct {
	inner  runners.Runner
	policy Policy
}

// Spec returns the wrapped runner's spec.
func (rt *retrier) Spec() string { return rt.inner.Spec() }

// ModelDigest forwards to the wrapped runner.
func (rt *retrier) ModelDigest(ctx context.Context) (string, error) {
	return runners.Digest(ctx, rt.inner)
}

// MaxConcurrency forwards to the wrapped runner.
func (rt *retrier) MaxConcurrency() int { return runners.MaxConcurrency(rt.inner) }

// Preflight forwards to the wrapped runner, without retries: a server that
// is not there at the start is reported at once.
func (rt *retrier) Preflight(ctx context.Context) error { return runners.Preflight(ctx, rt.inner) }

// Run tries req until it succeeds, fails for good, runs out of attempts,
// or ctx ends; Result.Attempts counts the tries.
func (rt *retrier) Run(ctx context.Context, req runners.Request) (runners.Result, error) {
	p := rt.policy
	for attempt := 1; ; attempt++ {
		res, err := rt.attempt(ctx, req)
		res.Attempts = attempt
		if res.Runner == "" {
			res.Runner = rt.inner.Spec()
		}
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil {
			// The caller gave up (Ctrl-C, overall deadline): no retry.
			return fail(res, err)
		}
		var ce *runners.CallError
		retryable := errors.As(err, &ce) && ce.Retryable
		if !retryable {
			return fail(res, err)
		}
		if attempt >= p.MaxAttempts {
			return fail(res, fmt.Errorf("giving up after %d attempts: %w", attempt, err))
		}
		if ce.RetryAfter > p.MaxRetryAfter {
			return fail(res, fmt.Errorf("server asked to retry after %v, longer than the %v limit: %w", ce.RetryAfter, p.MaxRetryAfter, err))
		}
		t := time.NewTimer(p.Delay(attempt, ce.RetryAfter))
		select {
		case <-ctx.Done():
			t.Stop()
			return fail(res, fmt.Errorf("%w (while waiting to retry after: %v)", ctx.Err(), err))
		case <-t.C:
		}
	}
}

// attempt runs one try under the per-attempt timeout, turning a timeout of
// the attempt (not of the caller) into a retryable error.
func (rt *retrier) attempt(ctx context.Context, req runners.Request) (runners.Result, error) {
	if rt.policy.Timeout <= 0 {
		return rt.inner.Run(ctx, req)
	}
	actx, cancel := context.WithTimeout(ctx, rt.policy.Timeout)
	defer cancel()
	res, err := rt.inner.Run(actx, req)
	if err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		err = &runners.CallError{
			Op:        rt.inner.Spec(),
			Retryable: true,
			Err:       fmt.Errorf("no complete response within the %v timeout: %w", rt.policy.Timeout, context.DeadlineExceeded),
		}
	}
	return res, err
}

func fail(res runners.Result, err error) (runners.Result, error) {
	res.Error = err.Error()
	return res, err
}
