// Package batch runs many requests through one runner: a bounded pool of
// workers takes jobs from a stream and hands each finished call back to
// the caller, in completion order, with the caller's key (an input line,
// or an item, a variation and a repeat), so that results can be written
// as they come (vegeta's results as a stream).
//
// The batch stops feeding on its own when a call fails in a way that every
// further call to the runner would too (runners.StopsBatch: the model is
// missing, the server cannot be reached), and says why; other failed calls
// are outcomes like any other. A call cut short by ctx did not finish and
// is never handed back, so a caller that stores outcomes can resume by
// running what it has not stored.
//
// # Examples
//
//	jobs := func(yield func(batch.Job[int]) bool) {
//		for i, text := range texts {
//			if !yield(batch.Job[int]{Key: i, Request: runners.Request{Prompt: text}, Empty: text == ""}) {
//				return
//			}
//		}
//	}
//	sum, err := batch.Run(ctx, runner, jobs, batch.Options{}, func(o batch.Outcome[int]) error {
//		return store.Save(o.Key, o.Result) // one at a time, in completion order
//	})
//	var stop *batch.StopError[int]
//	if errors.As(err, &stop) {
//		log.Printf("stopped at %d: %v", stop.Key, stop.Err)
//	}
//	log.Print(&sum.Tally) // "3 live calls (latency median ...), 2 from cache, 0 failed"
package batch

import (
	"context"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bertbench/bertbench/runners"
)

// DefaultWorkers is how many calls a batch makes at once through a runner
// that reports no limit of its own (runners.MaxConcurrency).
const DefaultWorkers = 4

// Job is one request to make, with the caller's key.
type Job[K any] struct {
	// Key identifies the job to the caller; the batch only carries it
	// over to the job's Outcome.
	Key K
	// Request is what to send.
	Request runners.Request
	// Empty marks a job with nothing to send, such as an empty source: it
	// finishes at once, with an empty output and no model call
	// (Result.Runner set, Attempts 0), so that the caller's outputs stay
	// aligned with its inputs.
	Empty bool
}

// Outcome is a finished job: the call's Result, which records a failure
// too (Result.Error), and its error.
type Outcome[K any] struct {
	// Key is the job's key.
	Key K
	// Result is what the runner returned.
	Result runners.Result
	// Err is the call's error, nil on success.
	Err error
}

// Options tune a batch. The zero value is ready to use.
type Options struct {
	// Workers is the most calls the batch makes at once. Default (0): the
	// runner's own limit (runners.MaxConcurrency), else DefaultWorkers.
	// More workers than the runner lets run at once only wait for it.
	Workers int
}

// Summary sums up a batch.
type Summary struct {
	// Finished counts the outcomes handed to the callback and accepted
	// (it returned nil).
	Finished int
	// Tally sums those outcomes up, live calls apart from cached results;
	// Empty jobs are not counted in it.
	Tally runners.Tally
	// Elapsed is how long the batch ran.
	Elapsed time.Duration
}

// StopError reports a batch that stopped feeding because a call failed in
// a way every further call to the runner would (runners.StopsBatch). The
// failed call's outcome was handed over like any other.
type StopError[K any] struct {
	// Key is the key of the job whose call failed.
	Key K
	// Err is that call's error.
	Err error
}

// Error describes the stop with the call's error.
func (e *StopError[K]) Error() string { return "batch stopped: " + e.Err.Error() }

// Unwrap returns the call's error, so that errors.Is finds its kind
// (runners.ErrModelNotFound, runners.ErrUnreachable).
func (e *StopError[K]) Unwrap() error { return e.Err }

// Run sends every job of jobs through r and calls each with every
// finished job's Outcome, one at a time on the caller's goroutine, in
// completion order. jobs is ranged over once, on a goroutine of its own,
// and left early when the batch stops; a source that blocks (a slow
// reader) must itself give up when ctx is done. A nil each discards the
// outcomes.
//
// Run returns when every job has finished or the batch has stopped, and
// every goroutine it started has ended. The error is nil when every job
// finished (failed calls included: they are outcomes); else the error
// each returned, which stops the batch and hands nothing more over; else
// a *StopError; else ctx's error when ctx ended before every job had
// finished. Calls cut short by a stop or by ctx are not handed over.
func Run[K any](ctx context.Context, r runners.Runner, jobs iter.Seq[Job[K]], opts Options, each func(Outcome[K]) error) (Summary, error) {
	start := time.Now()
	workers := opts.Workers
	if workers <= 0 {
		workers = runners.MaxConcurrency(r)
	}
	if workers <= 0 {
		workers = DefaultWorkers
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		queue    = make(chan Job[K])
		finished = make(chan Outcome[K])
		// unfinished: a job was left unfed, skipped or cut short.
		unfinished atomic.Bool
		wg         sync.WaitGroup
	)
	wg.Go(func() {
		defer close(queue)
		for j := range jobs {
			select {
			case queue <- j:
			case <-runCtx.Done():
				unfinished.Store(true)
				return
			}
		}
	})
	for range workers {
		wg.Go(func() {
			for j := range queue {
				if runCtx.Err() != nil {
					unfinished.Store(true)
					continue
				}
				if j.Empty {
					finished <- Outcome[K]{Key: j.Key, Result: runners.Result{Runner: r.Spec()}}
					continue
				}
				res, err := r.Run(runCtx, j.Request)
				if err != nil && runCtx.Err() != nil {
					unfinished.Store(true) // cut short, not finished
					continue
				}
				if runners.StopsBatch(err) {
					// Stop before this worker takes another job, so that
					// no further call goes out after this one.
					cancel()
				}
				finished <- Outcome[K]{Key: j.Key, Result: res, Err: err}
			}
		})
	}
	go func() {
		wg.Wait()
		close(finished)
	}()

	var (
		sum   Summary
		eachE error
		stop  *StopError[K]
	)
	for o := range finished {
		if eachE != nil {
			continue // draining: the caller takes no more
		}
		if each != nil {
			if err := each(o); err != nil {
				eachE = err
				cancel()
				continue
			}
		}
		sum.Finished++
		sum.Tally.Add(o.Result)
		if stop == nil && runners.StopsBatch(o.Err) {
			stop = &StopError[K]{Key: o.Key, Err: o.Err}
		}
	}
	sum.Elapsed = time.Since(start)
	switch {
	case eachE != nil:
		return sum, eachE
	case stop != nil:
		return sum, stop
	case unfinished.Load() && ctx.Err() != nil:
		return sum, ctx.Err()
	}
	return sum, nil
}
