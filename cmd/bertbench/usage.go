package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/internal/cpus"
)

// applyUsageContract makes every command under parent (its HelpName, e.g.
// "bertbench models") keep the exit-code contract for usage errors: an
// unknown flag, a bad flag value, a missing required flag or an unknown
// subcommand is a usageError (exit 2) of one line naming the flag and the
// fix, never the whole help. It sets each command's HelpName, replaces
// urfave/cli's required-flag check (which prints the help) by its own, and
// recurses into subcommands.
func applyUsageContract(parent string, cmds []*cli.Command) {
	for _, cmd := range cmds {
		full := parent + " " + cmd.Name
		cmd.HelpName = full
		if !strings.Contains(parent, " ") {
			// The app prefixes its own commands' help names with its name.
			cmd.HelpName = cmd.Name
		}
		cmd.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
			return flagUsageError(commandName(cmd), cmd.HelpName, cmd.Flags, err)
		}
		if required := takeRequired(cmd.Flags); len(required) > 0 {
			before := cmd.Before
			cmd.Before = func(c *cli.Context) error {
				for _, f := range required {
					if !c.IsSet(f.Names()[0]) {
						return usagef("%s: missing %s (see %s --help)", commandName(cmd), flagName(f.Names()[0]), cmd.HelpName)
					}
				}
				if before != nil {
					return before(c)
				}
				return nil
			}
		}
		if len(cmd.Subcommands) > 0 && cmd.Action == nil {
			cmd.Action = func(c *cli.Context) error {
				if c.Args().Present() {
					return usagef("%s: unknown command %q (see %s --help)", commandName(cmd), c.Args().First(), cmd.HelpName)
				}
				return cli.ShowSubcommandHelp(c)
			}
		}
		applyUsageContract(full, cmd.Subcommands)
	}
}

// commandName is the command's path without the program name ("models
// import"), as messages start.
func commandName(cmd *cli.Command) string {
	if name, ok := strings.CutPrefix(cmd.HelpName, "bertbench "); ok {
		return name
	}
	return cmd.Name
}

// takeRequired returns the flags marked Required and clears the mark, so
// that urfave/cli does not check them itself (it prints the whole help).
func takeRequired(flags []cli.Flag) []cli.Flag {
	var required []cli.Flag
	for _, f := range flags {
		switch f := f.(type) {
		case *cli.StringFlag:
			if f.Required {
				f.Required = false
				required = append(required, f)
			}
		case *cli.GenericFlag:
			if f.Required {
				f.Required = false
				required = append(required, f)
			}
		case *cli.StringSliceFlag:
			if f.Required {
				f.Required = false
				required = append(required, f)
			}
		case *cli.IntFlag:
			if f.Required {
				f.Required = false
				required = append(required, f)
			}
		case *cli.PathFlag:
			if f.Required {
				f.Required = false
				required = append(required, f)
			}
		}
	}
	return required
}

// flagName writes a flag's name as a user types it: -o, --output.
func flagName(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

var (
	reUndefined = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)
	reBadValue  = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-+([^:]+): (.*)$`)
	reNoValue   = regexp.MustCompile(`^flag needs an argument: -+(.+)$`)
)

// flagUsageError rewrites a flag parsing error (from the standard flag
// package, through urfave/cli) of the command called name (empty for the
// program's own flags), with the given help name and flags, as one line
// naming the flag and the fix.
func flagUsageError(name, helpName string, flags []cli.Flag, err error) error {
	help := helpName + " --help"
	if name != "" {
		name += ": "
	}
	msg := err.Error()
	if m := reUndefined.FindStringSubmatch(msg); m != nil {
		hint := ""
		if m[1] == "r" {
			hint = "; -r is --refs in bertbench, the runner is --runner"
		}
		return usagef("%sunknown flag %s%s (see %s)", name, flagName(m[1]), hint, help)
	}
	if m := reBadValue.FindStringSubmatch(msg); m != nil {
		return usagef("%sinvalid value %q for %s: %s", name, m[1], flagName(m[2]), wantForFlag(flags, m[2]))
	}
	if m := reNoValue.FindStringSubmatch(msg); m != nil {
		return usagef("%s%s needs a value (see %s)", name, flagName(m[1]), help)
	}
	return usagef("%s%s (see %s)", name, msg, help)
}

// wantForFlag says what a valid value of the named flag looks like.
func wantForFlag(flags []cli.Flag, name string) string {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			switch f.(type) {
			case *cli.DurationFlag:
				return "want a duration with a unit, e.g. 30s, 5m or 1h30m"
			case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag:
				return "want a whole number"
			case *cli.Float64Flag:
				return "want a number"
			case *cli.BoolFlag:
				return fmt.Sprintf("want true or false (or just %s)", flagName(name))
			}
		}
	}
	return "see --help"
}

// checkThreads refuses a --threads value above what the machine can use
// (cpus.MaxThreads: 4 × the CPUs of the process's affinity mask and cgroup
// quota): native libraries start that many threads at once.
func checkThreads(command string, n int) error {
	if limit := cpus.MaxThreads(); n > limit {
		return usagef("%s: --threads %d is more than %d × the %d CPUs this process may use: give at most %d (0 = one per CPU)",
			command, n, cpus.ThreadsPerCPU, cpus.Usable(), limit)
	}
	return nil
}
