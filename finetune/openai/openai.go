// Package openai fine-tunes OpenAI models through the fine-tuning API,
// with github.com/sashabaranov/go-openai: it uploads a training file
// (purpose "fine-tune"), starts a job, and follows it to the end, so that
// the fine-tuned model can be evaluated as runner spec "openai:MODEL".
//
// The API key is handed to the client and nowhere else: error text that
// echoes it (OpenAI's 401 does) is redacted.
//
// # Examples
//
//	c := openai.New(openai.Config{APIKey: os.Getenv("OPENAI_API_KEY")})
//	f, err := c.Upload(ctx, "train.jsonl")
//	if err != nil {
//		return err
//	}
//	job, err := c.Create(ctx, openai.JobRequest{TrainingFile: f.ID, Model: "gpt-3.5-turbo"})
//	if err != nil {
//		return err
//	}
//	job, err = c.Wait(ctx, job.ID, openai.WaitOptions{Interval: 30 * time.Second})
//	if err != nil {
//		return err // a *JobError when the job failed or was cancelled
//	}
//	fmt.Println(c.RunnerSpec(job)) // openai:ft:gpt-3.5-turbo-0125:org::abc123
package openai

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/bertbench/bertbench/finetune"
	"github.com/bertbench/bertbench/runners"
)

// DefaultBaseURL is OpenAI's API.
const DefaultBaseURL = "https://api.openai.com/v1"

// DefaultInterval is the default time between two looks at a job.
const DefaultInterval = 30 * time.Second

// MaxPollFailures is how many looks at a job in a row may fail with a
// transient error (429, 5xx, a reset, a timeout) before Wait gives up.
const MaxPollFailures = 5

// ErrUnauthorized is matched by errors for requests the server refused the
// API key for (HTTP 401).
var ErrUnauthorized = errors.New("API key refused")

// Config configures a client.
type Config struct {
	// BaseURL is the API root ("" means DefaultBaseURL).
	BaseURL string
	// Org is the OpenAI organisation ID sent as OpenAI-Organization.
	Org string
	// APIKey is the bearer token; "" sends none.
	APIKey string
	// HTTPClient is the HTTP client (nil: a fresh one). Requests are
	// bounded by their context.
	HTTPClient *http.Client
}

// Client talks to the fine-tuning API. It is safe for concurrent use.
type Client struct {
	base   string
	key    string
	client *goopenai.Client
}

// New returns a client.
func New(cfg Config) *Client {
	cc := goopenai.DefaultConfig(cfg.APIKey)
	cc.BaseURL = DefaultBaseURL
	if cfg.BaseURL != "" {
		cc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	}
	cc.OrgID = cfg.Org
	if cfg.HTTPClient != nil {
		cc.HTTPClient = cfg.HTTPClient
	} else {
		cc.HTTPClient = &http.Client{}
	}
	return &Client{base: cc.BaseURL, key: cfg.APIKey, client: goopenai.NewClientWithConfig(cc)}
}

// BaseURL is the API root the client talks to.
func (c *Client) BaseURL() string { return c.base }

// File is an uploaded file.
type File struct {
	ID    string // e.g. "file-abc123"
	Name  string // the file name sent
	Bytes int    // its size as the server counted it
}

// Upload uploads the file at path for fine-tuning. A missing or unreadable
// file is an input error (finetune.ErrInvalidInput).
func (c *Client) Upload(ctx context.Context, path string) (File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return File{}, inputErr(fmt.Errorf("%s: %w", path, unwrapPath(err)))
	}
	f, err := c.client.CreateFileBytes(ctx, goopenai.FileBytesRequest{Name: filepath.Base(path), Bytes: data, Purpose: goopenai.PurposeFineTune})
	if err != nil {
		return File{}, c.wrap("uploading "+path, err)
	}
	return File{ID: f.ID, Name: f.FileName, Bytes: f.Bytes}, nil
}

// JobRequest says what to fine-tune.
type JobRequest struct {
	// TrainingFile is the uploaded training file's id. Required.
	TrainingFile string
	// ValidationFile is the uploaded validation file's id; "" for none.
	ValidationFile string
	// Model is the base model, e.g. "gpt-3.5-turbo". Required.
	Model string
	// Suffix is put into the fine-tuned model's name (up to 64
	// characters); "" for none.
	Suffix string
	// Epochs is the number of passes over the training file; 0 lets the
	// server choose ("auto").
	Epochs int
}

// Status is a job's status, as the API names it.
type Status string

// The statuses a job goes through; the last three are final.
const (
	ValidatingFiles Status = "validating_files"
	Queued          Status = "queued"
	Running         Status = "running"
	Succeeded       Status = "succeeded"
	Failed          Status = "failed"
	Cancelled       Status = "cancelled"
)

// Final reports whether a job in status s is over.
func (s Status) Final() bool { return s == Succeeded || s == Failed || s == Cancelled }

