package bench

import (
	"fmt"
	"path/filepath"

	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/models/onnxgraph"
)

// EncoderShape is what a BERT-style encoder's arithmetic depends on: the
// hidden size H, the layers run L (those kept, not the checkpoint's) and
// the feed-forward size I. Zero when not known.
type EncoderShape struct {
	Hidden, Layers, Intermediate int
}

// FLOPsPerToken is the encoder's arithmetic for one token of a sentence
// of seq tokens, counting a multiply-add as 2 FLOPs:
//
//	2·(4H² + 2HI)·L  the matrix products: Q, K, V and the attention
//	                 output (4 of H×H), the feed-forward up and down (2 of H×I)
//	+ 4·S·H·L        attention: Q·Kᵀ and the weighted sum of V, each S·H
//	                 multiply-adds per token and layer
//
// Embeddings, layer norms, softmax, GELU and biases (O(H) or O(I) per
// token) are left out. For mBERT cut at layer 9 (H 768, I 3072) that is
// 0.127 GFLOP a token, plus 0.3 MFLOP per 10 tokens of sentence length.
func (s EncoderShape) FLOPsPerToken(seq float64) float64 {
	h, l, i := float64(s.Hidden), float64(s.Layers), float64(s.Intermediate)
	return 2*(4*h*h+2*h*i)*l + 4*seq*h*l
}

// Known reports whether the shape was read.
func (s EncoderShape) Known() bool { return s.Hidden > 0 && s.Layers > 0 && s.Intermediate > 0 }

// ReadEncoderShape reads a model folder's shape: from its manifest (H, I
// and the layer it is cut at, as models import writes them), else H and I
// from its config.json and L from the manifest's layer (config.json's
// num_hidden_layers when the folder has no manifest).
func ReadEncoderShape(m *models.Resolved) (EncoderShape, error) {
	if mf := m.Manifest; mf != nil && mf.HiddenSize > 0 && mf.IntermediateSize > 0 && mf.Layer > 0 {
		return EncoderShape{Hidden: mf.HiddenSize, Layers: mf.Layer, Intermediate: mf.IntermediateSize}, nil
	}
	cfg, err := onnxgraph.ReadConfig(filepath.Join(m.Dir, models.ConfigFile))
	if err != nil {
		return EncoderShape{}, fmt.Errorf("model %s: reading its shape: %w", m.Name, err)
	}
	s := EncoderShape{Hidden: cfg.HiddenSize, Layers: cfg.NumHiddenLayers, Intermediate: cfg.IntermediateSize}
	if m.Manifest != nil && m.Manifest.Layer > 0 {
		s.Layers = m.Manifest.Layer
	}
	return s, nil
}
