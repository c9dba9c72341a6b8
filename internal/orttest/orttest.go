// Package orttest holds the test helpers that need ONNX Runtime: loading
// it, and opening encoders that close when the test ends.
//
// Helpers take a testing.TB and fail the test; none skips: a test that
// needs the runtime fails where it is missing (`make ort` installs it).
package orttest

import (
	"testing"

	"github.com/bertbench/bertbench/onnxrt"
)

// Require loads ONNX Runtime (see onnxrt.Load: $BERTBENCH_ORT_LIB, then
// the copy `make setup` installs) and fails the test when it cannot.
func Require(t testing.TB) *onnxrt.Runtime {
	t.Helper()
	rt, err := onnxrt.Load("")
	if err != nil {
		t.Fatalf("ONNX Runtime is needed: run `make ort` or set %s (%v)", onnxrt.EnvVar, err)
	}
	return rt
}

// Encoder opens the encoder at path with opts (the CPU when zero) and
// closes it when the test ends.
func Encoder(t testing.TB, path string, opts onnxrt.EncoderOptions) *onnxrt.Encoder {
	t.Helper()
	e, err := Require(t).NewEncoder(path, opts)
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("closing %s: %v", path, err)
		}
	})
	return e
}
