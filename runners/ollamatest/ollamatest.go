// Package ollamatest starts a real Ollama server for tests: the binary
// `make ollama` builds into $BERTBENCH_DEPS/ollama, on a free loopback port,
// with its models and HOME in a temporary folder, in a process group of its
// own so that stopping it also stops the model runner it spawns. It also
// creates the tiny random model and LoRA adapter (package gguf) on it.
package ollamatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bertbench/bertbench/runners/gguf"
	"github.com/bertbench/bertbench/runners/ollama"
)

// EnvDeps names the variable holding the folder `make` installs test
// dependencies into (the Makefile exports it).
const EnvDeps = "BERTBENCH_DEPS"

// Binary returns the path of the Ollama server built by `make ollama`:
// $BERTBENCH_DEPS/ollama/ollama when the variable is set (the Makefile
// exports it), else .deps/ollama/ollama in the working directory or the
// nearest folder above it (a `go test` run inside the repository).
func Binary() (string, error) {
	const rel = "ollama/ollama"
	if deps := os.Getenv(EnvDeps); deps != "" {
		p := filepath.Join(deps, rel)
		if !isExecutable(p) {
			return "", fmt.Errorf("ollamatest: no Ollama server at %s ($%s): run `make ollama`", p, EnvDeps)
		}
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("ollamatest: %w", err)
	}
	for {
		if p := filepath.Join(dir, ".deps", rel); isExecutable(p) {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("ollamatest: no Ollama server in .deps/ollama (and $%s is not set): run `make ollama`", EnvDeps)
		}
		dir = parent
	}
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// Server is a running Ollama server.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:41234.
	URL string
	// Dir holds the server's models, HOME and log.
	Dir string

	handle   *ollama.Server
	cmd      *exec.Cmd
	log      *os.File
	exited   chan struct{}
	closeMu  sync.Mutex
	closed   bool
	closeErr error
}

// StopTimeout is how long Close waits after SIGTERM before SIGKILL.
const StopTimeout = 10 * time.Second

// Start launches the server and waits until it answers.
func Start(ctx context.Context) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	sweepStale(os.TempDir())
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("ollamatest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("ollamatest: %w", err)
	}
	for _, sub := range []string{"models", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("ollamatest: %w", err)
		}
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("ollamatest: %w", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(cleanEnv(),
		"OLLAMA_HOST="+addr,
		"OLLAMA_MODELS="+filepath.Join(dir, "models"),
		"HOME="+filepath.Join(dir, "home"),
		"OLLAMA_KEEP_ALIVE=10m",
		"OLLAMA_NOPRUNE=1",
	)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("ollamatest: starting %s: %w", bin, err)
	}
	s := &Server{URL: "http://" + addr, Dir: dir, cmd: cmd, log: logf, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		s.Close()
		return nil, err
	}
	if s.handle, err = ollama.NewServer(s.URL, nil); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// StartT starts a server for one test and stops it when the test ends,
// printing the end of the server's log if the test failed.
func StartT(t testing.TB) *Server {
	t.Helper()
	s, err := Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ollama server log (tail):\n%s", s.LogTail(4000))
		}
		if err := s.Close(); err != nil {
			t.Errorf("stopping ollama: %v", err)
		}
	})
	return s
}

// dirPrefix names the servers' temporary folders; ownerFile in each holds
// the pid of the test process that made it.
const (
	dirPrefix = "bertbench-ollama-"
	ownerFile = "owner.pid"
)

// sweepStale removes the folders of servers whose test process died
// without cleaning up (killed, timed out): their owner no longer exists.
// A folder whose owner is alive, or unknown, is left alone.
func sweepStale(tmp string) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, dirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}

// cleanEnv is the test's environment without OLLAMA_* settings, HOME, and
// credentials (API keys, tokens, secrets) that the server has no use for
// and must not be able to log.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(name)
		switch {
		case strings.HasPrefix(name, "OLLAMA_"), name == "HOME":
		case strings.Contains(upper, "KEY"), strings.Contains(upper, "TOKEN"), strings.Contains(upper, "SECRET"), strings.Contains(upper, "PASSWORD"):
		default:
			env = append(env, kv)
		}
	}
	return env
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("ollamatest: finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/version", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("ollamatest: server exited before it was ready:\n%s", s.LogTail(4000))
		case <-ctx.Done():
			return fmt.Errorf("ollamatest: server not ready after %v:\n%s", limit, s.LogTail(4000))
		case <-tick.C:
		}
	}
}

