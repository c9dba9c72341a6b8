package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/bertbench/bertbench/internal/outfile"
	"github.com/bertbench/bertbench/modelspec"
)

// ManifestFile is the manifest's file name inside a model folder.
const ManifestFile = "bertbench.json"

// Manifest describes a model folder: where the encoder came from, how it was
// cut, and the defaults `bertbench score` uses with it.
type Manifest struct {
	// Name identifies the model in result hashes (e.g. "bert-base-multilingual-cased").
	Name string `json:"name"`
	// Source is the checkpoint the encoder was built from, when known.
	Source *Source `json:"source,omitempty"`
	// Architecture is "bert", "roberta" or "xlm-roberta".
	Architecture string `json:"architecture,omitempty"`
	// Layer is the number of encoder layers kept: the output of layer
	// Layer (0 = embedding output) is the model's output. It selects the
	// baseline row.
	Layer int `json:"layer"`
	// TotalLayers is the checkpoint's layer count before cutting.
	TotalLayers int `json:"total_layers,omitempty"`
	HiddenSize  int `json:"hidden_size,omitempty"`
	// IntermediateSize is the feed-forward width (with HiddenSize and
	// Layer, what an encoder's arithmetic per token is counted from).
	IntermediateSize int `json:"intermediate_size,omitempty"`
	// MaxLength is the longest input in tokens, specials included.
	MaxLength int `json:"max_length,omitempty"`
	// Tokenizer names the tokenizer family ("wordpiece" or "bpe-bytelevel").
	Tokenizer string `json:"tokenizer,omitempty"`
	// Lang is the language the model is the default for, if any.
	Lang string `json:"lang,omitempty"`
	// Precision is the encoder's build precision: "fp32", "fp16" or
	// "int8" (modelspec.Precision; "" in manifests written before
	// precisions were recorded: fp32).
	Precision string `json:"precision,omitempty"`
	// Baseline holds the rescale baseline for Layer, when one is known.
	Baseline *Baseline `json:"baseline,omitempty"`
	// BaselineSource says where Baseline came from.
	BaselineSource string `json:"baseline_source,omitempty"`
	// Baselines holds the baseline for Layer per language, for models
	// (like mBERT) the reference publishes baselines for in several
	// languages. Baseline/Lang stay the entry for the model's own language.
	Baselines map[string]Baseline `json:"baselines,omitempty"`
	// Synthetic is true for random-weight models made by `models synth`.
	Synthetic bool `json:"synthetic,omitempty"`
}

// Source records the checkpoint an encoder was built from.
type Source struct {
	Repo     string `json:"repo,omitempty"`
	Revision string `json:"revision,omitempty"`
	// Files maps each input file name to its sha256 (hex).
	Files map[string]string `json:"files,omitempty"`
}

// Baseline is the rescale baseline b for precision, recall and F.
type Baseline = modelspec.Baseline

// ReadManifest reads dir/bertbench.json. A folder without one gives
// (nil, nil): the manifest is optional.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading model manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, asInput(fmt.Errorf("%s: invalid JSON: %w (fix the file or delete it to use the folder's name and defaults)", path, err))
	}
	if m.Layer < 0 {
		return nil, asInput(fmt.Errorf("%s: layer %d is negative", path, m.Layer))
	}
	return &m, nil
}

// WriteManifest writes m to dir/bertbench.json, atomically (a temporary
// file renamed into place; see internal/outfile).
func WriteManifest(dir string, m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding model manifest: %w", err)
	}
	if err := outfile.WriteFile(filepath.Join(dir, ManifestFile), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing model manifest: %w", err)
	}
	return nil
}
