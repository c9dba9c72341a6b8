package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/internal/cachedir"
	"github.com/bertbench/bertbench/runners/cache"
)

// envOldResponseCache is the response cache's own variable of earlier
// versions; it is no longer read (one root, $BERTBENCH_CACHE, for all).
const envOldResponseCache = "BERTBENCH_CACHE_DIR"

// responseCacheDir is the response cache under the cache root named by
// --cache-dir (or $BERTBENCH_CACHE, else the user cache folder). A set
// $BERTBENCH_CACHE_DIR is reported, not silently ignored.
func responseCacheDir(c *cli.Context) (string, error) {
	if old := os.Getenv(envOldResponseCache); old != "" {
		fmt.Fprintf(c.App.ErrWriter, "bertbench: warning: $%s (%s) is no longer read: set $%s to the cache root instead (responses live in ROOT/%s)\n",
			envOldResponseCache, old, cachedir.Env, cachedir.ResponsesDir)
	}
	root := c.String("cache-dir")
	if root == "" {
		var err error
		if root, err = cachedir.Root(); err != nil {
			return "", err
		}
	}
	return cachedir.Responses(root), nil
}

// cacheCommand is `bertbench cache`: where the response cache is,
// and clearing it. It works unchanged as a top-level `bertbench cache`.
func cacheCommand() *cli.Command {
	dirFlag := newCacheDirFlag()
	open := func(c *cli.Context) (*cache.Store, error) {
		dir, err := responseCacheDir(c)
		if err != nil {
			return nil, err
		}
		return cache.Open(dir)
	}
	return &cli.Command{
		Name:  "cache",
		Usage: "show or clear the response cache of translate (model outputs; not the BERTScore model cache)",
		Subcommands: []*cli.Command{
			{
				Name:  "dir",
				Usage: "print the response cache folder",
				Flags: []cli.Flag{dirFlag},
				Action: func(c *cli.Context) error {
					s, err := open(c)
					if err != nil {
						return fmt.Errorf("cache dir: %w", err)
					}
					fmt.Fprintln(c.App.Writer, s.Dir())
					return nil
				},
			},
			{
				Name:  "clear",
				Usage: "delete every cached response (the next run calls the models again)",
				Flags: []cli.Flag{dirFlag},
				Action: func(c *cli.Context) error {
					s, err := open(c)
					if err != nil {
						return fmt.Errorf("cache clear: %w", err)
					}
					n, err := s.Clear()
					if err != nil {
						return fmt.Errorf("cache clear: %w", err)
					}
					fmt.Fprintf(c.App.Writer, "removed %d cached responses from %s\n", n, s.Dir())
					return nil
				},
			},
		},
	}
}
