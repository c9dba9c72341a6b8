package ollamatest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/ollama"
)

// groupMembers lists the command lines of the processes in process group
// pgid, from /proc.
func groupMembers(t *testing.T, pgid int) []string {
	t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []string
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces, so split
		// after its closing parenthesis.
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 3 || fields[0] == "Z" {
			continue
		}
		if g, _ := strconv.Atoi(fields[2]); g == pgid {
			cmd, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "cmdline"))
			out = append(out, strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
	return out
}

// TestCloseStopsTheModelRunner: once a model is loaded, the server has an
// `ollama runner` child in its process group; Close leaves no process of
// the group behind.
func TestCloseStopsTheModelRunner(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the real Ollama server (built by `make ollama`); skipped in -short mode")
	}
	ctx := context.Background()
	s, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateTiny(ctx, TinyModel); err != nil {
		t.Fatal(err)
	}
	n := 2
	if _, err := ollama.New(s.Handle(), TinyModel, "").Run(ctx, runners.Request{Prompt: "hi", Mode: runners.ModeGenerate, Params: runners.Params{MaxTokens: &n}}); err != nil {
		t.Fatalf("%v\n%s", err, s.LogTail(2000))
	}
	pgid := s.cmd.Process.Pid
	members := groupMembers(t, pgid)
	hasRunner := false
	for _, m := range members {
		hasRunner = hasRunner || strings.Contains(m, " runner ")
	}
	if !hasRunner {
		t.Fatalf("no `ollama runner` in the server's process group: %q", members)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Give the kernel a moment to reap a SIGKILLed runner (reparented to init).
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := syscall.Kill(-pgid, 0)
		if errors.Is(err, syscall.ESRCH) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has %q after Close", pgid, groupMembers(t, pgid))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(s.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("server folder %s left behind: %v", s.Dir, err)
	}
}

// envChild makes the test binary act as a test that started a server and
// then died without cleaning up (TestKilledTestLeavesNoServer).
const envChild = "BERTBENCH_OLLAMATEST_CHILD"

// TestKilledTestLeavesNoServer: a test binary killed outright (a test
// timeout, SIGKILL, Ctrl-C) runs no cleanup; the server still stops, and
// takes its model runner with it.
func TestKilledTestLeavesNoServer(t *testing.T) {
	if os.Getenv(envChild) == "1" {
		childServer()
		return
	}
	if testing.Short() {
		t.Skip("needs the real Ollama server (built by `make ollama`); skipped in -short mode")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledTestLeavesNoServer$")
	cmd.Env = append(os.Environ(), envChild+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var pgid int
	var dir string
	if _, err := fmt.Fscan(stdout, &pgid, &dir); err != nil {
		t.Fatalf("child did not report its server: %v", err)
	}
	defer os.RemoveAll(dir) // the dead child could not
	if len(groupMembers(t, pgid)) < 2 {
		t.Fatalf("server group %d: %q, want the server and its runner", pgid, groupMembers(t, pgid))
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(StopTimeout + 5*time.Second)
	for !errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) {
		if time.Now().After(deadline) {
			m := groupMembers(t, pgid)
			syscall.Kill(-pgid, syscall.SIGKILL)
			t.Fatalf("process group %d outlived its killed test: %q", pgid, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// childServer starts a server, loads the tiny model so that a runner
// child exists, reports the process group and folder, and waits to be
// killed.
func childServer() {
	ctx := context.Background()
	s, err := Start(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	n := 2
	_, err = s.CreateTiny(ctx, TinyModel)
	if err == nil {
		_, err = ollama.New(s.Handle(), TinyModel, "").Run(ctx, runners.Request{Prompt: "hi", Mode: runners.ModeGenerate, Params: runners.Params{MaxTokens: &n}})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		s.Close()
		os.Exit(3)
	}
	fmt.Printf("%d %s\n", s.cmd.Process.Pid, s.Dir)
	select {}
}
