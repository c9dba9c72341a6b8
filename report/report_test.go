package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/bertbench/bertbench/compare"
)

func render(t *testing.T, r Reporter) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := r(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestJSONReport(t *testing.T) {
	c := testComparison(t)
	got := render(t, NewJSONReporter(c))
	golden(t, "report.golden.json", got)

	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(compare.JSONSchema()))
	if err != nil {
		t.Fatal(err)
	}
	comp := jsonschema.NewCompiler()
	const url = "https://github.com/bertbench/bertbench/compare/schema.json"
	if err := comp.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := comp.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("the JSON report does not match compare's schema: %v", err)
	}
	if bytes.Contains(got, []byte("<script")) {
		t.Error("the JSON holds <script unescaped")
	}
	var back compare.Comparison
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if back.Schema != compare.SchemaID || back.Items[4].Sides[1].Outputs[0] != xss || len(back.Items) != testItems {
		t.Errorf("the JSON does not read back: schema %q, item-04 tuned %q, %d items", back.Schema, back.Items[4].Sides[1].Outputs, len(back.Items))
	}
}

func TestMarkdownReport(t *testing.T) {
	c := testComparison(t)
	got := render(t, NewMarkdownReporter(c, WithGates(testGates(t, c))))
	golden(t, "report.golden.md", got)
	md := string(got)
	for _, bad := range []string{"<script", "<img", "<b>", "@octocat", "[link](", "**bold**"} {
		if strings.Contains(md, bad) {
			t.Errorf("the Markdown holds %q unescaped", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert\\(1\\)&lt;/script&gt;", "@\u2060octocat", "\\*\\*bold\\*\\*", "### ❌ thresholds: 3 of 10 failed"} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown lacks %q", want)
		}
	}
	// Every row of a table has as many cells as its header: no text
	// opened another cell.
	var cells int
	for i, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			cells = 0
			continue
		}
		n := tableCells(line)
		if cells == 0 {
			cells = n
		} else if n != cells {
			t.Errorf("line %d has %d cells, its table %d: %s", i+1, n, cells, line)
		}
	}
}

// tableCells counts a GFM table row's cells: its unescaped pipes less one.
func tableCells(line string) int {
	n := 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case '|':
			n++
		}
	}
	return n - 1
}

