// Command mkunigram writes scorer/tokenize/testdata/tiny-unigram/tokenizer.json,
// a small XLM-RoBERTa-style tokenizer (SentencePiece nmt_nfkc Precompiled
// normalizer, collapsing of repeated spaces, Metaspace, Unigram, <s> $A </s>)
// for testing the Unigram path against Hugging Face tokenizers. The
// charsmap is SentencePiece's standard nmt_nfkc map (the one XLM-RoBERTa
// ships), taken from github.com/sugarme/tokenizer/spm; the vocabulary is
// built from the benchmark sentences: every character, plus the 2,000 most
// frequent substrings of 2 to 5 characters, scored by log frequency.
//
// Usage, from the repository root:
//
//	go run ./scorer/tokenize/internal/mkunigram
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sugarme/tokenizer/spm"
)

const dir = "scorer/tokenize/testdata"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mkunigram:", err)
		os.Exit(1)
	}
}

func run() error {
	data, err := os.ReadFile(filepath.Join(dir, "bench-sentences.txt"))
	if err != nil {
		return err
	}
	counts := map[string]int{}
	total := 0
	for _, line := range strings.Split(string(data), "\n") {
		for _, w := range strings.Fields(line) {
			r := []rune("▁" + w)
			for i := range r {
				for n := 1; n <= 5 && i+n <= len(r); n++ {
					counts[string(r[i:i+n])]++
					total++
				}
			}
		}
	}
	var singles, multi []string
	for p := range counts {
		if len([]rune(p)) == 1 {
			singles = append(singles, p)
		} else {
			multi = append(multi, p)
		}
	}
	sort.Strings(singles)
	sort.Slice(multi, func(i, j int) bool {
		if counts[multi[i]] != counts[multi[j]] {
			return counts[multi[i]] > counts[multi[j]]
		}
		return multi[i] < multi[j]
	})
	if len(multi) > 2000 {
		multi = multi[:2000]
	}
	vocab := [][2]any{{"<s>", 0.0}, {"<pad>", 0.0}, {"</s>", 0.0}, {"<unk>", 0.0}}
	for _, p := range append(singles, multi...) {
		score := math.Round(math.Log(float64(counts[p])/float64(total))*1e4) / 1e4
		vocab = append(vocab, [2]any{p, score})
	}
	mask := len(vocab)
	vocab = append(vocab, [2]any{"<mask>", 0.0})

	added := func(id int, content string, lstrip bool) map[string]any {
		return map[string]any{"id": id, "content": content, "single_word": false, "lstrip": lstrip,
			"rstrip": false, "normalized": false, "special": true}
	}
	special := func(tok string, id int) map[string]any {
		return map[string]any{"id": tok, "ids": []int{id}, "tokens": []string{tok}}
	}
	seq := func(id string, typeID int) map[string]any {
		return map[string]any{"Sequence": map[string]any{"id": id, "type_id": typeID}}
	}
	spec := func(id string, typeID int) map[string]any {
		return map[string]any{"SpecialToken": map[string]any{"id": id, "type_id": typeID}}
	}
	tok := map[string]any{
		"version":    "1.0",
		"truncation": nil,
		"padding":    nil,
		"added_tokens": []any{added(0, "<s>", false), added(1, "<pad>", false), added(2, "</s>", false),
			added(3, "<unk>", false), added(mask, "<mask>", true)},
		"normalizer": map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "Precompiled", "precompiled_charsmap": base64.StdEncoding.EncodeToString(spm.NmtNfkc())},
			map[string]any{"type": "Replace", "pattern": map[string]any{"Regex": " {2,}"}, "content": " "},
		}},
		"pre_tokenizer": map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
		"post_processor": map[string]any{
			"type":           "TemplateProcessing",
			"single":         []any{spec("<s>", 0), seq("A", 0), spec("</s>", 0)},
			"pair":           []any{spec("<s>", 0), seq("A", 0), spec("</s>", 0), spec("</s>", 0), seq("B", 0), spec("</s>", 0)},
			"special_tokens": map[string]any{"<s>": special("<s>", 0), "</s>": special("</s>", 2)},
		},
		"decoder": map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
		"model":   map[string]any{"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": false},
	}
	out, err := json.Marshal(tok)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "tiny-unigram"), 0o755); err != nil {
		return err
	}
	p := filepath.Join(dir, "tiny-unigram", "tokenizer.json")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d pieces\n", p, len(vocab))
	return nil
}
