//go:build linux && (amd64 || arm64)

package onnxrt

import (
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// sigaction is the kernel's struct sigaction on linux/amd64 and arm64 (as
// Go's runtime declares it).
type sigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

const (
	saOnStack = 0x08000000
	sigIgn    = 1
)

func rtSigaction(t *testing.T, sig syscall.Signal, act, old *sigaction) {
	t.Helper()
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0); e != 0 {
		t.Fatalf("rt_sigaction(%v): %v", sig, e)
	}
}

// TestSignalGuardRestoresGoHandlers plays the CUDA provider: after the
// guard saved the handlers, native code replaces Go's handler for a
// signal with one lacking SA_ONSTACK (here: ignoring it). restore puts
// Go's back, so the signal reaches signal.Notify again.
func TestSignalGuardRestoresGoHandlers(t *testing.T) {
	sig := syscall.SIGUSR1
	var goHandler sigaction
	rtSigaction(t, sig, nil, &goHandler)
	if goHandler.flags&saOnStack == 0 || goHandler.handler <= sigIgn {
		t.Fatalf("SIGUSR1's handler %+v is not Go's", goHandler)
	}
	var g signalGuard
	if n := g.restore(); n != 0 {
		t.Fatalf("restore before save put back %d handlers", n)
	}
	g.save()
	if n := g.restore(); n != 0 {
		t.Fatalf("nothing replaced, yet restore put back %d handlers", n)
	}
	rtSigaction(t, sig, &sigaction{handler: sigIgn}, nil)
	var now sigaction
	rtSigaction(t, sig, nil, &now)
	if now.handler != sigIgn {
		t.Fatalf("the foreign disposition did not take: %+v", now)
	}
	if n := g.restore(); n != 1 {
		t.Errorf("restore put back %d handlers, want 1", n)
	}
	rtSigaction(t, sig, nil, &now)
	if now.handler != goHandler.handler || now.flags&saOnStack == 0 {
		t.Fatalf("after restore: %+v, want Go's %+v", now, goHandler)
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sig)
	defer signal.Stop(ch)
	if err := syscall.Kill(os.Getpid(), sig); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-ch:
		if got != sig {
			t.Errorf("received %v, want %v", got, sig)
		}
	case <-time.After(time.Minute):
		t.Fatal("SIGUSR1 never reached signal.Notify after the restore")
	}
	// A handler Go installs itself later (with SA_ONSTACK) is left alone.
	if n := g.restore(); n != 0 {
		t.Errorf("a second restore put back %d handlers", n)
	}
}
