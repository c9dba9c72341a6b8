package onnxrt

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/bertbench/bertbench/models/onnxpb"
	"github.com/bertbench/bertbench/modelspec"
	"github.com/bertbench/bertbench/scorer"
)

// fixtureModel is the path of a reference fixture's model.onnx.
func fixtureModel(name string) string {
	return filepath.Join("..", "testdata", "bertscore", name, "model.onnx")
}

// requireORT loads ONNX Runtime or fails the test.
func requireORT(t testing.TB) *Runtime {
	t.Helper()
	rt, err := Load("")
	if err != nil {
		t.Fatalf("ONNX Runtime is needed: run `make ort` or set %s (%v)", EnvVar, err)
	}
	return rt
}

// openEncoder opens an encoder closed at the end of the test.
func openEncoder(t testing.TB, path string, opts EncoderOptions) *Encoder {
	t.Helper()
	e, err := requireORT(t).NewEncoder(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestMakeInput(t *testing.T) {
	requireORT(t)
	ids := [][]int32{{101, 7, 8, 102}, {101, 102}}
	shape := ort.NewShape(2, 4)
	want := map[string][]int64{
		modelspec.InputIDs:      {101, 7, 8, 102, 101, 102, 9, 9},
		modelspec.AttentionMask: {1, 1, 1, 1, 1, 1, 0, 0},
		modelspec.TokenTypeIDs:  {0, 0, 0, 0, 0, 0, 0, 0},
	}
	for name, w := range want {
		v, err := makeInput(name, ort.TensorElementDataTypeInt64, shape, ids, 9)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.(*ort.Tensor[int64]).GetData(); !slices.Equal(got, w) {
			t.Errorf("%s int64: %v, want %v", name, got, w)
		}
		v.Destroy()
		v, err = makeInput(name, ort.TensorElementDataTypeInt32, shape, ids, 9)
		if err != nil {
			t.Fatal(err)
		}
		got := v.(*ort.Tensor[int32]).GetData()
		for i := range w {
			if int64(got[i]) != w[i] {
				t.Errorf("%s int32: %v, want %v", name, got, w)
				break
			}
		}
		v.Destroy()
	}
}

// TestEncodeDynamicHidden: a graph whose hidden size is not fixed has its
// output allocated by ONNX Runtime (on the CPU); the result is the same.
func TestEncodeDynamicHidden(t *testing.T) {
	e := openEncoder(t, fixtureModel("tiny-roberta"), EncoderOptions{Threads: 1})
	if e.hidden != 48 {
		t.Fatalf("hidden %d, want 48 from the graph", e.hidden)
	}
	b := scorer.Batch{IDs: [][]int32{{0, 100, 200, 2}, {0, 5, 2}}, Pad: 1}
	want, err := e.Encode(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	e.hidden = 0 // as if the graph left it dynamic
	got, err := e.Encode(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if want.Seq != 4 || got.Seq != 4 || want.Dim != 48 || got.Dim != 48 || !slices.Equal(got.Data, want.Data) {
		t.Errorf("dynamic output differs: seq %d/%d hidden %d/%d", want.Seq, got.Seq, want.Dim, got.Dim)
	}
}

// TestEncoderInfo: the encoder says what it is, from what it loaded: the
// CPU device through the V2 provider path, ONNX Runtime's version, the
// weights' precision and the file's sha256.
func TestEncoderInfo(t *testing.T) {
	path := fixtureModel("tiny-mbert")
	e := openEncoder(t, path, EncoderOptions{Threads: 1})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	info := e.Info()
	want := scorer.EncoderInfo{Runtime: "onnxruntime", RuntimeVersion: ort.GetVersion(), Device: "cpu", Precision: "fp32", WeightsDigest: hex.EncodeToString(sum[:])}
	got := info
	got.LoadTime = 0
	if got != want {
		t.Errorf("info %+v, want %+v", got, want)
	}
	if info.LoadTime <= 0 {
		t.Errorf("load time %v, want it measured", info.LoadTime)
	}
}

// TestEncodeConcurrent: one encoder serves several goroutines at once (as
// it serves several scorers), each getting its own batch's output.
func TestEncodeConcurrent(t *testing.T) {
	e := openEncoder(t, fixtureModel("tiny-mbert"), EncoderOptions{Threads: 1})
	batches := []scorer.Batch{
		{IDs: [][]int32{{2, 100, 200, 3}}},
		{IDs: [][]int32{{2, 7, 3}, {2, 8, 9, 10, 3}}},
		{IDs: [][]int32{{2, 300, 301, 302, 303, 304, 3}}},
	}
	want := make([]scorer.Hidden, len(batches))
	for i, b := range batches {
		h, err := e.Encode(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = h
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range 5 {
				i := (g + r) % len(batches)
				h, err := e.Encode(context.Background(), batches[i])
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.Equal(h.Data, want[i].Data) {
					t.Errorf("goroutine %d: batch %d's output differs from its lone run", g, i)
				}
			}
		}()
	}
	wg.Wait()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Encode(context.Background(), batches[0]); err == nil || !strings.Contains(err.Error(), "after Close") {
		t.Errorf("Encode after Close: %v", err)
	}
}

// TestNewEncoderErrors: unusable files are input errors naming the file.
func TestNewEncoderErrors(t *testing.T) {
	rt := requireORT(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.onnx")
	os.WriteFile(empty, nil, 0o644)
	junk := filepath.Join(dir, "junk.onnx")
	os.WriteFile(junk, []byte("not a protobuf"), 0o644)
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "none.onnx"), "no such file"},
		{dir, "is a folder"},
		{empty, "the file is empty"},
		{junk, "not a loadable ONNX model"},
	} {
		_, err := rt.NewEncoder(tc.path, EncoderOptions{})
		if !errors.Is(err, scorer.ErrInvalidInput) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: %v, want an input error naming it and saying %q", tc.path, err, tc.want)
		}
	}
	if _, err := rt.NewEncoder(fixtureModel("tiny-mbert"), EncoderOptions{Threads: -1}); !errors.Is(err, scorer.ErrInvalidInput) {
		t.Errorf("negative threads: %v", err)
	}
}

// TestCUDAWithoutProvider: asking for CUDA without the provider installed
// fails at once with one line that says `make cuda-ep` installs it, and
// makes no encoder.
func TestCUDAWithoutProvider(t *testing.T) {
	rt := requireORT(t)
	missing := filepath.Join(t.TempDir(), CUDAProviderLib)
	_, err := rt.NewEncoder(fixtureModel("tiny-mbert"), EncoderOptions{Device: Device{Kind: CUDA}, CUDAProvider: missing})
	if !errors.Is(err, ErrCUDAProviderNotFound) || !strings.Contains(err.Error(), "make cuda-ep") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v, want one line with ErrCUDAProviderNotFound and the make target", err)
	}
	if errors.Is(err, scorer.ErrInvalidInput) {
		t.Errorf("a missing provider reads as an input error: %v", err)
	}
	// The provider without its helper library beside it.
	dir := t.TempDir()
	lone := filepath.Join(dir, CUDAProviderLib)
	if err := os.Symlink(cudaProvider(t), lone); err != nil {
		t.Fatal(err)
	}
	_, err = rt.NewEncoder(fixtureModel("tiny-mbert"), EncoderOptions{Device: Device{Kind: CUDA}, CUDAProvider: lone})
	if !errors.Is(err, ErrCUDAProviderNotFound) || !strings.Contains(err.Error(), SharedProviderLib) {
		t.Errorf("provider without %s: %v", SharedProviderLib, err)
	}
}

