package scorer_test

import (
	"os/exec"
	"strings"
	"testing"
)

// goList runs `go list` with args in the module and returns its lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed on PATH: %v", err)
	}
	out, err := exec.Command(gobin, append([]string{"list"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// TestScorerDependsOnNoRuntime: the scorer is BERTScore over its own
// interfaces: neither ONNX Runtime (onnxruntime_go, onnxrt) nor the model
// builder and downloader (models) is among its dependencies, and nothing
// it builds on uses cgo.
func TestScorerDependsOnNoRuntime(t *testing.T) {
	deps := goList(t, "-deps", "-f", "{{.ImportPath}} {{len .CgoFiles}}", "github.com/bertbench/bertbench/scorer")
	if len(deps) < 5 {
		t.Fatalf("go list -deps gave %d lines", len(deps))
	}
	for _, line := range deps {
		path, cgo, _ := strings.Cut(line, " ")
		for _, bad := range []string{"github.com/yalue/onnxruntime_go", "github.com/bertbench/bertbench/onnxrt", "github.com/bertbench/bertbench/models", "github.com/bertbench/bertbench/bertscore"} {
			if path == bad || strings.HasPrefix(path, bad+"/") {
				t.Errorf("scorer depends on %s", path)
			}
		}
		if cgo != "0" && path != "runtime/cgo" && !strings.HasPrefix(path, "net") && !strings.HasPrefix(path, "os/user") {
			t.Errorf("scorer depends on %s, which uses cgo", path)
		}
	}
}
