package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bertbench/bertbench/finetune"
	"github.com/bertbench/bertbench/finetune/openai"
	"github.com/bertbench/bertbench/finetune/openai/openaitest"
	"github.com/bertbench/bertbench/runners"
)

const chatLine = `{"messages":[{"role":"user","content":"Translate: Hallo"},{"role":"assistant","content":"你好"}]}` + "\n"

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func client(srv *openaitest.Server, key string) *openai.Client {
	return openai.New(openai.Config{BaseURL: srv.BaseURL(), APIKey: key})
}

// TestClient_FineTune: upload a training and a validation file, start a
// job with a suffix and an epoch count, and follow it to the fine-tuned
// model's runner spec, seeing every status change and every event once.
func TestClient_FineTune(t *testing.T) {
	ctx := context.Background()
	srv := openaitest.New(t)
	srv.Key = "sk-test"
	c := client(srv, "sk-test")
	train, err := c.Upload(ctx, writeFile(t, "train.jsonl", strings.Repeat(chatLine, 3)))
	if err != nil {
		t.Fatal(err)
	}
	val, err := c.Upload(ctx, writeFile(t, "val.jsonl", chatLine))
	if err != nil {
		t.Fatal(err)
	}
	files := srv.Files()
	if len(files) != 2 || files[0].Name != "train.jsonl" || files[0].Purpose != "fine-tune" || string(files[0].Content) != strings.Repeat(chatLine, 3) ||
		train.ID != files[0].ID || train.Bytes != 3*len(chatLine) || val.ID != files[1].ID {
		t.Fatalf("uploads %+v, %+v; server has %+v", train, val, files)
	}
	job, err := c.Create(ctx, openai.JobRequest{TrainingFile: train.ID, ValidationFile: val.ID, Model: "gpt-3.5-turbo", Suffix: "zh", Epochs: 3})
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != openai.ValidatingFiles || job.TrainingFile != train.ID || job.ValidationFile != val.ID || c.RunnerSpec(job) != "" {
		t.Errorf("created %+v", job)
	}
	got, _ := srv.Job(job.ID)
	var hyper map[string]any
	if err := json.Unmarshal(got.Hyperparameters, &hyper); err != nil || hyper["n_epochs"] != 3.0 || got.Suffix != "zh" || got.Model != "gpt-3.5-turbo" {
		t.Errorf("the server got %+v (hyperparameters %v)", got, hyper)
	}

	var statuses []openai.Status
	var events []string
	done, err := c.Wait(ctx, job.ID, openai.WaitOptions{Interval: time.Millisecond, OnUpdate: func(u openai.Update) {
		if u.Err != nil {
			t.Errorf("update error: %v", u.Err)
		}
		if u.StatusChanged {
			statuses = append(statuses, u.Job.Status)
		}
		for _, e := range u.Events {
			events = append(events, e.Message)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "openai:ft:gpt-3.5-turbo:org:zh:abc123@" + srv.BaseURL(); c.RunnerSpec(done) != want || done.Status != openai.Succeeded || done.TrainedTokens != 1234 || done.FinishedAt.IsZero() {
		t.Errorf("final job %+v, spec %q; want %q", done, c.RunnerSpec(done), want)
	}
	if want := []openai.Status{openai.Queued, openai.Running, openai.Succeeded}; !reflect.DeepEqual(statuses, want) {
		t.Errorf("status changes %v, want %v", statuses, want)
	}
	want := []string{"Validating training file: " + train.ID, "Files validated, moving job to queued state", "Fine-tuning job started",
		"Step 1/2: training loss=1.00", "Step 2/2: training loss=0.50", "New fine-tuned model created: ft:gpt-3.5-turbo:org:zh:abc123", "The job has successfully completed"}
	if !reflect.DeepEqual(events, want) {
		t.Errorf("events\n%q\nwant\n%q", events, want)
	}
}

// TestClient_FailedJob: a job that fails is a *JobError carrying the
// reason the job logged.
func TestClient_FailedJob(t *testing.T) {
	ctx := context.Background()
	srv := openaitest.New(t)
	srv.Fail = "The job failed due to an invalid training file. Expected file to have JSONL format."
	c := client(srv, "")
	f, err := c.Upload(ctx, writeFile(t, "train.jsonl", chatLine))
	if err != nil {
		t.Fatal(err)
	}
	job, err := c.Create(ctx, openai.JobRequest{TrainingFile: f.ID, Model: "gpt-3.5-turbo"})
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.Wait(ctx, job.ID, openai.WaitOptions{Interval: time.Millisecond})
	var je *openai.JobError
	if !errors.As(err, &je) || je.Job.Status != openai.Failed || je.Reason != srv.Fail || done.Status != openai.Failed || c.RunnerSpec(done) != "" {
		t.Fatalf("Wait: %+v, %v; want a *JobError with the reason", done, err)
	}
	if want := "fine-tuning job " + job.ID + " failed: " + srv.Fail; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// TestClient_Unauthorized: a refused key matches ErrUnauthorized, and the
// key the server echoes is not in the error.
func TestClient_Unauthorized(t *testing.T) {
	srv := openaitest.New(t)
	srv.Key = "sk-right"
	c := client(srv, "sk-wrong-secret")
	_, err := c.Upload(context.Background(), writeFile(t, "train.jsonl", chatLine))
	if !errors.Is(err, openai.ErrUnauthorized) || errors.Is(err, finetune.ErrInvalidInput) {
		t.Fatalf("error %v: want ErrUnauthorized", err)
	}
	if msg := err.Error(); strings.Contains(msg, "sk-wrong-secret") || !strings.Contains(msg, "[REDACTED]") || strings.Count(msg, "HTTP 401") != 1 || strings.Count(msg, "401 ") != 0 {
		t.Errorf("error %q: want the key redacted and the status once", msg)
	}
	if len(srv.Files()) != 0 {
		t.Error("the upload went through")
	}
}

// TestClient_InputErrors: what the caller can fix is ErrInvalidInput.
func TestClient_InputErrors(t *testing.T) {
	ctx := context.Background()
	srv := openaitest.New(t)
	c := client(srv, "")
	f, err := c.Upload(ctx, writeFile(t, "train.jsonl", chatLine))
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"missing file": func() error { _, err := c.Upload(ctx, filepath.Join(t.TempDir(), "none.jsonl")); return err },
		"unknown model": func() error {
			_, err := c.Create(ctx, openai.JobRequest{TrainingFile: f.ID, Model: "gpt-9"})
			return err
		},
		"unknown file": func() error {
			_, err := c.Create(ctx, openai.JobRequest{TrainingFile: "file-nope", Model: "gpt-3.5-turbo"})
			return err
		},
		"no model":    func() error { _, err := c.Create(ctx, openai.JobRequest{TrainingFile: f.ID}); return err },
		"unknown job": func() error { _, err := c.Job(ctx, "ftjob-nope"); return err },
	} {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, finetune.ErrInvalidInput) {
				t.Errorf("error %v: want ErrInvalidInput", err)
			}
		})
	}
}

// started creates a job on srv and returns its id.
func started(t *testing.T, c *openai.Client) string {
	t.Helper()
	ctx := context.Background()
	f, err := c.Upload(ctx, writeFile(t, "train.jsonl", chatLine))
	if err != nil {
		t.Fatal(err)
	}
	job, err := c.Create(ctx, openai.JobRequest{TrainingFile: f.ID, Model: "gpt-3.5-turbo"})
	if err != nil {
		t.Fatal(err)
	}
	return job.ID
}

// TestWait_Transient: lookups that fail with 503 are reported and tried
// again; more than MaxPollFailures in a row end the wait.
func TestWait_Transient(t *testing.T) {
	srv := openaitest.New(t)
	c := client(srv, "")
	id := started(t, c)
	srv.FailLookups(openai.MaxPollFailures)
	var errs int
	job, err := c.Wait(context.Background(), id, openai.WaitOptions{Interval: time.Millisecond, OnUpdate: func(u openai.Update) {
		if u.Err != nil {
			errs++
		}
	}})
	if err != nil || job.Status != openai.Succeeded || errs != openai.MaxPollFailures {
		t.Fatalf("Wait: %+v, %v, %d failed looks; want success after %d", job, err, errs, openai.MaxPollFailures)
	}

	id = started(t, c)
	srv.FailLookups(openai.MaxPollFailures + 1)
	_, err = c.Wait(context.Background(), id, openai.WaitOptions{Interval: time.Millisecond})
	var ce *runners.CallError
	if !errors.As(err, &ce) || ce.StatusCode != 503 {
		t.Errorf("Wait: %v; want the 503 after %d failed looks", err, openai.MaxPollFailures+1)
	}
}

// TestWait_Cancel: ending ctx ends the wait at once with ctx's error and
// the job as last seen; the job is not cancelled on the server.
func TestWait_Cancel(t *testing.T) {
	srv := openaitest.New(t)
	srv.RunningPolls = 1_000_000
	c := client(srv, "")
	id := started(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	looks := 0
	job, err := c.Wait(ctx, id, openai.WaitOptions{Interval: time.Hour, OnUpdate: func(u openai.Update) {
		looks++
		cancel() // during the hour-long pause after the first look
	}})
	if !errors.Is(err, context.Canceled) || job.ID != id || job.Status != openai.Queued || looks != 1 {
		t.Fatalf("Wait: %+v, %v after %d looks; want context.Canceled and the job as seen", job, err, looks)
	}
	if slices.ContainsFunc(srv.Requests(), func(r string) bool { return strings.HasSuffix(r, "/cancel") }) {
		t.Error("the job was cancelled on the server")
	}
	if j, _ := srv.Job(id); j.Status != "queued" {
		t.Errorf("job on the server: %+v", j)
	}
}

// TestRunnerSpec: the spec names OpenAI's API implicitly, any other
// server explicitly, and reads back to the fine-tuned model's name.
func TestRunnerSpec(t *testing.T) {
	job := openai.Job{FineTunedModel: "ft:gpt-3.5-turbo-0125:my-org::abc123"}
	for _, tc := range []struct{ base, want string }{
		{"", "openai:ft:gpt-3.5-turbo-0125:my-org::abc123"},
		{openai.DefaultBaseURL + "/", "openai:ft:gpt-3.5-turbo-0125:my-org::abc123"},
		{"http://127.0.0.1:8080/v1", "openai:ft:gpt-3.5-turbo-0125:my-org::abc123@http://127.0.0.1:8080/v1"},
	} {
		c := openai.New(openai.Config{BaseURL: tc.base})
		got := c.RunnerSpec(job)
		sp, err := runners.ParseSpec(got)
		if got != tc.want || err != nil || sp.Model != job.FineTunedModel {
			t.Errorf("base %q: spec %q (parsed %+v, %v), want %q", tc.base, got, sp, err, tc.want)
		}
	}
	if got := openai.New(openai.Config{}).RunnerSpec(openai.Job{}); got != "" {
		t.Errorf("spec of an unfinished job: %q", got)
	}
}
