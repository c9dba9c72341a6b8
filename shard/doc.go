// Package shard splits one BERTScore job into shards that separate
// processes score, on one machine or on a cluster (Slurm job arrays,
// Kubernetes Indexed Jobs), and merges their results into exactly what
// one process would have printed.
//
// Three steps, each a function the command line wires:
//
//   - Make reads the inputs once (streaming) and writes a Plan: the input
//     files with their sha256 digests and item counts, how to open the
//     model, the scorer Config a shard produces, the shards as contiguous
//     ranges of items (a candidate with several references is one item,
//     never split) with their first and last ids and a digest of their
//     items, and, with idf, the global idf table over every reference: a
//     shard never computes idf locally, so its scores are those of the
//     whole corpus.
//   - Run scores one shard: it checks the inputs against the plan's
//     digests, streams past the items before its range, scores its own
//     with the plan's idf table and baseline, writes per-pair results
//     (full-precision JSON numbers) to ShardFile through a partial file
//     of its own (PartialFile: two runs of one shard at once never share
//     one) renamed into place, and last writes its DoneFile marker (the
//     plan's digest, the Config, counts and the shard file's sha256) with
//     an atomic rename. A shard whose marker is valid (and whose inputs have
//     not changed) is not scored again; a run that succeeds removes the
//     partial files killed runs left. Its memory is that of its own items,
//     not of the corpus.
//   - Merge checks that the inputs are still the plan's and that every
//     shard is there once, of this plan and of a configuration that gives
//     the same scores (scorer.Config.SameScores), and rebuilds the
//     scorer.Result in item order, with the corpus means added in item
//     order (scorer.Means), as one process adds them: the result is the
//     same, bit for bit, whatever order the shards finished in.
//
// Shards are indexed from 0, as job arrays (SLURM_ARRAY_TASK_ID) and
// Indexed Jobs (JOB_COMPLETION_INDEX) number their tasks; IndexFromEnv
// reads those variables.
//
// Errors a user can fix (bad inputs, a changed input, a missing or foreign
// shard) match ErrInvalidInput and one of the kinds below; others are
// runtime failures.
package shard
