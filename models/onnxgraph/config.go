// Package onnxgraph builds ONNX encoder graphs for BERT and RoBERTa
// (XLM-RoBERTa) checkpoints, cut after a chosen layer, with the weights
// streamed from a safetensors checkpoint.
//
// The graph has the shape of a classic PyTorch export at opset 12 (QKV as
// MatMul+Add, Reshape/Transpose, MatMul, Div by sqrt(head size), the
// extended attention mask (1-mask)*-10000 added before Softmax, LayerNorm as
// ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add, GELU as
// Div/Erf/Add/Mul/Mul), because that is the pattern ONNX Runtime's own graph
// optimizer recognises and fuses into Attention, LayerNormalization,
// SkipLayerNormalization and (Bias)Gelu when a session is created. -10000
// instead of the float minimum changes nothing for real tokens: exp(-10000)
// is exactly 0 in float32 and float16.
package onnxgraph

import (
	"encoding/json"
	"fmt"
	"os"
)

// Architectures this package builds.
const (
	ArchBERT    = "bert"
	ArchRoBERTa = "roberta"
)

// Config is the part of a Hugging Face config.json that shapes the encoder.
type Config struct {
	// ModelType is config.json's model_type: "bert", "roberta" or
	// "xlm-roberta".
	ModelType             string  `json:"model_type"`
	HiddenSize            int     `json:"hidden_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	IntermediateSize      int     `json:"intermediate_size"`
	VocabSize             int     `json:"vocab_size"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	TypeVocabSize         int     `json:"type_vocab_size"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
	PadTokenID            *int    `json:"pad_token_id"`
	HiddenAct             string  `json:"hidden_act"`
	PositionEmbeddingType string  `json:"position_embedding_type,omitempty"`
}

// Arch maps ModelType to ArchBERT or ArchRoBERTa ("" if unsupported).
func (c *Config) Arch() string {
	switch c.ModelType {
	case "bert":
		return ArchBERT
	case "roberta", "xlm-roberta", "camembert":
		return ArchRoBERTa
	}
	return ""
}

// PadID is the padding token id (RoBERTa's positions start after it).
func (c *Config) PadID() int {
	if c.PadTokenID != nil {
		return *c.PadTokenID
	}
	if c.Arch() == ArchRoBERTa {
		return 1
	}
	return 0
}

// HeadSize is HiddenSize / NumAttentionHeads.
func (c *Config) HeadSize() int { return c.HiddenSize / c.NumAttentionHeads }

// ReadConfig reads and checks a config.json.
func ReadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// Validate checks that the encoder can be built.
func (c *Config) Validate() error {
	if c.Arch() == "" {
		return fmt.Errorf("model_type %q is not supported (bertbench builds bert, roberta and xlm-roberta encoders)", c.ModelType)
	}
	if c.LayerNormEps == 0 {
		c.LayerNormEps = 1e-12
	}
	if c.HiddenAct == "" {
		c.HiddenAct = "gelu"
	}
	if c.HiddenAct != "gelu" {
		return fmt.Errorf("hidden_act %q is not supported (only the exact erf \"gelu\")", c.HiddenAct)
	}
	if c.PositionEmbeddingType != "" && c.PositionEmbeddingType != "absolute" {
		return fmt.Errorf("position_embedding_type %q is not supported (only \"absolute\")", c.PositionEmbeddingType)
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"hidden_size", c.HiddenSize}, {"num_hidden_layers", c.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads}, {"intermediate_size", c.IntermediateSize},
		{"vocab_size", c.VocabSize}, {"max_position_embeddings", c.MaxPositionEmbeddings},
	} {
		if f.v <= 0 {
			return fmt.Errorf("%s must be positive (got %d)", f.name, f.v)
		}
	}
	if c.HiddenSize%c.NumAttentionHeads != 0 {
		return fmt.Errorf("hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	}
	if c.TypeVocabSize <= 0 {
		c.TypeVocabSize = 1
	}
	if pad := c.PadID(); pad < 0 || pad >= c.VocabSize {
		return fmt.Errorf("pad_token_id %d is outside the vocabulary (0..%d)", pad, c.VocabSize-1)
	}
	if c.Arch() == ArchRoBERTa && c.MaxLength() < 1 {
		return fmt.Errorf("max_position_embeddings %d leaves no positions after padding_idx %d (RoBERTa positions start at pad_token_id+1)", c.MaxPositionEmbeddings, c.PadID())
	}
	return nil
}

// MaxLength is the longest input in tokens the position table allows
// (RoBERTa spends padding_idx+1 rows before the first position).
func (c *Config) MaxLength() int {
	if c.Arch() == ArchRoBERTa {
		return c.MaxPositionEmbeddings - c.PadID() - 1
	}
	return c.MaxPositionEmbeddings
}
