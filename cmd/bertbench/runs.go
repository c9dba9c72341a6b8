package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/internal/outfile"
	"github.com/bertbench/bertbench/runners/outputcheck"
	"github.com/bertbench/bertbench/store"
)

// runsOptions are the flags of the runs subcommands.
type runsOptions struct {
	// store is the results store file, or the output folder holding it.
	store string
	// run is the run id, "" for the latest.
	run string
	// json prints JSON (list, show); config prints only the config (show).
	json, config bool
	// format and output are export's.
	format, output string
}

// newStoreFlag is --store of the commands that read a results store (runs,
// compare, report).
func newStoreFlag() cli.Flag {
	return &cli.StringFlag{Name: "store", Aliases: []string{"s"}, Value: ".", TakesFile: true,
		Usage: "the experiment's output `DIR` (its " + store.FileName + ") or the store FILE"}
}

// runsCommand is `bertbench runs`: read the results store an experiment
// wrote (list, show, export). Nothing here calls a model or writes the store.
func runsCommand() *cli.Command {
	storeFlag := newStoreFlag()
	jsonFlag := &cli.BoolFlag{Name: "json", Usage: "print JSON"}
	opts := func(c *cli.Context, name string, takesRun bool) (runsOptions, error) {
		o := runsOptions{store: c.String("store"), json: c.Bool("json"), config: c.Bool("config"), format: c.String("format"), output: c.String("output")}
		switch n := c.Args().Len(); {
		case n == 1 && takesRun:
			o.run = c.Args().First()
		case n > 1 || (n == 1 && !takesRun):
			for _, a := range c.Args().Slice() {
				if strings.HasPrefix(a, "-") {
					return o, usagef("runs %s: flag %s after the run id: put flags before RUN (see %s --help)", name, a, c.Command.HelpName)
				}
			}
			return o, usagef("runs %s: unexpected argument %q (see %s --help)", name, c.Args().Get(n-1), c.Command.HelpName)
		}
		return o, nil
	}
	return &cli.Command{
		Name:  "runs",
		Usage: "list, show and export the runs in an experiment's results store",
		Subcommands: []*cli.Command{
			{
				Name:      "list",
				Usage:     "list the runs in the store",
				ArgsUsage: "[--store DIR|FILE] [--json]",
				Flags:     []cli.Flag{storeFlag, jsonFlag},
				Action: func(c *cli.Context) error {
					o, err := opts(c, "list", false)
					if err != nil {
						return err
					}
					return runsList(c.Context, o, c.App.Writer)
				},
			},
			{
				Name:      "show",
				Usage:     "show one run: sessions, variations with counts and flags, scorings, the config",
				ArgsUsage: "[--store DIR|FILE] [--json|--config] [RUN (default: the latest)]",
				Flags: []cli.Flag{storeFlag, jsonFlag,
					&cli.BoolFlag{Name: "config", Usage: "print only the run's config, as given (to resume it with)"}},
				Action: func(c *cli.Context) error {
					o, err := opts(c, "show", true)
					if err != nil {
						return err
					}
					return runsShow(c.Context, o, c.App.Writer)
				},
			},
			{
				Name:      "export",
				Usage:     "write every generation of a run with its scores, as JSONL or CSV",
				ArgsUsage: "[--store DIR|FILE] [--format jsonl|csv] [-o FILE] [RUN (default: the latest)]",
				Description: `jsonl: one JSON object per generation with every stored field and its
scores per scoring configuration (NaN is null). csv: one row per
generation, one column group per scoring configuration (HASH.p, HASH.r,
HASH.f and the rescaled ones; NaN is an empty cell). Rows come by
variation, item (in the dataset's order) and repeat.`,
				Flags: []cli.Flag{storeFlag,
					&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: store.FormatJSONL, Usage: "`FORMAT`: jsonl or csv"},
					&cli.StringFlag{Name: "output", Aliases: []string{"o"}, TakesFile: true, Usage: "write to `FILE` (default: standard output)"}},
				Action: func(c *cli.Context) error {
					o, err := opts(c, "export", true)
					if err != nil {
						return err
					}
					return runsExport(c.Context, o, c.App.Writer)
				},
			},
		},
	}
}

// openRuns opens the store named by o for the runs subcommand name; a
// missing or unreadable store is a usage error saying what to do.
func openRuns(ctx context.Context, name string, o runsOptions) (*store.Store, error) {
	s, err := store.OpenExisting(ctx, o.store)
	switch {
	case errors.Is(err, store.ErrNoStore):
		where := o.store
		if fi, err := os.Stat(where); err == nil && fi.IsDir() {
			where = store.PathIn(where)
		}
		return nil, usagef("runs %s: no results store at %s: run an experiment into that folder first, or name its output folder with --store DIR", name, where)
	case errors.Is(err, store.ErrNewerSchema):
		return nil, asUsage(fmt.Errorf("runs %s: %w", name, err))
	case err != nil:
		return nil, asUsage(fmt.Errorf("runs %s: %w", name, err))
	}
	return s, nil
}

// runErr maps a store error of the runs subcommand name to the exit codes:
// an unknown run is a usage error.
func runErr(name string, err error) error {
	if errors.Is(err, store.ErrRunNotFound) {
		return asUsage(fmt.Errorf("runs %s: %w", name, err))
	}
	return fmt.Errorf("runs %s: %w", name, err)
}

