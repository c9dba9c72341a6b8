// Package safetensors reads and writes the safetensors checkpoint format: an
// 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the raw little-endian data. Sharded
// checkpoints (model.safetensors.index.json) are read as one.
package safetensors

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/x448/float16"

	"github.com/bertbench/bertbench/internal/outfile"
)

// File names of single-file and sharded checkpoints.
const (
	SingleFile = "model.safetensors"
	IndexFile  = "model.safetensors.index.json"
)

// maxHeader bounds the JSON header, to refuse garbage before allocating.
const maxHeader = 100 << 20

// Info describes one tensor.
type Info struct {
	DType string  `json:"dtype"`
	Shape []int64 `json:"shape"`
	// Offsets are the byte range within the data section.
	Offsets [2]int64 `json:"data_offsets"`
}

// NumElements is the product of Shape.
func (i Info) NumElements() int64 {
	n := int64(1)
	for _, d := range i.Shape {
		n *= d
	}
	return n
}

// elemSize gives the byte size of the dtypes this package converts.
func elemSize(dtype string) int64 {
	switch dtype {
	case "F64", "I64":
		return 8
	case "F32", "I32":
		return 4
	case "F16", "BF16", "I16":
		return 2
	case "I8", "U8", "BOOL":
		return 1
	}
	return 0
}

// knownOtherDType lists safetensors dtypes bertbench never converts but
// accepts in a file (e.g. quantisation scales next to the weights it uses).
func knownOtherDType(dtype string) bool {
	switch dtype {
	case "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64":
		return true
	}
	return false
}

// File is one open .safetensors file.
type File struct {
	path    string
	f       *os.File
	dataOff int64
	tensors map[string]Info
}

// Open reads and checks the header of a .safetensors file.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	sf, err := parse(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return sf, nil
}

