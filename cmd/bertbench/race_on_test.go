//go:build race

package main

// raceEnabled reports a build with the race detector, whose shadow memory
// moves a process's resident memory with its allocations.
const raceEnabled = true