func TestCSVReport(t *testing.T) {
	c := testComparison(t)
	got := render(t, NewCSVReporter(c))
	recs, err := csv.NewReader(bytes.NewReader(got)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + testItems*3; len(recs) != want {
		t.Fatalf("%d records, want %d (a header, then one per item and variation)", len(recs), want)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	find := func(item, variation string) []string {
		for _, r := range recs[1:] {
			if r[col["item"]] == item && r[col["variation"]] == variation {
				return r
			}
		}
		t.Fatalf("no row for %s on %s", item, variation)
		return nil
	}
	if r := find("item-03", "base"); r[col["source"]] != "'"+hostileSource {
		t.Errorf("a source starting with = is %q, want it behind a '", r[col["source"]])
	}
	if r := find("item-05", "base"); r[col["references"]] != "'-2+3 参考\n第二个参考" {
		t.Errorf("references %q", r[col["references"]])
	}
	if r := find("item-04", "tuned"); r[col["output"]] != xss || r[col["delta_f"]] != "-0.01" && !strings.HasPrefix(r[col["delta_f"]], "-0.0") {
		t.Errorf("item-04 on tuned: output %q, delta_f %q (a negative number stays a number)", r[col["output"]], r[col["delta_f"]])
	}
	if r := find("item-09", "api"); r[col["errors"]] != "1" || r[col["f"]] != "" || r[col["compared"]] != "false" || r[col["latency_ms"]] != "" {
		t.Errorf("the failed item-09 on api: %v", r)
	}
	if r := find("item-00", "api"); r[col["latency_ms"]] != "800" || r[col["baseline"]] != "false" || r[col["f"]] == "" {
		t.Errorf("item-00 on api: %v", r)
	}
	if r := find("item-06", "tuned"); r[col["flags"]] != "wrong_language" {
		t.Errorf("item-06 on tuned: flags %q", r[col["flags"]])
	}
}

func TestTextReport(t *testing.T) {
	c := testComparison(t)
	got := string(render(t, NewTextReporter(c, WithGates(testGates(t, c)))))
	for _, want := range []string{
		"baseline study:base; scoring 7f3a9c1e5b2d4f6a8c0e; 95 % CI, bootstrap over items, 1000 resamples, 1000 permutations, seed 1",
		"items    23 compared of 24; left out item-09",
		"study:tuned vs study:base",
		"items on F: 17 wins, 0 ties, 6 losses",
		"thresholds: 3 of 10 failed",
		"✗ latency.p95<=1000  study:api",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the text report lacks %q:\n%s", want, got)
		}
	}
	// A name with terminal controls is escaped.
	c.Sides[1].Side.Variation = "tuned\x1b[31m\u202e"
	got = string(render(t, NewTextReporter(c)))
	if strings.ContainsAny(got, "\x1b\u202e") || !strings.Contains(got, `tuned\u001b[31m\u202e`) {
		t.Errorf("control characters were not escaped:\n%s", got)
	}
}

func TestNew(t *testing.T) {
	c := testComparison(t)
	for _, f := range Formats {
		r, err := New(f, c)
		if err != nil {
			t.Fatal(err)
		}
		if out := render(t, r); len(out) == 0 {
			t.Errorf("%s: empty report", f)
		}
	}
	if _, err := New("xml", c); err == nil || !strings.Contains(err.Error(), "want text, json, csv, markdown or html") {
		t.Errorf("unknown format: %v", err)
	}
}

func TestEscape(t *testing.T) {
	for _, tt := range []struct{ in, md, csv, term string }{
		{"plain 中文", "plain 中文", "plain 中文", "plain 中文"},
		{"=1+1", "=1\\+1", "'=1+1", "=1+1"},
		{"+cmd", "\\+cmd", "'+cmd", "+cmd"},
		{"-2", "\\-2", "'-2", "-2"},
		{"@SUM(A1)", "@\u2060SUM\\(A1\\)", "'@SUM(A1)", "@SUM(A1)"},
		{"\tx", " x", "'\tx", `\u0009x`},
		{"a|b", "a\\|b", "a|b", "a|b"},
		{"<i>&</i>", "&lt;i&gt;&amp;&lt;/i&gt;", "<i>&</i>", "<i>&</i>"},
		{"line1\r\nline2", "line1<br>line2", "line1\r\nline2", `line1\u000d\u000aline2`},
		{"`code` $x$ :smile:", "\\`code\\` \\$x\\$ \\:smile\\:", "`code` $x$ :smile:", "`code` $x$ :smile:"},
		{"\x1b[2J\u202eevil", "\\[2Jevil", "\x1b[2J\u202eevil", `\u001b[2J\u202eevil`},
		{"bad\xff", "bad\uFFFD", "bad\xff", `bad\xff`},
		// A formula behind white space, which some importers trim first.
		{" =HYPERLINK(1)", " =HYPERLINK\\(1\\)", "' =HYPERLINK(1)", " =HYPERLINK(1)"},
		{"\n=1", "<br>=1", "'\n=1", `\u000a=1`},
		// No autolinks: a word joiner after a dot before a letter breaks
		// www. and domain names; numbers keep their dots.
		{"see www.evil.example/x 0.5", "see www.\u2060evil.\u2060example/x 0.5", "see www.evil.example/x 0.5", "see www.evil.example/x 0.5"},
	} {
		if got := mdText(tt.in, 0); got != tt.md {
			t.Errorf("mdText(%q) = %q, want %q", tt.in, got, tt.md)
		}
		if got := csvText(tt.in); got != tt.csv {
			t.Errorf("csvText(%q) = %q, want %q", tt.in, got, tt.csv)
		}
		if got := termSafe(tt.in); got != tt.term {
			t.Errorf("termSafe(%q) = %q, want %q", tt.in, got, tt.term)
		}
	}
	if got := mdText("一二三四五", 3); got != "一二三…" {
		t.Errorf("cut: %q", got)
	}
}
