// Package faultserver is a small HTTP server for tests that speaks just
// enough of the OpenAI chat completions API (SSE) and of Ollama's chat and
// generate API (NDJSON) to answer streamed calls, and injects faults on
// request: 429 with Retry-After, 500, a hang, a connection reset in the
// middle of the stream, 400, 404, and a 401 that echoes the caller's API key.
// It lists its models (GET /v1/models) as a real server does, so that a
// runner's preflight finds them without a model call.
package faultserver

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Fault is what the server does with one model call.
type Fault int

// Faults, applied to successive model calls; once the script is used up
// every call succeeds.
const (
	OK             Fault = iota
	RateLimit            // 429 with Retry-After (seconds in Server.RetryAfter)
	ServerError          // 500 with a JSON error body
	EmptyError           // 503 with an empty body
	Hang                 // no answer until the client gives up
	ResetMidStream       // first chunk, then a TCP reset
	BadRequest           // 400
	EchoAuth             // 401 whose body repeats the Authorization header
	NotFound             // 404: the model does not exist
)

// Output is the text every successful call streams, in two pieces
// (outputHead, then outputTail).
const Output = outputHead + outputTail

const (
	outputHead = "Hello, "
	outputTail = "world."
)

// Server is a running fault server.
type Server struct {
	*httptest.Server
	// RetryAfter is the Retry-After value sent with 429s (default "1").
	RetryAfter string
	// Models are the model names GET /v1/models lists (default
	// DefaultModel); set it before the first request.
	Models []string

	mu     sync.Mutex
	script []Fault
	calls  int
	bodies []string
	auths  []string
	hang   chan struct{}
}

// DefaultModel is the model the server lists unless told otherwise.
const DefaultModel = "fault-model"

// New starts a server that plays script, one fault per model call.
func New(script ...Fault) *Server {
	s := &Server{RetryAfter: "1", Models: []string{DefaultModel}, script: script, hang: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		data := make([]any, 0, len(s.Models))
		for _, m := range s.Models {
			data = append(data, map[string]any{"id": m, "object": "model", "owned_by": "faultserver"})
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data})
	})
	mux.HandleFunc("POST /v1/chat/completions", s.model(s.openAI))
	mux.HandleFunc("POST /api/chat", s.model(s.ollama))
	mux.HandleFunc("POST /api/generate", s.model(s.ollama))
	mux.HandleFunc("POST /api/show", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"modelfile":"FROM x\n","details":{"family":"llama"}}`)
	})
	mux.HandleFunc("GET /api/tags", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"models":[{"name":"fault:latest","model":"fault:latest","digest":"feedface","size":1}]}`)
	})
	s.Server = httptest.NewServer(mux)
	return s
}

// Close releases hanging handlers and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.hang:
	default:
		close(s.hang)
	}
	s.mu.Unlock()
	s.Server.CloseClientConnections()
	s.Server.Close()
}

// Calls returns how many model calls the server received.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Bodies returns the request bodies of the model calls received.
func (s *Server) Bodies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

// Auths returns the Authorization headers of the model calls received.
func (s *Server) Auths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auths...)
}

type dialect func(w http.ResponseWriter, r *http.Request, f Fault)

func (s *Server) model(d dialect) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		f := OK
		if s.calls < len(s.script) {
			f = s.script[s.calls]
		}
		s.calls++
		s.bodies = append(s.bodies, string(body))
		s.auths = append(s.auths, r.Header.Get("Authorization"))
		s.mu.Unlock()
		ollamaStyle := strings.HasPrefix(r.URL.Path, "/api/")
		httpError := func(w http.ResponseWriter, status int, msg string) { writeError(w, status, msg, ollamaStyle) }
		switch f {
		case RateLimit:
			w.Header().Set("Retry-After", s.RetryAfter)
			httpError(w, http.StatusTooManyRequests, "rate limit reached, slow down")
		case ServerError:
			httpError(w, http.StatusInternalServerError, "internal server error")
		case EmptyError:
			w.WriteHeader(http.StatusServiceUnavailable)
		case Hang:
			select {
			case <-r.Context().Done():
			case <-s.hang:
			}
		case BadRequest:
			httpError(w, http.StatusBadRequest, "invalid request: unsupported parameter")
		case NotFound:
			httpError(w, http.StatusNotFound, "model \"no-such-model\" not found")
		case EchoAuth:
			httpError(w, http.StatusUnauthorized, "Incorrect API key provided: "+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		default:
			d(w, r, f)
		}
	}
}

// writeError answers with an error in the dialect's shape: Ollama sends
// {"error": "text"}, OpenAI {"error": {"message": "text", ...}}.
func writeError(w http.ResponseWriter, status int, msg string, ollamaStyle bool) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if ollamaStyle {
		json.NewEncoder(w).Encode(map[string]any{"error": msg})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "test_fault", "code": status}})
}

// reset writes nothing more and aborts the connection with a TCP RST.
func reset(w http.ResponseWriter) {
	http.NewResponseController(w).Flush()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return // the handler returns: the stream still ends early
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

func (s *Server) openAI(w http.ResponseWriter, r *http.Request, f Fault) {
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
		http.NewResponseController(w).Flush()
	}
	delta := func(content string, finish any) map[string]any {
		return map[string]any{
			"id": "c1", "object": "chat.completion.chunk", "created": time.Now().Unix(), "model": "fault-model",
			"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"role": "assistant", "content": content}, "finish_reason": finish}},
		}
	}
	chunk(delta(outputHead, nil))
	if f == ResetMidStream {
		reset(w)
		return
	}
	chunk(delta(outputTail, nil))
	chunk(delta("", "stop"))
	chunk(map[string]any{"id": "c1", "object": "chat.completion.chunk", "model": "fault-model", "choices": []any{},
		"usage": map[string]any{"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}})
	io.WriteString(w, "data: [DONE]\n\n")
}

func (s *Server) ollama(w http.ResponseWriter, r *http.Request, f Fault) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	chat := r.URL.Path == "/api/chat"
	line := func(content string, done bool) {
		m := map[string]any{"model": "fault:latest", "created_at": time.Now().Format(time.RFC3339Nano), "done": done}
		if chat {
			m["message"] = map[string]any{"role": "assistant", "content": content}
		} else {
			m["response"] = content
		}
		if done {
			m["done_reason"] = "stop"
			m["prompt_eval_count"], m["eval_count"] = 7, 3
			m["total_duration"], m["eval_duration"] = 3000000, 2000000
		}
		b, _ := json.Marshal(m)
		w.Write(append(b, '\n'))
		http.NewResponseController(w).Flush()
	}
	line(outputHead, false)
	if f == ResetMidStream {
		reset(w)
		return
	}
	line(outputTail, false)
	line("", true)
}
