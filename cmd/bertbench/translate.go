package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/internal/outfile"
	"github.com/bertbench/bertbench/prompt"
	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/cache"
	"github.com/bertbench/bertbench/runners/factory"
	"github.com/bertbench/bertbench/runners/pricing"
	"github.com/bertbench/bertbench/runners/retry"
)

// translateCommand is `bertbench translate`, with the adapters and cache
// commands under it.
func translateCommand() *cli.Command {
	return &cli.Command{
		Name:      "translate",
		Usage:     "translate a file with one model (Ollama or OpenAI-compatible) and write JSONL results",
		UsageText: "bertbench translate --runner SPEC -i FILE [-o FILE] [--prompt TEMPLATE] [--temperature T] [--seed N] [--max-tokens N] [--concurrency N] [--no-cache]",
		Description: `Runner specs:
  ollama:MODEL[@http://host:port]       e.g. ollama:llama2:13b, ollama:llama2-zh-ft ($OLLAMA_HOST by default)
  openai:MODEL                          e.g. openai:gpt-3.5-turbo (key from $OPENAI_API_KEY)
  openai-compatible:MODEL@URL           e.g. openai-compatible:llama2@http://localhost:8000/v1
                                        (key, if any, from $OPENAI_COMPATIBLE_API_KEY)

Input: one source sentence per line (UTF-8; an empty line is an empty source,
written back with an empty output and no model call), or JSONL
(*.jsonl / --input-format jsonl) with a "source" field and an optional "id".

Output: one JSON object per input line, written as each call completes:
{"line", "id", "source", "runner", "model", "model_digest", "output",
"latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens", "ollama"
(Ollama's own counters), "done_reason", "cost_usd", "attempts", "cached",
"error"}. A failed call is written with its error and never cached; the
command then exits 1. Ctrl-C stops at once, keeping every finished line;
rerunning the same command resumes, since finished calls are served from the
response cache.

The --prompt template sees {{.Source}}, {{.To}}, {{.ID}} and {{.Line}}.`,
		Flags:  translateFlags(),
		Action: runTranslate,
	}
}

func translateFlags() []cli.Flag {
	return []cli.Flag{
		// runner and input are required, checked in runTranslate so that a
		// missing one is a usage error (exit 2) with a hint.
		// No -r: it means --refs in every bertbench command.
		&cli.StringFlag{Name: "runner", Usage: "runner `SPEC` (required; see above)"},
		&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "source `FILE` (required; - = stdin)", TakesFile: true},
		&cli.StringFlag{Name: "input-format", Value: "auto", Usage: "`FORMAT` of the input: text, jsonl, or auto (jsonl for *.jsonl and *.ndjson)"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "results `FILE` (JSONL; default stdout)", TakesFile: true},
		&cli.StringFlag{Name: "prompt", Value: prompt.DefaultTranslate, Usage: "prompt `TEMPLATE` (Go text/template)"},
		&cli.StringFlag{Name: "to", Usage: "target `LANGUAGE` named in the prompt as {{.To}}, e.g. Chinese (required when the prompt uses it; no default)"},
		&cli.StringFlag{Name: "system", Usage: "system prompt `TEXT`"},
		&cli.StringFlag{Name: "mode", Value: "chat", Usage: "API `MODE`: chat, or generate (Ollama only)"},
		&cli.Float64Flag{Name: "temperature", Usage: "sampling temperature `T` (0 = greedy)", DefaultText: "server's"},
		&cli.Float64Flag{Name: "top-p", Usage: "nucleus sampling `P`", DefaultText: "server's"},
		&cli.IntFlag{Name: "seed", Usage: "sampling seed `N`", DefaultText: "none"},
		&cli.IntFlag{Name: "max-tokens", Usage: "at most `N` generated tokens (Ollama num_predict)", DefaultText: "server's"},
		&cli.IntFlag{Name: "num-ctx", Usage: "Ollama context window `N`", DefaultText: "model's"},
		&cli.StringSliceFlag{Name: "stop", Usage: "stop `SEQUENCE` (repeatable)"},
		&cli.DurationFlag{Name: "keep-alive", Usage: "how long Ollama keeps the model loaded after a call (`DURATION`, e.g. 10m)", DefaultText: "server's"},
		&cli.IntFlag{Name: "concurrency", Aliases: []string{"j"}, Usage: "at most `N` calls at once", DefaultText: "1 for Ollama, 4 otherwise"},
		&cli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "per-call `TIMEOUT` (a call past it is retried)"},
		&cli.IntFlag{Name: "retries", Value: 5, Usage: "`N` attempts per call at most, on 429, 5xx, resets and timeouts"},
		&cli.BoolFlag{Name: "no-cache", Usage: "always call the model, and do not store results"},
		newCacheDirFlag(),
		&cli.StringFlag{Name: "prices", Usage: "price table `FILE` (JSON, USD per 1M tokens) laid over the built-in one", TakesFile: true},
		&cli.StringFlag{Name: "openai-base-url", Usage: "`URL` of the OpenAI API (default $OPENAI_BASE_URL, else https://api.openai.com/v1)"},
		&cli.StringFlag{Name: "openai-org", Usage: "OpenAI organisation `ID` (default $OPENAI_ORG_ID)"},
	}
}