// Job is a fine-tuning job.
type Job struct {
	ID     string // e.g. "ftjob-abc123"
	Status Status
	// Model is the base model.
	Model string
	// FineTunedModel is the new model's name, once the job succeeded
	// (e.g. "ft:gpt-3.5-turbo-0125:my-org::abc123"); "" before.
	FineTunedModel string
	TrainingFile   string
	ValidationFile string
	// TrainedTokens is the number of tokens trained on, once known.
	TrainedTokens int
	CreatedAt     time.Time
	// FinishedAt is when the job ended; zero while it runs.
	FinishedAt time.Time
}

// RunnerSpec is the runner spec that evaluates the job's fine-tuned model:
// "openai:" + Job.FineTunedModel, with "@" + the base URL when the client
// talks to another server than OpenAI's (so that translate asks the same
// server); "" before the job succeeded.
func (c *Client) RunnerSpec(j Job) string {
	if j.FineTunedModel == "" {
		return ""
	}
	sp := runners.Spec{Provider: runners.ProviderOpenAI, Model: j.FineTunedModel}
	if c.base != DefaultBaseURL {
		sp.BaseURL = c.base
	}
	return sp.String()
}

func jobOf(j goopenai.FineTuningJob) Job {
	job := Job{ID: j.ID, Status: Status(j.Status), Model: j.Model, FineTunedModel: j.FineTunedModel,
		TrainingFile: j.TrainingFile, ValidationFile: j.ValidationFile, TrainedTokens: j.TrainedTokens}
	if j.CreatedAt > 0 {
		job.CreatedAt = time.Unix(j.CreatedAt, 0)
	}
	if j.FinishedAt > 0 {
		job.FinishedAt = time.Unix(j.FinishedAt, 0)
	}
	return job
}

// Create starts a fine-tuning job. A request the server refuses as
// invalid (HTTP 400 or 404: an unknown model, a file that is not training
// data) is an input error (finetune.ErrInvalidInput).
func (c *Client) Create(ctx context.Context, req JobRequest) (Job, error) {
	if req.TrainingFile == "" || req.Model == "" {
		return Job{}, inputErr(errors.New("a fine-tuning job needs a training file and a model"))
	}
	jr := goopenai.FineTuningJobRequest{TrainingFile: req.TrainingFile, ValidationFile: req.ValidationFile, Model: req.Model, Suffix: req.Suffix}
	if req.Epochs > 0 {
		jr.Hyperparameters = &goopenai.Hyperparameters{Epochs: req.Epochs}
	}
	j, err := c.client.CreateFineTuningJob(ctx, jr)
	if err != nil {
		return Job{}, c.wrap("creating the fine-tuning job", err)
	}
	return jobOf(j), nil
}

// Job looks up a job. An unknown id is an input error.
func (c *Client) Job(ctx context.Context, id string) (Job, error) {
	j, err := c.client.RetrieveFineTuningJob(ctx, id)
	if err != nil {
		return Job{}, c.wrap("looking up job "+id, err)
	}
	return jobOf(j), nil
}

// Event is a message a job logged.
type Event struct {
	CreatedAt time.Time
	Level     string // "info", "warn" or "error"
	Message   string
}

// Events returns the job's newest limit events, oldest first.
func (c *Client) Events(ctx context.Context, id string, limit int) ([]Event, error) {
	list, err := c.client.ListFineTuningJobEvents(ctx, id, goopenai.ListFineTuningJobEventsWithLimit(limit))
	if err != nil {
		return nil, c.wrap("listing the events of job "+id, err)
	}
	out := make([]Event, 0, len(list.Data))
	for i := len(list.Data) - 1; i >= 0; i-- { // the API lists newest first
		e := list.Data[i]
		out = append(out, Event{CreatedAt: time.Unix(e.CreatedAt, 0), Level: e.Level, Message: e.Message})
	}
	return out, nil
}

// Update is what Wait saw at one look at a job.
type Update struct {
	// Job is the job as it is now (as last seen, when Err is set).
	Job Job
	// StatusChanged reports that Job.Status differs from the last look
	// (true at the first look).
	StatusChanged bool
	// Events are the events logged since the last look, oldest first.
	Events []Event
	// Err is a transient failure of this look; Wait looks again.
	Err error
}

// WaitOptions tune Wait.
type WaitOptions struct {
	// Interval is the time between two looks (default DefaultInterval).
	Interval time.Duration
	// OnUpdate, when set, is called after every look.
	OnUpdate func(Update)
}

// eventKey identifies an event: the API gives ids, but go-openai does not
// decode them.
type eventKey struct {
	at             int64
	level, message string
}

func keyOf(e Event) eventKey { return eventKey{e.CreatedAt.Unix(), e.Level, e.Message} }

// eventsPerLook is how many of the newest events a look fetches.
const eventsPerLook = 50

