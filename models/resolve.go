package models

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bertbench/bertbench/modelspec"
)

// Files every usable model folder has.
const (
	ONNXFile      = "model.onnx"
	TokenizerFile = "tokenizer.json"
)

// Resolved is a model folder ready for scoring.
type Resolved struct {
	Dir      string
	Manifest *Manifest // nil when the folder has none
	// Name stands for the model in result hashes: the manifest's name, or
	// the folder's base name.
	Name string
}

// ResolveDir checks that dir is a model folder and reads its manifest.
func ResolveDir(dir string) (*Resolved, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, asInput(fmt.Errorf("model %s: %w", dir, err))
	}
	if !st.IsDir() {
		return nil, asInput(fmt.Errorf("model %s: not a folder (want a folder with %s and %s)", dir, ONNXFile, TokenizerFile))
	}
	for _, f := range []string{ONNXFile, TokenizerFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return nil, asInput(fmt.Errorf("model %s: missing %s (a model folder needs %s and %s; build one with `bertbench models import`)", dir, f, ONNXFile, TokenizerFile))
		}
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	name := filepath.Base(abs)
	if m != nil && m.Name != "" {
		name = m.Name
	}
	return &Resolved{Dir: dir, Manifest: m, Name: name}, nil
}

// BaselineFor returns the rescale baseline for scoring in lang with this
// model at its manifest's layer, and a line naming its source: the
// manifest's per-language table, then its own-language entry, then the
// embedded reference table for a known model. It returns (nil, "", nil)
// when none is known; callers that were asked to rescale should then say so.
func (r *Resolved) BaselineFor(lang string) (*Baseline, string, error) {
	m := r.Manifest
	if m == nil {
		return nil, "", nil
	}
	lang = strings.ToLower(lang)
	if lang == "" {
		lang = m.Lang
	}
	if b, ok := m.Baselines[lang]; ok {
		src := m.BaselineSource
		if m.Lang != lang {
			// The source names the manifest's own language's file (or a
			// <lang> template): name the file this entry came from.
			src = strings.ReplaceAll(src, "<lang>", lang)
			if m.Lang != "" {
				src = strings.Replace(src, "/"+m.Lang+"/", "/"+lang+"/", 1)
			}
		}
		return &b, src, nil
	}
	if m.Baseline != nil && (lang == "" || lang == m.Lang) {
		return m.Baseline, m.BaselineSource, nil
	}
	if m.Synthetic {
		return nil, "", nil
	}
	if k, ok := LookupKnown(trimPrecisionSuffix(m.Name)); ok {
		return KnownBaseline(k.Name, lang, m.Layer)
	}
	return nil, "", nil
}

// trimPrecisionSuffix drops a build precision's suffix ("-fp16", "-int8")
// from a model name: the baselines are the fp32 model's.
func trimPrecisionSuffix(name string) string {
	for _, p := range modelspec.Precisions {
		if sfx := p.Suffix(); sfx != "" && strings.HasSuffix(name, sfx) {
			return strings.TrimSuffix(name, sfx)
		}
	}
	return name
}
