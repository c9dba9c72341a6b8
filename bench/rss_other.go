//go:build !linux

package bench

// peakRSS is not measured outside Linux (ru_maxrss's unit differs by
// system): 0 means not known.
func peakRSS() int64 { return 0 }
