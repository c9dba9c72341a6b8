// Package hub downloads files from the Hugging Face Hub (or a mirror that
// keeps its URL layout, {endpoint}/{repo}/resolve/{revision}/{file}).
//
// Downloads resume: bytes arrive in "<file>.part" and a later call continues
// from where an interrupted one stopped (an HTTP Range request). Every file
// is checked against the size the Hub announces, files stored in Git LFS
// (the weights) against the sha256 the Hub announces in X-Linked-Etag, and
// files kept in git (config.json, tokenizer.json) against the git blob id
// the Hub sends as their ETag; a mismatch throws the bytes away and fetches
// the file again once.
package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultEndpoint is the public Hub.
const DefaultEndpoint = "https://huggingface.co"

// Environment variables the client honours, as huggingface_hub does.
const (
	EnvEndpoint = "HF_ENDPOINT"
	EnvToken    = "HF_TOKEN"
)

// ErrNotFound reports a repo, revision or file the Hub does not have.
var ErrNotFound = errors.New("not found on the Hub")

// ErrUnauthorized reports a gated or private repo the client may not read.
var ErrUnauthorized = errors.New("not authorised")

// ErrUnreachable reports that the endpoint could not be reached at all (no
// network, DNS failure, connection refused) or answered with a server
// error (HTTP 5xx).
var ErrUnreachable = errors.New("the Hub is unreachable")

// Client talks to one Hub endpoint.
type Client struct {
	Endpoint string
	Token    string
	HTTP     *http.Client
	// Progress receives progress lines; nil means silent.
	Progress io.Writer
	// Terminal redraws one progress line in place (set when Progress is a
	// terminal); otherwise a line is written at start and end only.
	Terminal bool
	// StallTimeout ends a download that receives nothing for this long
	// (default DefaultStallTimeout).
	StallTimeout time.Duration
}

