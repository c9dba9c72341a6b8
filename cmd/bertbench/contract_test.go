package main

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// usageCase is how TestUsageContract misuses one command: badValue gives a
// flag a value of the wrong type (nil: the command has no flag with a
// typed value, only free-form strings), missing leaves out what the command
// requires (nil: it requires nothing).
type usageCase struct {
	badValue, missing []string
	wantBad           string // in the message for badValue
	wantMissing       string // in the message for missing
}

// TestUsageContract walks every command and subcommand: an unknown flag, a
// bad value and a missing required flag or argument each exit 2 with one
// line on stderr that names the problem, and nothing on stdout.
func TestUsageContract(t *testing.T) {
	dir := t.TempDir()
	refs := writeLines(t, dir, "r.txt", []string{"a"})
	cases := map[string]usageCase{
		"score":           {badValue: []string{"--threads", "abc"}, wantBad: `invalid value "abc" for --threads: want a whole number`, missing: []string{"-r", refs}, wantMissing: "no candidates: give them with -c FILE"},
		"models import":   {badValue: []string{"--layer", "x", "ckpt", "-o", dir}, wantBad: `invalid value "x" for --layer`, missing: []string{"ckpt"}, wantMissing: "missing --output"},
		"models pull":     {badValue: []string{"--fp16=maybe", "x"}, wantBad: `for --fp16: want true or false`, missing: []string{}, wantMissing: "want one NAME[@REVISION]"},
		"models list":     {badValue: []string{"--known=3"}, wantBad: "for --known"},
		"models info":     {missing: []string{}, wantMissing: "want one NAME or DIR"},
		"models rm":       {missing: []string{}, wantMissing: "want one NAME[@REVISION]"},
		"models synth":    {badValue: []string{"--hidden", "big", "-o", dir}, wantBad: `invalid value "big" for --hidden`, missing: []string{}, wantMissing: "missing --output"},
		"models validate": {missing: []string{}, wantMissing: "want one DIR"},
		"translate":       {badValue: []string{"--timeout", "5", "--runner", "ollama:x", "-i", refs}, wantBad: `invalid value "5" for --timeout: want a duration with a unit, e.g. 30s`, missing: []string{"--runner", "ollama:x", "--to", "Chinese"}, wantMissing: "--input is required"},
		"adapters create": {missing: []string{"--name", "x", "--base", "y"}, wantMissing: "missing --adapter"},
		"adapters list":   {badValue: []string{"--json=yes"}, wantBad: "for --json: want true or false"},
		"generate":        {badValue: []string{"--count", "x", "--teacher", "ollama:x", "-o", refs}, wantBad: `invalid value "x" for --count: want a whole number`, missing: []string{"--teacher", "ollama:x", "-o", refs}, wantMissing: "generate: missing --count"},
		"cache dir":       {},
		"finetune export": {badValue: []string{"--seed", "x", "-i", refs, "-o", filepath.Join(dir, "t.jsonl")}, wantBad: `invalid value "x" for --seed: want a whole number`, missing: []string{"-o", filepath.Join(dir, "t.jsonl")}, wantMissing: "--input is required"},
		"finetune openai": {badValue: []string{"--poll", "5", "--file", refs}, wantBad: `invalid value "5" for --poll: want a duration with a unit`, missing: []string{"--model", "gpt-3.5-turbo"}, wantMissing: "missing --file"},
		"cache clear":     {},
		"run":             {badValue: []string{"--threads", "abc", "x.yaml"}, wantBad: `invalid value "abc" for --threads: want a whole number`, missing: []string{}, wantMissing: "want the experiment CONFIG file"},
		"runs list":       {badValue: []string{"--json=yes"}, wantBad: "for --json: want true or false"},
		"runs show":       {badValue: []string{"--config=yes"}, wantBad: "for --config: want true or false"},
		"runs export":     {badValue: []string{"--format", "xml"}, wantBad: `invalid value "xml" for --format: want jsonl or csv`},
		"compare":         {badValue: []string{"--resamples", "many", "r1"}, wantBad: `invalid value "many" for --resamples: want a whole number`, missing: []string{}, wantMissing: "compare: want at least one side"},
		"bench scorer":    {badValue: []string{"--pairs", "x"}, wantBad: `invalid value "x" for --pairs: want a whole number`, missing: []string{"-r", refs}, wantMissing: "-c and -r go together"},
		"bench generate":  {badValue: []string{"--requests", "x", "--runner", "ollama:x"}, wantBad: `invalid value "x" for --requests: want a whole number`, missing: []string{"--concurrency", "1"}, wantMissing: "missing --runner"},
		"bench peak":      {badValue: []string{"--threads", "x"}, wantBad: `invalid value "x" for --threads: want a whole number`},
		"report":          {badValue: []string{"--seed", "x"}, wantBad: `invalid value "x" for --seed: want a whole number`},
		"plan":            {badValue: []string{"--shards", "x"}, wantBad: `invalid value "x" for --shards: want a whole number`, missing: []string{"-c", refs, "-r", refs, "--shards", "2"}, wantMissing: "plan: missing --out DIR"},
		"merge":           {missing: []string{}, wantMissing: "merge: want the plan file"},
	}
	app := newApp(strings.NewReader(""), &strings.Builder{}, &strings.Builder{})
	leaves, groups := commandTree(app.Commands, nil)
	if missing := missingCases(leaves, cases); len(missing) > 0 {
		t.Fatalf("commands without a usage case (add them to the table): %s", strings.Join(missing, ", "))
	}
	check := func(t *testing.T, args []string, want string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, "", args...)
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		if code != exitUsage || len(lines) != 1 || stdout != "" || !strings.Contains(stderr, want) {
			t.Errorf("bertbench %s: exit %d (want %d), %d stderr lines (want 1) %q, stdout %q; want the message to contain %q",
				strings.Join(args, " "), code, exitUsage, len(lines), stderr, stdout, want)
		}
	}
	for _, name := range leaves {
		tc := cases[name]
		path := strings.Fields(name)
		t.Run(name, func(t *testing.T) {
			check(t, append(path, "--no-such-flag"), "unknown flag --no-such-flag")
			if tc.badValue != nil {
				check(t, append(path, tc.badValue...), tc.wantBad)
			} else {
				t.Logf("%s has no flag with a typed value", name)
			}
			if tc.missing != nil {
				check(t, append(path, tc.missing...), tc.wantMissing)
			} else {
				t.Logf("%s requires nothing", name)
			}
		})
	}
	for _, name := range append(groups, "") {
		t.Run("unknown command under "+name, func(t *testing.T) {
			check(t, append(strings.Fields(name), "frobnicate"), `unknown command "frobnicate"`)
		})
	}
}

