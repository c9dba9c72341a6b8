package cpus

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

func TestUsable(t *testing.T) {
	v2 := func(group, cpuMax string) fstest.MapFS {
		return fstest.MapFS{
			"proc/self/cgroup":                   {Data: []byte("0::" + group + "\n")},
			"sys/fs/cgroup" + group + "/cpu.max": {Data: []byte(cpuMax + "\n")},
		}
	}
	for _, tc := range []struct {
		name     string
		affinity int
		fsys     fstest.MapFS
		want     int
	}{
		{"no cgroup files", 8, fstest.MapFS{}, 8},
		{"v2 without limit", 8, v2("/user.slice/session-1.scope", "max 100000"), 8},
		{"v2 two CPUs", 8, v2("/docker/abc", "200000 100000"), 2},
		{"v2 quota rounds up", 8, v2("/job", "150000 100000"), 2},
		{"v2 quota below one CPU", 8, v2("/job", "20000 100000"), 1},
		{"v2 quota above affinity", 2, v2("/job", "800000 100000"), 2},
		{"v2 limit on a parent", 16, fstest.MapFS{
			"proc/self/cgroup":                               {Data: []byte("0::/slurm/uid_0/job_7/step_0\n")},
			"sys/fs/cgroup/slurm/uid_0/job_7/cpu.max":        {Data: []byte("400000 100000\n")},
			"sys/fs/cgroup/slurm/uid_0/job_7/step_0/cpu.max": {Data: []byte("max 100000\n")},
		}, 4},
		{"v1 quota", 8, fstest.MapFS{
			"proc/self/cgroup": {Data: []byte("12:memory:/x\n4:cpu,cpuacct:/x\n")},
			"sys/fs/cgroup/cpu,cpuacct/x/cpu.cfs_quota_us":  {Data: []byte("300000\n")},
			"sys/fs/cgroup/cpu,cpuacct/x/cpu.cfs_period_us": {Data: []byte("100000\n")},
		}, 3},
		{"v1 unlimited", 8, fstest.MapFS{
			"proc/self/cgroup":                            {Data: []byte("4:cpu,cpuacct:/\n")},
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us":  {Data: []byte("-1\n")},
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": {Data: []byte("100000\n")},
		}, 8},
		{"malformed cpu.max", 4, v2("/job", "lots\n"), 4},
		{"zero affinity counts as one", 0, fstest.MapFS{}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := usable(tc.affinity, tc.fsys); got != tc.want {
				t.Errorf("usable(%d) = %d, want %d", tc.affinity, got, tc.want)
			}
		})
	}
}

// TestUsableFollowsAffinity runs the test binary under taskset with one
// CPU and checks that Usable sees one.
func TestUsableFollowsAffinity(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("affinity masks are read on Linux only")
	}
	if got := Usable(); got < 1 || got > runtime.NumCPU() {
		t.Fatalf("Usable() = %d, want 1..%d", got, runtime.NumCPU())
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		t.Fatalf("taskset (util-linux) is needed for this test: %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(taskset, "-c", "0", exe, "-test.run", "^TestPrintUsable$")
	cmd.Env = append(os.Environ(), "BERTBENCH_CPUS_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "usable=1\n") {
		t.Errorf("under taskset -c 0 the child saw:\n%s", out)
	}
}

// TestPrintUsable prints Usable in TestUsableFollowsAffinity's child.
func TestPrintUsable(t *testing.T) {
	if os.Getenv("BERTBENCH_CPUS_CHILD") == "1" {
		fmt.Println("usable=" + strconv.Itoa(Usable()))
	}
}
