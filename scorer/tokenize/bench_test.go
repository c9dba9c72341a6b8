package tokenize

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// benchTexts is the realistic mix: 50 sentences in 20 languages and
// scripts (news-style prose, numbers, URLs, emoji, full-width forms),
// repeated to 1,000 strings.
func benchTexts(b *testing.B) []string {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "bench-sentences.txt"))
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var texts []string
	for len(texts) < 1000 {
		texts = append(texts, lines...)
	}
	return texts[:1000]
}

// BenchmarkEncode measures single-goroutine throughput: one op is one
// string; strings/s and tokens/s (special tokens included) are reported.
func BenchmarkEncode(b *testing.B) {
	texts := benchTexts(b)
	for _, fx := range allFixtures {
		b.Run(fx.name, func(b *testing.B) {
			tok := loadFixture(b, fx.name)
			tokens := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ids, err := tok.Encode(texts[i%len(texts)])
				if err != nil {
					b.Fatal(err)
				}
				tokens += len(ids)
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N)/sec, "strings/s")
			b.ReportMetric(float64(tokens)/sec, "tokens/s")
		})
	}
}

// BenchmarkEncodeBatch measures EncodeBatch on all cores: one op is the
// batch of 1,000 strings.
func BenchmarkEncodeBatch(b *testing.B) {
	texts := benchTexts(b)
	for _, fx := range allFixtures {
		b.Run(fx.name, func(b *testing.B) {
			tok := loadFixture(b, fx.name)
			tokens := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				batch, err := tok.EncodeBatch(texts, 0)
				if err != nil {
					b.Fatal(err)
				}
				for _, x := range batch.IDs {
					tokens += len(x)
				}
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N*len(texts))/sec, "strings/s")
			b.ReportMetric(float64(tokens)/sec, "tokens/s")
		})
	}
}

// BenchmarkHFOracle runs the same 1,000 strings through Hugging Face
// tokenizers (Rust, via Node) with encodeBatch, timed inside node by
// `oracle.js bench` for about 3 s, on one core (RAYON_NUM_THREADS=1) and on
// all cores. Only the reported strings/s and tokens/s are meaningful; ns/op
// includes starting node.
func BenchmarkHFOracle(b *testing.B) {
	dir := oracleDir(b)
	texts := benchTexts(b)
	data, err := json.Marshal(texts)
	if err != nil {
		b.Fatal(err)
	}
	textsPath := filepath.Join(b.TempDir(), "texts.json")
	if err := os.WriteFile(textsPath, data, 0o644); err != nil {
		b.Fatal(err)
	}
	for _, threads := range []string{"1", ""} {
		for _, fx := range allFixtures {
			name := fx.name + "/threads=" + threads
			if threads == "" {
				name = fx.name + "/threads=all"
			}
			b.Run(name, func(b *testing.B) {
				tokPath, err := filepath.Abs(fixturePath(fx.name))
				if err != nil {
					b.Fatal(err)
				}
				var res struct {
					StringsPerS float64 `json:"strings_per_s"`
					TokensPerS  float64 `json:"tokens_per_s"`
				}
				for i := 0; i < b.N; i++ {
					cmd := exec.Command("node", filepath.Join(dir, "oracle.js"), "bench", tokPath, textsPath, "3")
					cmd.Dir = dir
					cmd.Env = os.Environ()
					if threads != "" {
						cmd.Env = append(cmd.Env, "RAYON_NUM_THREADS="+threads)
					}
					out, err := cmd.Output()
					if err != nil {
						b.Fatalf("oracle bench: %v", err)
					}
					if err := json.Unmarshal(out, &res); err != nil {
						b.Fatalf("oracle bench output %q: %v", out, err)
					}
				}
				b.ReportMetric(res.StringsPerS, "strings/s")
				b.ReportMetric(res.TokensPerS, "tokens/s")
			})
		}
	}
}
