//go:build unix

package onnxrt

/*
#include <signal.h>
#include <string.h>

#define BB_NSIG 65

static struct sigaction bb_saved[BB_NSIG];
static int bb_have[BB_NSIG];

// bb_save_signals records every signal's disposition.
static void bb_save_signals(void) {
	for (int s = 1; s < BB_NSIG; s++) {
		bb_have[s] = sigaction(s, NULL, &bb_saved[s]) == 0;
	}
}

static void *bb_handler(const struct sigaction *a) {
	return (a->sa_flags & SA_SIGINFO) ? (void *)a->sa_sigaction : (void *)a->sa_handler;
}

// bb_restore_signals puts back each saved disposition that was Go's (set
// with SA_ONSTACK, as Go's runtime always does) and has since been
// replaced by one without SA_ONSTACK: a handler foreign code installed,
// which Go's runtime cannot run on. It returns how many it put back.
static int bb_restore_signals(void) {
	int n = 0;
	for (int s = 1; s < BB_NSIG; s++) {
		struct sigaction cur;
		if (!bb_have[s] || !(bb_saved[s].sa_flags & SA_ONSTACK) || sigaction(s, NULL, &cur) != 0) {
			continue;
		}
		if ((cur.sa_flags & SA_ONSTACK) || bb_handler(&cur) == bb_handler(&bb_saved[s])) {
			continue;
		}
		if (sigaction(s, &bb_saved[s], NULL) == 0) {
			n++;
		}
	}
	return n;
}
*/
import "C"

import "sync"

// signalGuard keeps Go's signal handlers working around native code that
// replaces them: the CUDA provider installs its own without SA_ONSTACK
// (onnxruntime_go issue #140), after which Ctrl-C would crash the Go
// runtime instead of cancelling the run. save records the handlers before
// such code first runs; restore puts Go's back after it.
type signalGuard struct {
	mu    sync.Mutex
	saved bool
}

// save records the signal dispositions, once.
func (g *signalGuard) save() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.saved {
		C.bb_save_signals()
		g.saved = true
	}
}

// restore puts back Go's handlers that native code replaced since save,
// returning how many.
func (g *signalGuard) restore() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.saved {
		return 0
	}
	return int(C.bb_restore_signals())
}
