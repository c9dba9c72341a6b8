// Command schemagen writes the JSON Schema of bertbench's experiment
// config (experiment.Config) for editors: go generate ./experiment runs it
// as
//
//	go run ./internal/schemagen -o ../examples/bertbench.schema.json
//
// from the experiment folder, whose Go files give the descriptions.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/bertbench/bertbench/experiment/internal/schemagen/gen"
)

func main() {
	out := flag.String("o", "", "write the schema to `FILE` (default: standard output)")
	src := flag.String("src", ".", "the experiment package's `DIR`, for the doc comments")
	flag.Parse()
	b, err := gen.Schema(*src)
	if err == nil {
		if *out == "" {
			_, err = os.Stdout.Write(b)
		} else {
			err = os.WriteFile(*out, b, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}
