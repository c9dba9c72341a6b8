// Package factory builds a ready-to-use runner from a spec string: the
// provider's runner (runners/ollama or runners/openai) wrapped with
// retries and a per-call timeout, a concurrency limit, optionally the
// response cache, and pricing.
//
// A "replay:FILE" spec gives the replay runner (runners/replay) behind the
// concurrency limit only: it makes no call to retry, what it replays is
// never stored in the response cache, and it keeps the recorded cost.
package factory

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/cache"
	"github.com/bertbench/bertbench/runners/ollama"
	"github.com/bertbench/bertbench/runners/openai"
	"github.com/bertbench/bertbench/runners/pricing"
	"github.com/bertbench/bertbench/runners/replay"
	"github.com/bertbench/bertbench/runners/retry"
)

// Environment variables holding API keys. Keys are read here and handed to
// the client only; they are never part of a spec, a result or a message.
const (
	EnvOpenAIKey           = "OPENAI_API_KEY"
	EnvOpenAICompatibleKey = "OPENAI_COMPATIBLE_API_KEY"
	EnvOpenAIBaseURL       = "OPENAI_BASE_URL"
	EnvOpenAIOrg           = "OPENAI_ORG_ID"
)

// Options tune the runner stack. Zero values select defaults.
type Options struct {
	// Concurrency caps simultaneous calls (default 1 for Ollama, whose
	// latency figures are only meaningful one call at a time, 4 otherwise,
	// replay included).
	Concurrency int
	// Retry is the retry and timeout policy.
	Retry retry.Policy
	// Cache, when non-nil, serves and stores results.
	Cache *cache.Store
	// Prices prices every successful result, of any runner kind and cached
	// ones too (nil: the built-in table of OpenAI's prices).
	Prices pricing.Table
	// OpenAIBaseURL and OpenAIOrg override $OPENAI_BASE_URL and
	// $OPENAI_ORG_ID for "openai:" specs.
	OpenAIBaseURL, OpenAIOrg string
	// Getenv reads the environment (nil: os.Getenv).
	Getenv func(string) string
	// HTTPClient is the base HTTP client (nil: a fresh one).
	HTTPClient *http.Client
}

// New builds the runner for spec.
func New(spec string, opts Options) (runners.Runner, error) {
	sp, err := runners.ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var base runners.Runner
	conc := opts.Concurrency
	switch sp.Provider {
	case runners.ProviderReplay:
		rp, err := replay.Open(sp.Model)
		if err != nil {
			return nil, err
		}
		if conc == 0 {
			conc = 4
		}
		return runners.Limit(rp, conc), nil
	case runners.ProviderOllama:
		srv, err := ollama.NewServer(sp.BaseURL, opts.HTTPClient)
		if err != nil {
			return nil, err
		}
		base = ollama.New(srv, sp.Model, sp.String())
		if conc == 0 {
			conc = 1
		}
	case runners.ProviderOpenAI, runners.ProviderOpenAICompatible:
		cfg := openai.Config{BaseURL: sp.BaseURL, HTTPClient: opts.HTTPClient}
		if sp.Provider == runners.ProviderOpenAI {
			cfg.APIKey = getenv(EnvOpenAIKey)
			if cfg.BaseURL == "" {
				cfg.BaseURL = firstNonEmpty(opts.OpenAIBaseURL, getenv(EnvOpenAIBaseURL))
				if sp, err = withBaseURL(sp, cfg.BaseURL); err != nil {
					return nil, err
				}
			}
			cfg.Org = firstNonEmpty(opts.OpenAIOrg, getenv(EnvOpenAIOrg))
			if cfg.APIKey == "" && cfg.BaseURL == "" {
				return nil, fmt.Errorf("runner %s: $%s is not set (or point the spec at another server: openai-compatible:NAME@http://host:port/v1)", sp, EnvOpenAIKey)
			}
		} else {
			cfg.APIKey = getenv(EnvOpenAICompatibleKey)
		}
		base = openai.New(sp.Model, sp.String(), cfg)
		if conc == 0 {
			conc = 4
		}
	default:
		return nil, fmt.Errorf("runner %s: unknown provider", sp)
	}
	r := runners.Limit(retry.Wrap(base, opts.Retry), conc)
	if opts.Cache != nil {
		r = cache.Wrap(r, opts.Cache)
	}
	prices := opts.Prices
	if prices == nil {
		prices = pricing.Default()
	}
	return pricing.Wrap(r, prices), nil
}

// withBaseURL records in sp a base URL that came from outside the spec
// (an option or the environment), so that the spec written into results
// and hashed into cache keys names the server that answered: results from
// a local server must never be served for api.openai.com. OpenAI's own
// URL is left implicit.
func withBaseURL(sp runners.Spec, base string) (runners.Spec, error) {
	base = strings.TrimRight(base, "/")
	if base == "" || base == openai.DefaultBaseURL {
		return sp, nil
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return sp, fmt.Errorf("runner %s: bad OpenAI base URL %q (from --openai-base-url or $%s): want http(s)://host[:port]/v1", sp, base, EnvOpenAIBaseURL)
	}
	if u.User != nil {
		return sp, fmt.Errorf("runner %s: the OpenAI base URL must not carry credentials (they would be written to results); use $%s", sp, EnvOpenAIKey)
	}
	sp.BaseURL = base
	return sp, nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
