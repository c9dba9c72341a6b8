package ollamatest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCleanEnvDropsCredentials: the server gets no OLLAMA_* settings, HOME,
// or credential from the test's environment.
func TestCleanEnvDropsCredentials(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-secret")
	t.Setenv("HF_TOKEN", "hf-secret")
	t.Setenv("OLLAMA_HOST", "example:1")
	t.Setenv("BERTBENCH_KEEP", "yes")
	env := cleanEnv()
	for _, kv := range env {
		if strings.Contains(kv, "secret") || strings.HasPrefix(kv, "OLLAMA_") || strings.HasPrefix(kv, "HOME=") {
			t.Errorf("server environment has %s", kv)
		}
	}
	if !slices.Contains(env, "BERTBENCH_KEEP=yes") {
		t.Error("ordinary variables dropped too")
	}
}

// TestSweepStale removes the folders of dead test processes only.
func TestSweepStale(t *testing.T) {
	tmp := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(name, owner string) string {
		d := filepath.Join(tmp, dirPrefix+name)
		os.MkdirAll(d, 0o755)
		if owner != "" {
			os.WriteFile(filepath.Join(d, ownerFile), []byte(owner), 0o644)
		}
		return d
	}
	stale := mk("stale", strconv.Itoa(dead.Process.Pid))
	live := mk("live", strconv.Itoa(os.Getpid()))
	unknown := mk("unknown", "")
	other := filepath.Join(tmp, "not-ours")
	os.MkdirAll(other, 0o755)
	sweepStale(tmp)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("a dead process's folder was kept")
	}
	for _, d := range []string{live, unknown, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s removed: %v", d, err)
		}
	}
}
