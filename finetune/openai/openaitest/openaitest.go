// Package openaitest is a local stand-in for the part of OpenAI's API that
// fine-tuning uses, for tests: no real OpenAI can run offline, so this is
// the one place bertbench tests against a stand-in rather than the real
// server. It implements, with the documented request and response shapes:
//
//   - POST /v1/files: a multipart upload with "purpose" and "file"; answers
//     the file object ({"id": "file-…", "object": "file", "bytes",
//     "created_at", "filename", "purpose"}). A purpose other than
//     "fine-tune" is a 400.
//   - POST /v1/fine_tuning/jobs: {"training_file", "validation_file",
//     "model", "suffix", "hyperparameters"}; answers the fine_tuning.job
//     object in status "validating_files". An unknown file or model is a
//     400.
//   - GET /v1/fine_tuning/jobs/{id}: the job; each request moves it one
//     step along validating_files → queued → running (Server.RunningPolls
//     requests) → succeeded (with "fine_tuned_model" set) or failed (with
//     "error": {"code", "message", "param"}), as Server.Fail says.
//   - GET /v1/fine_tuning/jobs/{id}/events: the job's
//     fine_tuning.job.event objects, newest first, at most ?limit.
//   - POST /v1/fine_tuning/jobs/{id}/cancel: the job, cancelled.
//
// Server.FailLookups makes job lookups answer 503 for a while.
//
// Every request must carry "Authorization: Bearer " + Server.Key when Key
// is set; otherwise the answer is OpenAI's 401, whose message (like the
// real one) repeats the key it was given.
package openaitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
)

// Server is a running stand-in. Set its fields before the first request.
type Server struct {
	*httptest.Server
	// Key is the API key requests must carry; "" accepts any or none.
	Key string
	// Models are the base models a job may name (default gpt-3.5-turbo and
	// gpt-4o-mini-2024-07-18).
	Models []string
	// RunningPolls is how many job requests see the job running before it
	// finishes (default 2).
	RunningPolls int
	// Fail, when set, is the message of the error the job fails with
	// instead of succeeding.
	Fail string
	// Org is the organisation in fine-tuned model names (default "org").
	Org string

	mu          sync.Mutex
	unavailable int // job lookups still to answer 503
	files       map[string]*file
	jobs        map[string]*job
	seq         int
	log         []string
}

// File is an uploaded file as the server keeps it.
type File struct {
	ID, Name, Purpose string
	Content           []byte
}

type file struct {
	File
	created int64
}

// job is a fine-tuning job and its script.
type job struct {
	ID, Model, Suffix, Status string
	TrainingFile              string
	ValidationFile            string
	Hyperparameters           json.RawMessage
	created, finished         int64
	polls                     int
	fineTuned                 string
	errMsg                    string
	events                    []event // oldest first
}

type event struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	CreatedAt int64  `json:"created_at"`
	Level     string `json:"level"`
	Message   string `json:"message"`
	Data      any    `json:"data"`
	Type      string `json:"type"`
}

// epoch is the stand-in's clock: a fixed start, one second a request.
const epoch = 1_700_000_000

// New starts a stand-in; it is closed when the test ends.
func New(tb interface {
	Helper()
	Cleanup(func())
}) *Server {
	tb.Helper()
	s := &Server{files: make(map[string]*file), jobs: make(map[string]*job)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/files", s.upload)
	mux.HandleFunc("POST /v1/fine_tuning/jobs", s.create)
	mux.HandleFunc("GET /v1/fine_tuning/jobs/{id}", s.retrieve)
	mux.HandleFunc("GET /v1/fine_tuning/jobs/{id}/events", s.listEvents)
	mux.HandleFunc("POST /v1/fine_tuning/jobs/{id}/cancel", s.cancel)
	s.Server = httptest.NewServer(s.auth(mux))
	tb.Cleanup(s.Close)
	return s
}

// BaseURL is the API root clients are given: the server's URL plus /v1.
func (s *Server) BaseURL() string { return s.URL + "/v1" }

// Files are the uploaded files, in upload order.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []File
	for i := 1; i <= s.seq; i++ {
		if f, ok := s.files[fmt.Sprintf("file-%d", i)]; ok {
			out = append(out, f.File)
		}
	}
	return out
}

