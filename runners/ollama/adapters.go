package ollama

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/fs/ggml"

	"github.com/bertbench/bertbench/runners"
)

// AdapterRequest registers a fine-tuned model: a base model the server
// already has plus a LoRA adapter.
type AdapterRequest struct {
	// Name is the new model's name, usable as runner spec "ollama:NAME".
	Name string
	// Base is the base model's name on the server, e.g. "llama2:13b".
	Base string
	// Adapter is a GGUF LoRA adapter file, or a PEFT folder holding
	// adapter_config.json and adapter_model.safetensors (Ollama converts
	// it; llama and gemma2 bases only).
	Adapter string
	// System optionally sets the model's system prompt.
	System string
}

// Progress receives status lines from long operations.
type Progress func(status string)

// RegisterAdapter uploads the adapter's files as blobs and creates the
// model through the API's create call. Re-registering a name replaces it.
//
// The adapter is checked first, without the server: a missing file, one
// that is not GGUF, or a GGUF file that is a model rather than an adapter
// (general.type) fails with an error matching runners.ErrInvalidInput, as
// does an adapter for another architecture than the base's. After the
// create call the new model must list the adapter; one that does not is
// removed again and reported the same way, so that a fine-tune never
// silently answers like its base.
func (s *Server) RegisterAdapter(ctx context.Context, req AdapterRequest, progress Progress) (ModelInfo, error) {
	if progress == nil {
		progress = func(string) {}
	}
	if req.Name == "" || req.Base == "" || req.Adapter == "" {
		return ModelInfo{}, runners.InvalidInput(errors.New("ollama: registering an adapter needs a name, a base model and an adapter path"))
	}
	files, arch, err := adapterFiles(req.Adapter)
	if err != nil {
		return ModelInfo{}, err
	}
	base, err := s.Model(ctx, req.Base)
	if err != nil {
		return ModelInfo{}, fmt.Errorf("base model: %w", err)
	}
	if arch != "" && base.Architecture != "" && arch != base.Architecture {
		return ModelInfo{}, runners.InvalidInput(fmt.Errorf("adapter %s is for architecture %q, but base model %q is %q: pass a LoRA adapter trained on %s",
			req.Adapter, arch, req.Base, base.Architecture, req.Base))
	}
	blobs := make(map[string]string, len(files))
	for name, path := range files {
		progress("uploading " + path)
		digest, err := s.UploadBlob(ctx, path)
		if err != nil {
			return ModelInfo{}, err
		}
		blobs[name] = digest
	}
	cr := &api.CreateRequest{Model: req.Name, From: req.Base, Adapters: blobs, System: req.System}
	if err := s.create(ctx, cr, progress); err != nil {
		return ModelInfo{}, err
	}
	info, err := s.Model(ctx, req.Name)
	if err != nil {
		return ModelInfo{}, err
	}
	if len(info.Adapters) == 0 {
		removed := "removed it again"
		if derr := s.Delete(ctx, req.Name); derr != nil {
			removed = fmt.Sprintf("could not remove it (%v): delete it with `ollama rm %s`", derr, req.Name)
		}
		return ModelInfo{}, runners.InvalidInput(fmt.Errorf("ollama at %s registered %q without the adapter (its Modelfile lists no ADAPTER), so it would answer exactly like %s; %s. Check that %s is a LoRA adapter for %s",
			s.URL(), req.Name, req.Base, removed, req.Adapter, req.Base))
	}
	return info, nil
}

// CreateFromGGUF creates model name from a local GGUF model file.
func (s *Server) CreateFromGGUF(ctx context.Context, name, path string, progress Progress) (ModelInfo, error) {
	if progress == nil {
		progress = func(string) {}
	}
	if err := checkGGUF(path); err != nil {
		return ModelInfo{}, err
	}
	digest, err := s.UploadBlob(ctx, path)
	if err != nil {
		return ModelInfo{}, err
	}
	cr := &api.CreateRequest{Model: name, Files: map[string]string{filepath.Base(path): digest}}
	if err := s.create(ctx, cr, progress); err != nil {
		return ModelInfo{}, err
	}
	return s.Model(ctx, name)
}

