package models_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/bertscore"
	"github.com/bertbench/bertbench/internal/orttest"
	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/models/onnxpb"
	"github.com/bertbench/bertbench/models/safetensors"
	"github.com/bertbench/bertbench/modelspec"
	"github.com/bertbench/bertbench/scorer"
)

func fixtureDir(name string) string { return filepath.Join("..", "testdata", "bertscore", name) }

func TestKnownTable(t *testing.T) {
	if len(models.Known()) < 5 {
		t.Fatalf("known table has %d models", len(models.Known()))
	}
	for _, k := range models.Known() {
		if k.Layer <= 0 || k.Layer > k.TotalLayers || k.Repo == "" || !strings.Contains(k.Repo, "/") {
			t.Errorf("bad entry %+v", k)
		}
		langs := models.BaselineLangs(k.Name)
		if len(langs) == 0 {
			t.Errorf("%s: no baselines", k.Name)
		}
		for _, lang := range langs {
			b, src, err := models.KnownBaseline(k.Name, lang, k.Layer)
			if err != nil || b == nil || src == "" {
				t.Errorf("%s/%s: baseline %v %q %v", k.Name, lang, b, src, err)
			}
		}
		if got, ok := models.LookupKnown(k.Repo); !ok || got.Name != k.Name {
			t.Errorf("LookupKnown(%q) = %v, %v", k.Repo, got, ok)
		}
	}
	langTests := []struct{ lang, want string }{
		{"", "bert-base-multilingual-cased"},
		{"zh", "bert-base-chinese"},
		{"en", "roberta-large"},
		{"EN", "roberta-large"},
		{"de", "bert-base-multilingual-cased"},
		{"ja", "bert-base-multilingual-cased"},
	}
	for _, tc := range langTests {
		if got := models.DefaultModelForLang(tc.lang); got != tc.want {
			t.Errorf("DefaultModelForLang(%q) = %q, want %q", tc.lang, got, tc.want)
		}
	}
	// The reference's value: roberta-large, en, layer 17.
	b, _, err := models.KnownBaseline("roberta-large", "en", 17)
	if err != nil || b == nil || b.F < 0.8 || b.F > 0.9 {
		t.Errorf("roberta-large/en/17 baseline = %+v, %v", b, err)
	}
}

func TestImportFixtures(t *testing.T) {
	tests := []struct {
		fixture, arch, tok string
		layer              int
		typeIDs            bool
	}{
		{"tiny-mbert", "bert", "wordpiece", 3, true},
		{"tiny-bert-uncased", "bert", "wordpiece", 2, true},
		{"tiny-roberta", "roberta", "bpe-bytelevel", 3, false},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			out := t.TempDir()
			m, err := models.Import(context.Background(), fixtureDir(tc.fixture), out, models.ImportOptions{Layer: tc.layer, Repo: "fixtures/" + tc.fixture, Revision: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if m.Architecture != tc.arch || m.Layer != tc.layer || m.Tokenizer != tc.tok || m.MaxLength != 512 || m.Precision != "fp32" || m.HiddenSize <= 0 || m.IntermediateSize <= m.HiddenSize {
				t.Errorf("manifest %+v", m)
			}
			for _, f := range []string{"config.json", "tokenizer.json", "model.safetensors"} {
				if len(m.Source.Files[f]) != 64 {
					t.Errorf("no sha256 for %s: %v", f, m.Source.Files)
				}
			}
			r, err := models.ResolveDir(out)
			if err != nil {
				t.Fatal(err)
			}
			if r.Manifest == nil || r.Manifest.Name != tc.fixture {
				t.Errorf("resolved %+v", r)
			}
			sig, err := models.ValidateONNX(out)
			if err != nil {
				t.Fatal(err)
			}
			if sig.TokenTypeIDs != tc.typeIDs || sig.Output != "last_hidden_state" {
				t.Errorf("signature %+v", sig)
			}
		})
	}
}

