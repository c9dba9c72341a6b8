package tokenize

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
)

// The Hugging Face oracle: scripts/hf-oracle/oracle.js running the official
// tokenizers package (Rust, through its Node binding), installed by
// `make hf-tokenizers` into $BERTBENCH_DEPS/node (or .deps/node).

// oracleDir returns the folder holding the installed oracle, failing the
// test with the make target to run when it is missing.
func oracleDir(t testing.TB) string {
	t.Helper()
	var dirs []string
	if deps := os.Getenv("BERTBENCH_DEPS"); deps != "" {
		dirs = append(dirs, filepath.Join(deps, "node"))
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if d := filepath.Join(root, ".deps", "node"); !slices.Contains(dirs, d) { // make sets BERTBENCH_DEPS to .deps
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if fileExists(filepath.Join(d, "oracle.js")) && fileExists(filepath.Join(d, "node_modules", "tokenizers", "package.json")) {
			return d
		}
	}
	t.Fatalf("Hugging Face tokenizers oracle not found in %s: run `make hf-tokenizers`", strings.Join(dirs, " or "))
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// oracle is a running `node oracle.js serve` process.
type oracle struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr strings.Builder
}

// startOracle starts the oracle; it is stopped when the test ends.
func startOracle(t testing.TB) *oracle {
	t.Helper()
	dir := oracleDir(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found (%v): install Node.js >= 18, then run `make hf-tokenizers`", err)
	}
	o := &oracle{cmd: exec.Command(node, filepath.Join(dir, "oracle.js"), "serve")}
	o.cmd.Dir = dir
	o.cmd.Stderr = &o.stderr
	if o.stdin, err = o.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := o.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	o.stdout = bufio.NewReaderSize(out, 1<<20)
	if err := o.cmd.Start(); err != nil {
		t.Fatalf("start oracle: %v", err)
	}
	t.Cleanup(func() {
		o.stdin.Close()
		done := make(chan error, 1)
		go func() { done <- o.cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			o.cmd.Process.Kill()
			<-done
		}
	})
	return o
}

// encode returns Hugging Face's ids for texts (stripped, with specials,
// truncated to 512) with the tokenizer.json at path.
func (o *oracle) encode(path string, texts []string) ([][]int32, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	req, err := json.Marshal(struct {
		Tokenizer string   `json:"tokenizer"`
		Texts     []string `json:"texts"`
	}{abs, texts})
	if err != nil {
		return nil, err
	}
	if _, err := o.stdin.Write(append(req, '\n')); err != nil {
		return nil, fmt.Errorf("write to oracle: %w (stderr: %s)", err, o.stderr.String())
	}
	line, err := o.stdout.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("read from oracle: %w (stderr: %s)", err, o.stderr.String())
	}
	var resp struct {
		IDs   [][]int32 `json:"ids"`
		Error string    `json:"error"`
	}
	if err := json.Unmarshal(line, &resp); err != nil {
		return nil, fmt.Errorf("oracle reply: %w", err)
	}
	if resp.Error != "" {
		return nil, errors.New("oracle: " + resp.Error)
	}
	if len(resp.IDs) != len(texts) {
		return nil, fmt.Errorf("oracle returned %d encodings for %d texts", len(resp.IDs), len(texts))
	}
	return resp.IDs, nil
}

// compareWithOracle encodes texts with the tokenizer at path, both ways,
// and reports the first few differences readably.
func compareWithOracle(t *testing.T, o *oracle, path string, texts []string) {
	t.Helper()
	tok, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := o.encode(path, texts)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := tok.EncodeBatch(texts, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := batch.IDs
	mismatches := 0
	for i := range texts {
		if slices.Equal(got[i], want[i]) {
			continue
		}
		mismatches++
		if mismatches <= 5 {
			t.Errorf("text %d %s:\n  got  %v\n  want %v (Hugging Face)\n  first difference at id %d",
				i, quote(texts[i]), abbreviate(got[i]), abbreviate(want[i]), firstDiff(got[i], want[i]))
		}
	}
	if mismatches > 0 {
		t.Errorf("%s: %d of %d texts differ from Hugging Face", filepath.Base(filepath.Dir(path)), mismatches, len(texts))
	}
}

func firstDiff(a, b []int32) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func abbreviate(ids []int32) string {
	if len(ids) <= 40 {
		return fmt.Sprint(ids)
	}
	return fmt.Sprintf("%v … %v (%d ids)", ids[:20], ids[len(ids)-10:], len(ids))
}

// TestOracleGenerated compares 2,000 generated multilingual strings with
// Hugging Face for every fixture tokenizer.
func TestOracleGenerated(t *testing.T) {
	o := startOracle(t)
	texts := generateTexts(2000, 1)
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			compareWithOracle(t, o, fixturePath(fx.name), texts)
		})
	}
}