// source is one input item.
type source struct {
	Line int    // 1-based line in the input file
	ID   any    // JSONL "id" as written (json.RawMessage), nil when absent
	Key  string // the item's id: the given one, else "L<line>"
	Text string // the text to translate
}

// outputLine is one JSONL record of translate's output.
type outputLine struct {
	Line   int    `json:"line"`
	ID     any    `json:"id,omitempty"`
	Source string `json:"source"`
	runners.Result
}

// job is one model call to make.
type job struct {
	src source
	req runners.Request
}

func runTranslate(c *cli.Context) error {
	ctx := c.Context
	for _, f := range []string{"runner", "input"} {
		if c.String(f) == "" {
			return usagef("translate: --%s is required (see bertbench translate --help)", f)
		}
	}
	if c.Args().Present() {
		return usagef("translate: unexpected argument %q (the sources go in -i FILE)", c.Args().First())
	}
	if err := refuseOutputOntoInput(c.String("input"), c.String("output")); err != nil {
		return err
	}
	sources, err := readSources(c.String("input"), c.String("input-format"), c.App.Reader)
	if err != nil {
		return asUsage(fmt.Errorf("translate: %w", err))
	}
	tmpl, err := prompt.Parse("--prompt", c.String("prompt"))
	if err != nil {
		return asUsage(fmt.Errorf("translate: %w", err))
	}
	if c.String("to") == "" && tmpl.UsesTarget() {
		return usagef("translate: --to is required: the prompt names the target language as {{.To}} (e.g. --to Chinese)")
	}
	base, err := requestFromFlags(c)
	if err != nil {
		return asUsage(fmt.Errorf("translate: %w", err))
	}
	spec, err := runners.ParseSpec(c.String("runner"))
	if err != nil {
		return asUsage(fmt.Errorf("translate: %w", err))
	}
	if base.Mode == runners.ModeGenerate && spec.Provider != runners.ProviderOllama {
		return usagef("translate: --mode generate needs an ollama: runner (%s speaks chat completions only)", spec.Provider)
	}
	jobs := make([]job, 0, len(sources))
	for _, s := range sources {
		text, err := tmpl.Render(prompt.Data{Source: s.Text, To: c.String("to"), ID: s.Key, Line: s.Line})
		if err != nil {
			return usagef("translate: line %d: %v", s.Line, err)
		}
		req := base
		req.Prompt = text
		jobs = append(jobs, job{src: s, req: req})
	}

	opts, store, err := factoryOptions(c)
	if err != nil {
		return err
	}
	if store != nil {
		var once sync.Once
		store.OnWriteError = func(err error) {
			once.Do(func() {
				fmt.Fprintf(c.App.ErrWriter, "translate: warning: results are not being cached: %v\n", err)
			})
		}
	}
	runner, err := factory.New(c.String("runner"), opts)
	if err != nil {
		return asUsage(fmt.Errorf("translate: %w", err))
	}
	// Fail fast on a missing model, before any output is written.
	if err := checkModel(ctx, runner, opts.Retry.Timeout); err != nil {
		if ctx.Err() != nil {
			return cli.Exit("translate: interrupted before the first call; nothing written", exitInterrupted)
		}
		return fmt.Errorf("translate: %w", err)
	}

	out, closeOut, err := openOutput(c.String("output"), c.App.Writer)
	if err != nil {
		return asUsage(fmt.Errorf("translate: %w", err))
	}
	stats, runErr := translateAll(ctx, runner, jobs, opts.Concurrency, out, c.App.ErrWriter)
	if err := closeOut(); err != nil && runErr == nil {
		runErr = fmt.Errorf("translate: writing output: %w", err)
	}
	where := c.String("output")
	if where == "" || where == "-" {
		where = "standard output"
	}
	fmt.Fprintf(c.App.ErrWriter, "translate: %d of %d lines written to %s (%d from cache, %d failed) in %v\n",
		stats.written, len(jobs), where, stats.cached, stats.failed, stats.elapsed.Round(time.Millisecond))
	switch {
	case runErr != nil:
		return runErr
	case ctx.Err() != nil:
		resume := "rerun the same command to resume (finished calls are cached)"
		if store == nil {
			resume = "with --no-cache a rerun calls the model again for every line"
		}
		return cli.Exit(fmt.Sprintf("translate: interrupted: %d of %d lines finished and kept; %s", stats.written, len(jobs), resume), exitInterrupted)
	case stats.failed > 0:
		return fmt.Errorf("translate: %d of %d calls failed (see the \"error\" field of those lines)", stats.failed, len(jobs))
	}
	return nil
}