func TestImportErrors(t *testing.T) {
	copyFiles := func(t *testing.T, files ...string) string {
		dir := t.TempDir()
		for _, f := range files {
			data, err := os.ReadFile(filepath.Join(fixtureDir("tiny-mbert"), f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	t.Run("pytorch only", func(t *testing.T) {
		dir := copyFiles(t, "config.json", "tokenizer.json")
		os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), []byte("pickle"), 0o644)
		_, err := models.Import(context.Background(), dir, t.TempDir(), models.ImportOptions{Layer: 1})
		if err == nil || !strings.Contains(err.Error(), "pytorch_model.bin") || !strings.Contains(err.Error(), "safetensors") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("no tokenizer", func(t *testing.T) {
		dir := copyFiles(t, "config.json", "model.safetensors")
		_, err := models.Import(context.Background(), dir, t.TempDir(), models.ImportOptions{Layer: 1})
		if err == nil || !strings.Contains(err.Error(), "tokenizer.json") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("layer too high", func(t *testing.T) {
		_, err := models.Import(context.Background(), fixtureDir("tiny-mbert"), t.TempDir(), models.ImportOptions{Layer: 9})
		if err == nil || !strings.Contains(err.Error(), "only 4 layers") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("no default layer", func(t *testing.T) {
		_, err := models.Import(context.Background(), fixtureDir("tiny-mbert"), t.TempDir(), models.ImportOptions{Layer: -1})
		if err == nil || !strings.Contains(err.Error(), "--layer") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("truncated safetensors", func(t *testing.T) {
		dir := copyFiles(t, "config.json", "tokenizer.json", "model.safetensors")
		p := filepath.Join(dir, "model.safetensors")
		st, _ := os.Stat(p)
		os.Truncate(p, st.Size()/2)
		_, err := models.Import(context.Background(), dir, t.TempDir(), models.ImportOptions{Layer: 1})
		if err == nil || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("config does not match weights", func(t *testing.T) {
		for _, tc := range []struct{ edit, want string }{
			{`"num_hidden_layers": 4`, ""},
			{`"num_hidden_layers": 6`, "lacks 16 tensor(s)"},
			{`"intermediate_size": 128`, ""},
			{`"intermediate_size": 256`, "do not match config.json"},
		} {
			dir := copyFiles(t, "tokenizer.json", "model.safetensors")
			cfg, _ := os.ReadFile(filepath.Join(fixtureDir("tiny-mbert"), "config.json"))
			key := strings.SplitN(tc.edit, ":", 2)[0]
			re := regexp.MustCompile(key + `: \d+`)
			os.WriteFile(filepath.Join(dir, "config.json"), re.ReplaceAll(cfg, []byte(tc.edit)), 0o644)
			_, err := models.Import(context.Background(), dir, t.TempDir(), models.ImportOptions{Layer: 4 + strings.Count(tc.want, "lacks")})
			if tc.want == "" {
				if err != nil {
					t.Errorf("%s: %v", tc.edit, err)
				}
				continue
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: err = %v, want %q", tc.edit, err, tc.want)
			}
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := models.Import(ctx, fixtureDir("tiny-mbert"), t.TempDir(), models.ImportOptions{Layer: 1})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("unsupported architecture", func(t *testing.T) {
		dir := copyFiles(t, "tokenizer.json", "model.safetensors")
		os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type":"gpt2","hidden_size":8}`), 0o644)
		_, err := models.Import(context.Background(), dir, t.TempDir(), models.ImportOptions{Layer: 1})
		if err == nil || !strings.Contains(err.Error(), `"gpt2" is not supported`) {
			t.Errorf("err = %v", err)
		}
	})
}

// TestImportSharded splits the fixture into two shards with an index and
// checks the built encoder is byte-identical to the single-file one.
func TestImportSharded(t *testing.T) {
	src := fixtureDir("tiny-mbert")
	ck, err := safetensors.OpenDir(src)
	if err != nil {
		t.Fatal(err)
	}
	names := ck.Names()
	dir := t.TempDir()
	var shards [2][]safetensors.Tensor
	weightMap := map[string]string{}
	for i, n := range names {
		data, info, err := ck.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		shards[i%2] = append(shards[i%2], safetensors.Tensor{Name: n, Shape: info.Shape, Data: data})
		weightMap[n] = []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i%2]
	}
	ck.Close()
	for i, s := range shards {
		if err := safetensors.WriteFile(filepath.Join(dir, []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i]), s); err != nil {
			t.Fatal(err)
		}
	}
	writeJSONFile(t, filepath.Join(dir, "model.safetensors.index.json"), map[string]any{"metadata": map[string]any{}, "weight_map": weightMap})
	for _, f := range []string{"config.json", "tokenizer.json"} {
		data, _ := os.ReadFile(filepath.Join(src, f))
		os.WriteFile(filepath.Join(dir, f), data, 0o644)
	}
	outA, outB := t.TempDir(), t.TempDir()
	if _, err := models.Import(context.Background(), src, outA, models.ImportOptions{Layer: 3, Name: "x"}); err != nil {
		t.Fatal(err)
	}
	m, err := models.Import(context.Background(), dir, outB, models.ImportOptions{Layer: 3, Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Source.Files) != 5 {
		t.Errorf("hashed files %v, want config, tokenizer, index and 2 shards", m.Source.Files)
	}
	a, _ := os.ReadFile(filepath.Join(outA, "model.onnx"))
	b, _ := os.ReadFile(filepath.Join(outB, "model.onnx"))
	if string(a) != string(b) {
		t.Errorf("sharded build differs from single-file build (%d vs %d bytes)", len(a), len(b))
	}
}

// TestValidateONNXReportsEveryMismatch: ValidateONNX reads the graph from
// the file and checks it with modelspec.Check (whose cases are tested
// there): one line naming the file and every mismatch.
func TestValidateONNXReportsEveryMismatch(t *testing.T) {
	dyn := []onnxpb.Dim{{Param: "batch"}, {Param: "sequence"}}
	tests := []struct {
		name    string
		inputs  []onnxpb.ValueInfo
		outputs []onnxpb.ValueInfo
		want    []string
	}{
		{
			name:    "fits, int32 ids",
			inputs:  []onnxpb.ValueInfo{{Name: "input_ids", ElemType: onnxpb.Int32, Shape: dyn}, {Name: "attention_mask", ElemType: onnxpb.Int32, Shape: dyn}},
			outputs: []onnxpb.ValueInfo{{Name: "last_hidden_state", ElemType: onnxpb.Float, Shape: append(dyn, onnxpb.Dim{Value: 768})}},
		},
		{
			name:    "wrong types and extra input",
			inputs:  []onnxpb.ValueInfo{{Name: "input_ids", ElemType: onnxpb.Float, Shape: dyn}, {Name: "position_ids", ElemType: onnxpb.Int64, Shape: dyn}},
			outputs: []onnxpb.ValueInfo{{Name: "pooler_output", ElemType: onnxpb.Float}, {Name: "logits", ElemType: onnxpb.Float}},
			want: []string{`input "input_ids" is float32 [batch, sequence], want int64 or int32`, `unexpected input "position_ids"`,
				`missing input "attention_mask"`, `no output "last_hidden_state" among 2 output(s) ("pooler_output", "logits")`},
		},
		{
			name:    "a single output of another name",
			inputs:  []onnxpb.ValueInfo{{Name: "input_ids", ElemType: onnxpb.Int64, Shape: dyn}, {Name: "attention_mask", ElemType: onnxpb.Int64, Shape: dyn}},
			outputs: []onnxpb.ValueInfo{{Name: "hidden", ElemType: onnxpb.Float, Shape: append(dyn, onnxpb.Dim{Value: 768})}},
			want:    []string{`no output "last_hidden_state" among 1 output(s) ("hidden")`},
		},
		{
			name:    "float16 output",
			inputs:  []onnxpb.ValueInfo{{Name: "input_ids", ElemType: onnxpb.Int64, Shape: dyn}, {Name: "attention_mask", ElemType: onnxpb.Int64, Shape: dyn}},
			outputs: []onnxpb.ValueInfo{{Name: "last_hidden_state", ElemType: onnxpb.Float16, Shape: append(dyn, onnxpb.Dim{Value: 768})}},
			want:    []string{`output "last_hidden_state" is float16 [batch, sequence, 768], want float32`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			m := &onnxpb.Model{IRVersion: 7, Graph: onnxpb.Graph{Inputs: tc.inputs, Outputs: tc.outputs}}
			if err := onnxpb.WriteFile(filepath.Join(dir, "model.onnx"), m, onnxpb.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			sig, err := models.ValidateONNX(dir)
			if len(tc.want) == 0 {
				if err != nil || sig.HiddenSize != 768 || len(sig.Inputs) != 2 || sig.Inputs[0].Type != modelspec.Int32 {
					t.Errorf("sig %+v, err %v", sig, err)
				}
				return
			}
			if !errors.Is(err, models.ErrInvalidInput) {
				t.Fatalf("error %v, want an input error", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, filepath.Join(dir, "model.onnx")+" ") || strings.Contains(msg, "\n") {
				t.Errorf("error is not one line naming the file: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestImportPretrainingNames: checkpoints saved from BertForPreTraining or
// RobertaForMaskedLM prefix every name ("bert.", "roberta.") and old ones
// call LayerNorm parameters gamma/beta; heads and buffers are ignored. The
// encoder built is byte-identical to the one from BertModel names.
func TestImportPretrainingNames(t *testing.T) {
	for _, tc := range []struct{ fixture, prefix string }{{"tiny-mbert", "bert."}, {"tiny-roberta", "roberta."}} {
		t.Run(tc.fixture, func(t *testing.T) {
			src := fixtureDir(tc.fixture)
			ck, err := safetensors.OpenDir(src)
			if err != nil {
				t.Fatal(err)
			}
			var tensors []safetensors.Tensor
			for _, n := range ck.Names() {
				data, info, err := ck.Float32(n)
				if err != nil {
					t.Fatal(err)
				}
				n = strings.Replace(n, "LayerNorm.weight", "LayerNorm.gamma", 1)
				n = strings.Replace(n, "LayerNorm.bias", "LayerNorm.beta", 1)
				tensors = append(tensors, safetensors.Tensor{Name: tc.prefix + n, Shape: info.Shape, Data: data})
			}
			ck.Close()
			tensors = append(tensors,
				safetensors.Tensor{Name: "cls.predictions.bias", Shape: []int64{3}, Data: []float32{1, 2, 3}},
				safetensors.Tensor{Name: tc.prefix + "pooler.dense.bias", Shape: []int64{2}, Data: []float32{1, 2}})
			dir := t.TempDir()
			if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), tensors); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"config.json", "tokenizer.json"} {
				data, _ := os.ReadFile(filepath.Join(src, f))
				os.WriteFile(filepath.Join(dir, f), data, 0o644)
			}
			a, b := t.TempDir(), t.TempDir()
			if _, err := models.Import(context.Background(), src, a, models.ImportOptions{Layer: 2, Name: "x"}); err != nil {
				t.Fatal(err)
			}
			if _, err := models.Import(context.Background(), dir, b, models.ImportOptions{Layer: 2, Name: "x"}); err != nil {
				t.Fatal(err)
			}
			ma, _ := os.ReadFile(filepath.Join(a, "model.onnx"))
			mb, _ := os.ReadFile(filepath.Join(b, "model.onnx"))
			if string(ma) != string(mb) {
				t.Error("encoder from prefixed gamma/beta names differs")
			}
		})
	}
}

// TestImportOverAnEarlierBuildFailing checks that a failed rebuild into a
// folder does not leave the earlier build's manifest describing it.
func TestImportOverAnEarlierBuildFailing(t *testing.T) {
	out := t.TempDir()
	if _, err := models.Import(context.Background(), fixtureDir("tiny-mbert"), out, models.ImportOptions{Layer: 2}); err != nil {
		t.Fatal(err)
	}
	// A model.onnx that cannot be replaced (a folder in its way) makes the
	// rebuild fail after it has started writing.
	if err := os.Remove(filepath.Join(out, models.ONNXFile)); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(out, models.ONNXFile, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := models.Import(context.Background(), fixtureDir("tiny-mbert"), out, models.ImportOptions{Layer: 3}); err == nil {
		t.Fatal("rebuild over a folder named model.onnx succeeded")
	}
	if m, err := models.ReadManifest(out); err != nil || m != nil {
		t.Errorf("after the failed rebuild the folder still has a manifest %+v (%v)", m, err)
	}
}

// TestBaselineSourceNamesTheLanguageUsed imports mBERT for German and asks
// for the French baseline: the source line must name the French file.
func TestBaselineSourceNamesTheLanguageUsed(t *testing.T) {
	out := t.TempDir()
	if _, err := models.Import(context.Background(), fixtureDir("tiny-mbert"), out, models.ImportOptions{Name: "bert-base-multilingual-cased", Layer: 3, Lang: "de"}); err != nil {
		t.Fatal(err)
	}
	r, err := models.ResolveDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for lang, file := range map[string]string{"de": "de", "fr": "fr", "": "de"} {
		want := "rescale_baseline/" + file + "/bert-base-multilingual-cased.tsv"
		b, src, err := r.BaselineFor(lang)
		if err != nil || b == nil || !strings.Contains(src, want) {
			t.Errorf("BaselineFor(%q) = %v, %q, %v; want a source naming %s", lang, b, src, err, want)
		}
	}
}

// TestCacheWithABrokenManifest: one cached model whose manifest was damaged
// must not break `models list` or make the model impossible to remove.
func TestCacheWithABrokenManifest(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "models", "bert-base-chinese@main")
	ck := filepath.Join(root, "checkpoints", "google-bert--bert-base-chinese", "main")
	for _, d := range []string{dir, ck} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, models.ManifestFile), []byte("{truncated"), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := models.NewCache(root)
	list, err := cache.List()
	if err != nil || len(list) != 1 || list[0].Problem == nil || !strings.Contains(list[0].Problem.Error(), models.ManifestFile) {
		t.Fatalf("list = %+v, %v; want the model listed with its problem", list, err)
	}
	removed, err := cache.Remove("bert-base-chinese")
	if err != nil || len(removed) != 2 {
		t.Fatalf("remove: %v, %v; want the model and its checkpoint removed", removed, err)
	}
	if _, err := os.Stat(ck); !os.IsNotExist(err) {
		t.Errorf("checkpoint left: %v", err)
	}
}

// TestValidateAgreesWithScorer: a model.onnx passes ValidateONNX exactly
// when the scorer accepts it, and then it scores: one contract for both.
func TestValidateAgreesWithScorer(t *testing.T) {
	orttest.Require(t)
	name := "tiny-mbert"
	src, err := onnxpb.ReadFile(filepath.Join(fixtureDir(name), models.ONNXFile))
	if err != nil {
		t.Fatal(err)
	}
	setInputs := func(typ onnxpb.DataType) func(*onnxpb.Graph) {
		return func(g *onnxpb.Graph) {
			for i := range g.Inputs {
				g.Inputs[i].ElemType = typ
			}
		}
	}
	for _, tc := range []struct {
		name   string
		modify func(*onnxpb.Graph)
		fits   bool
	}{
		{"as exported", func(*onnxpb.Graph) {}, true},
		{"int32 ids", setInputs(onnxpb.Int32), true},
		{"float ids", setInputs(onnxpb.Float), false},
		{"output renamed to hidden", func(g *onnxpb.Graph) {
			for i := range g.Nodes {
				for k, o := range g.Nodes[i].Outputs {
					if o == modelspec.HiddenStates {
						g.Nodes[i].Outputs[k] = "hidden"
					}
				}
			}
			g.Outputs[0].Name = "hidden"
		}, false},
		{"float16 output", func(g *onnxpb.Graph) { g.Outputs[0].ElemType = onnxpb.Float16 }, false},
	} {
		var want *scorer.PRF // the scores of the model as exported
		t.Run(tc.name, func(t *testing.T) {
			if len(src.Graph.Outputs) != 1 || src.Graph.Outputs[0].Name != modelspec.HiddenStates {
				t.Fatalf("fixture outputs %v, want last_hidden_state only", src.Graph.Outputs)
			}
			m := *src
			m.Graph.Inputs = slices.Clone(src.Graph.Inputs)
			m.Graph.Outputs = slices.Clone(src.Graph.Outputs)
			m.Graph.Nodes = slices.Clone(src.Graph.Nodes)
			for i := range m.Graph.Nodes {
				m.Graph.Nodes[i].Outputs = slices.Clone(m.Graph.Nodes[i].Outputs)
			}
			tc.modify(&m.Graph)
			dir := t.TempDir()
			if err := onnxpb.WriteFile(filepath.Join(dir, models.ONNXFile), &m, onnxpb.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(fixtureDir(name), models.TokenizerFile))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, models.TokenizerFile), data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, verr := models.ValidateONNX(dir)
			r, err := models.ResolveDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var res *scorer.Result
			bm, serr := bertscore.OpenResolved(context.Background(), r, bertscore.Options{})
			if serr == nil {
				defer bm.Close()
				var s *scorer.Scorer
				if s, serr = bm.Scorer(bertscore.ScorerOptions{}); serr == nil {
					res, serr = s.Score(context.Background(), []string{"今天天气很好。"}, [][]string{{"今天天气不错。"}})
				}
			}
			if (verr == nil) != tc.fits || (serr == nil) != tc.fits {
				t.Errorf("fits %v: validate says %v; the scorer says %v", tc.fits, verr, serr)
			}
			if res != nil {
				if want == nil {
					want = &res.Pairs[0]
				} else if res.Pairs[0] != *want {
					t.Errorf("scores %+v, as exported %+v", res.Pairs[0], *want)
				}
			}
		})
	}
}
