package runners

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrModelNotFound is wrapped by errors that say the server does not have
// the requested model.
var ErrModelNotFound = errors.New("model not found")

// ErrTruncated is wrapped by errors for a response stream that ended before
// the server's final message (a dropped connection, a crashed server).
var ErrTruncated = errors.New("response stream ended before the final message")

// CallError is a failed call described in the terms the retry layer acts
// on: the HTTP status (0 when none came back), the server's Retry-After,
// and whether trying again can help.
type CallError struct {
	// Op names the call, e.g. "ollama chat llama2:13b".
	Op string
	// StatusCode is the HTTP status, 0 for transport failures.
	StatusCode int
	// RetryAfter is the delay the server asked for, 0 when it gave none.
	RetryAfter time.Duration
	// Retryable reports a transient failure: 429, 5xx, a reset or
	// truncated connection, a timeout.
	Retryable bool
	// Err is the underlying error.
	Err error
}

// Error describes the failure with its status.
func (e *CallError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *CallError) Unwrap() error { return e.Err }

// Classify wraps err as a CallError for op, deciding from the HTTP status
// and the error itself whether a retry can help. A nil err stays nil; an
// error that already is a CallError is returned unchanged.
func Classify(op string, err error, status int, retryAfter time.Duration) error {
	if err == nil {
		return nil
	}
	var ce *CallError
	if errors.As(err, &ce) {
		return err
	}
	return &CallError{
		Op:         op,
		StatusCode: status,
		RetryAfter: retryAfter,
		Retryable:  RetryableStatus(status) || (status < 400 && transientError(err)),
		Err:        err,
	}
}

// RetryableStatus reports whether an HTTP status is worth retrying: 408,
// 429 and every 5xx except 501 Not Implemented.
func RetryableStatus(status int) bool {
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return true
	case status >= 500 && status != http.StatusNotImplemented:
		return true
	}
	return false
}

// transientError reports transport failures that a retry can cure.
func transientError(err error) bool {
	if errors.Is(err, ErrTruncated) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// net/http reports some resets only as text.
	msg := err.Error()
	return strings.Contains(msg, "connection reset by peer") ||
		strings.Contains(msg, "server closed idle connection") ||
		strings.Contains(msg, "unexpected EOF")
}

// ParseRetryAfter reads an HTTP Retry-After header (delay in seconds or an
// HTTP date) relative to now. It returns 0 for an empty or invalid value.
func ParseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(h, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
