package safetensors_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/models/safetensors"
)

func TestToFloat32(t *testing.T) {
	tests := []struct {
		dtype string
		raw   []byte
		want  []float32
	}{
		{"F32", []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}, []float32{1, -2}},
		{"F16", []byte{0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38}, []float32{1, -2, 0.5}},
		{"BF16", []byte{0x80, 0x3f, 0x00, 0xc0}, []float32{1, -2}},
		{"F64", []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}, []float32{1}},
	}
	for _, tc := range tests {
		t.Run(tc.dtype, func(t *testing.T) {
			got, err := safetensors.ToFloat32(tc.raw, tc.dtype)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	if _, err := safetensors.ToFloat32([]byte{1}, "I8"); err == nil {
		t.Error("I8 converted to float")
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	in := []safetensors.Tensor{
		{Name: "a", Shape: []int64{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "b", Shape: []int64{1}, Data: []float32{-7.5}},
	}
	if err := safetensors.WriteFile(path, in); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := strings.Join(f.Names(), ","); got != "a,b" {
		t.Errorf("names %s", got)
	}
	for _, want := range in {
		got, info, err := f.Float32(want.Name)
		if err != nil {
			t.Fatal(err)
		}
		if len(info.Shape) != len(want.Shape) || len(got) != len(want.Data) {
			t.Fatalf("%s: %v %v", want.Name, info.Shape, got)
		}
		for i := range got {
			if got[i] != want.Data[i] {
				t.Errorf("%s[%d] = %v, want %v", want.Name, i, got[i], want.Data[i])
			}
		}
	}
	if err := safetensors.WriteFile(path, []safetensors.Tensor{{Name: "x", Shape: []int64{3}, Data: []float32{1}}}); err == nil {
		t.Error("shape/data mismatch accepted")
	}
}

func TestOpenRejectsBadFiles(t *testing.T) {
	header := func(h string, data int) []byte {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, uint64(len(h)))
		return append(append(b, h...), make([]byte, data)...)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"short", []byte{1, 2}, "too short"},
		{"huge header", append([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, make([]byte, 16)...), "header length"},
		{"bad json", header("{nope", 0), "invalid safetensors header JSON"},
		{"dtype", header(`{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}`, 1), `unsupported dtype "Q4"`},
		{"range", header(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 8), "truncated"},
		{"size", header(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, 8), "want 12"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.safetensors")
			os.WriteFile(path, tc.data, 0o644)
			_, err := safetensors.Open(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestOpenDirShardErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, safetensors.IndexFile), []byte(`{"weight_map":{"a":"../evil.safetensors"}}`), 0o644)
	if _, err := safetensors.OpenDir(dir); err == nil || !strings.Contains(err.Error(), "plain file name") {
		t.Errorf("err = %v", err)
	}
	os.WriteFile(filepath.Join(dir, safetensors.IndexFile), []byte(`{"weight_map":{"a":"s1.safetensors"}}`), 0o644)
	safetensors.WriteFile(filepath.Join(dir, "s1.safetensors"), []safetensors.Tensor{{Name: "b", Shape: []int64{1}, Data: []float32{1}}})
	if _, err := safetensors.OpenDir(dir); err == nil || !strings.Contains(err.Error(), `"a" listed in s1.safetensors but missing`) {
		t.Errorf("err = %v", err)
	}
	if _, err := safetensors.OpenDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no model.safetensors") {
		t.Errorf("err = %v", err)
	}
}
