package runners

import (
	"fmt"
	"net/url"
	"strings"
)

// Providers a spec string can name.
const (
	ProviderOllama           = "ollama"
	ProviderOpenAI           = "openai"
	ProviderOpenAICompatible = "openai-compatible"
	// ProviderReplay serves recorded outputs from a file (runners/replay):
	// the spec's Model is the file's path.
	ProviderReplay = "replay"
)

// Spec is a parsed runner spec string:
//
//	ollama:MODEL[@http://host:port]          e.g. ollama:llama2:13b, ollama:llama2-zh-ft
//	openai:MODEL[@https://base/v1]           e.g. openai:gpt-3.5-turbo
//	openai-compatible:MODEL@http://host:port/v1
//	replay:FILE                              e.g. replay:runs/llama2.jsonl
//
// An Ollama spec without a host uses $OLLAMA_HOST (default
// http://127.0.0.1:11434); an OpenAI spec without a base URL uses
// api.openai.com. The URL starts at the first "@http://" or "@https://", so
// model names keep their colons and "@"s. A replay spec's FILE is taken
// whole, URL-like text included.
type Spec struct {
	Provider string
	Model    string
	// BaseURL is the server URL from the spec, "" when not given.
	BaseURL string
}

// ParseSpec parses a runner spec string.
func ParseSpec(s string) (Spec, error) {
	provider, rest, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || rest == "" {
		return Spec{}, fmt.Errorf("runner spec %q: want PROVIDER:MODEL, e.g. ollama:llama2:13b, openai:gpt-3.5-turbo, openai-compatible:NAME@http://host:port/v1 or replay:FILE", s)
	}
	switch provider {
	case ProviderOllama, ProviderOpenAI, ProviderOpenAICompatible:
	case ProviderReplay:
		file := strings.TrimSpace(rest)
		if file == "" {
			return Spec{}, fmt.Errorf("runner spec %q: replay needs a file: replay:FILE (a JSONL file of recorded outputs)", s)
		}
		return Spec{Provider: provider, Model: file}, nil
	default:
		return Spec{}, fmt.Errorf("runner spec %q: unknown provider %q (want ollama, openai, openai-compatible or replay)", s, provider)
	}
	sp := Spec{Provider: provider, Model: rest}
	if i := urlStart(rest); i >= 0 {
		u := rest[i+1:]
		parsed, err := url.Parse(u)
		if err != nil || parsed.Host == "" {
			return Spec{}, fmt.Errorf("runner spec %q: bad URL %q", s, u)
		}
		if parsed.User != nil {
			return Spec{}, fmt.Errorf("runner spec %q: the URL must not carry credentials (they would be written to results); use the API key environment variable", s)
		}
		sp.Model, sp.BaseURL = rest[:i], strings.TrimRight(u, "/")
	}
	if sp.Model == "" {
		return Spec{}, fmt.Errorf("runner spec %q: empty model name", s)
	}
	if provider == ProviderOpenAICompatible && sp.BaseURL == "" {
		return Spec{}, fmt.Errorf("runner spec %q: openai-compatible needs a base URL: openai-compatible:NAME@http://host:port/v1", s)
	}
	return sp, nil
}

// urlStart returns the index of the "@" that starts the URL in rest, or -1.
func urlStart(rest string) int {
	i := strings.Index(rest, "@http://")
	if j := strings.Index(rest, "@https://"); j >= 0 && (i < 0 || j < i) {
		i = j
	}
	return i
}

// String returns the canonical spec string.
func (s Spec) String() string {
	if s.BaseURL == "" {
		return s.Provider + ":" + s.Model
	}
	return s.Provider + ":" + s.Model + "@" + s.BaseURL
}
