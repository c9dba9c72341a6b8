package ollama_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/gguf"
	"github.com/bertbench/bertbench/runners/ollama"
	"github.com/bertbench/bertbench/runners/ollamatest"
)

// writeGemmaLoRA writes a LoRA adapter GGUF for the gemma2 architecture.
func writeGemmaLoRA(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	err := gguf.Write(&buf, []gguf.KV{
		{Key: "general.architecture", Value: "gemma2"},
		{Key: "general.type", Value: "adapter"},
		{Key: "adapter.type", Value: "lora"},
		{Key: "adapter.lora.alpha", Value: float32(8)},
	}, []gguf.Tensor{
		{Name: "blk.0.attn_q.weight.lora_a", Dims: []uint64{16, 4}, Data: make([]float32, 64)},
		{Name: "blk.0.attn_q.weight.lora_b", Dims: []uint64{4, 16}, Data: make([]float32, 64)},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "gemma-lora.gguf")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAdapterRefusesWhatIsNotAnAdapter: the base model's own GGUF, or an
// adapter for another architecture, given as --adapter is refused before
// anything is registered (Ollama would register the model with no adapter,
// answering exactly like the base).
func TestAdapterRefusesWhatIsNotAnAdapter(t *testing.T) {
	srv, adapter := shared.Tiny(t)
	h := srv.Handle()
	ctx := context.Background()
	baseGGUF := filepath.Join(filepath.Dir(adapter), "tiny-llama.gguf")
	for _, tc := range []struct {
		name, path, want string
	}{
		{"the base model's own GGUF", baseGGUF, `general.type is "model"`},
		{"an adapter for another architecture", writeGemmaLoRA(t), `"gemma2"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.RegisterAdapter(ctx, ollama.AdapterRequest{Name: "tiny-ft5", Base: ollamatest.TinyModel, Adapter: tc.path}, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) {
				t.Fatalf("err = %v, want it to name %s and say %q", err, tc.path, tc.want)
			}
			if !errors.Is(err, runners.ErrInvalidInput) {
				t.Errorf("err = %v, want it to wrap ErrInvalidInput", err)
			}
			if _, err := h.Model(ctx, "tiny-ft5"); !errors.Is(err, runners.ErrModelNotFound) {
				t.Errorf("tiny-ft5 is registered (err %v)", err)
			}
		})
	}
}

// hideAdapters is a proxy to the real server whose /api/show hides the
// model's ADAPTER lines: a server that registered the model without its
// adapter, which the create call must not report as a success.
func hideAdapters(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path != "/api/show" || resp.StatusCode != http.StatusOK {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var show map[string]any
		if err := json.Unmarshal(b, &show); err != nil {
			return err
		}
		if mf, ok := show["modelfile"].(string); ok {
			var keep []string
			for _, line := range strings.Split(mf, "\n") {
				if !strings.HasPrefix(line, "ADAPTER ") {
					keep = append(keep, line)
				}
			}
			show["modelfile"] = strings.Join(keep, "\n")
		}
		b, _ = json.Marshal(show)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	p := httptest.NewServer(rp)
	t.Cleanup(p.Close)
	return p.URL
}

// TestAdapterCheckedAfterCreate: a model the server registered without
// the adapter is removed, and the call fails saying so.
func TestAdapterCheckedAfterCreate(t *testing.T) {
	srv, adapter := shared.Tiny(t)
	ctx := context.Background()
	h, err := ollama.NewServer(hideAdapters(t, srv.URL), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.RegisterAdapter(ctx, ollama.AdapterRequest{Name: "tiny-lost-adapter", Base: ollamatest.TinyModel, Adapter: adapter}, nil)
	if err == nil || !strings.Contains(err.Error(), "without the adapter") {
		t.Fatalf("err = %v, want it to say the model has no adapter", err)
	}
	if !errors.Is(err, runners.ErrInvalidInput) {
		t.Errorf("err = %v, want it to wrap ErrInvalidInput", err)
	}
	if _, err := srv.Handle().Model(ctx, "tiny-lost-adapter"); !errors.Is(err, runners.ErrModelNotFound) {
		t.Errorf("the model without its adapter was left registered (err %v)", err)
	}
}
