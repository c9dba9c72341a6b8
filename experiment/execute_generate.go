package experiment

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bertbench/bertbench/prompt"
	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/batch"
	"github.com/bertbench/bertbench/runners/cache"
	"github.com/bertbench/bertbench/runners/factory"
	"github.com/bertbench/bertbench/runners/retry"
	"github.com/bertbench/bertbench/store"
)

// defaultPreflightTimeout bounds a runner's preflight check when the
// runner sets no timeout of its own.
const defaultPreflightTimeout = time.Minute

// lane is the runners that run one after another: those on one Ollama
// server, or a single other runner.
type lane struct {
	key     string
	runners []*laneRunner
}

// laneRunner is one runner of the config with the plan's runs through it.
type laneRunner struct {
	name string
	spec string // resolved (replay:FILE against the config's folder)
	runs []*Run
	// pending counts the generations still to make.
	pending int

	// Set by prepare: the runner stack, its model's digest (for the
	// request keys), whether it replays a recording, and the parsed
	// templates by text.
	runner    runners.Runner
	digest    string
	replayed  bool
	templates map[string]*prompt.Template
}

// genKey is a job's key: the run, the item, and the request's cache key.
type genKey struct {
	run        *Run
	item       string
	requestKey string
}

// generate makes every generation the store does not hold. It returns
// the error of a runner that stopped (the others go on) apart from a
// failure that ends the run.
func (x *executor) generate(ctx context.Context) (stopped error, err error) {
	done, err := x.run.Done(ctx)
	if err != nil {
		return nil, err
	}
	lanes, total, err := x.lanes(ctx, done)
	if err != nil {
		return nil, err
	}
	x.rep.Skipped = done.Finished()
	if total == 0 {
		return nil, nil
	}
	var (
		count    atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		stops    []error
		failures []error
	)
	// Every runner with work to do is built and checked (the server
	// answers, the model is there) before the first call, so that a typo
	// in a model name fails the run before anything is generated.
	for _, l := range lanes {
		for _, lr := range l.runners {
			if lr.pending > 0 {
				if err := x.prepare(ctx, lr); err != nil {
					return nil, err
				}
			}
		}
	}
	x.progress(Progress{Phase: PhaseGenerate, Total: total})
	for _, l := range lanes {
		wg.Go(func() {
			for _, lr := range l.runners {
				if lr.pending == 0 {
					continue
				}
				err := x.runRunner(ctx, lr, done, func() {
					x.progress(Progress{Phase: PhaseGenerate, Done: int(count.Add(1)), Total: total})
				})
				var stop *batch.StopError[genKey]
				switch {
				case err == nil:
					continue
				case errors.As(err, &stop):
					mu.Lock()
					stops = append(stops, fmt.Errorf("runner %s stopped at variation %s, item %s: %w; the other runners went on; fix it and run again with --resume",
						lr.name, stop.Key.run.ID(), stop.Key.item, stop.Err))
					mu.Unlock()
					continue // the lane's next runner may be fine
				case ctx.Err() != nil:
				default:
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
				return
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("interrupted while generating: %w", err)
	}
	if len(failures) > 0 {
		return nil, errors.Join(failures...)
	}
	return errors.Join(stops...), nil
}

// lanes groups the plan's runs by runner and the runners into lanes, and
// counts what each runner has left to do.
func (x *executor) lanes(ctx context.Context, done *store.DoneSet) ([]*lane, int, error) {
	byName := map[string]*laneRunner{}
	var order []*laneRunner
	for i := range x.plan {
		r := &x.plan[i]
		lr := byName[r.Runner]
		if lr == nil {
			lr = &laneRunner{name: r.Runner, spec: r.Spec}
			byName[r.Runner] = lr
			order = append(order, lr)
		}
		lr.runs = append(lr.runs, r)
	}
	total := 0
	for it, err := range x.run.Items(ctx) {
		if err != nil {
			return nil, 0, err
		}
		for _, lr := range order {
			for _, r := range lr.runs {
				if done.State(store.Key{Variation: r.Name, Item: it.ID, Repeat: r.Repeat}) != store.Finished {
					lr.pending++
					total++
				}
			}
		}
	}
	laneOf := map[string]*lane{}
	var lanes []*lane
	for _, lr := range order {
		key := "runner " + lr.name
		if sp, err := runners.ParseSpec(lr.spec); err == nil && sp.Provider == runners.ProviderOllama {
			key = "ollama " + sp.BaseURL
		}
		l := laneOf[key]
		if l == nil {
			l = &lane{key: key}
			laneOf[key] = l
			lanes = append(lanes, l)
		}
		l.runners = append(l.runners, lr)
	}
	return lanes, total, nil
}

// prepare builds the runner lr names and checks it (runners.Preflight),
// within the runner's timeout.
func (x *executor) prepare(ctx context.Context, lr *laneRunner) error {
	first := lr.runs[0]
	r, err := factory.New(lr.spec, factory.Options{
		Concurrency: first.Concurrency,
		Retry:       retry.Policy{MaxAttempts: first.Retries, Timeout: first.Timeout},
		Cache:       x.opts.Cache,
		Prices:      x.opts.Prices,
		Getenv:      x.opts.Getenv,
	})
	if err != nil {
		return runnerError(lr.name, err)
	}
	if err := preflight(ctx, r, first.Timeout); err != nil {
		return runnerError(lr.name, err)
	}
	digest, err := runners.Digest(ctx, r) // known since the preflight
	if err != nil {
		return runnerError(lr.name, err)
	}
	if sp, err := runners.ParseSpec(lr.spec); err == nil && sp.Provider == runners.ProviderReplay {
		lr.replayed = true
	}
	lr.templates = map[string]*prompt.Template{}
	for _, run := range lr.runs {
		if lr.templates[run.Template] == nil {
			t, err := prompt.Parse(run.Prompt, run.Template)
			if err != nil {
				return inputError{err} // Validate parsed it already
			}
			lr.templates[run.Template] = t
		}
	}
	lr.runner, lr.digest = r, digest
	return nil
}

// runRunner runs lr's pending generations as one batch, storing each
// outcome as it comes.
func (x *executor) runRunner(ctx context.Context, lr *laneRunner, done *store.DoneSet, tick func()) error {
	r, digest, templates, replayed := lr.runner, lr.digest, lr.templates, lr.replayed
	var jobErr error
	jobs := func(yield func(batch.Job[genKey]) bool) {
		for it, err := range x.items() {
			if err != nil {
				jobErr = err
				return
			}
			for _, run := range lr.runs {
				if done.State(store.Key{Variation: run.Name, Item: it.ID, Repeat: run.Repeat}) == store.Finished {
					continue
				}
				text, err := templates[run.Template].Render(prompt.Data{Source: it.Source, To: x.cfg.To, ID: it.ID, Line: it.Line, Fields: it.Extra})
				if err != nil {
					jobErr = inputError{fmt.Errorf("variation %s: item %s: %w", run.Name, it.ID, err)}
					return
				}
				req := runners.Request{Prompt: text, System: run.System, Mode: run.Mode, Params: run.Params, ItemID: it.ID, Repeat: run.Repeat}
				key := genKey{run: run, item: it.ID}
				if !replayed {
					if key.requestKey, err = cache.Key(r.Spec(), digest, req); err != nil {
						jobErr = err
						return
					}
				}
				if !yield(batch.Job[genKey]{Key: key, Request: req, Empty: it.Source == ""}) {
					return
				}
			}
		}
	}
	bctx, stop := context.WithCancel(ctx)
	defer stop()
	_, err := batch.Run(bctx, r, func(yield func(batch.Job[genKey]) bool) {
		jobs(yield)
		if jobErr != nil {
			stop() // the batch ends with the jobs fed so far
		}
	}, batch.Options{}, func(o batch.Outcome[genKey]) error {
		g := store.Generation{Key: store.Key{Variation: o.Key.run.Name, Item: o.Key.item, Repeat: o.Key.run.Repeat}, RequestKey: o.Key.requestKey, Result: o.Result}
		if _, err := x.run.PutGeneration(ctx, g); err != nil {
			return err
		}
		x.count(func(r *Report) {
			r.Generated++
			if o.Result.Error != "" {
				r.Failed++
			}
		})
		tick()
		return nil
	})
	if jobErr != nil {
		return jobErr
	}
	return err
}

// preflight checks that r's server answers and has its model
// (runners.Preflight), within timeout (0: defaultPreflightTimeout).
func preflight(ctx context.Context, r runners.Runner, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = defaultPreflightTimeout
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := runners.Preflight(pctx, r)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
