package ollama

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/internal/httpmeta"
)

// Runner runs prompts on one model of one Ollama server. It is safe for
// concurrent use.
type Runner struct {
	spec   string
	model  string
	server *Server

	mu   sync.Mutex
	info *ModelInfo // set once the model is known to exist
}

// New returns a runner for model on server. spec is the runner spec string
// recorded in results ("" gives "ollama:MODEL").
func New(server *Server, model, spec string) *Runner {
	if spec == "" {
		spec = runners.ProviderOllama + ":" + model
	}
	return &Runner{spec: spec, model: model, server: server}
}

// Spec returns the runner spec string.
func (r *Runner) Spec() string { return r.spec }

// Check makes sure the server has the model, and returns what it knows
// about it. A missing model gives an error wrapping
// runners.ErrModelNotFound that says how to pull or create it. The answer
// is remembered once the model was found. The lock is not held across the
// request, so a caller whose ctx ends never waits for another's check.
func (r *Runner) Check(ctx context.Context) (ModelInfo, error) {
	r.mu.Lock()
	known := r.info
	r.mu.Unlock()
	if known != nil {
		return *known, nil
	}
	info, err := r.server.Model(ctx, r.model)
	if err != nil {
		return ModelInfo{}, err
	}
	r.mu.Lock()
	r.info = &info
	r.mu.Unlock()
	return info, nil
}

// ModelDigest returns the digest of the model's manifest, which changes
// whenever its weights, adapter, template or parameters change.
func (r *Runner) ModelDigest(ctx context.Context) (string, error) {
	info, err := r.Check(ctx)
	return info.Digest, err
}

// options maps request parameters to Ollama's option names.
func options(p runners.Params) map[string]any {
	o := map[string]any{}
	if p.Temperature != nil {
		o["temperature"] = *p.Temperature
	}
	if p.TopP != nil {
		o["top_p"] = *p.TopP
	}
	if p.Seed != nil {
		o["seed"] = *p.Seed
	}
	if p.MaxTokens != nil {
		o["num_predict"] = *p.MaxTokens
	}
	if p.NumCtx != nil {
		o["num_ctx"] = *p.NumCtx
	}
	if len(p.Stop) > 0 {
		o["stop"] = p.Stop
	}
	return o
}

// stream accumulates one streamed response.
type stream struct {
	start      time.Time
	ttft       time.Duration
	out        strings.Builder
	done       bool
	doneReason string
	model      string
	metrics    api.Metrics
}

func (s *stream) piece(text string) {
	if s.ttft == 0 && text != "" {
		s.ttft = time.Since(s.start)
	}
	s.out.WriteString(text)
}

// Run sends req and streams the answer. Before the first call it checks
// that the model exists.
func (r *Runner) Run(ctx context.Context, req runners.Request) (runners.Result, error) {
	info, err := r.Check(ctx)
	if err != nil {
		status := 0
		var se api.StatusError
		if errors.As(err, &se) {
			status = se.StatusCode
		}
		return runners.Failed(r.spec, 1, runners.Classify(r.spec, err, status, 0))
	}
	mode := req.Mode
	if mode == "" {
		mode = runners.ModeChat
	}
	var keepAlive *api.Duration
	if req.Params.KeepAlive != nil {
		keepAlive = &api.Duration{Duration: *req.Params.KeepAlive}
	}
	yes := true
	ctx, meta := httpmeta.With(ctx)
	st := &stream{start: time.Now(), model: r.model}
	switch mode {
	case runners.ModeChat:
		var msgs []api.Message
		if req.System != "" {
			msgs = append(msgs, api.Message{Role: "system", Content: req.System})
		}
		msgs = append(msgs, api.Message{Role: "user", Content: req.Prompt})
		err = r.server.client.Chat(ctx, &api.ChatRequest{
			Model: r.model, Messages: msgs, Stream: &yes, Options: options(req.Params), KeepAlive: keepAlive,
		}, func(cr api.ChatResponse) error {
			st.piece(cr.Message.Content)
			if cr.Done {
				st.done, st.doneReason, st.metrics, st.model = true, cr.DoneReason, cr.Metrics, cr.Model
			}
			return nil
		})
	case runners.ModeGenerate:
		err = r.server.client.Generate(ctx, &api.GenerateRequest{
			Model: r.model, Prompt: req.Prompt, System: req.System, Stream: &yes, Options: options(req.Params), KeepAlive: keepAlive,
		}, func(gr api.GenerateResponse) error {
			st.piece(gr.Response)
			if gr.Done {
				st.done, st.doneReason, st.metrics, st.model = true, gr.DoneReason, gr.Metrics, gr.Model
			}
			return nil
		})
	default:
		return runners.Failed(r.spec, 0, fmt.Errorf("%s: unknown mode %q (want chat or generate)", r.spec, mode))
	}
	latency := time.Since(st.start)
	op := fmt.Sprintf("ollama %s %s", mode, r.model)
	if err == nil && !st.done {
		// The API client ends quietly when the body breaks off; an
		// error status with an empty body also lands here.
		if cerr := ctx.Err(); cerr != nil {
			err = cerr
		} else {
			err = runners.ErrTruncated
		}
	}
	if err != nil {
		status := meta.Status()
		var se api.StatusError
		if errors.As(err, &se) {
			status = se.StatusCode
			if se.StatusCode == http.StatusNotFound {
				r.forget()
				err = fmt.Errorf("%w: %w", runners.ErrModelNotFound, err)
			}
		}
		if status >= 400 && !errors.As(err, &se) {
			err = fmt.Errorf("%w (HTTP %d)", err, status)
		}
		return runners.Failed(r.spec, 1, runners.Classify(op, err, status, meta.RetryAfter()))
	}
	m := st.metrics
	return runners.Result{
		Runner:           r.spec,
		Model:            st.model,
		ModelDigest:      info.Digest,
		Output:           st.out.String(),
		Latency:          runners.Duration(latency),
		TTFT:             runners.Duration(st.ttft),
		PromptTokens:     m.PromptEvalCount,
		CompletionTokens: m.EvalCount,
		Ollama: &runners.OllamaCounters{
			PromptEvalCount:    m.PromptEvalCount,
			EvalCount:          m.EvalCount,
			TotalDuration:      runners.Duration(m.TotalDuration),
			LoadDuration:       runners.Duration(m.LoadDuration),
			PromptEvalDuration: runners.Duration(m.PromptEvalDuration),
			EvalDuration:       runners.Duration(m.EvalDuration),
		},
		DoneReason: st.doneReason,
		Attempts:   1,
	}, nil
}

// forget drops the remembered model check (the model vanished).
func (r *Runner) forget() {
	r.mu.Lock()
	r.info = nil
	r.mu.Unlock()
}