// TestOracleAllCodePoints puts every Unicode scalar value through every
// fixture tokenizer, inside words ("a" c "b", "1" c "2") and alone, and
// compares with Hugging Face: it pins down the character tables (control,
// whitespace, punctuation, CJK, accents, lowercase, \p{L}, \p{N}).
func TestOracleAllCodePoints(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: 1.1 million code points through the oracle")
	}
	o := startOracle(t)
	texts := codePointTexts(func(s string) string { return "a" + s + "b 1" + s + "2 " + s + " " })
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			compareWithOracle(t, o, fixturePath(fx.name), texts)
		})
	}
}

// variant writes a copy of a fixture's tokenizer.json with edit applied to
// the decoded JSON and returns its path.
func variant(t *testing.T, fixture string, edit func(m map[string]any)) string {
	t.Helper()
	data, err := os.ReadFile(fixturePath(fixture))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func obj(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }

// TestOracleVariants checks options the fixtures do not use, on edited
// copies of them: every BertNormalizer combination, a small
// max_input_chars_per_word, ByteLevel without the prefix space, merges in
// the older "a b" format, and added tokens that absorb whitespace.
func TestOracleVariants(t *testing.T) {
	o := startOracle(t)
	n := 600
	if testing.Short() {
		n = 150
	}
	texts := generateTexts(n, 2)
	type edit struct {
		name    string
		fixture string
		kind    string
		edit    func(m map[string]any)
	}
	var edits []edit
	for _, lower := range []bool{false, true} {
		for _, strip := range []any{nil, false, true} {
			for _, clean := range []bool{false, true} {
				for _, cjk := range []bool{false, true} {
					edits = append(edits, edit{
						name:    fmt.Sprintf("bert-lower=%v-strip=%v-clean=%v-cjk=%v", lower, strip, clean, cjk),
						fixture: "tiny-bert-uncased",
						edit: func(m map[string]any) {
							n := obj(m, "normalizer")
							n["lowercase"], n["strip_accents"], n["clean_text"], n["handle_chinese_chars"] = lower, strip, clean, cjk
						},
					})
				}
			}
		}
	}
	edits = append(edits,
		edit{name: "wordpiece-max-chars-5", fixture: "tiny-mbert", edit: func(m map[string]any) {
			obj(m, "model")["max_input_chars_per_word"] = 5
		}},
		edit{name: "bpe-no-prefix-space", fixture: "tiny-roberta", kind: "bpe-bytelevel-noprefix", edit: func(m map[string]any) {
			obj(m, "pre_tokenizer")["add_prefix_space"] = false
		}},
		edit{name: "bpe-no-regex", fixture: "tiny-roberta", kind: "bpe-bytelevel-noregex", edit: func(m map[string]any) {
			obj(m, "pre_tokenizer")["use_regex"] = false
		}},
		edit{name: "bpe-no-post-processor", fixture: "tiny-roberta", edit: func(m map[string]any) {
			m["post_processor"] = nil
		}},
		edit{name: "bert-processing", fixture: "tiny-mbert", edit: func(m map[string]any) {
			m["post_processor"] = map[string]any{"type": "BertProcessing", "sep": []any{"[SEP]", 3}, "cls": []any{"[CLS]", 2}}
		}},
		edit{name: "unigram-prepend-never", fixture: "tiny-unigram", kind: "unigram-metaspace-never", edit: func(m map[string]any) {
			obj(m, "pre_tokenizer")["prepend_scheme"] = "never"
		}},
		edit{name: "unigram-prepend-first-no-split", fixture: "tiny-unigram", kind: "unigram-metaspace-first-nosplit", edit: func(m map[string]any) {
			obj(m, "pre_tokenizer")["prepend_scheme"] = "first"
			obj(m, "pre_tokenizer")["split"] = false
		}},
		edit{name: "bpe-string-merges", fixture: "tiny-roberta", edit: func(m map[string]any) {
			model := obj(m, "model")
			var merges []any
			for _, p := range model["merges"].([]any) {
				pair := p.([]any)
				merges = append(merges, pair[0].(string)+" "+pair[1].(string))
			}
			model["merges"] = merges
		}},
		edit{name: "bpe-mask-lstrip", fixture: "tiny-roberta", edit: func(m map[string]any) {
			for _, a := range m["added_tokens"].([]any) {
				if a := a.(map[string]any); a["content"] == "<mask>" {
					a["lstrip"] = true
				}
				if a := a.(map[string]any); a["content"] == "</s>" {
					a["rstrip"] = true
				}
			}
		}},
		edit{name: "bert-mask-lstrip-rstrip", fixture: "tiny-mbert", edit: func(m map[string]any) {
			for _, a := range m["added_tokens"].([]any) {
				if a := a.(map[string]any); a["content"] == "[MASK]" {
					a["lstrip"], a["rstrip"] = true, true
				}
			}
		}},
	)
	for _, e := range edits {
		t.Run(e.name, func(t *testing.T) {
			p := variant(t, e.fixture, e.edit)
			if e.kind != "" {
				tok, err := Load(p)
				if err != nil {
					t.Fatal(err)
				}
				if tok.Kind() != e.kind {
					t.Errorf("Kind() = %q, want %q", tok.Kind(), e.kind)
				}
			}
			compareWithOracle(t, o, p, texts)
		})
	}
}

// TestOracleMini compares the small FuzzParse seed tokenizers (added
// tokens with lstrip, tiny vocabularies full of unknown words) with
// Hugging Face.
func TestOracleMini(t *testing.T) {
	o := startOracle(t)
	texts := append(generateTexts(500, 3), "a [MASK]b", "a  <mask>", "ab<mask> ab", "[MASK][MASK]", " <mask>",
		"ab  x a?b", "<s>ab", "abab", "a b", "▁a", "<s> ab", "ab<s>", "xx")
	for name, data := range map[string]string{"wordpiece": miniWordPiece, "bpe": miniBPE, "unigram": miniUnigram} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "tokenizer.json")
			if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
			compareWithOracle(t, o, p, texts)
		})
	}
}

