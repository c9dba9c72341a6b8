package openai

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/bertbench/bertbench/runners"
)

// maxListed is how many of the server's model names an error quotes.
const maxListed = 10

// Preflight makes sure, before the first call, that the server answers
// and serves the model, so that a batch stops before its first line
// instead of retrying every line. It lists the server's models; when the
// list does not name the model (some servers list none, or list a file
// name but answer to any), it asks for one completion of one token. The
// run is stopped for a server that cannot be reached (an error matching
// runners.ErrUnreachable), a model the server answers 404 for (matching
// runners.ErrModelNotFound; for a base URL without /v1 the error suggests
// adding it), and a refused API key; any other answer means the server is
// there, and the calls themselves report what is wrong.
func (r *Runner) Preflight(ctx context.Context) error {
	list, lerr := r.client.ListModels(ctx)
	if lerr == nil && listed(list, r.model) {
		return nil
	}
	if err := r.decisive(lerr); err != nil {
		return err
	}
	perr := r.probe(ctx)
	if perr == nil {
		return nil
	}
	if err := r.decisive(perr); err != nil {
		return err
	}
	if statusOf(perr) != http.StatusNotFound {
		return nil
	}
	if statusOf(lerr) == http.StatusNotFound && !strings.HasSuffix(r.base, "/v1") {
		fix := "--openai-base-url " + r.base + "/v1"
		if strings.HasSuffix(r.spec, "@"+r.base) {
			fix = r.spec + "/v1"
		}
		return r.redact(fmt.Errorf("%s: the server at %s answers 404 for /models and /chat/completions: OpenAI-compatible servers serve the API under /v1; try %s", r.spec, r.base, fix))
	}
	var names []string
	if lerr == nil {
		for i, m := range list.Models {
			if i == maxListed {
				names = append(names, "…")
				break
			}
			names = append(names, m.ID)
		}
	}
	has := ""
	if len(names) > 0 {
		has = " (it serves " + strings.Join(names, ", ") + ")"
	}
	return r.redact(fmt.Errorf("%s: model %q is not on the server at %s%s: check the model name in the runner spec (%w)", r.spec, r.model, r.base, has, runners.ErrModelNotFound))
}

// decisive returns the preflight error for a failed request that settles
// the question: the server cannot be reached, or refuses the API key.
func (r *Runner) decisive(err error) error {
	switch {
	case err == nil:
		return nil
	case runners.Unreachable(err):
		return r.redact(fmt.Errorf("%s: cannot reach the server at %s (is it running? check the URL in the runner spec): %w", r.spec, r.base, runners.Classify("listing models", err, 0, 0)))
	case statusOf(err) == http.StatusUnauthorized:
		return r.redact(fmt.Errorf("%s: the server at %s refused the API key (HTTP 401): %w", r.spec, r.base, err))
	}
	return nil
}

// probe asks for a one-token completion of a one-word prompt.
func (r *Runner) probe(ctx context.Context) error {
	creq, patch := r.request(runners.Request{Prompt: "Hi", Params: runners.Params{MaxTokens: ptr(1)}})
	creq.Stream, creq.StreamOptions = false, nil
	_, err := r.client.CreateChatCompletion(withPatch(ctx, patch), creq)
	return err
}

// listed reports whether the model list names model.
func listed(list goopenai.ModelsList, model string) bool {
	for _, m := range list.Models {
		if m.ID == model {
			return true
		}
	}
	return false
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

func ptr[T any](v T) *T { return &v }
