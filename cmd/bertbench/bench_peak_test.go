package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBenchPeakJSON: bench peak runs the product through the real ONNX
// Runtime in both precisions and prints one object with the peak beside
// the theoretical estimate.
func TestBenchPeakJSON(t *testing.T) {
	for _, prec := range []string{"fp32", "int8"} {
		code, stdout, stderr := runCLI(t, "", "bench", "peak", "--precision", prec, "--size", "64,128,32", "--threads", "1", "--min-time", "10ms", "-f", "json")
		if code != exitOK || strings.Count(stdout, "\n") != 1 {
			t.Fatalf("%s: exit %d, stdout %q: %s", prec, code, stdout, stderr)
		}
		var o peakJSON
		if err := json.Unmarshal([]byte(stdout), &o); err != nil {
			t.Fatal(err)
		}
		if o.Precision != prec || o.Size != "64,128,32" || o.Runs < 3 || o.PeakGFLOPS <= 0 || o.MedianGFLOPS > o.PeakGFLOPS ||
			o.TheoreticalGFLOPS <= 0 || o.Cores != 1 || o.MHz <= 0 || o.ISA == "" {
			t.Errorf("%s: %+v", prec, o)
		}
	}
	code, stdout, stderr := runCLI(t, "", "bench", "peak", "--size", "64,64,64", "--min-time", "1ms")
	if code != exitOK || !strings.Contains(stdout, "practical peak") || !strings.Contains(stdout, "an estimate") {
		t.Errorf("text: exit %d, %q, %s", code, stdout, stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--precision", "fp16"}, `unknown --precision "fp16"`},
		{[]string{"--size", "1,2"}, "--size"},
		{[]string{"--threads", "-1"}, "--threads must not be negative"},
	} {
		code, stdout, stderr := runCLI(t, "", append([]string{"bench", "peak"}, tc.args...)...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q, %q; want exit 2 with %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
}

// TestBenchScorerPeak: with --peak, bench scorer measures the peak in the
// same run and reports the encoder's fraction of it, from its FLOP count.
func TestBenchScorerPeak(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "bench", "scorer", "--model", fixturePath(t, "tiny-mbert"),
		"--pairs", "10", "--lengths", "5", "--warmup", "0", "--runs", "1", "--threads", "1", "--peak", "--peak-size", "64,64,64", "-f", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var o benchJSON
	if err := json.Unmarshal([]byte(stdout), &o); err != nil {
		t.Fatal(err)
	}
	if o.PeakGFLOPS <= 0 || o.PeakPrecision != "fp32" || o.TheoreticalGFLOPS <= 0 || o.GFLOPPerToken <= 0 || o.EncoderGFLOPS <= 0 {
		t.Errorf("%+v: want a peak, a theoretical peak and the encoder's rate", o)
	}
	if want := o.EncoderGFLOPS / o.PeakGFLOPS; o.FractionOfPeak != want {
		t.Errorf("fraction_of_peak %v, want encoder_gflops / peak_gflops = %v", o.FractionOfPeak, want)
	}
	code, stdout, _ = runCLI(t, "", "bench", "scorer", "--model", fixturePath(t, "tiny-mbert"), "--pairs", "2", "--runs", "1", "-f", "json")
	if code != exitOK || strings.Contains(stdout, "peak_gflops") || !strings.Contains(stdout, `"encoder_gflops"`) {
		t.Errorf("without --peak: exit %d, %q; want encoder_gflops and no peak", code, stdout)
	}
	code, _, stderr = runCLI(t, "", "bench", "scorer", "--peak", "--device", "cuda")
	if code != exitUsage || !strings.Contains(stderr, "--peak measures the CPU's peak") {
		t.Errorf("--peak on CUDA: exit %d, %q", code, stderr)
	}
}