// LogTail returns the last n bytes of the server's log.
func (s *Server) LogTail(n int) string {
	b, err := os.ReadFile(s.log.Name())
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// Close stops the server's process group (SIGTERM, then SIGKILL after
// StopTimeout) and removes its folder. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return s.closeErr
	}
	s.closed = true
	pgid := s.cmd.Process.Pid
	var errs []error
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		errs = append(errs, fmt.Errorf("SIGTERM: %w", err))
	}
	select {
	case <-s.exited:
	case <-time.After(StopTimeout):
		errs = append(errs, fmt.Errorf("ollama did not stop within %v of SIGTERM; killed", StopTimeout))
	}
	// Whatever is left of the group (a runner child) goes now.
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		errs = append(errs, fmt.Errorf("SIGKILL: %w", err))
	}
	<-s.exited
	s.log.Close()
	if err := os.RemoveAll(s.Dir); err != nil {
		errs = append(errs, err)
	}
	s.closeErr = errors.Join(errs...)
	if s.closeErr != nil {
		s.closeErr = fmt.Errorf("ollamatest: %w", s.closeErr)
	}
	return s.closeErr
}

// Handle returns a runners/ollama handle on the server.
func (s *Server) Handle() *ollama.Server { return s.handle }

// TinyFiles writes the tiny model (model.gguf) and a LoRA adapter for it
// (adapter.gguf) into dir and returns their paths.
func TinyFiles(dir string, cfg gguf.LlamaConfig) (model, adapter string, err error) {
	model = filepath.Join(dir, "tiny-llama.gguf")
	adapter = filepath.Join(dir, "tiny-lora.gguf")
	if err := writeFile(model, func(w io.Writer) error { return gguf.WriteTinyLlama(w, cfg) }); err != nil {
		return "", "", err
	}
	if err := writeFile(adapter, func(w io.Writer) error {
		return gguf.WriteTinyLoRA(w, gguf.LoRAConfig{Model: cfg, Seed: cfg.Seed + 1})
	}); err != nil {
		return "", "", err
	}
	return model, adapter, nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("ollamatest: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("ollamatest: %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("ollamatest: %w", err)
	}
	return nil
}

// CreateTiny creates the tiny random model on the server under name and
// returns the path of a matching LoRA adapter file written beside it.
func (s *Server) CreateTiny(ctx context.Context, name string) (adapterPath string, err error) {
	model, adapter, err := TinyFiles(s.Dir, gguf.LlamaConfig{Seed: 1})
	if err != nil {
		return "", err
	}
	if _, err := s.Handle().CreateFromGGUF(ctx, name, model, nil); err != nil {
		return "", fmt.Errorf("ollamatest: %w\nserver log:\n%s", err, s.LogTail(3000))
	}
	return adapter, nil
}

// TinyModel is the name Shared.Tiny gives the tiny random model.
const TinyModel = "bertbench-tiny"

// Shared is one server for all the tests of a package, started on first
// use; call Close from TestMain. In -short mode the tests that ask for it
// are skipped (`make test-short` does not build Ollama).
type Shared struct {
	once    sync.Once
	srv     *Server
	adapter string
	err     error
}

// Tiny returns the shared server, with TinyModel created on it, and the
// path of a LoRA adapter file for TinyModel. A missing Ollama binary fails
// the test with the make target that builds it.
func (s *Shared) Tiny(t testing.TB) (*Server, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the real Ollama server (built by `make ollama`); skipped in -short mode")
	}
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		s.srv, s.err = Start(ctx)
		if s.err != nil {
			return
		}
		s.adapter, s.err = s.srv.CreateTiny(ctx, TinyModel)
	})
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.srv, s.adapter
}

// Close stops the server if it was started.
func (s *Shared) Close() error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Close()
}

// Main runs a test binary's tests (the body of its TestMain) and then
// stops the shared server, failing the run if that fails; it returns the
// exit code for os.Exit.
func (s *Shared) Main(m *testing.M) int {
	code := m.Run()
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	return code
}
