package ollamatest

import "syscall"

// procAttr puts the server in its own process group and has the kernel
// stop it if the test binary dies (a test timeout) before Close runs.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
