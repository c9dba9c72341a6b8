package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/ortlib"
)

// scoreFixtures are the reference fixture folders.
var scoreFixtures = []string{"tiny-mbert", "tiny-bert-uncased", "tiny-roberta"}

func fixturePath(name string, file ...string) string {
	return filepath.Join(append([]string{"..", "..", "testdata", "bertscore", name}, file...)...)
}

// cliGolden is the part of golden.json the CLI test needs.
type cliGolden struct {
	Meta struct {
		NumLayers int `json:"num_layers"`
	} `json:"meta"`
	Cases []struct {
		Label     string `json:"label"`
		BatchSize int    `json:"batch_size"`
		Options   struct {
			IDF     bool `json:"idf"`
			Rescale bool `json:"rescale_with_baseline"`
		} `json:"options"`
		Cands []string        `json:"cands"`
		Refs  json.RawMessage `json:"refs"`
		PRF   [][3]*float64   `json:"prf"` // nil where the reference gives NaN
	} `json:"cases"`
}

func readCLIGolden(t *testing.T, name string) *cliGolden {
	t.Helper()
	data, err := os.ReadFile(fixturePath(name, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.ReplaceAll(data, []byte("NaN"), []byte("null"))
	var g cliGolden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &g
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
// code, stdout and stderr. A non-empty stdin is served as standard input
// (os.Stdin is swapped for the call, so these tests do not run in
// parallel).
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	if stdin != "" {
		f, err := os.CreateTemp(t.TempDir(), "stdin")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(stdin); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Seek(0, 0); err != nil {
			t.Fatal(err)
		}
		old := os.Stdin
		os.Stdin = f
		defer func() { os.Stdin = old; f.Close() }()
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"bertbench"}, args...), &out, &errOut)
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

func requireORTLib(t *testing.T) {
	t.Helper()
	if _, err := ortlib.Load(""); err != nil {
		t.Fatalf("ONNX Runtime is needed: run `make ort` (%v)", err)
	}
}

// TestScoreCLIGolden runs every golden case of every fixture through
// `bertbench score --format json` and compares with the reference.
func TestScoreCLIGolden(t *testing.T) {
	requireORTLib(t)
	for _, name := range scoreFixtures {
		t.Run(name, func(t *testing.T) {
			g := readCLIGolden(t, name)
			for ci, c := range g.Cases {
				if c.BatchSize != 1 {
					continue // the other batch size holds the same numbers
				}
				dir := t.TempDir()
				args := []string{"score", "--model", fixturePath(name), "--layer", fmt.Sprint(g.Meta.NumLayers), "--format", "json",
					"-c", writeLines(t, dir, "cands.txt", c.Cands)}
				var flat []string
				if err := json.Unmarshal(c.Refs, &flat); err == nil {
					args = append(args, "-r", writeLines(t, dir, "refs.txt", flat))
				} else {
					var multi [][]string
					if err := json.Unmarshal(c.Refs, &multi); err != nil {
						t.Fatal(err)
					}
					for k := range multi[0] {
						col := make([]string, len(multi))
						for i := range multi {
							col[i] = multi[i][k]
						}
						args = append(args, "-r", writeLines(t, dir, fmt.Sprintf("refs%d.txt", k), col))
					}
				}
				if c.Options.IDF {
					args = append(args, "--idf")
				}
				if c.Options.Rescale {
					args = append(args, "--rescale", "--baseline", fixturePath(name, "baseline.tsv"))
				}
				code, stdout, stderr := runCLI(t, "", args...)
				if code != exitOK {
					t.Fatalf("case %d %s: exit %d: %s", ci, c.Label, code, stderr)
				}
				var got scoreJSON
				if err := json.Unmarshal([]byte(stdout), &got); err != nil {
					t.Fatalf("case %s: output is not the JSON format: %v\n%s", c.Label, err, stdout)
				}
				if !strings.HasPrefix(got.Hash, name+"_L") {
					t.Errorf("hash %q does not start with %s_L", got.Hash, name)
				}
				if len(got.Pairs) != len(c.PRF) {
					t.Fatalf("case %s: %d pairs, want %d", c.Label, len(got.Pairs), len(c.PRF))
				}
				for i, w := range c.PRF {
					gp := [3]*float64{got.Pairs[i].P, got.Pairs[i].R, got.Pairs[i].F}
					for k := range 3 {
						switch {
						case w[k] == nil || gp[k] == nil:
							if (w[k] == nil) != (gp[k] == nil) {
								t.Errorf("case %s pair %d %c: got %v, want %v (null = NaN)", c.Label, i, "PRF"[k], gp[k], w[k])
							}
						case math.Abs(*gp[k]-*w[k]) > 1e-5:
							t.Errorf("case %s pair %d %c: got %.8f, want %.8f", c.Label, i, "PRF"[k], *gp[k], *w[k])
						}
					}
				}
			}
		})
	}
}
