package tokenize

import (
	"slices"
	"strings"
	"testing"
)

// checkEncoding checks the invariants every encoding must satisfy.
func checkEncoding(t *testing.T, tok *Tokenizer, text string, ids []int32) {
	t.Helper()
	prefix, suffix := tok.SpecialIDs()
	if len(ids) < len(prefix)+len(suffix) || len(ids) > tok.MaxLen() {
		t.Fatalf("%s: Encode(%s) has %d ids, want %d..%d", tok.Path(), quote(text), len(ids), len(prefix)+len(suffix), tok.MaxLen())
	}
	if !slices.Equal(ids[:len(prefix)], prefix) || !slices.Equal(ids[len(ids)-len(suffix):], suffix) {
		t.Fatalf("%s: Encode(%s) = %v, want it to start with %v and end with %v", tok.Path(), quote(text), ids, prefix, suffix)
	}
	for _, id := range ids {
		if id < 0 || int(id) >= tok.VocabSize() {
			t.Fatalf("%s: Encode(%s) has id %d outside [0, %d)", tok.Path(), quote(text), id, tok.VocabSize())
		}
	}
}

// FuzzEncode checks, for the three fixture tokenizers and any input: no
// panic and no error, length within MaxLen, specials at both ends, ids in
// the vocabulary, determinism, Encode = EncodeBatch, and that surrounding
// whitespace and invalid UTF-8 are handled as documented.
func FuzzEncode(f *testing.F) {
	var toks []*Tokenizer
	for _, fx := range allFixtures {
		toks = append(toks, loadFixture(f, fx.name))
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, tok := range toks {
			ids, err := tok.Encode(text)
			if err != nil {
				t.Fatalf("%s: Encode(%s): %v", tok.Path(), quote(text), err)
			}
			checkEncoding(t, tok, text, ids)
			again, err := tok.Encode(text)
			if err != nil || !slices.Equal(ids, again) {
				t.Fatalf("%s: Encode(%s) not deterministic: %v then %v, %v", tok.Path(), quote(text), ids, again, err)
			}
			batch, err := tok.EncodeBatch([]string{text, text}, 0)
			if err != nil || !slices.Equal(batch.IDs[0], ids) || !slices.Equal(batch.IDs[1], ids) {
				t.Fatalf("%s: EncodeBatch(%s) = %v, %v; Encode = %v", tok.Path(), quote(text), batch, err, ids)
			}
			padded, err := tok.Encode(" \u3000\t" + text + "\n\u00a0")
			if err != nil || !slices.Equal(padded, ids) {
				t.Fatalf("%s: Encode(%s) with surrounding whitespace = %v, %v; without %v", tok.Path(), quote(text), padded, err, ids)
			}
			if valid := replaceInvalidUTF8(text); valid != text {
				v, err := tok.Encode(valid)
				if err != nil || !slices.Equal(v, ids) {
					t.Fatalf("%s: Encode(%s) = %v but with U+FFFD for invalid bytes %v, %v", tok.Path(), quote(text), ids, v, err)
				}
			}
		}
	})
}

// miniWordPiece and miniBPE are small tokenizer.json files that seed
// FuzzParse (the fixtures are too large to mutate usefully).
const miniWordPiece = `{"version":"1.0","added_tokens":[{"id":0,"content":"[PAD]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},{"id":1,"content":"[UNK]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},{"id":2,"content":"[CLS]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},{"id":3,"content":"[SEP]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},{"id":4,"content":"[MASK]","single_word":false,"lstrip":true,"rstrip":false,"normalized":false,"special":true}],
"normalizer":{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true},
"pre_tokenizer":{"type":"BertPreTokenizer"},
"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}],"pair":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}},{"Sequence":{"id":"B","type_id":1}},{"SpecialToken":{"id":"[SEP]","type_id":1}}],"special_tokens":{"[CLS]":{"id":"[CLS]","ids":[2],"tokens":["[CLS]"]},"[SEP]":{"id":"[SEP]","ids":[3],"tokens":["[SEP]"]}}},
"model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":10,"vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"[MASK]":4,"a":5,"b":6,"##a":7,"##b":8,"ab":9,"中":10,".":11,"##ü":12}}}`

