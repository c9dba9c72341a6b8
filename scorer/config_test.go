package scorer_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/scorer"
)

func baseConfig() scorer.Config {
	return scorer.Config{
		Score: scorer.ScoreConfig{
			Algorithm: scorer.Version, Model: "tiny-mbert", WeightsDigest: "0123456789abcdef", Layer: 3,
			Tokenizer: "wordpiece-cased", TokenizerFingerprint: "5ce948b4ffff", IDF: scorer.IDFNone,
		},
		Runtime: scorer.RuntimeConfig{Runtime: "onnxruntime", RuntimeVersion: "1.30.0", Device: "cpu", Precision: "fp32", BatchTokens: 512, ChunkTokens: 32768, Threads: 2},
	}
}

// TestConfigHash: the hash is rendered from the Config, in the
// reference's style, with what else defines or describes the numbers.
func TestConfigHash(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*scorer.Config)
		want string
	}{
		{"plain", func(*scorer.Config) {},
			"tiny-mbert_L3_no-idf_version=bertbench-scorer/1(tokenizer=wordpiece-cased@5ce948b4,weights=01234567,ort=1.30.0,provider=cpu,fp32)"},
		{"unknown layer, no digests", func(c *scorer.Config) {
			c.Score.Layer, c.Score.WeightsDigest, c.Score.TokenizerFingerprint = scorer.LayerUnknown, "", ""
		},
			"tiny-mbert_Lunknown_no-idf_version=bertbench-scorer/1(tokenizer=wordpiece-cased,ort=1.30.0,provider=cpu,fp32)"},
		{"idf over the references, rescaled, on CUDA with TF32", func(c *scorer.Config) {
			c.Score.IDF, c.Score.IDFDigest, c.Score.Rescale, c.Score.BaselineDigest = scorer.IDFRefs, "aaaa1111", true, "bbbb2222"
			c.Runtime.Device, c.Runtime.Precision = "cuda:1", "fp32+tf32"
		}, "tiny-mbert_L3_idf_version=bertbench-scorer/1(tokenizer=wordpiece-cased@5ce948b4,weights=01234567,ort=1.30.0,provider=cuda,fp32+tf32,idf=aaaa1111,baseline=bbbb2222)-rescaled"},
		{"an idf table", func(c *scorer.Config) { c.Score.IDF, c.Score.IDFDigest = scorer.IDFTableGiven, "cccc3333" },
			"tiny-mbert_L3_idf-table_version=bertbench-scorer/1(tokenizer=wordpiece-cased@5ce948b4,weights=01234567,ort=1.30.0,provider=cpu,fp32,idf-table=cccc3333)"},
		{"another runtime", func(c *scorer.Config) { c.Runtime.Runtime, c.Runtime.RuntimeVersion = "fake", "2" },
			"tiny-mbert_L3_no-idf_version=bertbench-scorer/1(tokenizer=wordpiece-cased@5ce948b4,weights=01234567,runtime=fake-2,provider=cpu,fp32)"},
	} {
		c := baseConfig()
		tc.mod(&c)
		if got := c.Hash(); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
		if c.String() != c.Hash() {
			t.Errorf("%s: String differs from Hash", tc.name)
		}
	}
}

// TestConfigSameScores: two configurations give the same scores when
// their score-defining fields and precision agree; exact fp32 agrees
// across devices, other precisions only on the same kind of device, TF32
// never with fp32; batch budget, threads and runtime version do not count.
func TestConfigSameScores(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*scorer.Config)
		same bool
	}{
		{"identical", func(*scorer.Config) {}, true},
		{"other batch budget, chunk, threads, runtime version", func(c *scorer.Config) {
			c.Runtime.BatchTokens, c.Runtime.ChunkTokens, c.Runtime.Threads, c.Runtime.RuntimeVersion = 64, 100, 16, "1.31.0"
		}, true},
		{"fp32 on CUDA", func(c *scorer.Config) { c.Runtime.Device = "cuda:0" }, true},
		{"TF32 on CUDA", func(c *scorer.Config) { c.Runtime.Device, c.Runtime.Precision = "cuda:0", "fp32+tf32" }, false},
		{"int8 (even with the same weights digest)", func(c *scorer.Config) { c.Runtime.Precision = "int8" }, false},
		{"fp16 (even with the same weights digest)", func(c *scorer.Config) { c.Runtime.Precision = "fp16" }, false},
		{"other weights", func(c *scorer.Config) { c.Score.WeightsDigest = "ffff" }, false},
		{"other layer", func(c *scorer.Config) { c.Score.Layer = 4 }, false},
		{"other tokenizer vocabulary", func(c *scorer.Config) { c.Score.TokenizerFingerprint = "ffff" }, false},
		{"idf", func(c *scorer.Config) { c.Score.IDF, c.Score.IDFDigest = scorer.IDFRefs, "aaaa" }, false},
		{"rescaled", func(c *scorer.Config) { c.Score.Rescale, c.Score.BaselineDigest = true, "bbbb" }, false},
		{"other algorithm", func(c *scorer.Config) { c.Score.Algorithm = "bertbench-scorer/2" }, false},
	} {
		a, b := baseConfig(), baseConfig()
		tc.mod(&b)
		if got := a.SameScores(b); got != tc.same || b.SameScores(a) != tc.same {
			t.Errorf("%s: SameScores %v, want %v", tc.name, got, tc.same)
		}
	}
	// fp16 weights: the same on two GPUs, not on a GPU and the CPU.
	a, b := baseConfig(), baseConfig()
	a.Runtime.Precision, b.Runtime.Precision = "fp16", "fp16"
	a.Runtime.Device, b.Runtime.Device = "cuda:0", "cuda:1"
	if !a.SameScores(b) {
		t.Error("fp16 on two CUDA devices: not the same")
	}
	b.Runtime.Device = "cpu"
	if a.SameScores(b) {
		t.Error("fp16 on CUDA and on the CPU: the same")
	}
	if !a.Exact() {
		t.Error("fp16 is not exact")
	}
	a.Runtime.Precision = "fp32+tf32"
	if a.Exact() {
		t.Error("TF32 is exact")
	}
}

