package bench_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/fstest"
	"time"

	"github.com/bertbench/bertbench/bench"
	"github.com/bertbench/bertbench/internal/fixture"
	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/models"
)

// TestFLOPsPerToken: the formula on mBERT cut at layer 9 (the issue's
// 0.13 GFLOP a token) and on a shape small enough to count by hand.
func TestFLOPsPerToken(t *testing.T) {
	for _, tc := range []struct {
		shape bench.EncoderShape
		seq   float64
		want  float64
	}{
		// 2·(4·768² + 2·768·3072)·9 = 127,401,984; attention 4·40·768·9 = 1,105,920.
		{bench.EncoderShape{Hidden: 768, Layers: 9, Intermediate: 3072}, 40, 127401984 + 1105920},
		{bench.EncoderShape{Hidden: 768, Layers: 9, Intermediate: 3072}, 0, 127401984},
		// H 2, I 4, L 1: 2·(16 + 16) = 64; S 3: 4·3·2 = 24.
		{bench.EncoderShape{Hidden: 2, Layers: 1, Intermediate: 4}, 3, 88},
		{bench.EncoderShape{Hidden: 2, Layers: 2, Intermediate: 4}, 3, 176},
	} {
		if got := tc.shape.FLOPsPerToken(tc.seq); got != tc.want {
			t.Errorf("%+v at %v tokens: %v FLOPs, want %v", tc.shape, tc.seq, got, tc.want)
		}
	}
}

func TestReadEncoderShape(t *testing.T) {
	m, err := models.ResolveDir(fixture.Dir(t, "tiny-mbert"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := bench.ReadEncoderShape(m)
	if err != nil || !s.Known() {
		t.Fatalf("%+v, %v", s, err)
	}
	m.Manifest = &models.Manifest{Layer: 1}
	if s2, _ := bench.ReadEncoderShape(m); s2.Layers != 1 || s2.Hidden != s.Hidden {
		t.Errorf("with a manifest cut at layer 1: %+v", s2)
	}
}

func TestPerCycle(t *testing.T) {
	for _, tc := range []struct {
		flags      []string
		isa        string
		fp32, int8 int
	}{
		{[]string{"sse2", "avx", "avx2", "fma"}, "avx2+fma", 32, 64},
		{[]string{"avx2", "fma", "avx_vnni"}, "avx2+fma", 32, 128},
		{[]string{"avx2", "fma", "avx512f"}, "avx512f", 64, 128},
		{[]string{"avx2", "fma", "avx512f", "avx512_vnni"}, "avx512f", 64, 256},
		{[]string{"sse2", "avx2"}, "sse", 8, 16},
	} {
		isa, fp32, int8 := bench.PerCycle(tc.flags)
		if isa != tc.isa || fp32 != tc.fp32 || int8 != tc.int8 {
			t.Errorf("%v: %s %d %d, want %s %d %d", tc.flags, isa, fp32, int8, tc.isa, tc.fp32, tc.int8)
		}
	}
}

func TestReadCPUPeak(t *testing.T) {
	cpuinfo := "processor\t: 0\nmodel name\t: Test CPU\ncpu MHz\t\t: 2500.000\nflags\t\t: fpu avx2 fma\n\nprocessor\t: 1\nmodel name\t: Test CPU\ncpu MHz\t\t: 1200.000\n"
	fsys := fstest.MapFS{"proc/cpuinfo": {Data: []byte(cpuinfo)}}
	c, err := bench.ReadCPUPeak(fsys, 2)
	if err != nil {
		t.Fatal(err)
	}
	if c.Model != "Test CPU" || c.MHz != 2500 || c.ISA != "avx2+fma" || c.FP32GFLOPS() != 160 || c.Int8GOPS() != 320 {
		t.Errorf("%+v: %v GFLOP/s, %v GOP/s; want Test CPU at 2500 MHz, avx2+fma, 160 and 320", c, c.FP32GFLOPS(), c.Int8GOPS())
	}
	fsys["sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"] = &fstest.MapFile{Data: []byte("3000000\n")}
	if c, _ := bench.ReadCPUPeak(fsys, 1); c.MHz != 3000 {
		t.Errorf("cpufreq's maximum: %v MHz, want 3000", c.MHz)
	}
	if _, err := bench.ReadCPUPeak(fstest.MapFS{"proc/cpuinfo": {Data: []byte("flags: avx2\n")}}, 1); err == nil {
		t.Error("no clock: want an error")
	}
	// The host's own (Linux).
	if c, err := bench.ReadCPUPeak(bench.HostFS(), 1); err != nil || c.FP32GFLOPS() <= 0 {
		t.Errorf("this machine: %+v, %v", c, err)
	}
}

func TestParseGEMMSize(t *testing.T) {
	if s, err := bench.ParseGEMMSize("512, 768,3072"); err != nil || s != (bench.GEMMSize{M: 512, K: 768, N: 3072}) || s.Ops() != 2*512*768*3072 {
		t.Errorf("%v, %v", s, err)
	}
	for _, bad := range []string{"", "1,2", "1,2,x", "0,1,1", "1,1,99999"} {
		if _, err := bench.ParseGEMMSize(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

// TestMeasurePeak: the one-MatMul graph, written by our ONNX writer, runs
// through the real ONNX Runtime in both precisions and yields a rate.
func TestMeasurePeak(t *testing.T) {
	rt := orttest.Require(t)
	for _, p := range []string{bench.PeakFP32, bench.PeakInt8} {
		peak, err := bench.MeasurePeak(context.Background(), bench.PeakOptions{
			Runtime: rt, Precision: p, Size: bench.GEMMSize{M: 64, K: 96, N: 32}, Threads: 1, Runs: 3, MinTime: time.Millisecond,
		})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if len(peak.Runs) < 3 || peak.GOPS() <= 0 || math.IsInf(peak.GOPS(), 0) || peak.MedianGOPS() > peak.GOPS() {
			t.Errorf("%s: %d runs, best %v, median %v GOP/s", p, len(peak.Runs), peak.GOPS(), peak.MedianGOPS())
		}
	}
	if _, err := bench.MeasurePeak(context.Background(), bench.PeakOptions{Runtime: rt, Precision: "fp8"}); !errors.Is(err, bench.ErrInvalidInput) {
		t.Errorf("fp8: %v, want ErrInvalidInput", err)
	}
}

// TestReadEncoderShapeFromManifest: an imported model's folder has no
// config.json; its manifest gives the shape.
func TestReadEncoderShapeFromManifest(t *testing.T) {
	m := &models.Resolved{Name: "imported", Dir: t.TempDir(),
		Manifest: &models.Manifest{Layer: 9, HiddenSize: 768, IntermediateSize: 3072}}
	s, err := bench.ReadEncoderShape(m)
	if err != nil || s != (bench.EncoderShape{Hidden: 768, Layers: 9, Intermediate: 3072}) {
		t.Fatalf("%+v, %v; want H 768, L 9, I 3072 from the manifest", s, err)
	}
}
