package safetensors_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/bertbench/bertbench/models/safetensors"
)

// FuzzOpen feeds arbitrary bytes as a .safetensors file: Open and reading
// every tensor it accepts must return errors, never panic.
func FuzzOpen(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("..", "..", "testdata", "bertscore", "tiny-roberta", "model.safetensors"))
	if err != nil {
		f.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(seed[:8])
	f.Add(seed[:8+n+64])
	head := `{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"__metadata__":{"format":"pt"}}`
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(head)))
	f.Add(append(append(b, head...), 0, 0x3c, 0, 0xc0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "f.safetensors")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sf, err := safetensors.Open(path)
		if err != nil {
			return
		}
		defer sf.Close()
		for _, name := range sf.Names() {
			info, _ := sf.Info(name)
			if info.NumElements() > 1<<20 {
				continue
			}
			sf.Float32(name)
		}
	})
}
