// Command bertbench benchmarks machine translation from local (Ollama) and
// hosted (OpenAI-compatible) models, scoring it with BERTScore computed
// in-process by ONNX Runtime.
//
// Exit codes: 0 success, 1 runtime failure, 2 usage or input error, 3 a
// threshold failed (--fail-under, --max-regression, --threshold), 128 + the
// signal when interrupted (130 for Ctrl-C, 143 for SIGTERM).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
)

// Exit codes shared by every command.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	// exitGate is the status when a threshold failed (see gateFailure):
	// the work was done and its report written, but a bound was not met.
	exitGate = 3
	// exitInterrupted is the status after Ctrl-C (128 + SIGINT); after
	// SIGTERM it is 143 (see interruptCode).
	exitInterrupted = 130
)

// usageError marks an error caused by the user's flags or input files; it
// makes the process exit with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef builds a usageError.
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// asUsage wraps err as a usage error (nil stays nil).
func asUsage(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Reader:    stdin,
		Name:      "bertbench",
		Usage:     "benchmark LLM translation quality (BERTScore), latency, tokens and cost",
		Version:   version,
		Writer:    stdout,
		ErrWriter: stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    "ort-lib",
				Usage:   "`PATH` to libonnxruntime.so.1 (default: $BERTBENCH_ORT_LIB, then the copy \"make setup\" installs in .deps/ort)",
				EnvVars: []string{"BERTBENCH_ORT_LIB"},
			},
			&cli.StringFlag{
				Name:    "cuda-ep",
				Usage:   "`PATH` to the CUDA execution provider, libonnxruntime_providers_cuda.so, for --device cuda (default: $BERTBENCH_CUDA_EP, then the copy \"make cuda-ep\" installs in .deps/cuda-ep)",
				EnvVars: []string{"BERTBENCH_CUDA_EP"},
			},
		},
		Commands: []*cli.Command{
			scoreCommand(),
			planCommand(),
			withInterspersedFlags(mergeCommand()),
			modelsCommand(),
			translateCommand(),
			adaptersCommand(),
			cacheCommand(),
			runCommand(),
			runsCommand(),
			finetuneCommand(),
			compareCommand(),
			reportCommand(),
			generateCommand(),
			benchCommand(),
		},
		// Without a command, show the help; an unknown command is a usage
		// error (exit 2).
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("unknown command %q (see bertbench --help)", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		ExitErrHandler: func(*cli.Context, error) {},
	}
	app.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
		return flagUsageError("", "bertbench", app.Flags, err)
	}
	applyUsageContract("bertbench", app.Commands)
	return app
}

// run executes the CLI and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	err := app.RunContext(ctx, args)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "bertbench: %v\n", err)
	if ctx.Err() != nil {
		// Whatever failed, it failed because the run was interrupted.
		return interruptCode(ctx)
	}
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	var ce cli.ExitCoder
	if errors.As(err, &ce) {
		return ce.ExitCode()
	}
	return exitFailure
}

func main() {
	// After the first SIGINT or SIGTERM the commands wind down and keep
	// what finished; a second one ends the process at once.
	ctx, stop := notifyInterrupt(context.Background(), os.Exit)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
