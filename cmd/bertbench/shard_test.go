package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bertbench/bertbench/internal/fixture"
	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/modelspec"
	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/shard"
	"github.com/bertbench/bertbench/store"
)

// shardWaitLimit bounds one shard child (the race detector slows it).
const shardWaitLimit = 3 * time.Minute

// genSentence is a pseudo-random sentence of 1 to maxWords words.
func genSentence(r *rand.Rand, ws []string, maxWords int) string {
	parts := make([]string, 1+r.IntN(maxWords))
	for i := range parts {
		parts[i] = ws[r.IntN(len(ws))]
	}
	return strings.Join(parts, " ")
}

// textCorpus writes n line-aligned items with two references each:
// cands.txt, refs1.txt, refs2.txt; it returns the input flags.
func textCorpus(t *testing.T, dir string, n, maxWords int, seed uint64) []string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 2))
	ws := fixture.Words(t, "tiny-mbert")
	files := []string{"cands.txt", "refs1.txt", "refs2.txt"}
	cols := make([][]string, len(files))
	for range n {
		for k := range cols {
			cols[k] = append(cols[k], genSentence(r, ws, maxWords))
		}
	}
	args := []string{}
	for k, name := range files {
		path := writeLines(t, dir, name, cols[k])
		args = append(args, map[bool]string{true: "-c", false: "-r"}[k == 0], path)
	}
	return args
}

// fieldCorpus writes n items as a translate results file (cands.jsonl,
// its "output" field, in shuffled order) and a dataset with 1 to 3
// references an item (items.jsonl); it returns the input flags.
func fieldCorpus(t *testing.T, dir string, n int, seed uint64) []string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 3))
	ws := fixture.Words(t, "tiny-mbert")
	var items strings.Builder
	lines := make([]string, n)
	order := r.Perm(n)
	for i := range n {
		id := fmt.Sprintf("doc%05d", i)
		refs := make([]string, 1+r.IntN(3))
		for k := range refs {
			refs[k] = genSentence(r, ws, 16)
		}
		cand := genSentence(r, ws, 16)
		if i%101 == 0 {
			cand = ""
		}
		b, _ := json.Marshal(map[string]any{"id": id, "source": "s", "references": refs})
		items.Write(append(b, '\n'))
		b, _ = json.Marshal(map[string]any{"id": id, "output": cand})
		lines[order[i]] = string(b)
	}
	cands := writeLines(t, dir, "cands.jsonl", lines)
	refs := filepath.Join(dir, "items.jsonl")
	if err := os.WriteFile(refs, []byte(items.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"-c", cands, "--field", "output", "-r", refs}
}

// scoringArgs are the model and settings of the shard tests: the tiny
// fixture model, idf and rescaling.
func scoringArgs(t testing.TB) []string {
	return []string{"--model", fixturePath(t, "tiny-mbert"), "--layer", "4", "--idf", "--rescale",
		"--baseline", fixturePath(t, "tiny-mbert", "baseline.tsv"), "--threads", "1"}
}

