package bench

import "syscall"

// peakRSS is the process's peak resident set size in bytes (0 when not
// known): getrusage's ru_maxrss, in KiB on Linux.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024
}
