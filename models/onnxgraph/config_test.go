package onnxgraph_test

import (
	"strings"
	"testing"

	"github.com/bertbench/bertbench/models/onnxgraph"
)

func TestConfigValidate(t *testing.T) {
	pad := func(v int) *int { return &v }
	base := func() onnxgraph.Config {
		return onnxgraph.Config{ModelType: "bert", HiddenSize: 8, NumHiddenLayers: 2, NumAttentionHeads: 2,
			IntermediateSize: 16, VocabSize: 100, MaxPositionEmbeddings: 16}
	}
	tests := []struct {
		name   string
		modify func(*onnxgraph.Config)
		want   string // "" = valid
	}{
		{"bert", func(*onnxgraph.Config) {}, ""},
		{"unsupported type", func(c *onnxgraph.Config) { c.ModelType = "distilbert" }, `model_type "distilbert" is not supported`},
		{"heads do not divide hidden", func(c *onnxgraph.Config) { c.NumAttentionHeads = 3 }, "not a multiple of num_attention_heads"},
		{"zero layers", func(c *onnxgraph.Config) { c.NumHiddenLayers = 0 }, "num_hidden_layers must be positive"},
		{"tanh gelu", func(c *onnxgraph.Config) { c.HiddenAct = "gelu_new" }, `hidden_act "gelu_new"`},
		{"relative positions", func(c *onnxgraph.Config) { c.PositionEmbeddingType = "relative_key" }, "position_embedding_type"},
		{"pad outside vocab", func(c *onnxgraph.Config) { c.PadTokenID = pad(100) }, "pad_token_id 100 is outside the vocabulary"},
		{"roberta", func(c *onnxgraph.Config) { c.ModelType = "roberta" }, ""},
		{"roberta pad past positions", func(c *onnxgraph.Config) { c.ModelType = "roberta"; c.PadTokenID = pad(20) }, "leaves no positions after padding_idx 20"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.modify(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Errorf("valid config: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
