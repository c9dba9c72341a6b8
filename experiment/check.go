package experiment

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

var (
	typeOfConfig    = reflect.TypeFor[Config]()
	typeOfText      = reflect.TypeFor[encoding.TextUnmarshaler]()
	typeOfOneOrMany = reflect.TypeFor[interface{ oneOrMany() }]()
)

// maxCheckDepth bounds how deep the check goes (an alias inside its own
// anchor would go on for ever).
const maxCheckDepth = 64

// field is a struct field as the YAML names it.
type field struct {
	name  string
	index []int
	typ   reflect.Type
}

// fieldsOf lists t's YAML fields, those of inline structs included, in
// declaration order.
func fieldsOf(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for _, f := range fieldsOf(sf.Type) {
				f.index = append([]int{i}, f.index...)
				out = append(out, f)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		out = append(out, field{name: name, index: []int{i}, typ: sf.Type})
	}
	return out
}

// fieldNames lists t's YAML field names.
func fieldNames(t reflect.Type) []string {
	var names []string
	for _, f := range fieldsOf(t) {
		names = append(names, f.name)
	}
	return names
}

// checker checks the YAML's structure against the config's types before
// it is decoded, so that every unknown field and every value of the wrong
// type is reported with its path and position (the YAML library stops at
// the first, and knows no path), and records each field's position.
type checker struct {
	c       *Config
	src     *source
	errs    Errors
	anchors map[string]ast.Node
	depth   int
}

func newChecker(c *Config) *checker {
	return &checker{c: c, src: newSource(), anchors: map[string]ast.Node{}}
}

func (k *checker) fail(n ast.Node, path, format string, args ...any) {
	k.errs = append(k.errs, k.c.errorAt(n, path, fmt.Sprintf(format, args...)))
}

// resolve unwraps tags and anchors and follows aliases.
func (k *checker) resolve(n ast.Node, path string) (ast.Node, bool) {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			if v.Name != nil && v.Name.GetToken() != nil {
				k.anchors[v.Name.GetToken().Value] = v.Value
			}
			n = v.Value
		case *ast.AliasNode:
			name := ""
			if v.Value != nil && v.Value.GetToken() != nil {
				name = v.Value.GetToken().Value
			}
			target, ok := k.anchors[name]
			if !ok {
				k.fail(n, path, "alias *%s names no anchor defined before it; define &%s first", name, name)
				return nil, false
			}
			n = target
		default:
			return n, true
		}
	}
}

// position is where a node starts: a block mapping at its first key.
func position(n ast.Node) (token.Position, bool) {
	switch m := n.(type) {
	case *ast.MappingNode:
		if !m.IsFlowStyle && len(m.Values) > 0 && m.Values[0].Key != nil {
			n = m.Values[0].Key
		}
	case *ast.MappingValueNode:
		if m.Key != nil {
			n = m.Key
		}
	}
	if n == nil || n.GetToken() == nil {
		return token.Position{}, false
	}
	return *n.GetToken().Position, true
}

