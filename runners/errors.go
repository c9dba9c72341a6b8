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

// ErrInvalidInput is wrapped by errors that the caller's input caused (a
// missing or wrong file, a bad name): fixing the input, not retrying, cures
// them. Commands map it to exit status 2.
var ErrInvalidInput = errors.New("invalid input")

// InvalidInput marks err as caused by the caller's input: the result reads
// as err and matches ErrInvalidInput (nil stays nil).
func InvalidInput(err error) error {
	if err == nil {
		return nil
	}
	return invalidInput{err}
}

type invalidInput struct{ err error }

func (e invalidInput) Error() string        { return e.err.Error() }
func (e invalidInput) Unwrap() error        { return e.err }
func (e invalidInput) Is(target error) bool { return target == ErrInvalidInput }

// ErrUnreachable is matched (errors.Is) by errors for calls that could not
// connect to the server at all: nothing listening, no route, no such host.
var ErrUnreachable = errors.New("server unreachable")

// ErrContextFull is wrapped by errors for a generation that filled the
// model's context window. Retrying with the same settings fills it again.
var ErrContextFull = errors.New("context window full")

// ErrAborted is wrapped by errors for a generation the server stopped on
// its own before the end, such as Ollama's guard against a model that
// repeats one token. At temperature 0 a retry repeats it exactly.
var ErrAborted = errors.New("generation aborted by the server")

// StopsBatch reports errors after which every further call to the same
// runner would fail the same way, so that a batch should stop: the model
// is missing, or the server could not be reached even after retries.
func StopsBatch(err error) bool {
	return errors.Is(err, ErrModelNotFound) || errors.Is(err, ErrUnreachable)
}

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
	// Unreachable reports that no connection to the server could be made
	// (see Unreachable); such an error matches ErrUnreachable.
	Unreachable bool
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

// Is reports whether target is ErrUnreachable and the call never connected.
func (e *CallError) Is(target error) bool { return target == ErrUnreachable && e.Unreachable }

// Unreachable reports a connection that could not be made at all: the
// server refused it (nothing listening), there is no route to the host, or
// the host name does not resolve. A reset or a timeout is not: the server
// may be there.
func Unreachable(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns) && dns.IsNotFound
}

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
	unreachable := status == 0 && Unreachable(err)
	return &CallError{
		Op:          op,
		StatusCode:  status,
		RetryAfter:  retryAfter,
		Retryable:   RetryableStatus(status) || (status < 400 && transientError(err)),
		Unreachable: unreachable,
		Err:         err,
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
