package slurmtest

import "syscall"

// sysProcAttr has a daemon killed when the test process dies, so that a
// test binary killed by a timeout leaves no cluster behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
