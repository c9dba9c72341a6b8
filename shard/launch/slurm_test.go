package launch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bertbench/bertbench/internal/slurmtest"
)

// TestSlurm_RealCluster writes the Slurm launcher for a plan of 4 shards,
// 2 at once, runs its slurm-submit.sh against a real single-node cluster,
// and checks that Slurm ran every shard as an array task (never more than 2
// at once), each with its index from SLURM_ARRAY_TASK_ID and its log where
// the script says, and the merge job after all of them. The bertbench here
// is the shell stand-in of local_test.go; the end-to-end test in
// cmd/bertbench runs the real one.
func TestSlurm_RealCluster(t *testing.T) {
	c := slurmtest.Start(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "bertbench")
	if err := os.WriteFile(bin, []byte(fakeBertbench), 0o755); err != nil {
		t.Fatal(err)
	}
	calls := filepath.Join(dir, "calls.log")
	t.Setenv("FAKE_LOG", calls) // sbatch passes the environment on
	s := Spec{Plan: filepath.Join(dir, "plan.json"), Shards: 4, Parallel: 2, Binary: bin,
		MergeFormat: "jsonl", MergeOut: filepath.Join(dir, "merged.jsonl"), JobName: "launch-test"}
	files, err := Slurm(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, os.FileMode(f.Mode)); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	submit := c.Command(ctx, filepath.Join(dir, SlurmSubmit))
	submit.Dir = dir
	out, err := submit.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", SlurmSubmit, err, out)
	}
	m := regexp.MustCompile(`array job (\d+): 4 shards, at most 2 at once; merge job (\d+) after all succeed`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("%s printed %q", SlurmSubmit, out)
	}
	array, merge := string(m[1]), string(m[2])

	jobs := c.Wait(3*time.Minute, array, merge)
	if len(jobs[array]) != 4 {
		t.Fatalf("array %s: %d tasks, want 4", array, len(jobs[array]))
	}
	for _, j := range jobs[array] {
		if j.State != "COMPLETED" || j.Name != "launch-test" || j.Fields["ArrayTaskThrottle"] != "2" {
			t.Errorf("task %s_%s: %s, name %s, throttle %s", j.ArrayJobID, j.ArrayTaskID, j.State, j.Name, j.Fields["ArrayTaskThrottle"])
		}
		log := filepath.Join(dir, fmt.Sprintf("slurm-launch-test-%s_%s.out", array, j.ArrayTaskID))
		got, err := os.ReadFile(log)
		if want := "scoring shard " + j.ArrayTaskID + "\n"; err != nil || string(got) != want {
			t.Errorf("task log %s: %q (%v), want %q", log, got, err, want)
		}
	}
	mj := jobs[merge][0]
	if mj.State != "COMPLETED" || mj.Name != "launch-test-merge" {
		t.Fatalf("merge job: %s %s (%s)\n%s", mj.Name, mj.State, mj.Reason, c.Logs())
	}
	got, err := os.ReadFile(s.MergeOut)
	if want := "end 0\nend 1\nend 2\nend 3\n"; err != nil || string(got) != want {
		t.Errorf("merged %q (%v), want %q", got, err, want)
	}
	data, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	r := fakeRun{dir: dir, lines: strings.Split(strings.TrimSpace(string(data)), "\n")}
	if n := r.maxConcurrent(t); n > 2 {
		t.Errorf("%d shards ran at once, want at most 2", n)
	}
	for i, l := range r.starts() {
		if !strings.Contains(l, "--plan "+s.Plan+" --shard-from-env") {
			t.Errorf("shard %d ran %q", i, l)
		}
	}
	if last := r.lines[len(r.lines)-1]; last != "merge --format jsonl -o "+s.MergeOut+" "+s.Plan {
		t.Errorf("last call %q, want the merge", last)
	}
}