// commandTree lists the full names of the leaf commands ("models import")
// and of the commands that group subcommands ("models").
func commandTree(cmds []*cli.Command, parent []string) (leaves, groups []string) {
	for _, c := range cmds {
		path := append(append([]string(nil), parent...), c.Name)
		if len(c.Subcommands) == 0 {
			leaves = append(leaves, strings.Join(path, " "))
			continue
		}
		groups = append(groups, strings.Join(path, " "))
		l, g := commandTree(c.Subcommands, path)
		leaves, groups = append(leaves, l...), append(groups, g...)
	}
	sort.Strings(leaves)
	return leaves, groups
}

func missingCases(leaves []string, cases map[string]usageCase) []string {
	var missing []string
	for _, l := range leaves {
		if _, ok := cases[l]; !ok {
			missing = append(missing, l)
		}
	}
	return missing
}

// TestInputErrorsExit2 covers the user mistakes that used to exit 1 as if
// the machine had failed.
func TestInputErrorsExit2(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "cache")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"pull of a Hub repo without --layer", []string{"models", "pull", "--cache-dir", cache, "someone/x"}, "give --layer N"},
		{"pull of an unknown name", []string{"models", "pull", "--cache-dir", cache, "nosuchknown"}, `unknown model "nosuchknown"`},
		{"rm of a model not in the cache", []string{"models", "rm", "--cache-dir", cache, "nosuch"}, "not in the cache"},
		{"import without config.json", []string{"models", "import", t.TempDir(), "-o", t.TempDir(), "--layer", "1"}, "config.json"},
		{"threads beyond the machine", []string{"score", "--threads", "100000", "-c", "c.txt", "-r", "r.txt"}, "--threads 100000 is more than 4 ×"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", tc.args...)
			// Progress lines may come first; the error is one line.
			errLines := strings.Count(stderr, "bertbench: ")
			if code != exitUsage || errLines != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d (want %d), stderr %q (want one error line with %q)", code, exitUsage, stderr, tc.want)
			}
		})
	}
}

// TestWriteFailureIsARuntimeFailure: a disk that fills up while a model is
// imported is the machine's problem, not the user's: exit 1, not 2.
func TestWriteFailureIsARuntimeFailure(t *testing.T) {
	out := t.TempDir()
	cmd, _, stderr := startChildEnv(t, "main", []string{envChildFileLimit + "=4096"},
		"models", "import", "../../testdata/bertscore/tiny-mbert", "--layer", "3", "-o", out)
	if code := waitExit(t, cmd); code != exitFailure || !strings.Contains(stderr.String(), "file too large") {
		t.Errorf("exit %d (want %d); stderr: %s", code, exitFailure, stderr)
	}
}

// TestOneCacheRoot: models and responses share one root, from --cache-dir
// or $BERTBENCH_CACHE; the response cache's old variable is reported, not
// silently ignored.
func TestOneCacheRoot(t *testing.T) {
	root := t.TempDir()
	t.Setenv("BERTBENCH_CACHE", root)
	t.Setenv(envOldResponseCache, "")
	code, stdout, stderr := runCLI(t, "", "cache", "dir")
	if code != exitOK || strings.TrimSpace(stdout) != filepath.Join(root, "responses") || stderr != "" {
		t.Errorf("cache dir: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	t.Setenv(envOldResponseCache, "/old/responses")
	code, stdout, stderr = runCLI(t, "", "cache", "dir")
	if code != exitOK || strings.TrimSpace(stdout) != filepath.Join(root, "responses") ||
		!strings.Contains(stderr, "$BERTBENCH_CACHE_DIR (/old/responses) is no longer read") {
		t.Errorf("with the old variable: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, "", "models", "list", "--cache-dir", root)
	if code != exitOK || stdout != "" {
		t.Errorf("models list on the same root: exit %d, stdout %q", code, stdout)
	}
}