// TestCUDADevice asks for CUDA with the real provider. Where the CUDA
// libraries are missing (CI) it must fail with one line naming them and
// no CUDA session; where they are there it must give a CUDA encoder that
// says so and agrees with the CPU to 1e-5, or say there is no device.
func TestCUDADevice(t *testing.T) {
	rt := requireORT(t)
	provider := cudaProvider(t)
	path := fixtureModel("tiny-mbert")
	e, err := rt.NewEncoder(path, EncoderOptions{Device: Device{Kind: CUDA}, CUDAProvider: provider})
	libs := CheckCUDALibraries(provider)
	if libs != nil {
		if !errors.Is(err, ErrCUDALibraryMissing) || err.Error() != libs.Error() || strings.Contains(err.Error(), "\n") {
			t.Fatalf("CUDA libraries missing (%v), but NewEncoder said %v", libs, err)
		}
		for _, name := range []string{"libcublas", "LD_LIBRARY_PATH"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not mention %s", err, name)
			}
		}
		t.Logf("no CUDA here, as expected: %v", err)
		return
	}
	if errors.Is(err, ErrNoDevice) {
		t.Logf("the CUDA libraries are here, but no GPU: %v", err)
		return
	}
	if err != nil {
		t.Fatalf("CUDA libraries present, but: %v", err)
	}
	defer e.Close()
	if info := e.Info(); info.Device != "cuda:0" || info.Precision != "fp32" {
		t.Errorf("CUDA encoder says %+v, want device cuda:0, precision fp32", info)
	}
	cpu := openEncoder(t, path, EncoderOptions{Threads: 1})
	b := scorer.Batch{IDs: [][]int32{{2, 100, 200, 3}, {2, 7, 3}}}
	hg, err := e.Encode(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := cpu.Encode(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range hc.Data {
		if d := hc.Data[i] - hg.Data[i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("value %d: cpu %v, cuda %v", i, hc.Data[i], hg.Data[i])
		}
	}
}

// TestWeightsDigestCoversExternalData: a model whose weights lie in an
// external data file is named by those weights too: the digest changes
// with one weight's bytes, though model.onnx does not.
func TestWeightsDigestCoversExternalData(t *testing.T) {
	requireORT(t)
	m, err := onnxpb.ReadFile(fixtureModel("tiny-mbert"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "model.onnx")
	if err := onnxpb.WriteFile(path, m, onnxpb.WriteOptions{ExternalDataThreshold: -1}); err != nil {
		t.Fatal(err)
	}
	ext, err := onnxpb.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	files := ext.ExternalFiles()
	if len(files) != 1 {
		t.Fatalf("external files %v, want one", files)
	}
	before := openEncoder(t, path, EncoderOptions{Threads: 1}).Info().WeightsDigest
	inline := openEncoder(t, fixtureModel("tiny-mbert"), EncoderOptions{Threads: 1}).Info().WeightsDigest
	if before == inline {
		t.Error("the external-data model has the inline model's digest")
	}
	onnx, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, files[0])
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(data, b, 0o644); err != nil {
		t.Fatal(err)
	}
	after := openEncoder(t, path, EncoderOptions{Threads: 1}).Info().WeightsDigest
	if again, _ := os.ReadFile(path); !slices.Equal(again, onnx) {
		t.Fatal("model.onnx changed")
	}
	if after == before {
		t.Error("changing a weight in the external data left the digest as it was")
	}
}

// TestWeightPrecision: a graph multiplying quantised matrices is int8
// even when its float32 embeddings hold more values than its int8
// weights (mBERT's 92M-value vocabulary against 64M quantised values);
// otherwise the type holding the most values names it.
func TestWeightPrecision(t *testing.T) {
	tensor := func(dt onnxpb.DataType, dims ...int64) *onnxpb.Tensor {
		return &onnxpb.Tensor{DataType: dt, Dims: dims}
	}
	tests := []struct {
		name string
		g    onnxpb.Graph
		want string
	}{
		{"fp32", onnxpb.Graph{Initializers: []*onnxpb.Tensor{tensor(onnxpb.Float, 100, 10), tensor(onnxpb.Int64, 4)}}, "fp32"},
		{"fp16", onnxpb.Graph{Initializers: []*onnxpb.Tensor{tensor(onnxpb.Float16, 100, 10), tensor(onnxpb.Float, 2)}}, "fp16"},
		{"int8, fewer values than the float32 embeddings", onnxpb.Graph{
			Nodes:        []onnxpb.Node{{OpType: "DynamicQuantizeLinear"}, {OpType: "MatMulInteger"}},
			Initializers: []*onnxpb.Tensor{tensor(onnxpb.Float, 1000, 10), tensor(onnxpb.Int8, 10, 10)},
		}, "int8"},
		{"ORT's fused int8", onnxpb.Graph{Nodes: []onnxpb.Node{{OpType: "DynamicQuantizeMatMul", Domain: "com.microsoft"}}}, "int8"},
		{"int8 values but float products", onnxpb.Graph{
			Nodes:        []onnxpb.Node{{OpType: "MatMul"}},
			Initializers: []*onnxpb.Tensor{tensor(onnxpb.Float, 1000), tensor(onnxpb.Uint8, 10)},
		}, "fp32"},
		{"no weights", onnxpb.Graph{}, ""},
	}
	for _, tc := range tests {
		if got := weightPrecision(&tc.g); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