// check checks node n against type t at path.
func (k *checker) check(n ast.Node, t reflect.Type, path string) {
	k.depth++
	defer func() { k.depth-- }()
	if k.depth > maxCheckDepth {
		k.fail(n, path, "nested too deeply (an alias inside its own anchor?); write the value out")
		return
	}
	if n == nil {
		return
	}
	if _, seen := k.src.values[path]; !seen {
		if p, ok := position(n); ok {
			k.src.values[path] = p
		}
	}
	n, ok := k.resolve(n, path)
	if !ok || n == nil || n.Type() == ast.NullType {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case reflect.PointerTo(t).Implements(typeOfText):
		s, ok := k.scalarText(n)
		if !ok {
			k.fail(n, path, "want %s, got %s", want(t), describe(n))
			return
		}
		if err := reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			k.fail(n, path, "%v", err)
		}
		return
	case t.Implements(typeOfOneOrMany):
		if seq, ok := n.(*ast.SequenceNode); ok {
			for i, v := range seq.Values {
				k.check(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
			}
			return
		}
		k.check(n, t.Elem(), path)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		k.checkStruct(n, t, path)
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			k.fail(n, path, "want a list (- item lines, or [a, b]), got %s", describe(n))
			return
		}
		for i, v := range seq.Values {
			k.check(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.String:
		if _, ok := k.scalarText(n); !ok {
			hint := ""
			if isScalar(n) {
				hint = fmt.Sprintf(`; quote it to keep it as written: "%s"`, n.GetToken().Value)
			}
			k.fail(n, path, "want text, got %s%s", describe(n), hint)
		}
	case reflect.Bool:
		if n.Type() != ast.BoolType {
			k.fail(n, path, "want true or false, got %s", describe(n))
		}
	case reflect.Int:
		iv, ok := n.(*ast.IntegerNode)
		if !ok {
			k.fail(n, path, "want a whole number (e.g. 42), got %s", describe(n))
			return
		}
		if !fitsInt(iv.Value) {
			k.fail(n, path, "%s is too large", iv.GetToken().Value)
		}
	case reflect.Float64:
		switch n.Type() {
		case ast.IntegerType, ast.FloatType, ast.InfinityType, ast.NanType:
		default:
			k.fail(n, path, "want a number (e.g. 0.7), got %s", describe(n))
		}
	default:
		k.fail(n, path, "cannot be read into %s", t) // a config type the check does not know: a bug
	}
}

// checkStruct checks a mapping against struct type t.
func (k *checker) checkStruct(n ast.Node, t reflect.Type, path string) {
	var pairs []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		pairs = m.Values
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{m}
	default:
		k.fail(n, path, "want a mapping (key: value lines), got %s", describe(n))
		return
	}
	fields := fieldsOf(t)
	for _, kv := range pairs {
		if kv.Key == nil {
			continue
		}
		if kv.Key.Type() == ast.MergeKeyType {
			k.checkMerge(kv.Value, t, path)
			continue
		}
		key := kv.Key.GetToken().Value
		child := key
		if path != "" {
			child = path + "." + key
		}
		i := slices.IndexFunc(fields, func(f field) bool { return f.name == key })
		if i < 0 {
			hint := ""
			if s := suggest(key, fieldNames(t)); s != "" {
				hint = fmt.Sprintf("; did you mean %q?", s)
			}
			k.fail(kv.Key, child, "unknown field%s (%s has: %s)", hint, kindName(t), strings.Join(fieldNames(t), ", "))
			continue
		}
		k.check(kv.Value, fields[i].typ, child)
	}
}

// checkMerge checks the mappings a merge key (<<) brings in.
func (k *checker) checkMerge(v ast.Node, t reflect.Type, path string) {
	v, ok := k.resolve(v, path)
	if !ok {
		return
	}
	if seq, ok := v.(*ast.SequenceNode); ok {
		for _, e := range seq.Values {
			k.checkMerge(e, t, path)
		}
		return
	}
	k.checkStruct(v, t, path)
}

// scalarText is the text of a string scalar.
func (k *checker) scalarText(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	}
	return "", false
}

func isScalar(n ast.Node) bool {
	switch n.Type() {
	case ast.IntegerType, ast.FloatType, ast.BoolType, ast.InfinityType, ast.NanType:
		return true
	}
	return false
}

func fitsInt(v any) bool {
	switch v := v.(type) {
	case int64:
		return v >= math.MinInt && v <= math.MaxInt
	case uint64:
		return v <= math.MaxInt
	}
	return true
}

// describe names what a node is, for messages.
func describe(n ast.Node) string {
	tk := n.GetToken()
	val := ""
	if tk != nil {
		val = tk.Value
	}
	switch n.Type() {
	case ast.MappingType, ast.MappingValueType:
		return "a mapping"
	case ast.SequenceType:
		return "a list"
	case ast.IntegerType, ast.FloatType, ast.InfinityType, ast.NanType:
		return "the number " + val
	case ast.BoolType:
		return val
	case ast.StringType, ast.LiteralType:
		return "the text " + strconv.Quote(val)
	}
	return strings.ToLower(n.Type().String())
}

// want names what a value of type t is written as.
func want(t reflect.Type) string {
	if t == reflect.TypeFor[Duration]() {
		return "a duration like 90s, 5m or 1h30m"
	}
	return "text"
}

// kindName names a struct type in messages.
func kindName(t reflect.Type) string {
	switch t.Name() {
	case "Config":
		return "the config"
	case "Generate", "Scoring":
		return strings.ToLower(t.Name())
	}
	return "a " + strings.ToLower(t.Name())
}

// suggest is the name closest to key when it is close enough to be a
// typo, else "".
func suggest(key string, names []string) string {
	best, bestD := "", 0
	for _, n := range names {
		d := distance(strings.ToLower(key), n)
		if best == "" || d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" || bestD > max(1, len(key)/3) {
		return ""
	}
	return best
}

// distance is the edit distance between a and b, a swap of two
// neighbouring letters counting as one edit (optimal string alignment).
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
