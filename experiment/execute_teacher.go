package experiment

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/bertbench/bertbench/dataset"
	"github.com/bertbench/bertbench/internal/outfile"
	"github.com/bertbench/bertbench/prompt"
	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/batch"
	"github.com/bertbench/bertbench/runners/factory"
	"github.com/bertbench/bertbench/runners/retry"
)

// PartialSuffix ends the name of a generated dataset being written: the
// teacher's finished answers, kept for the next run when one is stopped.
const PartialSuffix = ".partial"

// generatedLine is one item of a generated dataset.
type generatedLine struct {
	ID        json.RawMessage `json:"id"`
	Source    string          `json:"source"`
	Reference string          `json:"reference"`
}

// teacher makes the dataset of a config with a generate block: the
// teacher translates every source, and its output becomes the item's
// reference, in OUTPUT/generate.file (JSONL: id, source, reference). A
// finished file is used as it is. Answers are written as they come to
// FILE.partial, which a stopped run leaves for the next one to continue
// (no source is asked twice), and renamed to FILE when every source has
// one. A failed call writes nothing: the run stops after the pass, and
// the next one asks again.
func (x *executor) teacher(ctx context.Context) error {
	g := x.cfg.Generate
	final := filepath.Join(x.out, g.File)
	x.dataset = &Dataset{File: absPath(final), Format: string(dataset.JSONL)}
	partial := final + PartialSuffix
	var spec Runner
	for _, r := range x.cfg.Runners {
		if r.Name == g.Runner {
			spec = r
		}
	}
	p := x.teacherPrompt()
	made, err := x.teacherSource(spec, p)
	if err != nil {
		return err
	}
	if err := x.checkSource(final, partial, made); err != nil {
		return err
	}
	if st, err := os.Stat(final); err == nil && st.Mode().IsRegular() {
		return nil
	}
	done, keep, err := readPartial(partial)
	if err != nil {
		return err
	}
	if keep == 0 {
		b, err := json.Marshal(made)
		if err == nil {
			err = outfile.WriteFile(final+SourceSuffix, append(b, '\n'), 0o644)
		}
		if err != nil {
			return fmt.Errorf("generate.file: %w", err)
		}
	}
	r, err := factory.New(x.cfg.resolveSpec(spec.Spec), factory.Options{
		Concurrency: spec.Concurrency,
		Retry:       retry.Policy{MaxAttempts: spec.Retries, Timeout: spec.Timeout.Std()},
		Cache:       x.opts.Cache, Prices: x.opts.Prices, Getenv: x.opts.Getenv,
	})
	if err != nil {
		return runnerError(g.Runner, err)
	}
	tmpl, err := prompt.Parse(p.Name, p.Template)
	if err != nil {
		return inputError{err}
	}
	params := runners.Params{Temperature: g.Temperature, TopP: g.TopP, MaxTokens: g.MaxTokens, Seed: g.Seed, NumCtx: g.NumCtx, Stop: g.Stop}

	sources := x.cfg.withDataset(&g.Sources)
	total := 0
	for it, err := range sources.items(false) {
		if err != nil {
			return err
		}
		if !done[it.ID] {
			total++
		}
	}
	if total > 0 {
		if err := preflight(ctx, r, spec.Timeout.Std()); err != nil {
			return runnerError(g.Runner, err)
		}
	}
	f, err := outfile.Append(partial, 0o644, keep)
	if err != nil {
		return fmt.Errorf("generate.file: %w", err)
	}
	defer f.Close()
	var jobErr error
	jobs := func(yield func(batch.Job[dataset.Item]) bool) {
		for it, err := range sources.items(false) {
			if err != nil {
				jobErr = err
				return
			}
			if done[it.ID] {
				continue
			}
			text, err := tmpl.Render(prompt.Data{Source: it.Source, To: x.cfg.To, ID: it.ID, Line: it.Line, Fields: it.Extra})
			if err != nil {
				jobErr = inputError{fmt.Errorf("generate: item %s: %w", it.ID, err)}
				return
			}
			req := runners.Request{Prompt: text, System: p.System, Params: params, ItemID: it.ID}
			if !yield(batch.Job[dataset.Item]{Key: it, Request: req, Empty: it.Source == ""}) {
				return
			}
		}
	}
	var failed, written int
	var firstErr string
	x.progress(Progress{Phase: PhaseTeacher, Total: total})
	bctx, stop := context.WithCancel(ctx)
	defer stop()
	_, err = batch.Run(bctx, r, func(yield func(batch.Job[dataset.Item]) bool) {
		jobs(yield)
		if jobErr != nil {
			stop()
		}
	}, batch.Options{}, func(o batch.Outcome[dataset.Item]) error {
		if o.Result.Error != "" {
			if failed++; failed == 1 {
				firstErr = o.Result.Error
			}
			return nil
		}
		id := o.Key.IDJSON
		if id == nil {
			id, _ = json.Marshal(o.Key.ID)
		}
		line, err := json.Marshal(generatedLine{ID: id, Source: o.Key.Source, Reference: o.Result.Output})
		if err == nil {
			_, err = f.Write(append(line, '\n'))
		}
		if err != nil {
			return fmt.Errorf("generate.file %s: %w", partial, err)
		}
		written++
		x.progress(Progress{Phase: PhaseTeacher, Done: written, Total: total})
		return nil
	})
	if cerr := f.Commit(); cerr != nil && err == nil {
		err = cerr
	}
	var stopErr *batch.StopError[dataset.Item]
	switch {
	case jobErr != nil:
		return jobErr
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted while the teacher made the references (%d of %d kept in %s): %w", written, total, partial, ctx.Err())
	case errors.As(err, &stopErr):
		return runnerError(g.Runner, fmt.Errorf("stopped at item %s: %w (%d answers kept in %s; run again to go on)", stopErr.Key.ID, stopErr.Err, written, partial))
	case err != nil:
		return err
	case failed > 0:
		return fmt.Errorf("generate: %d of %d teacher calls failed (the first: %s); %d answers are kept in %s: run again to ask for the rest", failed, total, firstErr, written, partial)
	}
	if err := os.Rename(partial, final); err != nil {
		return fmt.Errorf("generate.file: %w", err)
	}
	fmt.Fprintf(x.stderr, "bertbench: the teacher %s made the references: %s\n", g.Runner, final)
	return nil
}

