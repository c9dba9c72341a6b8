package models

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/bertbench/bertbench/modelspec"
)

// DefaultModel is used with neither a model nor a language given.
const DefaultModel = "bert-base-multilingual-cased"

//go:embed known.json
var knownJSON []byte

//go:embed baselines
var baselineFS embed.FS

// BaselineLicense names the licence of the embedded baselines.
const BaselineLicense = "MIT (bert_score, Tianyi Zhang et al.; see models/baselines/LICENSE)"

// KnownModel is one entry of the table of models bertbench knows by name.
type KnownModel struct {
	Name         string `json:"name"`
	Repo         string `json:"repo"`
	Revision     string `json:"revision"`
	Architecture string `json:"architecture"`
	// Layer is the default number of layers kept (the reference's choice).
	Layer       int    `json:"layer"`
	TotalLayers int    `json:"total_layers"`
	HiddenSize  int    `json:"hidden_size"`
	Tokenizer   string `json:"tokenizer"`
}

type knownTable struct {
	Models       []KnownModel      `json:"models"`
	LangDefaults map[string]string `json:"lang_defaults"`
}

// loadKnown parses the embedded table once; the result is never modified.
var loadKnown = sync.OnceValues(func() (*knownTable, error) {
	var t knownTable
	if err := json.Unmarshal(knownJSON, &t); err != nil {
		return nil, fmt.Errorf("embedded known.json: %w", err)
	}
	return &t, nil
})

// knownTableOrEmpty returns the parsed table; the table is compiled in and
// TestKnownTable checks it parses, so the empty fallback is never seen in a
// released binary.
func knownTableOrEmpty() *knownTable {
	t, err := loadKnown()
	if err != nil {
		return &knownTable{LangDefaults: map[string]string{"*": DefaultModel}}
	}
	return t
}

// Known lists the known models, sorted by name.
func Known() []KnownModel {
	t := knownTableOrEmpty()
	out := append([]KnownModel(nil), t.Models...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LookupKnown finds a known model by its bare name
// ("bert-base-multilingual-cased") or Hub repo id
// ("google-bert/bert-base-multilingual-cased"), case-insensitively.
func LookupKnown(name string) (KnownModel, bool) {
	for _, m := range knownTableOrEmpty().Models {
		if strings.EqualFold(m.Name, name) || strings.EqualFold(m.Repo, name) {
			return m, true
		}
	}
	return KnownModel{}, false
}

// DefaultModelForLang returns the reference's default model for a language:
// bert-base-chinese for zh, roberta-large for en, and
// bert-base-multilingual-cased for any other language or none.
func DefaultModelForLang(lang string) string {
	t := knownTableOrEmpty()
	if lang == "" {
		return DefaultModel
	}
	if m, ok := t.LangDefaults[strings.ToLower(lang)]; ok {
		return m
	}
	return t.LangDefaults["*"]
}

// BaselineLangs lists the languages with an embedded baseline for model.
func BaselineLangs(model string) []string {
	var out []string
	entries, _ := fs.ReadDir(baselineFS, "baselines")
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := fs.Stat(baselineFS, path.Join("baselines", e.Name(), model+".tsv")); err == nil {
			out = append(out, e.Name())
		}
	}
	return out
}

// KnownBaseline returns the reference's rescale baseline for model in lang
// at layer, with a line naming its source. It returns (nil, "", nil) when
// the reference publishes none.
func KnownBaseline(model, lang string, layer int) (*Baseline, string, error) {
	if lang == "" || strings.ContainsAny(lang, `/\.`) || strings.ContainsAny(model, `/\`) {
		return nil, "", nil
	}
	file := path.Join("baselines", strings.ToLower(lang), model+".tsv")
	data, err := baselineFS.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	rows, err := modelspec.ParseBaselines(bytes.NewReader(data), file)
	if err != nil {
		return nil, "", err
	}
	b, ok := rows[layer]
	if !ok {
		return nil, "", fmt.Errorf("%s: no row for layer %d (%d rows)", file, layer, len(rows))
	}
	return &b, "bert_score 0.3.13 rescale_baseline/" + strings.ToLower(lang) + "/" + model + ".tsv, layer " + strconv.Itoa(layer), nil
}
