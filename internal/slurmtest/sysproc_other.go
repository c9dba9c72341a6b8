//go:build !linux

package slurmtest

import "syscall"

// sysProcAttr: no parent-death signal outside Linux (nor Debian's Slurm).
func sysProcAttr() *syscall.SysProcAttr { return nil }