func parse(path string, f *os.File) (*File, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var lenBuf [8]byte
	if _, err := io.ReadFull(f, lenBuf[:]); err != nil {
		return nil, fmt.Errorf("%s: not a safetensors file (too short: %v)", path, err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxHeader || int64(n) > st.Size()-8 {
		return nil, fmt.Errorf("%s: not a safetensors file (header length %d does not fit a %d-byte file)", path, n, st.Size())
	}
	head := make([]byte, n)
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, fmt.Errorf("%s: reading header: %w", path, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(head, &raw); err != nil {
		return nil, fmt.Errorf("%s: invalid safetensors header JSON: %w", path, err)
	}
	sf := &File{path: path, f: f, dataOff: 8 + int64(n), tensors: make(map[string]Info, len(raw))}
	dataLen := st.Size() - sf.dataOff
	for name, msg := range raw {
		if name == "__metadata__" {
			continue
		}
		var info Info
		if err := json.Unmarshal(msg, &info); err != nil {
			return nil, fmt.Errorf("%s: tensor %q: invalid header entry: %w", path, name, err)
		}
		es := elemSize(info.DType)
		if es == 0 && !knownOtherDType(info.DType) {
			return nil, fmt.Errorf("%s: tensor %q: unsupported dtype %q", path, name, info.DType)
		}
		for _, d := range info.Shape {
			if d < 0 {
				return nil, fmt.Errorf("%s: tensor %q: negative dimension in shape %v", path, name, info.Shape)
			}
		}
		b, e := info.Offsets[0], info.Offsets[1]
		if b < 0 || e < b || e > dataLen {
			return nil, fmt.Errorf("%s: tensor %q: byte range [%d, %d) outside the %d-byte data section (file truncated?)", path, name, b, e, dataLen)
		}
		if es > 0 && e-b != info.NumElements()*es {
			return nil, fmt.Errorf("%s: tensor %q: %d bytes for shape %v of %s (want %d)", path, name, e-b, info.Shape, info.DType, info.NumElements()*es)
		}
		sf.tensors[name] = info
	}
	return sf, nil
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// Names lists the tensors, sorted.
func (f *File) Names() []string {
	out := make([]string, 0, len(f.tensors))
	for n := range f.tensors {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Info returns a tensor's description.
func (f *File) Info(name string) (Info, bool) {
	i, ok := f.tensors[name]
	return i, ok
}

// Raw reads a tensor's bytes as stored.
func (f *File) Raw(name string) ([]byte, Info, error) {
	info, ok := f.tensors[name]
	if !ok {
		return nil, Info{}, fmt.Errorf("%s: no tensor %q", f.path, name)
	}
	buf := make([]byte, info.Offsets[1]-info.Offsets[0])
	if _, err := f.f.ReadAt(buf, f.dataOff+info.Offsets[0]); err != nil {
		return nil, Info{}, fmt.Errorf("%s: reading tensor %q: %w", f.path, name, err)
	}
	return buf, info, nil
}

// Float32 reads a floating-point tensor as float32 values, converting F16,
// BF16 and F64.
func (f *File) Float32(name string) ([]float32, Info, error) {
	raw, info, err := f.Raw(name)
	if err != nil {
		return nil, info, err
	}
	out, err := ToFloat32(raw, info.DType)
	if err != nil {
		return nil, info, fmt.Errorf("%s: tensor %q: %w", f.path, name, err)
	}
	return out, info, nil
}

// ToFloat32 converts little-endian raw data of dtype to float32.
func ToFloat32(raw []byte, dtype string) ([]float32, error) {
	switch dtype {
	case "F32":
		out := make([]float32, len(raw)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return out, nil
	case "F16":
		out := make([]float32, len(raw)/2)
		for i := range out {
			out[i] = float16.Frombits(binary.LittleEndian.Uint16(raw[2*i:])).Float32()
		}
		return out, nil
	case "BF16":
		out := make([]float32, len(raw)/2)
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
		}
		return out, nil
	case "F64":
		out := make([]float32, len(raw)/8)
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
		return out, nil
	}
	return nil, fmt.Errorf("dtype %s is not a floating-point type", dtype)
}

// Checkpoint is a set of tensors from one file or several shards.
type Checkpoint struct {
	files []*File
	where map[string]*File
	// Files lists the files read, relative to the checkpoint folder.
	Files []string
}

// ReadIndex reads a sharded checkpoint's index (model.safetensors.index.json)
// and returns its shard file names, sorted and each once. Every name must
// be a plain file name (no folder), so a hostile index cannot point outside
// the checkpoint folder.
func ReadIndex(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	_, shards, err := parseIndex(path, data)
	return shards, err
}

// parseIndex decodes an index file's weight map and lists its shards.
func parseIndex(path string, data []byte) (map[string]string, []string, error) {
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, nil, fmt.Errorf("%s: invalid JSON: %w", path, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, nil, fmt.Errorf("%s: empty weight_map", path)
	}
	seen := map[string]bool{}
	var shards []string
	for _, shard := range idx.WeightMap {
		if seen[shard] {
			continue
		}
		if shard == "" || filepath.IsAbs(shard) || shard != filepath.Base(shard) || strings.HasPrefix(shard, ".") {
			return nil, nil, fmt.Errorf("%s: shard name %q must be a plain file name", path, shard)
		}
		seen[shard] = true
		shards = append(shards, shard)
	}
	sort.Strings(shards)
	return idx.WeightMap, shards, nil
}

// OpenDir opens the checkpoint in dir: model.safetensors, or the shards
// listed by model.safetensors.index.json. A folder with only PyTorch
// pickles gets an error saying how to convert them.
func OpenDir(dir string) (*Checkpoint, error) {
	single := filepath.Join(dir, SingleFile)
	if _, err := os.Stat(single); err == nil {
		f, err := Open(single)
		if err != nil {
			return nil, err
		}
		return newCheckpoint([]*File{f}, []string{SingleFile}), nil
	}
	index := filepath.Join(dir, IndexFile)
	data, err := os.ReadFile(index)
	if errors.Is(err, os.ErrNotExist) {
		for _, pt := range []string{"pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5", "flax_model.msgpack"} {
			if _, err := os.Stat(filepath.Join(dir, pt)); err == nil {
				return nil, fmt.Errorf("%s: has %s but no %s: bertbench reads only safetensors checkpoints (they cannot run code when loaded); convert it with the Hugging Face \"convert to safetensors\" space or `python -c \"from transformers import AutoModel; AutoModel.from_pretrained('%s').save_pretrained('%s', safe_serialization=True)\"`", dir, pt, SingleFile, dir, dir)
			}
		}
		return nil, fmt.Errorf("%s: no %s or %s", dir, SingleFile, IndexFile)
	}
	if err != nil {
		return nil, err
	}
	weightMap, shardNames, err := parseIndex(index, data)
	if err != nil {
		return nil, err
	}
	byName := map[string]*File{}
	var files []*File
	var names []string
	for _, shard := range shardNames {
		f, err := Open(filepath.Join(dir, shard))
		if err != nil {
			closeAll(files)
			return nil, fmt.Errorf("%s: shard: %w", index, err)
		}
		byName[shard] = f
		files = append(files, f)
		names = append(names, shard)
	}
	c := newCheckpoint(files, append([]string{IndexFile}, names...))
	for tensor, shard := range weightMap {
		if _, ok := byName[shard].tensors[tensor]; !ok {
			c.Close()
			return nil, fmt.Errorf("%s: tensor %q listed in %s but missing from it", index, tensor, shard)
		}
	}
	return c, nil
}

func closeAll(fs []*File) {
	for _, f := range fs {
		f.Close()
	}
}

func newCheckpoint(files []*File, names []string) *Checkpoint {
	c := &Checkpoint{files: files, where: map[string]*File{}, Files: names}
	for _, f := range files {
		for n := range f.tensors {
			c.where[n] = f
		}
	}
	return c
}

// Close closes every file.
func (c *Checkpoint) Close() error {
	var first error
	for _, f := range c.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Names lists every tensor, sorted.
func (c *Checkpoint) Names() []string {
	out := make([]string, 0, len(c.where))
	for n := range c.where {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Info describes a tensor.
func (c *Checkpoint) Info(name string) (Info, bool) {
	f, ok := c.where[name]
	if !ok {
		return Info{}, false
	}
	return f.Info(name)
}

// Raw reads a tensor's bytes as stored.
func (c *Checkpoint) Raw(name string) ([]byte, Info, error) {
	f, ok := c.where[name]
	if !ok {
		return nil, Info{}, fmt.Errorf("checkpoint has no tensor %q", name)
	}
	return f.Raw(name)
}

// Float32 reads a tensor as float32 values.
func (c *Checkpoint) Float32(name string) ([]float32, Info, error) {
	f, ok := c.where[name]
	if !ok {
		return nil, Info{}, fmt.Errorf("checkpoint has no tensor %q", name)
	}
	return f.Float32(name)
}

// Tensor is a named float32 tensor to write.
type Tensor struct {
	Name  string
	Shape []int64
	Data  []float32
}

// WriteFile writes tensors as an F32 safetensors file, in the order given,
// with metadata {"format": "pt"} as transformers writes it, atomically
// (internal/outfile).
func WriteFile(path string, tensors []Tensor) error {
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var off int64
	for _, t := range tensors {
		n := int64(1)
		for _, d := range t.Shape {
			n *= d
		}
		if n != int64(len(t.Data)) {
			return fmt.Errorf("tensor %s: %d values for shape %v", t.Name, len(t.Data), t.Shape)
		}
		header[t.Name] = Info{DType: "F32", Shape: t.Shape, Offsets: [2]int64{off, off + 4*n}}
		off += 4 * n
	}
	head, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(head)%8 != 0 { // align the data section as the reference writer does
		head = append(head, ' ')
	}
	f, err := outfile.Create(path, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(head)))
	w.Write(lenBuf[:])
	w.Write(head)
	buf := make([]byte, 4<<10)
	for _, t := range tensors {
		for i := 0; i < len(t.Data); {
			n := 0
			for ; n+4 <= len(buf) && i < len(t.Data); i++ {
				binary.LittleEndian.PutUint32(buf[n:], math.Float32bits(t.Data[i]))
				n += 4
			}
			if _, err := w.Write(buf[:n]); err != nil {
				return fmt.Errorf("writing %s: %w", path, err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Commit()
}
