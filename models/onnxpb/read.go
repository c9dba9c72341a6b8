package onnxpb

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// ReadFile reads the ONNX model at path: its header, opsets, metadata,
// nodes (with their attributes, tensor-valued ones included), graph inputs
// and outputs, and each initializer's name, type and shape. Initializer
// data is not held in memory: each initializer comes back with Raw nil and
// a Load that reads its bytes from path (or from its external data file)
// when called, so reading is cheap even for multi-gigabyte models and the
// model can be written back with WriteFile (over path itself too). A Load
// after the file was replaced or changed fails rather than read other bytes.
//
// Fields bertbench has no use for (doc strings of nodes and graphs, graph
// value_info, training info, functions) are dropped; they do not change
// what the model computes.
func ReadFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	d := &decoder{r: bufio.NewReaderSize(f, 1<<16)}
	m, err := d.model(st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable ONNX model: %w", path, err)
	}
	stamps := map[string]os.FileInfo{path: st}
	for _, p := range d.data {
		p.t.Load = p.loader(path, stamps)
	}
	m.external = d.externalFiles()
	return m, nil
}

// Read decodes a ModelProto of size bytes from r (see ReadFile). A stream
// cannot be read twice, so the initializers it returns have no data: their
// Load reports so. Use ReadFile to read a model that will be written again.
func Read(r *bufio.Reader, size int64) (*Model, error) {
	d := &decoder{r: r}
	m, err := d.model(size)
	if err != nil {
		return nil, err
	}
	for _, p := range d.data {
		p.t.Load = p.loader("", nil)
	}
	m.external = d.externalFiles()
	return m, nil
}

// externalFiles lists the external data locations the initializers name,
// each once, in order.
func (d *decoder) externalFiles() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range d.data {
		if loc := p.extern["location"]; p.extern != nil && !seen[loc] {
			seen[loc] = true
			out = append(out, loc)
		}
	}
	return out
}

