// Package slurmtest starts a real single-node Slurm cluster for a test: its
// own munged (own key, socket in a temporary folder), slurmctld and slurmd
// on loopback with unused ports, a slurm.conf of their own (SLURM_CONF), one
// partition on one node with this machine's CPUs and memory. The test then
// submits jobs with the real sbatch and watches them with squeue and
// scontrol (there is no slurmdbd, so no sacct).
//
// Every daemon is a child of the test process, started with a parent-death
// signal (so that a killed test binary takes them along) and stopped in
// t.Cleanup after the cluster's jobs are cancelled. Slurm and munge come from
// Debian's slurm-wlm and munge packages (`make slurm`); a test that needs a
// cluster fails, never skips, when they are missing.
package slurmtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Names in the cluster.
const (
	ClusterName = "bbtest"
	NodeName    = "bbnode"
	Partition   = "test"
)

// MaxArraySize bounds the job arrays the cluster takes (indices up to
// MaxArraySize-1).
const MaxArraySize = 257

// StartTimeout bounds the wait for the node to come up idle.
const StartTimeout = 60 * time.Second

// Cluster is a running single-node Slurm cluster.
type Cluster struct {
	// Dir is the cluster's folder: slurm.conf, state, spool, daemon logs.
	Dir string
	// Conf is the slurm.conf every Slurm command reads (SLURM_CONF).
	Conf string
	// CPUs is the node's CPU count.
	CPUs int

	t       testing.TB
	daemons []*daemon
}

// daemon is one running daemon process.
type daemon struct {
	name string
	cmd  *exec.Cmd
	out  string        // the file of its standard output and error
	log  string        // its log file
	done chan struct{} // closed when it exited
	err  error         // its exit, once done is closed
}

// required are the programs a cluster needs (from Debian's slurm-wlm and
// munge packages).
var required = []string{"munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol", "scancel"}

// lookPath finds a program on PATH or in /usr/sbin, where Debian puts the
// daemons (not on every user's PATH).
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH or in /usr/sbin", name)
}

