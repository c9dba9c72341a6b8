package ortlib

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindExplicitMissing(t *testing.T) {
	_, err := Find(filepath.Join(t.TempDir(), "nope.so"))
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	if !strings.Contains(err.Error(), "make setup") {
		t.Fatalf("error lacks install hint: %v", err)
	}
}

func TestLoadWrongFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	if err := os.WriteFile(bad, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	var r Runtime
	_, err := r.Load(bad)
	if err == nil || !strings.Contains(err.Error(), "make setup") {
		t.Fatalf("want a clear error with install hint, got %v", err)
	}
}

func TestLoadInstalled(t *testing.T) {
	path, err := Load("")
	if err != nil {
		t.Fatalf("the library must be installed for tests (make setup): %v", err)
	}
	if v := Version(); !strings.HasPrefix(v, "1.30") {
		t.Fatalf("loaded %s, version %q, want 1.30.x", path, v)
	}
}
