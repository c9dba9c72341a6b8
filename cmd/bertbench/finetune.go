package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/dataset"
	"github.com/bertbench/bertbench/finetune"
	ftopenai "github.com/bertbench/bertbench/finetune/openai"
	"github.com/bertbench/bertbench/internal/outfile"
	"github.com/bertbench/bertbench/prompt"
	"github.com/bertbench/bertbench/runners/factory"
)

// finetuneCommand is `bertbench finetune`: export training data, and
// fine-tune OpenAI models with it.
func finetuneCommand() *cli.Command {
	return &cli.Command{
		Name:        "finetune",
		Usage:       "export training data (OpenAI chat JSONL, Alpaca, ShareGPT) and fine-tune OpenAI models",
		Subcommands: []*cli.Command{finetuneExportCommand(), finetuneOpenAICommand()},
	}
}

// OpenAI's fine-tuning needs at least this many training examples.
const openAIMinExamples = 10

// Bounds of --poll.
const (
	minPoll = 100 * time.Millisecond
	maxPoll = 10 * time.Minute
)

func finetuneExportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write training data from a dataset, leaving out every item of the evaluation set",
		UsageText: "bertbench finetune export -i FILE [--refs FILE] --eval FILE... -o FILE [--validation-out FILE] [--format openai|alpaca|sharegpt] [--to LANGUAGE]",
		Description: `Each item becomes one example: the user turn is the item rendered by
--prompt (the text "bertbench translate" sends with the same --prompt and
--to), the assistant turn its first reference, the system turn --system. Use
the same --prompt, --to and --system when you translate with the fine-tuned
model.

Input: JSONL, CSV or TSV with "source" and "reference" fields (and an
optional "id"), or a text file of sources with --refs, a text file of
references line by line.

Left out, and counted: items of any --eval file (the evaluation set) with
the same id (ids the records give; "L<line>" ids of files without one are
positions, not identities) or the same source once normalised (NFKC, case
folded, white space collapsed, punctuation trimmed from the ends); items
with an empty source or no (first) reference.

Formats:
  openai    OpenAI chat fine-tuning JSONL: {"messages": [{"role": "system"|"user"|"assistant", "content": ...}]}
  alpaca    one JSON array of {"instruction", "input", "output"} (the instruction is the rendered prompt)
  sharegpt  JSONL: {"conversations": [{"from": "system"|"human"|"gpt", "value": ...}]}

Split: with --validation-out, an item goes to the validation file when a
hash of (--seed, its id) falls in the first --validation-fraction of the
hash range: the same seed gives the same split, and adding items moves no
other item between the files.

The files are written whole or not at all; the counts go to stdout.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "dataset `FILE` (required; - = stdin)", TakesFile: true},
			&cli.StringFlag{Name: "input-format", Value: "auto", Usage: "`FORMAT` of the input and --eval files: text, jsonl, csv, tsv, or auto (by extension)"},
			&cli.StringFlag{Name: "refs", Usage: "reference `FILE`, line by line beside a text input", TakesFile: true},
			&cli.StringSliceFlag{Name: "eval", Usage: "evaluation set `FILE` whose items are left out (repeatable)", TakesFile: true},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: string(finetune.OpenAIChat), Usage: "training data `FORMAT`: " + strings.Join(finetune.Formats, ", ")},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "training `FILE` (required)", TakesFile: true},
			&cli.StringFlag{Name: "validation-out", Usage: "validation `FILE`; without it every item goes to training", TakesFile: true},
			&cli.Float64Flag{Name: "validation-fraction", Value: 0.1, Usage: "share `F` of the items that goes to --validation-out, 0 < F < 1"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "split seed `N`"},
			&cli.StringFlag{Name: "prompt", Value: prompt.DefaultTranslate, Usage: "prompt `TEMPLATE` of the user turn (Go text/template, as translate's)"},
			&cli.StringFlag{Name: "to", Usage: "target `LANGUAGE` named in the prompt as {{.To}}, e.g. Chinese (required when the prompt uses it)"},
			&cli.StringFlag{Name: "system", Usage: "system prompt `TEXT` of every example (none by default)"},
			&cli.BoolFlag{Name: "json", Usage: "print the counts as JSON"},
		},
		Action: runFinetuneExport,
	}
}

// exportOptions are finetune export's flags.
type exportOptions struct {
	input, inputFormat, refs string
	eval                     []string
	format                   finetune.Format
	output, validationOut    string
	fraction                 float64
	seed                     uint64
	tmpl                     *prompt.Template
	to, system               string
	json                     bool
}

func exportOptionsFrom(c *cli.Context) (exportOptions, error) {
	o := exportOptions{
		input: c.String("input"), inputFormat: c.String("input-format"), refs: c.String("refs"), eval: c.StringSlice("eval"),
		output: c.String("output"), validationOut: c.String("validation-out"), seed: c.Uint64("seed"),
		to: c.String("to"), system: c.String("system"), json: c.Bool("json"),
	}
	switch {
	case c.Args().Present():
		return o, usagef("finetune export: unexpected argument %q (the dataset goes in -i FILE)", c.Args().First())
	case o.input == "":
		return o, usagef("finetune export: --input is required (see bertbench finetune export --help)")
	case o.output == "":
		return o, usagef("finetune export: --output is required: the training FILE")
	}
	f, err := finetune.ParseFormat(c.String("format"))
	if err != nil {
		return o, usagef("finetune export: --format: %v", err)
	}
	o.format = f
	if o.validationOut != "" {
		o.fraction = c.Float64("validation-fraction")
		if !(o.fraction > 0 && o.fraction < 1) {
			return o, usagef("finetune export: --validation-fraction %v: want a number above 0 and below 1, e.g. 0.1", o.fraction)
		}
	} else if c.IsSet("validation-fraction") {
		return o, usagef("finetune export: --validation-fraction needs --validation-out FILE")
	}
	if o.tmpl, err = prompt.Parse("--prompt", c.String("prompt")); err != nil {
		return o, asUsage(fmt.Errorf("finetune export: %w", err))
	}
	if o.to == "" && o.tmpl.UsesTarget() {
		return o, usagef("finetune export: --to is required: the prompt names the target language as {{.To}} (e.g. --to Chinese)")
	}
	return o, sameFiles(o)
}

// sameFiles refuses an output that is an input, or both outputs one file.
func sameFiles(o exportOptions) error {
	outs := []struct{ flag, path string }{{"-o", o.output}, {"--validation-out", o.validationOut}}
	ins := []struct{ flag, path string }{{"-i", o.input}, {"--refs", o.refs}}
	for _, e := range o.eval {
		ins = append(ins, struct{ flag, path string }{"--eval", e})
	}
	if o.validationOut != "" && samePath(o.output, o.validationOut) {
		return usagef("finetune export: -o and --validation-out are the same file %s; give two files", o.output)
	}
	for _, out := range outs {
		for _, in := range ins {
			if out.path != "" && in.path != "" && samePath(out.path, in.path) {
				return usagef("finetune export: %s %s is the %s file; write the training data to another file", out.flag, out.path, in.flag)
			}
		}
	}
	return nil
}

// samePath reports whether a and b name one file (by any spelling or link)
// or, when a does not exist yet, the same clean path.
func samePath(a, b string) bool {
	if a == "-" || b == "-" {
		return false
	}
	fa, ea := os.Stat(a)
	fb, eb := os.Stat(b)
	if ea == nil && eb == nil {
		return os.SameFile(fa, fb)
	}
	return filepath.Clean(a) == filepath.Clean(b)
}

func runFinetuneExport(c *cli.Context) error {
	o, err := exportOptionsFrom(c)
	if err != nil {
		return err
	}
	format, err := dataset.ParseFormat(o.inputFormat)
	if err != nil {
		return usagef("finetune export: --input-format: %v", err)
	}
	for _, p := range []string{o.output, o.validationOut} {
		if p != "" {
			if err := outfile.Check(p); err != nil {
				return asUsage(fmt.Errorf("finetune export: %w", err))
			}
		}
	}
	eval := finetune.NewEvalSet()
	for _, path := range o.eval {
		if err := addEval(eval, path, format, c.App.Reader); err != nil {
			return asUsage(fmt.Errorf("finetune export: --eval: %w", err))
		}
	}
	if len(o.eval) == 0 {
		fmt.Fprintln(c.App.ErrWriter, "finetune export: warning: no --eval file: nothing is left out, so the evaluation set may leak into training")
	}
	for _, p := range []string{o.output, o.validationOut} {
		if p != "" && filepath.Ext(p) != o.format.Ext() {
			fmt.Fprintf(c.App.ErrWriter, "finetune export: warning: %s: %s files are %s\n", p, o.format, o.format.Ext())
		}
	}

	r, err := openExportInput(o, format, c.App.Reader)
	if err != nil {
		return asUsage(fmt.Errorf("finetune export: %w", err))
	}
	defer r.Close()
	counts, err := writeExport(c.Context, r.All(), o, eval)
	if err != nil {
		if isInputError(err) {
			return asUsage(fmt.Errorf("finetune export: %w", err))
		}
		return fmt.Errorf("finetune export: %w", err)
	}
	if o.format == finetune.OpenAIChat && counts.Train < openAIMinExamples {
		fmt.Fprintf(c.App.ErrWriter, "finetune export: warning: %d training examples: OpenAI fine-tuning needs at least %d\n", counts.Train, openAIMinExamples)
	}
	if o.validationOut != "" && counts.Validation == 0 {
		fmt.Fprintf(c.App.ErrWriter, "finetune export: warning: no item fell into the validation set; raise --validation-fraction or try another --seed\n")
	}
	return printExport(c.App.Writer, o, counts, eval)
}

// addEval adds the items of one evaluation file.
func addEval(eval *finetune.EvalSet, path string, format dataset.Format, stdin io.Reader) error {
	r, err := dataset.Open(path, dataset.Options{Format: format, Stdin: stdin})
	if err != nil {
		return err
	}
	defer r.Close()
	return eval.AddAll(r.All())
}

// openExportInput opens the dataset: one file, or a text file of sources
// with a reference file beside it.
func openExportInput(o exportOptions, format dataset.Format, stdin io.Reader) (*dataset.Reader, error) {
	opts := dataset.Options{Format: format, Stdin: stdin, Extra: true}
	if o.refs != "" {
		return dataset.OpenParallel(o.input, []string{o.refs}, opts)
	}
	return dataset.Open(o.input, opts)
}

// writeExport exports into the output files, which are replaced only when
// the whole export succeeded.
func writeExport(ctx context.Context, items iter.Seq2[dataset.Item, error], o exportOptions, eval *finetune.EvalSet) (finetune.Counts, error) {
	train, err := outfile.Create(o.output, 0o644)
	if err != nil {
		return finetune.Counts{}, err
	}
	defer train.Close()
	tw, err := finetune.NewWriter(train, o.format)
	if err != nil {
		return finetune.Counts{}, err
	}
	var val *outfile.File
	var vw finetune.Writer
	if o.validationOut != "" {
		if val, err = outfile.Create(o.validationOut, 0o644); err != nil {
			return finetune.Counts{}, err
		}
		defer val.Close()
		if vw, err = finetune.NewWriter(val, o.format); err != nil {
			return finetune.Counts{}, err
		}
	}
	counts, err := finetune.Export(ctx, items, finetune.Options{
		Prompt: o.tmpl, To: o.to, System: o.system, Exclude: eval, Seed: o.seed, ValidationFraction: o.fraction,
	}, tw, vw)
	if err != nil {
		return counts, err
	}
	if err := tw.Close(); err != nil {
		return counts, err
	}
	if vw != nil {
		if err := vw.Close(); err != nil {
			return counts, err
		}
		if err := val.Commit(); err != nil {
			return counts, err
		}
	}
	return counts, train.Commit()
}

// isInputError reports errors the user's files or flags caused.
func isInputError(err error) bool {
	return errors.Is(err, dataset.ErrInvalidInput) || errors.Is(err, finetune.ErrInvalidInput) || errors.Is(err, prompt.ErrInvalidInput)
}

// exportReport is finetune export's --json output.
type exportReport struct {
	Input          string         `json:"input"`
	Format         string         `json:"format"`
	Read           int            `json:"read"`
	Kept           int            `json:"kept"`
	Train          int            `json:"train"`
	Validation     int            `json:"validation"`
	TrainFile      string         `json:"train_file"`
	ValidationFile string         `json:"validation_file,omitempty"`
	Seed           uint64         `json:"seed"`
	Fraction       float64        `json:"validation_fraction"`
	Dropped        map[string]int `json:"dropped"`
	EvalIDs        int            `json:"eval_ids"`
	EvalSources    int            `json:"eval_sources"`
}

func printExport(w io.Writer, o exportOptions, c finetune.Counts, eval *finetune.EvalSet) error {
	ids, sources := eval.Len()
	if o.json {
		rep := exportReport{Input: o.input, Format: string(o.format), Read: c.Read, Kept: c.Kept(), Train: c.Train, Validation: c.Validation,
			TrainFile: o.output, ValidationFile: o.validationOut, Seed: o.seed, Fraction: o.fraction,
			Dropped: make(map[string]int), EvalIDs: ids, EvalSources: sources}
		for _, r := range finetune.Reasons {
			rep.Dropped[string(r)] = c.Dropped[r]
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(w, "read %d items from %s; evaluation set: %d ids, %d sources\n", c.Read, dataset.DisplayName(o.input), ids, sources)
	fmt.Fprintf(w, "kept %d: %d train → %s", c.Kept(), c.Train, o.output)
	if o.validationOut != "" {
		fmt.Fprintf(w, ", %d validation → %s (seed %d, fraction %v)", c.Validation, o.validationOut, o.seed, o.fraction)
	}
	fmt.Fprintln(w)
	_, err := fmt.Fprintf(w, "dropped %d: %s\n", c.DroppedTotal(), c.DroppedSummary())
	return err
}

func finetuneOpenAICommand() *cli.Command {
	return &cli.Command{
		Name:      "openai",
		Usage:     "upload training data and fine-tune an OpenAI model; prints the new model's runner spec",
		UsageText: "bertbench finetune openai --file FILE [--validation-file FILE] --model MODEL [--suffix S] [--epochs N] [--wait] | --job ID [--wait]",
		Description: `Checks the files (OpenAI chat fine-tuning JSONL, as "finetune export" writes
it; at least 10 training examples), uploads them (purpose fine-tune), starts a
fine-tuning job and prints its id. With --wait it follows the job, a line on
standard error for each status change (and, on a terminal, each event the job
logs), and prints the fine-tuned model's runner spec when it succeeds, e.g.
openai:ft:gpt-3.5-turbo-0125:my-org:zh:abc123: evaluate it with
"bertbench translate --runner SPEC". A failed job exits 1 with its reason.
Ctrl-C stops waiting, not the job: follow it again with --job ID --wait.