func (d *decoder) model(size int64) (*Model, error) {
	m := &Model{}
	err := d.fields(size, func(num protowire.Number, typ protowire.Type, n int64) error {
		switch {
		case num == modelGraph && typ == protowire.BytesType:
			return d.graph(n, &m.Graph)
		case num == modelOpsetImport && typ == protowire.BytesType:
			b, err := d.bytes(n)
			if err != nil {
				return err
			}
			var o Opset
			err = eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) {
				switch num {
				case opsetDomain:
					o.Domain = string(b)
				case opsetVersion:
					o.Version = int64(v)
				}
			})
			m.Opsets = append(m.Opsets, o)
			return err
		case num == modelIRVersion && typ == protowire.VarintType:
			m.IRVersion = n
			return nil
		case num == modelProducerName && typ == protowire.BytesType:
			b, err := d.bytes(n)
			m.ProducerName = string(b)
			return err
		case num == modelProducerVersion && typ == protowire.BytesType:
			b, err := d.bytes(n)
			m.ProducerVersion = string(b)
			return err
		case num == modelDocString && typ == protowire.BytesType:
			b, err := d.bytes(n)
			m.DocString = string(b)
			return err
		case num == modelMetadataProps && typ == protowire.BytesType:
			b, err := d.bytes(n)
			if err != nil {
				return err
			}
			k, v, err := decodeStringEntry(b)
			if m.Metadata == nil {
				m.Metadata = map[string]string{}
			}
			m.Metadata[k] = v
			return err
		}
		return d.skip(typ, n)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

type decoder struct {
	r *bufio.Reader
	// off is the number of bytes consumed from r.
	off int64
	// data lists where each initializer's data lies, for its Load.
	data []*dataPlace
}

// dataPlace says where an initializer's data lies: at offset off (length
// n) of the model file, or in an external data file, or, for the typed
// fields (float_data, int64_data, ...), already decoded into the tensor.
type dataPlace struct {
	t       *Tensor
	off, n  int64
	hasRaw  bool
	extern  map[string]string
	inMem   bool
	problem error
}

// loader returns the Load function for a tensor read from path ("" for a
// stream, which cannot be read again). stamps holds each data file's
// FileInfo as it was when the model was read: a Load from a file replaced
// or changed since fails instead of returning other bytes.
func (p *dataPlace) loader(path string, stamps map[string]os.FileInfo) func() ([]byte, error) {
	t := p.t
	switch {
	case p.problem != nil:
		err := p.problem
		return func() ([]byte, error) { return nil, err }
	case p.inMem:
		return nil // t.Raw holds the data
	case p.extern != nil:
		return externalLoader(path, t, p.extern, stamps)
	case !p.hasRaw:
		if t.ByteSize() == 0 {
			return func() ([]byte, error) { return []byte{}, nil }
		}
		return func() ([]byte, error) { return nil, errors.New("the model holds no data for it") }
	case path == "":
		return func() ([]byte, error) {
			return nil, errors.New("its data was skipped: the model was read from a stream (use onnxpb.ReadFile to keep it)")
		}
	}
	off, n, st := p.off, p.n, stamps[path]
	return func() ([]byte, error) { return readAt(path, st, off, n) }
}

// externalLoader reads a tensor stored as ONNX external data, relative to
// the model file's folder.
func externalLoader(path string, t *Tensor, kv map[string]string, stamps map[string]os.FileInfo) func() ([]byte, error) {
	loc := kv["location"]
	if path == "" || loc == "" || filepath.IsAbs(loc) || strings.Contains(filepath.ToSlash(loc), "../") {
		return func() ([]byte, error) {
			return nil, fmt.Errorf("external data location %q cannot be read (it must be a file beside the model)", loc)
		}
	}
	var off, n int64 = 0, t.ByteSize()
	var perr error
	if s, ok := kv["offset"]; ok {
		off, perr = strconv.ParseInt(s, 10, 64)
	}
	if s, ok := kv["length"]; ok && perr == nil {
		n, perr = strconv.ParseInt(s, 10, 64)
	}
	if perr != nil || off < 0 || n < 0 {
		return func() ([]byte, error) {
			return nil, fmt.Errorf("bad external data offset/length %q/%q", kv["offset"], kv["length"])
		}
	}
	file := filepath.Join(filepath.Dir(path), loc)
	st, seen := stamps[file]
	if !seen {
		st, _ = os.Stat(file) // nil when missing: the Load reports it
		stamps[file] = st
	}
	return func() ([]byte, error) { return readAt(file, st, off, n) }
}

// readAt reads n bytes at off of the file at path, which must still be the
// file described by was.
func readAt(path string, was os.FileInfo, off, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	now, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if was == nil || !os.SameFile(was, now) || was.Size() != now.Size() || !was.ModTime().Equal(now.ModTime()) {
		return nil, fmt.Errorf("%s was replaced or changed after the model was read: read it again", path)
	}
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("%s: %d bytes of tensor data at offset %d is too large", path, n, off)
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		return nil, fmt.Errorf("%s: reading %d bytes at offset %d: %w", path, n, off, err)
	}
	return b, nil
}

// fields reads a message of size bytes, calling fn for each field. For
// varint fields n is the value; for fixed32 and fixed64 fields n holds the
// bits; for bytes fields n is the length and fn must consume exactly n
// bytes (or call skip).
func (d *decoder) fields(size int64, fn func(num protowire.Number, typ protowire.Type, n int64) error) error {
	var read int64
	for read < size {
		tag, tn, err := d.varint()
		if err != nil {
			return err
		}
		read += int64(tn)
		start := d.off
		num, typ := protowire.DecodeTag(tag)
		if num <= 0 {
			return errors.New("invalid field number")
		}
		switch typ {
		case protowire.VarintType:
			v, vn, err := d.varint()
			if err != nil {
				return err
			}
			read += int64(vn)
			if err := fn(num, typ, int64(v)); err != nil {
				return err
			}
		case protowire.BytesType:
			l, ln, err := d.varint()
			if err != nil {
				return err
			}
			if l > math.MaxInt64/2 || int64(l) > size-read-int64(ln) {
				return fmt.Errorf("field %d: length %d runs past the end of its message", num, l)
			}
			read += int64(ln) + int64(l)
			if err := fn(num, typ, int64(l)); err != nil {
				return err
			}
			if d.off != start+int64(ln)+int64(l) {
				return fmt.Errorf("field %d: decoder consumed %d of %d bytes", num, d.off-start-int64(ln), l)
			}
		case protowire.Fixed32Type:
			b, err := d.bytes(4)
			if err != nil {
				return err
			}
			read += 4
			if err := fn(num, typ, int64(binary.LittleEndian.Uint32(b))); err != nil {
				return err
			}
		case protowire.Fixed64Type:
			b, err := d.bytes(8)
			if err != nil {
				return err
			}
			read += 8
			if err := fn(num, typ, int64(binary.LittleEndian.Uint64(b))); err != nil {
				return err
			}
		default:
			return fmt.Errorf("field %d: unsupported wire type %d", num, typ)
		}
	}
	if read != size {
		return errors.New("message length mismatch")
	}
	return nil
}

