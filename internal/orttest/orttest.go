// Package orttest holds the test helpers that need ONNX Runtime: loading
// it, and opening encoders that close when the test ends.
//
// Helpers take a testing.TB and fail the test; none skips: a test that
// needs the runtime fails where it is missing (`make ort` installs it).
package orttest

import (
	"os"
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

// DeviceEnv names the environment variable that moves the parity tests
// (the golden scores, the shared-session test) to another device:
// BERTBENCH_TEST_DEVICE=cuda runs them on the GPU, so the same
// expectations hold per device. Unset, they run on the CPU.
const DeviceEnv = "BERTBENCH_TEST_DEVICE"

// Device is the device the parity tests run on ($BERTBENCH_TEST_DEVICE,
// the CPU by default); a malformed value fails the test.
func Device(t testing.TB) onnxrt.Device {
	t.Helper()
	d, err := onnxrt.ParseDevice(os.Getenv(DeviceEnv))
	if err != nil {
		t.Fatalf("$%s: %v", DeviceEnv, err)
	}
	return d
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
