// Package cache is bertbench's on-disk response cache. A successful result
// is stored under the SHA-256 of everything that determines the output —
// runner spec, model digest where the server reports one, prompt, system
// prompt, mode, sampling parameters and the repeat (runners.Request.Repeat,
// when not 0) — so re-running or resuming an
// experiment never calls a model twice for the same input. Failed calls
// are never stored.
package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sync/singleflight"

	"github.com/bertbench/bertbench/internal/cachedir"
	"github.com/bertbench/bertbench/internal/outfile"
	"github.com/bertbench/bertbench/runners"
)

// keyVersion changes whenever the key derivation changes, invalidating
// every older entry.
const keyVersion = 1

// DefaultDir returns the response cache folder under bertbench's cache
// root: $BERTBENCH_CACHE/responses, else
// $XDG_CACHE_HOME/bertbench/responses on Linux.
func DefaultDir() (string, error) {
	root, err := cachedir.Root()
	if err != nil {
		return "", fmt.Errorf("response cache: %w", err)
	}
	return cachedir.Responses(root), nil
}

// Store is a folder of cached results, one JSON file per key, laid out as
// DIR/ab/abcdef….json. It is safe for concurrent use, also by several
// processes: entries are written to a temporary file and renamed.
type Store struct {
	dir string
	// OnWriteError, when set before the store is used, is told about
	// entries that could not be written. The call's result is still
	// returned as a success: a paid-for output is never dropped because the
	// cache folder is full.
	OnWriteError func(error)
}

// Open returns the store in dir, creating the folder if needed.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("response cache: empty folder name")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("response cache: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir returns the store's folder.
func (s *Store) Dir() string { return s.dir }

// Key derives the cache key for a request to the runner named spec whose
// model has the given digest ("" when unknown).
func Key(spec, digest string, req runners.Request) (string, error) {
	if req.Mode == "" {
		req.Mode = runners.ModeChat
	}
	b, err := json.Marshal(struct {
		V       int             `json:"v"`
		Spec    string          `json:"spec"`
		Digest  string          `json:"digest"`
		Request runners.Request `json:"request"`
	}{keyVersion, spec, digest, req})
	if err != nil {
		return "", fmt.Errorf("response cache key: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func (s *Store) path(key string) string {
	return filepath.Join(s.dir, key[:2], key+".json")
}

// Get returns the result stored under key. A missing or unreadable entry
// is a miss; only an I/O failure other than "not found" is an error.
func (s *Store) Get(key string) (runners.Result, bool, error) {
	b, err := os.ReadFile(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return runners.Result{}, false, nil
	}
	if err != nil {
		return runners.Result{}, false, fmt.Errorf("response cache: %w", err)
	}
	var res runners.Result
	if err := json.Unmarshal(b, &res); err != nil || res.Error != "" {
		return runners.Result{}, false, nil // corrupt entry: overwritten by the next Put
	}
	return res, true, nil
}

// Put stores a successful result under key; results with an error are
// refused.
func (s *Store) Put(key string, res runners.Result) error {
	if res.Error != "" {
		return errors.New("response cache: refusing to store a failed call")
	}
	res.Cached = false
	b, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("response cache: %w", err)
	}
	p := s.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("response cache: %w", err)
	}
	// Private (0600, as before): entries hold prompts and outputs.
	if err := outfile.WriteFile(p, b, 0o600); err != nil {
		return fmt.Errorf("response cache: %w", err)
	}
	return nil
}

// Clear deletes every entry and reports how many there were.
func (s *Store) Clear() (int, error) {
	n := 0
	err := filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".json") {
			n++
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("response cache: %w", err)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("response cache: %w", err)
	}
	for _, e := range entries {
		// Only the two-hex-digit shard folders this package writes.
		if e.IsDir() && len(e.Name()) == 2 {
			if err := os.RemoveAll(filepath.Join(s.dir, e.Name())); err != nil {
				return 0, fmt.Errorf("response cache: %w", err)
			}
		}
	}
	return n, nil
}

// Wrap returns r with s in front: a hit returns the stored result with
// Cached set and Attempts 0; a miss calls r and stores a successful result.
// Concurrent identical requests share one call.
func Wrap(r runners.Runner, s *Store) runners.Runner {
	return &cached{inner: r, store: s}
}

type cached struct {
	inner  runners.Runner
	store  *Store
	flight singleflight.Group
}

// Spec returns the wrapped runner's spec.
func (c *cached) Spec() string { return c.inner.Spec() }

// ModelDigest forwards to the wrapped runner.
func (c *cached) ModelDigest(ctx context.Context) (string, error) {
	return runners.Digest(ctx, c.inner)
}

// MaxConcurrency forwards to the wrapped runner.
func (c *cached) MaxConcurrency() int { return runners.MaxConcurrency(c.inner) }

// Preflight forwards to the wrapped runner.
func (c *cached) Preflight(ctx context.Context) error { return runners.Preflight(ctx, c.inner) }

type flightResult struct {
	res runners.Result
	err error
	// leader is the token of the caller whose ctx the call ran under.
	leader *caller
	// gaveUp: the leader's ctx ended, so the error is the leader's, not
	// an answer for the others.
	gaveUp bool
}

// caller is a token that tells the caller that made a shared call apart
// from those that only waited for it.
type caller struct{ _ byte }

// Run serves req from the store, or calls the wrapped runner and stores
// a successful result. Identical concurrent requests share one call: the
// caller that made it gets the result as made, the others get it marked
// Cached with 0 attempts. Each caller stops waiting when its own ctx ends,
// and one whose shared call was cut short by another caller's ctx makes
// the call itself.
func (c *cached) Run(ctx context.Context, req runners.Request) (runners.Result, error) {
	digest, err := runners.Digest(ctx, c.inner)
	if err != nil {
		return runners.Failed(c.Spec(), 0, err)
	}
	key, err := Key(c.Spec(), digest, req)
	if err != nil {
		return runners.Failed(c.Spec(), 0, err)
	}
	me := &caller{}
	for {
		if res, ok, err := c.store.Get(key); err != nil {
			return runners.Failed(c.Spec(), 0, err)
		} else if ok {
			res.Cached, res.Attempts = true, 0
			return res, nil
		}
		ch := c.flight.DoChan(key, func() (any, error) {
			res, err := c.inner.Run(ctx, req)
			if err == nil {
				if perr := c.store.Put(key, res); perr != nil && c.store.OnWriteError != nil {
					c.store.OnWriteError(perr)
				}
			}
			return flightResult{res: res, err: err, leader: me, gaveUp: err != nil && ctx.Err() != nil}, nil
		})
		var fr flightResult
		select {
		case <-ctx.Done():
			return runners.Failed(c.Spec(), 0, fmt.Errorf("%s: %w", c.Spec(), ctx.Err()))
		case r := <-ch:
			fr = r.Val.(flightResult)
		}
		if fr.leader == me {
			return fr.res, fr.err
		}
		if fr.gaveUp {
			continue // another caller's cancellation; this one still wants the answer
		}
		if fr.err == nil {
			fr.res.Cached, fr.res.Attempts = true, 0
		}
		return fr.res, fr.err
	}
}
