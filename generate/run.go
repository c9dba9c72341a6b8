package generate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/bertbench/bertbench/internal/outfile"
	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/batch"
)

// windowPerWorker bounds how far calls run ahead of judging, which is in
// request order: at most this many requests per worker are issued past
// the first one not yet judged.
const windowPerWorker = 2

// Run generates items into Options.Output until it holds Options.Count
// (resuming the file when it exists; see the package documentation) or
// MaxAttempts requests were judged. Before the first call, and after the
// file was checked, it makes sure that the teacher answers and has its
// model (runners.Preflight), so that a missing model or an unreachable
// server fails before the file is touched.
//
// The report is returned with every error. The error is nil when the file
// holds Count items; it matches ErrInvalidInput for bad options or an
// output file these options did not write, ErrPreflight (and the kind of
// its cause) when the teacher failed its preflight, before the file was
// touched, and ErrTargetNotReached when MaxAttempts ran out; it is a *batch.StopError when a call failed in a
// way every further call would (the model is missing, the server cannot be
// reached), ctx's error when ctx ended first, or a write error. Every item
// accepted before an error is in the file.
func Run(ctx context.Context, o Options) (Report, error) {
	start := time.Now()
	rep := Report{Target: o.Count, Rejected: map[Reason]int{}}
	if err := o.Validate(); err != nil {
		return rep, err
	}
	p, err := o.plan()
	if err != nil {
		return rep, err
	}
	d := newDedup(o.NearDuplicate)
	st, err := resume(o.Output, p, d)
	if err != nil {
		return rep, err
	}
	rep.Resumed, rep.NextRequest, rep.DroppedTornLine = st.items, st.next, st.torn
	defer func() { rep.Elapsed = time.Since(start) }()
	if rep.Done() {
		return rep, nil
	}
	if st.next >= o.maxAttempts() {
		return rep, notReached(&rep, o)
	}
	if !st.exists {
		// A new file: make sure it can be made before calling anyone.
		if err := outfile.Check(o.Output); err != nil {
			return rep, inputError{err}
		}
	}
	if err := preflight(ctx, o); err != nil {
		return rep, err
	}
	f, err := outfile.Append(o.Output, 0o644, st.keep)
	if err != nil {
		return rep, inputError{err}
	}
	runErr := p.run(ctx, f, d, &rep)
	if err := f.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("writing %s: %w", o.Output, err)
	}
	if runErr == nil && !rep.Done() {
		runErr = notReached(&rep, o)
	}
	return rep, runErr
}

// preflight runs the teacher's preflight, bounded by PreflightTimeout.
func preflight(ctx context.Context, o Options) error {
	pctx := ctx
	if o.PreflightTimeout > 0 {
		var cancel context.CancelFunc
		pctx, cancel = context.WithTimeout(ctx, o.PreflightTimeout)
		defer cancel()
	}
	err := runners.Preflight(pctx, o.Teacher)
	if err == nil {
		err = ctx.Err() // some checks take an answer cut short for a server that is there
	}
	if err != nil {
		return fmt.Errorf("teacher %s: %w", o.Teacher.Spec(), preflightError{err})
	}
	return nil
}

// inputError marks an error about the output path as ErrInvalidInput.
type inputError struct{ err error }

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == ErrInvalidInput }

// preflightError is a failed preflight: it matches ErrPreflight and the
// error's own kind.
type preflightError struct{ err error }

func (e preflightError) Error() string        { return e.err.Error() }
func (e preflightError) Unwrap() error        { return e.err }
func (e preflightError) Is(target error) bool { return target == ErrPreflight }

func notReached(rep *Report, o Options) error {
	return fmt.Errorf("%w: %d of %d items after %d requests, the most allowed (rejected: %s); allow more requests, or loosen the checks the answers fail",
		ErrTargetNotReached, rep.Total(), o.Count, o.maxAttempts(), rep.RejectedString())
}

