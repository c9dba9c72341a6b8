// Package gen makes the experiment config's JSON Schema, for the
// schemagen command and for the test that keeps the committed schema in
// step with the types.
package gen

import (
	"reflect"

	"github.com/bertbench/bertbench/experiment"
	"github.com/bertbench/bertbench/experiment/internal/jsonschema"
)

// Title is the schema's title.
const Title = "bertbench experiment config"

// Schema generates the schema; src is the experiment package's folder,
// whose doc comments give the descriptions.
func Schema(src string) ([]byte, error) {
	docs, err := jsonschema.ReadDocs(src)
	if err != nil {
		return nil, err
	}
	return jsonschema.Generate(reflect.TypeFor[experiment.Config](), jsonschema.Options{Title: Title, Docs: docs})
}
