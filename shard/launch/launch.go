// Package launch hands a sharded scoring plan (see the shard package and
// `bertbench plan`) to the engines that run it: it renders a Slurm job array
// and its merge job, a Kubernetes Indexed Job and its merge Job, or runs the
// shards as processes on this machine.
//
// Every engine runs the same two commands: N times
//
//	bertbench score --plan PLAN --shard-from-env   (Slurm, Kubernetes)
//	bertbench score --plan PLAN --shard I          (local)
//
// with at most K of them at once, then once, after all of them succeeded,
//
//	bertbench merge --format F -o OUT PLAN
//
// The package schedules nothing itself on a cluster: Slurm and Kubernetes do
// (retries, placement, GPUs); scoring a shard is idempotent, so a launcher may
// simply be submitted again after a failure and only the unfinished shards do
// work.
//
// The renderers take a [Spec] and return [File]s, named relative to the plan's
// folder, for the command line to write; they do no I/O. [RunLocal] starts
// processes and waits for them.
package launch

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// ErrInvalidInput is matched (with errors.Is) by every error a Spec's
// content caused: a missing plan path, no shards, a bad job name, a path the
// engine cannot hold. Anything else is a runtime failure.
var ErrInvalidInput = errors.New("invalid launcher spec")

// inputError marks err as caused by the caller's input without changing its
// message.
type inputError struct{ err error }

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == ErrInvalidInput }

// inputErrorf builds an input error.
func inputErrorf(format string, args ...any) error {
	return inputError{fmt.Errorf(format, args...)}
}

// MergeFormats are the output formats `bertbench merge --format` takes.
var MergeFormats = []string{"text", "json", "jsonl", "csv"}

// DefaultJobName names the jobs when Spec.JobName is empty.
const DefaultJobName = "bertbench"

// Spec says what to launch and how. Paths are as the jobs see them (on the
// cluster's shared file system, or in the Kubernetes volume), which need not
// be where the plan was written.
type Spec struct {
	// Plan is the plan.json the jobs read. Its folder receives the shard
	// files, the done markers and (Slurm) the job logs. Required; absolute
	// for Slurm and Kubernetes.
	Plan string
	// Shards is the plan's number of shards N (indices 0 to N-1).
	Shards int
	// Parallel is K, the most shards running at once; 0 means all N.
	Parallel int
	// GPU asks one GPU for every shard (the plan scores with --device cuda):
	// --gres=gpu:1 on Slurm, an nvidia.com/gpu: 1 limit on Kubernetes, one
	// process per GPU locally.
	GPU bool
	// Binary is the bertbench program on the nodes or in the image; default
	// "bertbench" (looked up on PATH).
	Binary string
	// ScoreArgs are more arguments for every `bertbench score` (e.g.
	// "--device", "cuda", "--threads", "8").
	ScoreArgs []string
	// Env is set in every job (e.g. BERTBENCH_ORT_LIB), in this order.
	Env []EnvVar
	// MergeFormat is merge's --format: text, json, jsonl or csv; default text.
	MergeFormat string
	// MergeOut is where the merge job writes the merged results (merge -o).
	// Required for Kubernetes; empty, the results go to the merge's
	// standard output: on Slurm its log, locally LocalOptions.Stdout.
	MergeOut string
	// JobName names the jobs: the Slurm job names are JobName and
	// JobName-merge, the Kubernetes Jobs the same. Lower-case letters,
	// digits and '-' (a DNS label, as Kubernetes wants), at most 57
	// characters; default "bertbench".
	JobName string

	// Slurm holds what only Slurm uses.
	Slurm SlurmSpec
	// K8s holds what only Kubernetes uses.
	K8s K8sSpec
}

// EnvVar is one environment variable set in every job.
type EnvVar struct {
	Name, Value string
}

// File is one file a renderer produced: Name is relative to the plan's
// folder, Mode its permission bits (0o755 for scripts).
type File struct {
	Name string
	Data []byte
	Mode uint32
}

var (
	jobNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// maxJobName leaves room for the "-merge" suffix in a 63-character label.
const maxJobName = 63 - len("-merge")

// normalized checks what every engine needs and fills the defaults.
func (s Spec) normalized() (Spec, error) {
	if s.Plan == "" {
		return s, inputErrorf("no plan path: give the plan.json the jobs read")
	}
	if strings.ContainsAny(s.Plan, "\x00\n\r") || strings.ContainsAny(s.MergeOut, "\x00\n\r") {
		return s, inputErrorf("the plan path %q or merge output %q has a newline or NUL: move the plan", s.Plan, s.MergeOut)
	}
	if s.Shards < 1 {
		return s, inputErrorf("%d shards: a plan has at least one", s.Shards)
	}
	if s.Parallel < 0 {
		return s, inputErrorf("parallel %d: give at least 1, or 0 for all %d shards at once", s.Parallel, s.Shards)
	}
	if s.Parallel == 0 || s.Parallel > s.Shards {
		s.Parallel = s.Shards
	}
	if s.Binary == "" {
		s.Binary = "bertbench"
	}
	if s.MergeFormat == "" {
		s.MergeFormat = "text"
	}
	if !slices.Contains(MergeFormats, s.MergeFormat) {
		return s, inputErrorf("merge format %q: want one of %s", s.MergeFormat, strings.Join(MergeFormats, ", "))
	}
	if s.JobName == "" {
		s.JobName = DefaultJobName
	}
	if len(s.JobName) > maxJobName || !jobNameRE.MatchString(s.JobName) {
		return s, inputErrorf("job name %q: use lower-case letters, digits and '-' (not first or last), at most %d characters", s.JobName, maxJobName)
	}
	for _, e := range s.Env {
		if !envNameRE.MatchString(e.Name) {
			return s, inputErrorf("environment variable name %q: use letters, digits and '_', not starting with a digit", e.Name)
		}
		if strings.ContainsAny(e.Value, "\x00") {
			return s, inputErrorf("environment variable %s holds a NUL byte", e.Name)
		}
	}
	return s, nil
}

// planDir is the plan's folder as the jobs see it.
func (s Spec) planDir() string { return path.Dir(s.Plan) }

// scoreCommand is the command line of one shard job, reading its index
// from the engine's environment.
func (s Spec) scoreCommand() []string {
	cmd := []string{s.Binary, "score", "--plan", s.Plan, "--shard-from-env"}
	return append(cmd, s.ScoreArgs...)
}

// mergeCommand is the merge job's command line.
func (s Spec) mergeCommand() []string {
	// Flags before the plan: urfave/cli stops at the first argument.
	cmd := []string{s.Binary, "merge", "--format", s.MergeFormat}
	if s.MergeOut != "" {
		cmd = append(cmd, "-o", s.MergeOut)
	}
	return append(cmd, s.Plan)
}