// unigramFixture is the XLM-RoBERTa-style tokenizer written by
// internal/mkunigram (nmt_nfkc Precompiled normalizer, Metaspace, Unigram).
const unigramFixture = "testdata/tiny-unigram/tokenizer.json"

// TestOracleUnigram compares the Unigram path with Hugging Face on
// generated texts, the benchmark sentences and every code point.
func TestOracleUnigram(t *testing.T) {
	o := startOracle(t)
	data, err := os.ReadFile(filepath.Join("testdata", "bench-sentences.txt"))
	if err != nil {
		t.Fatal(err)
	}
	texts := append(generateTexts(2000, 6), strings.Split(string(data), "\n")...)
	texts = append(texts, "a <mask> b", "<mask>", "x  <mask>", "<s> x </s>", "<unk>", "a<unk>b", "▁", "▁▁x", "x▁ ▁y", "Ａ\u0301", "e\u0301", "\r\n", "''", "``")
	t.Run("generated", func(t *testing.T) { compareWithOracle(t, o, unigramFixture, texts) })
	if testing.Short() {
		return
	}
	all := codePointTexts(func(s string) string { return "a" + s + "b " + s + "\u0301 " + s + " " })
	t.Run("all-code-points", func(t *testing.T) { compareWithOracle(t, o, unigramFixture, all) })
}

// pathologicalTexts are long inputs without spaces, which must stay fast
// (no quadratic merging or lattice work) and still match Hugging Face.
func pathologicalTexts() []string {
	return []string{
		strings.Repeat("a", 100000),
		strings.Repeat("!", 100000),
		strings.Repeat("ha", 50000),
		strings.Repeat("中", 50000),
		strings.Repeat("😀", 30000),
		strings.Repeat("e\u0301", 50000),
		strings.Repeat(" ", 100000) + "x",
		strings.Repeat("ab", 50000) + " tail",
	}
}

// TestOraclePathological compares the pathological texts with Hugging Face.
func TestOraclePathological(t *testing.T) {
	o := startOracle(t)
	for _, fx := range allFixtures {
		t.Run(fx.name, func(t *testing.T) {
			compareWithOracle(t, o, fixturePath(fx.name), pathologicalTexts())
		})
	}
}

// codePointTexts puts every Unicode scalar value (surrogates excluded)
// into the context ctx builds for it, 40 code points to a text.
func codePointTexts(ctx func(s string) string) []string {
	var texts []string
	var b strings.Builder
	n := 0
	for c := rune(0); c <= unicode.MaxRune; c++ {
		if c >= 0xd800 && c <= 0xdfff {
			continue
		}
		b.WriteString(ctx(string(c)))
		if n++; n == 40 {
			texts = append(texts, b.String())
			b.Reset()
			n = 0
		}
	}
	return append(texts, b.String())
}
