package onnxpb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/bertbench/bertbench/internal/outfile"
)

// Field numbers from onnx.proto.
const (
	modelIRVersion       = 1
	modelProducerName    = 2
	modelProducerVersion = 3
	modelDocString       = 6
	modelGraph           = 7
	modelOpsetImport     = 8
	modelMetadataProps   = 14

	opsetDomain  = 1
	opsetVersion = 2

	graphNode        = 1
	graphName        = 2
	graphInitializer = 5
	graphInput       = 11
	graphOutput      = 12

	nodeInput     = 1
	nodeOutput    = 2
	nodeName      = 3
	nodeOpType    = 4
	nodeAttribute = 5
	nodeDomain    = 7

	attrName    = 1
	attrF       = 2
	attrI       = 3
	attrS       = 4
	attrT       = 5
	attrFloats  = 7
	attrInts    = 8
	attrStrings = 9
	attrType    = 20

	tensorDims         = 1
	tensorDataType     = 2
	tensorFloatData    = 4
	tensorInt32Data    = 5
	tensorInt64Data    = 7
	tensorName         = 8
	tensorRawData      = 9
	tensorExternalData = 13
	tensorDataLocation = 14

	valueInfoName = 1
	valueInfoType = 2

	typeTensor       = 1
	typeTensorElem   = 1
	typeTensorShape  = 2
	shapeDim         = 1
	dimValue         = 1
	dimParam         = 2
	stringEntryKey   = 1
	stringEntryValue = 2
)

// WriteOptions tunes WriteFile.
type WriteOptions struct {
	// ExternalDataThreshold: when the initializers' data add up to more
	// than this many bytes, they are written to a side file
	// "<model file>.data" (ONNX external data) instead of inside the
	// protobuf, which cannot exceed 2 GiB. Zero means DefaultExternalThreshold;
	// a negative value forces external data.
	ExternalDataThreshold int64
}

// DefaultExternalThreshold keeps a model inline up to 1.8 GiB of weights,
// safely under protobuf's 2 GiB message limit.
const DefaultExternalThreshold = 1800 << 20

