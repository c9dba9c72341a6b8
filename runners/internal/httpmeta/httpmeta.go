// Package httpmeta records, per call, what the typed API clients hide: the
// HTTP status and Retry-After header of each response, how many requests
// were sent, and whether the last response body broke off (the Ollama
// client ends a stream quietly either way). A runner puts a *Meta in the request context and gives its API
// client an http.Client whose transport is Transport.
package httpmeta

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/bertbench/bertbench/runners"
)

type key struct{}

// Meta is what the transport saw for the requests made with its context.
type Meta struct {
	mu         sync.Mutex
	status     int
	retryAfter time.Duration
	requests   int
	bodyErr    error
}

// With returns a context carrying a fresh Meta, and the Meta.
func With(ctx context.Context) (context.Context, *Meta) {
	m := &Meta{}
	return context.WithValue(ctx, key{}, m), m
}

// Status returns the status of the last response, 0 when none came back.
func (m *Meta) Status() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

// RetryAfter returns the last response's Retry-After delay, 0 when absent.
func (m *Meta) RetryAfter() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.retryAfter
}

// BodyErr returns the error that broke off reading the last response body
// (a reset, a connection closed mid-body), nil when it was read to its
// proper end or not read to the end at all.
func (m *Meta) BodyErr() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bodyErr
}

// Requests returns how many requests were sent.
func (m *Meta) Requests() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requests
}

// Transport wraps base (http.DefaultTransport when nil) so that responses
// are recorded in the request context's Meta, if any.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper{base: base}
}

type roundTripper struct{ base http.RoundTripper }

// RoundTrip sends req and records the response's status and Retry-After.
func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	m, _ := req.Context().Value(key{}).(*Meta)
	if m != nil {
		m.mu.Lock()
		m.requests++
		m.status, m.retryAfter, m.bodyErr = 0, 0, nil
		m.mu.Unlock()
	}
	resp, err := rt.base.RoundTrip(req)
	if m != nil && resp != nil {
		m.mu.Lock()
		m.status = resp.StatusCode
		m.retryAfter = runners.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		m.mu.Unlock()
		resp.Body = &body{ReadCloser: resp.Body, m: m}
	}
	return resp, err
}

// body records the first read error other than the body's proper end.
type body struct {
	io.ReadCloser
	m *Meta
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.m.mu.Lock()
		if b.m.bodyErr == nil {
			b.m.bodyErr = err
		}
		b.m.mu.Unlock()
	}
	return n, err
}
