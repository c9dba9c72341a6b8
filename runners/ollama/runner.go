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

	mu      sync.Mutex
	info    *ModelInfo  // set once the model is known to exist
	windows map[int]int // context window by requested num_ctx (0: unset)
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

// Preflight checks that the server answers and has the model.
func (r *Runner) Preflight(ctx context.Context) error {
	_, err := r.Check(ctx)
	return err
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
	if p.PresencePenalty != nil {
		o["presence_penalty"] = *p.PresencePenalty
	}
	return o
}

// stream accumulates one streamed response.
type stream struct {
	start      time.Time
	ttft       time.Duration
	out        strings.Builder
	pieces     int // non-empty pieces of output received
	done       bool
	doneReason string
	model      string
	metrics    api.Metrics
}

func (s *stream) piece(text string) {
	if text == "" {
		return
	}
	if s.ttft == 0 {
		s.ttft = time.Since(s.start)
	}
	s.pieces++
	s.out.WriteString(text)
}

func (s *stream) final(done bool, reason, model string, m api.Metrics) {
	if done {
		s.done, s.doneReason, s.metrics, s.model = true, reason, m, model
	}
}

// send makes one chat or generate call for req, streamed or not, feeding
// st.
func (r *Runner) send(ctx context.Context, mode runners.Mode, req runners.Request, streamed bool, st *stream) error {
	var keepAlive *api.Duration
	if req.Params.KeepAlive != nil {
		keepAlive = &api.Duration{Duration: *req.Params.KeepAlive}
	}
	opts := options(req.Params)
	switch mode {
	case runners.ModeChat:
		var msgs []api.Message
		if req.System != "" {
			msgs = append(msgs, api.Message{Role: "system", Content: req.System})
		}
		msgs = append(msgs, api.Message{Role: "user", Content: req.Prompt})
		return r.server.client.Chat(ctx, &api.ChatRequest{
			Model: r.model, Messages: msgs, Stream: &streamed, Options: opts, KeepAlive: keepAlive,
		}, func(cr api.ChatResponse) error {
			st.piece(cr.Message.Content)
			st.final(cr.Done, cr.DoneReason, cr.Model, cr.Metrics)
			return nil
		})
	case runners.ModeGenerate:
		return r.server.client.Generate(ctx, &api.GenerateRequest{
			Model: r.model, Prompt: req.Prompt, System: req.System, Stream: &streamed, Options: opts, KeepAlive: keepAlive,
		}, func(gr api.GenerateResponse) error {
			st.piece(gr.Response)
			st.final(gr.Done, gr.DoneReason, gr.Model, gr.Metrics)
			return nil
		})
	}
	return fmt.Errorf("%s: unknown mode %q (want chat or generate)", r.spec, mode)
}

// Run sends req and streams the answer. Before the first call it checks
// that the model exists.
//
// A prompt longer than the context window is cut by the server to fit;
// the result then has TruncatedInput set. A stream that the server ends
// without its final message (Ollama does so when it aborts a generation,
// as when the context window filled) is a final error wrapping
// runners.ErrContextFull or runners.ErrAborted, not a transient failure;
// only a stream that breaks off (a reset, a dropped connection) is retried.
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
	if mode != runners.ModeChat && mode != runners.ModeGenerate {
		return runners.Failed(r.spec, 0, fmt.Errorf("%s: unknown mode %q (want chat or generate)", r.spec, mode))
	}
	cctx, meta := httpmeta.With(ctx)
	st := &stream{start: time.Now(), model: r.model}
	err = r.send(cctx, mode, req, true, st)
	latency := time.Since(st.start)
	op := fmt.Sprintf("ollama %s %s", mode, r.model)
	if err == nil && !st.done {
		// The API client ends quietly when the body breaks off, when the
		// server ends the stream early, and for an error status with an
		// empty body.
		switch {
		case ctx.Err() != nil:
			err = ctx.Err()
		case meta.BodyErr() != nil:
			err = fmt.Errorf("%w: %w", runners.ErrTruncated, meta.BodyErr())
		case meta.Status() >= 400:
			err = runners.ErrTruncated
		default:
			return r.endedEarly(ctx, op, mode, req, st)
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
	window := r.contextWindow(ctx, req.Params.NumCtx, info)
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
			NumCtx:             window,
		},
		DoneReason:     st.doneReason,
		TruncatedInput: window > 0 && m.PromptEvalCount >= window,
		Attempts:       1,
	}, nil
}

