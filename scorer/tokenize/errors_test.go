package tokenize

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadErrors checks that every kind of bad tokenizer.json gives an
// error naming the file and what is wrong, never a panic.
func TestLoadErrors(t *testing.T) {
	bert := func(edit func(m map[string]any)) string {
		data, err := os.ReadFile(fixturePath("tiny-mbert"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		out, _ := json.Marshal(m)
		return string(out)
	}
	roberta := func(edit func(m map[string]any)) string {
		data, err := os.ReadFile(fixturePath("tiny-roberta"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		out, _ := json.Marshal(m)
		return string(out)
	}
	tests := []struct {
		name    string
		content string // "" means the file does not exist
		want    []string
	}{
		{"missing file", "", []string{"no such file"}},
		{"empty file", " ", []string{"not a tokenizer.json", "EOF"}},
		{"invalid JSON", "{\n  \"model\": {,\n}", []string{"not a tokenizer.json", "line 2, column 13", "invalid character"}},
		{"trailing data", "{}\n{}", []string{"unexpected data after the JSON object"}},
		{"JSON array", "[1, 2]", []string{"not a tokenizer.json", "cannot unmarshal array"}},
		{"no model", `{"version": "1.0"}`, []string{`"model" field is missing or null`}},
		{"model without type", `{"model": {"vocab": {}}}`, []string{`model: no "type" field`}},
		{"unigram without vocab", `{"model": {"type": "Unigram", "vocab": []}}`, []string{"model.vocab is empty"}},
		{"unigram byte fallback", `{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["a", -1.0]], "byte_fallback": true}}`,
			[]string{"byte_fallback is not supported"}},
		{"unigram bad vocab entry", `{"model": {"type": "Unigram", "unk_id": 0, "vocab": [[1, "a"]]}, "pre_tokenizer": {"type": "Metaspace"}}`,
			[]string{"model.vocab[0]: want [piece, score]"}},
		{"unigram without metaspace", `{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["a", -1.0]]}, "pre_tokenizer": {"type": "Whitespace"}}`,
			[]string{`pre_tokenizer "Whitespace" is not supported with Unigram`}},
		{"unigram bad charsmap", `{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["a", -1.0]]}, "pre_tokenizer": {"type": "Metaspace"},
			"normalizer": {"type": "Precompiled", "precompiled_charsmap": "AAAA"}}`, []string{"precompiled_charsmap"}},
		{"unigram unsupported normalizer", `{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["a", -1.0]]}, "pre_tokenizer": {"type": "Metaspace"},
			"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}]}}`, []string{`normalizer.normalizers[0] "NFKC" is not supported with Unigram`}},
		{"wordlevel", `{"model": {"type": "WordLevel"}}`, []string{`model type "WordLevel" is not supported`}},
		{"unsupported normalizer", bert(func(m map[string]any) { m["normalizer"] = map[string]any{"type": "NFKC"} }),
			[]string{`normalizer "NFKC" is not supported with WordPiece`}},
		{"no normalizer for wordpiece", bert(func(m map[string]any) { m["normalizer"] = nil }),
			[]string{"normalizer null is not supported with WordPiece"}},
		{"unsupported pre-tokenizer", bert(func(m map[string]any) { m["pre_tokenizer"] = map[string]any{"type": "Whitespace"} }),
			[]string{`pre_tokenizer "Whitespace" is not supported`}},
		{"normalizer for BPE", roberta(func(m map[string]any) { m["normalizer"] = map[string]any{"type": "NFC"} }),
			[]string{`normalizer "NFC" is not supported with BPE`}},
		{"BPE dropout", roberta(func(m map[string]any) { m["model"].(map[string]any)["dropout"] = 0.1 }),
			[]string{"dropout"}},
		{"bad merge", roberta(func(m map[string]any) {
			model := m["model"].(map[string]any)
			model["merges"] = []any{[]any{"zzz", "q"}}
		}), []string{`model.merges[0]: token "zzz" is not in model.vocab`}},
		{"bad merge format", roberta(func(m map[string]any) { m["model"].(map[string]any)["merges"] = []any{"abc"} }),
			[]string{`model.merges[0]: "abc" is not two tokens`}},
		{"unk not in vocab", bert(func(m map[string]any) { m["model"].(map[string]any)["unk_token"] = "<nope>" }),
			[]string{`model.unk_token "<nope>" is not in model.vocab`}},
		{"empty vocab", bert(func(m map[string]any) { m["model"].(map[string]any)["vocab"] = map[string]any{} }),
			[]string{"model.vocab is empty"}},
		{"vocab of wrong type", bert(func(m map[string]any) { m["model"].(map[string]any)["vocab"] = []any{1} }),
			[]string{"model:", "cannot unmarshal"}},
		{"unsupported post-processor", bert(func(m map[string]any) { m["post_processor"] = map[string]any{"type": "ByteLevel"} }),
			[]string{`post_processor type "ByteLevel" is not supported`}},
		{"template without $A", bert(func(m map[string]any) {
			pp := m["post_processor"].(map[string]any)
			pp["single"] = []any{map[string]any{"SpecialToken": map[string]any{"id": "[CLS]", "type_id": 0}}}
		}), []string{"template has no $A sequence"}},
		{"template with unknown special", bert(func(m map[string]any) {
			pp := m["post_processor"].(map[string]any)
			pp["special_tokens"] = map[string]any{}
		}), []string{`special token "[CLS]" is not in special_tokens`}},
		{"special id out of range", roberta(func(m map[string]any) {
			m["post_processor"].(map[string]any)["cls"] = []any{"<s>", 99999}
		}), []string{"special token id 99999 is outside the vocabulary"}},
		{"single_word added token", bert(func(m map[string]any) {
			m["added_tokens"].([]any)[4].(map[string]any)["single_word"] = true
		}), []string{`added_tokens[4] "[MASK]": single_word is not supported`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokenizer.json")
			if tc.content != "" {
				if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			tok, err := Load(path)
			if err == nil {
				t.Fatalf("Load succeeded (kind %s), want an error", tok.Kind())
			}
			msg := err.Error()
			if !strings.Contains(msg, path) {
				t.Errorf("error %q does not name the file %s", msg, path)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if tc.content == "" && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error %v does not wrap fs.ErrNotExist", err)
			}
		})
	}
}
