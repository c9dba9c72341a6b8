// Package ollama runs prompts on an Ollama server through its official Go
// client (github.com/ollama/ollama/api): chat and generate, streamed so that
// time to first token is measured, with Ollama's own counters recorded. It
// also registers fine-tuned models (a base model plus a LoRA adapter) so
// that they become runner specs of their own.
package ollama

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/envconfig"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/internal/httpmeta"
)

// Server is a handle on one Ollama server.
type Server struct {
	base   *url.URL
	client *api.Client
}

// NewServer returns a handle on the Ollama server at host (a URL such as
// http://127.0.0.1:11434, or host:port); "" means $OLLAMA_HOST, else
// http://127.0.0.1:11434. hc may be nil; its transport is wrapped to record
// HTTP status and Retry-After for the retry layer. hc must not set a
// Timeout: calls are bounded by their context.
func NewServer(host string, hc *http.Client) (*Server, error) {
	var base *url.URL
	if host == "" {
		base = envconfig.Host()
	} else {
		if !strings.Contains(host, "://") {
			host = "http://" + host
		}
		u, err := url.Parse(host)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("ollama: bad host %q: want a URL like http://127.0.0.1:11434", host)
		}
		base = u
	}
	c := &http.Client{}
	if hc != nil {
		cp := *hc
		c = &cp
	}
	c.Transport = httpmeta.Transport(c.Transport)
	return &Server{base: base, client: api.NewClient(base, c)}, nil
}

// URL returns the server's base URL.
func (s *Server) URL() string { return s.base.String() }

// API returns the underlying Ollama API client.
func (s *Server) API() *api.Client { return s.client }

// ModelInfo describes one model the server has.
type ModelInfo struct {
	Name       string    `json:"name"`
	Digest     string    `json:"digest"`
	Size       int64     `json:"size"`
	ModifiedAt time.Time `json:"modified_at"`
	Family     string    `json:"family,omitempty"`
	Parameters string    `json:"parameter_size,omitempty"`
	Quant      string    `json:"quantization_level,omitempty"`
	// Architecture is the weights' architecture, e.g. "llama".
	Architecture string `json:"architecture,omitempty"`
	// ContextLength is the context window the model was trained with, the
	// largest the server runs it with.
	ContextLength int `json:"context_length,omitempty"`
	// Adapters lists the LoRA adapter blobs layered on the base weights.
	Adapters []string `json:"adapters,omitempty"`
}

// normalizeName adds Ollama's implicit ":latest" tag.
func normalizeName(name string) string {
	last := name[strings.LastIndex(name, "/")+1:]
	if !strings.Contains(last, ":") {
		return name + ":latest"
	}
	return name
}

// Model returns what the server knows about model name, or an error
// wrapping runners.ErrModelNotFound that says how to get it.
func (s *Server) Model(ctx context.Context, name string) (ModelInfo, error) {
	show, err := s.client.Show(ctx, &api.ShowRequest{Model: name})
	if err != nil {
		return ModelInfo{}, s.modelError(name, err)
	}
	list, err := s.client.List(ctx)
	if err != nil {
		return ModelInfo{}, s.reachError("listing models", err)
	}
	want := normalizeName(name)
	for _, m := range list.Models {
		if normalizeName(m.Name) == want || normalizeName(m.Model) == want {
			return modelInfo(m, show), nil
		}
	}
	// Show found it but List did not: a race with a delete.
	return ModelInfo{}, s.modelError(name, api.StatusError{StatusCode: http.StatusNotFound, ErrorMessage: "model not listed"})
}

// List returns every model on the server, with the adapters each one has.
func (s *Server) List(ctx context.Context) ([]ModelInfo, error) {
	list, err := s.client.List(ctx)
	if err != nil {
		return nil, s.reachError("listing models", err)
	}
	out := make([]ModelInfo, 0, len(list.Models))
	for _, m := range list.Models {
		show, err := s.client.Show(ctx, &api.ShowRequest{Model: m.Name})
		if err != nil {
			return nil, s.modelError(m.Name, err)
		}
		out = append(out, modelInfo(m, show))
	}
	return out, nil
}

// loadedContext returns the context length the server has loaded model
// name (or the model with the given digest) with, 0 when it is not loaded
// or the server does not say.
func (s *Server) loadedContext(ctx context.Context, name, digest string) int {
	ps, err := s.client.ListRunning(ctx)
	if err != nil {
		return 0
	}
	want := normalizeName(name)
	for _, m := range ps.Models {
		if normalizeName(m.Name) == want || normalizeName(m.Model) == want || (digest != "" && m.Digest == digest) {
			return m.ContextLength
		}
	}
	return 0
}

// Delete removes model name from the server.
func (s *Server) Delete(ctx context.Context, name string) error {
	if err := s.client.Delete(ctx, &api.DeleteRequest{Model: name}); err != nil {
		return s.modelError(name, err)
	}
	return nil
}

func modelInfo(m api.ListModelResponse, show *api.ShowResponse) ModelInfo {
	info := ModelInfo{
		Name:       m.Name,
		Digest:     m.Digest,
		Size:       m.Size,
		ModifiedAt: m.ModifiedAt,
		Family:     m.Details.Family,
		Parameters: m.Details.ParameterSize,
		Quant:      m.Details.QuantizationLevel,
	}
	if show != nil {
		info.Architecture, _ = show.ModelInfo["general.architecture"].(string)
		if n, ok := show.ModelInfo[info.Architecture+".context_length"].(float64); ok {
			info.ContextLength = int(n)
		}
		for _, line := range strings.Split(show.Modelfile, "\n") {
			if rest, ok := strings.CutPrefix(line, "ADAPTER "); ok {
				info.Adapters = append(info.Adapters, strings.TrimSpace(rest))
			}
		}
	}
	return info
}

// modelError turns an API error about model name into a helpful one.
func (s *Server) modelError(name string, err error) error {
	var se api.StatusError
	if errors.As(err, &se) && se.StatusCode == http.StatusNotFound {
		return fmt.Errorf("ollama: model %q is not on the Ollama server at %s: pull it with `ollama pull %s`, or register a fine-tune with `bertbench adapters create --name %s --base BASE --adapter PATH` (%w)",
			name, s.URL(), name, name, runners.ErrModelNotFound)
	}
	return s.reachError("model "+name, err)
}

// reachError explains connection failures.
func (s *Server) reachError(what string, err error) error {
	var se api.StatusError
	if errors.As(err, &se) {
		return fmt.Errorf("ollama at %s: %s: %w", s.URL(), what, err)
	}
	return fmt.Errorf("ollama: %s: cannot reach the server at %s (is `ollama serve` running? point bertbench at it with $OLLAMA_HOST, --host, or @http://host:port in the runner spec): %w", what, s.URL(), err)
}
