package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/internal/fixture"
	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/internal/testkit"
)

// fixturePath is the path of a fixture folder, or of a file in it.
func fixturePath(t testing.TB, name string, file ...string) string {
	t.Helper()
	return filepath.Join(append([]string{fixture.Dir(t, name)}, file...)...)
}

// scoreJSON is the --format json output.
type scoreJSON struct {
	Hash  string `json:"hash"`
	Pairs []struct {
		P, R, F *float64
	} `json:"pairs"`
	Mean struct {
		P, R, F *float64
	} `json:"mean"`
}

// runCLI runs bertbench in-process through run() and returns the exit
// code, stdout and stderr. stdin is served as standard input.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"bertbench"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeLines(t *testing.T, dir, name string, lines []string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestScoreCLIGolden runs every golden case of every fixture through
// `bertbench score --format json` and compares with the reference, on
// $BERTBENCH_TEST_DEVICE (--device; the CPU by default), whose hash must
// name that device.
func TestScoreCLIGolden(t *testing.T) {
	orttest.Require(t)
	dev := orttest.Device(t)
	for _, name := range fixture.Names() {
		t.Run(name, func(t *testing.T) {
			g := fixture.ReadGolden(t, name)
			for ci, c := range g.Cases {
				if c.BatchSize != 1 {
					continue // the other batch size holds the same numbers
				}
				dir := t.TempDir()
				args := []string{"score", "--model", fixturePath(t, name), "--layer", fmt.Sprint(g.Meta.NumLayers), "--format", "json",
					"-c", writeLines(t, dir, "cands.txt", c.Cands)}
				for k, col := range c.RefColumns(t) {
					args = append(args, "-r", writeLines(t, dir, fmt.Sprintf("refs%d.txt", k), col))
				}
				if c.IDF {
					args = append(args, "--idf")
				}
				if c.Rescale {
					args = append(args, "--rescale", "--baseline", fixturePath(t, name, "baseline.tsv"))
				}
				args = append(args, "--device", dev.String())
				code, stdout, stderr := runCLI(t, "", args...)
				if code != exitOK {
					t.Fatalf("case %d %s: exit %d: %s", ci, c.Label, code, stderr)
				}
				var got scoreJSON
				if err := json.Unmarshal([]byte(stdout), &got); err != nil {
					t.Fatalf("case %s: output is not the JSON format: %v\n%s", c.Label, err, stdout)
				}
				if !strings.HasPrefix(got.Hash, name+"_L") || !strings.Contains(got.Hash, ",provider="+dev.Kind.String()+",fp32") {
					t.Errorf("hash %q does not start with %s_L or does not name %s, fp32", got.Hash, name, dev.Kind)
				}
				// null is NaN.
				rows := make([][3]float64, len(got.Pairs))
				for i, p := range got.Pairs {
					for k, v := range []*float64{p.P, p.R, p.F} {
						rows[i][k] = math.NaN()
						if v != nil {
							rows[i][k] = *v
						}
					}
				}
				testkit.ComparePRF(t, "case "+c.Label, rows, c.PRF, 1e-5)
			}
		})
	}
}