// SourceSuffix ends the name of the file beside a generated dataset
// (and its partial file) that records what made it: teacherSource, as
// JSON.
const SourceSuffix = ".source.json"

// teacherSource is what a generated dataset is made from: the teacher's
// config (the generate block, the runner's spec and mode, the prompt and
// the target language) and the sources file's contents, as hashes.
type teacherSource struct {
	Teacher string `json:"teacher"`
	Sources string `json:"sources_sha256"`
}

// teacherSource hashes what the teacher makes the dataset from now.
func (x *executor) teacherSource(spec Runner, p Prompt) (teacherSource, error) {
	g := x.cfg.Generate
	b, err := json.Marshal(struct {
		Generate   *Generate
		Spec, Mode string
		Prompt     Prompt
		To         string
	}{g, spec.Spec, spec.Mode, p, x.cfg.To})
	if err != nil {
		return teacherSource{}, fmt.Errorf("generate: %w", err)
	}
	teacher := sha256.Sum256(b)
	f, err := os.Open(x.cfg.Path(g.Sources.File))
	if err != nil {
		return teacherSource{}, datasetError(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return teacherSource{}, fmt.Errorf("generate.sources: %w", err)
	}
	return teacherSource{Teacher: hex.EncodeToString(teacher[:]), Sources: hex.EncodeToString(h.Sum(nil))}, nil
}

// checkSource compares what made the generated dataset there is (the
// finished file or the partial one) with made. When they differ (or the
// record is missing), a new run removes the files to make them again;
// a resume refuses, as the run's references would be another teacher's,
// or a mix.
func (x *executor) checkSource(final, partial string, made teacherSource) error {
	var there []string
	for _, p := range []string{final, partial} {
		if _, err := os.Lstat(p); err == nil {
			there = append(there, p)
		}
	}
	if len(there) == 0 {
		return nil
	}
	var was teacherSource
	b, err := os.ReadFile(final + SourceSuffix)
	if err == nil {
		err = json.Unmarshal(b, &was)
	}
	var what string
	switch {
	case err != nil:
		what = "nothing records what made it"
	case was == made:
		return nil
	case was.Teacher != made.Teacher:
		what = "generate (its runner, prompt or parameters) changed since it was made"
	default:
		what = fmt.Sprintf("the sources file %s changed since it was made", x.cfg.Path(x.cfg.Generate.Sources.File))
	}
	if x.opts.Resume {
		return inputError{fmt.Errorf("generate: %s: %s, so the run's references would not be this teacher's; run without --resume to make it again in a new run", there[0], what)}
	}
	for _, p := range append(there, final+SourceSuffix) {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("generate.file: %w", err)
		}
	}
	fmt.Fprintf(x.stderr, "bertbench: %s: %s; the teacher makes it again\n", there[0], what)
	return nil
}

// teacherPrompt is generate.prompt, or the config's only prompt.
func (x *executor) teacherPrompt() Prompt {
	ps := x.cfg.Prompts
	if len(ps) == 0 {
		return defaultPrompt()
	}
	for _, p := range ps {
		if p.Name == x.cfg.Generate.Prompt {
			return p
		}
	}
	return ps[0] // Validate requires a name when there are several
}

// readPartial reads the ids a partial generated dataset holds, and how
// many of its bytes to keep: up to its last whole line (a line torn by a
// killed run is dropped and asked again).
func readPartial(path string) (map[string]bool, int64, error) {
	done := map[string]bool{}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return done, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("generate.file: %w", err)
	}
	defer f.Close()
	rd := bufio.NewReader(f)
	var keep int64
	for {
		line, err := rd.ReadBytes('\n')
		if err != nil || !bytes.HasSuffix(line, []byte("\n")) {
			break // the end, or a torn last line
		}
		var g generatedLine
		if json.Unmarshal(line, &g) != nil || len(g.ID) == 0 {
			break // a line torn inside: the rest is written again
		}
		id := string(g.ID)
		var s string
		if json.Unmarshal(g.ID, &s) == nil {
			id = s
		}
		done[id] = true
		keep += int64(len(line))
	}
	return done, keep, nil
}
