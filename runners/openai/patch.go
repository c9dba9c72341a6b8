package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

type patchKey struct{}

// withPatch asks the transport to set the given top-level JSON fields in
// the request body. go-openai tags temperature and top_p "omitempty", so
// without this a requested temperature of 0 — greedy decoding — would not
// be sent and the server would sample at its default (1.0).
func withPatch(ctx context.Context, fields map[string]any) context.Context {
	if len(fields) == 0 {
		return ctx
	}
	return context.WithValue(ctx, patchKey{}, fields)
}

type patchTransport struct{ base http.RoundTripper }

// RoundTrip sets the context's fields in the JSON body, then sends req.
func (t patchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	fields, _ := req.Context().Value(patchKey{}).(map[string]any)
	if len(fields) == 0 || req.Body == nil || req.Method != http.MethodPost {
		return base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading request body: %w", err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("request body is not a JSON object: %w", err)
	}
	for k, v := range fields {
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("request field %s: %w", k, err)
		}
		obj[k] = raw
	}
	if body, err = json.Marshal(obj); err != nil {
		return nil, fmt.Errorf("request body: %w", err)
	}
	r2 := req.Clone(req.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return base.RoundTrip(r2)
}