// NewClient returns a client for $HF_ENDPOINT (default the public Hub) with
// $HF_TOKEN as bearer token.
func NewClient() *Client {
	ep := os.Getenv(EnvEndpoint)
	if ep == "" {
		ep = DefaultEndpoint
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = time.Minute
	return &Client{
		Endpoint: strings.TrimRight(ep, "/"),
		Token:    os.Getenv(EnvToken),
		// No overall timeout: weights take minutes. A stalled body is cut
		// by StallTimeout instead.
		HTTP: &http.Client{Transport: tr},
	}
}

// DefaultStallTimeout ends a download that receives no byte for this long;
// the .part is kept, so running the command again resumes.
const DefaultStallTimeout = 2 * time.Minute

// FileInfo is what the Hub says about a file.
type FileInfo struct {
	// Size in bytes (X-Linked-Size for LFS files, else Content-Length).
	Size int64
	// SHA256 is the LFS object id (hex), empty for files kept in git.
	SHA256 string
	// GitSHA1 is the git blob id (hex) the Hub sends as ETag for files kept
	// in git (config.json, tokenizer.json), empty for LFS files.
	GitSHA1 string
	// Commit is the revision's commit hash (X-Repo-Commit), when sent.
	Commit string
	// Offline is set when the Hub was unreachable and a file downloaded
	// earlier was used unchecked.
	Offline bool
}

// URL returns the download URL of file in repo at revision.
func (c *Client) URL(repo, revision, file string) string {
	if revision == "" {
		revision = "main"
	}
	return c.Endpoint + "/" + repo + "/resolve/" + url.PathEscape(revision) + "/" + file
}

func (c *Client) newRequest(ctx context.Context, method, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("User-Agent", "bertbench")
	return req, nil
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Stat asks the Hub about a file: a HEAD request that does not follow the
// redirect to the LFS storage, so the X-Linked-* headers are seen, but
// does follow redirects within the endpoint (a renamed repo).
func (c *Client) Stat(ctx context.Context, repo, revision, file string) (FileInfo, error) {
	req, err := c.newRequest(ctx, http.MethodHead, c.URL(repo, revision, file))
	if err != nil {
		return FileInfo{}, err
	}
	hc := *c.httpClient()
	hc.CheckRedirect = func(next *http.Request, via []*http.Request) error {
		prev := next.Response
		if len(via) >= 10 || next.URL.Host != via[0].URL.Host ||
			prev != nil && (prev.Header.Get("X-Linked-Etag") != "" || prev.Header.Get("X-Linked-Size") != "") {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return FileInfo{}, ctx.Err()
		}
		return FileInfo{}, fmt.Errorf("%w: %s: %v", ErrUnreachable, c.Endpoint, err)
	}
	resp.Body.Close()
	if err := c.statusError(resp, repo, revision, file); err != nil {
		return FileInfo{}, err
	}
	info := FileInfo{Commit: resp.Header.Get("X-Repo-Commit")}
	sizeHeader := resp.Header.Get("X-Linked-Size")
	if sizeHeader == "" {
		sizeHeader = resp.Header.Get("Content-Length")
	}
	info.Size = -1
	if sizeHeader != "" {
		if info.Size, err = strconv.ParseInt(sizeHeader, 10, 64); err != nil {
			return FileInfo{}, fmt.Errorf("%s: bad size header %q", c.URL(repo, revision, file), sizeHeader)
		}
	}
	if etag := resp.Header.Get("X-Linked-Etag"); etag != "" {
		info.SHA256 = cleanETag(etag)
	} else if etag := cleanETag(resp.Header.Get("ETag")); len(etag) == 64 && isHex(etag) {
		info.SHA256 = etag
	} else if len(etag) == 40 && isHex(etag) {
		info.GitSHA1 = etag
	}
	return info, nil
}

func cleanETag(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	return strings.ToLower(strings.Trim(s, `"`))
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// statusError turns an HTTP failure into an error that says what to do.
func (c *Client) statusError(resp *http.Response, repo, revision, file string) error {
	if resp.StatusCode < 400 {
		return nil
	}
	code := resp.Header.Get("X-Error-Code")
	where := fmt.Sprintf("%s (revision %s) on %s", repo, revision, c.Endpoint)
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || code == "GatedRepo":
		hint := "if it is gated or private, accept its terms on the Hub and set " + EnvToken + " to an access token"
		if c.Token != "" {
			hint = "the token in " + EnvToken + " was refused or lacks access to it (gated repos need their terms accepted on the Hub)"
		}
		return fmt.Errorf("%w: %s: HTTP %d: %s", ErrUnauthorized, where, resp.StatusCode, hint)
	case resp.StatusCode == http.StatusNotFound:
		switch code {
		case "EntryNotFound":
			return fmt.Errorf("%w: %s has no file %s", ErrNotFound, where, file)
		case "RevisionNotFound":
			return fmt.Errorf("%w: %s: no revision %q", ErrNotFound, repo, revision)
		}
		return fmt.Errorf("%w: %s or its file %s (check the name, or set %s for a private repo)", ErrNotFound, where, file, EnvToken)
	}
	if resp.StatusCode >= 500 {
		// The Hub is down or overloaded: as good as unreachable, so a copy
		// downloaded before may be used (see Download).
		return fmt.Errorf("%w: %s: %s: HTTP %s (try again later)", ErrUnreachable, where, file, resp.Status)
	}
	return fmt.Errorf("%s: %s: HTTP %s", where, file, resp.Status)
}

// Download fetches file into dest (a path), resuming from dest+".part" and
// verifying size and, for LFS files, sha256. An existing dest that matches
// the Hub's size and hash is kept without downloading. When the Hub cannot
// be reached at all and dest exists (it was verified when downloaded), dest
// is used as it is, with a note on Progress: rebuilding from a cached
// checkpoint works offline.
func (c *Client) Download(ctx context.Context, repo, revision, file, dest string) (FileInfo, error) {
	info, err := c.Stat(ctx, repo, revision, file)
	if errors.Is(err, ErrUnreachable) {
		if st, serr := os.Stat(dest); serr == nil && !st.IsDir() {
			c.logf("%s: %v; using the copy downloaded before\n", file, err)
			return FileInfo{Size: st.Size(), Offline: true}, nil
		}
	}
	if err != nil {
		return FileInfo{}, err
	}
	if ok, err := matches(dest, info); err != nil {
		return info, err
	} else if ok {
		return info, nil
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return info, err
	}
	for attempt := 0; ; attempt++ {
		err := c.fetch(ctx, repo, revision, file, dest, info)
		if err == nil {
			return info, nil
		}
		var bad *corruptError
		if !errors.As(err, &bad) || attempt > 0 {
			return info, err
		}
		// A corrupt download (or a stale .part) is thrown away and fetched
		// again from the start, once.
		c.logf("%s: %v; downloading it again\n", file, err)
		os.Remove(dest + ".part")
	}
}

type corruptError struct{ msg string }

func (e *corruptError) Error() string { return e.msg }

// matches reports whether path already holds the file info describes.
func matches(path string, info FileInfo) (bool, error) {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if info.Size >= 0 && st.Size() != info.Size {
		return false, nil
	}
	switch {
	case info.SHA256 != "":
		sum, err := hashFile(path, sha256.New())
		if err != nil {
			return false, err
		}
		return sum == info.SHA256, nil
	case info.GitSHA1 != "":
		sum, err := gitBlobSHA1(path)
		if err != nil {
			return false, err
		}
		return sum == info.GitSHA1, nil
	}
	return info.Size >= 0, nil
}

// gitBlobSHA1 is git's object id of the file's content: sha1 of
// "blob <size>\x00" and the bytes.
func gitBlobSHA1(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", st.Size())
	return hashFile(path, h)
}

func hashFile(path string, h hash.Hash) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fetch downloads into dest+".part" (continuing it) and renames it to dest
// once size and hash check out.
func (c *Client) fetch(ctx context.Context, repo, revision, file, dest string, info FileInfo) error {
	part := dest + ".part"
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	have, err := io.Copy(h, f) // hash what an earlier attempt left
	if err != nil {
		return fmt.Errorf("reading %s: %w", part, err)
	}
	if info.Size >= 0 && have > info.Size {
		return &corruptError{fmt.Sprintf("%s is larger (%d bytes) than the file (%d bytes)", part, have, info.Size)}
	}
	if info.Size < 0 || have < info.Size || have == 0 {
		stall := c.StallTimeout
		if stall <= 0 {
			stall = DefaultStallTimeout
		}
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		watchdog := time.AfterFunc(stall, func() {
			cancel(fmt.Errorf("no data for %s", stall))
		})
		defer watchdog.Stop()
		req, err := c.newRequest(ctx, http.MethodGet, c.URL(repo, revision, file))
		if err != nil {
			return err
		}
		if have > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
		}
		resp, err := c.httpClient().Do(req)
		if err != nil {
			return fmt.Errorf("downloading %s: %w", file, err)
		}
		defer resp.Body.Close()
		if have > 0 && resp.StatusCode == http.StatusRequestedRangeNotSatisfiable {
			// The file is now shorter than what an earlier attempt left.
			return &corruptError{fmt.Sprintf("%s (%d bytes) cannot be resumed: the server has no byte %d", part, have, have)}
		}
		if err := c.statusError(resp, repo, revision, file); err != nil {
			return err
		}
		switch {
		case have > 0 && resp.StatusCode == http.StatusPartialContent:
			if !strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", have)) {
				return &corruptError{fmt.Sprintf("server resumed at %q, want byte %d", resp.Header.Get("Content-Range"), have)}
			}
			c.logf("%s: resuming at %s\n", file, HumanBytes(have))
		case resp.StatusCode == http.StatusOK:
			if have > 0 { // the server ignored Range: start over
				have = 0
				h.Reset()
			}
			if err := f.Truncate(0); err != nil {
				return err
			}
		default:
			return fmt.Errorf("downloading %s: unexpected HTTP %s", file, resp.Status)
		}
		if _, err := f.Seek(have, io.SeekStart); err != nil {
			return err
		}
		p := &progress{c: c, name: file, done: have, total: info.Size, onData: func() { watchdog.Reset(stall) }}
		n, err := io.Copy(io.MultiWriter(f, h, p), resp.Body)
		p.finish(err == nil)
		if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
			err = cause
		}
		if err != nil {
			// Keep the .part: the next call resumes from here.
			return fmt.Errorf("downloading %s (%s kept in %s; run again to resume): %w", file, HumanBytes(have+n), part, err)
		}
		have += n
	}
	if info.Size >= 0 && have != info.Size {
		return &corruptError{fmt.Sprintf("got %d bytes, the Hub announced %d", have, info.Size)}
	}
	if info.SHA256 != "" {
		if sum := hex.EncodeToString(h.Sum(nil)); sum != info.SHA256 {
			return &corruptError{fmt.Sprintf("sha256 %s does not match the Hub's %s", sum, info.SHA256)}
		}
	}
	if info.GitSHA1 != "" {
		if err := f.Sync(); err != nil {
			return err
		}
		sum, err := gitBlobSHA1(part)
		if err != nil {
			return err
		}
		if sum != info.GitSHA1 {
			return &corruptError{fmt.Sprintf("git blob id %s does not match the Hub's %s", sum, info.GitSHA1)}
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(part, dest)
}

func (c *Client) logf(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format, args...)
	}
}

