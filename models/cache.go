package models

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bertbench/bertbench/internal/cachedir"
	"github.com/bertbench/bertbench/models/hub"
	"github.com/bertbench/bertbench/models/safetensors"
	"github.com/bertbench/bertbench/modelspec"
)

// EnvCache overrides the cache root (shared with the response cache).
const EnvCache = cachedir.Env

// DefaultCacheDir is bertbench's cache root: $BERTBENCH_CACHE, else the
// user cache folder ($XDG_CACHE_HOME or ~/.cache on Linux) + "/bertbench".
func DefaultCacheDir() (string, error) { return cachedir.Root() }

// Cache holds pulled checkpoints and the encoders built from them:
//
//	<Root>/models/<name>@<revision>/        model.onnx, tokenizer.json, bertbench.json
//	<Root>/checkpoints/<repo>/<revision>/   the downloaded Hub files
//
// Everything under it works offline once pulled.
type Cache struct {
	Root string
	// Hub downloads; nil means hub.NewClient() (HF_ENDPOINT, HF_TOKEN).
	Hub *hub.Client
	// Log receives progress messages; nil means silent.
	Log io.Writer
	// Producer is recorded in built models (bertbench's version).
	Producer string
}

// NewCache returns a cache rooted at dir.
func NewCache(dir string) *Cache { return &Cache{Root: dir} }

// CachedModel is one built encoder in the cache.
type CachedModel struct {
	// Name and Revision as pulled ("bert-base-multilingual-cased", "main").
	Name, Revision string
	Dir            string
	Manifest       *Manifest
	// Size is the folder's size in bytes.
	Size int64
	// Problem is set when the folder's manifest cannot be read (Manifest
	// is then nil): the model is still listed, so it can be removed.
	Problem error
}

// repo is the Hub repo the model was pulled from: the manifest's, else the
// known model's, else its name.
func (m *CachedModel) repo() string {
	if m.Manifest != nil && m.Manifest.Source != nil && m.Manifest.Source.Repo != "" {
		return m.Manifest.Source.Repo
	}
	if k, ok := LookupKnown(m.Name); ok {
		return k.Repo
	}
	return m.Name
}

// Ref is a parsed NAME[@REVISION].
type Ref struct {
	Name     string
	Revision string // "" when not given
}

// ParseRef splits NAME[@REVISION].
func ParseRef(spec string) (Ref, error) {
	name, rev, _ := strings.Cut(spec, "@")
	name = strings.TrimSpace(name)
	if name == "" {
		return Ref{}, asInput(fmt.Errorf("model %q: empty name", spec))
	}
	if strings.Contains(name, "..") || strings.HasPrefix(name, "/") || strings.Count(name, "/") > 1 {
		return Ref{}, asInput(fmt.Errorf("model %q: want NAME or OWNER/NAME, optionally @REVISION", spec))
	}
	return Ref{Name: name, Revision: rev}, nil
}

// String writes the reference back as NAME or NAME@REVISION.
func (r Ref) String() string {
	if r.Revision == "" {
		return r.Name
	}
	return r.Name + "@" + r.Revision
}

func escape(s string) string { return url.PathEscape(strings.ReplaceAll(s, "/", "--")) }

func (c *Cache) modelDir(name, rev string) string {
	return filepath.Join(c.Root, "models", escape(name)+"@"+escape(rev))
}

func (c *Cache) checkpointDir(repo, rev string) string {
	return filepath.Join(c.Root, "checkpoints", escape(repo), escape(rev))
}

// canonical maps a known model's repo id to its bare name.
func canonical(name string) string {
	if k, ok := LookupKnown(name); ok {
		return k.Name
	}
	return name
}

// List returns the cached models, sorted by name and revision.
func (c *Cache) List() ([]CachedModel, error) {
	entries, err := os.ReadDir(filepath.Join(c.Root, "models"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []CachedModel
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		n, r, ok := strings.Cut(e.Name(), "@")
		if !ok {
			continue
		}
		name, err1 := url.PathUnescape(n)
		rev, err2 := url.PathUnescape(r)
		if err1 != nil || err2 != nil {
			continue
		}
		dir := filepath.Join(c.Root, "models", e.Name())
		m, err := ReadManifest(dir)
		out = append(out, CachedModel{Name: strings.ReplaceAll(name, "--", "/"), Revision: rev, Dir: dir, Manifest: m, Size: DirSize(dir), Problem: err})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Revision < out[j].Revision
	})
	return out, nil
}

