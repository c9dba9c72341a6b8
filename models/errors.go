package models

import (
	"context"
	"errors"
)

// ErrInvalidInput is matched (with errors.Is) by every error that the
// caller's input caused: a model name or folder that does not exist or is
// not a model, a checkpoint that cannot be built, options that do not fit
// it. Anything else (a full disk, a lost network, a broken cache) is a
// runtime failure.
var ErrInvalidInput = errors.New("invalid input")

// inputError marks err as caused by the caller's input without changing
// its message.
type inputError struct{ err error }

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == ErrInvalidInput }

// asInput marks err as an input error; nil stays nil, and so does an
// interruption (context cancellation is never the input's fault).
func asInput(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return inputError{err}
}
