package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"

	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/internal/slurmtest"
	"github.com/bertbench/bertbench/shard"
	"github.com/bertbench/bertbench/shard/launch"
)

// launchJob is a scoring job for the launcher tests: 20,000 pairs (two
// references each) of the tiny fixture model with idf and rescaling.
type launchJob struct {
	dir   string
	flags []string // score's and plan's input and scoring flags
}

const launchPairs = 20000

func newLaunchJob(t *testing.T) launchJob {
	t.Helper()
	orttest.Require(t)
	dir := t.TempDir()
	model := fixturePath(t, "tiny-mbert")
	vocab, err := os.ReadFile(filepath.Join(model, "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var ws []string
	for _, w := range strings.Fields(string(vocab)) {
		if !strings.HasPrefix(w, "[") && !strings.HasPrefix(w, "##") {
			ws = append(ws, w)
		}
	}
	r := rand.New(rand.NewPCG(12, 1))
	sentence := func() string {
		parts := make([]string, 1+r.IntN(20))
		for i := range parts {
			parts[i] = ws[r.IntN(len(ws))]
		}
		return strings.Join(parts, " ")
	}
	var c, r1, r2 []string
	for range launchPairs {
		c, r1, r2 = append(c, sentence()), append(r1, sentence()), append(r2, sentence())
	}
	return launchJob{dir: dir, flags: []string{
		"--model", model, "--layer", "4", "--idf", "--rescale", "--baseline", filepath.Join(model, "baseline.tsv"),
		"--threads", "1",
		"-c", writeLines(t, dir, "cands.txt", c), "-r", writeLines(t, dir, "refs1.txt", r1), "-r", writeLines(t, dir, "refs2.txt", r2),
	}}
}

// whole is what bertbench score prints for the whole job in one process.
func (j launchJob) whole(t *testing.T, format string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, "", append([]string{"score", "-f", format}, j.flags...)...)
	if code != 0 {
		t.Fatalf("score: exit %d: %s", code, stderr)
	}
	if n := strings.Count(stdout, "\n"); n < launchPairs && format != "json" {
		t.Fatalf("score printed %d lines for %d pairs", n, launchPairs)
	}
	return stdout
}

// plan runs bertbench plan for the job with more flags, and returns its
// standard output.
func (j launchJob) plan(t *testing.T, out string, more ...string) string {
	t.Helper()
	args := append(append([]string{"plan", "--shards", "8", "--out", out}, j.flags...), more...)
	code, stdout, stderr := runCLI(t, "", args...)
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, stderr)
	}
	return stdout
}

