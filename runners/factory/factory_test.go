package factory_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/cache"
	"github.com/bertbench/bertbench/runners/factory"
	"github.com/bertbench/bertbench/runners/faultserver"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestKeysGoOnlyWhereTheyBelong: the OpenAI key is sent to "openai:"
// runners only, never to an openai-compatible server.
func TestKeysGoOnlyWhereTheyBelong(t *testing.T) {
	srv := faultserver.New()
	defer srv.Close()
	getenv := env(map[string]string{factory.EnvOpenAIKey: "sk-openai", factory.EnvOpenAICompatibleKey: "local-key"})
	for _, tc := range []struct {
		spec, wantAuth string
	}{
		{"openai:m@" + srv.URL + "/v1", "Bearer sk-openai"},
		{"openai-compatible:m@" + srv.URL + "/v1", "Bearer local-key"},
	} {
		r, err := factory.New(tc.spec, factory.Options{Getenv: getenv})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Run(context.Background(), runners.Request{Prompt: "x"}); err != nil {
			t.Fatal(err)
		}
		auths := srv.Auths()
		if got := auths[len(auths)-1]; got != tc.wantAuth {
			t.Errorf("%s sent Authorization %q, want %q", tc.spec, got, tc.wantAuth)
		}
	}
	r, _ := factory.New("openai-compatible:m@"+srv.URL+"/v1", factory.Options{Getenv: env(map[string]string{factory.EnvOpenAIKey: "sk-openai"})})
	r.Run(context.Background(), runners.Request{Prompt: "x"})
	if got := srv.Auths()[2]; got != "" {
		t.Errorf("openai-compatible without its own key sent %q", got)
	}
}

func TestStackRetriesAndCaches(t *testing.T) {
	srv := faultserver.New(faultserver.ServerError)
	defer srv.Close()
	store, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	opts := factory.Options{Cache: store, Getenv: env(nil)}
	opts.Retry.BaseDelay = 1
	r, err := factory.New("openai-compatible:m@"+srv.URL+"/v1", opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background(), runners.Request{Prompt: "x"})
	if err != nil || res.Attempts != 2 {
		t.Fatalf("%+v, %v", res, err)
	}
	res, err = r.Run(context.Background(), runners.Request{Prompt: "x"})
	if err != nil || !res.Cached || srv.Calls() != 2 {
		t.Fatalf("second run: %+v, %v, %d server calls", res, err, srv.Calls())
	}
}

func TestErrors(t *testing.T) {
	for spec, want := range map[string]string{
		"openai:gpt-4o":    "OPENAI_API_KEY is not set",
		"nope:x":           "unknown provider",
		"ollama:m@http://": "bad URL",
	} {
		if _, err := factory.New(spec, factory.Options{Getenv: env(nil)}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", spec, err, want)
		}
	}
}

// TestBaseURLFromEnvironmentIsPartOfTheSpec: an "openai:" runner pointed at
// another server by $OPENAI_BASE_URL or --openai-base-url must not share
// cache entries (or a results "runner" field) with api.openai.com.
func TestBaseURLFromEnvironmentIsPartOfTheSpec(t *testing.T) {
	srv := faultserver.New()
	defer srv.Close()
	store, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		opts     factory.Options
		wantSpec string
	}{
		{"env", factory.Options{Getenv: env(map[string]string{factory.EnvOpenAIBaseURL: srv.URL + "/v1/"})}, "openai:m@" + srv.URL + "/v1"},
		{"option", factory.Options{OpenAIBaseURL: srv.URL + "/v1", Getenv: env(nil)}, "openai:m@" + srv.URL + "/v1"},
		{"default", factory.Options{Getenv: env(map[string]string{factory.EnvOpenAIKey: "k"})}, "openai:m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Cache = store
			r, err := factory.New("openai:m", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.Spec() != tc.wantSpec {
				t.Errorf("Spec() = %q, want %q", r.Spec(), tc.wantSpec)
			}
		})
	}
	// A result cached for the local server is not served to api.openai.com.
	local, _ := factory.New("openai:m", factory.Options{Cache: store, OpenAIBaseURL: srv.URL + "/v1", Getenv: env(nil)})
	if _, err := local.Run(context.Background(), runners.Request{Prompt: "x"}); err != nil {
		t.Fatal(err)
	}
	k1, _ := cache.Key(local.Spec(), "", runners.Request{Prompt: "x"})
	k2, _ := cache.Key("openai:m", "", runners.Request{Prompt: "x"})
	if k1 == k2 {
		t.Error("the local server's results share the cache key of api.openai.com")
	}
	for base, want := range map[string]string{"http://u:pw@host/v1": "must not carry credentials", "localhost:8000": "bad OpenAI base URL"} {
		if _, err := factory.New("openai:m", factory.Options{OpenAIBaseURL: base, Getenv: env(nil)}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("base URL %q: err = %v, want %q", base, err, want)
		}
	}
}

// TestStackReportsItsConcurrency: the limit the stack enforces is visible
// through every wrapper (cache, pricing), so that a batch starts as many
// workers as the runner lets run at once.
func TestStackReportsItsConcurrency(t *testing.T) {
	store, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		spec string
		opts factory.Options
		want int
	}{
		{"ollama:m@http://127.0.0.1:1", factory.Options{}, 1},
		{"openai-compatible:m@http://127.0.0.1:1/v1", factory.Options{}, 4},
		{"openai-compatible:m@http://127.0.0.1:1/v1", factory.Options{Concurrency: 7, Cache: store}, 7},
		{"ollama:m@http://127.0.0.1:1", factory.Options{Concurrency: 3, Cache: store}, 3},
	} {
		tc.opts.Getenv = env(nil)
		r, err := factory.New(tc.spec, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := runners.MaxConcurrency(r); got != tc.want {
			t.Errorf("%s (concurrency %d, cache %v): MaxConcurrency = %d, want %d", tc.spec, tc.opts.Concurrency, tc.opts.Cache != nil, got, tc.want)
		}
	}
}

// TestReplayIsNeitherCachedNorPriced: a replay runner answers from its
// file, never stores what it replays in the response cache, and keeps the
// recorded cost instead of pricing the result again.
func TestReplayIsNeitherCachedNorPriced(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rec.jsonl")
	rec := `{"id":"a","runner":"openai:gpt-4o","model":"gpt-4o","output":"甲","prompt_tokens":1000000,"completion_tokens":1000000,"cost_usd":null,"attempts":1}` + "\n"
	if err := os.WriteFile(file, []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	cacheDir := t.TempDir()
	store, err := cache.Open(cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := factory.New("replay:"+file, factory.Options{Cache: store, Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		res, err := r.Run(context.Background(), runners.Request{Prompt: "x", ItemID: "a"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Output != "甲" || !res.Replayed || res.Cached || res.CostUSD != nil || res.Runner != "replay:"+file {
			t.Errorf("got %+v", res)
		}
	}
	if n, err := store.Clear(); err != nil || n != 0 {
		t.Errorf("the cache holds %d entries (%v), want none", n, err)
	}
	if _, err := factory.New("replay:"+filepath.Join(t.TempDir(), "none.jsonl"), factory.Options{}); err == nil || !errors.Is(err, runners.ErrInvalidInput) {
		t.Errorf("a missing recording: %v, want an input error", err)
	}
}