// endedEarly classifies a stream the server ended, cleanly, without its
// final message. Ollama 0.24 does that when it aborts a generation that
// repeats one token more than 30 times, which is what a model does once
// its context window has filled (Ollama shifts the window, and the model
// loses its input). Whether the window was full needs the prompt's token
// count, which only a final message carries: one more call for a single
// token, with the same prompt and settings, tells it.
func (r *Runner) endedEarly(ctx context.Context, op string, mode runners.Mode, req runners.Request, st *stream) (runners.Result, error) {
	probe := req
	probe.Params.MaxTokens = ptr(1)
	pst := &stream{start: time.Now()}
	prompt := 0
	if err := r.send(ctx, mode, probe, false, pst); err == nil && pst.done {
		prompt = pst.metrics.PromptEvalCount
	}
	if err := ctx.Err(); err != nil {
		return runners.Failed(r.spec, 1, err)
	}
	info, _ := r.Check(ctx)
	window := r.contextWindow(ctx, req.Params.NumCtx, info)
	res := runners.Result{Runner: r.spec, Model: r.model, ModelDigest: info.Digest, PromptTokens: prompt, Attempts: 1,
		Ollama: &runners.OllamaCounters{PromptEvalCount: prompt, NumCtx: window}}
	res.TruncatedInput = window > 0 && prompt >= window
	var err error
	if window > 0 && prompt > 0 && prompt+st.pieces >= window {
		err = fmt.Errorf("%w (%d tokens): raise --num-ctx or lower --max-tokens (the prompt took %d tokens; Ollama ended the stream without its final message after %d pieces of output)",
			runners.ErrContextFull, window, prompt, st.pieces)
	} else {
		used := ""
		if window > 0 && prompt > 0 {
			used = fmt.Sprintf(", with %d of the %d-token context window used", prompt+st.pieces, window)
		}
		err = fmt.Errorf("%w: Ollama ended the stream without its final message after %d pieces of output%s; Ollama does so when a model repeats one token more than 30 times, and at the same settings a retry repeats it (change the prompt, set --max-tokens, or sample at a temperature above 0)",
			runners.ErrAborted, st.pieces, used)
	}
	err = &runners.CallError{Op: op, StatusCode: http.StatusOK, Err: err}
	res.Error = err.Error()
	return res, err
}

// contextWindow returns the context window, in tokens, the server runs
// the model with for requests asking for numCtx (nil: the server's
// default): the loaded model's context length as the server reports it,
// else numCtx capped at the model's training context; 0 when unknown.
// Answers are remembered per numCtx.
func (r *Runner) contextWindow(ctx context.Context, numCtx *int, info ModelInfo) int {
	key := 0
	if numCtx != nil {
		key = *numCtx
	}
	r.mu.Lock()
	n, ok := r.windows[key]
	r.mu.Unlock()
	if ok {
		return n
	}
	n = r.server.loadedContext(ctx, r.model, info.Digest)
	if n == 0 && numCtx != nil {
		n = *numCtx
		if info.ContextLength > 0 && n > info.ContextLength {
			n = info.ContextLength
		}
	}
	if n > 0 {
		r.mu.Lock()
		if r.windows == nil {
			r.windows = map[int]int{}
		}
		r.windows[key] = n
		r.mu.Unlock()
	}
	return n
}

func ptr[T any](v T) *T { return &v }

// forget drops the remembered model check (the model vanished).
func (r *Runner) forget() {
	r.mu.Lock()
	r.info = nil
	r.mu.Unlock()
}
