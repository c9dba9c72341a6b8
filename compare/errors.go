package compare

import (
	"errors"
	"fmt"
)

// ErrInvalidInput is matched (with errors.Is) by every error the caller's
// input caused: a malformed side, an unknown run, variation or scoring
// configuration, a side named twice, contradictory options. Anything else
// is a runtime failure.
var ErrInvalidInput = errors.New("invalid input")

// inputError marks err as caused by the caller's input without changing its
// message.
type inputError struct{ err error }

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == ErrInvalidInput }

// inputErrorf builds an input error.
func inputErrorf(format string, args ...any) error {
	return inputError{fmt.Errorf(format, args...)}
}
