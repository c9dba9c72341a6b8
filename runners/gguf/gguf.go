// Package gguf writes GGUF v3 files, the model format of llama.cpp and
// Ollama, and builds the tiny random llama-architecture model and LoRA
// adapter the runner tests serve through a real Ollama. No registry ships
// a GGUF model small enough for tests, so the tests make their own: a few
// tens of KB of F32 weights that produce deterministic nonsense.
package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Magic is the four bytes a GGUF file starts with.
const Magic = "GGUF"

// alignment is GGUF's default tensor data alignment.
const alignment = 32

// value type tags of the GGUF metadata encoding.
const (
	typeUint32  = 4
	typeInt32   = 5
	typeFloat32 = 6
	typeBool    = 7
	typeString  = 8
	typeArray   = 9
	typeUint64  = 10
)

// tensor type tag for 32-bit floats.
const ggmlTypeF32 = 0

// KV is one metadata entry. Value must be a string, uint32, int32,
// float32, bool, uint64, []string, []float32 or []int32.
type KV struct {
	Key   string
	Value any
}

// Tensor is one F32 tensor. Dims are in GGML order: Dims[0] is the
// fastest-varying (row length), and len(Data) is the product of Dims.
type Tensor struct {
	Name string
	Dims []uint64
	Data []float32
}

// Write encodes a GGUF v3 file with the given metadata and tensors.
func Write(w io.Writer, kvs []KV, tensors []Tensor) error {
	bw := bufio.NewWriter(w)
	e := &encoder{w: bw}
	e.raw([]byte(Magic))
	e.u32(3)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		e.str(kv.Key)
		e.value(kv.Key, kv.Value)
	}
	var offset uint64
	for _, t := range tensors {
		n := uint64(1)
		for _, d := range t.Dims {
			n *= d
		}
		if n != uint64(len(t.Data)) {
			return fmt.Errorf("gguf: tensor %s: dims %v hold %d values, data has %d", t.Name, t.Dims, n, len(t.Data))
		}
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(ggmlTypeF32)
		e.u64(offset)
		offset += pad(n * 4)
	}
	e.pad()
	for _, t := range tensors {
		for _, v := range t.Data {
			e.u32(math.Float32bits(v))
		}
		e.pad()
	}
	if e.err != nil {
		return fmt.Errorf("gguf: %w", e.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	return nil
}

func pad(n uint64) uint64 { return (n + alignment - 1) / alignment * alignment }

type encoder struct {
	w   *bufio.Writer
	n   uint64
	err error
}

func (e *encoder) raw(b []byte) {
	if e.err != nil {
		return
	}
	var n int
	n, e.err = e.w.Write(b)
	e.n += uint64(n)
}

func (e *encoder) u32(v uint32) { e.raw(binary.LittleEndian.AppendUint32(nil, v)) }
func (e *encoder) u64(v uint64) { e.raw(binary.LittleEndian.AppendUint64(nil, v)) }

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	e.raw([]byte(s))
}

func (e *encoder) pad() {
	if p := pad(e.n) - e.n; p > 0 {
		e.raw(make([]byte, p))
	}
}

func (e *encoder) value(key string, v any) {
	switch v := v.(type) {
	case string:
		e.u32(typeString)
		e.str(v)
	case uint32:
		e.u32(typeUint32)
		e.u32(v)
	case int32:
		e.u32(typeInt32)
		e.u32(uint32(v))
	case float32:
		e.u32(typeFloat32)
		e.u32(math.Float32bits(v))
	case bool:
		e.u32(typeBool)
		if v {
			e.raw([]byte{1})
		} else {
			e.raw([]byte{0})
		}
	case uint64:
		e.u32(typeUint64)
		e.u64(v)
	case []string:
		e.u32(typeArray)
		e.u32(typeString)
		e.u64(uint64(len(v)))
		for _, s := range v {
			e.str(s)
		}
	case []float32:
		e.u32(typeArray)
		e.u32(typeFloat32)
		e.u64(uint64(len(v)))
		for _, f := range v {
			e.u32(math.Float32bits(f))
		}
	case []int32:
		e.u32(typeArray)
		e.u32(typeInt32)
		e.u64(uint64(len(v)))
		for _, i := range v {
			e.u32(uint32(i))
		}
	default:
		if e.err == nil {
			e.err = fmt.Errorf("metadata %s: unsupported value type %T", key, v)
		}
	}
}
