package scorer_test

import (
	"path/filepath"
	"testing"

	"github.com/bertbench/bertbench/scorer/tokenize"
)

func tokenizerOf(b testing.TB, dir string) *tokenize.Tokenizer {
	b.Helper()
	t, err := tokenize.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		b.Fatal(err)
	}
	return t
}
