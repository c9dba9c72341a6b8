// Package jsonschema writes a JSON Schema (draft 2020-12) for a Go struct
// type from its fields, its YAML tags and its doc comments, so that the
// schema an editor checks a config with is made from the types the config
// is decoded into.
//
// # What it reads
//
//   - Field names from `yaml` tags (",inline" flattens an embedded struct;
//     "-" and unexported fields are left out). Structs are objects without
//     additional properties; each named struct type is one entry of $defs.
//   - string, bool, int and float64 fields, slices (arrays), pointers (the
//     pointed-to type). A slice type with its own UnmarshalYAML method is
//     taken to accept one value or a list (oneOf). A type with a method
//     JSONSchema() map[string]any describes itself.
//   - Descriptions from doc comments (ReadDocs), one paragraph each; a
//     field's comment that starts with its Go name starts with its YAML
//     name instead.
//   - Keywords from a `jsonschema` tag, separated by ";": required,
//     minimum=N, maximum=N, minLength=N, minItems=N, pattern=RE,
//     enum=a|b|c. For a one-or-many field, the value keywords apply to
//     each value.
//
// # Examples
//
//	docs, err := jsonschema.ReadDocs("experiment")
//	...
//	b, err := jsonschema.Generate(reflect.TypeFor[experiment.Config](), jsonschema.Options{Title: "bertbench experiment", Docs: docs})
package jsonschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
)

// Docs are doc comments: "Type" and "Type.Field" (Go names) → text.
type Docs map[string]string

// Options tune Generate.
type Options struct {
	// Title is the schema's title.
	Title string
	// Docs give the descriptions.
	Docs Docs
}

// Generate writes the schema for the struct type root, indented, with a
// final newline. The same types and docs give the same bytes.
func Generate(root reflect.Type, opts Options) ([]byte, error) {
	g := &generator{docs: opts.Docs, defs: map[string]any{}}
	if root.Kind() != reflect.Struct {
		return nil, fmt.Errorf("jsonschema: %s is not a struct", root)
	}
	s, err := g.object(root)
	if err != nil {
		return nil, err
	}
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	if opts.Title != "" {
		s["title"] = opts.Title
	}
	if len(g.defs) > 0 {
		s["$defs"] = g.defs
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("jsonschema: %w", err)
	}
	return b.Bytes(), nil
}

type generator struct {
	docs Docs
	defs map[string]any
}

var (
	typeOfSelfDescribing = reflect.TypeFor[interface{ JSONSchema() map[string]any }]()
	typeOfUnmarshalYAML  = reflect.TypeFor[interface {
		UnmarshalYAML(func(any) error) error
	}]()
)

