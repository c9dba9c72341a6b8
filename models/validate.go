package models

import (
	"fmt"
	"path/filepath"

	"github.com/bertbench/bertbench/models/onnxpb"
	"github.com/bertbench/bertbench/modelspec"
)

// Signature is how a model.onnx that fits is fed and what it gives (see
// modelspec.Check), read statically from the file (no ONNX Runtime
// needed).
type Signature = modelspec.Signature

// ValidateONNX reads dir/model.onnx and checks it against the contract the
// scorer relies on (modelspec.Contract: inputs input_ids and
// attention_mask, optionally token_type_ids, int64 or int32 [batch,
// sequence], nothing else; an output last_hidden_state, float32 [batch,
// sequence, hidden]). The one-line error, an input error, lists every
// mismatch. A model that validates is one that the scorer accepts.
func ValidateONNX(dir string) (*Signature, error) {
	path := filepath.Join(dir, ONNXFile)
	m, err := onnxpb.ReadFile(path)
	if err != nil {
		return nil, asInput(err)
	}
	ins, outs := m.Graph.Describe()
	sig, err := modelspec.Check(ins, outs)
	if err != nil {
		return nil, asInput(fmt.Errorf("%s %w", path, err))
	}
	return sig, nil
}
