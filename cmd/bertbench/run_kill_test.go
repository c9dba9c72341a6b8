package main

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the store's driver, to watch the store from outside

	"github.com/bertbench/bertbench/runners/faultserver"
)

// gatedServer is an OpenAI-compatible server (the fault server's) that
// answers at most `allowed` calls in all and holds every further call
// until it is allowed or its client goes away. A call counts once it has
// been answered in full: a call held when its client is killed never
// counts, so that "calls answered" is exactly "calls a client could have
// stored".
type gatedServer struct {
	*httptest.Server
	mu                           sync.Mutex
	allowed                      int // < 0: no limit
	answered, answering, waiting int
}

func newGatedServer(t *testing.T, allowed int) *gatedServer {
	t.Helper()
	fs := faultserver.New()
	t.Cleanup(fs.Close)
	g := &gatedServer{allowed: allowed}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			fs.Config.Handler.ServeHTTP(w, r)
			return
		}
		counted := false
		for !counted {
			g.mu.Lock()
			if g.allowed < 0 || g.answered+g.answering < g.allowed {
				g.answering++
				counted = true
			} else {
				g.waiting++
			}
			g.mu.Unlock()
			if counted {
				break
			}
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Millisecond):
			}
			g.mu.Lock()
			g.waiting--
			g.mu.Unlock()
			if r.Context().Err() != nil {
				return
			}
		}
		fs.Config.Handler.ServeHTTP(w, r)
		g.mu.Lock()
		g.answering--
		if r.Context().Err() == nil {
			g.answered++
		}
		g.mu.Unlock()
	}))
	t.Cleanup(g.Close)
	return g
}

// state returns the calls answered, being answered and held.
func (g *gatedServer) state() (answered, answering, waiting int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.answered, g.answering, g.waiting
}

func (g *gatedServer) open() {
	g.mu.Lock()
	g.allowed = -1
	g.mu.Unlock()
}

// killConfig is an experiment of two variations over 12 items, each asked
// twice, through the server at %[1]s, scored with the tiny checkpoint at
// %[2]s: 48 generations.
const killConfig = `
dataset: {file: src.txt, reference_files: [refs.txt]}
to: Chinese
runners:
  - {name: srv, spec: "openai-compatible:fault-model@%[1]s/v1", concurrency: 4, retries: 1}
variations:
  - {name: cold, runner: srv, temperature: 0}
  - {name: warm, runner: srv, temperature: 0.8}
repeat: 2
scoring: {import: "%[2]s", layer: 3, idf: true}
`

const killItems, killGenerations = 12, 12 * 2 * 2

// writeKillExperiment writes the items and the config into dir.
func writeKillExperiment(t *testing.T, dir, serverURL string) string {
	t.Helper()
	var src, refs []string
	for i := range killItems {
		src = append(src, fmt.Sprintf("sentence %d to translate", i))
		refs = append(refs, fmt.Sprintf("第 %d 句", i))
	}
	writeLines(t, dir, "src.txt", src)
	writeLines(t, dir, "refs.txt", refs)
	ckpt, err := filepath.Abs("../../testdata/bertscore/tiny-mbert")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "exp.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(killConfig, serverURL, ckpt)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// storeCounts reads, from outside the process writing it, how many
// generations, distinct keys, scores and scorings the store at path holds
// (zeros while it does not exist yet).
func storeCounts(t *testing.T, path string) (gens, distinct, scores, scorings int) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		return 0, 0, 0, 0
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: "mode=ro&_pragma=busy_timeout(5000)"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.QueryRow(`SELECT (SELECT COUNT(*) FROM generations),
		(SELECT COUNT(*) FROM (SELECT DISTINCT variation, item, rep FROM generations)),
		(SELECT COUNT(*) FROM scores), (SELECT COUNT(*) FROM scorings)`).Scan(&gens, &distinct, &scores, &scorings)
	if err != nil {
		return 0, 0, 0, 0 // the schema is being made
	}
	return gens, distinct, scores, scorings
}

// waitFor polls cond every few milliseconds for up to childWaitLimit.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(childWaitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", childWaitLimit, what)
		}
		time.Sleep(3 * time.Millisecond)
	}
}

