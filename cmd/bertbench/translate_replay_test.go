package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestTranslateReplay: translate with a replay runner answers each line
// from the recording by the line's item id (its given id, else L<line>),
// marks the lines replayed, and names an item the recording lacks.
func TestTranslateReplay(t *testing.T) {
	dir := t.TempDir()
	rec := writeTranslateInput(t, filepath.Join(dir, "rec.jsonl"),
		`{"id":"a","output":"甲","latency_ms":250}`+"\n"+`{"line":2,"output":"乙"}`+"\n"+`{"id":7,"output":"七"}`+"\n")

	t.Run("ByGivenIDAndByLine", func(t *testing.T) {
		in := writeTranslateInput(t, filepath.Join(dir, "in.jsonl"), `{"id":"a","source":"A"}`+"\n"+`{"source":"B"}`+"\n"+`{"id":7,"source":"C"}`+"\n")
		code, stdout, stderr := translateCLI(context.Background(), "translate", "--to", "Chinese", "--runner", "replay:"+rec, "-i", in)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		res := readResultsRaw(t, stdout)
		for n, want := range map[int]string{1: "甲", 2: "乙", 3: "七"} {
			if res[n]["output"] != want || res[n]["replayed"] != true || res[n]["cached"] != nil || res[n]["runner"] != "replay:"+rec {
				t.Errorf("line %d: %v, want output %q, replayed", n, res[n], want)
			}
		}
		if !strings.Contains(stderr, "3 replayed (not in the latency figures)") || !strings.Contains(stderr, "0 live calls") {
			t.Errorf("summary does not count the replayed lines apart:\n%s", stderr)
		}
	})
	t.Run("MissingItem", func(t *testing.T) {
		in := writeTranslateInput(t, filepath.Join(dir, "more.txt"), "x\ny\nz\nw\n")
		code, stdout, stderr := translateCLI(context.Background(), "translate", "--to", "Chinese", "--runner", "replay:"+rec, "-i", in)
		if code != 1 {
			t.Fatalf("exit %d, want 1: %s", code, stderr)
		}
		res := readResultsRaw(t, stdout)
		if res[2]["output"] != "乙" {
			t.Errorf("line 2: %v", res[2])
		}
		for _, n := range []int{1, 3, 4} {
			msg, _ := res[n]["error"].(string)
			if !strings.Contains(msg, rec) || !strings.Contains(msg, `"L`) || res[n]["attempts"] != float64(0) {
				t.Errorf("line %d: error %q (attempts %v), want no call and an error naming the file and the item", n, msg, res[n]["attempts"])
			}
		}
	})
}
