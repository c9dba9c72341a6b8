package scorer

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/bertbench/bertbench/internal/testkit"
	"github.com/bertbench/bertbench/modelspec"
)

func TestMakeInput(t *testing.T) {
	testkit.RequireORT(t)
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
// output allocated by ONNX Runtime; the result is the same.
func TestEncodeDynamicHidden(t *testing.T) {
	testkit.RequireORT(t)
	path := filepath.Join("..", "testdata", "bertscore", "tiny-roberta", "model.onnx")
	e, err := NewEncoder(path, EncoderOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.hidden != 48 {
		t.Fatalf("hidden %d, want 48 from the graph", e.hidden)
	}
	ids := [][]int32{{0, 100, 200, 2}, {0, 5, 2}}
	want, seq, h, err := e.Encode(context.Background(), ids, 1)
	if err != nil {
		t.Fatal(err)
	}
	e.hidden = 0 // as if the graph left it dynamic
	got, seq2, h2, err := e.Encode(context.Background(), ids, 1)
	if err != nil {
		t.Fatal(err)
	}
	if seq != 4 || seq2 != 4 || h != 48 || h2 != 48 || !slices.Equal(got, want) {
		t.Errorf("dynamic output differs: seq %d/%d hidden %d/%d", seq, seq2, h, h2)
	}
}