// TestRunKill9Resume kills `bertbench run` (a real process, SIGKILL) at
// several points, then runs it again with --resume: the store holds every
// (variation, item, repeat) exactly once, scored once, and the calls the
// server answered equal the generations (no call made twice). The
// response cache is off, so that the store alone decides what is done.
func TestRunKill9Resume(t *testing.T) {
	for _, tc := range []struct {
		name string
		// allow is how many calls the server answers before the kill
		// (-1: all); stored is how many generations the store must hold
		// when the process is killed; scoring: wait for the scoring
		// phase to begin.
		allow, stored int
		scoring       bool
	}{
		{"before the first output", 0, 0, false},
		{"after one output", 1, 1, false},
		{"half way", killGenerations / 2, killGenerations / 2, false},
		{"one output left", killGenerations - 1, killGenerations - 1, false},
		{"while scoring", -1, killGenerations, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newGatedServer(t, tc.allow)
			dir := t.TempDir()
			cfg := writeKillExperiment(t, dir, srv.URL)
			out := filepath.Join(dir, "out")
			db := filepath.Join(out, "results.db")
			args := []string{"run", cfg, "--out", out, "--no-cache", "--cache-dir", filepath.Join(dir, "cache")}

			cmd, stdout, stderr := startChild(t, "main", args...)
			go io.Copy(io.Discard, stdout)
			waitFor(t, "the outputs to be stored", func() bool {
				gens, _, _, scorings := storeCounts(t, db)
				if gens < tc.stored {
					return false
				}
				if tc.scoring {
					return scorings > 0
				}
				// Nothing is being answered: every further call is held.
				answered, answering, waiting := srv.state()
				return answered == tc.stored && answering == 0 && (waiting > 0 || tc.stored == killGenerations)
			})
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Logf("kill: %v (the run had ended)", err)
			}
			_ = cmd.Wait()
			before, _, _ := srv.state()
			gens, _, scores, _ := storeCounts(t, db)
			t.Logf("killed with %d generations and %d scores stored, %d calls answered; stderr: %s", gens, scores, before, stderr)
			if gens < tc.stored || (!tc.scoring && gens != before) {
				t.Fatalf("killed with %d generations stored and %d calls answered, want %d of each", gens, before, tc.stored)
			}

			srv.open()
			again, stdout2, stderr2 := startChild(t, "main", append(args, "--resume")...)
			report, _ := io.ReadAll(stdout2)
			if code := waitExit(t, again); code != 0 {
				t.Fatalf("resume: exit %d\nstdout: %s\nstderr: %s", code, report, stderr2)
			}
			gens, distinct, scores, scorings := storeCounts(t, db)
			answered, _, _ := srv.state()
			if gens != killGenerations || distinct != killGenerations || scores != killGenerations || scorings != 1 {
				t.Errorf("after the resume: %d generations (%d distinct), %d scores, %d scorings; want %d, %d, %d, 1",
					gens, distinct, scores, scorings, killGenerations, killGenerations, killGenerations)
			}
			if answered != killGenerations {
				t.Errorf("the server answered %d calls for %d generations: some were made twice", answered, killGenerations)
			}
			code, stdout3, stderr3 := runCLI(t, "", "runs", "show", "--store", out)
			if code != 0 {
				t.Fatalf("runs show: %d %s", code, stderr3)
			}
			if want := fmt.Sprintf("generations\t%d of %d (0 failed)", killGenerations, killGenerations); !containsTabbed(stdout3, want) {
				t.Errorf("runs show:\n%s", stdout3)
			}
		})
	}
}

// containsTabbed reports whether s holds want with its tabs as any run of
// spaces (tabwriter output).
func containsTabbed(s, want string) bool {
	for _, line := range splitLines(s) {
		if collapse(line) == collapse(want) {
			return true
		}
	}
	return false
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := range len(s) {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func collapse(s string) string {
	var b []byte
	space := false
	for i := range len(s) {
		c := s[i]
		if c == ' ' || c == '\t' {
			space = true
			continue
		}
		if space && len(b) > 0 {
			b = append(b, ' ')
		}
		space = false
		b = append(b, c)
	}
	return string(b)
}

// TestRunInterrupt: Ctrl-C while calls are held stops the run with 130,
// keeps what finished, records the run as interrupted and says how to go
// on; the resume then completes it.
func TestRunInterrupt(t *testing.T) {
	srv := newGatedServer(t, 3)
	dir := t.TempDir()
	cfg := writeKillExperiment(t, dir, srv.URL)
	out := filepath.Join(dir, "out")
	args := []string{"run", cfg, "--out", out, "--no-cache", "--cache-dir", filepath.Join(dir, "cache")}
	cmd, stdout, stderr := startChild(t, "main", args...)
	go io.Copy(io.Discard, stdout)
	waitFor(t, "three outputs stored and a call held", func() bool {
		gens, _, _, _ := storeCounts(t, filepath.Join(out, "results.db"))
		_, _, waiting := srv.state()
		return gens == 3 && waiting > 0
	})
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd); code != exitInterrupted {
		t.Fatalf("exit %d, want %d; stderr: %s", code, exitInterrupted, stderr)
	}
	if want := "continue with: bertbench run " + cfg + " --out " + out + " --resume"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q lacks %q", stderr, want)
	}
	code, list, _ := runCLI(t, "", "runs", "list", "--store", out)
	if code != 0 || !strings.Contains(list, "interrupted") || !strings.Contains(list, fmt.Sprintf("3/%d", killGenerations)) {
		t.Errorf("runs list: %s", list)
	}
	srv.open()
	again, _, stderr2 := startChild(t, "main", append(args, "--resume")...)
	if code := waitExit(t, again); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr2)
	}
	if answered, _, _ := srv.state(); answered != killGenerations {
		t.Errorf("%d calls answered for %d generations", answered, killGenerations)
	}
}
