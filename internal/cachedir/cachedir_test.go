package cachedir

import "testing"

func TestRoot(t *testing.T) {
	for _, tc := range []struct {
		name, env, xdg, want string
	}{
		{"from the environment", "/data/bb", "/x/cache", "/data/bb"},
		{"user cache folder", "", "/x/cache", "/x/cache/bertbench"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(Env, tc.env)
			t.Setenv("XDG_CACHE_HOME", tc.xdg)
			got, err := Root()
			if err != nil || got != tc.want {
				t.Errorf("Root() = %q, %v; want %q", got, err, tc.want)
			}
			if r := Responses(got); r != tc.want+"/responses" {
				t.Errorf("Responses = %q", r)
			}
		})
	}
}
