package main

import (
	"errors"
	"flag"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// withInterspersedFlags wraps a command so that its flags may also follow
// its positional arguments, as in `bertbench models import DIR --layer 9 -o
// OUT`: urfave/cli stops parsing flags at the first positional argument.
// The command gets SkipFlagParsing and its flags are parsed here instead,
// with the standard library's parser run once per positional argument.
// required names flags that must be given.
func withInterspersedFlags(cmd *cli.Command, required ...string) *cli.Command {
	action := cmd.Action
	cmd.SkipFlagParsing = true
	cmd.Action = func(c *cli.Context) error {
		set := flag.NewFlagSet(cmd.Name, flag.ContinueOnError)
		set.SetOutput(io.Discard)
		for _, f := range cmd.Flags {
			if f == cli.HelpFlag {
				continue
			}
			if err := f.Apply(set); err != nil {
				return err
			}
		}
		var pos []string
		args := c.Args().Slice()
		for {
			if err := set.Parse(args); err != nil {
				if errors.Is(err, flag.ErrHelp) {
					return cli.ShowSubcommandHelp(c)
				}
				return flagUsageError(commandName(cmd), cmd.HelpName, cmd.Flags, err)
			}
			rest := set.Args()
			if len(rest) == 0 {
				break
			}
			// flag.Parse stops at the first positional argument, or after
			// a "--" that it consumes: everything left is positional then.
			consumed := len(args) - len(rest)
			if consumed > 0 && args[consumed-1] == "--" {
				pos = append(pos, rest...)
				break
			}
			pos = append(pos, rest[0])
			args = rest[1:]
		}
		if err := set.Parse(append([]string{"--"}, pos...)); err != nil {
			return flagUsageError(commandName(cmd), cmd.HelpName, cmd.Flags, err)
		}
		given := map[string]bool{}
		set.Visit(func(f *flag.Flag) { given[f.Name] = true })
		// The standard parser keeps each alias ("-o", "--output") as its
		// own flag: copy a given value to every name of its flag.
		for _, f := range cmd.Flags {
			for _, name := range f.Names() {
				if !given[name] {
					continue
				}
				v := set.Lookup(name).Value.String()
				for _, other := range f.Names() {
					if other != name && !given[other] {
						if err := set.Set(other, v); err != nil {
							return flagUsageError(commandName(cmd), cmd.HelpName, cmd.Flags, err)
						}
					}
				}
				break
			}
		}
		var missing []string
		for _, name := range required {
			found := given[name]
			for _, f := range cmd.Flags {
				if f.Names()[0] != name {
					continue
				}
				for _, alias := range f.Names() {
					found = found || given[alias]
				}
			}
			if !found {
				missing = append(missing, "--"+name)
			}
		}
		if len(missing) > 0 {
			return usagef("%s: missing %s (see %s --help)", commandName(cmd), strings.Join(missing, ", "), cmd.HelpName)
		}
		nc := cli.NewContext(c.App, set, c)
		nc.Command = cmd
		return action(nc)
	}
	return cmd
}