const miniBPE = `{"version":"1.0","added_tokens":[{"id":0,"content":"<s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},{"id":1,"content":"<pad>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},{"id":2,"content":"</s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},{"id":3,"content":"<mask>","single_word":false,"lstrip":true,"rstrip":false,"normalized":false,"special":true}],
"normalizer":null,"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true},
"post_processor":{"type":"RobertaProcessing","sep":["</s>",2],"cls":["<s>",0],"trim_offsets":true,"add_prefix_space":true},
"model":{"type":"BPE","dropout":null,"unk_token":null,"vocab":{"<s>":0,"<pad>":1,"</s>":2,"<mask>":3,"a":4,"b":5,"Ġ":6,"Ġa":7,"ab":8,"Ġab":9},"merges":[["Ġ","a"],["a","b"],["Ġa","b"]]}}`

const miniUnigram = `{"version":"1.0","added_tokens":[{"id":0,"content":"<unk>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},{"id":7,"content":"<s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},{"id":8,"content":"</s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},{"id":9,"content":"<mask>","single_word":false,"lstrip":true,"rstrip":false,"normalized":false,"special":true}],
"normalizer":{"type":"Sequence","normalizers":[{"type":"Replace","pattern":{"String":"x"},"content":"ab"},{"type":"Replace","pattern":{"Regex":" {2,}"},"content":" "}]},
"pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":true},
"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"</s>","type_id":0}}],"pair":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"</s>","type_id":0}},{"Sequence":{"id":"B","type_id":0}},{"SpecialToken":{"id":"</s>","type_id":0}}],"special_tokens":{"<s>":{"id":"<s>","ids":[7],"tokens":["<s>"]},"</s>":{"id":"</s>","ids":[8],"tokens":["</s>"]}}},
"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0.0],["▁",-2.0],["a",-3.0],["b",-3.0],["▁a",-2.5],["ab",-2.8],["▁ab",-4.0],["<s>",0.0],["</s>",0.0],["<mask>",0.0]],"byte_fallback":false}}`

// FuzzParse checks that Parse never panics on any tokenizer.json, and that
// what it accepts encodes without error and within its invariants.
func FuzzParse(f *testing.F) {
	texts := []string{"", "ab ab", "A b. 中ü <mask> [MASK]", strings.Repeat("ab ", 600)}
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := Parse("fuzz.json", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "tokenize: fuzz.json: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, s := range texts {
			ids, err := tok.Encode(s)
			if err != nil {
				t.Fatalf("Encode(%q): %v", s, err)
			}
			checkEncoding(t, tok, s, ids)
		}
	})
}

// TestMiniTokenizers pins the FuzzParse seeds' behaviour.
func TestMiniTokenizers(t *testing.T) {
	tests := []struct {
		name, json, text string
		want             []int32
	}{
		{"wordpiece", miniWordPiece, "AB abab Ü 中.", []int32{2, 9, 9, 7, 8, 1, 10, 11, 3}},
		{"wordpiece-mask-lstrip", miniWordPiece, "a [MASK]b", []int32{2, 5, 4, 6, 3}},
		{"wordpiece-long-word", miniWordPiece, "abababababa", []int32{2, 1, 3}},
		{"bpe", miniBPE, "ab ab", []int32{0, 9, 9, 2}},
		{"bpe-mask-lstrip", miniBPE, "a <mask>", []int32{0, 7, 3, 2}},
		{"unigram", miniUnigram, "ab  x a?b", []int32{7, 6, 6, 4, 0, 3, 8}},
		{"unigram-prepend-first", miniUnigram, "<s>ab", []int32{7, 7, 5, 8}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Parse(tc.name, []byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			got, err := tok.Encode(tc.text)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("Encode(%q) = %v, %v; want %v", tc.text, got, err, tc.want)
			}
		})
	}
}
