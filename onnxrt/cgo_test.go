package onnxrt

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyCgoPackage: of the module's packages, onnxrt alone uses cgo, and
// it alone imports onnxruntime_go.
func TestOnlyCgoPackage(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed on PATH: %v", err)
	}
	out, err := exec.Command(gobin, "list", "-f", "{{.ImportPath}} {{len .CgoFiles}} {{join .Imports \",\"}}", "github.com/bertbench/bertbench/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 10 {
		t.Fatalf("go list gave %d packages", len(lines))
	}
	for _, line := range lines {
		f := strings.SplitN(line, " ", 3)
		path, cgo, imports := f[0], f[1], ""
		if len(f) == 3 {
			imports = f[2]
		}
		self := path == "github.com/bertbench/bertbench/onnxrt"
		if (cgo != "0") != self {
			t.Errorf("%s: %s cgo files", path, cgo)
		}
		if strings.Contains(imports, "github.com/yalue/onnxruntime_go") != self {
			t.Errorf("%s imports onnxruntime_go: %v", path, !self)
		}
	}
}
