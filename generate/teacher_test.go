package generate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/cache"
	"github.com/bertbench/bertbench/runners/factory"
	"github.com/bertbench/bertbench/runners/retry"
)

// answer is what the scripted teacher does for one request: stream text
// (finish reason "stop", or "length" with truncated), or fail with an
// HTTP status; delay holds the answer back, to finish calls out of order.
type answer struct {
	text      string
	truncated bool
	status    int
	delay     time.Duration
}

// scriptedTeacher is an OpenAI-compatible chat completions server (SSE
// streaming, GET /v1/models) whose answers are scripted by request seed,
// the request's index in a run: real JSON answers of a real API shape,
// deterministic whatever order the calls come in.
type scriptedTeacher struct {
	*httptest.Server
	mu     sync.Mutex
	script func(seed int) answer
	calls  map[int]int // calls by seed
	bodies []map[string]any
}

func newScriptedTeacher(t *testing.T, script func(seed int) answer) *scriptedTeacher {
	t.Helper()
	s := &scriptedTeacher{script: script, calls: map[int]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"object":"list","data":[{"id":"teacher","object":"model","owned_by":"test"}]}`)
	})
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *scriptedTeacher) chat(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	seed := -1
	if v, ok := body["seed"].(float64); ok {
		seed = int(v)
	}
	s.mu.Lock()
	s.calls[seed]++
	s.bodies = append(s.bodies, body)
	a := s.script(seed)
	s.mu.Unlock()
	if a.delay > 0 {
		select {
		case <-time.After(a.delay):
		case <-r.Context().Done():
			return
		}
	}
	if a.status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		fmt.Fprintf(w, `{"error":{"message":"scripted failure %d","type":"test"}}`, a.status)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
	}
	finish := "stop"
	if a.truncated {
		finish = "length"
	}
	choice := func(content string, finish any) map[string]any {
		return map[string]any{"id": "c", "object": "chat.completion.chunk", "model": "teacher",
			"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"role": "assistant", "content": content}, "finish_reason": finish}}}
	}
	chunk(choice(a.text, nil))
	chunk(choice("", finish))
	chunk(map[string]any{"id": "c", "object": "chat.completion.chunk", "model": "teacher", "choices": []any{},
		"usage": map[string]any{"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30}})
	io.WriteString(w, "data: [DONE]\n\n")
}

// callsFor returns how many calls came with each seed, and in all.
func (s *scriptedTeacher) callsFor() (map[int]int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, n := map[int]int{}, 0
	for k, v := range s.calls {
		m[k] = v
		n += v
	}
	return m, n
}

// runner builds the teacher's runner as the command line does (retries,
// concurrency limit, the response cache in cacheDir, pricing).
func (s *scriptedTeacher) runner(t *testing.T, cacheDir string, concurrency int) runners.Runner {
	t.Helper()
	var store *cache.Store
	if cacheDir != "" {
		var err error
		if store, err = cache.Open(cacheDir); err != nil {
			t.Fatal(err)
		}
	}
	r, err := factory.New("openai-compatible:teacher@"+s.URL+"/v1", factory.Options{
		Concurrency: concurrency,
		Cache:       store,
		Retry:       retry.Policy{MaxAttempts: 1, Timeout: 30 * time.Second},
		Getenv:      func(string) string { return "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// pair is a JSON answer with a source and a reference.
func pair(src, ref string) answer {
	b, _ := json.Marshal(map[string]string{"source": src, "reference": ref})
	return answer{text: string(b)}
}

// stubRunner only names a teacher; it is never called.
type stubRunner struct{}

func (stubRunner) Spec() string { return "test:stub" }
func (stubRunner) Run(context.Context, runners.Request) (runners.Result, error) {
	return runners.Result{}, errors.New("stubRunner is not to be called")
}
