package models_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/models/hub"
	"github.com/bertbench/bertbench/models/safetensors"
	"github.com/bertbench/bertbench/modelspec"
)

// fakeHub serves repos in the Hugging Face Hub's URL layout:
// HEAD/GET {repo}/resolve/{rev}/{file}; LFS files (*.safetensors, *.bin)
// redirect to /lfs/{sha256} with X-Linked-Etag and X-Linked-Size, as the
// Hub does. Fault injection: cut a download off half way, serve corrupt
// bytes, require a token.
type fakeHub struct {
	mu      sync.Mutex
	repos   map[string]map[string][]byte
	blobs   map[string][]byte
	tokens  map[string]string // repo -> required bearer token
	cut     map[string]bool   // file name -> cut the next full GET half way
	corrupt map[string]bool   // file name -> corrupt the next GET
	log     []string
	stopped bool
}

// finish tells pullsDone that every pull has returned.
func (h *fakeHub) finish() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
}

// pullsDone reports whether finish was called.
func (h *fakeHub) pullsDone() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stopped
}

func newFakeHub() *fakeHub {
	return &fakeHub{repos: map[string]map[string][]byte{}, blobs: map[string][]byte{}, tokens: map[string]string{}, cut: map[string]bool{}, corrupt: map[string]bool{}}
}

func (h *fakeHub) add(repo string, files map[string][]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.repos[repo] = files
}

func (h *fakeHub) addFixture(t *testing.T, repo, fixture string, files ...string) {
	t.Helper()
	if len(files) == 0 {
		files = []string{"config.json", "tokenizer.json", "model.safetensors"}
	}
	m := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(fixtureDir(fixture), f))
		if err != nil {
			t.Fatal(err)
		}
		m[f] = data
	}
	h.add(repo, m)
}

