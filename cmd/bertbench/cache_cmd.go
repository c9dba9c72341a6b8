package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/runners/cache"
)

// cacheCommand is `bertbench cache`: where the response cache is,
// and clearing it. It works unchanged as a top-level `bertbench cache`.
func cacheCommand() *cli.Command {
	dirFlag := &cli.StringFlag{Name: "cache-dir", Usage: "response cache `DIR` (default $BERTBENCH_CACHE_DIR, else $XDG_CACHE_HOME/bertbench/responses)", TakesFile: true}
	open := func(c *cli.Context) (*cache.Store, error) {
		dir := c.String("cache-dir")
		if dir == "" {
			d, err := cache.DefaultDir()
			if err != nil {
				return nil, err
			}
			dir = d
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
