package ollamatest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTools is a folder that is the whole PATH of the install script: the
// real shell utilities it needs, and stand-ins for the tools whose effects
// a test must not have (apt-get, dpkg-query, id, go, g++). Each stand-in
// appends its command line to calls.log.
type fakeTools struct {
	dir, log string
}

func newFakeTools(t *testing.T) *fakeTools {
	t.Helper()
	f := &fakeTools{dir: t.TempDir()}
	f.log = filepath.Join(f.dir, "calls.log")
	for _, tool := range []string{"bash", "dirname", "mkdir", "mktemp", "rm", "nice", "cat", "chmod"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s not found: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(f.dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// tool writes a stand-in: a bash script that logs its name and arguments,
// then runs body.
func (f *fakeTools) tool(t *testing.T, name, body string) {
	t.Helper()
	script := "#!" + filepath.Join(f.dir, "bash") + "\necho \"" + name + " $*\" >>" + f.log + "\n" + body + "\n"
	if err := os.WriteFile(filepath.Join(f.dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

func (f *fakeTools) calls() []string {
	b, _ := os.ReadFile(f.log)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// fakeOllama is a binary that reports version v the way ollama does.
func fakeOllama(v string) string {
	return "echo 'Warning: could not connect to a running Ollama instance'; echo 'Warning: client version is " + v + "'"
}

// TestInstallScript runs scripts/install-ollama.sh with stand-in tools: it
// is cached, installs what a clean machine lacks (apt-get update first) as
// root, tells other users what to install, and fails loudly.
func TestInstallScript(t *testing.T) {
	script, err := filepath.Abs("../../scripts/install-ollama.sh")
	if err != nil {
		t.Fatal(err)
	}
	// goBuilds is a `go` whose install writes a fake ollama reporting v.
	goBuilds := func(v string) string {
		return `[ "$1" = install ] || exit 0
out="$GOBIN/ollama"
printf '#!%s\n%s\n' "$(command -v bash)" "` + fakeOllama(v) + `" >"$out"
chmod +x "$out"
echo "GOBIN=$GOBIN GOWORK=$GOWORK GOFLAGS=$GOFLAGS CGO_CPPFLAGS=$CGO_CPPFLAGS" >>` + "$(dirname \"$0\")/calls.log"
	}
	for _, tc := range []struct {
		name      string
		uid       string
		installed bool   // dpkg-query reports the header packages installed
		gxx       bool   // a g++ is on PATH
		goBody    string // "" means no go on PATH
		preBuilt  string // a binary already in place reporting this version
		wantCode  int
		wantErr   string
		wantCalls []string // prefixes of the logged calls, in order
		noCall    []string // tools that must not run
	}{
		{name: "cached", preBuilt: "0.24.0", wantCalls: []string{}, noCall: []string{"go", "apt-get", "dpkg-query"}},
		{name: "clean machine as root", uid: "0", goBody: goBuilds("0.24.0"),
			wantCalls: []string{"dpkg-query", "dpkg-query", "id -u", "apt-get update",
				"apt-get install -y -qq --no-install-recommends g++ nlohmann-json3-dev libstb-dev", "go install", "GOBIN="}},
		{name: "wrong version is rebuilt", preBuilt: "0.23.0", uid: "1000", installed: true, gxx: true, goBody: goBuilds("0.24.0"),
			wantCalls: []string{"dpkg-query", "dpkg-query", "go install"}, noCall: []string{"apt-get", "id"}},
		{name: "not root", uid: "1000", goBody: goBuilds("0.24.0"), wantCode: 1,
			wantErr: "run 'sudo apt-get update && sudo apt-get install -y g++ nlohmann-json3-dev libstb-dev'", noCall: []string{"apt-get", "go install"}},
		{name: "no go", uid: "0", wantCode: 1, wantErr: "Go is required", noCall: []string{"apt-get"}},
		{name: "build fails", uid: "0", installed: true, gxx: true, goBody: `[ "$1" = install ] && exit 2`, wantCode: 1,
			wantErr: "building ollama 0.24.0 failed"},
		{name: "built binary is wrong", uid: "0", installed: true, gxx: true, goBody: goBuilds("0.0.0"), wantCode: 1,
			wantErr: "does not report version 0.24.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeTools(t)
			status := "deinstall ok config-files" // removed, configuration left: not installed
			if tc.installed {
				status = "install ok installed"
			}
			f.tool(t, "dpkg-query", "printf '%s' '"+status+"'")
			f.tool(t, "id", "echo "+tc.uid)
			f.tool(t, "apt-get", "exit 0")
			if tc.gxx {
				f.tool(t, "g++", "exit 0")
			}
			if tc.goBody != "" {
				f.tool(t, "go", tc.goBody)
			}
			dest := filepath.Join(t.TempDir(), "ollama")
			if tc.preBuilt != "" {
				os.MkdirAll(dest, 0o755)
				os.WriteFile(filepath.Join(dest, "ollama"), []byte("#!"+filepath.Join(f.dir, "bash")+"\n"+fakeOllama(tc.preBuilt)+"\n"), 0o755)
			}
			cmd := exec.Command(filepath.Join(f.dir, "bash"), script, dest)
			cmd.Env = []string{"PATH=" + f.dir, "HOME=" + t.TempDir(), "GOFLAGS=-mod=vendor", "CGO_CPPFLAGS=-DUSER_FLAG"}
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode || !strings.Contains(string(out), tc.wantErr) {
				t.Fatalf("exit %d (want %d), output:\n%s\nwant it to contain %q", code, tc.wantCode, out, tc.wantErr)
			}
			calls := f.calls()
			if len(tc.wantCalls) == 0 && tc.wantCalls != nil && calls[0] != "" {
				t.Errorf("calls %q, want none", calls)
			}
			i := 0
			for _, c := range calls {
				if i < len(tc.wantCalls) && strings.HasPrefix(c, tc.wantCalls[i]) {
					i++
				}
				for _, no := range tc.noCall {
					if strings.HasPrefix(c, no) {
						t.Errorf("%q ran: %q", no, c)
					}
				}
			}
			if i < len(tc.wantCalls) {
				t.Errorf("calls %q, want %q in this order", calls, tc.wantCalls)
			}
			if tc.wantCode == 0 {
				bin := filepath.Join(dest, "ollama")
				if got, _ := exec.Command(bin, "--version").CombinedOutput(); !strings.Contains(string(got), "client version is 0.24.0") {
					t.Errorf("%s --version: %s", bin, got)
				}
				for _, c := range calls {
					if strings.HasPrefix(c, "GOBIN=") && (!strings.Contains(c, "GOWORK=off GOFLAGS= ") || !strings.Contains(c, "-DUSER_FLAG") || !strings.Contains(c, "ollama-build")) {
						t.Errorf("go install environment: %s", c)
					}
				}
			}
		})
	}
}
