package ollamatest

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"

	"github.com/bertbench/bertbench/runners/gguf"
)

// TinyPEFT writes a random PEFT LoRA adapter folder for the model that
// gguf.WriteTinyLlama writes with cfg — adapter_config.json and
// adapter_model.safetensors, as Hugging Face PEFT saves them — and returns
// the folder. Ollama converts it to GGUF when the adapter is registered.
func TinyPEFT(dir string, cfg gguf.LlamaConfig, seed uint64) (string, error) {
	embd, layers, rank := cfg.Embd, cfg.Layers, 4
	if embd == 0 {
		embd = 16
	}
	if layers == 0 {
		layers = 2
	}
	out := filepath.Join(dir, "tiny-peft")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", fmt.Errorf("ollamatest: %w", err)
	}
	conf, _ := json.Marshal(map[string]any{
		"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": TinyModel,
		"r": rank, "lora_alpha": 2 * rank, "lora_dropout": 0.0, "bias": "none",
		"target_modules": []string{"q_proj", "v_proj"},
	})
	if err := os.WriteFile(filepath.Join(out, "adapter_config.json"), conf, 0o644); err != nil {
		return "", fmt.Errorf("ollamatest: %w", err)
	}
	r := rand.New(rand.NewPCG(seed, 0x70656674))
	tensors := map[string][]int{} // name -> shape (PyTorch order: out, in)
	for i := 0; i < layers; i++ {
		for _, m := range []string{"q_proj", "v_proj"} {
			p := fmt.Sprintf("base_model.model.model.layers.%d.self_attn.%s.", i, m)
			tensors[p+"lora_A.weight"] = []int{rank, embd}
			tensors[p+"lora_B.weight"] = []int{embd, rank}
		}
	}
	if err := writeSafetensors(filepath.Join(out, "adapter_model.safetensors"), tensors, r); err != nil {
		return "", err
	}
	return out, nil
}

// writeSafetensors writes random F32 tensors in the safetensors format: an
// 8-byte little-endian header length, a JSON header, then the data.
func writeSafetensors(path string, shapes map[string][]int, r *rand.Rand) error {
	names := make([]string, 0, len(shapes))
	for n := range shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var data []byte
	for _, n := range names {
		count := 1
		for _, d := range shapes[n] {
			count *= d
		}
		begin := len(data)
		for range count {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(float32(r.NormFloat64())))
		}
		header[n] = map[string]any{"dtype": "F32", "shape": shapes[n], "data_offsets": []int{begin, len(data)}}
	}
	h, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("ollamatest: %w", err)
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	buf := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	buf = append(append(buf, h...), data...)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return fmt.Errorf("ollamatest: %w", err)
	}
	return nil
}
