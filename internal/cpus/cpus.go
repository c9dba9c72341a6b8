// Package cpus tells how many CPUs this process may really use: the CPUs
// of its affinity mask (taskset, cpusets), lowered to its cgroup's CPU
// quota (containers, Slurm, systemd) when one is set. Thread counts that
// users give are checked against it, so that no flag can ask a native
// library for a hundred thousand threads.
package cpus

import (
	"bufio"
	"bytes"
	"io/fs"
	"math"
	"path"
	"strconv"
	"strings"
)

// ThreadsPerCPU is how many threads per usable CPU a thread-count flag may
// ask for at most (MaxThreads).
const ThreadsPerCPU = 4

// Usable returns the number of CPUs this process may run on, at least 1.
func Usable() int {
	return usable(affinityCount(), hostFS{})
}

// MaxThreads is the largest thread count a flag may ask for:
// ThreadsPerCPU × Usable().
func MaxThreads() int { return ThreadsPerCPU * Usable() }

// usable lowers the affinity count to the cgroup quota read from fsys
// (rooted at "/"), rounded up.
func usable(affinity int, fsys fs.FS) int {
	n := max(affinity, 1)
	if q, ok := cgroupQuota(fsys); ok {
		n = min(n, max(int(math.Ceil(q)), 1))
	}
	return n
}

// hostFS reads the host's files (the proc and cgroup pseudo files).
type hostFS struct{}

func (hostFS) Open(name string) (fs.File, error) { return openHost("/" + name) }

// cgroupQuota returns the CPU quota (in CPUs) of the process's cgroup, the
// tightest over it and its parents, from cgroup v2's cpu.max or v1's
// cpu.cfs_quota_us and cpu.cfs_period_us. ok is false when none is set or
// nothing can be read.
func cgroupQuota(fsys fs.FS) (quota float64, ok bool) {
	data, err := fs.ReadFile(fsys, "proc/self/cgroup")
	if err != nil {
		return 0, false
	}
	quota = math.Inf(1)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		fields := strings.SplitN(sc.Text(), ":", 3)
		if len(fields) != 3 {
			continue
		}
		controllers, group := fields[1], fields[2]
		switch {
		case fields[0] == "0" && controllers == "":
			for dir := group; ; dir = path.Dir(dir) {
				if q, found := quotaV2(fsys, path.Join("sys/fs/cgroup", dir)); found {
					quota = min(quota, q)
				}
				if dir == "/" || dir == "." {
					break
				}
			}
		case hasController(controllers, "cpu"):
			for _, mount := range []string{"sys/fs/cgroup/cpu,cpuacct", "sys/fs/cgroup/cpu"} {
				// Inside a container the process's own cgroup is the
				// mount's root; outside it is the path below it.
				for _, dir := range []string{path.Join(mount, group), mount} {
					if q, found := quotaV1(fsys, dir); found {
						quota = min(quota, q)
					}
				}
			}
		}
	}
	if math.IsInf(quota, 1) {
		return 0, false
	}
	return quota, true
}

func hasController(list, name string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// quotaV2 reads dir/cpu.max: "max PERIOD" (no limit) or "QUOTA PERIOD".
func quotaV2(fsys fs.FS, dir string) (float64, bool) {
	data, err := fs.ReadFile(fsys, path.Join(dir, "cpu.max"))
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(data))
	if len(f) != 2 || f[0] == "max" {
		return 0, false
	}
	return ratio(f[0], f[1])
}

// quotaV1 reads dir/cpu.cfs_quota_us (-1: no limit) and cpu.cfs_period_us.
func quotaV1(fsys fs.FS, dir string) (float64, bool) {
	q, err1 := fs.ReadFile(fsys, path.Join(dir, "cpu.cfs_quota_us"))
	p, err2 := fs.ReadFile(fsys, path.Join(dir, "cpu.cfs_period_us"))
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return ratio(strings.TrimSpace(string(q)), strings.TrimSpace(string(p)))
}

// ratio parses quota/period; a non-positive or malformed value is no limit.
func ratio(quota, period string) (float64, bool) {
	q, err1 := strconv.ParseFloat(quota, 64)
	p, err2 := strconv.ParseFloat(period, 64)
	if err1 != nil || err2 != nil || q <= 0 || p <= 0 {
		return 0, false
	}
	return q / p, true
}
