package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/bench"
	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/factory"
	"github.com/bertbench/bertbench/runners/retry"
)

// benchGeneratePrompt is the request bench generate sends without
// --prompt or --input.
const benchGeneratePrompt = "Translate into Chinese: The committee will publish its report on the new railway line next spring, after a public consultation."

func benchGenerateCommand() *cli.Command {
	specs := &stringList{}
	return &cli.Command{
		Name:      "generate",
		Usage:     "load-test translation runners: TTFT, latency, tokens/s and errors per concurrency level",
		UsageText: "bertbench bench generate --runner SPEC [--runner SPEC ...] [--concurrency 1,2,4] [--requests N | --duration D] [--prompt TEXT | --input FILE] [--max-tokens N] [--warmup N] [--timeout D] [--format text|json]",
		Description: `Sends requests to each --runner (a spec such as ollama:MODEL@http://host:port,
openai-compatible:NAME@http://host:port/v1 or openai:MODEL), one runner
after the other: first --warmup requests one at a time, unmeasured (they
load the model), then each --concurrency level in turn with that many
requests in flight at once, --requests of them a level (with --duration,
a level also ends once it has run that long: no request starts after it,
and at most --requests, default ` + strconv.Itoa(bench.MaxRequestsWithDuration) + `, are sent).

Per runner and level it reports: requests that succeeded, requests/s,
time to first token (TTFT: the first piece of streamed output) and total
latency at p50/p95/p99 (successes only), stream tokens/s (the speed one
request sees: from Ollama's own eval_count/eval_duration where the server
reports them, else output tokens over latency; the "from" column says
which), throughput tokens/s (every success's output tokens over the
level's wall time) and failures by kind (timeout, rate_limit, server,
client, not_found, unreachable, truncated, canceled, other). Two servers
of one model, e.g. ollama:m@http://gpu-host:11434 and
ollama:m@http://cpu-host:11434, compare in one table. An Ollama server
runs OLLAMA_NUM_PARALLEL requests of a model at once; more wait there.

No response cache and no retries: every request is a live call, a
failure is counted, never retried. Requests go at temperature 0 with
seed 1, each --prompt (or each line of --input: text, JSONL with a
"source" field, CSV or TSV, sent as it stands) in turn.

--format json prints one object: {"levels": [{runner, concurrency,
requests, ok, errors {kind: count}, wall_s, requests_per_s, ttft_p50_s,
ttft_p95_s, ttft_p99_s, latency_p50_s, latency_p95_s, latency_p99_s,
output_tokens, tokens_per_s, tokens_from, throughput_tokens_per_s}, ...]}.
The exit status is 1 when no request succeeded.`,
		Flags: []cli.Flag{
			&cli.GenericFlag{Name: "runner", Usage: "runner `SPEC` to measure; repeat for several", Value: specs},
			&cli.StringFlag{Name: "concurrency", Value: "1,2,4", Usage: "concurrency `LEVELS`, comma-separated"},
			&cli.IntFlag{Name: "requests", Value: 20, Usage: "`N` measured requests a level", DefaultText: "20; " + strconv.Itoa(bench.MaxRequestsWithDuration) + " with --duration"},
			&cli.DurationFlag{Name: "duration", Usage: "end each level after `D` (e.g. 30s)"},
			&cli.StringFlag{Name: "prompt", Usage: "the prompt `TEXT` to send", DefaultText: "a one-sentence translation request"},
			&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "send each line of `FILE` in turn (text, JSONL, CSV, TSV)", TakesFile: true},
			&cli.IntFlag{Name: "max-tokens", Value: 128, Usage: "at most `N` generated tokens a request"},
			&cli.IntFlag{Name: "warmup", Value: 1, Usage: "`N` unmeasured requests per runner first"},
			&cli.DurationFlag{Name: "timeout", Value: 2 * time.Minute, Usage: "per-request `TIMEOUT` (a request past it counts as a timeout)"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "output `FORMAT`: text or json"},
		},
		Action: func(c *cli.Context) error { return runBenchGenerate(c, specs.values) },
	}
}

// parseLevels reads "1,2,4": positive, distinct concurrency levels.
func parseLevels(s string) ([]int, error) {
	var levels []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive whole number (want e.g. 1,2,4)", f)
		}
		if slices.Contains(levels, n) {
			return nil, fmt.Errorf("level %d is given twice", n)
		}
		levels = append(levels, n)
	}
	return levels, nil
}