// Start brings a cluster up and registers its shutdown with t.Cleanup. It
// fails the test (never skips) when Slurm or munge is not installed, or
// when the node does not come up idle within StartTimeout (with the daemon
// logs).
func Start(t testing.TB) *Cluster {
	t.Helper()
	progs := map[string]string{}
	for _, name := range required {
		p, err := lookPath(name)
		if err != nil {
			t.Fatalf("slurmtest: %v: install Slurm and munge with `make slurm` (Debian's slurm-wlm and munge)", err)
		}
		progs[name] = p
	}
	// A short path of our own: munge's socket path must fit in 108 bytes,
	// and t.TempDir's grows with the test's name.
	dir, err := os.MkdirTemp("", "slurmtest-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Dir: dir, Conf: filepath.Join(dir, "slurm.conf"), t: t}
	t.Cleanup(func() {
		c.stop()
		if !t.Failed() {
			os.RemoveAll(dir)
		} else {
			t.Logf("slurmtest: cluster folder kept: %s", dir)
		}
	})
	// munged wants every folder above its socket open to all.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"munge", "state", "spool"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sock"), 0o755); err != nil {
		t.Fatal(err)
	}

	// munge: its own key and socket.
	key := filepath.Join(dir, "munge", "munge.key")
	if out, err := exec.Command(progs["mungekey"], "--create", "--keyfile="+key).CombinedOutput(); err != nil {
		t.Fatalf("slurmtest: mungekey: %v: %s", err, out)
	}
	socket := filepath.Join(dir, "sock", "munge.socket")
	c.spawn("munged", filepath.Join(dir, "munge", "munged.log"), progs["munged"], "--foreground",
		"--socket="+socket, "--key-file="+key,
		"--pid-file="+filepath.Join(dir, "munge", "munged.pid"),
		"--log-file="+filepath.Join(dir, "munge", "munged.log"),
		"--seed-file="+filepath.Join(dir, "munge", "munged.seed"))
	c.waitFor("munged's socket", 10*time.Second, func() (bool, string) {
		_, err := os.Stat(socket)
		return err == nil, fmt.Sprint(err)
	})

	node, err := nodeLine(progs["slurmd"])
	if err != nil {
		t.Fatalf("slurmtest: %v", err)
	}
	c.CPUs = node.cpus
	ports := freePorts(t, 2)
	conf := fmt.Sprintf(confTemplate, ClusterName, ports[0], ports[1], socket,
		filepath.Join(dir, "state"), filepath.Join(dir, "spool"),
		filepath.Join(dir, "slurmctld.pid"), filepath.Join(dir, "slurmd.pid"),
		filepath.Join(dir, "slurmctld.log"), filepath.Join(dir, "slurmd.log"),
		MaxArraySize, filepath.Join(dir, "plugstack.conf"),
		NodeName, node.hardware, Partition, NodeName)
	if err := os.WriteFile(c.Conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plugstack.conf"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c.spawn("slurmctld", filepath.Join(dir, "slurmctld.log"), progs["slurmctld"], "-D", "-i")
	c.spawn("slurmd", filepath.Join(dir, "slurmd.log"), progs["slurmd"], "-D", "-N", NodeName)
	c.waitFor("node "+NodeName+" idle", StartTimeout, func() (bool, string) {
		out, err := c.Command(context.Background(), "sinfo", "-h", "-N", "-n", NodeName, "-o", "%t").CombinedOutput()
		state := strings.TrimSpace(string(out))
		return err == nil && state == "idle", fmt.Sprintf("sinfo: %q (%v)", state, err)
	})
	return c
}

// confTemplate is the cluster's slurm.conf. NoInAddrAny, linuxproc and
// task/none let it run on loopback without cgroups; MinJobAge keeps
// finished jobs visible to scontrol for 10 minutes.
const confTemplate = `# slurm.conf of a slurmtest cluster (internal/slurmtest)
ClusterName=%s
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=%d
SlurmdPort=%d
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=%s
StateSaveLocation=%s
SlurmdSpoolDir=%s
SlurmctldPidFile=%s
SlurmdPidFile=%s
SlurmctldLogFile=%s
SlurmdLogFile=%s
SlurmctldDebug=info
SlurmdDebug=info
CommunicationParameters=NoInAddrAny
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
MaxArraySize=%d
MaxJobCount=2000
MinJobAge=600
MailProg=/bin/true
PlugStackConfig=%s
NodeName=%s NodeAddr=127.0.0.1 NodeHostname=localhost %s State=UNKNOWN
PartitionName=%s Nodes=%s Default=YES MaxTime=INFINITE State=UP
`

// node is this machine as slurmd -C sees it.
type node struct {
	hardware string // CPUs=... Boards=... RealMemory=...
	cpus     int
}

// nodeLine reads this machine's CPUs, topology and memory from slurmd -C,
// so that the node matches what slurmd finds (a node with less than its
// configuration would be drained).
func nodeLine(slurmd string) (node, error) {
	out, err := exec.Command(slurmd, "-C").Output()
	if err != nil {
		return node{}, fmt.Errorf("slurmd -C: %w", err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	var n node
	var keep []string
	for _, f := range strings.Fields(line) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "CPUs":
			n.cpus, _ = strconv.Atoi(v)
			keep = append(keep, f)
		case "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore", "RealMemory":
			keep = append(keep, f)
		}
	}
	if n.cpus < 1 {
		return node{}, fmt.Errorf("slurmd -C gave no CPU count: %q", line)
	}
	n.hardware = strings.Join(keep, " ")
	return n, nil
}

// freePorts picks n unused loopback TCP ports.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("slurmtest: pick a port: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// Env is the environment of a Slurm command for this cluster: this
// process's, with SLURM_CONF set.
func (c *Cluster) Env() []string {
	return append(os.Environ(), "SLURM_CONF="+c.Conf)
}

// Command is a Slurm client command (sbatch, squeue, scontrol, ...) for this
// cluster, run in the cluster's folder.
func (c *Cluster) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	p, err := lookPath(name)
	if err != nil {
		p = name
	}
	cmd := exec.CommandContext(ctx, p, args...)
	cmd.Env = c.Env()
	cmd.Dir = c.Dir
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Sbatch submits a batch job (sbatch --parsable ARGS) from folder dir (the
// jobs' working folder; "" for the cluster's) and returns its job id.
func (c *Cluster) Sbatch(dir string, args ...string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := c.Command(ctx, "sbatch", append([]string{"--parsable"}, args...)...)
	if dir != "" {
		cmd.Dir = dir
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("sbatch %s: %v: %s", strings.Join(args, " "), err, out)
	}
	id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";")
	if _, err := strconv.Atoi(id); err != nil {
		c.t.Fatalf("sbatch %s printed %q, not a job id", strings.Join(args, " "), out)
	}
	return id
}

// Job is one job (or array task) as scontrol shows it.
type Job struct {
	ID          string // JobId
	ArrayJobID  string // ArrayJobId (empty for a job that is no array)
	ArrayTaskID string // ArrayTaskId ("0-3%2" while tasks are pending unsplit)
	Name        string
	State       string // JobState: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, ...
	Reason      string
	ExitCode    string // "0:0"
	Fields      map[string]string
}

// Terminal reports whether the job has finished, one way or another.
func (j Job) Terminal() bool {
	switch j.State {
	case "PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "RESIZING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "":
		return false
	}
	return true
}

// Jobs shows job id (an array's id shows every task) with scontrol.
func (c *Cluster) Jobs(id string) ([]Job, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := c.Command(ctx, "scontrol", "-o", "show", "job", id).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("scontrol show job %s: %v: %s", id, err, bytes.TrimSpace(out))
	}
	var jobs []Job
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		f := map[string]string{}
		for _, kv := range strings.Fields(line) {
			k, v, _ := strings.Cut(kv, "=")
			f[k] = v
		}
		jobs = append(jobs, Job{ID: f["JobId"], ArrayJobID: f["ArrayJobId"], ArrayTaskID: f["ArrayTaskId"],
			Name: f["JobName"], State: f["JobState"], Reason: f["Reason"], ExitCode: f["ExitCode"], Fields: f})
	}
	return jobs, sc.Err()
}

