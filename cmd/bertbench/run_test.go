package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bertbench/bertbench/runners/faultserver"
)

// exportedRow is the part of a `runs export` JSONL line the tests read.
type exportedRow struct {
	Variation string `json:"variation"`
	Item      string `json:"item"`
	Repeat    int    `json:"repeat"`
	Output    string `json:"output"`
	Error     string `json:"error"`
	Scores    []struct {
		Scoring string   `json:"scoring"`
		F       *float64 `json:"f"`
	} `json:"scores"`
}

// exportRows reads the latest run of the store in dir through `runs
// export`.
func exportRows(t *testing.T, dir string) []exportedRow {
	t.Helper()
	code, stdout, stderr := runCLI(t, "", "runs", "export", "--store", dir, "--format", "jsonl")
	if code != 0 {
		t.Fatalf("runs export: exit %d: %s", code, stderr)
	}
	var rows []exportedRow
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r exportedRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		rows = append(rows, r)
	}
	return rows
}

// TestRunDemoCLI: `bertbench run examples/demo.yaml` (the replayed
// systems, the bundled checkpoint built into the output folder) prints
// the per-variation table and leaves the store, which the runs commands
// read; --resume then finds everything done.
func TestRunDemoCLI(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runCLI(t, "", "run", "../../examples/demo.yaml", "--out", out, "--no-cache")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, want := range []string{"VARIATION", "P RESC.", "LATENCY P50", "FLAGS", "llama2-base", "llama2-lora", "gpt-3.5-turbo", "20/20",
		"empty 1", filepath.Join(out, "results.db"), "60 of 60 generations stored now"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "built the scoring model") {
		t.Errorf("stderr %q", stderr)
	}
	rows := exportRows(t, out)
	if len(rows) != 60 {
		t.Fatalf("%d rows exported, want 60", len(rows))
	}
	for _, r := range rows {
		if r.Error != "" || len(r.Scores) != 1 || r.Scores[0].F == nil {
			t.Errorf("row %+v", r)
		}
	}
	code, stdout, stderr = runCLI(t, "", "runs", "show", "--store", out)
	if code != 0 || !strings.Contains(stdout, "generations\t60 of 60") && !strings.Contains(stdout, "60 of 60") {
		t.Errorf("runs show: exit %d\n%s%s", code, stdout, stderr)
	}

	// Flags may come before or after the config.
	code, stdout, stderr = runCLI(t, "", "run", "--no-cache", "../../examples/demo.yaml", "--resume", "-o", out)
	if code != 0 || !strings.Contains(stdout, "resumed run") || !strings.Contains(stdout, "0 of 60 generations stored now (60 kept from before") {
		t.Errorf("resume: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if rows := exportRows(t, out); len(rows) != 60 {
		t.Errorf("%d rows after the resume, want 60", len(rows))
	}
}

// TestRunCLIInputErrors: a config problem is one line per problem,
// FILE:LINE:COL first, exit 2, nothing on stdout.
func TestRunCLIInputErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "exp.yaml")
	if err := os.WriteFile(bad, []byte("runners: [{name: r, spec: \"replay:x.jsonl\"}]\nvariations:\n  - name: v\n    runner: r\n    tempreature: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown field", []string{"run", bad, "--out", dir}, bad + `:5:5: variations[0].tempreature: unknown field; did you mean "temperature"?`},
		{"no such file", []string{"run", filepath.Join(dir, "none.yaml")}, "none.yaml: cannot read the config"},
		{"two configs", []string{"run", bad, bad}, "want one CONFIG file, got 2 arguments"},
		{"unknown flag after the config", []string{"run", bad, "--bogus"}, "unknown flag --bogus"},
		{"resume without a run", []string{"run", "../../examples/demo.yaml", "--out", dir, "--resume", "--no-cache"}, "nothing to resume"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tc.args...)
			if code != exitUsage || stdout != "" || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") < 1 {
				t.Errorf("exit %d (want 2), stdout %q, stderr %q (want %q)", code, stdout, stderr, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "results.db")); err == nil {
		t.Error("a failed resume made a store")
	}
}

// TestRunGates: run checks its thresholds on the finished run: exit 0 when
// all hold, 3 when one fails (each printed with its number), 2 for a
// threshold that does not parse, before anything runs.
func TestRunGates(t *testing.T) {
	out := t.TempDir()
	base := []string{"run", "../../examples/demo.yaml", "--out", out, "--no-cache"}
	code, _, stderr := runCLI(t, "", append(base, "--fail-under", "F>=0.75", "--max-regression", "F:-0.05")...)
	if code != exitOK || !strings.Contains(stderr, "✓ F>=0.75") || !strings.Contains(stderr, "✓ F:-0.05") {
		t.Fatalf("passing gates: exit %d, stderr %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "", append(base, "--resume", "--fail-under", "F>=0.9")...)
	if code != exitGate || !strings.Contains(stderr, "✗ F>=0.9") || !strings.Contains(stderr, "llama2-lora  0.7972") {
		t.Fatalf("failing gate: exit %d (want %d), stderr %s", code, exitGate, stderr)
	}
	code, _, stderr = runCLI(t, "", append(base, "--resume", "--fail-under", "G>=1")...)
	if code != exitUsage || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("bad threshold: exit %d (want %d), stderr %q", code, exitUsage, stderr)
	}
}

// TestRunGatesDecideOverFailedCalls: without gates a failed call makes run
// exit 1; with gates the failed calls are reported and the thresholds
// (error_rate among them) decide: 0 when they hold, 3 when one fails.
func TestRunGatesDecideOverFailedCalls(t *testing.T) {
	for _, tc := range []struct {
		name  string
		gates []string
		want  int
	}{
		{"no gates", nil, exitFailure},
		{"error rate tolerated", []string{"--threshold", "error_rate<=0.05"}, exitOK},
		{"error rate too high", []string{"--threshold", "error_rate<=0.01"}, exitGate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := faultserver.New(faultserver.OK, faultserver.BadRequest) // one call of 24 fails
			defer srv.Close()
			dir := t.TempDir()
			cfg := writeKillExperiment(t, dir, srv.URL)
			// One variation: the gates apply to the only side there is.
			data, err := os.ReadFile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			one := strings.Replace(string(data), "  - {name: warm, runner: srv, temperature: 0.8}\n", "", 1)
			if one == string(data) {
				t.Fatal("the experiment's second variation was not found")
			}
			if err := os.WriteFile(cfg, []byte(one), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"run", cfg, "--out", filepath.Join(dir, "out"), "--no-cache"}, tc.gates...)
			code, stdout, stderr := runCLI(t, "", args...)
			if code != tc.want {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.want, stdout, stderr)
			}
			if tc.gates != nil && !strings.Contains(stderr, "1 of 24 calls failed") {
				t.Errorf("the failed call is not reported: %s", stderr)
			}
		})
	}
}
