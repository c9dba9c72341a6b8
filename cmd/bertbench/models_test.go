package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/models"
)

func runModelsCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"bertbench", "models"}, args...), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func modelsFixture(name string) string {
	return filepath.Join("..", "..", "testdata", "bertscore", name)
}

func TestModelsImportCLI(t *testing.T) {
	out := filepath.Join(t.TempDir(), "enc")
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{"flags after the folder", []string{"import", modelsFixture("tiny-mbert"), "--layer", "3", "-o", out}, exitOK, "layer 3 of 4", ""},
		{"flags before the folder", []string{"import", "--layer=2", "--output", out + "2", modelsFixture("tiny-roberta")}, exitOK, "layer 2 of 3", ""},
		{"missing output", []string{"import", modelsFixture("tiny-mbert"), "--layer", "3"}, exitUsage, "", "missing --output"},
		{"two folders", []string{"import", "a", "b", "-o", out}, exitUsage, "", "want one CHECKPOINT_DIR"},
		{"unknown flag", []string{"import", modelsFixture("tiny-mbert"), "--layers", "3", "-o", out}, exitUsage, "", "-layers"},
		{"no layer", []string{"import", modelsFixture("tiny-mbert"), "-o", out}, exitUsage, "", "give --layer N"},
		{"not a checkpoint", []string{"import", t.TempDir(), "--layer", "1", "-o", out}, exitUsage, "", "config.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runModelsCLI(tc.args...)
			if code != tc.code || !strings.Contains(stdout, tc.inStdout) || !strings.Contains(stderr, tc.inStderr) {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
		})
	}
	code, stdout, stderr := runModelsCLI("validate", out)
	if code != exitOK || !strings.Contains(stdout, "ok (output last_hidden_state float32, hidden 64") {
		t.Errorf("validate: %d %s %s", code, stdout, stderr)
	}
	code, stdout, _ = runModelsCLI("info", out)
	if code != exitOK || !strings.Contains(stdout, "architecture: bert, layer 3 of 4") || !strings.Contains(stdout, "model.safetensors sha256") {
		t.Errorf("info: %d %s", code, stdout)
	}
	code, _, stderr = runModelsCLI("validate", modelsFixture("."))
	if code != exitUsage || !strings.Contains(stderr, "missing model.onnx") {
		t.Errorf("validate bad folder: %d %s", code, stderr)
	}
}

func TestModelsSynthCLI(t *testing.T) {
	out := filepath.Join(t.TempDir(), "synth")
	code, stdout, stderr := runModelsCLI("synth", "--hidden", "32", "--layers", "2", "--heads", "2", "--intermediate", "64", "--vocab", "2000", "--keep", "1", "--seed", "3", "-o", out)
	if code != exitOK || !strings.Contains(stdout, "at layer 1 of 2") {
		t.Fatalf("synth: %d %s %s", code, stdout, stderr)
	}
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "model.onnx", "bertbench.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// The checkpoint it wrote imports like any other.
	code, _, stderr = runModelsCLI("import", out, "--layer", "2", "-o", out+"-l2")
	if code != exitOK {
		t.Errorf("re-import: %s", stderr)
	}
	code, _, stderr = runModelsCLI("synth", "--arch", "roberta", "-o", out)
	if code != exitUsage || !strings.Contains(stderr, "only bert") {
		t.Errorf("roberta synth: %d %s", code, stderr)
	}
}

