package experiment

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// ErrInvalidInput is matched (with errors.Is) by every error a config
// causes: YAML that does not parse, an unknown field, a value of the
// wrong type, a value that cannot work (a bad runner spec, a missing file
// or dataset column, an unknown name). Commands map it to exit status 2.
var ErrInvalidInput = errors.New("invalid experiment config")

// MaxErrors is the most errors Parse and Validate report at once; past
// it, a last line says how many more there are.
const MaxErrors = 20

// Error is one problem with a config, at one place in its file. Its
// message is one line: "FILE:LINE:COL: PATH: what is wrong, and the fix".
// PATH names the field as the YAML writes it (variations[1].temperature);
// the position is the field's value, or its key for an unknown field.
type Error struct {
	// File is the config file's name as given; "" for a config made in Go.
	File string
	// Line and Column are 1-based; 0 when not known.
	Line, Column int
	// Path is the field's path, "" for the file as a whole.
	Path string
	// Msg says what is wrong and how to fix it.
	Msg string
	// Err is the underlying error, when there is one (a
	// *runners.FieldError, a *dataset.Error, ...); it is matched by
	// errors.Is and errors.As.
	Err error
}

// Error reads "FILE:LINE:COL: PATH: MSG", leaving out what is not known.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(strings.ReplaceAll(e.Msg, "\n", `\n`))
	return b.String()
}

// Unwrap gives ErrInvalidInput and the underlying error.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidInput}
	}
	return []error{ErrInvalidInput, e.Err}
}

// Errors are the problems Parse or Validate found, in file order. Its
// message is one line per problem.
type Errors []*Error

// Error writes one line per problem.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives each problem, for errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sorted returns the errors in file order (those without a position
// first, as they were found), cut to MaxErrors with a line saying how many
// were left out.
func (es Errors) sorted() Errors {
	es = slices.Clone(es)
	slices.SortStableFunc(es, func(a, b *Error) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	if len(es) > MaxErrors {
		more := len(es) - MaxErrors
		es = append(es[:MaxErrors:MaxErrors], &Error{File: es[0].File, Msg: fmt.Sprintf("and %d more problems; fix these first", more)})
	}
	return es
}

// source is what a parsed config remembers of its YAML: the position of
// every field's value, by path.
type source struct {
	values map[string]token.Position
}

func newSource() *source {
	return &source{values: map[string]token.Position{}}
}

// at is the position for path: its value's, else (for a field not in the
// file) the nearest enclosing field's.
func (s *source) at(path string) (token.Position, bool) {
	if s == nil {
		return token.Position{}, false
	}
	for {
		if p, ok := s.values[path]; ok {
			return p, true
		}
		if path == "" {
			return token.Position{}, false
		}
		path = parentPath(path)
	}
}

// parentPath is path without its last step: a.b[2] → a.b → a → "".
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// errorf is a problem with the value at path.
func (c *Config) errorf(path, format string, args ...any) *Error {
	e := &Error{File: c.File, Path: path, Msg: fmt.Sprintf(format, args...)}
	if p, ok := c.src.at(path); ok {
		e.Line, e.Column = p.Line, p.Column
	}
	return e
}

// errorAt is a problem at a node of the YAML (nil: the whole file).
func (c *Config) errorAt(n ast.Node, path, msg string) *Error {
	e := &Error{File: c.File, Path: path, Msg: msg}
	if p, ok := position(n); ok {
		e.Line, e.Column = p.Line, p.Column
	}
	return e
}

// yamlError turns an error of the YAML library (a syntax error, or a
// decoding error the structure check let through) into an *Error at its
// token, without the source excerpt the library adds.
func (c *Config) yamlError(err error) *Error {
	var ye yaml.Error
	if !errors.As(err, &ye) {
		return &Error{File: c.File, Msg: err.Error(), Err: err}
	}
	e := &Error{File: c.File, Msg: ye.GetMessage(), Err: err}
	if tk := ye.GetToken(); tk != nil {
		e.Line, e.Column = tk.Position.Line, tk.Position.Column
	}
	var se *yaml.SyntaxError
	var de *yaml.DuplicateKeyError
	switch {
	case errors.As(err, &de):
		e.Msg = de.Message + "; give each key once"
	case errors.As(err, &se) && strings.Contains(se.Message, "already defined at"):
		// The parser words a key given twice as a syntax error.
		msg := strings.Replace(se.Message, "mapping key", "key", 1)
		e.Msg = atPosition.ReplaceAllString(msg, "line $1") + "; give each key once"
	case errors.As(err, &se):
		e.Msg = "YAML syntax: " + se.Message + "; fix the YAML (quote text that holds a colon followed by a space, or starts with {, [, *, & or #)"
	}
	return e
}

// atPosition is how the YAML library writes a position in a message.
var atPosition = regexp.MustCompile(`\[(\d+):\d+\]`)

// unwrapPath drops the operation and path of an *fs.PathError, which the
// message names already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
