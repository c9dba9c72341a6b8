package launch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/bertbench/bertbench/internal/outfile"
)

// LocalOptions says how RunLocal runs the shards on this machine.
type LocalOptions struct {
	// GPUs are the devices for Spec.GPU: a shard runs on one of them at a
	// time, with CUDA_VISIBLE_DEVICES set to it (so that its process sees
	// one GPU, device 0), so at most len(GPUs) shards run at once.
	// Required with Spec.GPU.
	GPUs []string
	// CPUs, without Spec.GPU, are split over the shards running at once:
	// each gets --threads CPUs/K (at least 1). 0 adds no --threads.
	CPUs int
	// IndexEnv, when set, names the variable that carries the shard index
	// to each process (JOB_COMPLETION_INDEX as Kubernetes sets it,
	// SLURM_ARRAY_TASK_ID as Slurm does), which then runs the engines'
	// command, `score --plan PLAN --shard-from-env`; empty: each process
	// gets --shard I.
	IndexEnv string
	// LogDir receives one log per shard, local-shard-NNNNN.log (the
	// process's standard output and error) and local-merge.log; default
	// the plan's folder.
	LogDir string
	// Stdout receives the merge's standard output when Spec.MergeOut is
	// empty; nil discards it.
	Stdout io.Writer
	// Stderr receives the merge's standard error too (its warnings, such
	// as shards run with another configuration), besides local-merge.log;
	// nil: the log only.
	Stderr io.Writer
	// Progress, when set, is called (from one goroutine at a time) as
	// shards finish.
	Progress func(done, total int)
	// KillAfter is how long a process stopped with SIGTERM (on cancel, or
	// when another shard failed) may take before it is killed; default
	// 10s.
	KillAfter time.Duration
}

// DefaultKillAfter is LocalOptions.KillAfter's default.
const DefaultKillAfter = 10 * time.Second

// RunLocal scores every shard of the plan as a process of s.Binary on this
// machine, at most s.Parallel at once (fewer with GPUs: one per GPU), then
// runs the merge. The first shard that fails, or ctx's cancellation, stops
// the others (SIGTERM, then SIGKILL after KillAfter) and no merge runs; the
// error names the shard, its exit status, the last line of its log and the
// log. As on a cluster, running it again redoes only the shards without a
// done marker.
func RunLocal(ctx context.Context, s Spec, o LocalOptions) error {
	s, err := s.normalized()
	if err != nil {
		return err
	}
	if s.GPU && len(o.GPUs) == 0 {
		return inputErrorf("GPU shards but no GPU to run them on: give the devices (CUDA_VISIBLE_DEVICES values)")
	}
	if o.CPUs < 0 {
		return inputErrorf("%d CPUs: give 1 or more, or 0 to leave --threads to the scorer", o.CPUs)
	}
	if o.IndexEnv != "" && !envNameRE.MatchString(o.IndexEnv) {
		return inputErrorf("index variable %q: use letters, digits and '_'", o.IndexEnv)
	}
	if o.LogDir == "" {
		o.LogDir = filepath.Dir(filepath.FromSlash(s.Plan))
	}
	if o.KillAfter <= 0 {
		o.KillAfter = DefaultKillAfter
	}
	workers := s.Parallel
	if s.GPU && len(o.GPUs) < workers {
		workers = len(o.GPUs)
	}
	var threads []string
	if !s.GPU && o.CPUs > 0 {
		threads = []string{"--threads", strconv.Itoa(max(1, o.CPUs/workers))}
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range s.Shards {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var (
		mu    sync.Mutex
		first error
		done  int
		wg    sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for i := range next {
				args := []string{"score", "--plan", s.Plan}
				var env []string
				if o.IndexEnv != "" {
					args = append(args, "--shard-from-env")
					env = append(env, o.IndexEnv+"="+strconv.Itoa(i))
				} else {
					args = append(args, "--shard", strconv.Itoa(i))
				}
				args = append(args, s.ScoreArgs...)
				args = append(args, threads...)
				if s.GPU {
					env = append(env, "CUDA_VISIBLE_DEVICES="+o.GPUs[w])
				}
				log := filepath.Join(o.LogDir, fmt.Sprintf("local-shard-%05d.log", i))
				err := s.run(ctx, o, args, env, log, nil, nil)
				mu.Lock()
				if err != nil && first == nil && ctx.Err() == nil {
					first = fmt.Errorf("shard %d: %w", i, err)
					cancel(first)
				}
				if err == nil {
					done++
					if o.Progress != nil {
						o.Progress(done, s.Shards)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local run stopped after %d of %d shards: %w", done, s.Shards, context.Cause(ctx))
	}
	args := s.mergeCommand()[1:]
	if err := s.run(ctx, o, args, nil, filepath.Join(o.LogDir, "local-merge.log"), o.Stdout, o.Stderr); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	return nil
}

// run runs s.Binary with args and env (on top of this process's and
// s.Env), its standard error (also to stderr when set), and its standard
// output unless stdout is set, going to the log file.
func (s Spec) run(ctx context.Context, o LocalOptions, args, env []string, log string, stdout, stderr io.Writer) error {
	f, err := outfile.Stream(log, 0o644)
	if err != nil {
		return fmt.Errorf("log: %w", err)
	}
	defer f.Close()
	tail := &tailWriter{max: 4096}
	w := io.MultiWriter(f, tail)
	cmd := exec.CommandContext(ctx, s.Binary, args...)
	cmd.Env = os.Environ()
	for _, e := range s.Env {
		cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = w, w
	if stderr != nil {
		cmd.Stderr = io.MultiWriter(w, stderr)
	}
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = o.KillAfter
	err = cmd.Run()
	if cerr := f.Close(); err == nil && cerr != nil {
		return fmt.Errorf("log: %w", cerr)
	}
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if last := tail.lastLine(); last != "" {
			return fmt.Errorf("%s (%s; log: %s)", last, ee, log)
		}
		return fmt.Errorf("%w (log: %s)", err, log)
	}
	return fmt.Errorf("run %s: %w", s.Binary, err)
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

// lastLine is the last non-empty line written.
func (t *tailWriter) lastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := bytes.Split(bytes.TrimSpace(t.buf), []byte("\n"))
	return string(bytes.TrimSpace(lines[len(lines)-1]))
}
