package onnxrt

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrCUDALibraryMissing is returned when a library the CUDA provider needs
// (cuBLAS, cuBLASLt, cudart, cuRAND of CUDA 13, or the driver's libcuda)
// is not where the dynamic loader would look.
var ErrCUDALibraryMissing = errors.New("CUDA libraries missing")

// libSearch is where the dynamic loader looks for a library by name (see
// ld.so(8)): LD_LIBRARY_PATH, the ld.so.cache, the default folders, and
// each object's own RPATH/RUNPATH.
type libSearch struct {
	ldLibraryPath []string
	cache         map[string][]string // soname → paths
	defaults      []string
}

// hostLibSearch is the search of this process.
func hostLibSearch() *libSearch {
	s := &libSearch{
		// The trusted folders, the multiarch ones of Debian-like systems
		// included (fits skips another machine's libraries).
		defaults: []string{"/lib64", "/usr/lib64", "/lib", "/usr/lib",
			"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu"},
	}
	for _, d := range filepath.SplitList(os.Getenv("LD_LIBRARY_PATH")) {
		if d != "" {
			s.ldLibraryPath = append(s.ldLibraryPath, d)
		}
	}
	if data, err := os.ReadFile("/etc/ld.so.cache"); err == nil {
		s.cache = parseLdCache(data)
	}
	return s
}

// parseLdCache reads the soname → path entries of glibc's ld.so.cache in
// its current format ("glibc-ld.so.cache1.1"); anything else gives none.
func parseLdCache(data []byte) map[string][]string {
	const magic = "glibc-ld.so.cache1.1"
	at := bytes.Index(data, []byte(magic))
	if at < 0 {
		return nil
	}
	d := data[at:]
	const header, entry = 48, 24
	if len(d) < header {
		return nil
	}
	n := int(binary.LittleEndian.Uint32(d[20:]))
	str := func(off uint32) string {
		if int(off) >= len(d) {
			return ""
		}
		s := d[off:]
		if i := bytes.IndexByte(s, 0); i >= 0 {
			s = s[:i]
		}
		return string(s)
	}
	out := map[string][]string{}
	for i := range n {
		e := d[header+i*entry:]
		if len(e) < entry {
			break
		}
		key, val := str(binary.LittleEndian.Uint32(e[4:])), str(binary.LittleEndian.Uint32(e[8:]))
		if key != "" && val != "" {
			out[key] = append(out[key], val)
		}
	}
	return out
}

// elfDeps reads an ELF shared object's machine, DT_NEEDED entries and
// RPATH/RUNPATH folders ($ORIGIN expanded).
func elfDeps(path string) (machine elf.Machine, class elf.Class, needed, rpath, runpath []string, err error) {
	f, err := elf.Open(path)
	if err != nil {
		return 0, 0, nil, nil, nil, err
	}
	defer f.Close()
	if needed, err = f.ImportedLibraries(); err != nil {
		return 0, 0, nil, nil, nil, err
	}
	expand := func(tag elf.DynTag) []string {
		vals, _ := f.DynString(tag)
		var dirs []string
		for _, v := range vals {
			for _, d := range strings.Split(v, ":") {
				d = strings.ReplaceAll(strings.ReplaceAll(d, "${ORIGIN}", "$ORIGIN"), "$ORIGIN", filepath.Dir(path))
				if d != "" {
					dirs = append(dirs, d)
				}
			}
		}
		return dirs
	}
	return f.Machine, f.Class, needed, expand(elf.DT_RPATH), expand(elf.DT_RUNPATH), nil
}

// fits reports whether path is an ELF file for machine and class.
func fits(path string, machine elf.Machine, class elf.Class) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return f.Machine == machine && f.Class == class
}

// resolve finds the library name as the loader would for an object with
// the given RPATH and RUNPATH.
func (s *libSearch) resolve(name string, machine elf.Machine, class elf.Class, rpath, runpath []string) (string, bool) {
	if strings.Contains(name, "/") {
		return name, fits(name, machine, class)
	}
	var dirs []string
	if len(runpath) == 0 {
		dirs = append(dirs, rpath...)
	}
	dirs = append(dirs, s.ldLibraryPath...)
	dirs = append(dirs, runpath...)
	for _, d := range dirs {
		if p := filepath.Join(d, name); fits(p, machine, class) {
			return p, true
		}
	}
	for _, p := range s.cache[name] {
		if fits(p, machine, class) {
			return p, true
		}
	}
	for _, d := range s.defaults {
		if p := filepath.Join(d, name); fits(p, machine, class) {
			return p, true
		}
	}
	return "", false
}

// missingLibraries lists, in the order first met, the libraries that path
// needs (directly or through the libraries it needs) and the loader would
// not find.
func (s *libSearch) missingLibraries(path string) ([]string, error) {
	machine, class, needed, rpath, runpath, err := elfDeps(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var missing []string
	seen := map[string]bool{}
	type obj struct {
		needed, rpath, runpath []string
	}
	queue := []obj{{needed, rpath, runpath}}
	for len(queue) > 0 {
		o := queue[0]
		queue = queue[1:]
		for _, name := range o.needed {
			if seen[name] {
				continue
			}
			seen[name] = true
			p, ok := s.resolve(name, machine, class, o.rpath, o.runpath)
			if !ok {
				missing = append(missing, name)
				continue
			}
			if _, _, n, rp, rn, err := elfDeps(p); err == nil {
				queue = append(queue, obj{n, rp, rn})
			}
		}
	}
	return missing, nil
}

// CheckCUDALibraries reports, as one line wrapping ErrCUDALibraryMissing,
// the libraries the CUDA provider at provider needs that the dynamic
// loader would not find (CUDA 13's cuBLAS, cuBLASLt, cudart and cuRAND,
// and the NVIDIA driver's libcuda), and how to point at them. It reads
// the provider's ELF dependencies and searches as the loader does
// (LD_LIBRARY_PATH, the ld.so.cache, the default folders), without
// loading anything.
func CheckCUDALibraries(provider string) error {
	return hostLibSearch().checkCUDA(provider)
}

func (s *libSearch) checkCUDA(provider string) error {
	missing, err := s.missingLibraries(provider)
	if err != nil {
		return fmt.Errorf("the CUDA provider %s: %w", provider, err)
	}
	if len(missing) == 0 {
		return nil
	}
	var toolkit, driver, other []string
	for _, m := range missing {
		switch {
		case strings.HasPrefix(m, "libcuda.so"):
			driver = append(driver, m)
		case strings.HasPrefix(m, "libcu") || strings.HasPrefix(m, "libnv"):
			toolkit = append(toolkit, m)
		default:
			other = append(other, m)
		}
	}
	var parts []string
	if len(toolkit) > 0 {
		parts = append(parts, list(toolkit)+" (CUDA 13's)")
	}
	if len(driver) > 0 {
		parts = append(parts, list(driver)+" (the NVIDIA driver's)")
	}
	if len(other) > 0 {
		parts = append(parts, list(other))
	}
	hint := "add the folders holding them to LD_LIBRARY_PATH"
	if len(driver) > 0 {
		hint += " (no driver? check nvidia-smi)"
	}
	return fmt.Errorf("%w: the CUDA provider needs %s, not found on the library path: %s", ErrCUDALibraryMissing, list(parts), hint)
}

// list writes names as "a", "a and b", "a, b and c".
func list(names []string) string {
	names = slices.Clone(names)
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