// benchGenerateOptions checks the flags and builds the options, runners
// included.
func benchGenerateOptions(c *cli.Context, specs []string) (bench.GenerateOptions, error) {
	var o bench.GenerateOptions
	if c.NArg() > 0 {
		return o, usagef("bench generate: unexpected argument %q", c.Args().First())
	}
	if len(specs) == 0 {
		return o, usagef("bench generate: missing --runner SPEC (e.g. ollama:llama2@http://127.0.0.1:11434)")
	}
	if f := c.String("format"); f != "text" && f != "json" {
		return o, usagef("bench generate: unknown --format %q (want text or json)", f)
	}
	levels, err := parseLevels(c.String("concurrency"))
	if err != nil {
		return o, usagef("bench generate: --concurrency: %v", err)
	}
	o.Concurrency, o.Requests, o.Duration, o.Warmup = levels, c.Int("requests"), c.Duration("duration"), c.Int("warmup")
	if o.Duration > 0 && !c.IsSet("requests") {
		o.Requests = bench.MaxRequestsWithDuration
	}
	switch {
	case o.Requests < 1:
		return o, usagef("bench generate: --requests must be at least 1")
	case o.Warmup < 0:
		return o, usagef("bench generate: --warmup must not be negative")
	case o.Duration < 0 || c.Duration("timeout") < 0:
		return o, usagef("bench generate: --duration and --timeout must not be negative")
	case c.Int("max-tokens") < 1:
		return o, usagef("bench generate: --max-tokens must be at least 1")
	case c.IsSet("prompt") && c.IsSet("input"):
		return o, usagef("bench generate: give --prompt or --input, not both")
	}
	if o.Prompts, err = benchGeneratePrompts(c); err != nil {
		return o, err
	}
	for _, s := range specs {
		sp, err := runners.ParseSpec(s)
		if err != nil {
			return o, usagef("bench generate: --runner: %v", err)
		}
		if sp.Provider == runners.ProviderReplay {
			return o, usagef("bench generate: --runner %s: a replay answers from a recording, so it measures nothing; give a live server's spec", s)
		}
		r, err := factory.New(s, factory.Options{
			// No cache (a cached answer is not a measurement), no
			// retries (a retry hides a failure and adds its backoff).
			Concurrency: slices.Max(levels),
			Retry:       retry.Policy{MaxAttempts: 1, Timeout: c.Duration("timeout")},
		})
		if err != nil {
			return o, asUsage(fmt.Errorf("bench generate: %w", err))
		}
		o.Runners = append(o.Runners, r)
	}
	return o, nil
}

func benchGeneratePrompts(c *cli.Context) ([]runners.Request, error) {
	params := runners.Params{MaxTokens: ptr(c.Int("max-tokens")), Temperature: ptr(0.0), Seed: ptr(1)}
	if path := c.String("input"); path != "" {
		srcs, err := readSources(path, "auto", c.App.Reader)
		if err != nil {
			return nil, asUsage(fmt.Errorf("bench generate: %w", err))
		}
		var reqs []runners.Request
		for _, s := range srcs {
			if strings.TrimSpace(s.Text) != "" {
				reqs = append(reqs, runners.Request{Prompt: s.Text, Params: params})
			}
		}
		if len(reqs) == 0 {
			return nil, usagef("bench generate: --input %s has no non-empty line to send", path)
		}
		return reqs, nil
	}
	p := benchGeneratePrompt
	if c.IsSet("prompt") {
		if p = c.String("prompt"); strings.TrimSpace(p) == "" {
			return nil, usagef("bench generate: --prompt is empty")
		}
	}
	return []runners.Request{{Prompt: p, Params: params}}, nil
}

func runBenchGenerate(c *cli.Context, specs []string) error {
	o, err := benchGenerateOptions(c, specs)
	if err != nil {
		return err
	}
	total := len(o.Runners) * (o.Warmup + o.Requests*len(o.Concurrency))
	bar := newProgressBar(c.App.ErrWriter, total, 2, "benchmarking", "requests")
	if bar != nil {
		o.Progress = func(done, _ int) { _ = bar.Set(done) }
	}
	levels, err := bench.Generate(c.Context, o)
	if bar != nil {
		_ = bar.Finish()
	}
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("bench generate: interrupted")
	case errors.Is(err, bench.ErrInvalidInput):
		return asUsage(err)
	case err != nil:
		return err
	}
	if c.String("format") == "json" {
		err = writeGenerateJSON(c.App.Writer, levels)
	} else {
		err = writeGenerateText(c.App.Writer, levels)
	}
	if err != nil {
		return err
	}
	for _, l := range levels {
		if l.OK > 0 {
			return nil
		}
	}
	return fmt.Errorf("bench generate: no request succeeded (see the errors)")
}

