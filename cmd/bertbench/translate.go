package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// translateCommand is owned by the translate work; placeholder until it lands.
func translateCommand() *cli.Command {
	return &cli.Command{
		Name:   "translate",
		Usage:  "not yet built",
		Action: func(*cli.Context) error { return errors.New("translate: not yet built") },
	}
}
