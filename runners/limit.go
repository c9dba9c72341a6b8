package runners

import (
	"context"
	"fmt"
)

// Limit returns a Runner that lets at most n calls to r run at once; more
// callers wait (honouring their context). n < 1 means 1.
func Limit(r Runner, n int) Runner {
	if n < 1 {
		n = 1
	}
	return &limited{inner: r, sem: make(chan struct{}, n)}
}

type limited struct {
	inner Runner
	sem   chan struct{}
}

// Spec returns the wrapped runner's spec.
func (l *limited) Spec() string { return l.inner.Spec() }

// Run waits for a free slot (or ctx) and calls the wrapped runner.
func (l *limited) Run(ctx context.Context, req Request) (Result, error) {
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		err := fmt.Errorf("%s: waiting for a free slot: %w", l.inner.Spec(), ctx.Err())
		return Result{Runner: l.inner.Spec(), Error: err.Error()}, err
	}
	defer func() { <-l.sem }()
	return l.inner.Run(ctx, req)
}

// MaxConcurrency returns the limit.
func (l *limited) MaxConcurrency() int { return cap(l.sem) }

// ModelDigest forwards to the wrapped runner.
func (l *limited) ModelDigest(ctx context.Context) (string, error) {
	return Digest(ctx, l.inner)
}

// Preflight forwards to the wrapped runner.
func (l *limited) Preflight(ctx context.Context) error { return Preflight(ctx, l.inner) }

// ConcurrencyLimiter is implemented by runners that let only so many calls
// run at once (Limit); wrappers forward it.
type ConcurrencyLimiter interface {
	// MaxConcurrency is the most calls the runner runs at once.
	MaxConcurrency() int
}

// MaxConcurrency returns how many calls r runs at once when it caps them
// (a ConcurrencyLimiter), else 0: no limit is known.
func MaxConcurrency(r Runner) int {
	if l, ok := r.(ConcurrencyLimiter); ok {
		return l.MaxConcurrency()
	}
	return 0
}

// Digest returns r's model digest when r reports one, else "".
func Digest(ctx context.Context, r Runner) (string, error) {
	if d, ok := r.(DigestReporter); ok {
		return d.ModelDigest(ctx)
	}
	return "", nil
}

// Failed returns a Result for a call that failed before or during the
// request, with the error recorded in it, and the error itself.
func Failed(spec string, attempts int, err error) (Result, error) {
	return Result{Runner: spec, Attempts: attempts, Error: err.Error()}, err
}
