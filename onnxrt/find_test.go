package onnxrt

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

func TestFindExplicitMissing(t *testing.T) {
	_, err := Find(filepath.Join(t.TempDir(), "nope.so"))
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	if !strings.Contains(err.Error(), "make setup") {
		t.Fatalf("error lacks install hint: %v", err)
	}
}

// envChild makes the test binary run one test in a fresh process, where
// ONNX Runtime is not loaded yet.
const envChild = "BERTBENCH_ONNXRT_TEST_CHILD"

// inFreshProcess reruns the test named name alone in a child process,
// unless this is that child; it reports whether the caller is the child
// (and should run the test body).
func inFreshProcess(t *testing.T, name string) bool {
	t.Helper()
	if os.Getenv(envChild) == name {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), envChild+"="+name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s in a fresh process: %v\n%s", name, err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("%s in a fresh process did not pass:\n%s", name, out)
	}
	return false
}

func TestLoadWrongFile(t *testing.T) {
	if !inFreshProcess(t, "TestLoadWrongFile") {
		return
	}
	if ort.IsInitialized() {
		t.Fatal("ONNX Runtime is already loaded in the fresh process")
	}
	bad := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	if err := os.WriteFile(bad, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	var r Runtime
	err := r.Load(bad)
	if err == nil || !strings.Contains(err.Error(), "make setup") || strings.Contains(err.Error(), "already") {
		t.Fatalf("want a clear error with install hint, got %v", err)
	}
}

func TestLoadInstalled(t *testing.T) {
	rt, err := Load("")
	if err != nil {
		t.Fatalf("the library must be installed for tests (make setup): %v", err)
	}
	if v := Version(); !strings.HasPrefix(v, "1.30") {
		t.Fatalf("loaded %s, version %q, want 1.30.x", rt.Path(), v)
	}
	if err := rt.Load(filepath.Join(t.TempDir(), "other.so")); err == nil || !strings.Contains(err.Error(), "already loaded") {
		t.Errorf("switching libraries: %v, want an error saying the runtime is already loaded", err)
	}
}

// TestFindCUDAProvider: --cuda-ep, then $BERTBENCH_CUDA_EP, then
// .deps/cuda-ep from the working folder up; a missing provider says
// `make cuda-ep` installs it, and is ErrCUDAProviderNotFound.
func TestFindCUDAProvider(t *testing.T) {
	root := t.TempDir()
	installed := filepath.Join(root, ".deps", "cuda-ep", CUDAProviderLib)
	if err := os.MkdirAll(filepath.Dir(installed), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(installed, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(root, "other.so")
	if err := os.WriteFile(other, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	missing := filepath.Join(root, "none.so")
	for _, tc := range []struct {
		name, explicit, env, want, wantErr string
	}{
		{"installed copy found from a subfolder", "", "", installed, ""},
		{"the variable wins", "", other, other, ""},
		{"the flag wins", other, missing, other, ""},
		{"a missing flag path", missing, "", "", "no " + CUDAProviderLib + " at " + missing},
		{"a missing variable path", "", missing, "", "at " + missing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(CUDAEnvVar, tc.env)
			got, err := FindCUDAProvider(tc.explicit)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrCUDAProviderNotFound) || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "make cuda-ep") {
					t.Fatalf("error %v, want ErrCUDAProviderNotFound mentioning %q and make cuda-ep", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	t.Setenv(CUDAEnvVar, "")
	t.Chdir(t.TempDir())
	if _, err := FindCUDAProvider(""); !errors.Is(err, ErrCUDAProviderNotFound) || strings.Contains(err.Error(), "\n") {
		t.Errorf("nothing installed: %v, want one line with ErrCUDAProviderNotFound", err)
	}
}
