package models

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
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
	rows, err := ParseBaselines(bytes.NewReader(data), file)
	if err != nil {
		return nil, "", err
	}
	if layer < 0 || layer >= len(rows) {
		return nil, "", fmt.Errorf("%s: no row for layer %d (rows 0..%d)", file, layer, len(rows)-1)
	}
	b := rows[layer]
	return &b, "bert_score 0.3.13 rescale_baseline/" + strings.ToLower(lang) + "/" + model + ".tsv, layer " + strconv.Itoa(layer), nil
}

// ParseBaselines reads a baseline file in the reference's format (header
// LAYER,P,R,F, then one comma-separated row per layer from 0) and returns
// the rows indexed by layer. name is used in error messages.
func ParseBaselines(r io.Reader, name string) ([]Baseline, error) {
	sc := bufio.NewScanner(r)
	var rows []Baseline
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		f := strings.Split(text, ",")
		if line == 1 {
			if len(f) != 4 || !strings.EqualFold(strings.TrimSpace(f[0]), "LAYER") {
				return nil, fmt.Errorf("%s:1: header %q, want LAYER,P,R,F", name, text)
			}
			continue
		}
		if len(f) != 4 {
			return nil, fmt.Errorf("%s:%d: %d fields, want 4 (LAYER,P,R,F)", name, line, len(f))
		}
		layer, err := strconv.Atoi(strings.TrimSpace(f[0]))
		if err != nil || layer != len(rows) {
			return nil, fmt.Errorf("%s:%d: layer %q, want %d (rows must run 0, 1, 2, ...)", name, line, f[0], len(rows))
		}
		var v [3]float64
		for i := range v {
			if v[i], err = strconv.ParseFloat(strings.TrimSpace(f[i+1]), 64); err != nil {
				return nil, fmt.Errorf("%s:%d: field %d: %w", name, line, i+2, err)
			}
			if v[i] >= 1 {
				return nil, fmt.Errorf("%s:%d: baseline %v must be below 1", name, line, v[i])
			}
		}
		rows = append(rows, Baseline{P: v[0], R: v[1], F: v[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no baseline rows", name)
	}
	return rows, nil
}
