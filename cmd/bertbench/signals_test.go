package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bertbench/bertbench/runners/faultserver"
)

// childWaitLimit bounds how long a test waits for a child to exit.
const childWaitLimit = 20 * time.Second

// startChild starts the test binary as a child (see TestMain) in mode,
// with bertbench arguments args, stdout piped.
func startChild(t *testing.T, mode string, args ...string) (*exec.Cmd, *bufio.Reader, *strings.Builder) {
	t.Helper()
	return startChildEnv(t, mode, nil, args...)
}

// startChildEnv is startChild with extra environment variables.
func startChildEnv(t *testing.T, mode string, env []string, args ...string) (*exec.Cmd, *bufio.Reader, *strings.Builder) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	encoded, _ := json.Marshal(args)
	cmd := exec.Command(exe)
	cmd.Env = append(append(os.Environ(), envChild+"="+mode, envChildArgs+"="+string(encoded)), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, bufio.NewReader(out), &stderr
}

// waitExit waits for the child to exit by itself, within childWaitLimit,
// and returns its exit code (-1 if a signal killed it).
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	return waitExitWithin(t, cmd, childWaitLimit)
}

// waitExitWithin waits for the child to exit by itself within limit (else
// kills it and fails the test) and returns its exit code (-1 if a signal
// killed it).
func waitExitWithin(t *testing.T, cmd *exec.Cmd, limit time.Duration) int {
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
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the child did not exit within %v", limit)
		return 0
	}
}

// readLine reads one line the child printed, within childWaitLimit.
func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		line, _ := r.ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case line := <-got:
		return line
	case <-time.After(childWaitLimit):
		t.Fatalf("the child printed nothing within %v", childWaitLimit)
		return ""
	}
}

// TestSecondSignalEndsTheProcess: the first SIGINT or SIGTERM only asks
// the command to wind down; a second ends the process at once with 128 +
// that signal, even when the work in progress never looks at its context
// (as inside a long ONNX Runtime call).
func TestSecondSignalEndsTheProcess(t *testing.T) {
	for _, tc := range []struct {
		name          string
		first, second syscall.Signal
		want          int
	}{
		{"SIGTERM twice", syscall.SIGTERM, syscall.SIGTERM, 143},
		{"Ctrl-C twice", syscall.SIGINT, syscall.SIGINT, 130},
		{"Ctrl-C then SIGTERM", syscall.SIGINT, syscall.SIGTERM, 143},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, out, stderr := startChild(t, "stuck")
			if line := readLine(t, out); line != "ready" {
				t.Fatalf("child said %q; stderr: %s", line, stderr)
			}
			if err := cmd.Process.Signal(tc.first); err != nil {
				t.Fatal(err)
			}
			if line := readLine(t, out); line != "cancelled" {
				t.Fatalf("after the first signal the child said %q (want its context cancelled); stderr: %s", line, stderr)
			}
			if err := cmd.Process.Signal(tc.second); err != nil {
				t.Fatal(err)
			}
			if code := waitExit(t, cmd); code != tc.want {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.want, stderr)
			}
		})
	}
}

// TestSignalInterruptsACommand: one SIGTERM (or SIGINT) stops a command
// that is waiting on a model call; it exits 143 (130) and says what it
// kept.
func TestSignalInterruptsACommand(t *testing.T) {
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		want int
	}{
		{"SIGTERM", syscall.SIGTERM, 143},
		{"Ctrl-C", syscall.SIGINT, 130},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := faultserver.New(faultserver.OK, faultserver.Hang)
			defer srv.Close()
			dir := t.TempDir()
			input := writeTranslateInput(t, filepath.Join(dir, "in.txt"), "one\ntwo\n")
			cmd, _, stderr := startChild(t, "main", "translate", "--to", "Chinese",
				"--runner", "openai-compatible:"+faultserver.DefaultModel+"@"+srv.URL+"/v1", "-i", input, "-o", filepath.Join(dir, "out.jsonl"),
				"--no-cache", "--concurrency", "1")
			deadline := time.Now().Add(childWaitLimit)
			for srv.Calls() < 2 {
				if time.Now().After(deadline) {
					t.Fatalf("the server saw %d calls; stderr: %s", srv.Calls(), stderr)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			if code := waitExit(t, cmd); code != tc.want {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.want, stderr)
			}
			if !strings.Contains(stderr.String(), "interrupted: 1 of 2 lines") {
				t.Errorf("stderr: %s", stderr)
			}
		})
	}
}
