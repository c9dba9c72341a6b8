package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/internal/outfile"
	"github.com/bertbench/bertbench/prompt"
	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/batch"
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
  replay:FILE                           answers each line with the output recorded for its id
                                        (or line) in FILE, e.g. an earlier -o file; no model call

Input: one source sentence per line (UTF-8; an empty line is an empty source,
written back with an empty output and no model call), JSONL (*.jsonl,
*.ndjson) with a "source" field and an optional "id", or CSV/TSV (*.csv,
*.tsv) with a header naming the "source" and optional "id" columns.

Output: one JSON object per input line, written as each call completes:
{"line", "id", "source", "runner", "model", "model_digest", "output",
"latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens", "ollama"
(Ollama's own counters), "done_reason", "truncated_input", "cost_usd",
"attempts", "cached", "replayed", "error"}. A failed call is written with its error and never cached; the
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
		&cli.StringFlag{Name: "input-format", Value: "auto", Usage: "`FORMAT` of the input: text, jsonl, csv, tsv, or auto (by extension: .jsonl/.ndjson, .csv, .tsv, else text)"},
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
		&cli.StringFlag{Name: "prices", Usage: "price table `FILE` (JSON, USD per 1M tokens) laid over the built-in one; prices every runner kind, cached lines too", TakesFile: true},
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
	jobs := make([]batch.Job[source], 0, len(sources))
	for _, s := range sources {
		text, err := tmpl.Render(prompt.Data{Source: s.Text, To: c.String("to"), ID: s.Key, Line: s.Line})
		if err != nil {
			return usagef("translate: line %d: %v", s.Line, err)
		}
		req := base
		req.Prompt, req.ItemID = text, s.Key
		// An empty source is written back with an empty output, never
		// sent, so that the output lines stay aligned with the input.
		jobs = append(jobs, batch.Job[source]{Key: s, Request: req, Empty: s.Text == ""})
	}

	opts, store, err := factoryOptions(c, "translate")
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
	// Fail fast on a missing model or an unreachable server, before any
	// output is written.
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
	sum, runErr := writeResults(ctx, runner, jobs, out, c.App.ErrWriter)
	if err := closeOut(); err != nil && runErr == nil {
		runErr = fmt.Errorf("translate: writing output: %w", err)
	}
	where := c.String("output")
	if where == "" || where == "-" {
		where = "standard output"
	}
	if w := truncationWarning(&sum.Tally); w != "" {
		fmt.Fprintln(c.App.ErrWriter, "translate: warning: "+w)
	}
	fmt.Fprintf(c.App.ErrWriter, "translate: %d of %d lines written to %s in %v: %s\n",
		sum.Finished, len(jobs), where, sum.Elapsed.Round(time.Millisecond), &sum.Tally)
	switch {
	case runErr != nil:
		return runErr
	case ctx.Err() != nil:
		resume := "rerun the same command to resume (finished calls are cached)"
		if store == nil {
			resume = "with --no-cache a rerun calls the model again for every line"
		}
		return cli.Exit(fmt.Sprintf("translate: interrupted: %d of %d lines finished and kept; %s", sum.Finished, len(jobs), resume), exitInterrupted)
	case sum.Tally.Failed > 0:
		return fmt.Errorf("translate: %d of %d calls failed (see the \"error\" field of those lines)", sum.Tally.Failed, len(jobs))
	}
	return nil
}

