package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// modelsCommand is owned by the models work; placeholder until it lands.
func modelsCommand() *cli.Command {
	return &cli.Command{
		Name:   "models",
		Usage:  "not yet built",
		Action: func(*cli.Context) error { return errors.New("models: not yet built") },
	}
}
