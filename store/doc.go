// Package store is bertbench's results database: one SQLite file
// (results.db in an experiment's output folder) holding runs, their
// variations and items, every generation as it finishes, and the scores of
// each generation under each scoring configuration. Later stages read
// what earlier ones stored: scoring never calls a model, comparing never
// re-encodes, and a killed run resumes where it stopped.
//
// # Tables
//
//   - runs: the experiment config (text) and its hash, tool version,
//     machine, start and end, status;
//   - sessions: each process that created or resumed a run (tool version,
//     machine, start, end), named by the generations it stored;
//   - variations: name, runner spec, prompt and system templates, mode,
//     parameters (JSON), repeats, target language;
//   - items: the dataset's item id, source and references (JSON), in the
//     dataset's order;
//   - generations: one per (variation, item, repeat): request (cache) key,
//     output, latency and TTFT (ms), tokens, Ollama's counters (JSON), cost,
//     attempts, cached, error, truncated input, done reason, and the output
//     flags and target script's share that PutGeneration computes with
//     package runners/outputcheck (so no output is stored unchecked);
//   - scorings: a scoring configuration (a scorer Config as JSON) and its
//     hash;
//   - scores: per generation and scoring, P, R and F raw and rescaled; a
//     NaN is NULL.
//
// The schema is versioned by PRAGMA user_version and migrated by Open in
// one transaction.
//
// # Durability and resuming
//
// The database runs in WAL mode with synchronous=NORMAL and every
// finished generation is committed on its own before PutGeneration
// returns, so killing the process (kill -9) at any moment loses no
// generation that was reported stored; only an operating-system crash or
// power loss can take back what was committed since the last checkpoint.
// Unique keys make every write idempotent: putting the items, a
// generation or a score again never adds a row, and Done tells a resumed
// run which calls are finished. A failed generation may be replaced by a
// later success; a successful one is never replaced.
//
// # Concurrency
//
// A Store is safe for concurrent use. Writes go through one connection
// (SQLite has one writer; BEGIN IMMEDIATE takes the lock up front, and
// busy_timeout waits for another process holding it); reads use a few
// read-only connections of their own, so a streamed export or a scoring
// pass reading generations runs while generations and scores are written.
//
// # Examples
//
//	s, err := store.Open(ctx, store.PathIn(outDir))
//	...
//	defer s.Close()
//	run, err := s.CreateRun(ctx, store.RunConfig{Config: text, ConfigHash: hash, ToolVersion: version, Variations: vs})
//	err = run.PutItems(ctx, items)
//	done, err := run.Done(ctx) // after ResumeRun: skip what is Finished
//	_, err = run.PutGeneration(ctx, store.Generation{Key: k, RequestKey: key, Result: res})
//	err = run.AddScoring(ctx, scoringHash, scoringJSON)
//	for pair, err := range run.ToScore(ctx, scoringHash) { ... }
//	_, err = run.PutScores(ctx, scoringHash, scores)
//	err = run.Finish(ctx, store.StatusDone)
//
//	for row, err := range s.Rows(ctx, runID) { ... } // export, compare
package store
