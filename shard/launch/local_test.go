package launch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// fakeBertbench is a stand-in for the bertbench binary that records what
// it was asked in $FAKE_LOG (one line per start and end, appended, so the
// lines of concurrent processes do not mix): "start I dev=D pid=P ARGS" and
// "end I". A shard listed in $FAKE_FAIL fails; one in $FAKE_HANG runs
// until it is killed.
const fakeBertbench = `#!/bin/sh
cmd=$1; shift
args="$*"
if [ "$cmd" = merge ]; then
  echo "merge $args" >> "$FAKE_LOG"
  echo "bertbench: warning: a merge warning" >&2
  out=
  while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done
  if [ -n "$out" ]; then grep '^end' "$FAKE_LOG" | sort > "$out"; else echo "merged results"; fi
  exit 0
fi
idx=
while [ $# -gt 0 ]; do
  case $1 in
  --shard) idx=$2; shift ;;
  --shard-from-env) idx=${JOB_COMPLETION_INDEX:-$SLURM_ARRAY_TASK_ID} ;;
  esac
  shift
done
echo "start $idx dev=${CUDA_VISIBLE_DEVICES:-} pid=$$ $args" >> "$FAKE_LOG"
echo "scoring shard $idx"
for f in $FAKE_FAIL; do
  if [ "$f" = "$idx" ]; then echo "bertbench: shard $idx: boom" >&2; exit 3; fi
done
n=3
for h in $FAKE_HANG; do [ "$h" = "$idx" ] && n=3000; done
i=0
while [ $i -lt $n ]; do sleep 0.02; i=$((i+1)); done
echo "end $idx" >> "$FAKE_LOG"
`

// fakeRun is one RunLocal over a fake binary: its log's lines, and the
// folder.
type fakeRun struct {
	dir   string
	lines []string
}

func runFake(t *testing.T, ctx context.Context, s Spec, o LocalOptions, env ...string) (fakeRun, error) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bertbench")
	if err := os.WriteFile(bin, []byte(fakeBertbench), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "calls.log")
	t.Setenv("FAKE_LOG", log)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	s.Binary = bin
	s.Plan = filepath.Join(dir, "plan.json")
	if rest, ok := strings.CutPrefix(s.MergeOut, "DIR/"); ok {
		s.MergeOut = filepath.Join(dir, rest)
	}
	err := RunLocal(ctx, s, o)
	data, rerr := os.ReadFile(log)
	if rerr != nil && !os.IsNotExist(rerr) {
		t.Fatal(rerr)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(data) == 0 {
		lines = nil
	}
	return fakeRun{dir, lines}, err
}

// maxConcurrent replays start/end lines into the most shards running at
// once, and fails when two running shards share a device.
func (r fakeRun) maxConcurrent(t *testing.T) int {
	t.Helper()
	running := map[string]string{} // shard -> device
	most := 0
	for _, l := range r.lines {
		f := strings.Fields(l)
		switch f[0] {
		case "start":
			dev := strings.TrimPrefix(f[2], "dev=")
			for other, d := range running {
				if dev != "" && d == dev {
					t.Errorf("shards %s and %s ran on device %s at once", other, f[1], dev)
				}
			}
			running[f[1]] = dev
			most = max(most, len(running))
		case "end":
			delete(running, f[1])
		}
	}
	return most
}

func (r fakeRun) starts() map[int]string {
	m := map[int]string{}
	for _, l := range r.lines {
		if f := strings.Fields(l); f[0] == "start" {
			i, _ := strconv.Atoi(f[1])
			m[i] = l
		}
	}
	return m
}

