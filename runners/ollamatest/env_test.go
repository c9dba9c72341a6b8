package ollamatest

import (
	"slices"
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
