package scorer

import (
	"fmt"

	"github.com/bertbench/bertbench/scorer/tokenize"
)

// loadTokenizer loads a Hugging Face tokenizer.json.
func loadTokenizer(path string) (Tokenizer, error) {
	t, err := tokenize.Load(path)
	if err != nil {
		return nil, asInput(fmt.Errorf("tokenizer %s: %w", path, err))
	}
	return t, nil
}
