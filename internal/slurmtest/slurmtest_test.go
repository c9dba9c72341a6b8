package slurmtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCluster runs a real job array with a throttle and a merge job that
// depends on it, then a failing array whose merge Slurm must cancel, and
// checks that the cluster's daemons are gone once the test is over.
func TestCluster(t *testing.T) {
	var pids []int
	t.Run("array and merge", func(t *testing.T) {
		c := Start(t)
		for _, d := range c.daemons {
			pids = append(pids, d.cmd.Process.Pid)
		}
		work := t.TempDir()
		script := filepath.Join(work, "task.sh")
		writeScript(t, script, fmt.Sprintf("#!/bin/sh\n#SBATCH --output=%s/task-%%a.out\n"+
			"echo \"$SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_TASK_COUNT\" > %s/out-$SLURM_ARRAY_TASK_ID\n", work, work))
		merge := filepath.Join(work, "merge.sh")
		writeScript(t, merge, fmt.Sprintf("#!/bin/sh\n#SBATCH --output=%s/merge.out\ncat %s/out-0 %s/out-1 %s/out-2 %s/out-3 > %s/merged\n",
			work, work, work, work, work, work))

		array := c.Sbatch(work, "--array=0-3%2", script)
		mergeID := c.Sbatch(work, "--dependency=afterok:"+array, "--kill-on-invalid-dep=yes", merge)
		jobs := c.Wait(2*time.Minute, array, mergeID)
		if n := len(jobs[array]); n != 4 {
			t.Errorf("array %s: %d tasks, want 4: %+v", array, n, jobs[array])
		}
		for _, j := range jobs[array] {
			if j.State != "COMPLETED" || j.Fields["ArrayTaskThrottle"] != "2" {
				t.Errorf("task %s_%s: %s, throttle %s", j.ArrayJobID, j.ArrayTaskID, j.State, j.Fields["ArrayTaskThrottle"])
			}
		}
		if m := jobs[mergeID][0]; m.State != "COMPLETED" {
			t.Fatalf("merge job %s: %s (%s)", m.ID, m.State, m.Reason)
		}
		got, err := os.ReadFile(filepath.Join(work, "merged"))
		if want := "0 of 4\n1 of 4\n2 of 4\n3 of 4\n"; err != nil || string(got) != want {
			t.Errorf("merged %q (%v), want %q", got, err, want)
		}

		// A failed task: the merge is cancelled, not left pending.
		fail := c.Sbatch(work, "--array=0-1", "--output="+work+"/fail-%a.out", "--wrap", "exit 3")
		never := c.Sbatch(work, "--dependency=afterok:"+fail, "--kill-on-invalid-dep=yes", merge)
		jobs = c.Wait(2*time.Minute, fail, never)
		for _, j := range jobs[fail] {
			if j.State != "FAILED" || j.ExitCode != "3:0" {
				t.Errorf("task %s_%s: %s exit %s, want FAILED 3:0", j.ArrayJobID, j.ArrayTaskID, j.State, j.ExitCode)
			}
		}
		if m := jobs[never][0]; m.State != "CANCELLED" || m.Reason != "DependencyNeverSatisfied" {
			t.Errorf("merge after a failure: %s (%s), want CANCELLED (DependencyNeverSatisfied)", m.State, m.Reason)
		}
	})
	if len(pids) != 3 {
		t.Fatalf("%d daemons, want munged, slurmctld and slurmd", len(pids))
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("daemon %d still runs after the test", pid)
		}
	}
}

func writeScript(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestNodeLine(t *testing.T) {
	slurmd, err := lookPath("slurmd")
	if err != nil {
		t.Fatalf("%v: install it with `make slurm`", err)
	}
	n, err := nodeLine(slurmd)
	if err != nil {
		t.Fatal(err)
	}
	if n.cpus < 1 || !strings.Contains(n.hardware, "RealMemory=") || strings.Contains(n.hardware, "NodeName") {
		t.Errorf("node %+v", n)
	}
}
