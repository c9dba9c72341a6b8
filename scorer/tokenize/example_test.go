package tokenize_test

import (
	"fmt"
	"log"

	"github.com/bertbench/bertbench/scorer/tokenize"
)

func ExampleLoad() {
	tok, err := tokenize.Load("../../testdata/bertscore/tiny-bert-uncased/tokenizer.json")
	if err != nil {
		log.Fatal(err)
	}
	ids, err := tok.Encode("  Naïve résumé!\u3000")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Kind(), ids, tok.IsSpecial(ids[0]), tok.IsSpecial(ids[len(ids)-1]))
	// Output: wordpiece-uncased-strip [101 15743 13746 999 102] true true
}