func (d *decoder) varint() (uint64, int, error) {
	var v uint64
	for i := 0; i < 10; i++ {
		c, err := d.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, 0, err
		}
		d.off++
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errors.New("varint overflow")
}

func (d *decoder) bytes(n int64) ([]byte, error) {
	if n > 64<<20 {
		return nil, fmt.Errorf("unexpectedly large field (%d bytes)", n)
	}
	b := make([]byte, n)
	k, err := io.ReadFull(d.r, b)
	d.off += int64(k)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

func (d *decoder) skip(typ protowire.Type, n int64) error {
	if typ != protowire.BytesType {
		return nil
	}
	for n > 0 {
		step := int(min(n, 1<<30))
		k, err := d.r.Discard(step)
		d.off += int64(k)
		n -= int64(k)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

func (d *decoder) graph(size int64, g *Graph) error {
	return d.fields(size, func(num protowire.Number, typ protowire.Type, n int64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case graphInitializer:
			t, err := d.tensor(n)
			if err != nil {
				return fmt.Errorf("initializer %d: %w", len(g.Initializers), err)
			}
			g.Initializers = append(g.Initializers, t)
			return nil
		case graphNode:
			b, err := d.bytes(n)
			if err != nil {
				return err
			}
			node, err := decodeNode(b)
			if err != nil {
				return fmt.Errorf("node %d: %w", len(g.Nodes), err)
			}
			g.Nodes = append(g.Nodes, node)
			return nil
		case graphInput, graphOutput:
			b, err := d.bytes(n)
			if err != nil {
				return err
			}
			vi, err := decodeValueInfo(b)
			if err != nil {
				return err
			}
			if num == graphInput {
				g.Inputs = append(g.Inputs, vi)
			} else {
				g.Outputs = append(g.Outputs, vi)
			}
			return nil
		case graphName:
			b, err := d.bytes(n)
			g.Name = string(b)
			return err
		}
		return d.skip(typ, n)
	})
}

// tensor reads an initializer's TensorProto: its header fields, and where
// its data lies (raw_data is skipped, not read; see dataPlace).
func (d *decoder) tensor(size int64) (*Tensor, error) {
	t := &Tensor{}
	p := &dataPlace{t: t}
	var typed typedData
	err := d.fields(size, func(num protowire.Number, typ protowire.Type, n int64) error {
		if num == tensorRawData && typ == protowire.BytesType {
			p.hasRaw, p.off, p.n = true, d.off, n
			return d.skip(typ, n)
		}
		var b []byte
		if typ == protowire.BytesType {
			switch num {
			case tensorDims, tensorName, tensorExternalData, tensorFloatData, tensorInt32Data, tensorInt64Data, tensorDoubleData, tensorUint64Data:
			default:
				return d.skip(typ, n) // doc_string, segment, string_data, ...
			}
			var err error
			if b, err = d.bytes(n); err != nil {
				return err
			}
		}
		return t.decodeField(num, typ, uint64(n), b, &typed, &p.extern)
	})
	if err != nil {
		return nil, err
	}
	if typed.present {
		p.inMem = true
		if t.Raw, err = typed.raw(t.DataType); err != nil {
			p.inMem, p.problem = false, fmt.Errorf("tensor %s: %w", t.Name, err)
		}
	}
	d.data = append(d.data, p)
	return t, nil
}

// decodeTensor decodes a small in-memory TensorProto (an attribute value)
// with its data.
func decodeTensor(b []byte) (*Tensor, error) {
	t := &Tensor{}
	var typed typedData
	var extern map[string]string
	var fieldErr error
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, p []byte) {
		if num == tensorRawData && typ == protowire.BytesType {
			t.Raw = append([]byte{}, p...)
			return
		}
		if err := t.decodeField(num, typ, v, p, &typed, &extern); err != nil && fieldErr == nil {
			fieldErr = err
		}
	})
	if err == nil {
		err = fieldErr
	}
	if err == nil && extern != nil {
		err = fmt.Errorf("tensor %s: external data in an attribute is not supported", t.Name)
	}
	if err == nil && typed.present {
		t.Raw, err = typed.raw(t.DataType)
	}
	if t.Raw == nil && err == nil {
		t.Raw = []byte{}
	}
	return t, err
}