// WriteFile writes m to path (and, for large models, its weights to
// path+".data"). Both are written to temporary files first and renamed
// into place once complete (internal/outfile; a symlink's target is
// written), so a failed write never leaves a truncated or mismatched model
// behind, and a model read with ReadFile can be written back over itself.
// WriteFile does not modify m.
func WriteFile(path string, m *Model, opts WriteOptions) error {
	threshold := opts.ExternalDataThreshold
	if threshold == 0 {
		threshold = DefaultExternalThreshold
	}
	var total int64
	for _, t := range m.Graph.Initializers {
		if t == nil {
			return fmt.Errorf("writing ONNX model %s: initializer is nil", path)
		}
		total += t.ByteSize()
	}
	dataPath := path + ".data"
	var ext map[*Tensor]externalRef
	var data *outfile.File
	if threshold < 0 || total > threshold {
		var err error
		if data, err = outfile.Create(dataPath, 0o644); err != nil {
			return fmt.Errorf("writing ONNX model: %w", err)
		}
		defer data.Close()
		if ext, err = writeExternalData(data, filepath.Base(dataPath), m.Graph.Initializers); err != nil {
			return err
		}
	}
	f, err := outfile.Create(path, 0o644)
	if err != nil {
		return fmt.Errorf("writing ONNX model: %w", err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw, m, ext); err != nil {
		return fmt.Errorf("writing ONNX model %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing ONNX model: %w", err)
	}
	if data != nil {
		if err := data.Commit(); err != nil {
			return fmt.Errorf("writing ONNX model: %w", err)
		}
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("writing ONNX model: %w", err)
	}
	if ext == nil {
		if err := os.Remove(dataPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing stale %s: %w", dataPath, err)
		}
	}
	return nil
}

// externalRef says where WriteFile put a tensor's data.
type externalRef struct {
	location string
	offset   int64
	length   int64
}

// minExternalBytes is the smallest tensor moved to external data (as the
// onnx package's size_threshold default).
const minExternalBytes = 1024

// writeExternalData writes every large initializer's data to w (the file
// the model calls location), each at a 4096-byte aligned offset (so ONNX
// Runtime can memory-map it), and says where each tensor went.
func writeExternalData(w io.Writer, location string, ts []*Tensor) (map[*Tensor]externalRef, error) {
	ext := map[*Tensor]externalRef{}
	bw := bufio.NewWriterSize(w, 1<<20)
	var off int64
	var pad [4096]byte
	for _, t := range ts {
		if t.ByteSize() < minExternalBytes {
			continue // small constants (shapes, scalars) stay inline: shape inference reads them
		}
		if rem := off % 4096; rem != 0 {
			n := 4096 - rem
			if _, err := bw.Write(pad[:n]); err != nil {
				return nil, fmt.Errorf("writing external data: %w", err)
			}
			off += n
		}
		data, err := t.Data()
		if err != nil {
			return nil, err
		}
		if _, err := bw.Write(data); err != nil {
			return nil, fmt.Errorf("writing external data: %w", err)
		}
		ext[t] = externalRef{location: location, offset: off, length: int64(len(data))}
		off += int64(len(data))
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("writing external data: %w", err)
	}
	return ext, nil
}

// Write encodes m to w, with every initializer's data inline.
func Write(w io.Writer, m *Model) error { return write(w, m, nil) }

// write encodes m to w; initializers in ext refer to external data.
func write(w io.Writer, m *Model, ext map[*Tensor]externalRef) error {
	var head []byte
	head = protowire.AppendTag(head, modelIRVersion, protowire.VarintType)
	head = protowire.AppendVarint(head, uint64(m.IRVersion))
	head = appendString(head, modelProducerName, m.ProducerName)
	head = appendString(head, modelProducerVersion, m.ProducerVersion)
	head = appendString(head, modelDocString, m.DocString)
	for _, o := range m.Opsets {
		var b []byte
		b = appendString(b, opsetDomain, o.Domain)
		b = protowire.AppendTag(b, opsetVersion, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(o.Version))
		head = appendMessage(head, modelOpsetImport, b)
	}
	keys := make([]string, 0, len(m.Metadata))
	for k := range m.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var b []byte
		b = appendString(b, stringEntryKey, k)
		b = appendString(b, stringEntryValue, m.Metadata[k])
		head = appendMessage(head, modelMetadataProps, b)
	}

	// The graph: small parts encoded up front, initializers streamed.
	var small []byte
	small = appendString(small, graphName, m.Graph.Name)
	for i := range m.Graph.Nodes {
		nb, err := encodeNode(&m.Graph.Nodes[i])
		if err != nil {
			return fmt.Errorf("node %d (%s %q): %w", i, m.Graph.Nodes[i].OpType, m.Graph.Nodes[i].Name, err)
		}
		small = appendMessage(small, graphNode, nb)
	}
	for _, vi := range m.Graph.Inputs {
		small = appendMessage(small, graphInput, encodeValueInfo(vi))
	}
	for _, vi := range m.Graph.Outputs {
		small = appendMessage(small, graphOutput, encodeValueInfo(vi))
	}
	graphSize := uint64(len(small))
	heads := make([][]byte, len(m.Graph.Initializers))
	for i, t := range m.Graph.Initializers {
		if t == nil {
			return fmt.Errorf("initializer %d is nil", i)
		}
		e, isExt := ext[t]
		var ep *externalRef
		if isExt {
			ep = &e
		}
		h := encodeTensorHeader(t, ep)
		heads[i] = h
		size := uint64(len(h))
		if !isExt {
			n := uint64(t.ByteSize())
			size += uint64(protowire.SizeTag(tensorRawData)) + uint64(protowire.SizeBytes(int(n)))
		}
		graphSize += uint64(protowire.SizeTag(graphInitializer)) + uint64(protowire.SizeVarint(size)) + size
	}
	if graphSize > math.MaxInt32 {
		return fmt.Errorf("graph is %d bytes, over protobuf's 2 GiB limit: write its weights as external data", graphSize)
	}
	head = protowire.AppendTag(head, modelGraph, protowire.BytesType)
	head = protowire.AppendVarint(head, graphSize)
	head = append(head, small...)
	if _, err := w.Write(head); err != nil {
		return err
	}
	for i, t := range m.Graph.Initializers {
		h := heads[i]
		size := uint64(len(h))
		var data []byte
		if _, isExt := ext[t]; !isExt {
			var err error
			if data, err = t.Data(); err != nil {
				return err
			}
			size += uint64(protowire.SizeTag(tensorRawData)) + uint64(protowire.SizeBytes(len(data)))
		}
		var b []byte
		b = protowire.AppendTag(b, graphInitializer, protowire.BytesType)
		b = protowire.AppendVarint(b, size)
		b = append(b, h...)
		if data != nil {
			b = protowire.AppendTag(b, tensorRawData, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(len(data)))
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		if data != nil {
			if _, err := w.Write(data); err != nil {
				return err
			}
		}
	}
	return nil
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

func encodeNode(n *Node) ([]byte, error) {
	var b []byte
	for _, in := range n.Inputs {
		b = protowire.AppendTag(b, nodeInput, protowire.BytesType)
		b = protowire.AppendString(b, in) // "" marks an omitted optional input
	}
	for _, out := range n.Outputs {
		b = protowire.AppendTag(b, nodeOutput, protowire.BytesType)
		b = protowire.AppendString(b, out)
	}
	b = appendString(b, nodeName, n.Name)
	b = appendString(b, nodeOpType, n.OpType)
	for i := range n.Attrs {
		ab, err := encodeAttr(&n.Attrs[i])
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", n.Attrs[i].Name, err)
		}
		b = appendMessage(b, nodeAttribute, ab)
	}
	b = appendString(b, nodeDomain, n.Domain)
	return b, nil
}

// encodeAttr encodes an attribute; kinds this package does not model
// (graphs, sparse tensors, lists of tensors) are an error, never written
// empty.
func encodeAttr(a *Attr) ([]byte, error) {
	var b []byte
	b = appendString(b, attrName, a.Name)
	switch a.Type {
	case AttrFloat:
		b = protowire.AppendTag(b, attrF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttrInt:
		b = protowire.AppendTag(b, attrI, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.I))
	case AttrString:
		b = protowire.AppendTag(b, attrS, protowire.BytesType)
		b = protowire.AppendString(b, a.S)
	case AttrTensor:
		if a.T == nil {
			return nil, errors.New("tensor attribute has no tensor")
		}
		data, err := a.T.Data()
		if err != nil {
			return nil, err
		}
		tb := encodeTensorHeader(a.T, nil)
		tb = protowire.AppendTag(tb, tensorRawData, protowire.BytesType)
		tb = protowire.AppendBytes(tb, data)
		b = appendMessage(b, attrT, tb)
	case AttrStrings:
		for _, s := range a.Strings {
			b = protowire.AppendTag(b, attrStrings, protowire.BytesType)
			b = protowire.AppendString(b, s)
		}
	case AttrFloats:
		var p []byte
		for _, f := range a.Floats {
			p = protowire.AppendFixed32(p, math.Float32bits(f))
		}
		b = appendMessage(b, attrFloats, p)
	case AttrInts:
		var p []byte
		for _, v := range a.Ints {
			p = protowire.AppendVarint(p, uint64(v))
		}
		b = appendMessage(b, attrInts, p)
	default:
		return nil, fmt.Errorf("attribute type %d is not supported", a.Type)
	}
	b = protowire.AppendTag(b, attrType, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(a.Type))
	return b, nil
}

// encodeTensorHeader encodes every TensorProto field but raw_data; e, when
// not nil, says where its data lies outside the model.
func encodeTensorHeader(t *Tensor, e *externalRef) []byte {
	var b []byte
	if len(t.Dims) > 0 {
		var p []byte
		for _, d := range t.Dims {
			p = protowire.AppendVarint(p, uint64(d))
		}
		b = appendMessage(b, tensorDims, p)
	}
	b = protowire.AppendTag(b, tensorDataType, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(t.DataType))
	b = appendString(b, tensorName, t.Name)
	if e != nil {
		for _, kv := range [][2]string{
			{"location", e.location},
			{"offset", itoa(e.offset)},
			{"length", itoa(e.length)},
		} {
			var s []byte
			s = appendString(s, stringEntryKey, kv[0])
			s = appendString(s, stringEntryValue, kv[1])
			b = appendMessage(b, tensorExternalData, s)
		}
		b = protowire.AppendTag(b, tensorDataLocation, protowire.VarintType)
		b = protowire.AppendVarint(b, 1) // EXTERNAL
	}
	return b
}

func encodeValueInfo(vi ValueInfo) []byte {
	var tt []byte
	tt = protowire.AppendTag(tt, typeTensorElem, protowire.VarintType)
	tt = protowire.AppendVarint(tt, uint64(vi.ElemType))
	if vi.Shape != nil {
		var shape []byte
		for _, d := range vi.Shape {
			var db []byte
			if d.Param != "" {
				db = appendString(db, dimParam, d.Param)
			} else {
				db = protowire.AppendTag(db, dimValue, protowire.VarintType)
				db = protowire.AppendVarint(db, uint64(d.Value))
			}
			shape = appendMessage(shape, shapeDim, db)
		}
		tt = appendMessage(tt, typeTensorShape, shape)
	}
	var typ []byte
	typ = appendMessage(typ, typeTensor, tt)
	var b []byte
	b = appendString(b, valueInfoName, vi.Name)
	b = appendMessage(b, valueInfoType, typ)
	return b
}
