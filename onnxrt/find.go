package onnxrt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// EnvVar names the environment variable that points at the ONNX Runtime
// library.
const EnvVar = "BERTBENCH_ORT_LIB"

// LibName is the file name `make setup` installs.
const LibName = "libonnxruntime.so.1"

// installDir is where `make setup` puts the library, relative to the
// repository root (or to the folder above the binary's bin/ folder).
const installDir = ".deps/ort"

// InstallHint is the one line shown whenever the library cannot be used.
const InstallHint = "install it with `make setup` (scripts/install-ort.sh), or point --ort-lib or " + EnvVar + " at libonnxruntime.so.1 (onnxruntime-node@1.30.0)"

// CUDAEnvVar names the environment variable that points at the CUDA
// execution provider library.
const CUDAEnvVar = "BERTBENCH_CUDA_EP"

// CUDAProviderLib is the CUDA execution provider's file name, and
// SharedProviderLib the helper library that must lie beside it.
const (
	CUDAProviderLib   = "libonnxruntime_providers_cuda.so"
	SharedProviderLib = "libonnxruntime_providers_shared.so"
)

// cudaInstallDir is where `make cuda-ep` puts the provider, relative to
// the repository root (or to the folder above the binary's bin/ folder).
const cudaInstallDir = ".deps/cuda-ep"

// CUDAInstallHint is the one line shown whenever the CUDA provider cannot
// be found.
const CUDAInstallHint = "install it with `make cuda-ep`, or point --cuda-ep or " + CUDAEnvVar + " at " + CUDAProviderLib +
	" (npm com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9)"

// ErrNotFound is returned when no candidate ONNX Runtime library exists.
var ErrNotFound = errors.New("ONNX Runtime library not found")

// ErrCUDAProviderNotFound is returned when the CUDA execution provider
// library is not installed.
var ErrCUDAProviderNotFound = errors.New("the CUDA execution provider is not installed")

// Candidates lists, in order, the places Find looks: the explicit path, the
// environment variable, next to the binary (../.deps/ort and ./.deps/ort),
// and every folder from the working directory up to the root.
func Candidates(explicit string) []string {
	return candidates(explicit, EnvVar, installDir, LibName)
}

// candidates lists the places to look for file: explicit, else $env, else
// dir/file next to the binary and in every folder from the working
// directory up.
func candidates(explicit, env, dir, file string) []string {
	if explicit != "" {
		return []string{explicit}
	}
	if v := os.Getenv(env); v != "" {
		return []string{v}
	}
	var out []string
	if exe, err := os.Executable(); err == nil {
		bin := filepath.Dir(exe)
		out = append(out, filepath.Join(bin, "..", dir, file), filepath.Join(bin, dir, file))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			out = append(out, filepath.Join(d, dir, file))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return out
}

// firstFile returns the first of cands that is a file.
func firstFile(cands []string) (string, bool) {
	for _, c := range cands {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return filepath.Clean(c), true
		}
	}
	return "", false
}

// Find returns the first candidate library that exists. With an explicit
// path or the environment variable set, only that path is considered.
func Find(explicit string) (string, error) {
	cands := Candidates(explicit)
	if p, ok := firstFile(cands); ok {
		return p, nil
	}
	if len(cands) == 1 {
		return "", fmt.Errorf("%w at %s: %s", ErrNotFound, cands[0], InstallHint)
	}
	return "", fmt.Errorf("%w: %s", ErrNotFound, InstallHint)
}

// FindCUDAProvider returns the CUDA execution provider library: explicit
// (--cuda-ep) if given, else $BERTBENCH_CUDA_EP, else the copy `make
// cuda-ep` installs in .deps/cuda-ep, found as Find finds the runtime.
func FindCUDAProvider(explicit string) (string, error) {
	cands := candidates(explicit, CUDAEnvVar, cudaInstallDir, CUDAProviderLib)
	if p, ok := firstFile(cands); ok {
		return p, nil
	}
	if len(cands) == 1 {
		return "", fmt.Errorf("%w (no %s at %s): %s", ErrCUDAProviderNotFound, CUDAProviderLib, cands[0], CUDAInstallHint)
	}
	return "", fmt.Errorf("%w (no %s in %s): %s", ErrCUDAProviderNotFound, CUDAProviderLib, cudaInstallDir, CUDAInstallHint)
}
