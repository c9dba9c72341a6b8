//go:build !unix

package shard

import "time"

// lockPartial has no flock(2) here: runs of one shard at once still write
// files of their own, but cannot tell a live one from an abandoned one.
func lockPartial(string) (func(), error) { return func() {}, nil }

// removeAbandoned cannot tell here whether a run still writes path: it
// leaves every partial file.
func removeAbandoned(string, time.Time) (bool, error) { return false, nil }