// Wait follows a job until it is over, looking at it every
// Options.Interval. It returns the job once it succeeded; a *JobError
// when it failed or was cancelled; ctx's error, with the job as last seen,
// when ctx ends first (the job keeps running on the server); or the error
// of a look that failed for good (401, an unknown job, more than
// MaxPollFailures transient failures in a row).
func (c *Client) Wait(ctx context.Context, id string, opts WaitOptions) (Job, error) {
	interval := opts.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	var last Job
	var lastEvents []Event
	seen := make(map[eventKey]bool)
	failures := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for first := true; ; first = false {
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-timer.C:
		}
		job, err := c.Job(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return last, ctx.Err()
			}
			if failures++; !transient(err) || failures > MaxPollFailures {
				return last, err
			}
			if opts.OnUpdate != nil {
				opts.OnUpdate(Update{Job: last, Err: err})
			}
			timer.Reset(interval)
			continue
		}
		failures = 0
		u := Update{Job: job, StatusChanged: first || job.Status != last.Status}
		if events, err := c.Events(ctx, id, eventsPerLook); err == nil {
			lastEvents = events
			for _, e := range events {
				if k := keyOf(e); !seen[k] {
					seen[k] = true
					u.Events = append(u.Events, e)
				}
			}
		} else if ctx.Err() == nil {
			u.Err = err // progress only: the job's status is what counts
		}
		last = job
		if opts.OnUpdate != nil {
			opts.OnUpdate(u)
		}
		if job.Status.Final() {
			if job.Status == Succeeded {
				return job, nil
			}
			return job, c.jobError(ctx, job, lastEvents)
		}
		timer.Reset(interval)
	}
}

// JobError is a job that failed or was cancelled.
type JobError struct {
	Job Job
	// Reason is the job's last error event ("" when it logged none).
	Reason string
}

func (e *JobError) Error() string {
	msg := fmt.Sprintf("fine-tuning job %s %s", e.Job.ID, e.Job.Status)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// jobError builds the JobError for a job that ended without success,
// reading the reason from its events (go-openai does not decode the job's
// "error" field).
func (c *Client) jobError(ctx context.Context, job Job, lastEvents []Event) error {
	je := &JobError{Job: job}
	events, err := c.Events(ctx, job.ID, eventsPerLook)
	if err != nil {
		events = lastEvents
	}
	var newest time.Time
	for _, e := range events {
		if e.Level == "error" && !e.CreatedAt.Before(newest) {
			je.Reason, newest = e.Message, e.CreatedAt
		}
	}
	return je
}

// transient reports a look that may succeed if tried again.
func transient(err error) bool {
	var ce *runners.CallError
	return errors.As(err, &ce) && ce.Retryable
}

// wrap classifies and describes a failed request: a 401 matches
// ErrUnauthorized, a 400 or 404 finetune.ErrInvalidInput, and the error is
// a *runners.CallError (its Retryable says whether to try again). The API
// key is redacted from the text.
func (c *Client) wrap(op string, err error) error {
	status := statusOf(err)
	var apiErr *goopenai.APIError
	if errors.As(err, &apiErr) && apiErr.Message != "" {
		// go-openai's text repeats the status three times; the
		// CallError gives it once.
		err = apiMessage{apiErr.Message, err}
	}
	err = runners.Classify(op, c.redact(err), status, 0)
	switch status {
	case http.StatusUnauthorized:
		return unauthorized{fmt.Errorf("%w (the server at %s refused the API key)", err, c.base)}
	case http.StatusBadRequest, http.StatusNotFound:
		return inputErr(err)
	}
	return err
}

// statusOf returns the HTTP status of a go-openai error, 0 for none.
func statusOf(err error) int {
	var apiErr *goopenai.APIError
	var reqErr *goopenai.RequestError
	switch {
	case errors.As(err, &apiErr):
		return apiErr.HTTPStatusCode
	case errors.As(err, &reqErr):
		return reqErr.HTTPStatusCode
	}
	return 0
}

// redact removes the API key from err's text, keeping err's identity for
// errors.Is/As.
func (c *Client) redact(err error) error {
	if err == nil || c.key == "" || !strings.Contains(err.Error(), c.key) {
		return err
	}
	return redacted{err: err, key: c.key}
}

type redacted struct {
	err error
	key string
}

func (e redacted) Error() string { return strings.ReplaceAll(e.err.Error(), e.key, "[REDACTED]") }
func (e redacted) Unwrap() error { return e.err }

// apiMessage is an API error told by its message alone.
type apiMessage struct {
	msg string
	err error
}

func (e apiMessage) Error() string { return e.msg }
func (e apiMessage) Unwrap() error { return e.err }

type unauthorized struct{ err error }

func (e unauthorized) Error() string        { return e.err.Error() }
func (e unauthorized) Unwrap() error        { return e.err }
func (e unauthorized) Is(target error) bool { return target == ErrUnauthorized }

// inputErr marks err as caused by the caller's input.
func inputErr(err error) error { return inputError{err} }

type inputError struct{ err error }

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == finetune.ErrInvalidInput }

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
