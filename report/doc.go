// Package report renders one comparison ([compare.Comparison]) in every
// format bertbench writes: a terminal table, JSON (the versioned schema
// bertbench.compare/1, summary and per-item rows), CSV (one row per item
// and side), Markdown for a pull-request comment or $GITHUB_STEP_SUMMARY,
// and one self-contained HTML file with charts and a per-item table.
//
// A reporter is a func(io.Writer) error, as in vegeta: [NewTextReporter],
// [NewJSONReporter], [NewCSVReporter], [NewMarkdownReporter] and
// [NewHTMLReporter] build one from a comparison; [New] picks one by its
// format name. A reporter only reads the comparison, so a report can be
// made again at any time from a results store (`bertbench report`), with
// no model called and no text encoded.
//
// # Untrusted text
//
// Sources, references, outputs, item ids and variation names come from
// datasets and models and are untrusted. Every format escapes them:
//
//   - text: control characters and bidirectional overrides are written as
//     \u escapes, so no output moves the cursor or recolours a terminal;
//   - JSON: encoding/json, with <, > and & escaped as \u003c, \u003e and
//     \u0026;
//   - CSV: encoding/csv quoting, and a text cell that starts with =, +, -,
//     @, a tab or a carriage return gets a leading ' so that no spreadsheet
//     reads it as a formula (numbers are written as numbers);
//   - Markdown: <, > and & as entities, Markdown punctuation
//     backslash-escaped, | escaped in table cells, line breaks as <br>,
//     and a word joiner after @ so an output mentions nobody;
//   - HTML: html/template escapes the summary; the per-item table is built
//     in the page with textContent from a JSON block (application/json,
//     with < escaped), never as markup; a Content-Security-Policy allows
//     only the report's own script (by its hash) and inline styles, so no
//     injected script could run and nothing is fetched.
//
// # Examples
//
//	c, err := compare.Compare(ctx, *in, compare.Options{})
//	...
//	rep, err := report.New(report.FormatMarkdown, c, report.WithGates(results))
//	...
//	if err := rep(os.Stdout); err != nil { ... }
package report
