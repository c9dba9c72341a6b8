package runners

import (
	"fmt"
	"math"
)

// FieldError is a request field whose value cannot be sent. It matches
// ErrInvalidInput. Field names the field generically, by its JSON key
// ("mode", "temperature", "top_p", "presence_penalty", "max_tokens",
// "num_ctx"); a caller that knows the field by another name, a flag or a
// path in a config file, names it so with Rename:
//
//	--temperature -1: must be >= 0
//	variations[2].temperature -1: must be >= 0
type FieldError struct {
	// Field is the field's name, e.g. "temperature".
	Field string
	// Value is the value refused.
	Value any
	// Reason says what the value must be, e.g. "must be >= 0".
	Reason string
}

// Error reads "FIELD VALUE: REASON", with a string value quoted.
func (e *FieldError) Error() string {
	switch v := e.Value.(type) {
	case string, Mode:
		return fmt.Sprintf("%s %q: %s", e.Field, v, e.Reason)
	}
	return fmt.Sprintf("%s %v: %s", e.Field, e.Value, e.Reason)
}

// Is matches ErrInvalidInput: fixing the value, not retrying, cures it.
func (e *FieldError) Is(target error) bool { return target == ErrInvalidInput }

// Rename returns a copy of the error that names the field as field.
func (e *FieldError) Rename(field string) *FieldError {
	c := *e
	c.Field = field
	return &c
}

// Validate checks the request's mode and parameters (see Params.Validate)
// and returns a *FieldError for the first one that cannot be sent. The
// prompt is not checked: an empty one is a valid (empty) source.
func (r Request) Validate() error {
	switch r.Mode {
	case "", ModeChat, ModeGenerate:
	default:
		return &FieldError{Field: "mode", Value: r.Mode, Reason: "want chat or generate"}
	}
	return r.Params.Validate()
}

// Validate checks the parameters that are set and returns a *FieldError
// for the first one out of range: temperature must be a finite number
// >= 0, top_p in [0, 1], presence_penalty in [-2, 2], max_tokens and
// num_ctx positive. Seed, stop and keep-alive take any value.
func (p Params) Validate() error {
	if v := p.Temperature; v != nil {
		switch {
		case math.IsNaN(*v) || math.IsInf(*v, 0):
			return &FieldError{Field: "temperature", Value: *v, Reason: "must be a finite number >= 0"}
		case *v < 0:
			return &FieldError{Field: "temperature", Value: *v, Reason: "must be >= 0"}
		}
	}
	if v := p.TopP; v != nil && !(*v >= 0 && *v <= 1) {
		return &FieldError{Field: "top_p", Value: *v, Reason: "must be in [0, 1]"}
	}
	if v := p.PresencePenalty; v != nil && !(*v >= -2 && *v <= 2) {
		return &FieldError{Field: "presence_penalty", Value: *v, Reason: "must be in [-2, 2]"}
	}
	if v := p.MaxTokens; v != nil && *v <= 0 {
		return &FieldError{Field: "max_tokens", Value: *v, Reason: "must be positive"}
	}
	if v := p.NumCtx; v != nil && *v <= 0 {
		return &FieldError{Field: "num_ctx", Value: *v, Reason: "must be positive"}
	}
	return nil
}