// checkModel asks runners that can (Ollama) whether the model exists,
// within the per-call timeout.
func checkModel(ctx context.Context, r runners.Runner, timeout time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	_, err := runners.Digest(ctx, r)
	return err
}

// requestFromFlags builds the request parameters shared by every line.
func requestFromFlags(c *cli.Context) (runners.Request, error) {
	req := runners.Request{System: c.String("system")}
	switch m := runners.Mode(c.String("mode")); m {
	case runners.ModeChat, runners.ModeGenerate:
		req.Mode = m
	default:
		return req, fmt.Errorf("--mode %q: want chat or generate", m)
	}
	p := &req.Params
	if c.IsSet("temperature") {
		v := c.Float64("temperature")
		if v < 0 {
			return req, fmt.Errorf("--temperature %v: must be >= 0", v)
		}
		p.Temperature = &v
	}
	if c.IsSet("top-p") {
		v := c.Float64("top-p")
		if v < 0 || v > 1 {
			return req, fmt.Errorf("--top-p %v: must be in [0, 1]", v)
		}
		p.TopP = &v
	}
	if c.IsSet("seed") {
		v := c.Int("seed")
		p.Seed = &v
	}
	if c.IsSet("max-tokens") {
		v := c.Int("max-tokens")
		if v <= 0 {
			return req, fmt.Errorf("--max-tokens %d: must be positive", v)
		}
		p.MaxTokens = &v
	}
	if c.IsSet("num-ctx") {
		v := c.Int("num-ctx")
		if v <= 0 {
			return req, fmt.Errorf("--num-ctx %d: must be positive", v)
		}
		p.NumCtx = &v
	}
	p.Stop = c.StringSlice("stop")
	if c.IsSet("keep-alive") {
		v := c.Duration("keep-alive")
		p.KeepAlive = &v
	}
	return req, nil
}

// factoryOptions turns flags into the runner stack's options.
func factoryOptions(c *cli.Context) (factory.Options, *cache.Store, error) {
	opts := factory.Options{
		Concurrency:   c.Int("concurrency"),
		Retry:         retry.Policy{MaxAttempts: c.Int("retries"), Timeout: c.Duration("timeout")},
		OpenAIBaseURL: c.String("openai-base-url"),
		OpenAIOrg:     c.String("openai-org"),
	}
	if opts.Concurrency < 0 {
		return opts, nil, usagef("translate: --concurrency %d: must be positive", opts.Concurrency)
	}
	if opts.Retry.MaxAttempts < 1 {
		return opts, nil, usagef("translate: --retries %d: must be at least 1", opts.Retry.MaxAttempts)
	}
	if p := c.String("prices"); p != "" {
		t, err := pricing.Load(p)
		if err != nil {
			return opts, nil, asUsage(fmt.Errorf("translate: %w", err))
		}
		opts.Prices = t
	}
	if c.Bool("no-cache") {
		return opts, nil, nil
	}
	dir, err := responseCacheDir(c)
	if err != nil {
		return opts, nil, fmt.Errorf("translate: %w (or pass --cache-dir or --no-cache)", err)
	}
	store, err := cache.Open(dir)
	if err != nil {
		return opts, nil, fmt.Errorf("translate: %w (or pass --cache-dir or --no-cache)", err)
	}
	opts.Cache = store
	return opts, store, nil
}

