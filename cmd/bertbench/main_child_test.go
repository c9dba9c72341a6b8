package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// envChild makes the test binary act as a child process of a test instead
// of running tests: "main" runs bertbench's main with the arguments in
// envChildArgs (JSON); "stuck" arms the signal handling as main does, says
// "ready" and then works on without ever looking at the context, as a
// command inside a long cgo call does; "argv" runs main with the test
// binary's own arguments, so that a launcher (a Slurm script, a Kubernetes
// command, plan --emit local) can run the test binary as bertbench.
const (
	envChild     = "BERTBENCH_TEST_CHILD"
	envChildArgs = "BERTBENCH_TEST_CHILD_ARGS"
	// envChildFileLimit caps the size of any file the "main" child writes.
	envChildFileLimit = "BERTBENCH_TEST_CHILD_FSIZE"
	// envChildPeak names the file the "peak" child writes its own peak
	// resident memory to.
	envChildPeak = "BERTBENCH_TEST_CHILD_PEAK"
)

func TestMain(m *testing.M) {
	switch os.Getenv(envChild) {
	case "":
		os.Exit(m.Run())
	case "main":
		var args []string
		if err := json.Unmarshal([]byte(os.Getenv(envChildArgs)), &args); err != nil {
			fmt.Fprintln(os.Stderr, "child: bad arguments:", err)
			os.Exit(99)
		}
		if limit := os.Getenv(envChildFileLimit); limit != "" {
			// Writes past the limit fail (EFBIG; Go ignores SIGXFSZ): a
			// disk that fills up under the command.
			n, _ := strconv.ParseUint(limit, 10, 64)
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
				fmt.Fprintln(os.Stderr, "child: setrlimit:", err)
				os.Exit(99)
			}
		}
		os.Args = append([]string{"bertbench"}, args...)
		main()
	case "argv":
		os.Args[0] = "bertbench"
		main()
	case "peak":
		// As "main", then the process's own peak RSS (VmHWM, in KiB) into
		// $BERTBENCH_TEST_CHILD_PEAK: a child's rusage would count the
		// parent's memory, which the child shares until it execs.
		var args []string
		if err := json.Unmarshal([]byte(os.Getenv(envChildArgs)), &args); err != nil {
			fmt.Fprintln(os.Stderr, "child: bad arguments:", err)
			os.Exit(99)
		}
		code := run(context.Background(), append([]string{"bertbench"}, args...), os.Stdin, os.Stdout, os.Stderr)
		status, err := os.ReadFile("/proc/self/status")
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(99)
		}
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				_ = os.WriteFile(os.Getenv(envChildPeak), []byte(strings.TrimSuffix(strings.TrimSpace(v), " kB")), 0o644)
			}
		}
		os.Exit(code)
	case "stuck":
		ctx, stop := notifyInterrupt(context.Background(), os.Exit)
		defer stop()
		fmt.Println("ready")
		<-ctx.Done()
		fmt.Println("cancelled")
		time.Sleep(time.Minute) // the work that does not stop
		os.Exit(98)
	default:
		os.Exit(97)
	}
}