// DirSize is the total size of the files under dir (0 when unreadable).
func DirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// Find returns the cached model for NAME[@REVISION] (a known model's repo
// id works as its name). Without a revision, the only cached revision is
// used, or "main" among several.
func (c *Cache) Find(spec string) (*CachedModel, error) {
	ref, err := ParseRef(spec)
	if err != nil {
		return nil, err
	}
	name := canonical(ref.Name)
	all, err := c.List()
	if err != nil {
		return nil, err
	}
	var hits []CachedModel
	for _, m := range all {
		if m.Name == name && (ref.Revision == "" || m.Revision == ref.Revision) {
			hits = append(hits, m)
		}
	}
	switch {
	case len(hits) == 1:
		return &hits[0], nil
	case len(hits) > 1:
		for i := range hits {
			if hits[i].Revision == "main" {
				return &hits[i], nil
			}
		}
		var revs []string
		for _, h := range hits {
			revs = append(revs, h.Revision)
		}
		return nil, asInput(fmt.Errorf("model %s is cached at several revisions (%s): name one as %s@REVISION", name, strings.Join(revs, ", "), name))
	}
	return nil, nil
}

// Resolve turns the --model/--lang pair of `bertbench score` into a model
// folder. spec may be a folder path, a cached model NAME or NAME@REVISION
// (a known model's Hub repo id also works), or empty: then the reference's
// default model for lang (bert-base-multilingual-cased when lang is empty
// too). A known model that is not cached yet gives an error that says to
// run `bertbench models pull NAME`. Nothing is downloaded here.
func (c *Cache) Resolve(ctx context.Context, spec, lang string) (*Resolved, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if spec == "" {
		spec = DefaultModelForLang(lang)
	}
	if st, err := os.Stat(spec); err == nil && st.IsDir() {
		return ResolveDir(spec)
	}
	if looksLikePath(spec) {
		return nil, asInput(fmt.Errorf("model folder %s does not exist", spec))
	}
	cm, err := c.Find(spec)
	if err != nil {
		return nil, err
	}
	if cm != nil {
		return ResolveDir(cm.Dir)
	}
	ref, _ := ParseRef(spec)
	if k, ok := LookupKnown(ref.Name); ok {
		return nil, asInput(fmt.Errorf("model %s is not downloaded yet: run `bertbench models pull %s` once (it needs internet; afterwards scoring works offline; cache: %s)", k.Name, ref.String(), c.Root))
	}
	var names []string
	for _, k := range Known() {
		names = append(names, k.Name)
	}
	return nil, asInput(fmt.Errorf("model %q is not a folder, not in the cache (%s) and not a known model (%s); pull a Hub repo with `bertbench models pull OWNER/NAME --layer N` or build a folder with `bertbench models import`", spec, c.Root, strings.Join(names, ", ")))
}

func looksLikePath(s string) bool {
	return strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "~") ||
		strings.ContainsRune(s, filepath.Separator) && strings.Count(s, "/") != 1 ||
		strings.HasSuffix(s, string(filepath.Separator))
}

// Remove deletes a cached model and its downloaded checkpoint; it returns
// the folders removed.
func (c *Cache) Remove(spec string) ([]string, error) {
	cm, err := c.Find(spec)
	if err != nil {
		return nil, err
	}
	if cm == nil {
		return nil, asInput(fmt.Errorf("model %s is not in the cache (%s); `bertbench models list` shows what is", spec, c.Root))
	}
	repo := cm.repo()
	unlock, err := tryLock(c.lockPath(repo, cm.Revision))
	if errors.Is(err, errLocked) {
		return nil, fmt.Errorf("model %s is being pulled by another bertbench right now: try again when it is done", spec)
	}
	if err != nil {
		return nil, err
	}
	defer unlock()
	removed := []string{cm.Dir}
	if err := os.RemoveAll(cm.Dir); err != nil {
		return nil, err
	}
	ck := c.checkpointDir(repo, cm.Revision)
	if _, err := os.Stat(ck); err == nil {
		if err := os.RemoveAll(ck); err != nil {
			return removed, err
		}
		removed = append(removed, ck)
	}
	return removed, nil
}

// PullOptions controls Pull.
type PullOptions struct {
	// Layer to cut at; negative = the known model's default.
	Layer int
	// Precision is the encoder's (see ImportOptions.Precision).
	Precision modelspec.Precision
}

