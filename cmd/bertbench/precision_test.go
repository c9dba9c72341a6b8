package main

import (
	"strings"
	"testing"

	"github.com/bertbench/bertbench/modelspec"
)

// TestHelpStatesPrecisionBounds: the help of every command that builds or
// reads an encoder's precision states the declared bounds, from
// modelspec's constants.
func TestHelpStatesPrecisionBounds(t *testing.T) {
	want := []string{"<= " + shortFloat(modelspec.BoundFP16), "<= " + shortFloat(modelspec.BoundINT8)}
	if want[0] != "<= 1e-3" || want[1] != "<= 5e-3" {
		t.Errorf("bounds written %q", want)
	}
	for _, cmd := range [][]string{
		{"score"}, {"models", "import"}, {"models", "pull"}, {"models", "synth"}, {"bench", "scorer"},
	} {
		code, stdout, stderr := runCLI(t, "", append(cmd, "--help")...)
		text := strings.Join(strings.Fields(stdout), " ")
		for _, w := range want {
			if code != exitOK || !strings.Contains(text, "|ΔF| "+w+" against fp32") {
				t.Errorf("%v --help: exit %d, lacks %q (stderr %q)", cmd, code, "|ΔF| "+w, stderr)
			}
		}
	}
}
