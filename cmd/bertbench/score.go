package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// scoreCommand is owned by the score work; placeholder until it lands.
func scoreCommand() *cli.Command {
	return &cli.Command{
		Name:   "score",
		Usage:  "not yet built",
		Action: func(*cli.Context) error { return errors.New("score: not yet built") },
	}
}