// Requests are the requests served so far, as "METHOD PATH".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// Job is a job as the server keeps it: what its creation asked for, and
// where it is.
type Job struct {
	ID, Model, Suffix, Status    string
	TrainingFile, ValidationFile string
	// Hyperparameters is the request's "hyperparameters" as sent; nil
	// when it sent none.
	Hyperparameters json.RawMessage
}

// Job returns the job with id, and false when there is none.
func (s *Server) Job(id string) (Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	if j == nil {
		return Job{}, false
	}
	return Job{ID: j.ID, Model: j.Model, Suffix: j.Suffix, Status: j.Status, TrainingFile: j.TrainingFile,
		ValidationFile: j.ValidationFile, Hyperparameters: j.Hyperparameters}, true
}

// FailLookups makes the next n job lookups (GET
// /v1/fine_tuning/jobs/{id}) answer 503, as an overloaded server does.
func (s *Server) FailLookups(n int) {
	s.mu.Lock()
	s.unavailable = n
	s.mu.Unlock()
}

func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.log = append(s.log, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if s.Key != "" && got != s.Key {
			apiError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key",
				fmt.Sprintf("Incorrect API key provided: %s. You can find your API key at https://platform.openai.com/account/api-keys.", got))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// apiError writes OpenAI's error body.
func apiError(w http.ResponseWriter, status int, typ, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code}})
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// now is the clock, under s.mu.
func (s *Server) now() int64 { return epoch + int64(len(s.log)) }

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(64 << 20); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "", "the body must be multipart/form-data: "+err.Error())
		return
	}
	purpose := r.FormValue("purpose")
	if purpose != "fine-tune" {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "", fmt.Sprintf("'%s' is not one of ['fine-tune', 'assistants', 'batch', 'user_data', 'vision', 'evals'] - 'purpose'", purpose))
		return
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "", "no file: "+err.Error())
		return
	}
	defer f.Close()
	content, err := io.ReadAll(f)
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "", err.Error())
		return
	}
	s.mu.Lock()
	s.seq++
	ff := &file{File: File{ID: fmt.Sprintf("file-%d", s.seq), Name: hdr.Filename, Purpose: purpose, Content: content}, created: s.now()}
	s.files[ff.ID] = ff
	s.mu.Unlock()
	reply(w, fileObject(ff))
}

func fileObject(f *file) map[string]any {
	return map[string]any{"id": f.ID, "object": "file", "bytes": len(f.Content), "created_at": f.created,
		"filename": f.Name, "purpose": f.Purpose, "status": "processed", "status_details": nil}
}

