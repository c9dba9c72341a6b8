package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/runners/gguf"
)

// TestAdaptersCreateInputErrors: an --adapter that is missing, not a GGUF
// file, or a model rather than an adapter is the user's input error: exit
// 2 with one line naming the file, before any server is asked.
func TestAdaptersCreateInputErrors(t *testing.T) {
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte("remember the milk\n"), 0o644)
	model := filepath.Join(dir, "model.gguf")
	f, err := os.Create(model)
	if err != nil {
		t.Fatal(err)
	}
	if err := gguf.WriteTinyLlama(f, gguf.LlamaConfig{Seed: 1}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	peft := filepath.Join(dir, "peft")
	os.Mkdir(peft, 0o755)
	for _, tc := range []struct {
		name, adapter, want string
	}{
		{"missing file", filepath.Join(dir, "nosuch.gguf"), "no such file"},
		{"not a GGUF file", notes, "not a GGUF file"},
		{"a model, not an adapter", model, `general.type is "model"`},
		{"empty PEFT folder", peft, "adapter_config.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Nothing listens at the host: input errors come first.
			code, stdout, stderr := translateCLI(context.Background(), "adapters", "create", "--host", "http://"+closedPort(t),
				"--name", "tiny-ft5", "--base", "tiny", "--adapter", tc.adapter)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, tc.adapter) || !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q, want one line naming %s and saying %q", stderr, tc.adapter, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
		})
	}
}