// typedData collects a TensorProto's typed data fields (float_data,
// int32_data, int64_data, double_data, uint64_data).
type typedData struct {
	present bool
	ints    []uint64 // int32_data, int64_data, uint64_data (varints)
	bits    []uint64 // float_data (32-bit), double_data (64-bit)
}

const (
	tensorDoubleData = 10
	tensorUint64Data = 11
)

// raw encodes the typed values as little-endian raw data of type dt.
func (td *typedData) raw(dt DataType) ([]byte, error) {
	size := dt.Size()
	if size == 0 {
		return nil, fmt.Errorf("element type %s is not supported", dt)
	}
	vals := td.ints
	if len(td.bits) > 0 {
		vals = td.bits
	}
	out := make([]byte, len(vals)*size)
	for i, v := range vals {
		switch size {
		case 1:
			out[i] = byte(v)
		case 2:
			binary.LittleEndian.PutUint16(out[2*i:], uint16(v))
		case 4:
			binary.LittleEndian.PutUint32(out[4*i:], uint32(v))
		case 8:
			binary.LittleEndian.PutUint64(out[8*i:], v)
		}
	}
	return out, nil
}

// decodeField reads one TensorProto field other than raw_data into t.
func (t *Tensor) decodeField(num protowire.Number, typ protowire.Type, v uint64, b []byte, typed *typedData, extern *map[string]string) error {
	switch num {
	case tensorDataType:
		t.DataType = DataType(v)
	case tensorDims:
		return appendVarints(&t.Dims, typ, v, b)
	case tensorName:
		t.Name = string(b)
	case tensorExternalData:
		k, val, err := decodeStringEntry(b)
		if *extern == nil {
			*extern = map[string]string{}
		}
		(*extern)[k] = val
		return err
	case tensorInt32Data, tensorInt64Data, tensorUint64Data:
		typed.present = true
		var vals []int64
		if err := appendVarints(&vals, typ, v, b); err != nil {
			return err
		}
		for _, x := range vals {
			typed.ints = append(typed.ints, uint64(x))
		}
	case tensorFloatData, tensorDoubleData:
		typed.present = true
		width := 4
		if num == tensorDoubleData {
			width = 8
		}
		if typ != protowire.BytesType {
			typed.bits = append(typed.bits, v)
			return nil
		}
		if len(b)%width != 0 {
			return fmt.Errorf("tensor %s: packed data of %d bytes is not a multiple of %d", t.Name, len(b), width)
		}
		for ; len(b) > 0; b = b[width:] {
			if width == 4 {
				typed.bits = append(typed.bits, uint64(binary.LittleEndian.Uint32(b)))
			} else {
				typed.bits = append(typed.bits, binary.LittleEndian.Uint64(b))
			}
		}
	}
	return nil
}

// appendVarints appends a repeated varint field, packed or not.
func appendVarints(dst *[]int64, typ protowire.Type, v uint64, b []byte) error {
	if typ == protowire.VarintType {
		*dst = append(*dst, int64(v))
		return nil
	}
	for len(b) > 0 {
		x, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		*dst = append(*dst, int64(x))
		b = b[n:]
	}
	return nil
}

// decodeStringEntry reads a StringStringEntryProto.
func decodeStringEntry(b []byte) (k, v string, err error) {
	err = eachField(b, func(num protowire.Number, _ protowire.Type, _ uint64, p []byte) {
		switch num {
		case stringEntryKey:
			k = string(p)
		case stringEntryValue:
			v = string(p)
		}
	})
	return k, v, err
}

