package models

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bertbench/bertbench/internal/outfile"
	"github.com/bertbench/bertbench/models/onnxgraph"
	"github.com/bertbench/bertbench/models/onnxpb"
	"github.com/bertbench/bertbench/models/safetensors"
	"github.com/bertbench/bertbench/modelspec"
)

// ConfigFile is the Hugging Face config file of a checkpoint folder.
const ConfigFile = "config.json"

// ImportOptions controls Import.
type ImportOptions struct {
	// Layer is the number of encoder layers kept (0 = embedding output).
	// Negative means: the known model's default layer (Name or Repo must
	// then name a known model).
	Layer int
	// Precision is how the encoder stores weights and computes (""
	// is modelspec.FP32): fp16 (for GPUs) or int8 (dynamic quantisation,
	// for the CPU).
	Precision modelspec.Precision
	// Name is the manifest name; default: the known model's name, else the
	// checkpoint folder's base name. A non-default layer or precision is
	// added as a suffix ("-L8", "-fp16", "-int8") so results never mix
	// encoders.
	Name string
	// Repo and Revision record where the checkpoint came from.
	Repo, Revision string
	// Lang is the language the model is meant for (it selects the manifest's
	// primary baseline); default: the language the model is the reference's
	// default for, if any.
	Lang string
	// BaselineFile, when set, is a rescale baseline file in the
	// reference's format (LAYER,P,R,F; see modelspec.ParseBaselines) whose
	// row for the layer becomes the manifest's baseline, for Lang when
	// given; it takes the place of a known model's published baseline for
	// that language.
	BaselineFile string
	// Synthetic marks random-weight models.
	Synthetic bool
	// Producer is recorded in the ONNX file (bertbench's version).
	Producer string
	// WriteOptions tunes how model.onnx is written (external data).
	Write onnxpb.WriteOptions
	// KnownSHA256 maps input file names to sha256 sums the caller has just
	// verified (Pull: the Hub's LFS ids, checked while downloading); those
	// files are not read a second time to hash them.
	KnownSHA256 map[string]string
}