func runsList(ctx context.Context, o runsOptions, w io.Writer) (err error) {
	s, err := openRuns(ctx, "list", o)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	runs, err := s.ListRuns(ctx)
	if err != nil {
		return runErr("list", err)
	}
	if o.json {
		if runs == nil {
			runs = []store.RunSummary{}
		}
		return writeRunsJSON(w, runs)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTATUS\tSTARTED\tENDED\tVARIATIONS\tITEMS\tGENERATIONS\tFAILED\tSCORES\tVERSION")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d/%d\t%d\t%d\t%s\n", r.ID, runStatus(r), when(r.StartedAt), when(r.EndedAt),
			r.Variations, r.Items, r.Generations, r.Expected, r.Failed, r.Scores, dash(r.ToolVersion))
	}
	return tw.Flush()
}

func runsShow(ctx context.Context, o runsOptions, w io.Writer) (err error) {
	if o.json && o.config {
		return usagef("runs show: --json and --config exclude each other")
	}
	s, err := openRuns(ctx, "show", o)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	d, err := s.RunDetail(ctx, o.run)
	if err != nil {
		return runErr("show", err)
	}
	switch {
	case o.config:
		_, err := io.WriteString(w, d.Config)
		return err
	case o.json:
		return writeRunsJSON(w, d)
	}
	return writeRunDetail(w, d)
}

// writeRunDetail prints a run for people.
func writeRunDetail(w io.Writer, d *store.RunDetail) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	m := d.Machine
	fmt.Fprintf(tw, "run\t%s\n", d.ID)
	fmt.Fprintf(tw, "status\t%s\n", runStatus(d.RunSummary))
	fmt.Fprintf(tw, "started\t%s\n", when(d.StartedAt))
	fmt.Fprintf(tw, "ended\t%s\n", when(d.EndedAt))
	fmt.Fprintf(tw, "config hash\t%s\n", d.ConfigHash)
	fmt.Fprintf(tw, "bertbench\t%s\n", dash(d.ToolVersion))
	fmt.Fprintf(tw, "machine\t%s (%s/%s, %d CPUs, %s)%s\n", dash(m.Hostname), m.OS, m.Arch, m.CPUs, m.GoVersion, note(m.Note))
	fmt.Fprintf(tw, "items\t%d\n", d.Items)
	fmt.Fprintf(tw, "generations\t%d of %d (%d failed)\n", d.Generations, d.Expected, d.Failed)
	fmt.Fprintf(tw, "scores\t%d\n", d.Scores)
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nsessions\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tSTARTED\tENDED\tVERSION\tMACHINE")
	for _, ss := range d.Sessions {
		ended := when(ss.EndedAt)
		if ss.EndedAt.IsZero() {
			ended = "- (running or killed)"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", ss.ID, when(ss.StartedAt), ended, dash(ss.ToolVersion), dash(ss.Machine.Hostname))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nvariations\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tRUNNER\tREPEATS\tSTORED\tFAILED\tLIVE\tCACHED\tTOKENS IN/OUT\tCOST USD\tFLAGS")
	for _, v := range d.Variations {
		cost := "-"
		if v.Priced > 0 {
			cost = fmt.Sprintf("%.4f", v.CostUSD)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d/%d\t%d\t%d\t%d\t%d/%d\t%s\t%s\n", v.Name, v.Runner, v.Repeats, v.Generations, d.Items*v.Repeats,
			v.Failed, v.Live, v.Cached, v.PromptTokens, v.CompletionTokens, cost, flagCounts(v.Flags))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nscorings\n")
	if len(d.Scorings) == 0 {
		fmt.Fprintln(w, "  none yet")
	}
	for _, sc := range d.Scorings {
		fmt.Fprintf(w, "  %s  %d scores  %s\n", sc.Hash, sc.Scores, sc.Config)
	}
	fmt.Fprintf(w, "\nconfig (bertbench runs show --config %s prints it alone)\n", d.ID)
	for line := range strings.Lines(d.Config) {
		fmt.Fprintf(w, "  %s", line)
	}
	if !strings.HasSuffix(d.Config, "\n") {
		fmt.Fprintln(w)
	}
	return nil
}

func runsExport(ctx context.Context, o runsOptions, stdout io.Writer) (err error) {
	if o.format != store.FormatJSONL && o.format != store.FormatCSV {
		return usagef("runs export: invalid value %q for --format: want jsonl or csv", o.format)
	}
	s, err := openRuns(ctx, "export", o)
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	// A missing run fails before an output file is created.
	if _, err := s.RunDetail(ctx, o.run); err != nil {
		return runErr("export", err)
	}
	if o.output == "" || o.output == "-" {
		if err := s.Export(ctx, stdout, o.run, o.format); err != nil {
			return runErr("export", err)
		}
		return nil
	}
	f, err := outfile.Create(o.output, 0o644)
	if err != nil {
		return asUsage(fmt.Errorf("runs export: output: %w", err))
	}
	defer f.Close()
	if err := s.Export(ctx, f, o.run, o.format); err != nil {
		return runErr("export", err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("runs export: writing %s: %w", o.output, err)
	}
	return nil
}

// closeStore closes s, reporting a failure through *err if nothing failed
// before.
func closeStore(s *store.Store, err *error) {
	if cerr := s.Close(); cerr != nil && *err == nil {
		*err = cerr
	}
}

func writeRunsJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// runStatus is the run's status as shown: a run without an end may be
// running or may have been killed.
func runStatus(r store.RunSummary) string {
	if r.Status == store.StatusRunning && r.EndedAt.IsZero() {
		return "unfinished"
	}
	return string(r.Status)
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func note(s string) string {
	if s == "" {
		return ""
	}
	return ", " + s
}

// flagCounts prints flag counts in canonical order ("-" for none).
func flagCounts(counts map[outputcheck.Flag]int) string {
	var parts []string
	for _, f := range outputcheck.All {
		if n := counts[f]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", f, n))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