// Wait polls scontrol until every job of ids (and every task of an array)
// is terminal, and returns them; it fails the test after timeout, naming
// the jobs still waiting, with the daemon logs.
func (c *Cluster) Wait(timeout time.Duration, ids ...string) map[string][]Job {
	c.t.Helper()
	var got map[string][]Job
	c.waitFor("jobs "+strings.Join(ids, ","), timeout, func() (bool, string) {
		got = map[string][]Job{}
		var waiting []string
		for _, id := range ids {
			jobs, err := c.Jobs(id)
			if err != nil {
				return false, err.Error()
			}
			got[id] = jobs
			for _, j := range jobs {
				if !j.Terminal() {
					waiting = append(waiting, fmt.Sprintf("%s[%s] %s (%s)", j.ID, j.ArrayTaskID, j.State, j.Reason))
				}
			}
			if len(jobs) == 0 {
				waiting = append(waiting, id+" unknown")
			}
		}
		return len(waiting) == 0, "still waiting: " + strings.Join(waiting, ", ")
	})
	return got
}

// waitFor polls ok every 100ms until it is true; after timeout, or when a
// daemon exited, it fails the test with ok's last word and the daemons'
// logs.
func (c *Cluster) waitFor(what string, timeout time.Duration, ok func() (bool, string)) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		done, why := ok()
		if done {
			return
		}
		for _, d := range c.daemons {
			select {
			case <-d.done:
				c.t.Fatalf("slurmtest: waiting for %s: %s exited (%v)\n%s", what, d.name, d.err, c.Logs())
			default:
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("slurmtest: no %s after %v: %s\n%s", what, timeout, why, c.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Logs is the tail of every daemon's log and output, for a failure message.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, d := range c.daemons {
		fmt.Fprintf(&b, "--- %s (%s)\n", d.name, d.log)
		if data, err := os.ReadFile(d.log); err == nil {
			b.WriteString(tail(string(data), 25))
		}
		if data, err := os.ReadFile(d.out); err == nil && len(data) > 0 && d.log != d.out {
			fmt.Fprintf(&b, "--- %s output\n%s", d.name, tail(string(data), 10))
		}
	}
	return b.String()
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// spawn starts a daemon in the foreground as a child of this process.
func (c *Cluster) spawn(name, log, prog string, args ...string) {
	c.t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Env = c.Env()
	cmd.Dir = c.Dir
	out := filepath.Join(c.Dir, name+".out")
	f, err := os.Create(out)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("slurmtest: start %s: %v", name, err)
	}
	d := &daemon{name: name, cmd: cmd, out: out, log: log, done: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		close(d.done)
	}()
	c.daemons = append(c.daemons, d)
}

// stop cancels the cluster's jobs, waits (bounded) for them to leave, then
// stops the daemons in reverse order: SIGTERM, then SIGKILL after 10s.
func (c *Cluster) stop() {
	if c.running("slurmctld") {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = c.Command(ctx, "scancel", "--user="+strconv.Itoa(os.Getuid())).Run()
		for ctx.Err() == nil {
			out, err := c.Command(ctx, "squeue", "-h", "-o", "%i %T").Output()
			if err != nil || len(bytes.TrimSpace(out)) == 0 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		cancel()
	}
	for i := len(c.daemons) - 1; i >= 0; i-- {
		d := c.daemons[i]
		select {
		case <-d.done:
			continue
		default:
		}
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			c.t.Logf("slurmtest: %s did not stop on SIGTERM: killed", d.name)
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	}
}

// running reports whether the named daemon still runs.
func (c *Cluster) running(name string) bool {
	for _, d := range c.daemons {
		if d.name == name {
			select {
			case <-d.done:
				return false
			default:
				return true
			}
		}
	}
	return false
}
