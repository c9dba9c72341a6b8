package ollama

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ollama/ollama/api"
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
func (s *Server) RegisterAdapter(ctx context.Context, req AdapterRequest, progress Progress) (ModelInfo, error) {
	if progress == nil {
		progress = func(string) {}
	}
	if req.Name == "" || req.Base == "" || req.Adapter == "" {
		return ModelInfo{}, errors.New("ollama: registering an adapter needs a name, a base model and an adapter path")
	}
	if _, err := s.Model(ctx, req.Base); err != nil {
		return ModelInfo{}, fmt.Errorf("base model: %w", err)
	}
	files, err := adapterFiles(req.Adapter)
	if err != nil {
		return ModelInfo{}, err
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
	return s.Model(ctx, req.Name)
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

// adapterFiles maps the names the create call expects to local paths.
func adapterFiles(path string) (map[string]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("adapter: %w", err)
	}
	if !st.IsDir() {
		if strings.HasSuffix(path, ".safetensors") {
			return nil, fmt.Errorf("adapter %s: a PEFT adapter is a folder (adapter_config.json + adapter_model.safetensors); pass the folder", path)
		}
		if err := checkGGUF(path); err != nil {
			return nil, fmt.Errorf("adapter: %w", err)
		}
		return map[string]string{"adapter.gguf": path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("adapter: %w", err)
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
		return nil, fmt.Errorf("adapter folder %s: want adapter_config.json and *.safetensors (a PEFT LoRA adapter), found %v", path, names)
	}
	return files, nil
}

// checkGGUF fails unless path starts with the GGUF magic.
func checkGGUF(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err != nil || !bytes.Equal(magic, []byte("GGUF")) {
		return fmt.Errorf("%s is not a GGUF file (convert it with llama.cpp's convert_lora_to_gguf.py, or pass a PEFT folder)", path)
	}
	return nil
}
