package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/onnxrt"
)

// cudaProvider is the CUDA provider `make cuda-ep` installs
// ($BERTBENCH_CUDA_EP, else $BERTBENCH_DEPS/cuda-ep); the test fails
// without it.
func cudaProvider(t *testing.T) string {
	t.Helper()
	if deps := os.Getenv("BERTBENCH_DEPS"); deps != "" && os.Getenv(onnxrt.CUDAEnvVar) == "" {
		if p := filepath.Join(deps, "cuda-ep", onnxrt.CUDAProviderLib); fileExists(p) {
			return p
		}
	}
	p, err := onnxrt.FindCUDAProvider("")
	if err != nil {
		t.Fatalf("the CUDA provider is needed (make cuda-ep): %v", err)
	}
	return p
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// TestScoreDevice: --device picks where the encoder runs and the hash says
// where it ran; a device that cannot run is one line and exit 1 with
// nothing on stdout, a malformed one a usage error.
func TestScoreDevice(t *testing.T) {
	orttest.Require(t)
	dir := t.TempDir()
	cands := writeLines(t, dir, "c.txt", []string{"今天天气很好。", "谢谢"})
	refs := writeLines(t, dir, "r.txt", []string{"今天天气不错。", "谢谢你"})
	base := []string{"score", "--model", fixturePath(t, "tiny-mbert"), "-c", cands, "-r", refs}
	provider := cudaProvider(t)
	missing := filepath.Join(dir, "none", onnxrt.CUDAProviderLib)
	for _, tc := range []struct {
		name     string
		global   []string // before the command
		args     []string
		code     int
		want     []string // in stderr (failures) or stdout (success)
		provider string   // the hash's provider on success
	}{
		{"cpu", nil, []string{"--device", "cpu"}, exitOK, []string{",provider=cpu,fp32)"}, "cpu"},
		{"default", nil, nil, exitOK, []string{",provider=cpu,fp32)"}, "cpu"},
		{"malformed", nil, []string{"--device", "gpu"}, exitUsage, []string{`score: --device: device "gpu": want cpu, cuda or cuda:N`}, ""},
		{"tf32 on the cpu", nil, []string{"--tf32"}, exitUsage, []string{"--tf32 only applies with --device cuda"}, ""},
		{"cuda without the provider", []string{"--cuda-ep", missing}, []string{"--device", "cuda"}, exitFailure,
			[]string{"score: --device cuda:0: the CUDA execution provider is not installed", "make cuda-ep"}, ""},
		{"cuda:1 without the provider, from the variable", nil, []string{"--device", "cuda:1"}, exitFailure,
			[]string{"--device cuda:1:", "make cuda-ep", missing}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(onnxrt.CUDAEnvVar, missing)
			args := append(append(append([]string{}, tc.global...), base...), tc.args...)
			code, stdout, stderr := runCLI(t, "", args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr)
			}
			out := stdout
			if code != exitOK {
				out = stderr
				if stdout != "" || strings.Count(stderr, "\n") != 1 {
					t.Errorf("stdout %q, stderr %q: want nothing on stdout and one line on stderr", stdout, stderr)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output %q lacks %q", out, w)
				}
			}
		})
	}
	// With the real provider: where CUDA's libraries are missing (CI), one
	// line names them and says how to point at them; where they are there,
	// the hash says provider=cuda (or no GPU is found).
	t.Run("cuda with the provider", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "", append([]string{"--cuda-ep", provider}, append(base, "--device", "cuda")...)...)
		if libs := onnxrt.CheckCUDALibraries(provider); libs != nil {
			if code != exitFailure || stdout != "" || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("exit %d, stdout %q, stderr %q: want exit 1 and one line", code, stdout, stderr)
			}
			for _, w := range []string{"score: --device cuda:0: CUDA libraries missing", "libcublas.so.13", "libcudart.so.13", "LD_LIBRARY_PATH"} {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
			if strings.Contains(stdout+stderr, "provider=cuda") {
				t.Errorf("a hash says provider=cuda though CUDA did not run")
			}
			return
		}
		switch {
		case code == exitOK:
			if !strings.Contains(stdout, ",provider=cuda,fp32)") {
				t.Errorf("CUDA ran, but the hash says otherwise: %s", stdout)
			}
		case strings.Contains(stderr, "no CUDA device"):
			t.Logf("CUDA libraries present, no GPU: %s", stderr)
		default:
			t.Errorf("exit %d: %s", code, stderr)
		}
	})
}