// run makes and judges the requests from rep.NextRequest on.
func (p *plan) run(ctx context.Context, out *outfile.File, d *dedup, rep *Report) error {
	o := p.o
	workers := o.Concurrency
	if workers <= 0 {
		workers = runners.MaxConcurrency(o.Teacher)
	}
	if workers <= 0 {
		workers = batch.DefaultWorkers
	}
	window, limit := windowPerWorker*workers, o.maxAttempts()

	var (
		mu       sync.Mutex
		issued   = rep.NextRequest // the next request to send
		cursor   = rep.NextRequest // the next request to judge
		total    = rep.Total()
		buildErr error
		// stopped: the batch stops feeding (a call that stops it, or a
		// write error): the feed must not wait for answers that will not
		// come.
		stopped bool
		wake    = make(chan struct{}, 1)
	)
	// over reports, under mu, that no more requests are to be sent.
	over := func() bool { return stopped || buildErr != nil || total >= o.Count || issued >= limit }
	lines := map[int]Line{} // the requests sent and not yet judged, under mu
	jobs := func(yield func(batch.Job[int]) bool) {
		for {
			mu.Lock()
			for !over() && issued >= cursor+window {
				mu.Unlock()
				select {
				case <-wake:
				case <-ctx.Done():
					return
				}
				mu.Lock()
			}
			if over() {
				mu.Unlock()
				return
			}
			i := issued
			line, err := p.request(i)
			if err != nil {
				buildErr = err
				mu.Unlock()
				return
			}
			issued++
			lines[i] = line
			mu.Unlock()
			if !yield(batch.Job[int]{Key: i, Request: line.runnerRequest()}) {
				return
			}
		}
	}

	pending := map[int]batch.Outcome[int]{} // finished, waiting for an earlier one
	each := func(oc batch.Outcome[int]) error {
		defer func() {
			select {
			case wake <- struct{}{}:
			default:
			}
		}()
		rep.Calls.Add(oc.Result) // here, not batch's tally: that skips the call whose write failed
		mu.Lock()
		done := total >= o.Count
		if runners.StopsBatch(oc.Err) {
			stopped = true // batch.Run stops after this call; so does the feed
		}
		mu.Unlock()
		if done {
			rep.Unused++
			return nil
		}
		pending[oc.Key] = oc
		for {
			next, ok := pending[cursor]
			if !ok {
				return nil
			}
			delete(pending, cursor)
			mu.Lock()
			line := lines[cursor]
			delete(lines, cursor)
			mu.Unlock()
			line, reason, commit := p.judge(line, next, d)
			if reason != "" {
				rep.Rejected[reason]++
			} else {
				b, err := json.Marshal(line)
				if err == nil {
					_, err = out.Write(append(b, '\n'))
				}
				if err != nil {
					mu.Lock()
					stopped = true
					mu.Unlock()
					rep.Unused++ // not kept
					return fmt.Errorf("writing %s: %w", o.Output, err)
				}
				commit()
				rep.Accepted++
			}
			rep.Judged++
			mu.Lock()
			cursor++
			if reason == "" {
				total++
			}
			done := total >= o.Count
			mu.Unlock()
			rep.NextRequest = cursor
			if o.Progress != nil {
				r := *rep
				r.Rejected = maps.Clone(rep.Rejected)
				o.Progress(r)
			}
			if done {
				rep.Unused += len(pending)
				clear(pending)
				return nil
			}
		}
	}
	_, err := batch.Run(ctx, o.Teacher, jobs, batch.Options{Workers: workers}, each)
	rep.Unused += len(pending) // an earlier request never came back
	if err == nil {
		if ctx.Err() != nil && !rep.Done() {
			return ctx.Err() // the feed gave up waiting
		}
		mu.Lock()
		err = buildErr
		mu.Unlock()
	}
	var stop *batch.StopError[int]
	if errors.As(err, &stop) {
		return fmt.Errorf("stopped at request %d: %w", stop.Key, err)
	}
	return err
}