// progress reports download progress, at most a few times a second.
type progress struct {
	c           *Client
	name        string
	done, total int64
	last        time.Time
	started     bool
	onData      func()
}

func (p *progress) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if p.onData != nil {
		p.onData()
	}
	if p.c.Progress == nil {
		return len(b), nil
	}
	if !p.started {
		p.started = true
		p.c.logf("downloading %s (%s)\n", p.name, HumanBytes(p.total))
	}
	if p.c.Terminal && time.Since(p.last) > 200*time.Millisecond {
		p.last = time.Now()
		p.c.logf("\r  %s", p.line())
	}
	return len(b), nil
}

func (p *progress) line() string {
	if p.total > 0 {
		return fmt.Sprintf("%s / %s (%3.0f%%)   ", HumanBytes(p.done), HumanBytes(p.total), 100*float64(p.done)/float64(p.total))
	}
	return HumanBytes(p.done) + "   "
}

func (p *progress) finish(ok bool) {
	if p.c.Progress == nil || !p.started {
		return
	}
	if p.c.Terminal {
		p.c.logf("\r  %s\n", p.line())
	}
	if ok {
		p.c.logf("  %s: %s done\n", p.name, HumanBytes(p.done))
	}
}

// HumanBytes writes a byte count for people: "512 B", "1.5 KiB",
// "420.3 MiB", "1.07 GiB" ("size unknown" when negative).
func HumanBytes(n int64) string {
	switch {
	case n < 0:
		return "size unknown"
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}
