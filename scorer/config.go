package scorer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// LayerUnknown is ScoreConfig.Layer (and Options.Layer) when nothing says
// which encoder layer the model outputs.
const LayerUnknown = -1

// The ScoreConfig.IDF modes.
const (
	// IDFNone: every token weighs 1, the special tokens 0.
	IDFNone = "none"
	// IDFRefs: idf computed over the references of the Score call
	// (IDFDigest names the resulting table).
	IDFRefs = "refs"
	// IDFTableGiven: idf from a table the caller gave (IDFDigest names
	// it).
	IDFTableGiven = "table"
)

// Config describes a scoring configuration: Score holds what defines the
// numbers, Runtime what only describes how they were computed. Its JSON
// form is stable (field names and order are fixed; new fields are only
// ever added), so a results store can save it and compare it later.
type Config struct {
	Score   ScoreConfig   `json:"score"`
	Runtime RuntimeConfig `json:"runtime"`
}

// ScoreConfig holds the fields that define a score: two runs whose
// ScoreConfigs are equal computed the same function of the text (up to
// the runtime's arithmetic, see Config.SameScores). It is comparable
// with ==.
type ScoreConfig struct {
	// Algorithm is the scorer's revision (Version).
	Algorithm string `json:"algorithm"`
	// Model names the model (a manifest's name or the folder's).
	Model string `json:"model"`
	// WeightsDigest is the hex sha256 of the model file, "" when the
	// encoder does not know it.
	WeightsDigest string `json:"weights_digest"`
	// Layer is the encoder layer the model outputs (0 = the embedding
	// output), LayerUnknown when not known.
	Layer int `json:"layer"`
	// Tokenizer names the tokenizer's semantics, TokenizerFingerprint its
	// vocabulary and settings.
	Tokenizer            string `json:"tokenizer"`
	TokenizerFingerprint string `json:"tokenizer_fingerprint"`
	// IDF is IDFNone, IDFRefs or IDFTableGiven; IDFDigest names the idf
	// table used ("" when none, or for IDFRefs before a Score call has
	// computed it).
	IDF       string `json:"idf"`
	IDFDigest string `json:"idf_digest,omitempty"`
	// Rescale reports baseline rescaling; BaselineDigest names the
	// baseline's three values.
	Rescale        bool   `json:"rescale"`
	BaselineDigest string `json:"baseline_digest,omitempty"`
}

// RuntimeConfig describes how scores were computed, not what they are.
type RuntimeConfig struct {
	// Runtime and RuntimeVersion name the inference runtime
	// ("onnxruntime", "1.30.0").
	Runtime        string `json:"runtime"`
	RuntimeVersion string `json:"runtime_version"`
	// Device is where the encoder ran ("cpu", "cuda:0"), as the encoder
	// reports it.
	Device string `json:"device"`
	// Precision is the encoder's arithmetic ("fp32", "fp16", "int8",
	// "fp32+tf32"; see modelspec.Precision).
	Precision string `json:"precision"`
	// BatchTokens is the encoder batch budget, ChunkTokens the chunk size
	// in tokens, Threads the CPU threads used.
	BatchTokens int `json:"batch_tokens"`
	ChunkTokens int `json:"chunk_tokens"`
	Threads     int `json:"threads"`
}

// SameScores reports whether c and o give the same scores to within the
// scorer's parity bound (1e-5): the same ScoreConfig, the same precision
// and, unless that precision is exact float32 ("fp32", which agrees
// across CPU and GPU to about 5e-6), the same kind of device. Runtime
// version, batch budget, chunk size and threads never move a score by
// more than that. TF32 ("+tf32", up to 2.6e-3 on hidden states) is never
// the same as exact fp32.
func (c Config) SameScores(o Config) bool {
	if c.Score != o.Score || c.Runtime.Precision != o.Runtime.Precision {
		return false
	}
	return c.Runtime.Precision == "fp32" || deviceKind(c.Runtime.Device) == deviceKind(o.Runtime.Device)
}

// A FieldDiff is a field in which two Configs differ: its JSON name
// ("runtime_version") and its values in each, as text.
type FieldDiff struct {
	Field string
	A, B  string
}

// Diff lists the fields in which o differs from c (A is c's value, B
// o's), Score's fields first, each in the order of its struct; nil when
// they are equal.
func (c Config) Diff(o Config) []FieldDiff {
	var out []FieldDiff
	for _, pair := range [][2]reflect.Value{
		{reflect.ValueOf(c.Score), reflect.ValueOf(o.Score)},
		{reflect.ValueOf(c.Runtime), reflect.ValueOf(o.Runtime)},
	} {
		a, b := pair[0], pair[1]
		for i := range a.NumField() {
			if x, y := a.Field(i).Interface(), b.Field(i).Interface(); x != y {
				name, _, _ := strings.Cut(a.Type().Field(i).Tag.Get("json"), ",")
				out = append(out, FieldDiff{Field: name, A: fmt.Sprint(x), B: fmt.Sprint(y)})
			}
		}
	}
	return out
}

// Exact reports whether the configuration computes in exact float32 or
// in its weights' own precision, not with TF32's shortened products.
func (c Config) Exact() bool { return !strings.Contains(c.Runtime.Precision, "+tf32") }

// deviceKind is a device name without its index ("cuda:1" → "cuda").
func deviceKind(d string) string {
	kind, _, _ := strings.Cut(d, ":")
	return kind
}

// Hash renders the configuration as one string in the reference's style,
// <model>_L<layer>_<idf|no-idf|idf-table>_version=<algorithm>(...), with
// the tokenizer, the weights, the runtime, the device kind ("provider")
// and the precision in the parentheses, then the digests of the idf table
// and the baseline when they apply, and "-rescaled" at the end when
// rescaled.
func (c Config) Hash() string {
	s := c.Score
	layer := "unknown"
	if s.Layer >= 0 {
		layer = strconv.Itoa(s.Layer)
	}
	idf := "no-idf"
	switch s.IDF {
	case IDFRefs:
		idf = "idf"
	case IDFTableGiven:
		idf = "idf-table"
	}
	tok := s.Tokenizer
	if len(s.TokenizerFingerprint) >= 8 {
		tok += "@" + s.TokenizerFingerprint[:8]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s_L%s_%s_version=%s(tokenizer=%s", s.Model, layer, idf, s.Algorithm, tok)
	if len(s.WeightsDigest) >= 8 {
		b.WriteString(",weights=" + s.WeightsDigest[:8])
	}
	r := c.Runtime
	if r.Runtime == "onnxruntime" {
		b.WriteString(",ort=" + r.RuntimeVersion)
	} else {
		fmt.Fprintf(&b, ",runtime=%s-%s", r.Runtime, r.RuntimeVersion)
	}
	fmt.Fprintf(&b, ",provider=%s,%s", deviceKind(r.Device), r.Precision)
	if s.IDFDigest != "" {
		fmt.Fprintf(&b, ",%s=%s", map[bool]string{true: "idf-table", false: "idf"}[s.IDF == IDFTableGiven], s.IDFDigest)
	}
	if s.BaselineDigest != "" {
		b.WriteString(",baseline=" + s.BaselineDigest)
	}
	b.WriteString(")")
	if s.Rescale {
		b.WriteString("-rescaled")
	}
	return b.String()
}

// String is Hash.
func (c Config) String() string { return c.Hash() }

// digest is a short hex digest of s, for naming inputs in hashes.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}