// writeResults runs the jobs as one batch (runners/batch: as many calls
// at once as the runner allows, a missing model or an unreachable server
// stops it) and writes one line per finished job, in completion order,
// with a progress bar on a terminal. A call cut short by ctx (Ctrl-C) is
// not written: it did not finish. An interruption is left to the caller
// to report (ctx.Err()); the error is a write error or why the batch
// stopped, naming the line.
func writeResults(ctx context.Context, r runners.Runner, jobs []batch.Job[source], out, stderr io.Writer) (batch.Summary, error) {
	bar := newTranslateProgress(stderr, len(jobs))
	sum, err := batch.Run(ctx, r, slices.Values(jobs), batch.Options{}, func(o batch.Outcome[source]) error {
		line, err := json.Marshal(outputLine{Line: o.Key.Line, ID: o.Key.ID, Source: o.Key.Text, Result: o.Result})
		if err == nil {
			_, err = out.Write(append(line, '\n'))
		}
		if err != nil {
			return fmt.Errorf("translate: writing output: %w", err)
		}
		if bar != nil {
			bar.Add(1)
		}
		return nil
	})
	if bar != nil {
		bar.Finish()
	}
	var stop *batch.StopError[source]
	switch {
	case errors.As(err, &stop):
		err = fmt.Errorf("translate: stopped at line %d: %w", stop.Key.Line, stop.Err)
	case err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()):
		err = nil
	}
	return sum, err
}

// checkModel asks the runner whether the server answers and has the
// model (runners.Preflight), within the per-call timeout.
func checkModel(ctx context.Context, r runners.Runner, timeout time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return runners.Preflight(ctx, r)
}

// requestFromFlags builds the request parameters shared by every line,
// checked by runners.Request.Validate; a bad value is named by its flag,
// e.g. "--temperature -1: must be >= 0".
func requestFromFlags(c *cli.Context) (runners.Request, error) {
	req := runners.Request{System: c.String("system"), Mode: runners.Mode(c.String("mode"))}
	p := &req.Params
	if c.IsSet("temperature") {
		p.Temperature = ptr(c.Float64("temperature"))
	}
	if c.IsSet("top-p") {
		p.TopP = ptr(c.Float64("top-p"))
	}
	if c.IsSet("seed") {
		p.Seed = ptr(c.Int("seed"))
	}
	if c.IsSet("max-tokens") {
		p.MaxTokens = ptr(c.Int("max-tokens"))
	}
	if c.IsSet("num-ctx") {
		p.NumCtx = ptr(c.Int("num-ctx"))
	}
	p.Stop = c.StringSlice("stop")
	if c.IsSet("keep-alive") {
		p.KeepAlive = ptr(c.Duration("keep-alive"))
	}
	if err := req.Validate(); err != nil {
		var fe *runners.FieldError
		if errors.As(err, &fe) {
			// The flags are named after the fields: top_p is --top-p.
			return req, fe.Rename("--" + strings.ReplaceAll(fe.Field, "_", "-"))
		}
		return req, err
	}
	return req, nil
}

func ptr[T any](v T) *T { return &v }

// factoryOptions turns the runner flags shared by translate and generate
// (concurrency, retries, timeout, prices, OpenAI base URL and org, the
// response cache) into the runner stack's options; command names the
// command in messages. The store is nil with --no-cache.
func factoryOptions(c *cli.Context, command string) (factory.Options, *cache.Store, error) {
	opts := factory.Options{
		Concurrency:   c.Int("concurrency"),
		Retry:         retry.Policy{MaxAttempts: c.Int("retries"), Timeout: c.Duration("timeout")},
		OpenAIBaseURL: c.String("openai-base-url"),
		OpenAIOrg:     c.String("openai-org"),
	}
	if opts.Concurrency < 0 {
		return opts, nil, usagef("%s: --concurrency %d: must be positive", command, opts.Concurrency)
	}
	if opts.Retry.MaxAttempts < 1 {
		return opts, nil, usagef("%s: --retries %d: must be at least 1", command, opts.Retry.MaxAttempts)
	}
	if p := c.String("prices"); p != "" {
		t, err := pricing.Load(p)
		if err != nil {
			return opts, nil, asUsage(fmt.Errorf("%s: %w", command, err))
		}
		opts.Prices = t
	}
	if c.Bool("no-cache") {
		return opts, nil, nil
	}
	dir, err := responseCacheDir(c)
	if err != nil {
		return opts, nil, fmt.Errorf("%s: %w (or pass --cache-dir or --no-cache)", command, err)
	}
	store, err := cache.Open(dir)
	if err != nil {
		return opts, nil, fmt.Errorf("%s: %w (or pass --cache-dir or --no-cache)", command, err)
	}
	opts.Cache = store
	return opts, store, nil
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
