// Package experiment reads, checks and expands experiment configs: the
// YAML file that says what a study translates (a dataset, or sources whose
// references a teacher model generates), with which runners, prompts and
// parameters, how often, how the outputs are scored, and where the results
// go. It turns a config into a plan, a deterministic list of runs, and
// Execute runs the plan into a results store (package store) and scores
// it.
//
// # Reading a config
//
// As litestream reads its config: DefaultConfig holds the defaults, Parse
// decodes YAML over them, Validate checks the values, and Load reads a
// file and does both. The YAML is read strictly, with
// github.com/goccy/go-yaml: a syntax error, an unknown field (with the
// closest known name suggested) or a value of the wrong type is an error.
// Validate then checks everything that can be checked offline, without
// calling a model (see Config.Validate).
//
// # Errors
//
// Every problem is one line, "FILE:LINE:COL: PATH: what is wrong, and the
// fix", where PATH is the field as the YAML writes it
// (variations[1].temperature) and the position is its value's:
//
//	demo.yaml:9:11: runners[0].spec: runner spec "olama:llama2": unknown provider "olama" (want ollama, openai, openai-compatible or replay); did you mean ollama:llama2?
//	demo.yaml:14:5: variations[0].tempreature: unknown field; did you mean "temperature"? (a variation has: name, runner, ...)
//
// Parse and Validate report every problem they find, not just the first,
// as Errors (one line each, in file order, at most MaxErrors); each
// matches ErrInvalidInput with errors.Is.
//
// # Plans
//
// Config.Plan expands the variations: every combination of a variation's
// runners, prompts and parameter values, each repeated, with stable
// readable names (llama2/temperature=0.7) and a Key per run over what its
// outputs depend on. Config.Hash identifies the whole config for resume
// checks.
//
// # Executing
//
// Execute (execute*.go; the config files stay apart from it) runs an
// experiment into OUTPUT/results.db: a generate block's teacher pass
// first (OUTPUT/generated.jsonl), the items, every planned run through
// its runner (runners/batch, one batch per runner; runners concurrently,
// Ollama runners on one server one after another), each output stored as
// it finishes and checked (runners/outputcheck), then one encoder session
// scoring the outputs not scored yet, an output several variations share
// encoded once. A killed run loses nothing finished; Options.Resume
// continues it without calling a model again for a stored output. The
// Report sums each variation up, and Report.Table renders it.
//
// # The JSON Schema
//
// examples/bertbench.schema.json, for editors, is generated from the Go
// types by `go generate ./experiment` (internal/schemagen); a test keeps
// it in step with them.
//
// # Examples
//
//	c, err := experiment.Load("examples/demo.yaml")
//	if err != nil {
//		return err // errors.Is(err, experiment.ErrInvalidInput): exit 2
//	}
//	plan, err := c.Plan()
//	if err != nil {
//		return err
//	}
//	for _, run := range plan {
//		fmt.Println(run.ID(), run.Spec, run.Prompt) // llama2-base#1 replay:... default
//	}
//	rep, err := experiment.Execute(ctx, c, experiment.Options{Resume: true})
//	fmt.Println(rep.Table().Render(), rep.Store)
package experiment

//go:generate go run ./internal/schemagen -o ../examples/bertbench.schema.json
