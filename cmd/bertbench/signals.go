package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// interruption is the cause of a context cancelled by a signal.
type interruption struct{ sig os.Signal }

func (i interruption) Error() string { return fmt.Sprintf("interrupted by %v", i.sig) }

// exitCodeForSignal is the conventional status of a process ended by sig:
// 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).
func exitCodeForSignal(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return exitInterrupted
}

// interruptCode is the exit status of a run whose context ctx was
// cancelled: 128 + the signal that did it, else 130.
func interruptCode(ctx context.Context) int {
	if i, ok := context.Cause(ctx).(interruption); ok {
		return exitCodeForSignal(i.sig)
	}
	return exitInterrupted
}

// notifyInterrupt returns a context cancelled, with an interruption as its
// cause, by the first SIGINT or SIGTERM: commands then wind down and keep
// what finished. A second SIGINT or SIGTERM calls exit with 128 + that
// signal at once, whatever the process is doing (a goroutine inside a cgo
// call cannot be stopped, but the process can). stop releases the signals.
func notifyInterrupt(parent context.Context, exit func(code int)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-signals:
			cancel(interruption{sig})
		case <-done:
			return
		}
		select {
		case sig := <-signals:
			exit(exitCodeForSignal(sig))
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(signals)
		select {
		case <-done:
		default:
			close(done)
		}
		cancel(nil)
	}
}
