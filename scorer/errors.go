package scorer

import "errors"

// ErrInvalidInput is matched (with errors.Is) by every error that the
// caller's input caused: a missing or unusable model folder, a malformed
// baseline or idf file, contradictory options. Anything else is a runtime
// failure.
var ErrInvalidInput = errors.New("invalid input")

// inputError marks err as caused by the caller's input without changing its
// message.
type inputError struct{ err error }

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == ErrInvalidInput }

// asInput marks err as an input error (nil stays nil).
func asInput(err error) error {
	if err == nil {
		return nil
	}
	return inputError{err}
}
