package compare

import _ "embed"

// schema is the JSON Schema (draft 2020-12) of a Comparison's JSON form.
//
//go:embed schema.json
var schema []byte

// JSONSchema returns the JSON Schema (draft 2020-12) of a Comparison's
// JSON form, the one SchemaID names.
func JSONSchema() []byte { return append([]byte(nil), schema...) }