// Import builds OUT_DIR/model.onnx from the Hugging Face checkpoint in
// srcDir (config.json, model.safetensors or its sharded index, and
// tokenizer.json), cut at opts.Layer, copies tokenizer.json and writes the
// bertbench.json manifest. srcDir and outDir may be the same folder.
func Import(ctx context.Context, srcDir, outDir string, opts ImportOptions) (*Manifest, error) {
	// Everything up to the build reads the user's checkpoint: its errors
	// are input errors. Writing the model is a runtime matter.
	cfg, err := onnxgraph.ReadConfig(filepath.Join(srcDir, ConfigFile))
	if err != nil {
		return nil, asInput(err)
	}
	tokPath := filepath.Join(srcDir, TokenizerFile)
	tokKind, err := TokenizerKind(tokPath)
	if err != nil {
		return nil, asInput(err)
	}
	precision, err := modelspec.ParsePrecision(string(opts.Precision))
	if err != nil {
		return nil, asInput(fmt.Errorf("--precision: %w", err))
	}
	known, isKnown := LookupKnown(opts.Name)
	if !isKnown && opts.Repo != "" {
		known, isKnown = LookupKnown(opts.Repo)
	}
	layer := opts.Layer
	if layer < 0 {
		if !isKnown {
			return nil, asInput(fmt.Errorf("%s: give --layer N (0..%d): the checkpoint is not a known model, so there is no default layer", srcDir, cfg.NumHiddenLayers))
		}
		layer = known.Layer
	}
	if layer > cfg.NumHiddenLayers {
		return nil, asInput(fmt.Errorf("%s: --layer %d, but the checkpoint has only %d layers", srcDir, layer, cfg.NumHiddenLayers))
	}
	if layer == 0 && precision == modelspec.INT8 {
		return nil, asInput(fmt.Errorf("%s: %s", srcDir, int8LayerZero("--layer")))
	}
	var userBaseline *Baseline
	var baselineSum string
	if opts.BaselineFile != "" {
		if userBaseline, baselineSum, err = readBaselineRow(opts.BaselineFile, layer); err != nil {
			return nil, asInput(err)
		}
	}
	ck, err := safetensors.OpenDir(srcDir)
	if err != nil {
		return nil, asInput(err)
	}
	defer ck.Close()

	name := opts.Name
	base := name
	if isKnown {
		base = known.Name
	}
	if base == "" {
		abs, _ := filepath.Abs(srcDir)
		base = filepath.Base(abs)
	}
	if name == "" || isKnown {
		name = base
		if isKnown && layer != known.Layer {
			name += fmt.Sprintf("-L%d", layer)
		}
	}
	// Every lower precision's name ends in its suffix, however it was
	// named, so results of two precisions never share a name.
	name = precision.Name(name)

	// Hash the inputs before building, so the manifest names exactly what
	// was read.
	files := map[string]string{}
	inputs := append([]string{ConfigFile, TokenizerFile}, ck.Files...)
	for _, f := range inputs {
		if sum, ok := opts.KnownSHA256[f]; ok {
			files[f] = sum
			continue
		}
		sum, err := fileSHA256(ctx, filepath.Join(srcDir, f))
		if err != nil {
			return nil, err
		}
		files[f] = sum
	}

	model, err := onnxgraph.Build(cfg, ctxWeights{ctx, ck}, onnxgraph.Options{Layer: layer, Precision: precision, Producer: opts.Producer})
	if err != nil {
		// A tensor missing or of the wrong shape: the checkpoint does not
		// fit its config.
		return nil, asInput(fmt.Errorf("%s: %w", srcDir, err))
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	// A manifest left by an earlier build must not describe the new
	// model.onnx should this build fail half way.
	if err := os.Remove(filepath.Join(outDir, ManifestFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("removing the old manifest: %w", err)
	}
	if err := onnxpb.WriteFile(filepath.Join(outDir, ONNXFile), model, opts.Write); err != nil {
		return nil, err
	}
	if err := copyFileIfDifferent(tokPath, filepath.Join(outDir, TokenizerFile)); err != nil {
		return nil, err
	}

	lang := opts.Lang
	if lang == "" && isKnown {
		for l, m := range knownTableOrEmpty().LangDefaults {
			if m == known.Name && l != "*" {
				lang = l
			}
		}
	}
	m := &Manifest{
		Name:             name,
		Source:           &Source{Repo: opts.Repo, Revision: opts.Revision, Files: files},
		Architecture:     archName(cfg),
		Layer:            layer,
		TotalLayers:      cfg.NumHiddenLayers,
		HiddenSize:       cfg.HiddenSize,
		IntermediateSize: cfg.IntermediateSize,
		MaxLength:        min(cfg.MaxLength(), 512),
		Tokenizer:        tokKind,
		Lang:             lang,
		Precision:        string(precision),
		Synthetic:        opts.Synthetic,
	}
	if isKnown && !opts.Synthetic {
		if err := attachBaselines(m, known.Name, layer); err != nil {
			return nil, err
		}
	}
	if userBaseline != nil {
		m.Baseline = userBaseline
		m.BaselineSource = filepath.Base(opts.BaselineFile) + ", layer " + strconv.Itoa(layer) + " (sha256 " + baselineSum + ")"
		if m.Lang != "" {
			if m.Baselines == nil {
				m.Baselines = map[string]Baseline{}
			}
			m.Baselines[m.Lang] = *userBaseline
		}
	}
	if err := WriteManifest(outDir, m); err != nil {
		return nil, err
	}
	return m, nil
}

// readBaselineRow reads the baseline file at path and returns its row for
// layer and the file's sha256.
func readBaselineRow(path string, layer int) (*Baseline, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("--baseline: %w", err)
	}
	rows, err := modelspec.ParseBaselines(bytes.NewReader(data), path)
	if err != nil {
		return nil, "", err
	}
	b, ok := rows[layer]
	if !ok {
		return nil, "", fmt.Errorf("%s: no row for layer %d, the layer the encoder is cut at (give a file with a LAYER,P,R,F row for it)", path, layer)
	}
	sum := sha256.Sum256(data)
	return &b, hex.EncodeToString(sum[:]), nil
}

// attachBaselines fills the manifest's baselines from the embedded table.
func attachBaselines(m *Manifest, model string, layer int) error {
	for _, lang := range BaselineLangs(model) {
		b, src, err := KnownBaseline(model, lang, layer)
		if err != nil {
			return err
		}
		if b == nil {
			continue
		}
		if m.Baselines == nil {
			m.Baselines = map[string]Baseline{}
		}
		m.Baselines[lang] = *b
		if lang == m.Lang {
			m.Baseline, m.BaselineSource = b, src
		}
	}
	if m.Baselines != nil && m.BaselineSource == "" {
		m.BaselineSource = "bert_score 0.3.13 rescale_baseline/<lang>/" + model + ".tsv"
	}
	return nil
}

func archName(cfg *onnxgraph.Config) string {
	if cfg.ModelType == "xlm-roberta" {
		return "xlm-roberta"
	}
	return cfg.Arch()
}

// ctxWeights stops a long build when ctx is cancelled.
type ctxWeights struct {
	ctx context.Context
	*safetensors.Checkpoint
}

func (w ctxWeights) Float32(name string) ([]float32, safetensors.Info, error) {
	if err := w.ctx.Err(); err != nil {
		return nil, safetensors.Info{}, err
	}
	return w.Checkpoint.Float32(name)
}

func (w ctxWeights) Raw(name string) ([]byte, safetensors.Info, error) {
	if err := w.ctx.Err(); err != nil {
		return nil, safetensors.Info{}, err
	}
	return w.Checkpoint.Raw(name)
}

// TokenizerKind reads a tokenizer.json and names its family: "wordpiece",
// "bpe-bytelevel", "bpe" or "unigram".
func TokenizerKind(path string) (string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s: missing (bertbench needs the fast-tokenizer file tokenizer.json; a folder with only vocab.txt or sentencepiece.bpe.model can be converted by loading it with transformers' AutoTokenizer and calling save_pretrained)", path)
	}
	if err != nil {
		return "", err
	}
	var t struct {
		Model struct {
			Type string `json:"type"`
		} `json:"model"`
		PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	}
	if err := json.Unmarshal(data, &t); err != nil {
		return "", fmt.Errorf("%s: invalid JSON: %w", path, err)
	}
	switch t.Model.Type {
	case "WordPiece":
		return "wordpiece", nil
	case "Unigram":
		return "unigram", nil
	case "BPE":
		if strings.Contains(string(t.PreTokenizer), `"ByteLevel"`) {
			return "bpe-bytelevel", nil
		}
		return "bpe", nil
	case "":
		return "", fmt.Errorf("%s: no model.type: not a Hugging Face tokenizers file", path)
	}
	return strings.ToLower(t.Model.Type), nil
}

func fileSHA256(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// copyFileIfDifferent copies src to dst (atomically: internal/outfile)
// unless they are the same file.
func copyFileIfDifferent(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if a, err := in.Stat(); err == nil {
		if b, err := os.Stat(dst); err == nil && os.SameFile(a, b) {
			return nil
		}
	}
	out, err := outfile.Create(dst, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return out.Commit()
}

// int8LayerZero says why an int8 encoder cannot be cut at layer 0 (flag
// is the option that names the layer).
func int8LayerZero(flag string) string {
	return flag + " 0 --precision int8: an encoder cut at layer 0 is the embeddings alone, with no weight product to quantise (its graph would be fp32's under an int8 name); build it in fp32, or keep a layer"
}
