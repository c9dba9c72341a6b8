package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/bertbench/bertbench/runners/faultserver"
)

// BenchmarkRunPeakRSS measures the peak resident memory of a whole
// `bertbench run` process (a child, as /usr/bin/time -v would: the
// kernel's maxrss) over a generated dataset of 10,000 and 100,000 items,
// two variations each, scored with the tiny fixture checkpoint: through
// the replay runner (which keeps 24 bytes an item of its recording), and
// through an OpenAI-compatible server (the fault server, in this process),
// where nothing the run holds grows with the dataset. docs/perf.md has
// the numbers.
//
//	go test -run '^$' -bench RunPeakRSS -benchtime 1x ./cmd/bertbench
func BenchmarkRunPeakRSS(b *testing.B) {
	for _, runner := range []string{"replay", "http"} {
		for _, n := range []int{10_000, 100_000} {
			b.Run(fmt.Sprintf("runner=%s/items=%d", runner, n), func(b *testing.B) {
				dir := b.TempDir()
				cfg := writeMemoryExperiment(b, dir, runner, n)
				for range b.N {
					rss := peakRSS(b, "run", cfg, "--out", filepath.Join(dir, "out"), "--no-cache", "--cache-dir", filepath.Join(dir, "cache"))
					b.ReportMetric(float64(rss)/1024, "peak-MiB")
					_ = os.RemoveAll(filepath.Join(dir, "out"))
				}
			})
		}
	}
}

// writeMemoryExperiment writes n items, the recordings or a server, and
// the config, and returns the config's path.
func writeMemoryExperiment(b *testing.B, dir, runner string, n int) string {
	b.Helper()
	write := func(name string, line func(i int) string) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriter(f)
		for i := range n {
			w.WriteString(line(i))
			w.WriteByte('\n')
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	write("src.txt", func(i int) string { return fmt.Sprintf("Sentence number %d is about the weather in the park.", i) })
	write("refs.txt", func(i int) string { return fmt.Sprintf("第 %d 句话是关于公园里的天气。", i) })
	ckpt, err := filepath.Abs("../../testdata/bertscore/tiny-mbert")
	if err != nil {
		b.Fatal(err)
	}
	var runners string
	switch runner {
	case "replay":
		for _, v := range []string{"a", "b"} {
			write(v+".jsonl", func(i int) string {
				out := fmt.Sprintf("第 %d 句是关于公园的天气。", i)
				if v == "b" && i%2 == 1 {
					out = fmt.Sprintf("公园的天气，第 %d 句。", i) // half the outputs the same as a's
				}
				line, _ := json.Marshal(map[string]any{"line": i + 1, "output": out})
				return string(line)
			})
		}
		runners = `
  - {name: a, spec: "replay:a.jsonl"}
  - {name: b, spec: "replay:b.jsonl"}`
	case "http":
		fs := faultserver.New()
		b.Cleanup(fs.Close)
		runners = fmt.Sprintf(`
  - {name: a, spec: "openai-compatible:fault-model@%[1]s/v1", concurrency: 4}
  - {name: b, spec: "openai-compatible:fault-model@%[1]s/v1", concurrency: 4}`, fs.URL)
	}
	cfg := filepath.Join(dir, "exp.yaml")
	text := fmt.Sprintf(`
dataset: {file: src.txt, reference_files: [refs.txt]}
to: Chinese
runners:%s
variations:
  - {name: a, runner: a, temperature: 0}
  - {name: b, runner: b, temperature: 0}
scoring: {import: "%s", layer: 3, idf: true}
`, runners, ckpt)
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		b.Fatal(err)
	}
	return cfg
}

// peakRSS runs bertbench with args in a child process and returns its
// peak resident set size in KiB.
func peakRSS(b *testing.B, args ...string) int64 {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	encoded, _ := json.Marshal(args)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envChild+"=main", envChildArgs+"="+string(encoded))
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("bertbench %v: %v\n%s", args, err, out)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		b.Fatal("no rusage")
	}
	return ru.Maxrss
}