// mustCLI runs bertbench in-process and fails the test unless it exits 0.
func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, "", args...)
	if code != exitOK {
		t.Fatalf("bertbench %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// startShard starts `bertbench score --plan PLAN --shard-from-env` in a
// child process with env (the task index a cluster sets).
func startShard(t *testing.T, plan string, env ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	// Whatever the test's own environment holds, only env names the task.
	env = append([]string{"JOB_COMPLETION_INDEX=", "SLURM_ARRAY_TASK_ID="}, env...)
	cmd, _, stderr := startChildEnv(t, "main", env, "score", "--plan", plan, "--shard-from-env")
	return cmd, stderr
}

// waitShard waits for a shard child and returns its exit code (-1 when
// a signal ended it).
func waitShard(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	return waitExitWithin(t, cmd, shardWaitLimit)
}

// runShards runs the shards in the order given, as a cluster runs its
// tasks: at most two at a time, each a process of its own with its index
// in the variable envName.
func runShards(t *testing.T, plan, envName string, order []int) {
	t.Helper()
	var wg sync.WaitGroup
	slots := make(chan struct{}, 2)
	errs := make(chan string, len(order))
	for _, i := range order {
		slots <- struct{}{}
		cmd, stderr := startShard(t, plan, envName+"="+strconv.Itoa(i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(shardWaitLimit):
				_ = cmd.Process.Kill()
				<-done
			}
			if code := cmd.ProcessState.ExitCode(); code != exitOK {
				errs <- fmt.Sprintf("shard %d (%s=%d): exit %d: %s", i, envName, i, code, stderr)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// compareMerged merges the plan in every format and compares the bytes
// with what one score process printed for the whole input.
func compareMerged(t *testing.T, plan string, single map[string]string) {
	t.Helper()
	for _, f := range scoreFormats {
		got := mustCLI(t, "merge", plan, "--format", f)
		if got != single[f] {
			t.Errorf("merge --format %s of %s differs from score's output (%d bytes, score's %d): first difference at byte %d",
				f, plan, len(got), len(single[f]), firstDiff(got, single[f]))
		}
	}
}

// scoreAll runs one score process over the whole input in every format.
func scoreAll(t *testing.T, args []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range scoreFormats {
		out[f] = mustCLI(t, append(append([]string{"score"}, args...), "--format", f)...)
	}
	return out
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestIndexedJobContract is the Kubernetes Indexed Job contract: N
// processes, each given its index in JOB_COMPLETION_INDEX, finishing in a
// shuffled order, merge into score's output for the whole input, byte for
// byte in every format; a Slurm array's SLURM_ARRAY_TASK_ID, in another
// order, merges to the same bytes.
func TestIndexedJobContract(t *testing.T) {
	orttest.Require(t)
	dir := t.TempDir()
	args := append(textCorpus(t, dir, 1200, 24, 1), scoringArgs(t)...)
	plans := map[string]string{}
	for _, name := range []string{"k8s", "slurm"} {
		out := filepath.Join(dir, name)
		mustCLI(t, append(append([]string{"plan"}, args...), "--shards", "5", "--out", out)...)
		plans[name] = filepath.Join(out, shard.PlanFile)
	}
	runShards(t, plans["k8s"], "JOB_COMPLETION_INDEX", []int{3, 0, 4, 2, 1})
	runShards(t, plans["slurm"], "SLURM_ARRAY_TASK_ID", []int{1, 4, 0, 3, 2})
	single := scoreAll(t, args)
	if !strings.Contains(single["text"], "_idf_") || !strings.Contains(single["text"], "-rescaled P: ") {
		t.Fatalf("score's text output does not say idf and rescaled: %.300q", single["text"])
	}
	compareMerged(t, plans["k8s"], single)
	compareMerged(t, plans["slurm"], single)
}

// TestShardsInt8: an int8 model's plan merges to what one score process
// prints, byte for byte: its scores do not depend on which sentences
// share a batch, so shards (other batches) and one process agree.
func TestShardsInt8(t *testing.T) {
	orttest.Require(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "int8")
	mustCLI(t, "models", "import", fixturePath(t, "tiny-mbert"), "--layer", "4", "--precision", "int8", "-o", model)
	args := append(textCorpus(t, dir, 300, 24, 5), "--model", model, "--threads", "1", "--batch-tokens", "256")
	out := filepath.Join(dir, "job")
	mustCLI(t, append(append([]string{"plan"}, args...), "--shards", "3", "--out", out)...)
	plan := filepath.Join(out, shard.PlanFile)
	runShards(t, plan, "JOB_COMPLETION_INDEX", []int{2, 0, 1})
	single := scoreAll(t, args)
	if !strings.Contains(single["text"], "int8") {
		t.Fatalf("score's text output does not name int8: %.300q", single["text"])
	}
	compareMerged(t, plan, single)
}

// TestShards20k: 20,000 pairs (a results file in shuffled order against a
// dataset of 1 to 3 references an item) with idf and rescaling in 8
// shards, one of them killed half way and run again, all in a shuffled
// order: the merge is what one score process prints, byte for byte, in
// every format. A shard already done exits 0 at once, without opening
// the model.
func TestShards20k(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 pairs in 8 shard processes: run by make test (no -short)")
	}
	orttest.Require(t)
	dir := t.TempDir()
	args := append(fieldCorpus(t, dir, 20000, 12), scoringArgs(t)...)
	out := filepath.Join(dir, "job")
	mustCLI(t, append(append([]string{"plan"}, args...), "--shards", "8", "--out", out)...)
	planPath := filepath.Join(out, shard.PlanFile)
	p, err := shard.Load(planPath)
	if err != nil {
		t.Fatal(err)
	}

	// Shard 5, killed once it has written part of its results.
	cmd, _ := startShard(t, planPath, "JOB_COMPLETION_INDEX=5")
	partial := ""
	deadline := time.Now().Add(shardWaitLimit)
	for {
		if left := p.Partials(5); len(left) == 1 {
			if st, err := os.Stat(left[0]); err == nil && st.Size() > 0 {
				partial = left[0]
				break
			}
		}
		if _, err := os.Stat(p.ShardPath(5)); err == nil {
			t.Fatal("shard 5 finished before it could be killed: make its shard bigger")
		}
		if time.Now().After(deadline) {
			t.Fatal("shard 5 wrote nothing to its partial file")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := waitShard(t, cmd); code != -1 {
		t.Fatalf("shard 5 exited %d before it could be killed: make its shard bigger", code)
	}
	st, err := os.Stat(partial)
	if err != nil || st.Size() == 0 {
		t.Fatalf("killed shard 5 left %v, %v: want part of its results", st, err)
	}
	killed := st.Size()
	for _, path := range []string{p.ShardPath(5), p.DonePath(5)} {
		if _, err := os.Stat(path); err == nil {
			t.Fatalf("a killed shard left %s", path)
		}
	}
	t.Logf("shard 5 killed with %d bytes of results written", killed)

	order := rand.New(rand.NewPCG(20000, 8)).Perm(8)
	runShards(t, planPath, "JOB_COMPLETION_INDEX", order)
	if left := p.Partials(5); len(left) != 0 {
		t.Errorf("the rerun left %q (the killed run's was %s)", left, partial)
	}
	if st, err := os.Stat(p.ShardPath(5)); err != nil || st.Size() <= killed {
		t.Fatalf("shard 5's results after the rerun: %v, %v; the killed run had written %d bytes, which should be part of them", st, err, killed)
	}

	// Done shards are not scored again: no runtime library is needed.
	before, err := os.Stat(p.ShardPath(2))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, _, stderr := runCLI(t, "", "--ort-lib", filepath.Join(dir, "no-such-libonnxruntime.so"), "score", "--plan", planPath, "--shard", "2")
	after, _ := os.Stat(p.ShardPath(2))
	if code != exitOK || !strings.Contains(stderr, "shard 2 of 8 is already done") || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("a done shard again: exit %d, stderr %q, results rewritten: %v", code, stderr, !after.ModTime().Equal(before.ModTime()))
	}
	t.Logf("a done shard exits in %v", time.Since(start))

	single := scoreAll(t, args)
	if n := strings.Count(single["text"], "\n"); n != 20001 {
		t.Fatalf("score printed %d lines, want 20,001", n)
	}
	compareMerged(t, planPath, single)
}

// TestShardCLIErrors: the plan, shard and merge mistakes exit 2 with one
// line that names the problem and the fix.
func TestShardCLIErrors(t *testing.T) {
	orttest.Require(t)
	dir := t.TempDir()
	args := append(textCorpus(t, dir, 30, 8, 5), scoringArgs(t)...)
	plan := func(name string, extra ...string) string {
		out := filepath.Join(dir, name)
		mustCLI(t, append(append(append([]string{"plan"}, args...), extra...), "--out", out)...)
		return filepath.Join(out, shard.PlanFile)
	}
	a := plan("a", "--shards", "3")
	b := plan("b", "--shard-size", "10", "--batch-tokens", "256") // another plan: other settings
	for _, p := range []string{a, b} {
		for i := range 3 {
			mustCLI(t, "score", "--plan", p, "--shard", strconv.Itoa(i))
		}
	}
	pa, _ := shard.Load(a)
	pb, _ := shard.Load(b)
	copyFile := func(from, to string) {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fdir := filepath.Join(dir, "field")
	if err := os.Mkdir(fdir, 0o755); err != nil {
		t.Fatal(err)
	}
	field := fieldCorpus(t, fdir, 5, 1)
	candBytes, err := os.ReadFile(field[1])
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(candBytes)), "\n")
	short := writeLines(t, fdir, "short.jsonl", lines[:2])
	int8Model := filepath.Join(dir, "int8")
	if _, err := models.Import(context.Background(), fixturePath(t, "tiny-mbert"), int8Model, models.ImportOptions{Layer: 4, Precision: modelspec.INT8}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JOB_COMPLETION_INDEX", "")
	t.Setenv("SLURM_ARRAY_TASK_ID", "")
	for _, tc := range []struct {
		name  string
		setup func()
		args  []string
		want  string
	}{
		{"shard from no env", nil, []string{"score", "--plan", a, "--shard-from-env"}, "neither JOB_COMPLETION_INDEX"},
		{"shard out of range", nil, []string{"score", "--plan", a, "--shard", "3"}, "shard 3 is out of range: the plan " + a + " has 3 shards, 0 to 2"},
		{"index from env out of range", func() { t.Setenv("SLURM_ARRAY_TASK_ID", "7") }, []string{"score", "--plan", a, "--shard-from-env"}, "shard 7 is out of range"},
		{"both", nil, []string{"score", "--plan", a, "--shard", "1", "--shard-from-env"}, "give --shard I or --shard-from-env, one of them"},
		{"inputs with a plan", nil, []string{"score", "--plan", a, "--shard", "1", "--idf"}, "--idf comes from the plan"},
		{"shard without a plan", nil, []string{"score", "--shard", "1"}, "score: --shard needs --plan FILE"},
		{"inputs and a shard without a plan", nil, []string{"score", "-c", args[1], "-r", args[3], "--shard", "0"}, "score: --shard needs --plan FILE"},
		{"shard from env without a plan", nil, []string{"score", "-c", args[1], "-r", args[3], "--shard-from-env"}, "score: --shard-from-env needs --plan FILE"},
		{"no plan file", nil, []string{"merge", filepath.Join(dir, "none.json")}, "make one with bertbench plan"},
		{"too many shards", nil, append(append([]string{"plan"}, args...), "--shards", "31", "--out", filepath.Join(dir, "c")), "--shards 31 is more shards than the 30 items"},
		{"stdin", nil, []string{"plan", "-c", "-", "-r", args[3], "--shards", "2", "--out", filepath.Join(dir, "d")}, "standard input (-) cannot be planned"},
		{"int8 for cuda", nil, []string{"plan", "--model", int8Model, "-c", args[1], "-r", args[3], "--device", "cuda", "--shards", "2", "--out", filepath.Join(dir, "g")},
			"plan: --device cuda:0: the model " + int8Model + " is int8: int8 models run on the CPU (--device cpu)"},
		{"shards and size", nil, append(append([]string{"plan"}, args...), "--shards", "2", "--shard-size", "3", "--out", filepath.Join(dir, "e")), "one of them"},
		{"a candidate missing", nil, append([]string{"plan", "-c", short, "--field", "output", "-r", field[5], "--shards", "2", "--out", filepath.Join(dir, "f")}, scoringArgs(t)...), "has no candidate for item doc0000"},
		{"no --field", nil, append([]string{"plan", "-c", field[1], "-r", field[5], "--shards", "2", "--out", filepath.Join(dir, "f")}, scoringArgs(t)...), "name the field that holds the candidates with --field"},
		{"missing shard", func() { os.Remove(pa.DonePath(1)) }, []string{"merge", a},
			fmt.Sprintf("merge: shard 1 of 3 missing (no %s): run bertbench score --plan %s --shard 1", pa.DonePath(1), a)},
		{"shard of another plan", func() {
			copyFile(pb.DonePath(1), pa.DonePath(1))
			copyFile(pb.ShardPath(1), pa.ShardPath(1))
		}, []string{"merge", a, "--format", "csv"}, pa.DonePath(1) + " is a shard of another plan"},
		{"changed input", func() {
			os.Remove(pa.DonePath(2)) // a done shard is done; this one runs again
			f, _ := os.OpenFile(args[1], os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString("one more line\n")
			f.Close()
		}, []string{"score", "--plan", a, "--shard", "2", "--threads", "1"}, "changed since the plan was made"},
		// The input changed after the shards ran: a done shard and the
		// merge refuse it too (b's shards are all done, of the old input).
		{"changed input, shard done", nil, []string{"score", "--plan", b, "--shard", "0"}, "cands.txt changed since the plan was made"},
		{"changed input, merge", nil, []string{"merge", b}, "cands.txt changed since the plan was made"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			code, stdout, stderr := runCLI(t, "", tc.args...)
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if code != exitUsage || len(lines) != 1 || stdout != "" || !strings.Contains(stderr, tc.want) {
				t.Errorf("bertbench %s: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", strings.Join(tc.args, " "), code, stdout, stderr, tc.want)
			}
		})
	}
}

// TestShardPeakRSS: a shard's peak memory does not grow with the corpus.
// The last shard of 500 items of a corpus and of one 4 times its size
// streams past every item before it; its peak RSS (its own, VmHWM) may
// differ by much less than the extra input's bytes, which a shard holding
// the corpus would add at least once (more than twice, as Go strings).
func TestShardPeakRSS(t *testing.T) {
	orttest.Require(t)
	rss := map[int]int64{}
	sizes := map[int]int64{}
	for _, n := range []int{10000, 40000} {
		dir := t.TempDir()
		args := textCorpus(t, dir, n, 120, 9)
		for _, f := range []string{args[1], args[3], args[5]} {
			st, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			sizes[n] += st.Size()
		}
		out := filepath.Join(dir, "job")
		mustCLI(t, append(append(append([]string{"plan"}, args...), scoringArgs(t)[:4]...), "--shard-size", "500", "--out", out)...)
		last := strconv.Itoa(n/500 - 1)
		rss[n] = childPeak(t, "score", "--plan", filepath.Join(out, shard.PlanFile), "--shard", last, "--threads", "1")
		t.Logf("%d items (%.1f MiB of input): the last shard's peak RSS is %.1f MiB", n, float64(sizes[n])/(1<<20), float64(rss[n])/1024)
	}
	grew := (rss[40000] - rss[10000]) * 1024
	extra := sizes[40000] - sizes[10000]
	// Measured streaming: +1 to +9 MiB (the collector's timing), +14 to
	// +22 MiB under the race detector; holding the corpus's items: +54
	// MiB, +135 MiB under the race detector.
	bound := extra * 3 / 4
	if raceEnabled {
		bound = extra * 2
	}
	if grew > bound {
		t.Errorf("the shard's peak RSS grew by %.1f MiB with %.1f MiB more input: it holds the corpus", float64(grew)/(1<<20), float64(extra)/(1<<20))
	}
}

// childPeak runs bertbench with args in a child process and returns its
// own peak resident memory in KiB.
func childPeak(t *testing.T, args ...string) int64 {
	t.Helper()
	file := filepath.Join(t.TempDir(), "peak")
	cmd, _, stderr := startChildEnv(t, "peak", []string{envChildPeak + "=" + file}, args...)
	if code := waitShard(t, cmd); code != exitOK {
		t.Fatalf("bertbench %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	kib, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		t.Fatalf("peak %q: %v", b, err)
	}
	return kib
}

// TestShardTwiceAtOnce: two processes running the same shard at once (a
// requeued Slurm task, a duplicate Kubernetes pod) both succeed, each
// writing a partial file of its own; the results are the same bytes
// either way, so the merge is score's output. A partial file left by a
// killed run is removed by a run that succeeds.
func TestShardTwiceAtOnce(t *testing.T) {
	orttest.Require(t)
	dir := t.TempDir()
	args := append(textCorpus(t, dir, 2000, 24, 4), scoringArgs(t)...)
	out := filepath.Join(dir, "job")
	mustCLI(t, append(append([]string{"plan"}, args...), "--shards", "2", "--out", out)...)
	planPath := filepath.Join(out, shard.PlanFile)
	// What a run killed long ago left: written to, its writer gone.
	stale := filepath.Join(out, shard.PartialFile(0)+"4242-0badf00d")
	if err := os.WriteFile(stale, []byte(`{"i":0,"id":"L1","P":0.5`), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	a, aErr := startShard(t, planPath, "JOB_COMPLETION_INDEX=0")
	b, bErr := startShard(t, planPath, "SLURM_ARRAY_TASK_ID=0")
	for _, c := range []struct {
		cmd    *exec.Cmd
		stderr *strings.Builder
	}{{a, aErr}, {b, bErr}} {
		if code := waitShard(t, c.cmd); code != exitOK {
			t.Errorf("a run of shard 0: exit %d: %s", code, c.stderr)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if !strings.Contains(aErr.String()+bErr.String(), "pairs scored into") {
		t.Fatalf("neither run scored shard 0: %q, %q", aErr, bErr)
	}
	t.Logf("the two runs: %q, %q", strings.TrimSpace(aErr.String()), strings.TrimSpace(bErr.String()))
	mustCLI(t, "score", "--plan", planPath, "--shard", "1")
	if left, _ := filepath.Glob(filepath.Join(out, shard.PartialFile(0)+"*")); len(left) != 0 {
		t.Errorf("partial files left: %q", left)
	}
	compareMerged(t, planPath, scoreAll(t, args))
}

// TestShardTF32OnCUDAPlan: --tf32 alone on a shard of a CUDA plan runs on
// the plan's device (it is not refused as needing --device cuda): here
// with a CUDA provider library that is not there, so it fails trying
// CUDA, a runtime failure naming the device.
func TestShardTF32OnCUDAPlan(t *testing.T) {
	orttest.Require(t)
	dir := t.TempDir()
	args := append(textCorpus(t, dir, 20, 8, 6), scoringArgs(t)...)
	out := filepath.Join(dir, "job")
	mustCLI(t, append(append([]string{"plan"}, args...), "--device", "cuda:1", "--tf32", "--shards", "2", "--out", out)...)
	planPath := filepath.Join(out, shard.PlanFile)
	code, stdout, stderr := runCLI(t, "", "--cuda-ep", filepath.Join(dir, "no-such-provider.so"), "score", "--plan", planPath, "--shard", "0", "--tf32")
	if code != exitFailure || stdout != "" || strings.Contains(stderr, "only applies") || !strings.Contains(stderr, "--device cuda:1") {
		t.Errorf("--tf32 on a CUDA plan's shard: exit %d, stdout %q, stderr %q; want a runtime failure opening CUDA (cuda:1)", code, stdout, stderr)
	}
	// --tf32 on a CPU plan's shard still needs --device cuda.
	cpu := filepath.Join(dir, "cpu")
	mustCLI(t, append(append([]string{"plan"}, args...), "--shards", "2", "--out", cpu)...)
	code, _, stderr = runCLI(t, "", "score", "--plan", filepath.Join(cpu, shard.PlanFile), "--shard", "0", "--tf32")
	if code != exitUsage || !strings.Contains(stderr, "--tf32 only applies with --device cuda") {
		t.Errorf("--tf32 on a CPU plan's shard: exit %d, stderr %q", code, stderr)
	}
}

// TestMergeIntoStore: a run's outputs of one variation, planned against
// its dataset (--field output), sharded and merged with --store: the
// merged scores become the run's scores of that variation, which compare
// and report then read like a run's own (the same scores as the merge
// printed). A rescaled plan, a variation the run lacks and an item
// without a generation are refused before anything is stored.
func TestMergeIntoStore(t *testing.T) {
	orttest.Require(t)
	ctx := context.Background()
	dir := t.TempDir()
	field := fieldCorpus(t, dir, 40, 7) // -c cands.jsonl --field output -r items.jsonl
	s, err := store.Open(ctx, store.PathIn(dir))
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.CreateRun(ctx, store.RunConfig{ID: "study", Config: "x\n", ConfigHash: "h-study", ToolVersion: "v-test",
		Variations: []store.Variation{{Name: "base", Runner: "ollama:m", Prompt: "{{.Source}}"}, {Name: "other", Runner: "ollama:m", Prompt: "{{.Source}}"}}})
	if err != nil {
		t.Fatal(err)
	}
	readJSONL := func(path string) []map[string]any {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var out []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
		return out
	}
	var items []store.Item
	for _, it := range readJSONL(field[5]) {
		var refs []string
		for _, ref := range it["references"].([]any) {
			refs = append(refs, ref.(string))
		}
		items = append(items, store.Item{ID: it["id"].(string), Source: it["source"].(string), References: refs})
	}
	if err := r.PutItems(ctx, items); err != nil {
		t.Fatal(err)
	}
	for _, c := range readJSONL(field[1]) {
		for _, v := range []string{"base", "other"} {
			k := store.Key{Variation: v, Item: c["id"].(string)}
			if _, err := r.PutGeneration(ctx, store.Generation{Key: k, Result: runners.Result{Output: c["output"].(string), Attempts: 1}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.Close()

	args := append(append([]string{}, field...), scoringArgs(t)[:8]...) // the model, layer 4, --idf, --rescale --baseline
	plan := func(name string, extra ...string) string {
		out := filepath.Join(dir, name)
		mustCLI(t, append(append(append([]string{"plan"}, args...), extra...), "--shards", "3", "--out", out)...)
		p := filepath.Join(out, shard.PlanFile)
		for i := range 3 {
			mustCLI(t, "score", "--plan", p, "--shard", strconv.Itoa(i), "--threads", "1")
		}
		return p
	}
	rescaled := plan("rescaled")
	code, _, stderr := runCLI(t, "", "merge", rescaled, "--store", dir, "--run", "study", "--variation", "base")
	if code != exitUsage || !strings.Contains(stderr, "merge: --store: the plan rescales its scores") || strings.Count(stderr, "merge:") != 1 {
		t.Errorf("merge --store of a rescaled plan: exit %d, %q", code, stderr)
	}
	args = append(append([]string{}, field...), scoringArgs(t)[:5]...) // no --rescale
	raw := plan("raw")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--store", dir, "--run", "study", "--variation", "none"}, `merge: --variation: run study has no variation "none"`},
		{[]string{"--store", dir, "--run", "nope", "--variation", "base"}, "merge: --run: no such run: nope in "},
		{[]string{"--store", filepath.Join(dir, "none"), "--run", "study", "--variation", "base"}, "merge: --store: results store " + filepath.Join(dir, "none")},
		{[]string{"--store", dir, "--run", "study"}, "merge: --store needs --run RUN and --variation NAME"},
		{[]string{"--run", "study"}, "merge: --run, --variation and --repeat go with --store"},
		{[]string{"--store", dir, "--run", "study", "--variation", "base", "--repeat", "1"}, `merge: --repeat 1: variation "base" of run study has repeats 0 to 0`},
	} {
		code, _, stderr := runCLI(t, "", append([]string{"merge", raw}, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "merge:") != 1 {
			t.Errorf("merge %s: exit %d, %q; want one line with %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
	}
	// An item the variation has no generation of.
	s, err = store.Open(ctx, store.PathIn(dir))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.CreateRun(ctx, store.RunConfig{ID: "half", Config: "x\n", ConfigHash: "h-half", ToolVersion: "v-test",
		Variations: []store.Variation{{Name: "base", Runner: "ollama:m", Prompt: "{{.Source}}"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.PutItems(ctx, items); err != nil {
		t.Fatal(err)
	}
	if _, err := r2.PutGeneration(ctx, store.Generation{Key: store.Key{Variation: "base", Item: "doc00001"}, Result: runners.Result{Output: "x", Attempts: 1}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, tc := range []struct{ variation, want string }{
		{"base", `run half has no successful generation of item doc00000 for variation "base" (repeat 0)`},
	} {
		code, _, stderr := runCLI(t, "", "merge", raw, "--store", dir, "--run", "half", "--variation", tc.variation)
		if code != exitUsage || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "merge:") != 1 {
			t.Errorf("merge --store --variation %s: exit %d, %q; want one line with %q", tc.variation, code, stderr, tc.want)
		}
	}
	merged := mustCLI(t, "merge", raw, "--format", "json")
	code, _, stderr = runCLI(t, "", "merge", raw, "--store", dir, "--run", "study", "--variation", "base", "-o", filepath.Join(dir, "merged.txt"))
	if code != exitOK || !strings.Contains(stderr, "40 scores of study:base stored") {
		t.Fatalf("merge --store: exit %d, %s", code, stderr)
	}
	var want struct {
		Hash  string `json:"hash"`
		Pairs []struct{ P, R, F float64 }
	}
	if err := json.Unmarshal([]byte(merged), &want); err != nil {
		t.Fatalf("merge --format json: %v: %.200s", err, merged)
	}
	// compare and report read them: the per-item rows are the merge's.
	out := mustCLI(t, "compare", "--store", dir, "--scoring", want.Hash, "--format", "json", "--resamples", "200", "--permutations", "200", "study:base")
	var cmp struct {
		Items []struct {
			ID    string `json:"id"`
			Sides []struct {
				Raw *struct{ P, R, F float64 } `json:"raw"`
			} `json:"sides"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &cmp); err != nil {
		t.Fatalf("compare --format json: %v: %.300s", err, out)
	}
	if len(cmp.Items) != 40 {
		t.Fatalf("compare has %d items, want 40", len(cmp.Items))
	}
	for _, it := range cmp.Items {
		var k int
		if _, err := fmt.Sscanf(it.ID, "doc%05d", &k); err != nil || len(it.Sides) != 1 || it.Sides[0].Raw == nil {
			t.Fatalf("compare's item %+v", it)
		}
		if got, w := *it.Sides[0].Raw, want.Pairs[k]; got.P != w.P || got.R != w.R || got.F != w.F {
			t.Errorf("item %s: compare reads %v, the merge printed %v", it.ID, got, w)
		}
	}
	// report reads them too; the other variation has no scores under the
	// plan's hash (none were stored for it).
	rep := mustCLI(t, "report", "--store", dir, "--scoring", want.Hash, "--resamples", "200", "--permutations", "200", "--format", "json", "study")
	if !strings.Contains(rep, `"variation": "base"`) {
		t.Errorf("report: %.300s", rep)
	}
}
