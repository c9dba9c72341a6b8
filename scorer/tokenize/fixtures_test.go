package tokenize

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// fixtureDir is where the reference fixtures live, relative to this package.
const fixtureDir = "../../testdata/bertscore"

// fixtures are the reference tokenizers with their expected Kind.
var fixtures = []struct {
	name string
	kind string
}{
	{"tiny-mbert", "wordpiece-cased"},
	{"tiny-bert-uncased", "wordpiece-uncased-strip"},
	{"tiny-roberta", "bpe-bytelevel"},
}

// allFixtures adds tiny-unigram, this package's own XLM-RoBERTa-style test
// tokenizer (no reference tokens.json; checked against the oracle).
var allFixtures = append(fixtures[:len(fixtures):len(fixtures)], struct {
	name string
	kind string
}{"tiny-unigram", "unigram-metaspace"})

func fixturePath(name string) string {
	if name == "tiny-unigram" {
		return unigramFixture
	}
	return filepath.Join(fixtureDir, name, "tokenizer.json")
}

func loadFixture(t testing.TB, name string) *Tokenizer {
	t.Helper()
	tok, err := Load(fixturePath(name))
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	return tok
}

type tokensJSON struct {
	Strings []string `json:"strings"`
	Slow    struct {
		IDs [][]int32 `json:"ids"`
	} `json:"slow"`
	Fast struct {
		IDs [][]int32 `json:"ids"`
	} `json:"fast"`
}

// TestReferenceTokens checks every probe of tokens.json, the ids the
// reference's slow and fast tokenizers give, for all three fixtures.
func TestReferenceTokens(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			tok := loadFixture(t, fx.name)
			data, err := os.ReadFile(filepath.Join(fixtureDir, fx.name, "tokens.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want tokensJSON
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			if len(want.Strings) == 0 || len(want.Slow.IDs) != len(want.Strings) || len(want.Fast.IDs) != len(want.Strings) {
				t.Fatalf("tokens.json: %d strings, %d slow, %d fast", len(want.Strings), len(want.Slow.IDs), len(want.Fast.IDs))
			}
			batch, err := tok.EncodeBatch(want.Strings, 0)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range want.Strings {
				got, err := tok.Encode(s)
				if err != nil {
					t.Fatalf("Encode(%q): %v", s, err)
				}
				for _, ref := range []struct {
					path string
					ids  []int32
				}{{"slow", want.Slow.IDs[i]}, {"fast", want.Fast.IDs[i]}} {
					if !slices.Equal(got, ref.ids) {
						t.Errorf("Encode(%s) = %v, %s reference %v", quote(s), got, ref.path, ref.ids)
					}
				}
				if !slices.Equal(batch.IDs[i], got) {
					t.Errorf("EncodeBatch[%d] = %v, Encode = %v", i, batch.IDs[i], got)
				}
			}
		})
	}
}

// TestAccessors checks Kind, specials, padding and sizes of the fixtures.
func TestAccessors(t *testing.T) {
	tests := []struct {
		name        string
		kind        string
		cls, sep    int32
		pad         int32
		vocab       int
		notSpecials []int32
	}{
		{"tiny-mbert", "wordpiece-cased", 2, 3, 0, 1441, []int32{0, 1, 4, 100}},
		{"tiny-bert-uncased", "wordpiece-uncased-strip", 101, 102, 0, 30522, []int32{0, 100, 103, 1996}},
		{"tiny-roberta", "bpe-bytelevel", 0, 2, 1, 1200, []int32{1, 3, 4, 501}},
		{"tiny-unigram", "unigram-metaspace", 0, 2, 1, 2504, []int32{1, 3, 2503, 256}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := loadFixture(t, tc.name)
			if got := tok.Kind(); got != tc.kind {
				t.Errorf("Kind() = %q, want %q", got, tc.kind)
			}
			if !tok.IsSpecial(tc.cls) || !tok.IsSpecial(tc.sep) {
				t.Errorf("IsSpecial(%d), IsSpecial(%d) = %v, %v; want true", tc.cls, tc.sep, tok.IsSpecial(tc.cls), tok.IsSpecial(tc.sep))
			}
			for _, id := range tc.notSpecials {
				if tok.IsSpecial(id) {
					t.Errorf("IsSpecial(%d) = true, want false", id)
				}
			}
			if got := tok.PadID(); got != tc.pad {
				t.Errorf("PadID() = %d, want %d", got, tc.pad)
			}
			if got := tok.VocabSize(); got != tc.vocab {
				t.Errorf("VocabSize() = %d, want %d", got, tc.vocab)
			}
			if got := tok.MaxLen(); got != 512 {
				t.Errorf("MaxLen() = %d, want 512", got)
			}
			ids, err := tok.Encode("")
			if err != nil || !slices.Equal(ids, []int32{tc.cls, tc.sep}) {
				t.Errorf(`Encode("") = %v, %v; want [%d %d]`, ids, err, tc.cls, tc.sep)
			}
			if len(tok.Fingerprint()) != 64 {
				t.Errorf("Fingerprint() = %q, want 64 hex digits", tok.Fingerprint())
			}
		})
	}
}

// quote formats a test string for messages, shortening long ones.
func quote(s string) string {
	r := []rune(s)
	if len(r) > 80 {
		return fmt.Sprintf("%+q…(%d runes)", string(r[:80]), len(r))
	}
	return fmt.Sprintf("%+q", s)
}
