package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/bertbench/bertbench/compare"
	"github.com/bertbench/bertbench/gate"
)

// Reporter writes a report to w.
type Reporter func(w io.Writer) error

// Report writes the report to w.
func (r Reporter) Report(w io.Writer) error { return r(w) }

// The formats.
const (
	FormatText     = "text"
	FormatJSON     = "json"
	FormatCSV      = "csv"
	FormatMarkdown = "markdown"
	FormatHTML     = "html"
)

// Formats lists every format New knows, in the order help texts show them.
var Formats = []string{FormatText, FormatJSON, FormatCSV, FormatMarkdown, FormatHTML}

// FormatList writes the formats as "text, json, csv, markdown or html".
func FormatList() string {
	return strings.Join(Formats[:len(Formats)-1], ", ") + " or " + Formats[len(Formats)-1]
}

// Option tunes a reporter.
type Option func(*options)

type options struct {
	gates    []gate.Result
	maxItems int
	title    string
}

// DefaultMaxItems is how many items the Markdown report lists per side and
// direction (the largest gains and losses); the other formats list all.
const DefaultMaxItems = 10

// WithGates adds the thresholds' results: a section of the text, Markdown
// and HTML reports (JSON and CSV hold the comparison only).
func WithGates(results []gate.Result) Option {
	return func(o *options) { o.gates = results }
}

// WithMaxItems sets how many items the Markdown report lists per side and
// direction (0: none; default DefaultMaxItems).
func WithMaxItems(n int) Option {
	return func(o *options) { o.maxItems = max(0, n) }
}

// WithTitle sets the report's title (Markdown and HTML; default
// "bertbench: SIDE vs SIDE ...").
func WithTitle(title string) Option {
	return func(o *options) { o.title = title }
}

func makeOptions(c *compare.Comparison, opts []Option) options {
	o := options{maxItems: DefaultMaxItems}
	for _, f := range opts {
		f(&o)
	}
	if o.title == "" {
		names := make([]string, len(c.Sides))
		for i, sd := range c.Sides {
			names[i] = sd.Side.String()
		}
		o.title = "bertbench: " + strings.Join(names, " vs ")
	}
	return o
}

// New returns the reporter of format (one of Formats) for c.
func New(format string, c *compare.Comparison, opts ...Option) (Reporter, error) {
	switch format {
	case FormatText:
		return NewTextReporter(c, opts...), nil
	case FormatJSON:
		return NewJSONReporter(c), nil
	case FormatCSV:
		return NewCSVReporter(c), nil
	case FormatMarkdown:
		return NewMarkdownReporter(c, opts...), nil
	case FormatHTML:
		return NewHTMLReporter(c, opts...), nil
	}
	return nil, fmt.Errorf("unknown report format %q: want %s", format, FormatList())
}
