package onnxpb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// ReadFile reads the structure of the ONNX model at path: opsets, nodes,
// graph inputs and outputs, and each initializer's name, type and shape.
// Tensor data is skipped without being held in memory (initializers come
// back with Raw nil), so it is cheap even for multi-gigabyte models.
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
	m, err := Read(bufio.NewReaderSize(f, 1<<16), st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable ONNX model: %w", path, err)
	}
	return m, nil
}

// Read decodes a ModelProto of size bytes from r (see ReadFile).
func Read(r *bufio.Reader, size int64) (*Model, error) {
	d := &decoder{r: r}
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
}

// fields reads a message of size bytes, calling fn for each field. For
// varint fields n is the value; for bytes fields n is the length and fn
// must consume exactly n bytes (or call skip); fixed fields are skipped.
func (d *decoder) fields(size int64, fn func(num protowire.Number, typ protowire.Type, n int64) error) error {
	var read int64
	for read < size {
		tag, tn, err := d.varint()
		if err != nil {
			return err
		}
		read += int64(tn)
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
		case protowire.Fixed32Type:
			if _, err := d.r.Discard(4); err != nil {
				return err
			}
			read += 4
		case protowire.Fixed64Type:
			if _, err := d.r.Discard(8); err != nil {
				return err
			}
			read += 8
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
	if _, err := io.ReadFull(d.r, b); err != nil {
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
	_, err := d.r.Discard(int(n))
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
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

// tensor reads a TensorProto's header fields, skipping its data.
func (d *decoder) tensor(size int64) (*Tensor, error) {
	t := &Tensor{}
	err := d.fields(size, func(num protowire.Number, typ protowire.Type, n int64) error {
		switch {
		case num == tensorDataType && typ == protowire.VarintType:
			t.DataType = DataType(n)
		case num == tensorDims && typ == protowire.VarintType:
			t.Dims = append(t.Dims, n)
		case num == tensorDims && typ == protowire.BytesType:
			b, err := d.bytes(n)
			if err != nil {
				return err
			}
			for len(b) > 0 {
				v, vn := protowire.ConsumeVarint(b)
				if vn < 0 {
					return protowire.ParseError(vn)
				}
				t.Dims = append(t.Dims, int64(v))
				b = b[vn:]
			}
		case num == tensorName && typ == protowire.BytesType:
			b, err := d.bytes(n)
			t.Name = string(b)
			return err
		default:
			return d.skip(typ, n)
		}
		return nil
	})
	return t, err
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

// decodeAttr reads an attribute's name, type and scalar or list value
// (tensor and graph values are left out).
func decodeAttr(b []byte) (Attr, error) {
	var a Attr
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, p []byte) {
		switch num {
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
			if typ == protowire.VarintType {
				a.Ints = append(a.Ints, int64(v))
				return
			}
			for len(p) > 0 {
				x, n := protowire.ConsumeVarint(p)
				if n < 0 {
					return
				}
				a.Ints = append(a.Ints, int64(x))
				p = p[n:]
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
