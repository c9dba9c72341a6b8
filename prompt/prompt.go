// Package prompt renders the prompts bertbench sends to models: Go
// text/template templates that see one item at a time as a [Data].
//
// A template is checked when it is parsed, not first when an item renders
// it: its syntax, and every field it names on the item (.Source, .To, .ID,
// .Line, .Fields.NAME; a misspelt .Text fails Parse). Fields of .Fields are
// the item's own and are checked when rendering: a key the item lacks is an
// error, never an empty string (missingkey=error). Errors are one line,
// "NAME:LINE:COL: what is wrong", and match ErrInvalidInput.
//
// # Examples
//
//	t, err := prompt.Parse("--prompt", prompt.DefaultTranslate)
//	if err != nil {
//		return err
//	}
//	if t.UsesTarget() && to == "" {
//		return errors.New("--to is required")
//	}
//	text, err := t.Render(prompt.Data{Source: "Guten Morgen", To: "English"})
package prompt

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
)

// DefaultTranslate is the default translation prompt.
const DefaultTranslate = "Translate the following text into {{.To}}. Reply with the translation only.\n\n{{.Source}}"

// ErrInvalidInput is matched (with errors.Is) by every error a template
// causes: one that does not parse, names a field items do not have, or
// fails for an item.
var ErrInvalidInput = errors.New("invalid prompt template")

// Data is what a template sees of one item.
type Data struct {
	Source string            // the item's text: {{.Source}}
	To     string            // the target language, e.g. "Chinese": {{.To}}
	ID     string            // the item's id: {{.ID}}
	Line   int               // the item's 1-based line in its file: {{.Line}}
	Fields map[string]string // the item's other fields: {{.Fields.domain}}
}

// dataFields are Data's fields, as a template names them.
var dataFields = []string{"Source", "To", "ID", "Line", "Fields"}

// Template is a parsed prompt template. It is safe for concurrent use.
type Template struct {
	name, text string
	tmpl       *template.Template
	usesTo     bool
}

// Parse parses text as a template named name (which errors begin with,
// e.g. "--prompt" or "run.yaml:12"). An empty template, a syntax error and
// a field that Data lacks are errors.
func Parse(name, text string) (*Template, error) {
	if strings.TrimSpace(text) == "" {
		return nil, inputErr(fmt.Errorf("%s: the template is empty; give a prompt, e.g. %q", name, DefaultTranslate))
	}
	tmpl, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, inputErr(cleanErr(err))
	}
	t := &Template{name: name, text: text, tmpl: tmpl}
	w := walker{tree: tmpl.Tree}
	w.list(tmpl.Tree.Root, true)
	if w.err != nil {
		return nil, inputErr(w.err)
	}
	t.usesTo = t.rendersTarget(w.usesTo)
	return t, nil
}

// Name is the name the template was parsed with.
func (t *Template) Name() string { return t.name }

// Text is the template's text.
func (t *Template) Text() string { return t.text }

// Render renders the template for one item.
func (t *Template) Render(d Data) (string, error) {
	var b strings.Builder
	if err := t.tmpl.Execute(&b, d); err != nil {
		return "", inputErr(cleanErr(err))
	}
	return b.String(), nil
}

// UsesTarget reports whether the template shows the target language
// ({{.To}}), so that a caller can require one: a render of an item (with
// every field set) with a marker as the target must show the marker. When that render fails (a .Fields key
// only real items have), any mention of .To counts.
func (t *Template) UsesTarget() bool { return t.usesTo }

// rendersTarget renders the template with a marker as the target and
// looks for it; mentioned is the answer when the render fails.
func (t *Template) rendersTarget(mentioned bool) bool {
	const marker = "\x00bertbench-target\x00"
	var b strings.Builder
	if err := t.tmpl.Execute(&b, Data{Source: "source", To: marker, ID: "id", Line: 1}); err != nil {
		return mentioned
	}
	return strings.Contains(b.String(), marker)
}

// walker checks the fields a template names on its data, and notes
// whether it names .To.
type walker struct {
	tree   *parse.Tree
	err    error
	usesTo bool
}

// list walks a list whose dot is the Data when dotIsData.
func (w *walker) list(l *parse.ListNode, dotIsData bool) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		w.node(n, dotIsData)
	}
}

func (w *walker) node(n parse.Node, dotIsData bool) {
	if w.err != nil {
		return
	}
	switch n := n.(type) {
	case *parse.ActionNode:
		w.pipe(n.Pipe, dotIsData)
	case *parse.IfNode:
		w.branch(&n.BranchNode, dotIsData, dotIsData)
	case *parse.RangeNode:
		w.branch(&n.BranchNode, dotIsData, false) // the body's dot is an element
	case *parse.WithNode:
		w.branch(&n.BranchNode, dotIsData, false) // the body's dot is the value
	case *parse.TemplateNode:
		w.pipe(n.Pipe, dotIsData)
	case *parse.PipeNode:
		w.pipe(n, dotIsData)
	case *parse.ChainNode:
		w.node(n.Node, dotIsData)
	case *parse.FieldNode:
		if dotIsData {
			w.field(n, n.Ident[0])
		}
	case *parse.VariableNode:
		if n.Ident[0] == "$" && len(n.Ident) > 1 {
			w.field(n, n.Ident[1])
		}
	}
}

func (w *walker) branch(b *parse.BranchNode, dotIsData, bodyDotIsData bool) {
	w.pipe(b.Pipe, dotIsData)
	w.list(b.List, bodyDotIsData)
	w.list(b.ElseList, dotIsData)
}

func (w *walker) pipe(p *parse.PipeNode, dotIsData bool) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		for _, a := range c.Args {
			w.node(a, dotIsData)
		}
	}
}

// field checks that name, named by n, is a field of Data.
func (w *walker) field(n parse.Node, name string) {
	if name == "To" {
		w.usesTo = true
	}
	if slices.Contains(dataFields, name) {
		return
	}
	loc, context := w.tree.ErrorContext(n)
	w.err = fmt.Errorf("%s: %s: no field %s; a prompt sees .%s", loc, context, name, strings.Join(dataFields, ", .")+".NAME")
}

// cleanErr makes a text/template error one line without the "template: "
// every such error starts with.
func cleanErr(err error) error {
	msg := strings.TrimPrefix(err.Error(), "template: ")
	return errors.New(strings.ReplaceAll(msg, "\n", `\n`))
}

// inputError marks an error as ErrInvalidInput without changing its text.
type inputError struct{ err error }

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == ErrInvalidInput }

func inputErr(err error) error { return inputError{err} }
