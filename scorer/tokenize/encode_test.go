package tokenize

import (
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestTruncation checks that the early stop of Encode gives exactly the
// first MaxLen−2 content ids of the full encoding, for long texts of every
// kind, including added tokens around the cut.
func TestTruncation(t *testing.T) {
	texts := []string{
		strings.Repeat("token ", 700),
		strings.Repeat("中文", 400),
		strings.Repeat("unbelievably naïve résumé ", 200),
		strings.Repeat("a [MASK] <mask> ", 300),
		strings.Repeat("x", 5000),
		strings.Repeat("😀 ", 300),
	}
	for _, s := range generateTexts(300, 4) {
		if len(s) > 2000 {
			texts = append(texts, s)
		}
	}
	for _, fx := range allFixtures {
		t.Run(fx.name, func(t *testing.T) {
			tok := loadFixture(t, fx.name)
			full := *tok
			full.maxLen = 1 << 30
			for _, s := range texts {
				got, err := tok.Encode(s)
				if err != nil {
					t.Fatal(err)
				}
				all, err := full.encode(&scratch{}, s)
				if err != nil {
					t.Fatal(err)
				}
				if len(all) <= tok.MaxLen() {
					if !slices.Equal(got, all) {
						t.Errorf("Encode(%s) = %v, untruncated %v", quote(s), got, all)
					}
					continue
				}
				want := append(append([]int32(nil), all[:tok.MaxLen()-1]...), all[len(all)-1])
				if !slices.Equal(got, want) {
					t.Errorf("Encode(%s):\n got  %v\n want %v", quote(s), abbreviate(got), abbreviate(want))
				}
			}
		})
	}
}

// TestStrip checks Python str.strip() semantics: U+001C..U+001F and
// Unicode spaces are stripped, zero-width characters are not.
func TestStrip(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{" \t\n\v\f\r\x1c\x1d\x1e\x1f\u0085\u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000", ""},
		{"\u3000a b\u00a0", "a b"},
		{"\u200bx\ufeff", "\u200bx\ufeff"},
		{"\u180ex", "\u180ex"},
		{"x\x1f", "x"},
	}
	for _, tc := range tests {
		if got := pyStrip(tc.in); got != tc.want {
			t.Errorf("pyStrip(%+q) = %+q, want %+q", tc.in, got, tc.want)
		}
	}
}

// panicModel is a fault-injection model that panics.
type panicModel struct{}

func (panicModel) encode(*scratch, string, []int32, int, bool) []int32 { panic("boom") }
func (panicModel) kind() string                                        { return "panic" }

// TestPanicBecomesError checks that an internal panic reaches callers of
// Encode and EncodeBatch as an error naming the file and the text.
func TestPanicBecomesError(t *testing.T) {
	tok := loadFixture(t, "tiny-mbert")
	bad := *tok
	bad.model = panicModel{}
	if _, err := bad.Encode("hello"); err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "tokenizer.json") {
		t.Errorf("Encode error = %v, want one with the panic and the file", err)
	}
	texts := make([]string, 500)
	for i := range texts {
		texts[i] = "x"
	}
	if _, err := bad.EncodeBatch(texts); err == nil || !strings.Contains(err.Error(), "text 0:") {
		t.Errorf("EncodeBatch error = %v, want one naming text 0", err)
	}
}

// TestConcurrentEncode runs Encode from many goroutines (for -race) and
// checks the results agree with a sequential run.
func TestConcurrentEncode(t *testing.T) {
	texts := generateTexts(200, 5)
	for _, fx := range allFixtures {
		tok := loadFixture(t, fx.name)
		seq := make([][]int32, len(texts))
		for i, s := range texts {
			var err error
			if seq[i], err = tok.Encode(s); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i, s := range texts {
					ids, err := tok.Encode(s)
					if err != nil || !slices.Equal(ids, seq[i]) {
						t.Errorf("%s: concurrent Encode(%s) = %v, %v; want %v", fx.name, quote(s), ids, err, seq[i])
						return
					}
				}
			}()
		}
		wg.Wait()
	}
}
