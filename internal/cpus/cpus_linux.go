package cpus

import (
	"io/fs"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// affinityCount is the number of CPUs in the process's affinity mask.
func affinityCount() int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return runtime.NumCPU()
	}
	return set.Count()
}

func openHost(name string) (fs.File, error) { return os.Open(name) }