func (h *fakeHub) requests(substr string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, l := range h.log {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

func isLFS(file string) bool {
	return strings.HasSuffix(file, ".safetensors") || strings.HasSuffix(file, ".bin")
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.log = append(h.log, fmt.Sprintf("%s %s range=%q", r.Method, r.URL.Path, r.Header.Get("Range")))
	h.mu.Unlock()
	if blob, ok := strings.CutPrefix(r.URL.Path, "/lfs/"); ok {
		sha, file, _ := strings.Cut(blob, "/")
		h.mu.Lock()
		data := h.blobs[sha]
		cut := h.cut[file] && r.Header.Get("Range") == "" && r.Method == http.MethodGet
		corrupt := h.corrupt[file] && r.Method == http.MethodGet
		if cut {
			delete(h.cut, file)
		}
		if corrupt {
			delete(h.corrupt, file)
		}
		h.mu.Unlock()
		if cut {
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.WriteHeader(http.StatusOK)
			w.Write(data[:len(data)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // drop the connection mid-body
		}
		if corrupt {
			data = append([]byte(nil), data...)
			data[len(data)-3] ^= 0xff
		}
		http.ServeContent(w, r, file, time.Time{}, bytes.NewReader(data))
		return
	}
	repo, rest, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/resolve/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	rev, file, _ := strings.Cut(rest, "/")
	h.mu.Lock()
	files, known := h.repos[repo]
	token := h.tokens[repo]
	h.mu.Unlock()
	if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
		w.Header().Set("X-Error-Code", "GatedRepo")
		http.Error(w, "Access to model "+repo+" is restricted.", http.StatusUnauthorized)
		return
	}
	if !known {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(w, "Repository not found", http.StatusNotFound)
		return
	}
	if rev != "main" {
		w.Header().Set("X-Error-Code", "RevisionNotFound")
		http.Error(w, "Invalid rev id: "+rev, http.StatusNotFound)
		return
	}
	data, ok := files[file]
	if !ok {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	w.Header().Set("X-Repo-Commit", "0123456789abcdef0123456789abcdef01234567")
	if isLFS(file) {
		sum := sha256.Sum256(data)
		sha := hex.EncodeToString(sum[:])
		h.mu.Lock()
		h.blobs[sha] = data
		h.mu.Unlock()
		w.Header().Set("X-Linked-Etag", `"`+sha+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(data)))
		http.Redirect(w, r, "/lfs/"+sha+"/"+file, http.StatusFound)
		return
	}
	blob := sha1.New() // the Hub's ETag for a file kept in git: its git blob id
	fmt.Fprintf(blob, "blob %d\x00", len(data))
	blob.Write(data)
	w.Header().Set("ETag", `"`+hex.EncodeToString(blob.Sum(nil))+`"`)
	h.mu.Lock()
	corrupt := h.corrupt[file] && r.Method == http.MethodGet
	if corrupt {
		delete(h.corrupt, file)
	}
	h.mu.Unlock()
	if corrupt {
		data = bytes.Replace(data, []byte("hidden"), []byte("HIDDEN"), 1)
	}
	http.ServeContent(w, r, file, time.Time{}, bytes.NewReader(data))
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// TestPullFromHub runs `models pull` end to end against a real HTTP server
// in the Hub's layout.
func TestPullFromHub(t *testing.T) {
	fh := newFakeHub()
	srv := httptest.NewServer(fh)
	defer srv.Close()
	var logBuf bytes.Buffer
	cache := &models.Cache{Root: t.TempDir(), Hub: &hub.Client{Endpoint: srv.URL, HTTP: srv.Client(), Progress: &logBuf}, Log: &logBuf}
	ctx := context.Background()
	fixtureSum := fileSum(t, filepath.Join(fixtureDir("tiny-mbert"), "model.safetensors"))

	t.Run("cut off and resumed", func(t *testing.T) {
		fh.addFixture(t, "test-org/tiny-mbert", "tiny-mbert")
		fh.cut["model.safetensors"] = true
		_, err := cache.Pull(ctx, "test-org/tiny-mbert", models.PullOptions{Layer: 3})
		if err == nil {
			t.Fatal("pull with a dropped connection succeeded")
		}
		part := filepath.Join(cache.Root, "checkpoints", "test-org--tiny-mbert", "main", "model.safetensors.part")
		st, serr := os.Stat(part)
		if serr != nil || st.Size() == 0 {
			t.Fatalf("no partial download kept (%v): %v", serr, err)
		}
		half := st.Size()
		r, err := cache.Pull(ctx, "test-org/tiny-mbert", models.PullOptions{Layer: 3})
		if err != nil {
			t.Fatal(err)
		}
		if got := fh.requests(fmt.Sprintf("model.safetensors range=\"bytes=%d-\"", half)); len(got) != 2 { // the resolve URL and the LFS redirect
			t.Errorf("want one GET resuming at byte %d, log: %v", half, fh.requests("model.safetensors"))
		}
		if got := r.Manifest.Source.Files["model.safetensors"]; got != fixtureSum {
			t.Errorf("manifest sha256 %s, want %s", got, fixtureSum)
		}
		if r.Manifest.Layer != 3 || r.Manifest.Source.Repo != "test-org/tiny-mbert" || !strings.Contains(r.Manifest.Source.Revision, "0123456789abcdef") {
			t.Errorf("manifest %+v %+v", r.Manifest, r.Manifest.Source)
		}
		if _, err := models.ValidateONNX(r.Dir); err != nil {
			t.Error(err)
		}
	})

	t.Run("corrupt download refetched", func(t *testing.T) {
		fh.addFixture(t, "test-org/tiny-roberta", "tiny-roberta")
		fh.corrupt["model.safetensors"] = true
		logBuf.Reset()
		if _, err := cache.Pull(ctx, "test-org/tiny-roberta", models.PullOptions{Layer: 2}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logBuf.String(), "does not match") {
			t.Errorf("no word of the corrupt download in the log:\n%s", logBuf.String())
		}
		if n := len(fh.requests("GET /lfs/")); n < 2 {
			t.Errorf("%d LFS GETs, want a refetch", n)
		}
	})

	t.Run("corrupt cached file detected", func(t *testing.T) {
		p := filepath.Join(cache.Root, "checkpoints", "test-org--tiny-mbert", "main", "model.safetensors")
		data, _ := os.ReadFile(p)
		data[100] ^= 0xff
		os.WriteFile(p, data, 0o644)
		before := len(fh.requests("GET /lfs/"))
		r, err := cache.Pull(ctx, "test-org/tiny-mbert", models.PullOptions{Layer: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(fh.requests("GET /lfs/")) != before+1 {
			t.Error("the damaged file was not fetched again")
		}
		if fileSum(t, p) != fixtureSum || r.Manifest.Source.Files["model.safetensors"] != fixtureSum {
			t.Error("the damaged file was not replaced")
		}
	})

	t.Run("each precision in its own folder", func(t *testing.T) {
		cache := &models.Cache{Root: t.TempDir(), Hub: cache.Hub, Log: &logBuf}
		for _, p := range []modelspec.Precision{modelspec.FP32, modelspec.INT8, modelspec.FP16} {
			if p == modelspec.FP32 {
				if _, err := cache.Pull(ctx, "test-org/tiny-mbert", models.PullOptions{Layer: 3}); err != nil {
					t.Fatal(err)
				}
				continue
			}
			r, err := cache.Pull(ctx, "test-org/tiny-mbert", models.PullOptions{Layer: 3, Precision: p})
			if err != nil {
				t.Fatal(err)
			}
			want := "test-org/tiny-mbert-" + string(p)
			if r.Manifest.Precision != string(p) || r.Manifest.Name != want || filepath.Base(r.Dir) != "test-org--tiny-mbert-"+string(p)+"@main" {
				t.Errorf("%s: manifest %s %s in %s", p, r.Manifest.Name, r.Manifest.Precision, r.Dir)
			}
			found, err := cache.Resolve(ctx, want, "")
			if err != nil || found.Dir != r.Dir {
				t.Errorf("%s: resolve %s: %v, %v", p, want, found, err)
			}
		}
		fp32, err := cache.Resolve(ctx, "test-org/tiny-mbert", "")
		if err != nil || fp32.Manifest.Precision != "fp32" || fp32.Manifest.Name != "test-org/tiny-mbert" {
			t.Errorf("the fp32 model after pulling int8 and fp16: %+v, %v", fp32, err)
		}
	})

	t.Run("up to date is not refetched", func(t *testing.T) {
		before := len(fh.requests("GET "))
		if _, err := cache.Pull(ctx, "test-org/tiny-mbert", models.PullOptions{Layer: 3}); err != nil {
			t.Fatal(err)
		}
		if after := len(fh.requests("GET ")); after != before {
			t.Errorf("%d GETs for a complete cache", after-before)
		}
	})

	t.Run("404 for a wrong name", func(t *testing.T) {
		_, err := cache.Pull(ctx, "test-org/no-such-model", models.PullOptions{Layer: 1})
		if !errors.Is(err, hub.ErrNotFound) || !strings.Contains(err.Error(), "test-org/no-such-model") {
			t.Errorf("err = %v", err)
		}
		_, err = cache.Pull(ctx, "test-org/tiny-mbert@v9", models.PullOptions{Layer: 1})
		if !errors.Is(err, hub.ErrNotFound) || !strings.Contains(err.Error(), `no revision "v9"`) {
			t.Errorf("err = %v", err)
		}
		_, err = cache.Pull(ctx, "no-such-model", models.PullOptions{Layer: -1})
		if err == nil || !strings.Contains(err.Error(), "OWNER/NAME") {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("401 gated repo", func(t *testing.T) {
		fh.addFixture(t, "gated-org/tiny-mbert", "tiny-mbert")
		fh.tokens["gated-org/tiny-mbert"] = "hf_secret"
		_, err := cache.Pull(ctx, "gated-org/tiny-mbert", models.PullOptions{Layer: 1})
		if !errors.Is(err, hub.ErrUnauthorized) || !strings.Contains(err.Error(), "HF_TOKEN") {
			t.Errorf("err = %v", err)
		}
		authed := *cache
		client := *cache.Hub
		client.Token = "hf_wrong"
		authed.Hub = &client
		_, err = authed.Pull(ctx, "gated-org/tiny-mbert", models.PullOptions{Layer: 1})
		if err == nil || !strings.Contains(err.Error(), "HF_TOKEN was refused") {
			t.Errorf("wrong token: err = %v", err)
		}
		client.Token = "hf_secret"
		if _, err := authed.Pull(ctx, "gated-org/tiny-mbert", models.PullOptions{Layer: 1}); err != nil {
			t.Errorf("with the token: %v", err)
		}
	})

	t.Run("pytorch only", func(t *testing.T) {
		files := map[string][]byte{"pytorch_model.bin": []byte("not a pickle")}
		for _, f := range []string{"config.json", "tokenizer.json"} {
			files[f], _ = os.ReadFile(filepath.Join(fixtureDir("tiny-mbert"), f))
		}
		fh.add("test-org/old-model", files)
		_, err := cache.Pull(ctx, "test-org/old-model", models.PullOptions{Layer: 1})
		if err == nil || !strings.Contains(err.Error(), "only pytorch_model.bin") {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("sharded", func(t *testing.T) {
		files := shardFixture(t, "tiny-bert-uncased")
		fh.add("test-org/sharded", files)
		r, err := cache.Pull(ctx, "test-org/sharded", models.PullOptions{Layer: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Manifest.Source.Files) != 5 {
			t.Errorf("files %v", r.Manifest.Source.Files)
		}
	})

	t.Run("known name, then offline by language", func(t *testing.T) {
		fh.addFixture(t, "google-bert/bert-base-chinese", "tiny-mbert")
		if _, err := cache.Pull(ctx, "bert-base-chinese", models.PullOptions{Layer: 3}); err != nil {
			t.Fatal(err)
		}
		srv.Close() // everything after this works offline
		// Rebuilding at another layer uses the downloaded checkpoint.
		logBuf.Reset()
		if r, err := cache.Pull(ctx, "bert-base-chinese", models.PullOptions{Layer: 2}); err != nil || r.Manifest.Layer != 2 {
			t.Fatalf("offline rebuild: %v", err)
		}
		if !strings.Contains(logBuf.String(), "using the copy downloaded before") {
			t.Errorf("offline rebuild log:\n%s", logBuf.String())
		}
		if _, err := cache.Pull(ctx, "bert-base-chinese", models.PullOptions{Layer: 3}); err != nil {
			t.Fatal(err)
		}
		if _, err := cache.Pull(ctx, "test-org/never-downloaded", models.PullOptions{Layer: 1}); !errors.Is(err, hub.ErrUnreachable) {
			t.Errorf("offline pull of a new model: %v", err)
		}
		r, err := cache.Resolve(ctx, "", "zh")
		if err != nil {
			t.Fatal(err)
		}
		if r.Manifest.Name != "bert-base-chinese-L3" || r.Manifest.Source.Repo != "google-bert/bert-base-chinese" || r.Manifest.Lang != "zh" {
			t.Errorf("resolved %+v", r.Manifest)
		}
		// The reference's zh baseline at the layer built.
		b, src, err := r.BaselineFor("zh")
		if err != nil || b == nil || !strings.Contains(src, "zh/bert-base-chinese.tsv") {
			t.Errorf("baseline %v %q %v", b, src, err)
		}
		for _, spec := range []string{"bert-base-chinese", "bert-base-chinese@main", "google-bert/bert-base-chinese", "test-org/tiny-mbert"} {
			if _, err := cache.Resolve(ctx, spec, ""); err != nil {
				t.Errorf("Resolve(%q): %v", spec, err)
			}
		}
		_, err = cache.Resolve(ctx, "", "")
		if err == nil || !strings.Contains(err.Error(), "bertbench models pull bert-base-multilingual-cased") {
			t.Errorf("uncached default: err = %v", err)
		}
		_, err = cache.Resolve(ctx, "nonsense-model", "")
		if err == nil || !strings.Contains(err.Error(), "not a known model") {
			t.Errorf("unknown: err = %v", err)
		}
		_, err = cache.Resolve(ctx, "./no/such/dir", "")
		if err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("missing folder: err = %v", err)
		}
		list, err := cache.List()
		if err != nil || len(list) != 5 {
			t.Fatalf("list: %d models, %v", len(list), err)
		}
		removed, err := cache.Remove("bert-base-chinese")
		if err != nil || len(removed) != 2 {
			t.Errorf("remove: %v %v", removed, err)
		}
		if _, err := cache.Resolve(ctx, "", "zh"); err == nil || !strings.Contains(err.Error(), "bertbench models pull bert-base-chinese") {
			t.Errorf("after rm: err = %v", err)
		}
	})
}

// shardFixture splits a fixture's weights into two safetensors shards with
// an index, returning the repo's files.
func shardFixture(t *testing.T, fixture string) map[string][]byte {
	t.Helper()
	ck, err := safetensors.OpenDir(fixtureDir(fixture))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	dir := t.TempDir()
	names := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}
	var shards [2][]safetensors.Tensor
	weightMap := map[string]string{}
	for i, n := range ck.Names() {
		data, info, err := ck.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		shards[i%2] = append(shards[i%2], safetensors.Tensor{Name: n, Shape: info.Shape, Data: data})
		weightMap[n] = names[i%2]
	}
	files := map[string][]byte{}
	for i, s := range shards {
		p := filepath.Join(dir, names[i])
		if err := safetensors.WriteFile(p, s); err != nil {
			t.Fatal(err)
		}
		files[names[i]], _ = os.ReadFile(p)
	}
	idx := filepath.Join(dir, "index.json")
	writeJSONFile(t, idx, map[string]any{"metadata": map[string]any{}, "weight_map": weightMap})
	files["model.safetensors.index.json"], _ = os.ReadFile(idx)
	for _, f := range []string{"config.json", "tokenizer.json"} {
		files[f], _ = os.ReadFile(filepath.Join(fixtureDir(fixture), f))
	}
	return files
}

// TestConcurrentPullsOfOneModel pulls one model from several goroutines
// into one cache (as from several shells): the cache lock makes them take
// turns, so the weights are downloaded once, every pull succeeds, and
// `models list` run meanwhile never sees a half-built folder.
func TestConcurrentPullsOfOneModel(t *testing.T) {
	fh := newFakeHub()
	fh.addFixture(t, "test-org/tiny-mbert", "tiny-mbert")
	srv := httptest.NewServer(fh)
	defer srv.Close()
	root := t.TempDir()
	ctx := context.Background()
	const pulls = 4
	var wg sync.WaitGroup
	errs := make([]error, pulls)
	for i := range pulls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A cache (and hub client) per goroutine, as separate processes have.
			cache := &models.Cache{Root: root, Hub: &hub.Client{Endpoint: srv.URL, HTTP: srv.Client()}}
			_, errs[i] = cache.Pull(ctx, "test-org/tiny-mbert", models.PullOptions{Layer: 2})
		}()
	}
	done := make(chan struct{})
	var listErr error
	go func() {
		defer close(done)
		cache := models.NewCache(root)
		for {
			list, err := cache.List()
			if err != nil {
				listErr = err
				return
			}
			for _, m := range list {
				if m.Manifest == nil || m.Revision != "main" {
					listErr = fmt.Errorf("list shows %+v", m)
					return
				}
			}
			if fh.pullsDone() {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	wg.Wait()
	fh.finish()
	<-done
	for i, err := range errs {
		if err != nil {
			t.Errorf("pull %d: %v", i, err)
		}
	}
	if listErr != nil {
		t.Errorf("list during the pulls: %v", listErr)
	}
	if n := len(fh.requests("GET /lfs/")); n != 1 {
		t.Errorf("the weights were downloaded %d times, want once", n)
	}
	r, err := models.NewCache(root).Resolve(ctx, "test-org/tiny-mbert", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := models.ValidateONNX(r.Dir); err != nil {
		t.Error(err)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "models"))
	if len(entries) != 1 {
		t.Errorf("models folder holds %v, want the one model", entries)
	}
}

// TestPullVerifiesGitFiles: config.json and tokenizer.json (kept in git, not
// LFS) are checked against the git blob id the Hub sends as their ETag: a
// download damaged in transit is fetched again, and a cached copy edited
// since is replaced.
func TestPullVerifiesGitFiles(t *testing.T) {
	fh := newFakeHub()
	fh.addFixture(t, "test-org/tiny-mbert", "tiny-mbert")
	srv := httptest.NewServer(fh)
	defer srv.Close()
	var log bytes.Buffer
	cache := &models.Cache{Root: t.TempDir(), Hub: &hub.Client{Endpoint: srv.URL, HTTP: srv.Client(), Progress: &log}}
	ctx := context.Background()
	fh.corrupt["config.json"] = true
	if _, err := cache.Pull(ctx, "test-org/tiny-mbert", models.PullOptions{Layer: 1}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "git blob id") || len(fh.requests("GET /test-org/tiny-mbert/resolve/main/config.json")) != 2 {
		t.Errorf("damaged config.json not refetched; log:\n%s", log.String())
	}
	config := filepath.Join(cache.Root, "checkpoints", "test-org--tiny-mbert", "main", "config.json")
	want := fileSum(t, filepath.Join(fixtureDir("tiny-mbert"), "config.json"))
	if fileSum(t, config) != want {
		t.Fatal("cached config.json differs from the served one")
	}
	if err := os.WriteFile(config, bytes.Replace(readFile(t, config), []byte("hidden"), []byte("HIDDEN"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Pull(ctx, "test-org/tiny-mbert", models.PullOptions{Layer: 1}); err != nil {
		t.Fatal(err)
	}
	if fileSum(t, config) != want {
		t.Error("an edited cached config.json was kept")
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