// generateLevelJSON is one level in --format json; times in seconds.
type generateLevelJSON struct {
	Runner               string         `json:"runner"`
	Concurrency          int            `json:"concurrency"`
	Requests             int            `json:"requests"`
	OK                   int            `json:"ok"`
	Errors               map[string]int `json:"errors"`
	WallS                float64        `json:"wall_s"`
	RequestsPerS         float64        `json:"requests_per_s"`
	TTFTP50S             float64        `json:"ttft_p50_s"`
	TTFTP95S             float64        `json:"ttft_p95_s"`
	TTFTP99S             float64        `json:"ttft_p99_s"`
	LatencyP50S          float64        `json:"latency_p50_s"`
	LatencyP95S          float64        `json:"latency_p95_s"`
	LatencyP99S          float64        `json:"latency_p99_s"`
	OutputTokens         int            `json:"output_tokens"`
	TokensPerS           float64        `json:"tokens_per_s"`
	TokensFrom           string         `json:"tokens_from"`
	ThroughputTokensPerS float64        `json:"throughput_tokens_per_s"`
}

func generateLevelObject(l *bench.Level) generateLevelJSON {
	p := func(s []time.Duration, q float64) float64 { return bench.Percentile(s, q).Seconds() }
	return generateLevelJSON{
		Runner: l.Runner, Concurrency: l.Concurrency, Requests: l.Requests, OK: l.OK, Errors: l.Errors,
		WallS: l.Wall.Seconds(), RequestsPerS: l.RequestsPerSecond(),
		TTFTP50S: p(l.TTFT, 0.5), TTFTP95S: p(l.TTFT, 0.95), TTFTP99S: p(l.TTFT, 0.99),
		LatencyP50S: p(l.Latency, 0.5), LatencyP95S: p(l.Latency, 0.95), LatencyP99S: p(l.Latency, 0.99),
		OutputTokens: l.OutputTokens, TokensPerS: l.StreamTokensPerSecond(), TokensFrom: l.TokensSource(),
		ThroughputTokensPerS: l.ThroughputTokensPerSecond(),
	}
}

func writeGenerateJSON(w io.Writer, levels []*bench.Level) error {
	out := struct {
		Levels []generateLevelJSON `json:"levels"`
	}{Levels: []generateLevelJSON{}}
	for _, l := range levels {
		out.Levels = append(out.Levels, generateLevelObject(l))
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func writeGenerateText(w io.Writer, levels []*bench.Level) error {
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.Style().Format.Header = text.FormatDefault
	t.AppendHeader(table.Row{"runner", "conc", "ok", "req/s", "TTFT p50/p95/p99", "latency p50/p95/p99", "tok/s", "from", "throughput tok/s", "errors"})
	trio := func(s []time.Duration) string {
		if len(s) == 0 {
			return "-"
		}
		return fmt.Sprintf("%s / %s / %s", msDur(bench.Percentile(s, 0.5)), msDur(bench.Percentile(s, 0.95)), msDur(bench.Percentile(s, 0.99)))
	}
	for _, l := range levels {
		var errs []string
		for _, k := range bench.ErrorKinds([]*bench.Level{l}) {
			errs = append(errs, fmt.Sprintf("%s %d", k, l.Errors[k]))
		}
		e := strings.Join(errs, ", ")
		if e == "" {
			e = "-"
		}
		t.AppendRow(table.Row{l.Runner, l.Concurrency, fmt.Sprintf("%d/%d", l.OK, l.Requests),
			fmt.Sprintf("%.2f", l.RequestsPerSecond()), trio(l.TTFT), trio(l.Latency),
			fmt.Sprintf("%.1f", l.StreamTokensPerSecond()), l.TokensSource(),
			fmt.Sprintf("%.1f", l.ThroughputTokensPerSecond()), e})
	}
	var cols []table.ColumnConfig
	for _, n := range []int{2, 3, 4, 5, 6, 7, 9} {
		cols = append(cols, table.ColumnConfig{Number: n, Align: text.AlignRight})
	}
	t.SetColumnConfigs(cols)
	t.Render()
	return nil
}

// msDur formats d in milliseconds, e.g. "12.3ms".
func msDur(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}
