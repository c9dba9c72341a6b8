package onnxrt

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cudaProvider returns the CUDA provider `make cuda-ep` installs
// ($BERTBENCH_CUDA_EP, else $BERTBENCH_DEPS/cuda-ep, else found as
// FindCUDAProvider finds it), failing the test when it is not there.
func cudaProvider(t *testing.T) string {
	t.Helper()
	if deps := os.Getenv("BERTBENCH_DEPS"); deps != "" && os.Getenv(CUDAEnvVar) == "" {
		p := filepath.Join(deps, "cuda-ep", CUDAProviderLib)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := FindCUDAProvider("")
	if err != nil {
		t.Fatalf("the CUDA provider is needed (its dependencies are read, nothing is run): %v", err)
	}
	return p
}

// TestParseLdCache reads this machine's ld.so.cache: libc is in it.
func TestParseLdCache(t *testing.T) {
	data, err := os.ReadFile("/etc/ld.so.cache")
	if err != nil {
		t.Fatalf("reading the loader's cache: %v", err)
	}
	c := parseLdCache(data)
	if len(c["libc.so.6"]) == 0 {
		t.Fatalf("libc.so.6 not in the parsed cache (%d entries)", len(c))
	}
	for _, p := range c["libc.so.6"] {
		if !filepath.IsAbs(p) {
			t.Errorf("libc.so.6 at %q, want an absolute path", p)
		}
	}
	if parseLdCache([]byte("ld.so-1.7.0 old format only")) != nil {
		t.Error("an unknown format gave entries")
	}
	if parseLdCache(nil) != nil {
		t.Error("an empty file gave entries")
	}
}

// TestCheckCUDALibraries reads the real CUDA provider's dependencies and
// searches for them in a folder made for the test, holding exactly the
// libraries given (symlinks to system libraries of this machine stand in
// for the CUDA ones: only their being loadable ELF files is checked), so
// the outcome is the same on a machine with CUDA and one without.
func TestCheckCUDALibraries(t *testing.T) {
	provider := cudaProvider(t)
	host := hostLibSearch()
	_, _, needed, _, _, err := elfDeps(provider)
	if err != nil {
		t.Fatal(err)
	}
	cudaLibs := []string{"libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10", "libcudart.so.13", "libcuda.so.1"}
	for _, l := range cudaLibs {
		if !slices.Contains(needed, l) {
			t.Fatalf("the provider needs %v, which lacks %s: was another provider installed?", needed, l)
		}
	}
	machine, class, _, _, _, err := elfDeps(provider)
	if err != nil {
		t.Fatal(err)
	}
	libmPath, ok := host.resolve("libm.so.6", machine, class, nil, nil)
	if !ok {
		t.Fatal("libm.so.6 not found on this machine")
	}
	// folder links the system libraries the provider needs besides CUDA's
	// (and what they need) into a fresh folder, plus stand-ins for the
	// CUDA libraries in present.
	folder := func(t *testing.T, present ...string) *libSearch {
		dir := t.TempDir()
		var link func(name, from string)
		linked := map[string]bool{}
		link = func(name, from string) {
			if linked[name] {
				return
			}
			linked[name] = true
			if err := os.Symlink(from, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		queue := slices.Clone(needed)
		for len(queue) > 0 {
			name := queue[0]
			queue = queue[1:]
			if slices.Contains(cudaLibs, name) || linked[name] {
				continue
			}
			p, ok := host.resolve(name, machine, class, nil, nil)
			if !ok {
				t.Fatalf("this machine lacks %s, which the provider needs", name)
			}
			link(name, p)
			if _, _, more, _, _, err := elfDeps(p); err == nil {
				queue = append(queue, more...)
			}
		}
		for _, l := range present {
			link(l, libmPath)
		}
		return &libSearch{defaults: []string{dir}}
	}
	for _, tc := range []struct {
		name    string
		present []string
		want    []string // missing, in the error
		driver  bool     // the error speaks of the driver
	}{
		{"none of CUDA", nil, slices.Clone(cudaLibs), true},
		{"all present", cudaLibs, nil, false},
		{"only the driver missing", slices.Clone(cudaLibs[:4]), []string{"libcuda.so.1"}, true},
		{"cuBLASLt missing", []string{"libcublas.so.13", "libcurand.so.10", "libcudart.so.13", "libcuda.so.1"}, []string{"libcublasLt.so.13"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := folder(t, tc.present...).checkCUDA(provider)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("everything present: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrCUDALibraryMissing) {
				t.Fatalf("error %v, want ErrCUDALibraryMissing", err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range append(slices.Clone(tc.want), "LD_LIBRARY_PATH") {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not name %s", msg, w)
				}
			}
			for _, l := range cudaLibs {
				if !slices.Contains(tc.want, l) && !(tc.driver && l == "libcuda.so.1") && strings.Contains(msg, l+" ") {
					t.Errorf("error %q names %s, which is present", msg, l)
				}
			}
			if strings.Contains(msg, "driver") != tc.driver {
				t.Errorf("error %q: speaks of the driver %v, want %v", msg, !tc.driver, tc.driver)
			}
		})
	}
	// The host's own answer agrees with its search (whichever it is).
	if err := CheckCUDALibraries(provider); err != nil && !errors.Is(err, ErrCUDALibraryMissing) {
		t.Errorf("on this machine: %v", err)
	}
}

// TestMissingLibrariesFollowsDependencies: a library found is searched
// for what it needs in turn, and a library built for another machine does not count.
func TestMissingLibrariesFollowsDependencies(t *testing.T) {
	host := hostLibSearch()
	// A library for another machine does not count.
	if _, ok := host.resolve("libstdc++.so.6", 0, 0, nil, nil); ok {
		t.Fatal("resolve accepted a library for machine 0")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	machine, class, _, _, _, err := elfDeps(self)
	if err != nil {
		t.Fatal(err)
	}
	std, ok := host.resolve("libstdc++.so.6", machine, class, nil, nil)
	if !ok {
		t.Fatal("libstdc++.so.6 not found on this machine")
	}
	// libstdc++ needs libm and libc, which this machine has.
	missing, err := host.missingLibraries(std)
	if err != nil || len(missing) != 0 {
		t.Errorf("libstdc++ on this machine: missing %v, %v", missing, err)
	}
	// In a folder with only libstdc++ itself, what it needs is missing.
	dir := t.TempDir()
	if err := os.Symlink(std, filepath.Join(dir, "libstdc++.so.6")); err != nil {
		t.Fatal(err)
	}
	only := &libSearch{defaults: []string{dir}}
	missing, err = only.missingLibraries(filepath.Join(dir, "libstdc++.so.6"))
	if err != nil || !slices.Contains(missing, "libc.so.6") {
		t.Errorf("alone: missing %v, %v; want libc.so.6 among them", missing, err)
	}
}
