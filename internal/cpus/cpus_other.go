//go:build !linux

package cpus

import (
	"io/fs"
	"runtime"
)

// affinityCount is runtime.NumCPU where no affinity mask can be read.
func affinityCount() int { return runtime.NumCPU() }

// openHost finds no cgroup files outside Linux.
func openHost(string) (fs.File, error) { return nil, fs.ErrNotExist }
