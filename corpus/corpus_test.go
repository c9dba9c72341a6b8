package corpus

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRead(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty file", "", nil},
		{"one line, no newline", "a", []string{"a"}},
		{"one line, newline", "a\n", []string{"a"}},
		{"empty lines are sentences", "a\n\nb\n\n", []string{"a", "", "b", ""}},
		{"only a newline", "\n", []string{""}},
		{"CRLF", "a\r\nb\r\n\r\n", []string{"a", "b", ""}},
		{"CR at end of file", "a\r\nb\r", []string{"a", "b"}},
		{"lone CR inside a line is kept", "a\rb\n", []string{"a\rb"}},
		{"BOM dropped on the first line only", "\ufeffa\n\ufeffb\n", []string{"a", "\ufeffb"}},
		{"whitespace kept (the tokenizer strips)", "  a \t\n", []string{"  a \t"}},
		{"CJK and emoji", "今天天气不错。\n🙂\n", []string{"今天天气不错。", "🙂"}},
		{"U+2028 is not a line break", "a\u2028b\n", []string{"a\u2028b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Read(strings.NewReader(tc.in), "x.txt")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReadLongLine(t *testing.T) {
	long := strings.Repeat("word ", 200000) // 1 MB, past bufio's buffer
	got, err := Read(strings.NewReader("a\n"+long+"\nb"), "x.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1] != long {
		t.Fatalf("long line lost: %d sentences", len(got))
	}
}

func TestReadInvalidUTF8(t *testing.T) {
	_, err := Read(strings.NewReader("ok\nstill ok\nbad \xff here\n"), "cands.txt")
	var le *LineError
	if !errors.As(err, &le) || le.Line != 3 || le.File != "cands.txt" || !errors.Is(err, ErrInvalidUTF8) {
		t.Fatalf("error %v, want a LineError for cands.txt line 3", err)
	}
	for _, want := range []string{"cands.txt:3:", "not valid UTF-8", "byte offset 4"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	_, err = Read(strings.NewReader("\xc3"), Stdin)
	if err == nil || !strings.Contains(err.Error(), "standard input:1:") {
		t.Errorf("stdin error %v", err)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPairs(t *testing.T) {
	dir := t.TempDir()
	c := writeFile(t, dir, "c.txt", "a\n\nc\n")
	r1 := writeFile(t, dir, "r1.txt", "A\nB\nC\n")
	r2 := writeFile(t, dir, "r2.txt", "x\r\ny\r\n\r\n")
	short := writeFile(t, dir, "short.txt", "A\nB\n")

	cands, refs, err := Pairs(c, []string{r1, r2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cands, []string{"a", "", "c"}) {
		t.Errorf("cands %q", cands)
	}
	want := [][]string{{"A", "x"}, {"B", "y"}, {"C", ""}}
	for i := range want {
		if !slices.Equal(refs[i], want[i]) {
			t.Errorf("refs[%d] = %q, want %q", i, refs[i], want[i])
		}
	}

	_, _, err = Pairs(c, []string{r1, short}, nil)
	var me *CountMismatchError
	if !errors.As(err, &me) || me.Count != 3 || me.OtherCount != 2 {
		t.Fatalf("mismatch error %v", err)
	}
	for _, w := range []string{c, short, "3 lines", "has 2"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}

	cands, refs, err = Pairs(Stdin, []string{r1}, strings.NewReader("p\nq\nr"))
	if err != nil || len(cands) != 3 || refs[2][0] != "C" {
		t.Errorf("stdin candidates: %q %q %v", cands, refs, err)
	}
	if _, _, err := Pairs(Stdin, []string{Stdin}, strings.NewReader("")); err == nil {
		t.Error("stdin twice: no error")
	}
	if _, _, err := Pairs(c, nil, nil); err == nil {
		t.Error("no references: no error")
	}
	if _, _, err := Pairs(filepath.Join(dir, "missing.txt"), []string{r1}, nil); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzRead: whatever the bytes, Read either names a line with invalid
// UTF-8 or returns exactly one sentence per line, each the line itself
// less one trailing "\r" (and a leading BOM on the first).
func FuzzRead(f *testing.F) {
	for _, s := range []string{"", "a\n", "a\r\nb", "\n\n", "\ufeffx\n", "bad\xff\n", "今天\r\n\r\n", "a\rb\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := Read(strings.NewReader(string(in)), "fuzz")
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) || le.Line < 1 || utf8.Valid(in) {
				t.Fatalf("error %v for input %q", err, in)
			}
			return
		}
		if !utf8.Valid(in) {
			t.Fatalf("invalid UTF-8 accepted: %q", in)
		}
		norm := strings.TrimPrefix(string(in), "\ufeff")
		wantLines := strings.Count(norm, "\n")
		if norm != "" && !strings.HasSuffix(norm, "\n") {
			wantLines++
		}
		if len(got) != wantLines {
			t.Fatalf("%d sentences, want %d, for %q", len(got), wantLines, in)
		}
		lines := strings.Split(norm, "\n")
		for i, s := range got {
			if s != lines[i] && s+"\r" != lines[i] {
				t.Fatalf("sentence %d is %q, but the line reads %q", i+1, s, lines[i])
			}
		}
	})
}