// object is the schema of struct type t, with its own description.
func (g *generator) object(t reflect.Type) (map[string]any, error) {
	props := map[string]any{}
	var required []string
	if err := g.fields(t, props, &required); err != nil {
		return nil, err
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	if d := g.docs[t.Name()]; d != "" {
		s["description"] = d
	}
	return s, nil
}

// fields adds t's fields to props.
func (g *generator) fields(t reflect.Type, props map[string]any, required *[]string) error {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			if err := g.fields(f.Type, props, required); err != nil {
				return err
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		kw, req, err := keywords(f.Tag.Get("jsonschema"))
		if err != nil {
			return fmt.Errorf("jsonschema: %s.%s: %w", t.Name(), f.Name, err)
		}
		s, err := g.value(f.Type, kw)
		if err != nil {
			return fmt.Errorf("jsonschema: %s.%s: %w", t.Name(), f.Name, err)
		}
		if d := g.docs[t.Name()+"."+f.Name]; d != "" {
			// A doc comment starts with the Go name; the schema's reader
			// knows the field by its YAML name.
			if rest, ok := strings.CutPrefix(d, f.Name+" "); ok {
				d = name + " " + rest
			}
			s["description"] = d
		}
		props[name] = s
		if req {
			*required = append(*required, name)
		}
	}
	return nil
}

// value is the schema of a field of type t with keywords kw.
func (g *generator) value(t reflect.Type, kw map[string]any) (map[string]any, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(typeOfSelfDescribing) {
		s := reflect.Zero(t).Interface().(interface{ JSONSchema() map[string]any }).JSONSchema()
		return merge(s, kw), nil
	}
	if t.Kind() == reflect.Slice && reflect.PointerTo(t).Implements(typeOfUnmarshalYAML) {
		item, err := g.value(t.Elem(), kw)
		if err != nil {
			return nil, err
		}
		return map[string]any{"oneOf": []any{item, map[string]any{"type": "array", "items": item, "minItems": 1}}}, nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if _, seen := g.defs[t.Name()]; !seen {
			g.defs[t.Name()] = nil // a placeholder against recursion
			s, err := g.object(t)
			if err != nil {
				return nil, err
			}
			g.defs[t.Name()] = s
		}
		return merge(map[string]any{"$ref": "#/$defs/" + t.Name()}, kw), nil
	case reflect.Slice:
		item, err := g.value(t.Elem(), nil)
		if err != nil {
			return nil, err
		}
		return merge(map[string]any{"type": "array", "items": item}, kw), nil
	case reflect.String:
		return merge(map[string]any{"type": "string"}, kw), nil
	case reflect.Bool:
		return merge(map[string]any{"type": "boolean"}, kw), nil
	case reflect.Int, reflect.Int64, reflect.Int32:
		return merge(map[string]any{"type": "integer"}, kw), nil
	case reflect.Float64, reflect.Float32:
		return merge(map[string]any{"type": "number"}, kw), nil
	}
	return nil, fmt.Errorf("type %s has no JSON Schema here", t)
}

func merge(s, kw map[string]any) map[string]any {
	out := make(map[string]any, len(s)+len(kw))
	for k, v := range s {
		out[k] = v
	}
	for k, v := range kw {
		out[k] = v
	}
	return out
}

// keywords reads a `jsonschema` tag.
func keywords(tag string) (map[string]any, bool, error) {
	kw := map[string]any{}
	req := false
	if tag == "" {
		return kw, false, nil
	}
	for _, part := range strings.Split(tag, ";") {
		key, val, hasVal := strings.Cut(part, "=")
		switch key {
		case "required":
			req = true
		case "minimum", "maximum":
			n, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return nil, false, fmt.Errorf("%s=%q: want a number", key, val)
			}
			kw[key] = n
		case "minLength", "minItems":
			n, err := strconv.Atoi(val)
			if err != nil {
				return nil, false, fmt.Errorf("%s=%q: want a whole number", key, val)
			}
			kw[key] = n
		case "pattern":
			kw[key] = val
		case "enum":
			var vals []any
			for _, v := range strings.Split(val, "|") {
				vals = append(vals, v)
			}
			kw[key] = vals
		default:
			return nil, false, fmt.Errorf("unknown keyword %q", key)
		}
		if key != "required" && !hasVal {
			return nil, false, fmt.Errorf("%s needs a value", key)
		}
	}
	return kw, req, nil
}

// ReadDocs reads the doc comments of the struct types, and their fields,
// declared in the Go files of dir (test files left out). A description is
// the comment's text as one paragraph: its lines joined, code spans kept.
func ReadDocs(dir string) (Docs, error) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	docs := Docs{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("jsonschema: %w", err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				if d := text(doc); d != "" {
					docs[ts.Name.Name] = d
				}
				for _, fl := range st.Fields.List {
					d := text(fl.Doc)
					if d == "" {
						continue
					}
					for _, n := range fl.Names {
						docs[ts.Name.Name+"."+n.Name] = d
					}
					if len(fl.Names) == 0 { // embedded
						if id, ok := fl.Type.(*ast.Ident); ok {
							docs[ts.Name.Name+"."+id.Name] = d
						}
					}
				}
			}
		}
	}
	return docs, nil
}

// text is a doc comment as one paragraph of plain text.
func text(cg *ast.CommentGroup) string {
	if cg == nil {
		return ""
	}
	var p comment.Parser
	d := p.Parse(cg.Text())
	var pr comment.Printer
	pr.TextWidth = -1 // no wrapping: one line per paragraph
	out := strings.TrimSpace(string(pr.Text(d)))
	return strings.Join(strings.Fields(out), " ")
}
