package report

import (
	"encoding/json"
	"io"

	"github.com/bertbench/bertbench/compare"
)

// NewJSONReporter returns a Reporter that writes the whole comparison,
// summary and per-item rows, as indented JSON of the versioned schema
// compare.SchemaID (described by compare.JSONSchema). <, > and & in texts
// are written as \u escapes, so the JSON can sit inside an HTML page.
func NewJSONReporter(c *compare.Comparison) Reporter {
	return func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(c)
	}
}