The API key comes from $OPENAI_API_KEY, the API root from --openai-base-url
or $OPENAI_BASE_URL, the organisation from --openai-org or $OPENAI_ORG_ID.
--record FILE writes the job as JSON: {"job_id", "status", "base_model",
"fine_tuned_model", "runner", "training_file", "validation_file",
"trained_tokens"}.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "file", Usage: "training `FILE` (OpenAI chat JSONL)", TakesFile: true},
			&cli.StringFlag{Name: "validation-file", Usage: "validation `FILE` (OpenAI chat JSONL)", TakesFile: true},
			&cli.StringFlag{Name: "model", Usage: "base `MODEL` to fine-tune, e.g. gpt-3.5-turbo or gpt-4o-mini-2024-07-18"},
			&cli.StringFlag{Name: "suffix", Usage: "`TEXT` put into the fine-tuned model's name (up to 64 characters)"},
			&cli.IntFlag{Name: "epochs", Usage: "`N` passes over the training data", DefaultText: "the server's choice"},
			&cli.StringFlag{Name: "job", Usage: "follow the job `ID` already started (no upload)"},
			&cli.BoolFlag{Name: "wait", Usage: "wait for the job to end, and print the fine-tuned model's runner spec"},
			&cli.DurationFlag{Name: "poll", Value: ftopenai.DefaultInterval, Usage: "time between two looks at the job (`DURATION`, 100ms to 10m)"},
			&cli.StringFlag{Name: "record", Usage: "write the job as JSON to `FILE`", TakesFile: true},
			&cli.StringFlag{Name: "openai-base-url", Usage: "`URL` of the OpenAI API (default $OPENAI_BASE_URL, else https://api.openai.com/v1)"},
			&cli.StringFlag{Name: "openai-org", Usage: "OpenAI organisation `ID` (default $OPENAI_ORG_ID)"},
		},
		Action: runFinetuneOpenAI,
	}
}

