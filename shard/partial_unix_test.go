//go:build unix

package shard

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRemoveAbandoned: a partial file whose writer holds its lock stays,
// as does one created a moment ago (its writer locks it next); one that
// nobody locks and that was written to, or is old, is a killed run's and
// goes.
func TestRemoveAbandoned(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	for _, tc := range []struct {
		name    string
		data    string
		age     time.Duration
		locked  bool
		removed bool
	}{
		{"written, locked", "{}", time.Hour, true, false},
		{"empty, locked", "", time.Hour, true, false},
		{"empty, just made", "", 0, false, false},
		{"empty, old", "", time.Hour, false, true},
		{"written, unlocked", "{}", 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, PartialFile(0)+tc.name)
			if err := os.WriteFile(path, []byte(tc.data), 0o644); err != nil {
				t.Fatal(err)
			}
			at := now.Add(-tc.age)
			if err := os.Chtimes(path, at, at); err != nil {
				t.Fatal(err)
			}
			if tc.locked {
				release, err := lockPartial(path)
				if err != nil {
					t.Fatal(err)
				}
				defer release()
			}
			removed, err := removeAbandoned(path, now)
			_, statErr := os.Stat(path)
			if err != nil || removed != tc.removed || (statErr == nil) == tc.removed {
				t.Errorf("removeAbandoned: %v, %v; the file is there: %v; want removed %v", removed, err, statErr == nil, tc.removed)
			}
		})
	}
}