func (s *Server) models() []string {
	if len(s.Models) > 0 {
		return s.Models
	}
	return []string{"gpt-3.5-turbo", "gpt-4o-mini-2024-07-18"}
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TrainingFile    string          `json:"training_file"`
		ValidationFile  string          `json:"validation_file"`
		Model           string          `json:"model"`
		Suffix          string          `json:"suffix"`
		Hyperparameters json.RawMessage `json:"hyperparameters"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "", "malformed JSON body: "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for field, id := range map[string]string{"training_file": req.TrainingFile, "validation_file": req.ValidationFile} {
		if id == "" && field == "validation_file" {
			continue
		}
		if _, ok := s.files[id]; !ok {
			apiError(w, http.StatusBadRequest, "invalid_request_error", "invalid_file", fmt.Sprintf("invalid %s: %q", field, id))
			return
		}
	}
	known := false
	for _, m := range s.models() {
		known = known || m == req.Model
	}
	if !known {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "model_not_available", fmt.Sprintf("Model %s is not available for fine-tuning or does not exist.", req.Model))
		return
	}
	s.seq++
	j := &job{ID: fmt.Sprintf("ftjob-%d", s.seq), Model: req.Model, Suffix: req.Suffix, Status: "validating_files",
		TrainingFile: req.TrainingFile, ValidationFile: req.ValidationFile, Hyperparameters: req.Hyperparameters, created: s.now()}
	s.jobs[j.ID] = j
	s.addEvent(j, "info", "Validating training file: "+req.TrainingFile)
	reply(w, s.jobObject(j))
}

// addEvent appends an event, under s.mu.
func (s *Server) addEvent(j *job, level, msg string) {
	j.events = append(j.events, event{ID: fmt.Sprintf("ftevent-%s-%d", j.ID, len(j.events)+1), Object: "fine_tuning.job.event",
		CreatedAt: s.now(), Level: level, Message: msg, Type: "message"})
}

// step moves a job one step along its script, under s.mu.
func (s *Server) step(j *job) {
	running := s.RunningPolls
	if running == 0 {
		running = 2
	}
	switch j.Status {
	case "validating_files":
		j.Status = "queued"
		s.addEvent(j, "info", "Files validated, moving job to queued state")
	case "queued":
		j.Status = "running"
		s.addEvent(j, "info", "Fine-tuning job started")
	case "running":
		j.polls++
		s.addEvent(j, "info", fmt.Sprintf("Step %d/%d: training loss=%.2f", j.polls, running, 1/float64(j.polls)))
		if j.polls < running {
			return
		}
		j.finished = s.now()
		if s.Fail != "" {
			j.Status, j.errMsg = "failed", s.Fail
			s.addEvent(j, "error", s.Fail)
			return
		}
		j.Status = "succeeded"
		org := s.Org
		if org == "" {
			org = "org"
		}
		j.fineTuned = fmt.Sprintf("ft:%s:%s:%s:abc123", j.Model, org, j.Suffix)
		s.addEvent(j, "info", "New fine-tuned model created: "+j.fineTuned)
		s.addEvent(j, "info", "The job has successfully completed")
	}
}

func (s *Server) jobOf(w http.ResponseWriter, r *http.Request) *job {
	j := s.jobs[r.PathValue("id")]
	if j == nil {
		apiError(w, http.StatusNotFound, "invalid_request_error", "fine_tune_not_found", fmt.Sprintf("Could not find fine tune: %s", r.PathValue("id")))
	}
	return j
}

func (s *Server) retrieve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unavailable > 0 {
		s.unavailable--
		apiError(w, http.StatusServiceUnavailable, "server_error", "", "The server is overloaded or not ready yet.")
		return
	}
	j := s.jobOf(w, r)
	if j == nil {
		return
	}
	s.step(j)
	reply(w, s.jobObject(j))
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobOf(w, r)
	if j == nil {
		return
	}
	j.Status, j.finished = "cancelled", s.now()
	reply(w, s.jobObject(j))
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobOf(w, r)
	if j == nil {
		return
	}
	limit := 20
	if l, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && l > 0 {
		limit = l
	}
	var data []event
	for i := len(j.events) - 1; i >= 0 && len(data) < limit; i-- {
		data = append(data, j.events[i])
	}
	reply(w, map[string]any{"object": "list", "data": data, "has_more": len(data) < len(j.events)})
}

// jobObject is the fine_tuning.job object, under s.mu.
func (s *Server) jobObject(j *job) map[string]any {
	hyper := map[string]any{"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto"}
	if len(j.Hyperparameters) > 0 {
		var h map[string]any
		if json.Unmarshal(j.Hyperparameters, &h) == nil {
			for k, v := range h {
				hyper[k] = v
			}
		}
	}
	obj := map[string]any{
		"object": "fine_tuning.job", "id": j.ID, "model": j.Model, "created_at": j.created,
		"fine_tuned_model": nil, "finished_at": nil, "organization_id": "org-test", "result_files": []string{},
		"status": j.Status, "hyperparameters": hyper, "training_file": j.TrainingFile, "validation_file": nil,
		"trained_tokens": nil, "error": nil, "seed": 42, "estimated_finish": nil, "integrations": []any{}, "metadata": nil,
	}
	if j.ValidationFile != "" {
		obj["validation_file"] = j.ValidationFile
	}
	if j.finished != 0 {
		obj["finished_at"] = j.finished
	}
	switch j.Status {
	case "succeeded":
		obj["fine_tuned_model"] = j.fineTuned
		obj["trained_tokens"] = 1234
		obj["result_files"] = []string{"file-result"}
	case "failed":
		obj["error"] = map[string]any{"code": "invalid_training_file", "message": j.errMsg, "param": "training_file"}
	}
	return obj
}