// openAIOptions are finetune openai's flags.
type openAIOptions struct {
	file, validationFile, model, suffix string
	epochs                              int
	job                                 string
	wait                                bool
	poll                                time.Duration
	record                              string
	cfg                                 ftopenai.Config
}

func openAIOptionsFrom(c *cli.Context) (openAIOptions, error) {
	o := openAIOptions{
		file: c.String("file"), validationFile: c.String("validation-file"), model: c.String("model"), suffix: c.String("suffix"),
		epochs: c.Int("epochs"), job: c.String("job"), wait: c.Bool("wait"), poll: c.Duration("poll"), record: c.String("record"),
		cfg: ftopenai.Config{
			BaseURL: firstSet(c.String("openai-base-url"), os.Getenv(factory.EnvOpenAIBaseURL)),
			Org:     firstSet(c.String("openai-org"), os.Getenv(factory.EnvOpenAIOrg)),
			APIKey:  os.Getenv(factory.EnvOpenAIKey),
		},
	}
	const cmd = "finetune openai"
	switch {
	case c.Args().Present():
		return o, usagef("%s: unexpected argument %q (the training data goes in --file FILE)", cmd, c.Args().First())
	case o.job != "" && (o.file != "" || o.validationFile != "" || o.model != "" || o.suffix != "" || o.epochs != 0):
		return o, usagef("%s: --job follows a job already started; leave out --file, --validation-file, --model, --suffix and --epochs", cmd)
	case o.job == "" && o.file == "":
		return o, usagef("%s: missing --file: the training FILE (or --job ID to follow a job already started)", cmd)
	case o.job == "" && o.model == "":
		return o, usagef("%s: missing --model: the base model to fine-tune, e.g. --model gpt-3.5-turbo", cmd)
	case o.epochs < 0:
		return o, usagef("%s: --epochs %d: want a positive number (or leave it out)", cmd, o.epochs)
	case len(o.suffix) > 64:
		return o, usagef("%s: --suffix is %d characters; OpenAI takes at most 64", cmd, len(o.suffix))
	case o.poll < minPoll || o.poll > maxPoll:
		return o, usagef("%s: --poll %v: want %v to %v", cmd, o.poll, minPoll, maxPoll)
	case o.cfg.APIKey == "" && o.cfg.BaseURL == "":
		return o, usagef("%s: $%s is not set: give your OpenAI API key (or --openai-base-url for another server)", cmd, factory.EnvOpenAIKey)
	}
	if o.record != "" {
		if err := outfile.Check(o.record); err != nil {
			return o, asUsage(fmt.Errorf("%s: --record: %w", cmd, err))
		}
	}
	return o, nil
}

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func runFinetuneOpenAI(c *cli.Context) error {
	o, err := openAIOptionsFrom(c)
	if err != nil {
		return err
	}
	ctx, stderr := c.Context, c.App.ErrWriter
	client := ftopenai.New(o.cfg)
	var job ftopenai.Job
	if o.job != "" {
		if job, err = client.Job(ctx, o.job); err != nil {
			return openAIError(ctx, err, "")
		}
	} else {
		if job, err = startJob(ctx, client, o, stderr); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "finetune openai: started job %s (%s, base model %s)\n", job.ID, job.Status, job.Model)
	}
	if !o.wait {
		if err := writeRecord(o.record, client, job); err != nil {
			return err
		}
		if job.Status.Final() {
			return finalState(client, job, c.App.Writer, stderr)
		}
		fmt.Fprintln(c.App.Writer, job.ID)
		fmt.Fprintf(stderr, "finetune openai: job %s is %s; follow it with: bertbench finetune openai --job %s --wait\n", job.ID, job.Status, job.ID)
		return nil
	}
	events := isTerminal(stderr)
	last := job.Status
	done, err := client.Wait(ctx, job.ID, ftopenai.WaitOptions{Interval: o.poll, OnUpdate: func(u ftopenai.Update) {
		if u.Err != nil {
			fmt.Fprintf(stderr, "finetune openai: warning: looking at job %s failed (looking again in %v): %v\n", job.ID, o.poll, u.Err)
			return
		}
		if events {
			for _, e := range u.Events {
				fmt.Fprintf(stderr, "  %s %s %s\n", e.CreatedAt.Format("15:04:05"), e.Level, e.Message)
			}
		}
		if u.Job.Status != last {
			last = u.Job.Status
			fmt.Fprintf(stderr, "finetune openai: job %s: %s\n", job.ID, u.Job.Status)
		}
	}})
	if done.ID == "" {
		done = job
	}
	if ctx.Err() != nil {
		if err := writeRecord(o.record, client, done); err != nil {
			fmt.Fprintf(stderr, "finetune openai: %v\n", err)
		}
		return cli.Exit(fmt.Sprintf("finetune openai: interrupted: job %s keeps running on the server (last seen %s); follow it with: bertbench finetune openai --job %s --wait",
			job.ID, done.Status, job.ID), exitInterrupted)
	}
	var je *ftopenai.JobError
	if err != nil && !errors.As(err, &je) {
		return openAIError(ctx, err, job.ID)
	}
	if rerr := writeRecord(o.record, client, done); rerr != nil {
		return rerr
	}
	if je != nil {
		return fmt.Errorf("finetune openai: %w", je)
	}
	return finalState(client, done, c.App.Writer, stderr)
}

