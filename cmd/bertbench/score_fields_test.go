package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/internal/orttest"
)

// scoreTexts scores cands against refs (plain lines) with the fixture
// model and returns the F of each pair.
func scoreTexts(t *testing.T, dir string, cands []string, refs []string) []float64 {
	t.Helper()
	c := writeLines(t, dir, "plain-c.txt", cands)
	r := writeLines(t, dir, "plain-r.txt", refs)
	return scoreF(t, "-c", c, "-r", r)
}

// scoreF runs score --format json with args and returns each pair's F.
func scoreF(t *testing.T, args ...string) []float64 {
	t.Helper()
	code, stdout, stderr := runCLI(t, "", append([]string{"score", "--model", fixturePath(t, "tiny-mbert"), "--format", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("score %v: exit %d: %s", args, code, stderr)
	}
	var out scoreJSON
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}
	var fs []float64
	for _, p := range out.Pairs {
		fs = append(fs, *p.F)
	}
	return fs
}

// TestScoreFieldCLI: `score -c run.jsonl --field output` reads the
// candidates from a results file written in any order, aligns them to the
// references by item (its id, else its input line), keeps an output with
// newlines one candidate, and scores as the same pairs given as lines do.
func TestScoreFieldCLI(t *testing.T) {
	orttest.Require(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	refs := writeLines(t, dir, "refs.txt", []string{"今天天气很好。", "谢谢你的帮助", "再见"})
	// translate's results, in completion order, one output over two lines.
	results := write("run.jsonl", `{"line": 3, "source": "bye", "output": "再见"}
{"line": 1, "source": "nice day", "output": "今天天气\n不错。"}
{"line": 2, "source": "thanks", "output": "谢谢"}
`)
	want := []float64{0, 0, 0}
	for i, f := range scoreTexts(t, dir, []string{"今天天气 不错。", "谢谢", "再见"}, []string{"今天天气很好。", "谢谢你的帮助", "再见"}) {
		want[i] = f
	}
	got := scoreF(t, "-c", results, "--field", "output", "-r", refs)
	if len(got) != 3 {
		t.Fatalf("%d pairs, want 3 (one per reference line)", len(got))
	}
	for i := range got {
		if d := got[i] - want[i]; d > 1e-6 || d < -1e-6 {
			t.Errorf("pair %d: F %v, want %v (the candidate of line %d)", i+1, got[i], want[i], i+1)
		}
	}

	// Ids on both sides: a dataset as the references.
	dataset := write("items.jsonl", `{"id": "b", "source": "thanks", "reference": "谢谢你的帮助"}
{"id": "a", "source": "nice day", "reference": "今天天气很好。"}
`)
	byID := write("byid.jsonl", `{"id": "a", "output": "今天天气\n不错。"}
{"id": "b", "output": "谢谢"}
`)
	got = scoreF(t, "-c", byID, "--field", "output", "-r", dataset)
	if len(got) != 2 || got[0]-want[1] > 1e-6 || want[1]-got[0] > 1e-6 || got[1]-want[0] > 1e-6 || want[0]-got[1] > 1e-6 {
		t.Errorf("by id: %v, want [%v %v] (in the references' order)", got, want[1], want[0])
	}
	custom := write("custom.jsonl", `{"key": "a", "text": "今天天气\n不错。"}
{"key": "b", "text": "谢谢"}
`)
	if got := scoreF(t, "-c", custom, "--field", "text", "--id-field", "key", "-r", dataset); len(got) != 2 {
		t.Errorf("--id-field key: %v", got)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"JSONL without --field", []string{"-c", results, "-r", refs}, "run.jsonl holds JSON objects: name the field that holds the candidates with --field"},
		{"JSON lines in a text file", []string{"-c", write("run.txt", `{"output": "再见"}`+"\n"), "-r", refs}, "name the field with --field"},
		{"no such field", []string{"-c", results, "--field", "translation", "-r", refs}, `run.jsonl:1: no "translation" string field`},
		{"a reference without a candidate", []string{"-c", write("two.jsonl", `{"line": 1, "output": "a"}`+"\n"+`{"line": 2, "output": "b"}`+"\n"), "--field", "output", "-r", refs},
			`has no candidate for item L3`},
		{"a candidate without a reference", []string{"-c", write("four.jsonl", `{"line": 4, "output": "x"}`+"\n"), "--field", "output", "-r", refs},
			`four.jsonl:1: candidate for item L4, which the references do not have`},
		{"ids against line-aligned references", []string{"-c", byID, "--field", "output", "-r", refs},
			"refs.txt are line-aligned text (items L1, L2, ...)"},
		{"one item twice", []string{"-c", write("dup.jsonl", `{"line": 1, "output": "a"}`+"\n"+`{"line": 1, "output": "b"}`+"\n"), "--field", "output", "-r", refs},
			"dup.jsonl:2: a second candidate for item L1 (the first is on line 1)"},
		{"--field on a text file", []string{"-c", refs, "--field", "output", "-r", refs}, "--field needs candidates in JSONL, CSV or TSV"},
		{"--id-field without --field", []string{"-c", refs, "--id-field", "key", "-r", refs}, "--id-field is only used with --field"},
		{"a dataset with text references", []string{"-c", byID, "--field", "output", "-r", dataset, "-r", refs}, "one reference file when it is a dataset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", append([]string{"score", "--model", fixturePath(t, "tiny-mbert")}, tc.args...)...)
			if code != exitUsage || stdout != "" || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("exit %d (want 2), stdout %q, stderr %q (want one line with %q)", code, stdout, stderr, tc.want)
			}
		})
	}
}
