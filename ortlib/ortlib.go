// Package ortlib finds and loads the ONNX Runtime shared library that
// bertbench runs its encoders with.
//
// ONNX Runtime keeps one environment per process, so loading is process-wide:
// Load may be called many times (from tests, commands, benchmarks) and only
// the first call with a usable library initialises the runtime. Later calls
// with a different path report an error instead of silently using the first.
package ortlib

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// EnvVar names the environment variable that points at the library.
const EnvVar = "BERTBENCH_ORT_LIB"

// LibName is the file name `make setup` installs.
const LibName = "libonnxruntime.so.1"

// installDir is where `make setup` puts the library, relative to the
// repository root (or to the folder above the binary's bin/ folder).
const installDir = ".deps/ort"

// InstallHint is the one line shown whenever the library cannot be used.
const InstallHint = "install it with `make setup` (scripts/install-ort.sh), or point --ort-lib or " + EnvVar + " at libonnxruntime.so.1 (onnxruntime-node@1.30.0)"

// ErrNotFound is returned when no candidate library file exists.
var ErrNotFound = errors.New("ONNX Runtime library not found")

// Candidates lists, in order, the places Find looks: the explicit path, the
// environment variable, next to the binary (../.deps/ort and ./.deps/ort),
// and every folder from the working directory up to the root.
func Candidates(explicit string) []string {
	var out []string
	if explicit != "" {
		return []string{explicit}
	}
	if env := os.Getenv(EnvVar); env != "" {
		return []string{env}
	}
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		out = append(out,
			filepath.Join(dir, "..", installDir, LibName),
			filepath.Join(dir, installDir, LibName))
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			out = append(out, filepath.Join(dir, installDir, LibName))
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return out
}

// Find returns the first candidate library that exists. With an explicit
// path or the environment variable set, only that path is considered.
func Find(explicit string) (string, error) {
	cands := Candidates(explicit)
	for _, c := range cands {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return filepath.Clean(c), nil
		}
	}
	if len(cands) == 1 {
		return "", fmt.Errorf("%w at %s: %s", ErrNotFound, cands[0], InstallHint)
	}
	return "", fmt.Errorf("%w: %s", ErrNotFound, InstallHint)
}

// Runtime is a loaded ONNX Runtime. Its zero value is ready to use; one
// Runtime is meant to be shared by the whole process (see Default).
type Runtime struct {
	mu     sync.Mutex
	path   string
	loaded bool
}

var defaultRuntime Runtime

// Default returns the process-wide runtime: ONNX Runtime itself allows one
// environment per process, so this is the one place that state lives.
func Default() *Runtime { return &defaultRuntime }

// Load finds the library (see Find) and initialises ONNX Runtime with it.
func Load(explicit string) (string, error) { return defaultRuntime.Load(explicit) }

// Load initialises ONNX Runtime with the library found from explicit. It is
// safe for concurrent use and idempotent for the same library.
func (r *Runtime) Load(explicit string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loaded {
		if explicit != "" {
			if want, err := filepath.Abs(explicit); err == nil {
				if have, _ := filepath.Abs(r.path); have != want {
					return r.path, fmt.Errorf("ONNX Runtime already loaded from %s; cannot switch to %s in the same process", r.path, explicit)
				}
			}
		}
		return r.path, nil
	}
	path, err := Find(explicit)
	if err != nil {
		return "", err
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return "", fmt.Errorf("loading ONNX Runtime from %s: %v; %s", path, err, InstallHint)
	}
	r.path, r.loaded = path, true
	return path, nil
}

// Version reports the loaded library's version string ("" before Load).
func (r *Runtime) Version() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.loaded {
		return ""
	}
	return ort.GetVersion()
}

// Version reports the default runtime's library version.
func Version() string { return defaultRuntime.Version() }
