package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bertbench/bertbench/models/onnxpb"
	"github.com/bertbench/bertbench/onnxrt"
)

// Precisions of the peak's MatMul.
const (
	PeakFP32 = "fp32" // MatMul of float32 [M,K] × [K,N]
	PeakInt8 = "int8" // MatMulInteger of uint8 [M,K] × int8 [K,N] to int32
)

// GEMMSize is a matrix product's shape: [M,K] × [K,N].
type GEMMSize struct{ M, K, N int }

// DefaultGEMMSize is the largest product an mBERT-size encoder runs at
// the CPU's default batch budget: 512 tokens through the feed-forward
// up-projection, [512,768] × [768,3072] (2.4 GFLOP). On a quiet 2-core
// AMD EPYC VM it runs as fast as 2048³ (about 500 GFLOP/s both), and its
// short runs give a best-of more samples on a shared machine.
var DefaultGEMMSize = GEMMSize{512, 768, 3072}

// Ops is the product's arithmetic: 2·M·K·N (a multiply-add is 2).
func (s GEMMSize) Ops() float64 { return 2 * float64(s.M) * float64(s.K) * float64(s.N) }

func (s GEMMSize) String() string { return fmt.Sprintf("%d,%d,%d", s.M, s.K, s.N) }

// ParseGEMMSize reads "M,K,N" (each 1..16384).
func ParseGEMMSize(s string) (GEMMSize, error) {
	f := strings.Split(s, ",")
	if len(f) != 3 {
		return GEMMSize{}, fmt.Errorf("%q: want M,K,N, e.g. 512,768,3072", s)
	}
	var v [3]int
	for i, x := range f {
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil || n < 1 || n > 16384 {
			return GEMMSize{}, fmt.Errorf("%q: %q is not a whole number from 1 to 16384", s, x)
		}
		v[i] = n
	}
	return GEMMSize{v[0], v[1], v[2]}, nil
}

// MatMulModel builds the one-product graph: input "a" [M,K] (float32, or
// uint8 for int8) times the constant weight "b" [K,N] (float32, or int8),
// output "y" [M,N] (float32, or int32). The weight is an initializer, as
// an encoder's are, so that ONNX Runtime packs it once at load.
func MatMulModel(precision string, s GEMMSize, seed uint64) (*onnxpb.Model, error) {
	rng := rand.New(rand.NewPCG(seed, 2))
	var aType, bType, yType onnxpb.DataType
	var op string
	raw := make([]byte, 0, s.K*s.N*4)
	switch precision {
	case PeakFP32:
		aType, bType, yType, op = onnxpb.Float, onnxpb.Float, onnxpb.Float, "MatMul"
		for range s.K * s.N {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(rng.Float32()-0.5))
		}
	case PeakInt8:
		aType, bType, yType, op = onnxpb.Uint8, onnxpb.Int8, onnxpb.Int32, "MatMulInteger"
		for range s.K * s.N {
			raw = append(raw, byte(rng.IntN(255)-127))
		}
	default:
		return nil, fmt.Errorf("precision %q: want %s or %s: %w", precision, PeakFP32, PeakInt8, ErrInvalidInput)
	}
	dims := func(a, b int) []onnxpb.Dim { return []onnxpb.Dim{{Value: int64(a)}, {Value: int64(b)}} }
	return &onnxpb.Model{
		IRVersion:    7,
		Opsets:       []onnxpb.Opset{{Version: 13}},
		ProducerName: "bertbench",
		Graph: onnxpb.Graph{
			Name:         "peak_" + precision,
			Nodes:        []onnxpb.Node{{Name: "product", OpType: op, Inputs: []string{"a", "b"}, Outputs: []string{"y"}}},
			Initializers: []*onnxpb.Tensor{{Name: "b", DataType: bType, Dims: []int64{int64(s.K), int64(s.N)}, Raw: raw}},
			Inputs:       []onnxpb.ValueInfo{{Name: "a", ElemType: aType, Shape: dims(s.M, s.K)}},
			Outputs:      []onnxpb.ValueInfo{{Name: "y", ElemType: yType, Shape: dims(s.M, s.N)}},
		},
	}, nil
}

// PeakOptions say how to measure the practical peak.
type PeakOptions struct {
	// Runtime is the loaded ONNX Runtime.
	Runtime *onnxrt.Runtime
	// Precision is PeakFP32 or PeakInt8; Size the product (zero:
	// DefaultGEMMSize).
	Precision string
	Size      GEMMSize
	// Threads and Spinning are the session's, as the encoder's (0
	// threads: every usable CPU).
	Threads  int
	Spinning bool
	// Warmup runs first, unmeasured (default 2, -1 for none); then runs
	// until MinTime has passed (default 2s) and at least Runs (default 3).
	Warmup, Runs int
	MinTime      time.Duration
}