func (s *Server) create(ctx context.Context, cr *api.CreateRequest, progress Progress) error {
	err := s.client.Create(ctx, cr, func(p api.ProgressResponse) error {
		if p.Status != "" {
			progress(p.Status)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ollama at %s: creating model %q: %w", s.URL(), cr.Model, err)
	}
	return nil
}

// UploadBlob sends a file to the server's blob store under its sha256
// digest and returns the digest ("sha256:…").
func (s *Server) UploadBlob(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("ollama: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("ollama: reading %s: %w", path, err)
	}
	digest := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("ollama: reading %s: %w", path, err)
	}
	if err := s.client.CreateBlob(ctx, digest, f); err != nil {
		return "", fmt.Errorf("ollama at %s: uploading %s: %w", s.URL(), path, err)
	}
	return digest, nil
}

// adapterFiles maps the names the create call expects to local paths,
// and returns the architecture a GGUF adapter is for ("" for a PEFT
// folder, which Ollama converts for its base). Every error matches
// runners.ErrInvalidInput.
func adapterFiles(path string) (map[string]string, string, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", runners.InvalidInput(fmt.Errorf("adapter %s: no such file or folder (want a GGUF LoRA adapter file, or a PEFT folder with adapter_config.json and adapter_model.safetensors)", path))
	}
	if err != nil {
		return nil, "", runners.InvalidInput(fmt.Errorf("adapter: %w", err))
	}
	if !st.IsDir() {
		if strings.HasSuffix(path, ".safetensors") {
			return nil, "", runners.InvalidInput(fmt.Errorf("adapter %s: a PEFT adapter is a folder (adapter_config.json + adapter_model.safetensors); pass the folder", path))
		}
		kv, err := readGGUF(path)
		if err != nil {
			return nil, "", runners.InvalidInput(fmt.Errorf("adapter %s: %w", path, err))
		}
		if kind := kv.Kind(); kind != "adapter" {
			return nil, "", runners.InvalidInput(fmt.Errorf("adapter %s: general.type is %q, not \"adapter\": it is not a LoRA adapter (is it the base model's own GGUF?); pass the adapter that llama.cpp's convert_lora_to_gguf.py writes, or a PEFT folder", path, kind))
		}
		arch := kv.Architecture()
		if arch == "unknown" {
			arch = ""
		}
		return map[string]string{"adapter.gguf": path}, arch, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, "", runners.InvalidInput(fmt.Errorf("adapter: %w", err))
	}
	files := map[string]string{}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && (strings.HasSuffix(n, ".safetensors") || n == "adapter_config.json") {
			files[n] = filepath.Join(path, n)
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if _, ok := files["adapter_config.json"]; !ok || len(files) < 2 {
		return nil, "", runners.InvalidInput(fmt.Errorf("adapter folder %s: want adapter_config.json and *.safetensors (a PEFT LoRA adapter), found %v", path, names))
	}
	if err := checkPEFTConfig(files["adapter_config.json"]); err != nil {
		return nil, "", runners.InvalidInput(err)
	}
	return files, "", nil
}

// checkPEFTConfig fails unless path is a JSON object that, if it names a
// peft_type, names LORA.
func checkPEFTConfig(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("adapter: %w", err)
	}
	var cfg struct {
		PEFTType string `json:"peft_type"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("adapter %s: not a JSON object: %v", path, err)
	}
	if cfg.PEFTType != "" && !strings.EqualFold(cfg.PEFTType, "LORA") {
		return fmt.Errorf("adapter %s: peft_type is %q; only LoRA adapters can be registered", path, cfg.PEFTType)
	}
	return nil
}

// checkGGUF fails unless path is a readable GGUF file.
func checkGGUF(path string) error {
	if _, err := readGGUF(path); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// readGGUF reads the metadata of the GGUF file at path with Ollama's own
// parser (the one its create call uses), skipping array values. Its errors
// do not name the file.
func readGGUF(path string) (ggml.KV, error) {
	f, err := os.Open(path)
	if err != nil {
		if pe, ok := err.(*fs.PathError); ok {
			return nil, pe.Err
		}
		return nil, err
	}
	defer f.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err != nil || !bytes.Equal(magic, []byte("GGUF")) {
		return nil, errors.New("not a GGUF file (convert a LoRA adapter with llama.cpp's convert_lora_to_gguf.py, or pass a PEFT folder)")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	g, err := ggml.Decode(f, 0)
	if err != nil {
		return nil, fmt.Errorf("not a readable GGUF file: %v", err)
	}
	return g.KV(), nil
}
