package tokenize

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTruncation checks that the early stop of Encode gives exactly the
// first MaxLen−2 content ids of the full encoding, for long texts of every
// kind, including added tokens around the cut; and that EncodeBatch
// reports a text as truncated exactly when its full encoding is longer
// than MaxLen (a text of exactly MaxLen ids is not truncated).
func TestTruncation(t *testing.T) {
	texts := []string{
		strings.Repeat("token ", 700),
		strings.Repeat("中文", 400),
		strings.Repeat("unbelievably naïve résumé ", 200),
		strings.Repeat("a [MASK] <mask> ", 300),
		strings.Repeat("x", 5000),
		strings.Repeat("😀 ", 300),
	}
	// Around the boundary: one id per word for every fixture.
	for n := 500; n <= 515; n++ {
		texts = append(texts, strings.Repeat("a ", n), strings.Repeat("中", n))
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
			batch, err := tok.EncodeBatch(texts, 2)
			if err != nil {
				t.Fatal(err)
			}
			var wantTruncated []int
			lengths := map[int]bool{}
			for i, s := range texts {
				got, err := tok.Encode(s)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(batch.IDs[i], got) {
					t.Errorf("EncodeBatch(%s) = %v, Encode %v", quote(s), abbreviate(batch.IDs[i]), abbreviate(got))
				}
				all, cut, err := full.encode(&scratch{}, s)
				if err != nil {
					t.Fatal(err)
				}
				if cut {
					t.Errorf("untruncated encoding of %s reports a cut", quote(s))
				}
				lengths[len(all)] = true
				if len(all) <= tok.MaxLen() {
					if !slices.Equal(got, all) {
						t.Errorf("Encode(%s) = %v, untruncated %v", quote(s), got, all)
					}
					continue
				}
				wantTruncated = append(wantTruncated, i)
				want := append(append([]int32(nil), all[:tok.MaxLen()-1]...), all[len(all)-1])
				if !slices.Equal(got, want) {
					t.Errorf("Encode(%s):\n got  %v\n want %v", quote(s), abbreviate(got), abbreviate(want))
				}
			}
			if !slices.Equal(batch.Truncated, wantTruncated) {
				t.Errorf("EncodeBatch reports texts %v truncated, want %v", batch.Truncated, wantTruncated)
			}
			if !lengths[tok.MaxLen()] || !lengths[tok.MaxLen()+1] {
				t.Errorf("no text of exactly %d or %d ids: the boundary is not tested", tok.MaxLen(), tok.MaxLen()+1)
			}
		})
	}
}

// concurrencyModel wraps a model and records the most encode calls that
// ran at once.
type concurrencyModel struct {
	segmentEncoder
	mu        sync.Mutex
	cur, peak int
}

func (m *concurrencyModel) encode(sc *scratch, seg string, out []int32, limit int, atStart bool) []int32 {
	m.mu.Lock()
	m.cur++
	m.peak = max(m.peak, m.cur)
	m.mu.Unlock()
	// Hold the call a little, so that workers running at the same time
	// overlap.
	time.Sleep(50 * time.Microsecond)
	out = m.segmentEncoder.encode(sc, seg, out, limit, atStart)
	m.mu.Lock()
	m.cur--
	m.mu.Unlock()
	return out
}

// TestEncodeBatchWorkers: EncodeBatch runs on at most the number of
// goroutines asked for, whatever GOMAXPROCS is; 0 means GOMAXPROCS.
func TestEncodeBatchWorkers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	tok := loadFixture(t, "tiny-mbert")
	texts := make([]string, 16*batchChunk)
	for i := range texts {
		texts[i] = fmt.Sprintf("word %d", i)
	}
	for _, tc := range []struct{ workers, want int }{{1, 1}, {3, 3}, {0, 8}} {
		m := &concurrencyModel{segmentEncoder: tok.model}
		counted := *tok
		counted.model = m
		batch, err := counted.EncodeBatch(texts, tc.workers)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range texts {
			if want, _ := tok.Encode(s); !slices.Equal(batch.IDs[i], want) {
				t.Fatalf("workers %d: text %d: %v, want %v", tc.workers, i, batch.IDs[i], want)
			}
		}
		if m.peak != tc.want {
			t.Errorf("workers %d: up to %d texts encoded at once, want %d", tc.workers, m.peak, tc.want)
		}
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
	if _, err := bad.EncodeBatch(texts, 0); err == nil || !strings.Contains(err.Error(), "text 0:") {
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