// TestModelsPullCLI pulls from a local server in the Hub's layout via
// HF_ENDPOINT, then lists, describes and removes the model.
func TestModelsPullCLI(t *testing.T) {
	files := map[string][]byte{}
	for _, f := range []string{"config.json", "tokenizer.json", "model.safetensors"} {
		data, err := os.ReadFile(filepath.Join(modelsFixture("tiny-mbert"), f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = data
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const prefix = "/google-bert/bert-base-multilingual-cased/resolve/main/"
		data, ok := files[strings.TrimPrefix(r.URL.Path, prefix)]
		if !strings.HasPrefix(r.URL.Path, prefix) || !ok {
			w.Header().Set("X-Error-Code", "RepoNotFound")
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		sum := sha256.Sum256(data)
		w.Header().Set("X-Linked-Etag", hex.EncodeToString(sum[:]))
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(data)))
		http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(data))
	}))
	defer srv.Close()
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_TOKEN", "")
	cache := t.TempDir()
	t.Setenv(models.EnvCache, cache)

	code, stdout, stderr := runModelsCLI("pull", "bert-base-multilingual-cased", "--layer", "3")
	if code != exitOK || !strings.Contains(stdout, "ready in") || !strings.Contains(stderr, "downloading model.safetensors") {
		t.Fatalf("pull: %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = runModelsCLI("list")
	if code != exitOK || !strings.Contains(stdout, "bert-base-multilingual-cased") || !strings.Contains(stdout, "3 of 4") {
		t.Errorf("list: %s", stdout)
	}
	code, stdout, _ = runModelsCLI("info", "bert-base-multilingual-cased")
	if code != exitOK || !strings.Contains(stdout, "source: google-bert/bert-base-multilingual-cased@main") || !strings.Contains(stdout, "baselines (layer 3): cs, de, en") {
		t.Errorf("info: %s", stdout)
	}
	code, _, stderr = runModelsCLI("pull", "acme/unknown-model", "--layer", "1")
	if code != exitUsage || !strings.Contains(stderr, "not found on the Hub") {
		t.Errorf("404: %d %s", code, stderr)
	}
	code, stdout, _ = runModelsCLI("rm", "bert-base-multilingual-cased", "--cache-dir", cache)
	if code != exitOK || strings.Count(stdout, "removed") != 2 {
		t.Errorf("rm: %s", stdout)
	}
	code, _, stderr = runModelsCLI("rm", "bert-base-multilingual-cased")
	if code != exitUsage || !strings.Contains(stderr, "not in the cache") {
		t.Errorf("second rm: %d %s", code, stderr)
	}
	code, stdout, _ = runModelsCLI("list", "--known")
	if code != exitOK || !strings.Contains(stdout, "roberta-large") || !strings.Contains(stdout, "17 of 24") {
		t.Errorf("list --known: %s", stdout)
	}
}

// TestModelsBrokenCacheEntryCLI: a cached model with a damaged manifest is
// reported as such by list and info (not as "not downloaded"), and rm
// removes it.
func TestModelsBrokenCacheEntryCLI(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(models.EnvCache, cache)
	dir := filepath.Join(cache, "models", "bert-base-chinese@main")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, models.ManifestFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runModelsCLI("list")
	if code != exitOK || !strings.Contains(stdout, "bert-base-chinese") || !strings.Contains(stderr, "models rm bert-base-chinese@main") {
		t.Errorf("list: %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runModelsCLI("info", "bert-base-chinese")
	if code == exitOK || strings.Contains(stdout, "not downloaded") {
		t.Errorf("info: %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runModelsCLI("rm", "bert-base-chinese")
	if code != exitOK || !strings.Contains(stdout, "removed") {
		t.Errorf("rm: %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestModelsImportBaselineCLI: `models import --baseline FILE` stores the
// file's row for the layer, so `score --rescale` needs no --baseline later
// and gives what --baseline FILE --layer N gives on the bare folder.
func TestModelsImportBaselineCLI(t *testing.T) {
	orttest.Require(t)
	dir := t.TempDir()
	baseline := filepath.Join(modelsFixture("tiny-mbert"), "baseline.tsv")
	out := filepath.Join(dir, "enc")
	code, _, stderr := runModelsCLI("import", modelsFixture("tiny-mbert"), "--layer", "3", "--lang", "zh", "--baseline", baseline, "-o", out)
	if code != exitOK {
		t.Fatalf("import: exit %d: %s", code, stderr)
	}
	m, err := models.ReadManifest(out)
	if err != nil || m.Baseline == nil || m.Baselines["zh"] != *m.Baseline || !strings.Contains(m.BaselineSource, "baseline.tsv, layer 3 (sha256 ") {
		t.Fatalf("manifest: %+v, %v", m, err)
	}
	cands := writeLines(t, dir, "c.txt", []string{"今天天气很好。", "我们明天去公园。"})
	refs := writeLines(t, dir, "r.txt", []string{"今天天气不错。", "明天我们去公园吧。"})
	plain := filepath.Join(dir, "plain")
	if code, _, stderr := runModelsCLI("import", modelsFixture("tiny-mbert"), "--layer", "3", "--lang", "zh", "-o", plain); code != exitOK {
		t.Fatalf("import: exit %d: %s", code, stderr)
	}
	want := mustRun(t, "score", "--model", plain, "--rescale", "--baseline", baseline, "-c", cands, "-r", refs)
	got := mustRun(t, "score", "--model", out, "--rescale", "-c", cands, "-r", refs)
	if want != got {
		t.Errorf("scores differ:\nwith --baseline: %s\nfrom the manifest: %s", want, got)
	}
	bad := writeLines(t, dir, "bad.tsv", []string{"LAYER,P,R,F", "0,0.1,0.2,oops"})
	code, _, stderr = runModelsCLI("import", modelsFixture("tiny-mbert"), "--layer", "3", "--baseline", bad, "-o", filepath.Join(dir, "enc2"))
	if code != exitUsage || !strings.Contains(stderr, bad+":2:") {
		t.Errorf("bad baseline: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runModelsCLI("import", modelsFixture("tiny-mbert"), "--layer", "3", "--baseline", writeLines(t, dir, "short.tsv", []string{"LAYER,P,R,F", "0,0.1,0.2,0.3"}), "-o", filepath.Join(dir, "enc3"))
	if code != exitUsage || !strings.Contains(stderr, "no row for layer 3") {
		t.Errorf("no row: exit %d, stderr %q", code, stderr)
	}
}

// TestModelsImportPrecisionCLI: --precision int8 (and fp16, also spelled
// --fp16) builds the encoder in that precision: the name gets its suffix,
// the manifest and `score`'s hash record it; a bad value or --fp16 against
// --precision is one usage line.
func TestModelsImportPrecisionCLI(t *testing.T) {
	orttest.Require(t)
	dir := t.TempDir()
	cands := writeLines(t, dir, "c.txt", []string{"the cat sat on the mat"})
	refs := writeLines(t, dir, "r.txt", []string{"a cat was on the mat"})
	for _, tc := range []struct {
		args []string
		want string // precision
	}{
		{nil, "fp32"},
		{[]string{"--precision", "int8"}, "int8"},
		{[]string{"--precision", "fp16"}, "fp16"},
		{[]string{"--fp16"}, "fp16"},
	} {
		out := filepath.Join(dir, strings.Join(append([]string{"enc"}, tc.args...), ""))
		args := append([]string{"import", modelsFixture("tiny-mbert"), "--layer", "3", "-o", out}, tc.args...)
		code, stdout, stderr := runModelsCLI(args...)
		if code != exitOK || !strings.Contains(stdout, ", "+tc.want+", in ") {
			t.Fatalf("%v: exit %d, %q, %s", tc.args, code, stdout, stderr)
		}
		m, err := models.ReadManifest(out)
		wantName := "tiny-mbert" + map[bool]string{true: "-" + tc.want}[tc.want != "fp32"]
		if err != nil || m.Precision != tc.want || m.Name != wantName {
			t.Errorf("%v: manifest %+v, %v; want precision %s, name %s", tc.args, m, err, tc.want, wantName)
		}
		hash := mustRun(t, "score", "--model", out, "-c", cands, "-r", refs)
		if !strings.Contains(hash, ",provider=cpu,"+tc.want+")") {
			t.Errorf("%v: score output %q lacks the precision in its hash", tc.args, hash)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--precision", "int4"}, `models import: --precision: unknown precision "int4" (want fp32, fp16 or int8)`},
		{[]string{"--precision", "int8", "--fp16"}, "models import: --fp16 and --precision int8 disagree"},
	} {
		args := append([]string{"import", modelsFixture("tiny-mbert"), "--layer", "3", "-o", filepath.Join(dir, "bad")}, tc.args...)
		code, stdout, stderr := runModelsCLI(args...)
		if code != exitUsage || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
}