func TestRunLocal(t *testing.T) {
	for _, tc := range []struct {
		name     string
		spec     Spec
		opts     LocalOptions
		parallel int    // the most shards at once
		args     string // what every score call holds
		devices  []string
	}{
		{"cpu threads split", Spec{Shards: 7, Parallel: 3, MergeFormat: "jsonl", MergeOut: "DIR/merged.jsonl"},
			LocalOptions{CPUs: 8}, 3, "--threads 2", nil},
		{"cpu no threads", Spec{Shards: 2}, LocalOptions{}, 2, "--plan ", nil},
		{"one gpu each", Spec{Shards: 5, Parallel: 4, GPU: true, ScoreArgs: []string{"--device", "cuda"}},
			LocalOptions{GPUs: []string{"0", "1"}}, 2, "--device cuda", []string{"0", "1"}},
		{"k8s index env", Spec{Shards: 4, Parallel: 2}, LocalOptions{IndexEnv: "JOB_COMPLETION_INDEX", CPUs: 2},
			2, "--shard-from-env --threads 1", nil},
		{"slurm index env", Spec{Shards: 3}, LocalOptions{IndexEnv: "SLURM_ARRAY_TASK_ID"}, 3, "--shard-from-env", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var progress []int
			tc.opts.Progress = func(done, total int) {
				if total != tc.spec.Shards {
					t.Errorf("progress total %d", total)
				}
				progress = append(progress, done)
			}
			var stdout, stderr strings.Builder
			tc.opts.Stdout, tc.opts.Stderr = &stdout, &stderr
			r, err := runFake(t, context.Background(), tc.spec, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			starts := r.starts()
			if len(starts) != tc.spec.Shards {
				t.Fatalf("%d shards started, want %d:\n%s", len(starts), tc.spec.Shards, strings.Join(r.lines, "\n"))
			}
			for i := range tc.spec.Shards {
				l, ok := starts[i]
				if !ok || !strings.Contains(l, tc.args) {
					t.Errorf("shard %d: %q, want %q in it", i, l, tc.args)
				}
				if tc.opts.CPUs == 0 && strings.Contains(l, "--threads") {
					t.Errorf("shard %d got --threads without CPUs to split: %q", i, l)
				}
				if tc.opts.IndexEnv == "" && !strings.Contains(l, fmt.Sprintf("--shard %d", i)) {
					t.Errorf("shard %d was not given --shard %d: %q", i, i, l)
				}
				dev := strings.TrimPrefix(strings.Fields(l)[2], "dev=")
				if tc.devices == nil && dev != "" || tc.devices != nil && !slices.Contains(tc.devices, dev) {
					t.Errorf("shard %d ran with CUDA_VISIBLE_DEVICES=%q, want one of %q", i, dev, tc.devices)
				}
				log, err := os.ReadFile(filepath.Join(r.dir, fmt.Sprintf("local-shard-%05d.log", i)))
				if err != nil || string(log) != fmt.Sprintf("scoring shard %d\n", i) {
					t.Errorf("shard %d log %q (%v)", i, log, err)
				}
			}
			if got := r.maxConcurrent(t); got > tc.parallel {
				t.Errorf("%d shards ran at once, want at most %d", got, tc.parallel)
			}
			last := r.lines[len(r.lines)-1]
			wantMerge, wantStdout := "merge --format "+cmp(tc.spec.MergeFormat, "text"), "merged results\n"
			if out, ok := strings.CutPrefix(tc.spec.MergeOut, "DIR/"); ok {
				out = filepath.Join(r.dir, out)
				wantMerge += " -o " + out
				wantStdout = ""
				got, err := os.ReadFile(out)
				if err != nil || strings.Count(string(got), "end ") != tc.spec.Shards {
					t.Errorf("merged %q (%v), want %d shards", got, err, tc.spec.Shards)
				}
			}
			if last != wantMerge+" "+filepath.Join(r.dir, "plan.json") {
				t.Errorf("last call %q, want the merge %q", last, wantMerge)
			}
			if stdout.String() != wantStdout {
				t.Errorf("merge's standard output %q, want %q", stdout.String(), wantStdout)
			}
			if stderr.String() != "bertbench: warning: a merge warning\n" {
				t.Errorf("merge's standard error %q, want its warning passed on", stderr.String())
			}
			if !slices.Equal(progress, seq(1, tc.spec.Shards)) {
				t.Errorf("progress %v", progress)
			}
		})
	}
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func seq(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func TestRunLocal_ShardFails(t *testing.T) {
	// Shard 2 fails while 0 and 1 hang: they are stopped, no merge runs,
	// and the error names the shard, its message and its log.
	r, err := runFake(t, context.Background(), Spec{Shards: 6, Parallel: 3}, LocalOptions{},
		"FAKE_FAIL=2", "FAKE_HANG=0 1")
	if err == nil {
		t.Fatal("no error")
	}
	log := filepath.Join(r.dir, "local-shard-00002.log")
	for _, want := range []string{"shard 2: ", "bertbench: shard 2: boom", "exit status 3", "log: " + log} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if errors.Is(err, ErrInvalidInput) {
		t.Errorf("a failed shard is a runtime failure, not input: %v", err)
	}
	for _, l := range r.lines {
		if strings.HasPrefix(l, "merge") || l == "end 0" || l == "end 1" {
			t.Errorf("ran %q after shard 2 failed", l)
		}
	}
	r.checkGone(t)
}

func TestRunLocal_Cancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	o := LocalOptions{Progress: func(done, total int) {
		cancel() // after the first shard, while the others hang
	}}
	r, err := runFake(t, ctx, Spec{Shards: 4, Parallel: 2}, o, "FAKE_HANG=1 2 3")
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped after 1 of 4 shards") {
		t.Fatalf("error %v, want the cancellation after 1 of 4 shards", err)
	}
	for _, l := range r.lines {
		if strings.HasPrefix(l, "merge") {
			t.Errorf("merged after a cancel")
		}
	}
	r.checkGone(t)
}

// checkGone fails when a process the run started is still alive.
func (r fakeRun) checkGone(t *testing.T) {
	t.Helper()
	for i, l := range r.starts() {
		pid, err := strconv.Atoi(strings.TrimPrefix(strings.Fields(l)[3], "pid="))
		if err != nil {
			t.Fatalf("start line %q", l)
		}
		if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
			t.Errorf("shard %d's process %d still runs", i, pid)
		}
	}
}

func TestRunLocal_Invalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Spec
		o    LocalOptions
		want string
	}{
		{"gpu without devices", Spec{Plan: "p/plan.json", Shards: 2, GPU: true}, LocalOptions{}, "no GPU"},
		{"negative cpus", Spec{Plan: "p/plan.json", Shards: 2}, LocalOptions{CPUs: -1}, "-1 CPUs"},
		{"bad index env", Spec{Plan: "p/plan.json", Shards: 2}, LocalOptions{IndexEnv: "A-B"}, `index variable "A-B"`},
		{"no shards", Spec{Plan: "p/plan.json"}, LocalOptions{}, "0 shards"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := RunLocal(context.Background(), tc.s, tc.o)
			if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrInvalidInput with %q", err, tc.want)
			}
		})
	}
}
