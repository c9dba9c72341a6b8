package dataset

import (
	"errors"
	"fmt"
)

// ErrInvalidInput is matched (with errors.Is) by every error that the input
// caused: a missing file, a malformed line or record, a missing field or
// column, a duplicate id, files that do not pair up. Anything else (a read
// failing half way) is a runtime failure.
var ErrInvalidInput = errors.New("invalid input")

// The kinds of input error, each matched with errors.Is as well as
// ErrInvalidInput.
var (
	// ErrInvalidUTF8: a line or field is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("not valid UTF-8")
	// ErrMalformed: a line is not a JSON object, a CSV record does not
	// parse, a row has the wrong number of fields, a value has the wrong
	// type.
	ErrMalformed = errors.New("malformed record")
	// ErrMissingField: a named field or column is not there.
	ErrMissingField = errors.New("missing field")
	// ErrDuplicateID: two items have the same id.
	ErrDuplicateID = errors.New("duplicate id")
	// ErrLooksLikeJSONL: plain text was asked for, but the lines are JSON
	// objects (read the file as JSONL and name the text field).
	ErrLooksLikeJSONL = errors.New("JSON objects read as plain text")
	// ErrTooLong: a line or record is longer than Options.MaxRecordBytes.
	ErrTooLong = errors.New("record too long")
	// ErrCountMismatch: parallel files hold different numbers of lines.
	ErrCountMismatch = errors.New("line counts differ")
	// ErrNoFile: a file cannot be opened (missing, a folder, not
	// readable), or standard input is named but not available.
	ErrNoFile = errors.New("cannot open the file")
)

// Error is an input error about one line of one file, or about the file as
// a whole. Its message is one line: "FILE:LINE: what is wrong, and the fix"
// ("FILE: ..." when Line is 0), with "standard input" for "-".
type Error struct {
	File  string // the file's name as given ("-" for standard input)
	Line  int    // 1-based line where the record starts; 0 for the whole file
	Field string // the field or column at fault; "" when none
	Msg   string // what is wrong, and the fix
	Kind  error  // one of the Err* kinds above
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", DisplayName(e.File), e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", DisplayName(e.File), e.Msg)
}

// Unwrap gives the error's kind and ErrInvalidInput, for errors.Is.
func (e *Error) Unwrap() []error { return []error{e.Kind, ErrInvalidInput} }

// CountMismatchError reports that files read in parallel (a source file and
// its reference files) hold different numbers of lines.
type CountMismatchError struct {
	File, OtherFile   string // names as given ("-" for standard input)
	Count, OtherCount int    // their numbers of lines
}

func (e *CountMismatchError) Error() string {
	return fmt.Sprintf("%s has %d lines but %s has %d: the files must pair up line by line (one sentence per line; an empty line is an empty sentence)",
		DisplayName(e.File), e.Count, DisplayName(e.OtherFile), e.OtherCount)
}

// Unwrap gives ErrCountMismatch and ErrInvalidInput, for errors.Is.
func (e *CountMismatchError) Unwrap() []error { return []error{ErrCountMismatch, ErrInvalidInput} }

// DisplayName is name as errors show it: "standard input" for Stdin.
func DisplayName(name string) string {
	if name == Stdin {
		return "standard input"
	}
	return name
}

// lineErr builds an *Error.
func lineErr(file string, line int, field string, kind error, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...), Kind: kind}
}