// Pull downloads NAME[@REVISION] from the Hub (a known name, or any
// OWNER/NAME repo of a supported architecture with an explicit layer),
// builds its encoder and stores both in the cache. Files already downloaded
// and verified are not fetched again; interrupted downloads resume.
func (c *Cache) Pull(ctx context.Context, spec string, opts PullOptions) (*Resolved, error) {
	ref, err := ParseRef(spec)
	if err != nil {
		return nil, err
	}
	name, repo, rev := ref.Name, ref.Name, ref.Revision
	if k, ok := LookupKnown(ref.Name); ok {
		name, repo = k.Name, k.Repo
		if rev == "" {
			rev = k.Revision
		}
	} else if !strings.Contains(ref.Name, "/") {
		return nil, asInput(fmt.Errorf("unknown model %q: give its Hub repo id as OWNER/NAME (and --layer N), or one of the known names (`bertbench models list --known`)", ref.Name))
	} else if opts.Layer < 0 {
		return nil, asInput(fmt.Errorf("%s is not a known model, so there is no default layer: give --layer N", ref.Name))
	}
	if rev == "" {
		rev = "main"
	}
	client := c.Hub
	if client == nil {
		client = hub.NewClient()
	}
	unlock, err := c.lock(ctx, c.lockPath(repo, rev), repo+"@"+rev)
	if err != nil {
		return nil, err
	}
	defer unlock()
	ckDir := c.checkpointDir(repo, rev)
	c.logf("pulling %s@%s from %s\n", repo, rev, client.Endpoint)
	var commit string
	verified := map[string]string{} // sha256 of the files the Hub gave an LFS id for
	get := func(file string) error {
		info, err := client.Download(ctx, repo, rev, file, filepath.Join(ckDir, file))
		if info.Commit != "" {
			commit = info.Commit
		}
		if err == nil && info.SHA256 != "" && !info.Offline {
			verified[file] = info.SHA256
		}
		return err
	}
	for _, f := range []string{ConfigFile, TokenizerFile} {
		if err := get(f); err != nil {
			return nil, err
		}
	}
	if err := get(safetensors.SingleFile); errors.Is(err, hub.ErrNotFound) {
		if err := get(safetensors.IndexFile); errors.Is(err, hub.ErrNotFound) {
			if _, perr := client.Stat(ctx, repo, rev, "pytorch_model.bin"); perr == nil {
				return nil, asInput(fmt.Errorf("%s@%s has only pytorch_model.bin, no safetensors weights: bertbench does not load pickled PyTorch files (they can run code); use a revision with model.safetensors, or convert it and run `bertbench models import`", repo, rev))
			}
			return nil, asInput(fmt.Errorf("%s@%s has no %s or %s", repo, rev, safetensors.SingleFile, safetensors.IndexFile))
		} else if err != nil {
			return nil, err
		}
		shards, err := safetensors.ReadIndex(filepath.Join(ckDir, safetensors.IndexFile))
		if err != nil {
			return nil, err
		}
		for _, s := range shards {
			if err := get(s); err != nil {
				return nil, err
			}
		}
	} else if err != nil {
		return nil, err
	}

	// Each precision has its own folder (name-fp16, name-int8), so
	// pulling one never replaces another.
	final := c.modelDir(name+opts.Precision.Suffix(), rev)
	// Build in a hidden folder beside the final one (List skips names
	// starting with "."), then swap it in by renames.
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(final), ".building-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // gone after the rename; removes a failed build
	c.logf("building the encoder ...\n")
	revision := rev
	if commit != "" && commit != rev {
		revision = rev + " (" + commit + ")"
	}
	importName := name
	if _, known := LookupKnown(name); !known {
		// (a known name gets its suffix from Import)
		importName += opts.Precision.Suffix()
	}
	m, err := Import(ctx, ckDir, tmp, ImportOptions{Layer: opts.Layer, Precision: opts.Precision, Name: importName, Repo: repo, Revision: revision, Producer: c.Producer, KnownSHA256: verified})
	if err != nil {
		return nil, err
	}
	if err := replaceDir(tmp, final); err != nil {
		return nil, err
	}
	c.logf("built %s at layer %d of %d in %s\n", m.Name, m.Layer, m.TotalLayers, final)
	return ResolveDir(final)
}

// replaceDir moves the folder src to dst, replacing any folder there: the
// old one is first moved aside, so dst is missing only between two renames
// and never half written.
func replaceDir(src, dst string) error {
	old := ""
	if _, err := os.Stat(dst); err == nil {
		old = filepath.Join(filepath.Dir(dst), ".old-"+filepath.Base(src))
		if err := os.Rename(dst, old); err != nil {
			return fmt.Errorf("replacing %s: %w", dst, err)
		}
	}
	if err := os.Rename(src, dst); err != nil {
		if old != "" {
			os.Rename(old, dst)
		}
		return fmt.Errorf("replacing %s: %w", dst, err)
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("removing the previous %s: %w", dst, err)
		}
	}
	return nil
}

func (c *Cache) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format, args...)
	}
}