// finalState prints the runner spec of a job that succeeded, and fails
// for one that failed or was cancelled.
func finalState(client *ftopenai.Client, job ftopenai.Job, stdout, stderr io.Writer) error {
	switch job.Status {
	case ftopenai.Succeeded:
		spec := client.RunnerSpec(job)
		fmt.Fprintln(stdout, spec)
		fmt.Fprintf(stderr, "finetune openai: job %s succeeded: evaluate the model with --runner %s\n", job.ID, spec)
	case ftopenai.Failed, ftopenai.Cancelled:
		return fmt.Errorf("finetune openai: fine-tuning job %s %s", job.ID, job.Status)
	}
	return nil
}

// startJob checks and uploads the files and starts the job.
func startJob(ctx context.Context, client *ftopenai.Client, o openAIOptions, stderr io.Writer) (ftopenai.Job, error) {
	for _, f := range []struct {
		flag, path string
		least      int
	}{{"--file", o.file, openAIMinExamples}, {"--validation-file", o.validationFile, 1}} {
		if f.path == "" {
			continue
		}
		if err := checkChatFile(f.flag, f.path, f.least); err != nil {
			return ftopenai.Job{}, err
		}
	}
	train, err := client.Upload(ctx, o.file)
	if err != nil {
		return ftopenai.Job{}, openAIError(ctx, err, "")
	}
	fmt.Fprintf(stderr, "finetune openai: uploaded %s as %s\n", o.file, train.ID)
	req := ftopenai.JobRequest{TrainingFile: train.ID, Model: o.model, Suffix: o.suffix, Epochs: o.epochs}
	if o.validationFile != "" {
		val, err := client.Upload(ctx, o.validationFile)
		if err != nil {
			return ftopenai.Job{}, openAIError(ctx, err, "")
		}
		fmt.Fprintf(stderr, "finetune openai: uploaded %s as %s\n", o.validationFile, val.ID)
		req.ValidationFile = val.ID
	}
	job, err := client.Create(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return job, cli.Exit("finetune openai: interrupted while starting the job: it may have started; see https://platform.openai.com/finetune", exitInterrupted)
		}
		return job, openAIError(ctx, err, "")
	}
	return job, nil
}