// TestHashNamesPrecision: every precision is in the hash, so a hash of
// an int8 or fp16 run never equals the fp32 one of the same model, and
// SameScores never mixes them (in either order, on any device).
func TestHashNamesPrecision(t *testing.T) {
	precisions := []string{"fp32", "fp16", "int8", "fp32+tf32"}
	hashes := map[string]string{}
	for _, p := range precisions {
		c := baseConfig()
		c.Runtime.Precision = p
		h := c.Hash()
		if !strings.Contains(h, ",provider=cpu,"+p+")") {
			t.Errorf("%s: hash %q does not end its parentheses with provider=cpu,%s", p, h, p)
		}
		if other, dup := hashes[h]; dup {
			t.Errorf("%s and %s have the same hash %q", p, other, h)
		}
		hashes[h] = p
	}
	for _, p := range precisions {
		for _, q := range precisions {
			for _, dev := range []string{"cpu", "cuda:0"} {
				a, b := baseConfig(), baseConfig()
				a.Runtime.Precision, b.Runtime.Precision = p, q
				b.Runtime.Device = dev
				if got := a.SameScores(b); got && p != q {
					t.Errorf("%s on the CPU and %s on %s: SameScores true", p, q, dev)
				}
			}
		}
	}
}

// TestConfigJSON: the Config's JSON form is stable (a store saves it):
// these field names, in this order.
func TestConfigJSON(t *testing.T) {
	c := baseConfig()
	c.Score.IDF, c.Score.IDFDigest = scorer.IDFTableGiven, "cccc3333"
	got, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"score":{"algorithm":"bertbench-scorer/1","model":"tiny-mbert","weights_digest":"0123456789abcdef","layer":3,` +
		`"tokenizer":"wordpiece-cased","tokenizer_fingerprint":"5ce948b4ffff","idf":"table","idf_digest":"cccc3333","rescale":false},` +
		`"runtime":{"runtime":"onnxruntime","runtime_version":"1.30.0","device":"cpu","precision":"fp32","batch_tokens":512,"chunk_tokens":32768,"threads":2}}`
	if string(got) != want {
		t.Errorf("JSON\n got %s\nwant %s", got, want)
	}
	var back scorer.Config
	if err := json.Unmarshal(got, &back); err != nil || back != c {
		t.Errorf("read back %+v, %v", back, err)
	}
}

// TestConfigDiff: Diff names the fields that differ by their JSON names,
// with both values, in the order of the struct.
func TestConfigDiff(t *testing.T) {
	base := baseConfig()
	for _, tc := range []struct {
		name string
		edit func(*scorer.Config)
		want []scorer.FieldDiff
	}{
		{"same", func(*scorer.Config) {}, nil},
		{"runtime version", func(c *scorer.Config) { c.Runtime.RuntimeVersion = "1.22.0" },
			[]scorer.FieldDiff{{Field: "runtime_version", A: base.Runtime.RuntimeVersion, B: "1.22.0"}}},
		{"device and threads", func(c *scorer.Config) { c.Runtime.Device, c.Runtime.Threads = "cuda:0", 7 },
			[]scorer.FieldDiff{{Field: "device", A: base.Runtime.Device, B: "cuda:0"}, {Field: "threads", A: strconv.Itoa(base.Runtime.Threads), B: "7"}}},
		{"layer and rescale", func(c *scorer.Config) { c.Score.Layer, c.Score.Rescale = 5, true },
			[]scorer.FieldDiff{{Field: "layer", A: "3", B: "5"}, {Field: "rescale", A: "false", B: "true"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.edit(&o)
			if got := base.Diff(o); !slices.Equal(got, tc.want) {
				t.Errorf("Diff = %v, want %v", got, tc.want)
			}
		})
	}
}