// eachField walks a small in-memory message.
func eachField(b []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, b []byte)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v uint64
		var payload []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			payload, n = protowire.ConsumeBytes(b)
		case protowire.Fixed32Type:
			var x uint32
			x, n = protowire.ConsumeFixed32(b)
			v = uint64(x)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		fn(num, typ, v, payload)
	}
	return nil
}

func decodeNode(b []byte) (Node, error) {
	var n Node
	var attrErr error
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, p []byte) {
		switch num {
		case nodeInput:
			n.Inputs = append(n.Inputs, string(p))
		case nodeOutput:
			n.Outputs = append(n.Outputs, string(p))
		case nodeName:
			n.Name = string(p)
		case nodeOpType:
			n.OpType = string(p)
		case nodeDomain:
			n.Domain = string(p)
		case nodeAttribute:
			a, err := decodeAttr(p)
			if err != nil && attrErr == nil {
				attrErr = err
			}
			n.Attrs = append(n.Attrs, a)
		}
	})
	if err == nil {
		err = attrErr
	}
	return n, err
}

// decodeAttr reads an attribute's name, type and value (graph-valued and
// sparse-tensor attributes keep only their name and type: Write refuses
// them rather than writing them empty).
func decodeAttr(b []byte) (Attr, error) {
	var a Attr
	var tensorErr error // first error in a nested value
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, p []byte) {
		switch num {
		case attrT:
			a.T, tensorErr = decodeTensor(p)
		case attrStrings:
			a.Strings = append(a.Strings, string(p))
		case attrName:
			a.Name = string(p)
		case attrType:
			a.Type = AttrType(v)
		case attrF:
			a.F = math.Float32frombits(uint32(v))
		case attrI:
			a.I = int64(v)
		case attrS:
			a.S = string(p)
		case attrInts:
			if err := appendVarints(&a.Ints, typ, v, p); err != nil && tensorErr == nil {
				tensorErr = err
			}
		case attrFloats:
			if typ == protowire.Fixed32Type {
				a.Floats = append(a.Floats, math.Float32frombits(uint32(v)))
				return
			}
			for len(p) >= 4 {
				x, _ := protowire.ConsumeFixed32(p)
				a.Floats = append(a.Floats, math.Float32frombits(x))
				p = p[4:]
			}
		}
	})
	if err == nil && tensorErr != nil {
		err = fmt.Errorf("attribute %s: %w", a.Name, tensorErr)
	}
	return a, err
}

func decodeValueInfo(b []byte) (ValueInfo, error) {
	var vi ValueInfo
	var inner error
	err := eachField(b, func(num protowire.Number, _ protowire.Type, _ uint64, p []byte) {
		switch num {
		case valueInfoName:
			vi.Name = string(p)
		case valueInfoType:
			inner = eachField(p, func(num protowire.Number, _ protowire.Type, _ uint64, tt []byte) {
				if num != typeTensor {
					return
				}
				inner = eachField(tt, func(num protowire.Number, _ protowire.Type, v uint64, sp []byte) {
					switch num {
					case typeTensorElem:
						vi.ElemType = DataType(v)
					case typeTensorShape:
						vi.Shape = []Dim{}
						inner = eachField(sp, func(num protowire.Number, _ protowire.Type, _ uint64, db []byte) {
							if num != shapeDim {
								return
							}
							var d Dim
							inner = eachField(db, func(num protowire.Number, _ protowire.Type, v uint64, pb []byte) {
								switch num {
								case dimValue:
									d.Value = int64(v)
								case dimParam:
									d.Param = string(pb)
								}
							})
							vi.Shape = append(vi.Shape, d)
						})
					}
				})
			})
		}
	})
	if err == nil {
		err = inner
	}
	return vi, err
}

// OpCounts counts the graph's nodes by op type ("com.microsoft.Attention"
// for ops outside the default domain).
func (g *Graph) OpCounts() map[string]int {
	out := map[string]int{}
	for _, n := range g.Nodes {
		key := n.OpType
		if n.Domain != "" && n.Domain != "ai.onnx" {
			key = n.Domain + "." + n.OpType
		}
		out[key]++
	}
	return out
}