// TestScoreCLIErrors checks exit codes and messages for bad input.
func TestScoreCLIErrors(t *testing.T) {
	orttest.Require(t)
	dir := t.TempDir()
	model := fixturePath(t, "tiny-mbert")
	cands := writeLines(t, dir, "cands.txt", []string{"今天天气不错。", "", "谢谢"})
	refs := writeLines(t, dir, "refs.txt", []string{"今天天气很好。", "你好", "谢谢你"})
	short := writeLines(t, dir, "short.txt", []string{"今天天气很好。"})
	badUTF8 := filepath.Join(dir, "bad.txt")
	os.WriteFile(badUTF8, []byte("好\n好\n\xff\xfe\n"), 0o644)
	noONNX := filepath.Join(dir, "no-onnx")
	os.Mkdir(noONNX, 0o755)
	copyFile(t, fixturePath(t, "tiny-mbert", "tokenizer.json"), filepath.Join(noONNX, "tokenizer.json"))
	corrupt := filepath.Join(dir, "corrupt")
	os.Mkdir(corrupt, 0o755)
	copyFile(t, fixturePath(t, "tiny-mbert", "tokenizer.json"), filepath.Join(corrupt, "tokenizer.json"))
	os.WriteFile(filepath.Join(corrupt, "model.onnx"), []byte("not onnx at all"), 0o644)
	badIDF := filepath.Join(dir, "idf.json")
	os.WriteFile(badIDF, []byte(`{"idf": {"x": 1}}`), 0o644)
	badBaseline := filepath.Join(dir, "baseline.tsv")
	os.WriteFile(badBaseline, []byte("LAYER,P,R,F\n3,0.4,oops,0.4\n"), 0o644)
	baseline := fixturePath(t, "tiny-mbert", "baseline.tsv")
	empty := writeLines(t, dir, "empty.txt", nil)

	tests := []struct {
		name string
		args []string
		code int
		want []string // substrings of stderr
	}{
		{"line counts differ", []string{"-c", cands, "-r", short}, exitUsage, []string{cands, short, "3 lines", "has 1"}},
		{"invalid UTF-8", []string{"-c", badUTF8, "-r", refs}, exitUsage, []string{badUTF8 + ":3:", "not valid UTF-8"}},
		{"missing candidate file", []string{"-c", filepath.Join(dir, "nope.txt"), "-r", refs}, exitUsage, []string{"nope.txt", "no such file"}},
		{"missing model folder", []string{"-c", cands, "-r", refs, "--model", filepath.Join(dir, "nomodel")}, exitUsage, []string{"nomodel"}},
		{"model folder without model.onnx", []string{"-c", cands, "-r", refs, "--model", noONNX}, exitUsage, []string{"missing model.onnx"}},
		{"corrupt model.onnx", []string{"-c", cands, "-r", refs, "--model", corrupt}, exitUsage, []string{filepath.Join(corrupt, "model.onnx"), "not a loadable ONNX model"}},
		{"rescale with a baseline file needs --layer", []string{"-c", cands, "-r", refs, "--rescale", "--baseline", baseline}, exitUsage, []string{"--layer N"}},
		{"rescale without a baseline", []string{"-c", cands, "-r", refs, "--rescale"}, exitUsage, []string{"--baseline FILE"}},
		{"baseline without rescale", []string{"-c", cands, "-r", refs, "--baseline", baseline}, exitUsage, []string{"--baseline is only used with --rescale"}},
		{"malformed baseline", []string{"-c", cands, "-r", refs, "--rescale", "--baseline", badBaseline, "--layer", "3"}, exitUsage, []string{badBaseline + ":2:", `"oops" is not a number`}},
		{"malformed idf file", []string{"-c", cands, "-r", refs, "--idf-file", badIDF}, exitUsage, []string{badIDF, "default"}},
		{"unknown format", []string{"-c", cands, "-r", refs, "--format", "xml"}, exitUsage, []string{`unknown --format "xml"`}},
		{"unknown flag", []string{"-c", cands, "-r", refs, "--nope"}, exitUsage, []string{"nope"}},
		{"no candidates flag", []string{"-r", refs}, exitUsage, []string{"-c FILE"}},
		{"no references", []string{"-c", cands}, exitUsage, []string{"no reference file"}},
		{"stray argument", []string{"-c", cands, "-r", refs, "extra.txt"}, exitUsage, []string{`unexpected argument "extra.txt"`}},
		{"negative threads", []string{"-c", cands, "-r", refs, "--threads", "-1"}, exitUsage, []string{"--threads"}},
		{"zero batch budget", []string{"-c", cands, "-r", refs, "--batch-tokens", "0"}, exitUsage, []string{"--batch-tokens"}},
		{"precision of another build", []string{"-c", cands, "-r", refs, "--precision", "int8"}, exitUsage, []string{"precision int8 asked for, but model tiny-mbert computes in fp32", "models import|pull|synth --precision int8"}},
		{"tf32 on the CPU", []string{"-c", cands, "-r", refs, "--precision", "tf32"}, exitUsage, []string{"--precision tf32 only applies with --device cuda"}},
		{"unknown precision", []string{"-c", cands, "-r", refs, "--precision", "bf16"}, exitUsage, []string{`unknown --precision "bf16" (want fp32, tf32, fp16 or int8)`}},
		{"tf32 twice", []string{"-c", cands, "-r", refs, "--precision", "fp32", "--tf32", "--device", "cuda"}, exitUsage, []string{"--tf32 and --precision fp32 disagree"}},
		{"empty input", []string{"-c", empty, "-r", empty}, exitUsage, []string{empty + " has no lines"}},
		{"stdin twice", []string{"-c", "-", "-r", "-"}, exitUsage, []string{"standard input"}},
		{"output folder missing", []string{"-c", cands, "-r", refs, "-o", filepath.Join(dir, "no", "out.json")}, exitUsage, []string{"out.json"}},
		{"wrong ONNX Runtime library", []string{"-c", cands, "-r", refs}, exitFailure, []string{"ONNX Runtime"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"score"}
			if tc.name == "wrong ONNX Runtime library" {
				args = []string{"--ort-lib", filepath.Join(dir, "libonnxruntime.so.1"), "score"}
			}
			if !slices.Contains(tc.args, "--model") {
				args = append(args, "--model", model)
			}
			code, stdout, stderr := runCLI(t, "", append(args, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, stderr)
			}
			if stdout != "" && code != exitOK {
				t.Errorf("stdout not empty on failure: %q", stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine") {
				t.Errorf("stderr shows a panic: %s", stderr)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestScoreCLIFormats checks each output format's shape, stdin, -o and
// that empty lines are scored (0) rather than skipped.
func TestScoreCLIFormats(t *testing.T) {
	orttest.Require(t)
	dir := t.TempDir()
	model := fixturePath(t, "tiny-mbert")
	candLines := []string{"今天天气不错。", "", "谢谢", "   "}
	cands := writeLines(t, dir, "cands.txt", candLines)
	refs := writeLines(t, dir, "refs.txt", []string{"今天天气很好。", "你好", "谢谢你", "好"})
	refs2 := writeLines(t, dir, "refs2.txt", []string{"天气不错。", "你好", "谢谢", "好"})
	base := []string{"score", "--model", model, "-c", cands, "-r", refs}

	code, stdout, stderr := runCLI(t, "", append(base, "--format", "json")...)
	if code != exitOK {
		t.Fatalf("json: exit %d: %s", code, stderr)
	}
	// --precision with the model's own precision checks and changes nothing.
	if code, checked, stderr := runCLI(t, "", append(base, "--format", "json", "--precision", "fp32")...); code != exitOK || checked != stdout {
		t.Errorf("--precision fp32: exit %d, stderr %s; output same as without: %v", code, stderr, checked == stdout)
	}
	var js scoreJSON
	if err := json.Unmarshal([]byte(stdout), &js); err != nil {
		t.Fatal(err)
	}
	if len(js.Pairs) != len(candLines) {
		t.Fatalf("%d pairs for %d lines", len(js.Pairs), len(candLines))
	}
	for _, i := range []int{1, 3} {
		if p := js.Pairs[i]; *p.P != 0 || *p.R != 0 || *p.F != 0 {
			t.Errorf("empty candidate %d scored %v %v %v, want 0", i, *p.P, *p.R, *p.F)
		}
	}
	if !strings.HasPrefix(stdout, `{"hash": "tiny-mbert_Lunknown_no-idf_version=`) || !strings.Contains(stdout, `], "mean": {"P": `) {
		t.Errorf("json layout: %s", stdout)
	}
	// Exactly the shape, spacing included, one line.
	num := `-?[0-9][0-9.e+-]*`
	prf := `\{"P": ` + num + `, "R": ` + num + `, "F": ` + num + `\}`
	shape := regexp.MustCompile(`^\{"hash": "[^"]+", "pairs": \[` + prf + `(, ` + prf + `)*\], "mean": ` + prf + `\}\n$`)
	if !shape.MatchString(stdout) {
		t.Errorf("json output is not exactly {\"hash\": ..., \"pairs\": [...], \"mean\": {...}}:\n%s", stdout)
	}
	var raw map[string]json.RawMessage
	json.Unmarshal([]byte(stdout), &raw)
	if len(raw) != 3 {
		t.Errorf("json has keys %v, want exactly hash, pairs, mean", raw)
	}

	code, text, stderr := runCLI(t, "", base...)
	if code != exitOK {
		t.Fatalf("text: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "2 empty candidate(s) and 0 empty reference(s)") {
		t.Errorf("no warning about the empty candidates: %q", stderr)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != len(candLines)+1 {
		t.Fatalf("text has %d lines, want %d:\n%s", len(lines), len(candLines)+1, text)
	}
	if want := fmt.Sprintf("%.6f\t%.6f\t%.6f", *js.Pairs[0].P, *js.Pairs[0].R, *js.Pairs[0].F); lines[0] != want {
		t.Errorf("text line 1 %q, want %q", lines[0], want)
	}
	if want := fmt.Sprintf("%s P: %.6f R: %.6f F1: %.6f", js.Hash, *js.Mean.P, *js.Mean.R, *js.Mean.F); lines[len(lines)-1] != want {
		t.Errorf("text summary %q, want %q", lines[len(lines)-1], want)
	}

	code, jsonl, _ := runCLI(t, "", append(base, "--format", "jsonl")...)
	jl := strings.Split(strings.TrimSuffix(jsonl, "\n"), "\n")
	if code != exitOK || len(jl) != len(candLines) {
		t.Fatalf("jsonl: exit %d, %d lines", code, len(jl))
	}
	var row struct {
		Line    int
		P, R, F float64
		Hash    string
	}
	if err := json.Unmarshal([]byte(jl[2]), &row); err != nil || row.Line != 3 || row.F != *js.Pairs[2].F || row.Hash != js.Hash {
		t.Errorf("jsonl line 3 %q: %+v %v", jl[2], row, err)
	}

	code, csvOut, _ := runCLI(t, "", append(base, "--format", "csv")...)
	cl := strings.Split(strings.TrimSuffix(csvOut, "\n"), "\n")
	if code != exitOK || len(cl) != len(candLines)+1 || cl[0] != "line,P,R,F,hash" || !strings.HasPrefix(cl[2], "2,0,0,0,") {
		t.Errorf("csv: exit %d:\n%s", code, csvOut)
	}

	// Candidates from stdin, output to a file: same numbers.
	out := filepath.Join(dir, "out.json")
	candText, _ := os.ReadFile(cands)
	code, stdout, stderr = runCLI(t, string(candText), "score", "--model", model, "-c", "-", "-r", refs, "--format", "json", "-o", out)
	if code != exitOK || stdout != "" {
		t.Fatalf("stdin + -o: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	if data, err := os.ReadFile(out); err != nil || string(data) != mustRun(t, append(base, "--format", "json")...) {
		t.Errorf("-o file (%v) differs from the stdout output:\n%s", err, data)
	}
	if st, err := os.Stat(out); err != nil {
		t.Error(err)
	} else if st.Mode().Perm() != 0o644 {
		t.Errorf("-o file mode %v, want -rw-r--r--", st.Mode())
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".out.json*")); len(tmps) != 0 {
		t.Errorf("temporary files left behind: %v", tmps)
	}

	// Two reference files: the best of both per component.
	code, stdout, _ = runCLI(t, "", append(base, "-r", refs2, "--format", "json")...)
	var two scoreJSON
	if code != exitOK || json.Unmarshal([]byte(stdout), &two) != nil {
		t.Fatalf("two refs: exit %d", code)
	}
	if *two.Pairs[2].F < *js.Pairs[2].F || *two.Pairs[2].F < 0.9999 {
		t.Errorf("with an identical second reference, pair 3 F = %v, want about 1", *two.Pairs[2].F)
	}
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, "", args...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	return stdout
}

// TestScoreCLIUndefined: a pair whose tokens all weigh 0 under idf has an
// undefined P and R, written as null with a warning, as the reference
// gives NaN.
func TestScoreCLIUndefined(t *testing.T) {
	orttest.Require(t)
	dir := t.TempDir()
	cands := writeLines(t, dir, "c.txt", []string{"苹果"})
	refs := writeLines(t, dir, "r.txt", []string{"苹果"})
	code, stdout, stderr := runCLI(t, "", "score", "--model", fixturePath(t, "tiny-bert-uncased"), "-c", cands, "-r", refs, "--idf", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, `{"P": null, "R": null, "F": 0}`) || !strings.Contains(stderr, "undefined P or R") {
		t.Errorf("stdout %s\nstderr %s", stdout, stderr)
	}
}

// TestScoreCLITruncated: sentences longer than 512 tokens are scored on
// their first 512, with one warning on stderr that says how many.
func TestScoreCLITruncated(t *testing.T) {
	orttest.Require(t)
	dir := t.TempDir()
	long := strings.Repeat("天气", 300) // 602 ids with [CLS] and [SEP]
	cands := writeLines(t, dir, "c.txt", []string{long, "谢谢", long + "很好"})
	refs := writeLines(t, dir, "r.txt", []string{"谢谢", long, "谢谢"})
	code, _, stderr := runCLI(t, "", "score", "--model", fixturePath(t, "tiny-mbert"), "-c", cands, "-r", refs)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "bertbench: warning: 2 candidate(s) and 1 reference(s) are longer than 512 tokens; their scores cover only the first 512 tokens"
	if !strings.Contains(stderr, want) || strings.Count(stderr, "longer than") != 1 {
		t.Errorf("stderr %q, want one warning %q", stderr, want)
	}
}