// Peak is a measured practical peak.
type Peak struct {
	Precision string
	Size      GEMMSize
	Threads   int
	// Runs are the measured runs' wall times, sorted.
	Runs []time.Duration
}

// GOPS is the best run's arithmetic rate in G(FL)OP/s: the practical peak.
func (p *Peak) GOPS() float64 {
	if len(p.Runs) == 0 {
		return 0
	}
	return p.Size.Ops() / p.Runs[0].Seconds() / 1e9
}

// MedianGOPS is the median run's rate.
func (p *Peak) MedianGOPS() float64 {
	if len(p.Runs) == 0 {
		return 0
	}
	return p.Size.Ops() / Percentile(p.Runs, 0.5).Seconds() / 1e9
}

// MeasurePeak builds the MatMul graph (in a temporary folder, removed
// after), runs it through ONNX Runtime with the encoder's session
// settings, times the runs, and checks a few elements of the product.
func MeasurePeak(ctx context.Context, o PeakOptions) (*Peak, error) {
	if o.Runtime == nil {
		return nil, errors.New("bench peak: no ONNX Runtime")
	}
	if o.Size == (GEMMSize{}) {
		o.Size = DefaultGEMMSize
	}
	switch {
	case o.Warmup == 0:
		o.Warmup = 2
	case o.Warmup < 0:
		o.Warmup = 0
	}
	o.Runs = max(o.Runs, 3)
	if o.MinTime <= 0 {
		o.MinTime = 2 * time.Second
	}
	m, err := MatMulModel(o.Precision, o.Size, 1)
	if err != nil {
		return nil, fmt.Errorf("bench peak: %w", err)
	}
	dir, err := os.MkdirTemp("", "bertbench-peak-")
	if err != nil {
		return nil, fmt.Errorf("bench peak: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "matmul.onnx")
	if err := onnxpb.WriteFile(path, m, onnxpb.WriteOptions{}); err != nil {
		return nil, fmt.Errorf("bench peak: %w", err)
	}
	s := o.Size
	in := onnxrt.Tensor{Name: "a", Shape: []int64{int64(s.M), int64(s.K)}}
	out := onnxrt.Tensor{Name: "y", Shape: []int64{int64(s.M), int64(s.N)}}
	rng := rand.New(rand.NewPCG(2, 3))
	if o.Precision == PeakFP32 {
		a := make([]float32, s.M*s.K)
		for i := range a {
			a[i] = rng.Float32() - 0.5
		}
		in.Data, out.Data = a, make([]float32, s.M*s.N)
	} else {
		a := make([]uint8, s.M*s.K)
		for i := range a {
			a[i] = uint8(rng.IntN(256))
		}
		in.Data, out.Data = a, make([]int32, s.M*s.N)
	}
	g, err := o.Runtime.NewGraph(path, []onnxrt.Tensor{in}, []onnxrt.Tensor{out}, onnxrt.GraphOptions{Threads: o.Threads, Spinning: o.Spinning})
	if err != nil {
		return nil, fmt.Errorf("bench peak: %w", err)
	}
	defer g.Close()
	for range o.Warmup {
		if err := g.Run(ctx); err != nil {
			return nil, fmt.Errorf("bench peak: %w", err)
		}
	}
	p := &Peak{Precision: o.Precision, Size: s, Threads: o.Threads}
	begin := time.Now()
	for len(p.Runs) < o.Runs || time.Since(begin) < o.MinTime {
		t := time.Now()
		if err := g.Run(ctx); err != nil {
			return nil, fmt.Errorf("bench peak: %w", err)
		}
		p.Runs = append(p.Runs, time.Since(t))
	}
	slices.Sort(p.Runs)
	if err := checkProduct(s, in.Data, m.Graph.Initializers[0].Raw, out.Data); err != nil {
		return nil, fmt.Errorf("bench peak: %w", err)
	}
	return p, nil
}

// checkProduct recomputes the product's corner elements, so that a
// measured rate is one of real work.
func checkProduct(s GEMMSize, a any, b []byte, y any) error {
	for _, ij := range [][2]int{{0, 0}, {s.M - 1, s.N - 1}, {s.M / 2, s.N / 3}} {
		i, j := ij[0], ij[1]
		switch a := a.(type) {
		case []float32:
			var want float64
			for k := range s.K {
				w := math.Float32frombits(binary.LittleEndian.Uint32(b[4*(k*s.N+j):]))
				want += float64(a[i*s.K+k]) * float64(w)
			}
			if got := float64(y.([]float32)[i*s.N+j]); math.Abs(got-want) > 1e-3*(1+math.Abs(want)) {
				return fmt.Errorf("ONNX Runtime's product is wrong: y[%d,%d] = %v, want %v", i, j, got, want)
			}
		case []uint8:
			var want int32
			for k := range s.K {
				want += int32(a[i*s.K+k]) * int32(int8(b[k*s.N+j]))
			}
			if got := y.([]int32)[i*s.N+j]; got != want {
				return fmt.Errorf("ONNX Runtime's product is wrong: y[%d,%d] = %d, want %d", i, j, got, want)
			}
		}
	}
	return nil
}

// CPUPeak is the theoretical arithmetic peak of the CPUs the process may
// use, from their vector width and clock. It is an estimate: the number
// of FMA pipes (2) and the int8 rate are assumed, not read, and the clock
// is the highest the kernel reports (a VM reports its nominal clock, not
// the boost).
type CPUPeak struct {
	// Model is /proc/cpuinfo's model name; ISA the widest vector
	// extension used ("avx512f", "avx2+fma", "sse").
	Model, ISA string
	// Cores is the CPUs counted; MHz their clock.
	Cores int
	MHz   float64
	// FP32PerCycle and Int8PerCycle are one core's operations per cycle.
	FP32PerCycle, Int8PerCycle int
}

// FP32GFLOPS is Cores × MHz × FP32PerCycle, in GFLOP/s.
func (c CPUPeak) FP32GFLOPS() float64 {
	return float64(c.Cores) * c.MHz / 1000 * float64(c.FP32PerCycle)
}

// Int8GOPS is Cores × MHz × Int8PerCycle, in GOP/s.
func (c CPUPeak) Int8GOPS() float64 { return float64(c.Cores) * c.MHz / 1000 * float64(c.Int8PerCycle) }

// PerCycle returns one core's fp32 FLOPs and int8 operations a cycle for
// the CPU flags (/proc/cpuinfo's), assuming two FMA pipes of the widest
// vector width: avx512f 2 × 16 lanes × 2 = 64 fp32, avx2 with fma 2 × 8
// × 2 = 32; int8 products are 4 times that with VNNI (avx512_vnni, or
// avx_vnni at 256 bits: vpdpbusd does 4 byte products a 32-bit lane),
// twice without (vpmaddubsw and vpmaddwd). Without avx2 and fma: 8 and 16.
func PerCycle(flags []string) (isa string, fp32, int8 int) {
	has := func(f string) bool { return slices.Contains(flags, f) }
	switch {
	case has("avx512f"):
		isa, fp32 = "avx512f", 64
		int8 = 2 * fp32
		if has("avx512_vnni") {
			int8 = 4 * fp32
		}
	case has("avx2") && has("fma"):
		isa, fp32 = "avx2+fma", 32
		int8 = 2 * fp32
		if has("avx_vnni") {
			int8 = 4 * fp32
		}
	default:
		isa, fp32, int8 = "sse", 8, 16
	}
	return isa, fp32, int8
}

// ReadCPUPeak reads the CPU's model, flags and clock from fsys (rooted at
// "/": proc/cpuinfo, and the cpufreq maximum where the kernel has one) for
// cores CPUs (cpus.Usable).
func ReadCPUPeak(fsys fs.FS, cores int) (CPUPeak, error) {
	data, err := fs.ReadFile(fsys, "proc/cpuinfo")
	if err != nil {
		return CPUPeak{}, fmt.Errorf("reading the CPU's flags: %w", err)
	}
	c := CPUPeak{Cores: cores}
	var flags []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case k == "model name" && c.Model == "":
			c.Model = v
		case k == "flags" && flags == nil:
			flags = strings.Fields(v)
		case k == "cpu MHz" && c.MHz == 0:
			c.MHz, _ = strconv.ParseFloat(v, 64)
		}
	}
	if b, err := fs.ReadFile(fsys, "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"); err == nil {
		if khz, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64); err == nil && khz > 0 {
			c.MHz = khz / 1000
		}
	}
	if c.MHz <= 0 {
		return c, errors.New("the CPU's clock is not in /proc/cpuinfo (cpu MHz) nor in cpufreq")
	}
	c.ISA, c.FP32PerCycle, c.Int8PerCycle = PerCycle(flags)
	return c, nil
}

// HostFS is the host's file system, rooted at "/", for ReadCPUPeak.
func HostFS() fs.FS { return os.DirFS("/") }