// translateStats sums up a run.
type translateStats struct {
	written, cached, failed int
	elapsed                 time.Duration
}

// translateAll runs every job through r with `workers` goroutines (the
// runner itself enforces its concurrency limit) and writes one line per
// finished job, in completion order. A call cut short by ctx (Ctrl-C) is
// not written: it did not finish. A missing model stops the run after
// writing the failed line: every further call would fail the same way.
func translateAll(ctx context.Context, r runners.Runner, jobs []job, workers int, out io.Writer, stderr io.Writer) (translateStats, error) {
	start := time.Now()
	if workers <= 0 {
		workers = 4
	}
	workers = min(workers, max(len(jobs), 1))
	bar := newTranslateProgress(stderr, len(jobs))
	var (
		mu    sync.Mutex
		stats translateStats
		wErr  error
		stop  error // why the run stopped early (a missing model)
	)
	write := func(j job, res runners.Result) {
		line, err := json.Marshal(outputLine{Line: j.src.Line, ID: j.src.ID, Source: j.src.Text, Result: res})
		mu.Lock()
		defer mu.Unlock()
		if wErr != nil {
			return
		}
		if err == nil {
			_, err = out.Write(append(line, '\n'))
		}
		if err != nil {
			wErr = fmt.Errorf("translate: writing output: %w", err)
			return
		}
		stats.written++
		if res.Cached {
			stats.cached++
		}
		if res.Error != "" {
			stats.failed++
		}
		if bar != nil {
			bar.Add(1)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan job)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				if j.src.Text == "" {
					// Nothing to translate; keep the line so outputs
					// stay aligned with the input.
					write(j, runners.Result{Runner: r.Spec()})
					continue
				}
				res, err := r.Run(ctx, j.req)
				if err != nil && ctx.Err() != nil {
					continue // interrupted, not finished
				}
				write(j, res)
				mu.Lock()
				if stop == nil && errors.Is(err, runners.ErrModelNotFound) {
					stop = fmt.Errorf("translate: stopped at line %d: %w", j.src.Line, err)
				}
				halt := wErr != nil || stop != nil
				mu.Unlock()
				if halt {
					cancel()
				}
			}
		}()
	}
feed:
	for _, j := range jobs {
		select {
		case queue <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	if bar != nil {
		bar.Finish()
	}
	stats.elapsed = time.Since(start)
	if wErr != nil {
		return stats, wErr
	}
	return stats, stop
}

// newTranslateProgress returns a progress bar on w when w is a terminal.
func newTranslateProgress(w io.Writer, total int) *progressbar.ProgressBar {
	return newProgressBar(w, total, 2, "translating", "lines")
}

// openOutput opens the results file, or stdout for "" and "-". Lines are
// written straight through (no buffering, no temporary file: outfile.Stream
// writes a regular file in place), so an interrupted or killed run keeps
// every finished line; a symlink's target, a FIFO or a device is written,
// never replaced.
func openOutput(path string, stdout io.Writer) (io.Writer, func() error, error) {
	if path == "" || path == "-" {
		return stdout, func() error { return nil }, nil
	}
	f, err := outfile.Stream(path, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("output: %w", err)
	}
	return f, f.Commit, nil
}

// refuseOutputOntoInput refuses -o naming the -i file by any path (another
// spelling, a symlink, a hard link): the results would overwrite the
// sources.
func refuseOutputOntoInput(input, output string) error {
	if input == "-" || output == "" || output == "-" {
		return nil
	}
	in, err := os.Stat(input)
	if err != nil || !in.Mode().IsRegular() {
		return nil // a missing input is readSources' to report
	}
	if out, err := os.Stat(output); err == nil && os.SameFile(in, out) {
		return usagef("translate: -o %s is the -i file %s; write the results to another file", output, input)
	}
	return nil
}
