package openai_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/faultserver"
	"github.com/bertbench/bertbench/runners/ollamatest"
	"github.com/bertbench/bertbench/runners/openai"
)

// TestPreflightAgainstOllamaV1 checks the server and model before the
// first call, on a real Ollama's OpenAI-compatible endpoint.
func TestPreflightAgainstOllamaV1(t *testing.T) {
	srv, _ := shared.Tiny(t)
	for _, tc := range []struct {
		name, model, base string
		want              []string // "" entries: no error
		is                error
	}{
		// Ollama lists bertbench-tiny:latest and answers to both names.
		{"listed", ollamatest.TinyModel + ":latest", srv.URL + "/v1", nil, nil},
		{"answers though not listed by this name", ollamatest.TinyModel, srv.URL + "/v1", nil, nil},
		{"missing model", "no-such-model", srv.URL + "/v1", []string{`model "no-such-model" is not on the server`, ollamatest.TinyModel + ":latest"}, runners.ErrModelNotFound},
		{"base URL without /v1", ollamatest.TinyModel, srv.URL, []string{"under /v1; try openai-compatible:" + ollamatest.TinyModel + "@" + srv.URL + "/v1"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := openai.New(tc.model, "openai-compatible:"+tc.model+"@"+tc.base, openai.Config{BaseURL: tc.base})
			err := r.Preflight(context.Background())
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Preflight: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Preflight passed")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q does not say %q", err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err %v does not match %v", err, tc.is)
			}
		})
	}
}

func TestPreflightNothingListening(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := openai.New("m", "", openai.Config{BaseURL: "http://" + addr + "/v1"})
	err = r.Preflight(context.Background())
	if !errors.Is(err, runners.ErrUnreachable) || !strings.Contains(err.Error(), "cannot reach the server at http://"+addr+"/v1") {
		t.Fatalf("err = %v", err)
	}
}

// TestPreflightCalls: a listed model costs no model call; an unlisted one
// costs one, whose 401 (echoing the key) stops the run without the key.
func TestPreflightCalls(t *testing.T) {
	srv := faultserver.New(faultserver.EchoAuth)
	defer srv.Close()
	const key = "sk-preflight-SECRET"
	listed := openai.New(faultserver.DefaultModel, "", openai.Config{BaseURL: srv.URL + "/v1", APIKey: key})
	if err := listed.Preflight(context.Background()); err != nil || srv.Calls() != 0 {
		t.Fatalf("listed model: %v, %d model calls (want none)", err, srv.Calls())
	}
	unlisted := openai.New("other-model", "", openai.Config{BaseURL: srv.URL + "/v1", APIKey: key})
	err := unlisted.Preflight(context.Background())
	if err == nil || !strings.Contains(err.Error(), "refused the API key") || strings.Contains(err.Error(), key) || srv.Calls() != 1 {
		t.Fatalf("err = %v after %d model calls", err, srv.Calls())
	}
}
