package shard

import (
	"errors"
	"fmt"
)

// ErrInvalidInput is matched by every error the caller's input caused:
// flags, files, a plan that does not fit its inputs or its shards.
var ErrInvalidInput = errors.New("invalid input")

// The kinds of input error (each also matches ErrInvalidInput).
var (
	// ErrInputChanged: an input file no longer has the plan's digest.
	ErrInputChanged = errors.New("input changed since the plan")
	// ErrBadPlan: the plan file is not a plan, or was edited.
	ErrBadPlan = errors.New("not a valid plan")
	// ErrMissingShard: a shard has no done marker.
	ErrMissingShard = errors.New("shard missing")
	// ErrForeignShard: a shard of another plan, of another scoring
	// configuration, a duplicate, or one the plan does not have.
	ErrForeignShard = errors.New("shard does not belong to the plan")
)

// inputError is an input error of a kind.
type inputError struct {
	err  error
	kind error
}

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() []error {
	out := []error{e.err, ErrInvalidInput}
	if e.kind != nil {
		out = append(out, e.kind)
	}
	return out
}

// inputf makes an input error of kind (nil: no particular kind).
func inputf(kind error, format string, args ...any) error {
	return &inputError{err: fmt.Errorf(format, args...), kind: kind}
}

// asInput makes err an input error (kept as it is when nil or one).
func asInput(err error) error {
	if err == nil || errors.Is(err, ErrInvalidInput) {
		return err
	}
	return &inputError{err: err}
}
