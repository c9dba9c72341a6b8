package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/generate"
	"github.com/bertbench/bertbench/prompt"
	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/cache"
	"github.com/bertbench/bertbench/runners/factory"
	"github.com/bertbench/bertbench/runners/retry"
)

// generateCommand is `bertbench generate`.
func generateCommand() *cli.Command {
	d := generate.DefaultOptions()
	return &cli.Command{
		Name:      "generate",
		Usage:     "have a teacher model write source/reference pairs into a dataset (JSONL)",
		UsageText: "bertbench generate --teacher SPEC --count N -o FILE [--topics LIST] [--styles LIST] [--temperature T] [--presence-penalty P] [--from en --to zh] [--min-chars N --max-chars N] [--near-dup J] [--concurrency N]",
		Description: `Each request asks the teacher (a runner spec, as for translate) for one sentence
in the --from language and its --to translation, as a JSON object
{"source": ..., "reference": ...}, with a topic and a style hint (request i
gets topic i mod T and style (i div T) mod S) and its own seed (--seed + i).
Each answer is judged, in request order whatever --concurrency: a pair is
read from the first JSON object in it (code fences and prose around it are
fine), else from "SOURCE ||| REFERENCE" (--separator); then each side must
fit the length bounds, be in its language's script (--min-script-share: the
share of Han characters in a Chinese side, of Latin words in an English one),
the reference must not repeat the source, and the source must be neither a
duplicate of one accepted (compared without case, punctuation and spacing)
nor a near duplicate (character 3-gram Jaccard >= --near-dup).

Output: one line per accepted pair, written as it is accepted: {"id"
("gen-" + request index), "source", "reference", "teacher", "prompt",
"system", "params", "topic", "style", "request", "checks"}; bertbench reads it
as a dataset (id, source, reference). The report on stderr counts the
rejected answers by reason: call_error, parse, truncated, source_too_short,
source_too_long, reference_too_short, reference_too_long, source_language,
reference_language, untranslated, duplicate, near_duplicate.

Resuming: when -o names an existing file, the run continues it: every line
must come from the same teacher, prompt, parameters and checks (else exit 2,
naming the line and what differs); --count may grow. Answers are cached, so
a resumed or longer run asks nothing twice. The run ends at --count items, or
after --max-attempts requests (exit 1). Ctrl-C keeps every accepted line.

The --instruction template sees {{.To}} and {{.Fields.from}}, {{.Fields.to}},
{{.Fields.topic}} and {{.Fields.style}} (empty when there is none).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "teacher", Usage: "teacher runner `SPEC`, e.g. openai:gpt-4o or ollama:qwen2.5:7b (required)", Required: true},
			&cli.IntFlag{Name: "count", Aliases: []string{"n"}, Usage: "`N` items the file must hold (required)", Required: true, DefaultText: "none"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "dataset `FILE` (JSONL) to write, or to resume when it exists (required)", Required: true, TakesFile: true},
			&cli.StringFlag{Name: "instruction", Value: d.Instruction, Usage: "instruction `TEMPLATE` (Go text/template)", DefaultText: "one sentence and its translation as JSON"},
			&cli.StringFlag{Name: "instruction-file", Usage: "read the instruction template from `FILE`", TakesFile: true},
			&cli.StringFlag{Name: "system", Usage: "system prompt `TEXT`"},
			&cli.StringFlag{Name: "from", Value: d.From, Usage: "source `LANGUAGE` (BCP 47 tag)"},
			&cli.StringFlag{Name: "to", Value: d.To, Usage: "reference `LANGUAGE` (BCP 47 tag)"},
			&cli.StringSliceFlag{Name: "topics", Usage: "topic hints, comma-separated or repeated (`LIST`)"},
			&cli.StringFlag{Name: "topics-file", Usage: "topic hints, one per line, from `FILE` (blank lines and # comments skipped)", TakesFile: true},
			&cli.StringSliceFlag{Name: "styles", Usage: "style hints, comma-separated or repeated (`LIST`)"},
			&cli.StringFlag{Name: "styles-file", Usage: "style hints, one per line, from `FILE`", TakesFile: true},
			&cli.Float64Flag{Name: "temperature", Value: *d.Params.Temperature, Usage: "sampling temperature `T`"},
			&cli.Float64Flag{Name: "presence-penalty", Usage: "presence penalty `P` in [-2, 2] (YiVal uses 2 with temperature 1.3)", DefaultText: "server's"},
			&cli.Float64Flag{Name: "top-p", Usage: "nucleus sampling `P`", DefaultText: "server's"},
			&cli.IntFlag{Name: "seed", Usage: "seed `N` of request 0; request i gets N + i"},
			&cli.IntFlag{Name: "max-tokens", Value: *d.Params.MaxTokens, Usage: "at most `N` tokens per answer"},
			&cli.IntFlag{Name: "max-attempts", Usage: "at most `N` requests in all, over every run on the file", DefaultText: fmt.Sprintf("%d × --count", generate.AttemptsPerItem)},
			&cli.IntFlag{Name: "min-chars", Value: d.Source.MinChars, Usage: "at least `N` characters on each side"},
			&cli.IntFlag{Name: "max-chars", Value: d.Source.MaxChars, Usage: "at most `N` characters on each side (0: no bound)"},
			&cli.IntFlag{Name: "min-words", Usage: "at least `N` words (runs of non-space) in the source"},
			&cli.IntFlag{Name: "max-words", Usage: "at most `N` words in the source (0: no bound)"},
			&cli.Float64Flag{Name: "min-script-share", Value: d.MinShare, Usage: "least `SHARE` of each side's letters in its language's script (0: no language check)"},
			&cli.Float64Flag{Name: "near-dup", Value: d.NearDuplicate, Usage: "character 3-gram Jaccard `J` from which a source is a near duplicate (0: exact duplicates only)"},
			&cli.StringFlag{Name: "separator", Value: d.Separator, Usage: "`SEP` splitting a plain \"SOURCE SEP REFERENCE\" answer (\"\": JSON only)"},
			&cli.IntFlag{Name: "concurrency", Aliases: []string{"j"}, Usage: "at most `N` calls at once", DefaultText: "1 for Ollama, 4 otherwise"},
			&cli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "per-call `TIMEOUT` (a call past it is retried)"},
			&cli.IntFlag{Name: "retries", Value: 5, Usage: "`N` attempts per call at most, on 429, 5xx, resets and timeouts"},
			&cli.BoolFlag{Name: "no-cache", Usage: "always call the teacher, and do not store answers (a resumed run then pays again for what it re-judges)"},
			newCacheDirFlag(),
			&cli.StringFlag{Name: "prices", Usage: "price table `FILE` (JSON, USD per 1M tokens) laid over the built-in one", TakesFile: true},
			&cli.StringFlag{Name: "openai-base-url", Usage: "`URL` of the OpenAI API (default $OPENAI_BASE_URL, else https://api.openai.com/v1)"},
			&cli.StringFlag{Name: "openai-org", Usage: "OpenAI organisation `ID` (default $OPENAI_ORG_ID)"},
		},
		Action: runGenerate,
	}
}

// generateFlags names the flag of each option generate.Validate can
// refuse.
var generateFlags = map[string]string{
	"Count": "--count", "MaxAttempts": "--max-attempts", "Output": "-o", "From": "--from", "To": "--to",
	"MinShare": "--min-script-share", "NearDuplicate": "--near-dup", "Concurrency": "--concurrency",
	"Source.MinChars": "--min-chars", "Source.MaxChars": "--max-chars", "Reference.MinChars": "--min-chars",
	"Reference.MaxChars": "--max-chars", "Source.MinWords": "--min-words", "Source.MaxWords": "--max-words",
}

func runGenerate(c *cli.Context) error {
	ctx, stderr := c.Context, c.App.ErrWriter
	if c.Args().Present() {
		return usagef("generate: unexpected argument %q (see bertbench generate --help)", c.Args().First())
	}
	o, err := generateOptions(c)
	if err != nil {
		return err
	}
	teacher, store, retryPolicy, err := generateTeacher(c)
	if err != nil {
		return err
	}
	o.Teacher = teacher
	if err := o.Validate(); err != nil {
		return generateUsage(err)
	}
	for _, l := range []struct{ flag, tag string }{{"--from", o.From}, {"--to", o.To}} {
		if o.MinShare > 0 && !generate.ScriptChecked(l.tag) {
			fmt.Fprintf(stderr, "generate: warning: %s %s: the language check does not know its script; that side is not checked\n", l.flag, l.tag)
		}
	}
	if store != nil {
		var once sync.Once
		store.OnWriteError = func(err error) {
			once.Do(func() { fmt.Fprintf(stderr, "generate: warning: answers are not being cached: %v\n", err) })
		}
	}
	o.PreflightTimeout = retryPolicy.Timeout

	var (
		bar     *progressbar.ProgressBar
		started bool
	)
	o.Progress = func(r generate.Report) {
		if !started {
			started = true
			bar = newProgressBar(stderr, r.Target-r.Resumed, 2, "generating", "items")
		}
		if bar == nil {
			return // not a terminal
		}
		bar.Describe(fmt.Sprintf("generating (%d judged)", r.Judged))
		bar.Set(r.Accepted)
	}
	rep, err := generate.Run(ctx, o)
	if bar != nil {
		bar.Finish()
	}
	if errors.Is(err, generate.ErrInvalidInput) || errors.Is(err, prompt.ErrInvalidInput) || errors.Is(err, runners.ErrInvalidInput) {
		return generateUsage(err)
	}
	if errors.Is(err, generate.ErrPreflight) {
		// No call was made, the file was not touched.
		if ctx.Err() != nil {
			return cli.Exit("generate: interrupted before the first call; nothing written", exitInterrupted)
		}
		return fmt.Errorf("generate: %w", err)
	}
	if rep.DroppedTornLine {
		fmt.Fprintf(stderr, "generate: %s ended in a line cut short (a crash while it was written); dropped, and made again\n", o.Output)
	}
	fmt.Fprintf(stderr, "generate: %s: %s, in %v\n", o.Output, rep, rep.Elapsed.Round(time.Millisecond))
	switch {
	case ctx.Err() != nil:
		return cli.Exit(fmt.Sprintf("generate: interrupted: %d of %d items kept in %s; rerun the same command to resume", rep.Total(), rep.Target, o.Output), exitInterrupted)
	case errors.Is(err, generate.ErrTargetNotReached):
		return fmt.Errorf("generate: %w (--max-attempts %d)", err, maxAttempts(o))
	case err != nil:
		return fmt.Errorf("generate: %w", err)
	}
	return nil
}

// maxAttempts is the effective --max-attempts.
func maxAttempts(o generate.Options) int {
	if o.MaxAttempts > 0 {
		return o.MaxAttempts
	}
	return generate.AttemptsPerItem * o.Count
}

// generateUsage makes err a usage error that names flags, not options.
func generateUsage(err error) error {
	var oe *generate.OptionError
	var fe *runners.FieldError
	switch {
	case errors.As(err, &oe):
		if flag, ok := generateFlags[oe.Option]; ok {
			c := *oe
			c.Option = flag
			err = &c
		}
	case errors.As(err, &fe):
		err = fe.Rename("--" + strings.ReplaceAll(fe.Field, "_", "-"))
	}
	return usageError{fmt.Errorf("generate: %w", err)}
}

// generateOptions maps the flags onto generate.Options (the teacher
// aside).
func generateOptions(c *cli.Context) (generate.Options, error) {
	o := generate.DefaultOptions()
	o.Count, o.Output, o.System = c.Int("count"), c.String("output"), c.String("system")
	if o.Output == "-" {
		return o, usagef("generate: -o -: give a file name (generate resumes its output file, so it writes no standard output)")
	}
	o.From, o.To = c.String("from"), c.String("to")
	o.Instruction = c.String("instruction")
	if f := c.String("instruction-file"); f != "" {
		if c.IsSet("instruction") {
			return o, usagef("generate: give --instruction or --instruction-file, not both")
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return o, usagef("generate: --instruction-file: %v", err)
		}
		o.Instruction = string(b)
	}
	var err error
	if o.Topics, err = hints(c, "topics"); err != nil {
		return o, err
	}
	if o.Styles, err = hints(c, "styles"); err != nil {
		return o, err
	}
	p := &o.Params
	*p.Temperature, *p.MaxTokens = c.Float64("temperature"), c.Int("max-tokens")
	if c.IsSet("presence-penalty") {
		p.PresencePenalty = ptr(c.Float64("presence-penalty"))
	}
	if c.IsSet("top-p") {
		p.TopP = ptr(c.Float64("top-p"))
	}
	if c.IsSet("seed") {
		p.Seed = ptr(c.Int("seed"))
	}
	o.MaxAttempts, o.Concurrency = c.Int("max-attempts"), c.Int("concurrency")
	o.Source = generate.Bounds{MinChars: c.Int("min-chars"), MaxChars: c.Int("max-chars"), MinWords: c.Int("min-words"), MaxWords: c.Int("max-words")}
	o.Reference = generate.Bounds{MinChars: c.Int("min-chars"), MaxChars: c.Int("max-chars")}
	o.MinShare, o.NearDuplicate, o.Separator = c.Float64("min-script-share"), c.Float64("near-dup"), c.String("separator")
	if c.IsSet("max-attempts") && o.MaxAttempts < 1 {
		return o, usagef("generate: --max-attempts %d: must be at least 1", o.MaxAttempts)
	}
	return o, nil
}

// hints reads the --NAME list and the --NAME-file lines, in that order.
func hints(c *cli.Context, name string) ([]string, error) {
	var out []string
	for _, h := range c.StringSlice(name) {
		if h = strings.TrimSpace(h); h == "" {
			return nil, usagef("generate: --%s: an empty hint; leave it out", name)
		}
		out = append(out, h)
	}
	path := c.String(name + "-file")
	if path == "" {
		return out, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("generate: --%s-file: %v", name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("generate: --%s-file %s: %w", name, path, err)
	}
	return out, nil
}

// generateTeacher builds the teacher's runner stack from the flags: the
// response cache (unless --no-cache), retries, the concurrency limit and
// prices.
func generateTeacher(c *cli.Context) (runners.Runner, *cache.Store, retry.Policy, error) {
	opts, store, err := factoryOptions(c, "generate")
	if err != nil {
		return nil, nil, opts.Retry, err
	}
	r, err := factory.New(c.String("teacher"), opts)
	if err != nil {
		return nil, nil, opts.Retry, asUsage(fmt.Errorf("generate: --teacher: %w", err))
	}
	return r, store, opts.Retry, nil
}
