package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestLibcPinned fails when the build selects another modernc.org/libc than
// the one modernc.org/sqlite's go.mod requires: the driver is generated
// against that exact version and may break in subtle ways on any other
// (see the "Fragile modernc.org/libc dependency" section of its docs). A
// dependency that asks for a newer libc raises the version silently; this
// test is what notices.
func TestLibcPinned(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-json", "modernc.org/libc", "modernc.org/sqlite").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list -m: %v: %s", err, ee.Stderr)
		}
		t.Fatalf("go list -m (the go command is needed on PATH): %v", err)
	}
	mods := map[string]struct{ Version, GoMod string }{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var m struct{ Path, Version, GoMod string }
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		mods[m.Path] = struct{ Version, GoMod string }{m.Version, m.GoMod}
	}
	libc, sqlite := mods["modernc.org/libc"], mods["modernc.org/sqlite"]
	if libc.Version == "" || sqlite.GoMod == "" {
		t.Fatalf("go list -m did not report both modules: %s", out)
	}
	want := requiredVersion(t, sqlite.GoMod, "modernc.org/libc")
	if libc.Version != want {
		t.Errorf("the build selects modernc.org/libc %s, but modernc.org/sqlite %s requires exactly %s: run `go mod edit -require=modernc.org/libc@%s && go mod tidy`, or move modernc.org/sqlite to a version whose go.mod names %s",
			libc.Version, sqlite.Version, want, want, libc.Version)
	}
}

// requiredVersion reads the version of mod that the go.mod file at path
// requires.
func requiredVersion(t *testing.T, path, mod string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(fields) >= 2 && fields[0] == mod {
			return fields[1]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("%s does not require %s", path, mod)
	return ""
}

func TestRequiredVersion(t *testing.T) {
	path := t.TempDir() + "/go.mod"
	gomod := "module x\n\nrequire modernc.org/mathutil v1.7.1\n\nrequire (\n\tgolang.org/x/sys v0.49.0\n\tmodernc.org/libc v1.80.1 // indirect\n)\n"
	if err := os.WriteFile(path, []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	for mod, want := range map[string]string{"modernc.org/libc": "v1.80.1", "modernc.org/mathutil": "v1.7.1"} {
		if got := requiredVersion(t, path, mod); got != want {
			t.Errorf("%s: %s, want %s", mod, got, want)
		}
	}
}