// checkChatFile checks that a file is OpenAI chat fine-tuning JSONL with
// at least least examples.
func checkChatFile(flag, path string, least int) error {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return usagef("finetune openai: %s %s: %v", flag, path, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return usagef("finetune openai: %s %s is a folder; give the JSONL file", flag, path)
	}
	n, err := finetune.Validate(f, path, finetune.OpenAIChat)
	if err != nil {
		if errors.Is(err, finetune.ErrInvalidInput) {
			return usagef("finetune openai: %s: %v (OpenAI takes chat JSONL: bertbench finetune export --format openai)", flag, err)
		}
		return fmt.Errorf("finetune openai: %s: %w", flag, err)
	}
	if n < least {
		return usagef("finetune openai: %s %s has %d examples; OpenAI fine-tuning needs at least %d", flag, path, n, least)
	}
	return nil
}

// openAIError words a failed request: a refused key names the variable,
// an input error exits 2.
func openAIError(ctx context.Context, err error, jobID string) error {
	switch {
	case ctx.Err() != nil:
		msg := "finetune openai: interrupted"
		if jobID != "" {
			msg += fmt.Sprintf(": job %s keeps running; follow it with: bertbench finetune openai --job %s --wait", jobID, jobID)
		}
		return cli.Exit(msg, exitInterrupted)
	case errors.Is(err, ftopenai.ErrUnauthorized):
		return fmt.Errorf("finetune openai: %w; check $%s", err, factory.EnvOpenAIKey)
	case errors.Is(err, finetune.ErrInvalidInput):
		return asUsage(fmt.Errorf("finetune openai: %w", err))
	}
	return fmt.Errorf("finetune openai: %w", err)
}

// jobRecord is what --record writes.
type jobRecord struct {
	JobID          string `json:"job_id"`
	Status         string `json:"status"`
	BaseModel      string `json:"base_model"`
	FineTunedModel string `json:"fine_tuned_model,omitempty"`
	Runner         string `json:"runner,omitempty"`
	TrainingFile   string `json:"training_file"`
	ValidationFile string `json:"validation_file,omitempty"`
	TrainedTokens  int    `json:"trained_tokens,omitempty"`
}

// writeRecord writes the job to path as JSON ("" writes nothing).
func writeRecord(path string, client *ftopenai.Client, job ftopenai.Job) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(jobRecord{JobID: job.ID, Status: string(job.Status), BaseModel: job.Model, FineTunedModel: job.FineTunedModel,
		Runner: client.RunnerSpec(job), TrainingFile: job.TrainingFile, ValidationFile: job.ValidationFile, TrainedTokens: job.TrainedTokens}, "", "  ")
	if err != nil {
		return err
	}
	if err := outfile.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("finetune openai: --record: %w", err)
	}
	return nil
}
