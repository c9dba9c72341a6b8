package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bertbench/bertbench/runners"
)

// envChild makes the test binary a child writer (see childWriter): its
// value is the store's path.
const envChild = "BERTBENCH_STORE_TEST_CHILD"

// killItems is how many items the child writes for: with two variations,
// the second asked twice, 3×killItems generations in all.
const killItems = 200

// callTime is how long the child's "model call" takes: long enough that a
// kill after a delay lands while it writes, on any machine.
const callTime = 500 * time.Microsecond

func TestMain(m *testing.M) {
	if path := os.Getenv(envChild); path != "" {
		if err := childWriter(path); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// killKeys lists every key of the run, in the order the child writes them.
func killKeys() []Key {
	var keys []Key
	for i := range killItems {
		item := fmt.Sprintf("item-%d", i)
		keys = append(keys, Key{"a", item, 0}, Key{"b", item, 0}, Key{"b", item, 1})
	}
	return keys
}

// childWriter is one session of an experiment: it opens the store, creates
// run r1 or resumes it, stores the items, then for every key not finished
// "calls the model" and stores the generation, reporting on stdout
// "call KEY" before the call and "stored KEY" once PutGeneration returned.
func childWriter(path string) error {
	ctx := context.Background()
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) {
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush() // every line leaves the process before the next step
	}
	s, err := Open(ctx, path)
	if err != nil {
		return err
	}
	defer s.Close()
	say("open")
	r, err := s.ResumeRun(ctx, "r1", testConfig())
	if errors.Is(err, ErrRunNotFound) {
		r, err = s.CreateRun(ctx, testConfig())
	}
	if err != nil {
		return err
	}
	if err := r.PutItems(ctx, testItems(killItems)); err != nil {
		return err
	}
	say("items")
	done, err := r.Done(ctx)
	if err != nil {
		return err
	}
	for i, k := range killKeys() {
		if done.State(k) == Finished {
			continue
		}
		say("call %d", i)
		time.Sleep(callTime) // the model's turn
		if _, err := r.PutGeneration(ctx, testGeneration(k)); err != nil {
			return err
		}
		say("stored %d", i)
	}
	if err := r.Finish(ctx, StatusDone); err != nil {
		return err
	}
	say("finished")
	return nil
}

// TestStore_Kill9 kills a writing process with SIGKILL at several points
// (at once, during opening, after a few generations, after many) and
// resumes it each time, as `--resume` would: after every kill each
// generation the child reported stored is there exactly once, the
// database passes integrity_check, and no key is called again once it
// was stored. The last session runs to the end.
func TestStore_Kill9(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := PathIn(t.TempDir())
	keys := killKeys()
	stored := map[int]bool{} // keys reported stored, over all sessions
	called := map[Key]bool{} // keys reported called
	// Kill points: after a delay from the start (while the binary starts,
	// opens or migrates the store), or after this many lines of the child's
	// output (at once after a line, so in the middle of the next step);
	// the last session is never killed.
	type point struct {
		delay time.Duration
		after int // lines; 0 with no delay: never
	}
	points := []point{{delay: time.Millisecond}, {delay: 20 * time.Millisecond}, {delay: 60 * time.Millisecond},
		{after: 1}, {after: 2}, {after: 3}, {after: 10}, {after: 101}, {after: 250}, {}}
	for round, pt := range points {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), envChild+"="+path)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		lines, killed := 0, false
		kill := func() {
			if !killed {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		}
		if pt.delay > 0 {
			timer := time.AfterFunc(pt.delay, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
			defer timer.Stop()
			killed = true
		}
		finished := false
		for sc.Scan() { // after the kill: the lines already in the pipe
			line := sc.Text()
			lines++
			verb, arg, _ := strings.Cut(line, " ")
			switch verb {
			case "call":
				i, _ := strconv.Atoi(arg)
				if stored[i] {
					t.Errorf("round %d: %s called again after it was stored", round, keys[i])
				}
				called[keys[i]] = true
			case "stored":
				i, _ := strconv.Atoi(arg)
				stored[i] = true
			case "finished":
				finished = true
			}
			if pt.after > 0 && lines >= pt.after {
				kill()
			}
		}
		err = cmd.Wait()
		if !killed {
			if err != nil || !finished {
				t.Fatalf("round %d: the last session did not finish: %v\n%s", round, err, stderr.String())
			}
		} else if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); finished || !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			// The child ran to the end before the kill: the point is too
			// late for this machine's speed; the test needs a smaller one.
			t.Fatalf("round %d: the child was not killed by SIGKILL (%v, finished %v): kill it earlier", round, err, finished)
		}
		checkAfterKill(t, path, round, keys, stored, called)
	}
	if len(stored) != len(keys) {
		t.Errorf("%d keys stored over all sessions, want %d", len(stored), len(keys))
	}
}

// checkAfterKill opens the store the way the next session would and checks
// it: intact, every key reported stored present once with its output, and
// no row for a key never called. A row for a key called but not reported
// stored is fine: the child was killed between the commit and the line.
func checkAfterKill(t *testing.T, path string, round int, keys []Key, stored map[int]bool, called map[Key]bool) {
	t.Helper()
	ctx := context.Background()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if len(stored) > 0 {
			t.Fatalf("round %d: the store is gone", round)
		}
		return // killed before it was created
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("round %d: reopening after kill -9: %v", round, err)
	}
	defer s.Close()
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	var dups int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM generations GROUP BY run, variation, item, rep HAVING COUNT(*) > 1)`).Scan(&dups); err != nil {
		t.Fatal(err)
	}
	if dups > 0 {
		t.Errorf("round %d: %d keys with more than one row", round, dups)
	}
	got := map[Key]runners.Result{}
	for row, err := range s.Rows(ctx, "r1") {
		if err != nil {
			if errors.Is(err, ErrRunNotFound) && len(stored) == 0 {
				return // killed before the run was created
			}
			t.Fatalf("round %d: %v", round, err)
		}
		if _, ok := got[row.Key]; ok {
			t.Errorf("round %d: %s twice", round, row.Key)
		}
		if !called[row.Key] {
			t.Errorf("round %d: a row for %s, which was never called", round, row.Key)
		}
		got[row.Key] = row.Result
	}
	for i := range stored {
		res, ok := got[keys[i]]
		if !ok {
			t.Errorf("round %d: %s was reported stored but is not in the store", round, keys[i])
		} else if want := testGeneration(keys[i]).Result.Output; res.Output != want {
			t.Errorf("round %d: %s: output %q, want %q", round, keys[i], res.Output, want)
		}
	}
	t.Logf("round %d: %d stored rows, %d reported stored (%s)", round, len(got), len(stored), time.Now().Format(time.StampMilli))
}
