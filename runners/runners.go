// Package runners defines how bertbench asks a language model for a
// translation: one context-aware Runner interface, the request and result
// records every call produces, runner spec strings such as
// "ollama:llama2:13b" or "openai:gpt-3.5-turbo", and the error
// classification that the retry layer acts on.
//
// Implementations live in sub-packages (runners/ollama, runners/openai);
// behaviour shared by all of them is layered on as wrappers (runners/retry,
// runners/cache, Limit in this package). runners/replay answers from a
// recorded results file instead of a model. runners/factory builds the usual
// stack from a spec string; runners/batch runs many requests through one
// runner; runners/outputcheck flags an output (empty, failed, wrong
// language, truncated) before it is scored. Request.Validate checks a
// request's parameters for every caller.
package runners

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Runner sends one prompt to one model and reports what came back.
//
// Run returns a Result describing the call even when it fails: the error is
// also recorded in Result.Error so that a caller writing results keeps the
// failed request beside the successful ones. Implementations must be safe
// for concurrent use.
type Runner interface {
	// Spec is the runner's canonical spec string, e.g. "ollama:llama2:13b".
	Spec() string
	// Run performs one call, honouring ctx for cancellation and deadlines.
	Run(ctx context.Context, req Request) (Result, error)
}

// DigestReporter is implemented by runners that can name the exact model
// weights they serve (Ollama reports a content digest per model). The
// response cache includes the digest in its key so that re-creating a model
// under the same name never returns stale outputs.
type DigestReporter interface {
	ModelDigest(ctx context.Context) (string, error)
}

// Preflighter is implemented by runners that can make sure, before the
// first call, that the server answers and has the model, so that a batch
// fails before its first line rather than once per line.
type Preflighter interface {
	Preflight(ctx context.Context) error
}

// Preflight runs r's preflight check where it has one; a runner that only
// reports a model digest is checked by asking for it; others pass.
func Preflight(ctx context.Context, r Runner) error {
	if p, ok := r.(Preflighter); ok {
		return p.Preflight(ctx)
	}
	_, err := Digest(ctx, r)
	return err
}

// Mode selects the API shape used for a call.
type Mode string

// Modes a Request can ask for. OpenAI-compatible runners only support chat.
const (
	ModeChat     Mode = "chat"
	ModeGenerate Mode = "generate"
)

// Request is one prompt plus its sampling parameters.
type Request struct {
	// Prompt is the user message (chat) or the prompt (generate).
	Prompt string `json:"prompt"`
	// System is an optional system prompt.
	System string `json:"system,omitempty"`
	// Mode is chat (default when empty) or generate.
	Mode Mode `json:"mode,omitempty"`
	// Params are the sampling and runtime parameters.
	Params Params `json:"params"`
	// ItemID is the id of the dataset item the prompt was made from, ""
	// when the caller has none. Model runners ignore it; the replay runner
	// (runners/replay) answers by it. It is not part of the request's JSON,
	// so it never enters a response cache key: the same prompt for two
	// items is the same call.
	ItemID string `json:"-"`
	// Repeat is which time the same request is asked, from 0, when a
	// caller asks it several times on purpose (an experiment's repeats,
	// to sample a model at a temperature above 0 or to time it again).
	// Model runners ignore it. It is part of the response cache key when
	// it is not 0, so that each repeat has an entry of its own, while
	// repeat 0's key is the plain request's.
	Repeat int `json:"repeat,omitempty"`
}

// Params are the model parameters a request may set; nil or empty fields
// leave the server's default in place. KeepAlive is Ollama-only and is not
// part of the cache key (it does not change the output).
type Params struct {
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	Seed        *int     `json:"seed,omitempty"`
	// MaxTokens is Ollama's num_predict and OpenAI's max_tokens.
	MaxTokens *int     `json:"max_tokens,omitempty"`
	NumCtx    *int     `json:"num_ctx,omitempty"`
	Stop      []string `json:"stop,omitempty"`
	// PresencePenalty, in [-2, 2], lowers the odds of tokens that already
	// appeared in the output (positive values favour new words and
	// topics). OpenAI's presence_penalty and Ollama's option of that name.
	PresencePenalty *float64 `json:"presence_penalty,omitempty"`
	// KeepAlive is how long Ollama keeps the model loaded after the call.
	KeepAlive *time.Duration `json:"-"`
}

// OllamaCounters are the counters an Ollama server reports for one call.
type OllamaCounters struct {
	PromptEvalCount    int      `json:"prompt_eval_count"`
	EvalCount          int      `json:"eval_count"`
	TotalDuration      Duration `json:"total_duration_ms"`
	LoadDuration       Duration `json:"load_duration_ms"`
	PromptEvalDuration Duration `json:"prompt_eval_duration_ms"`
	EvalDuration       Duration `json:"eval_duration_ms"`
	// NumCtx is the context window, in tokens, the server ran the model
	// with (0 when it could not be told).
	NumCtx int `json:"num_ctx,omitempty"`
}

// Result is the record of one call. It is what translate writes as one JSON
// line and what the cache stores (successful results only).
type Result struct {
	// Runner is the runner spec that produced the result.
	Runner string `json:"runner"`
	// Model is the model name the server reported (or was asked for).
	Model string `json:"model"`
	// ModelDigest identifies the exact weights where the server reports it.
	ModelDigest string `json:"model_digest,omitempty"`
	// Output is the generated text.
	Output string `json:"output"`
	// Latency is wall-clock time from sending the request to the last byte,
	// for the successful attempt.
	Latency Duration `json:"latency_ms"`
	// TTFT is wall-clock time from sending the request to the first
	// non-empty piece of output, for the successful attempt.
	TTFT Duration `json:"ttft_ms"`
	// PromptTokens and CompletionTokens are the server's token counts.
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	// Ollama holds Ollama's own counters (Ollama runners only).
	Ollama *OllamaCounters `json:"ollama,omitempty"`
	// DoneReason is why generation stopped ("stop", "length", ...).
	DoneReason string `json:"done_reason,omitempty"`
	// TruncatedInput reports that the prompt did not fit the context
	// window and the server cut it: the output answers part of the input.
	TruncatedInput bool `json:"truncated_input,omitempty"`
	// CostUSD is the price of the call from the price table; nil (JSON
	// null, always written so every line has the field) when the model has
	// no price (local models, unknown hosted models).
	CostUSD *float64 `json:"cost_usd"`
	// Attempts is how many HTTP calls this result took (retries included).
	Attempts int `json:"attempts"`
	// Cached reports that the result was served from the response cache
	// and no model was called.
	Cached bool `json:"cached,omitempty"`
	// Replayed reports that the result was read back from a recording
	// (the replay runner) and no model was called: its latency, tokens and
	// cost are those recorded in another run, not measurements of this one.
	Replayed bool `json:"replayed,omitempty"`
	// Error is the failure, empty on success.
	Error string `json:"error,omitempty"`
}

// Duration is a time.Duration that marshals to JSON as fractional
// milliseconds, the unit benchmark reports use.
type Duration time.Duration

// MarshalJSON writes the duration in milliseconds with microsecond precision.
func (d Duration) MarshalJSON() ([]byte, error) {
	ms := float64(time.Duration(d).Microseconds()) / 1000
	return strconv.AppendFloat(nil, ms, 'f', -1, 64), nil
}

// UnmarshalJSON reads a duration written by MarshalJSON.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return fmt.Errorf("duration: want milliseconds as a number: %w", err)
	}
	*d = Duration(time.Duration(ms * float64(time.Millisecond)))
	return nil
}

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }
