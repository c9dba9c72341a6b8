// Package openai runs prompts on OpenAI's chat completions API, or any
// server that speaks it (vLLM, llama.cpp server, LM Studio, Ollama's /v1),
// through github.com/sashabaranov/go-openai. Responses are streamed to
// measure time to first token, with usage requested in the stream
// (stream_options.include_usage); runners/pricing prices the results.
//
// The API key is handed to the client and nowhere else: it never appears
// in a Result, and any error text that echoes it is redacted.
package openai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/internal/httpmeta"
)

// DefaultBaseURL is OpenAI's API.
const DefaultBaseURL = "https://api.openai.com/v1"

// Config configures a runner.
type Config struct {
	// BaseURL is the API root ("" means DefaultBaseURL).
	BaseURL string
	// Org is the OpenAI organisation ID sent as OpenAI-Organization.
	Org string
	// APIKey is the bearer token; "" sends none (local servers).
	APIKey string
	// HTTPClient is the base client (nil: a fresh one). It must not set a
	// Timeout: calls are bounded by their context.
	HTTPClient *http.Client
}

// Runner sends chat completions to one model. It is safe for concurrent use.
type Runner struct {
	spec   string
	model  string
	base   string
	key    string
	client *goopenai.Client
}

// New returns a runner for model; spec is the runner spec recorded in
// results ("" gives "openai:MODEL").
func New(model, spec string, cfg Config) *Runner {
	if spec == "" {
		spec = runners.ProviderOpenAI + ":" + model
	}
	cc := goopenai.DefaultConfig(cfg.APIKey)
	if cfg.BaseURL != "" {
		cc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	}
	cc.OrgID = cfg.Org
	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		cp := *cfg.HTTPClient
		hc = &cp
	}
	hc.Transport = httpmeta.Transport(patchTransport{base: hc.Transport})
	cc.HTTPClient = hc
	return &Runner{spec: spec, model: model, base: cc.BaseURL, key: cfg.APIKey, client: goopenai.NewClientWithConfig(cc)}
}

// Spec returns the runner spec string.
func (r *Runner) Spec() string { return r.spec }

// Run streams one chat completion. Mode generate is refused: the chat
// completions API has no raw-prompt mode.
func (r *Runner) Run(ctx context.Context, req runners.Request) (runners.Result, error) {
	if req.Mode != "" && req.Mode != runners.ModeChat {
		return runners.Failed(r.spec, 0, fmt.Errorf("%s: mode %q is not supported by chat completions (use chat)", r.spec, req.Mode))
	}
	creq, patch := r.request(req)
	ctx, meta := httpmeta.With(ctx)
	ctx = withPatch(ctx, patch)
	op := "openai chat " + r.model
	start := time.Now()
	res, err := r.stream(ctx, creq, start)
	if err != nil {
		status := meta.Status()
		if s := statusOf(err); s != 0 {
			status = s
		}
		if status == http.StatusNotFound {
			err = fmt.Errorf("%w: %w (check the model name and base URL)", runners.ErrModelNotFound, err)
		}
		err = r.redact(runners.Classify(op, err, status, meta.RetryAfter()))
		return runners.Failed(r.spec, 1, err)
	}
	res.Runner, res.Attempts = r.spec, 1
	return res, nil
}

func (r *Runner) stream(ctx context.Context, creq goopenai.ChatCompletionRequest, start time.Time) (runners.Result, error) {
	st, err := r.client.CreateChatCompletionStream(ctx, creq)
	if err != nil {
		return runners.Result{}, err
	}
	defer st.Close()
	var (
		out    strings.Builder
		ttft   time.Duration
		finish string
		usage  *goopenai.Usage
		model  = r.model
	)
	for {
		chunk, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return runners.Result{}, err
		}
		if chunk.Model != "" {
			model = chunk.Model
		}
		for _, ch := range chunk.Choices {
			if ch.Delta.Content != "" && ttft == 0 {
				ttft = time.Since(start)
			}
			out.WriteString(ch.Delta.Content)
			if ch.FinishReason != "" {
				finish = string(ch.FinishReason)
			}
		}
		if chunk.Usage != nil {
			usage = chunk.Usage
		}
	}
	latency := time.Since(start)
	if finish == "" {
		// go-openai reports a body that breaks off as a clean end.
		if err := ctx.Err(); err != nil {
			return runners.Result{}, err
		}
		return runners.Result{}, runners.ErrTruncated
	}
	res := runners.Result{
		Model:      model,
		Output:     out.String(),
		Latency:    runners.Duration(latency),
		TTFT:       runners.Duration(ttft),
		DoneReason: finish,
	}
	if usage != nil {
		res.PromptTokens, res.CompletionTokens = usage.PromptTokens, usage.CompletionTokens
	}
	return res, nil
}

// request builds the API request, and the fields go-openai would drop
// because they are zero (temperature 0, top_p 0, presence_penalty 0) but
// that must be sent.
func (r *Runner) request(req runners.Request) (goopenai.ChatCompletionRequest, map[string]any) {
	var msgs []goopenai.ChatCompletionMessage
	if req.System != "" {
		msgs = append(msgs, goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleSystem, Content: req.System})
	}
	msgs = append(msgs, goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleUser, Content: req.Prompt})
	c := goopenai.ChatCompletionRequest{
		Model:         r.model,
		Messages:      msgs,
		Stream:        true,
		StreamOptions: &goopenai.StreamOptions{IncludeUsage: true},
		Stop:          req.Params.Stop,
		Seed:          req.Params.Seed,
	}
	patch := map[string]any{}
	p := req.Params
	if p.Temperature != nil {
		c.Temperature = float32(*p.Temperature)
		patch["temperature"] = *p.Temperature
	}
	if p.TopP != nil {
		c.TopP = float32(*p.TopP)
		patch["top_p"] = *p.TopP
	}
	if p.PresencePenalty != nil {
		c.PresencePenalty = float32(*p.PresencePenalty)
		patch["presence_penalty"] = *p.PresencePenalty
	}
	if p.MaxTokens != nil {
		if reasoningModel(r.model) {
			c.MaxCompletionTokens = *p.MaxTokens
		} else {
			// max_tokens on purpose: OpenAI deprecates it for its own
			// models, but older OpenAI-compatible servers know only
			// max_tokens, and switching would change what they receive.
			//lint:ignore SA1019 the wire field max_tokens is wanted here (see above)
			c.MaxTokens = *p.MaxTokens
		}
	}
	return c, patch
}

// reasoningModel reports OpenAI's o-series and GPT-5 models, which refuse
// max_tokens and take max_completion_tokens instead (go-openai rejects
// max_tokens for them before sending). Other models, and the servers that
// imitate the API, keep the widely understood max_tokens.
func reasoningModel(model string) bool {
	for _, p := range []string{"o1", "o3", "o4", "gpt-5"} {
		if strings.HasPrefix(model, p) {
			return true
		}
	}
	return false
}

// redact removes the API key from err's text, keeping err's identity for
// errors.Is/As.
func (r *Runner) redact(err error) error {
	if err == nil || r.key == "" || !strings.Contains(err.Error(), r.key) {
		return err
	}
	return redacted{err: err, key: r.key}
}

type redacted struct {
	err error
	key string
}

// Error is the wrapped error's text with the key replaced.
func (e redacted) Error() string { return strings.ReplaceAll(e.err.Error(), e.key, "[REDACTED]") }

// Unwrap returns the wrapped error.
func (e redacted) Unwrap() error { return e.err }