// selfAsBertbench writes a bertbench program that runs this test binary's
// main (the "argv" child of TestMain) with its arguments, for launchers
// that call bertbench by path.
func selfAsBertbench(t *testing.T, dir string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bertbench")
	script := fmt.Sprintf("#!/bin/sh\n%s=argv exec %s \"$@\"\n", envChild, self)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestLaunch_SlurmEndToEnd plans 20,000 pairs with idf and rescaling in 8
// shards, submits the Slurm launcher plan --emit slurm wrote (its
// slurm-submit.sh: the array with --array=0-7%3, the merge with
// --dependency=afterok) to a real single-node cluster, and checks that the
// merged file holds the bytes bertbench score prints for the whole input.
// Then it drops one shard's results and submits again: the done shards
// exit at once, the dropped one is scored again, and the new merge is the
// same bytes.
func TestLaunch_SlurmEndToEnd(t *testing.T) {
	j := newLaunchJob(t)
	want := j.whole(t, "jsonl")
	c := slurmtest.Start(t)
	bin := selfAsBertbench(t, j.dir)
	dir := filepath.Join(j.dir, "plan")
	out := j.plan(t, dir, "--emit", "slurm", "--parallel", "3", "--merge-format", "jsonl", "--bertbench", bin, "--job-name", "e2e")
	submitScript := filepath.Join(dir, launch.SlurmSubmit)
	if !strings.Contains(out, "submit: sh "+submitScript) {
		t.Fatalf("plan --emit slurm printed %q", out)
	}
	score, err := os.ReadFile(filepath.Join(dir, launch.SlurmScoreScript))
	if err != nil || !strings.Contains(string(score), "#SBATCH --array=0-7%3\n") || strings.Contains(string(score), "gres") {
		t.Fatalf("%s: %v\n%s", launch.SlurmScoreScript, err, score)
	}
	merged := filepath.Join(dir, "merged.jsonl")

	submit := func() (array, merge string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := c.Command(ctx, "sh", submitScript)
		cmd.Dir = j.dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", submitScript, err, out)
		}
		m := regexp.MustCompile(`array job (\d+): 8 shards, at most 3 at once; merge job (\d+)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("%s printed %q", submitScript, out)
		}
		array, merge = string(m[1]), string(m[2])
		jobs := c.Wait(10*time.Minute, array, merge)
		for _, job := range append(jobs[array], jobs[merge]...) {
			if job.State != "COMPLETED" {
				log := fmt.Sprintf("slurm-e2e-%s_%s.out", array, job.ArrayTaskID)
				if job.ID == merge {
					log = fmt.Sprintf("slurm-e2e-merge-%s.out", merge)
				}
				text, _ := os.ReadFile(filepath.Join(dir, log))
				t.Fatalf("job %s %s (task %s): %s (%s); %s:\n%s", job.ID, job.Name, job.ArrayTaskID, job.State, job.Reason, log, text)
			}
		}
		if n := len(jobs[array]); n != 8 {
			t.Fatalf("array %s ran %d tasks, want 8", array, n)
		}
		return array, merge
	}
	check := func(round string) {
		t.Helper()
		got, err := os.ReadFile(merged)
		if err != nil {
			t.Fatalf("%s: %v", round, err)
		}
		if string(got) != want {
			t.Fatalf("%s: the merged file (%d bytes) differs from score's output (%d bytes)", round, len(got), len(want))
		}
	}
	array, _ := submit()
	check("first submission")
	for i := range 8 {
		log, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("slurm-e2e-%s_%d.out", array, i)))
		if err != nil || !strings.Contains(string(log), fmt.Sprintf("shard %d of 8: 2500 pairs scored", i)) {
			t.Errorf("shard %d's log: %q (%v)", i, log, err)
		}
	}

	// Shard 5 lost (its node's disk, say): submit the same launcher again.
	for _, f := range []string{shard.ShardFile(5), shard.DoneFile(5), "merged.jsonl"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	array, _ = submit()
	check("second submission")
	for i := range 8 {
		log, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("slurm-e2e-%s_%d.out", array, i)))
		want := "is already done"
		if i == 5 {
			want = "shard 5 of 8: 2500 pairs scored"
		}
		if err != nil || !strings.Contains(string(log), want) {
			t.Errorf("shard %d's log after the resubmission: %q (%v), want %q", i, log, err, want)
		}
	}
}

// TestLaunch_Local: plan --emit local runs the 8 shards as processes here,
// then the merge, and prints score's bytes for the whole input.
func TestLaunch_Local(t *testing.T) {
	j := newLaunchJob(t)
	want := j.whole(t, "csv")
	t.Setenv(envChild, "argv") // the shards run this test binary as bertbench
	got := j.plan(t, filepath.Join(j.dir, "plan"), "--emit", "local", "--parallel", "3", "--merge-format", "csv")
	if got != want {
		t.Fatalf("plan --emit local printed %d bytes, score %d: they differ", len(got), len(want))
	}
	for i := range 8 {
		if _, err := os.Stat(filepath.Join(j.dir, "plan", fmt.Sprintf("local-shard-%05d.log", i))); err != nil {
			t.Error(err)
		}
	}
}

// TestLaunch_KubernetesContract runs the Indexed Job that plan --emit k8s
// wrote as Kubernetes would: decoded into a batch/v1 Job, its container's
// command run once per index with JOB_COMPLETION_INDEX set (parallelism at
// a time, the indices in reverse order), then the merge Job's command: the
// merged file holds score's bytes for the whole input.
func TestLaunch_KubernetesContract(t *testing.T) {
	j := newLaunchJob(t)
	want := j.whole(t, "json")
	bin := selfAsBertbench(t, j.dir)
	dir := filepath.Join(j.dir, "plan")
	// The volume is the job's folder, mounted where it is.
	j.plan(t, dir, "--emit", "k8s", "--parallel", "4", "--merge-format", "json", "--bertbench", bin,
		"--image", "bertbench:test", "--pvc", "scores", "--mount", j.dir, "--k8s-memory", "2Gi")
	decode := func(name string) *batchv1.Job {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var job batchv1.Job
		if err := yaml.UnmarshalStrict(data, &job); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return &job
	}
	score, merge := decode(launch.K8sScoreJob), decode(launch.K8sMergeJob)
	if *score.Spec.CompletionMode != batchv1.IndexedCompletion || *score.Spec.Completions != 8 || *score.Spec.Parallelism != 4 ||
		*score.Spec.BackoffLimitPerIndex != 3 {
		t.Fatalf("score job spec %+v", score.Spec)
	}
	run := func(job *batchv1.Job, env ...string) {
		t.Helper()
		c := job.Spec.Template.Spec.Containers[0]
		cmd := exec.Command(c.Command[0], c.Command[1:]...)
		cmd.Env = os.Environ()
		for _, e := range c.Env {
			cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
		}
		cmd.Env = append(cmd.Env, env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s %v: %v\n%s", job.Name, env, err, out)
		}
	}
	indices := make(chan int)
	var wg sync.WaitGroup
	for range int(*score.Spec.Parallelism) {
		wg.Go(func() {
			for i := range indices {
				run(score, "JOB_COMPLETION_INDEX="+strconv.Itoa(i))
			}
		})
	}
	for i := int(*score.Spec.Completions) - 1; i >= 0; i-- {
		indices <- i
	}
	close(indices)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	run(merge)
	mc := merge.Spec.Template.Spec.Containers[0].Command
	out := mc[slices.Index(mc, "-o")+1]
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("merged %s (%d bytes) differs from score's output (%d bytes)", out, len(got), len(want))
	}
}

// TestPlanEmit_Usage: launcher flags that do not fit are refused in one
// line, exit 2 (those that need the plan, after it is written).
func TestPlanEmit_Usage(t *testing.T) {
	dir := t.TempDir()
	c := writeLines(t, dir, "c.txt", []string{"a"})
	r := writeLines(t, dir, "r.txt", []string{"a"})
	base := []string{"plan", "--model", fixturePath(t, "tiny-mbert"), "--layer", "4", "-c", c, "-r", r, "--shards", "1", "--out", filepath.Join(dir, "p")}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown engine", []string{"--emit", "nomad"}, `unknown --emit "nomad" (want one of slurm, k8s, local)`},
		{"engine flag without emit", []string{"--image", "x"}, "--image goes with --emit k8s"},
		{"flag of another engine", []string{"--emit", "slurm", "--pvc", "x"}, "--pvc does not go with --emit slurm (only with --emit k8s)"},
		{"gpus for slurm", []string{"--emit", "slurm", "--gpus", "0,1"}, "--gpus does not go with --emit slurm"},
		{"negative parallel", []string{"--emit", "local", "--parallel", "-2"}, "--parallel must be positive"},
		{"bad merge format", []string{"--emit", "local", "--merge-format", "xml"}, `unknown --merge-format "xml"`},
		{"bad job env", []string{"--emit", "slurm", "--job-env", "NOVALUE"}, `--job-env "NOVALUE": want KEY=VALUE`},
		{"k8s without a volume", []string{"--emit", "k8s", "--image", "x", "--mount", "/data"}, "--emit k8s needs --pvc"},
		{"k8s plan outside the mount", []string{"--emit", "k8s", "--image", "x", "--pvc", "v", "--mount", "/elsewhere"}, "give --job-dir"},
		{"k8s bad claim name", []string{"--emit", "k8s", "--image", "x", "--pvc", "Bad_Name", "--mount", dir}, `claim name "Bad_Name"`},
		{"slurm bad job name", []string{"--emit", "slurm", "--job-name", "My Job"}, `job name "My Job"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", append(slices.Clone(base), tc.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("exit %d, stderr %q, want exit %d and one line with %q", code, stderr, exitUsage, tc.want)
			}
			if strings.Contains(stdout, "wrote") {
				t.Errorf("stdout %q", stdout)
			}
		})
	}
}

// TestPlanEmit_SlurmArrayLimit: a plan of more shards than Slurm's
// default MaxArraySize allows is still written, with a warning saying how
// to fit it, so sbatch's refusal is no surprise.
func TestPlanEmit_SlurmArrayLimit(t *testing.T) {
	dir := t.TempDir()
	lines := make([]string, 1001)
	for i := range lines {
		lines[i] = fmt.Sprintf("word %d", i)
	}
	c := writeLines(t, dir, "c.txt", lines)
	r := writeLines(t, dir, "r.txt", lines)
	args := []string{"plan", "--model", fixturePath(t, "tiny-mbert"), "--layer", "4", "-c", c, "-r", r, "--out", filepath.Join(dir, "p"), "--emit", "slurm"}
	for _, tc := range []struct {
		shards string
		warn   bool
	}{{"1000", false}, {"1001", true}} {
		code, _, stderr := runCLI(t, "", append(slices.Clone(args), "--shards", tc.shards)...)
		if code != exitOK || strings.Contains(stderr, "MaxArraySize") != tc.warn {
			t.Errorf("%s shards: exit %d, stderr %q; want exit 0 and a MaxArraySize warning: %v", tc.shards, code, stderr, tc.warn)
		}
	}
}
