// Package cachedir names bertbench's one cache root, shared by the model
// cache (pulled checkpoints and built encoders) and the response cache
// (model outputs of translate): $BERTBENCH_CACHE, else the user cache
// folder's bertbench ($XDG_CACHE_HOME/bertbench, ~/.cache/bertbench on
// Linux).
//
//	<root>/models/, <root>/checkpoints/   the model cache
//	<root>/responses/                     the response cache
package cachedir

import (
	"fmt"
	"os"
	"path/filepath"
)

// Env is the environment variable that sets the cache root.
const Env = "BERTBENCH_CACHE"

// ResponsesDir is the response cache's folder under the root.
const ResponsesDir = "responses"

// Root returns $BERTBENCH_CACHE, else the user cache folder + "/bertbench".
func Root() (string, error) {
	if d := os.Getenv(Env); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder: %w (set %s or pass --cache-dir)", err, Env)
	}
	return filepath.Join(d, "bertbench"), nil
}

// Responses returns the response cache folder under root.
func Responses(root string) string { return filepath.Join(root, ResponsesDir) }
