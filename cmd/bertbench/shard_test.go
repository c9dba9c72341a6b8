package main

import (
	"encoding/json"
	"errors"
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

	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/shard"
)

// shardWaitLimit bounds one shard child (the race detector slows it).
const shardWaitLimit = 3 * time.Minute

// shardWords are the tiny fixture vocabulary's whole words.
func shardWords(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(fixturePath(t, "tiny-mbert", "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, w := range strings.Fields(string(b)) {
		if !strings.HasPrefix(w, "[") && !strings.HasPrefix(w, "##") {
			out = append(out, w)
		}
	}
	return out
}

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
	ws := shardWords(t)
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
	ws := shardWords(t)
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
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode()
	case <-time.After(shardWaitLimit):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("a shard did not finish within %v", shardWaitLimit)
		return 0
	}
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
	partial := p.PartialPath(5)
	deadline := time.Now().Add(shardWaitLimit)
	for {
		if st, err := os.Stat(partial); err == nil && st.Size() > 0 {
			break
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
	if _, err := os.Stat(partial); err == nil {
		t.Errorf("the rerun left %s", partial)
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
		{"shard without a plan", nil, []string{"score", "--shard", "1"}, "go with --plan FILE"},
		{"no plan file", nil, []string{"merge", filepath.Join(dir, "none.json")}, "make one with bertbench plan"},
		{"too many shards", nil, append(append([]string{"plan"}, args...), "--shards", "31", "--out", filepath.Join(dir, "c")), "--shards 31 is more shards than the 30 items"},
		{"stdin", nil, []string{"plan", "-c", "-", "-r", args[3], "--shards", "2", "--out", filepath.Join(dir, "d")}, "standard input (-) cannot be planned"},
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
