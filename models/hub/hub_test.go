package hub_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bertbench/bertbench/models/hub"
)

// TestDownloadServerIgnoresRange: a server that answers a Range request with
// the whole file (200) makes the client start the .part over, not append.
func TestDownloadServerIgnoresRange(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789"), 1000)
	sum := sha256.Sum256(content)
	gets := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Linked-Etag", hex.EncodeToString(sum[:]))
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(content)))
		if r.Method == http.MethodGet {
			gets++
			w.Write(content) // ignores Range
		}
	}))
	defer srv.Close()
	dest := filepath.Join(t.TempDir(), "model.safetensors")
	if err := os.WriteFile(dest+".part", content[:4000], 0o644); err != nil {
		t.Fatal(err)
	}
	c := &hub.Client{Endpoint: srv.URL, HTTP: srv.Client()}
	info, err := c.Download(context.Background(), "o/r", "main", "model.safetensors", dest)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(dest)
	if !bytes.Equal(got, content) || info.Size != int64(len(content)) || gets != 1 {
		t.Errorf("got %d bytes after %d GETs", len(got), gets)
	}
	if _, err := os.Stat(dest + ".part"); !os.IsNotExist(err) {
		t.Error(".part left behind")
	}
}

// TestDownloadPersistentCorruption: a file that never matches its hash
// fails after one refetch, with a message naming both hashes.
func TestDownloadPersistentCorruption(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Linked-Etag", `"`+hex.EncodeToString(make([]byte, 32))+`"`)
		w.Header().Set("X-Linked-Size", "5")
		if r.Method == http.MethodGet {
			w.Write([]byte("hello"))
		}
	}))
	defer srv.Close()
	var log bytes.Buffer
	c := &hub.Client{Endpoint: srv.URL, HTTP: srv.Client(), Progress: &log}
	_, err := c.Download(context.Background(), "o/r", "main", "w.safetensors", filepath.Join(t.TempDir(), "w.safetensors"))
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("does not match the Hub's 0000")) {
		t.Errorf("err = %v", err)
	}
	if !bytes.Contains(log.Bytes(), []byte("downloading it again")) {
		t.Errorf("log: %s", log.String())
	}
}

// TestDownloadStall: a server that stops sending mid-body is cut off after
// StallTimeout; the bytes so far stay in .part for the next attempt.
func TestDownloadStall(t *testing.T) {
	content := bytes.Repeat([]byte("x"), 1000)
	sum := sha256.Sum256(content)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Linked-Etag", hex.EncodeToString(sum[:]))
		w.Header().Set("X-Linked-Size", "1000")
		if r.Method != http.MethodGet {
			return
		}
		w.Header().Set("Content-Length", "1000")
		w.Write(content[:300])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	dest := filepath.Join(t.TempDir(), "w.safetensors")
	c := &hub.Client{Endpoint: srv.URL, HTTP: srv.Client(), StallTimeout: 200 * time.Millisecond}
	_, err := c.Download(context.Background(), "o/r", "main", "w.safetensors", dest)
	if err == nil || !strings.Contains(err.Error(), "no data for 200ms") || !strings.Contains(err.Error(), "run again to resume") {
		t.Fatalf("err = %v", err)
	}
	if st, err := os.Stat(dest + ".part"); err != nil || st.Size() != 300 {
		t.Errorf(".part: %v %v", st, err)
	}
}

// TestDownloadStalePartBeyondTheEnd: a .part longer than the file now is
// (size unknown up front, so the client asks to resume past the end and
// gets 416) is thrown away and the file fetched from the start.
func TestDownloadStalePartBeyondTheEnd(t *testing.T) {
	content := []byte(`{"hidden_size": 4}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			return // no size, no hash: the client cannot tell the .part is stale
		}
		http.ServeContent(w, r, "config.json", time.Time{}, bytes.NewReader(content))
	}))
	defer srv.Close()
	dest := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(dest+".part", bytes.Repeat([]byte("x"), 100), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &hub.Client{Endpoint: srv.URL, HTTP: srv.Client()}
	if _, err := c.Download(context.Background(), "o/r", "main", "config.json", dest); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, content) {
		t.Errorf("got %q", got)
	}
}

// TestStatFollowsRenamedRepo: the Hub answers a renamed repo's URLs with a
// redirect on the same host; Stat follows it (and still stops at the LFS
// redirect, whose X-Linked-* headers it needs).
func TestStatFollowsRenamedRepo(t *testing.T) {
	content := []byte("weights")
	sum := sha256.Sum256(content)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/old-org/"):
			http.Redirect(w, r, strings.Replace(r.URL.Path, "/old-org/", "/new-org/", 1), http.StatusTemporaryRedirect)
		case strings.HasPrefix(r.URL.Path, "/new-org/"):
			w.Header().Set("X-Linked-Etag", `"`+hex.EncodeToString(sum[:])+`"`)
			w.Header().Set("X-Linked-Size", strconv.Itoa(len(content)))
			http.Redirect(w, r, "/lfs/blob", http.StatusFound)
		case r.URL.Path == "/lfs/blob":
			http.ServeContent(w, r, "blob", time.Time{}, bytes.NewReader(content))
		}
	}))
	defer srv.Close()
	c := &hub.Client{Endpoint: srv.URL, HTTP: srv.Client()}
	dest := filepath.Join(t.TempDir(), "model.safetensors")
	info, err := c.Download(context.Background(), "old-org/m", "main", "model.safetensors", dest)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != int64(len(content)) || info.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("info %+v", info)
	}
}

// TestDownloadHubServerError: a Hub answering 503 counts as unreachable: a
// file downloaded before is used as it is; one never downloaded fails with
// ErrUnreachable and says to try again later.
func TestDownloadHubServerError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	dir := t.TempDir()
	have := filepath.Join(dir, "config.json")
	if err := os.WriteFile(have, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	c := &hub.Client{Endpoint: srv.URL, HTTP: srv.Client(), Progress: &log}
	info, err := c.Download(context.Background(), "o/r", "main", "config.json", have)
	if err != nil || !info.Offline || !strings.Contains(log.String(), "using the copy downloaded before") {
		t.Errorf("cached file: info %+v, err %v, log %q", info, err, log.String())
	}
	_, err = c.Download(context.Background(), "o/r", "main", "tokenizer.json", filepath.Join(dir, "tokenizer.json"))
	if !errors.Is(err, hub.ErrUnreachable) || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "try again later") {
		t.Errorf("uncached file: err = %v", err)
	}
}
