package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// artifactDir is where tests leave files for people to look at (the HTML
// report, its screenshot): $BERTBENCH_TEST_ARTIFACTS, else .artifacts/ at
// the repository's root (git-ignored).
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BERTBENCH_TEST_ARTIFACTS")
	if dir == "" {
		root, err := filepath.Abs("..")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
			t.Fatalf("no go.mod above %s: set BERTBENCH_TEST_ARTIFACTS", root)
		}
		dir = filepath.Join(root, ".artifacts")
	}
	dir = filepath.Join(dir, "report")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestHTMLReport_Static checks the page as bytes: one file with nothing to
// fetch, the CSP naming the one script by its hash, the data block unable
// to end its script element, and the hostile output never as markup.
func TestHTMLReport_Static(t *testing.T) {
	c := testComparison(t)
	page := render(t, NewHTMLReporter(c, WithGates(testGates(t, c))))
	s := string(page)

	scripts := regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(s, -1)
	if len(scripts) != 2 || scripts[0][1] != ` type="application/json" id="bertbench-data"` || scripts[1][1] != "" {
		t.Fatalf("want the data block and one script, got %d script elements", len(scripts))
	}
	markup := strings.Replace(s, scripts[0][2], "", 1)

	// Nothing to fetch: no src or href attribute, no url(), no @import.
	for _, re := range []string{`(?i)\ssrc\s*=`, `(?i)\shref\s*=`, `(?i)url\(`, `(?i)@import`, `(?i)<link\b`, `(?i)<iframe\b`} {
		if loc := regexp.MustCompile(re).FindStringIndex(markup); loc != nil {
			t.Errorf("the page holds %s: %q", re, markup[max(0, loc[0]-60):min(len(markup), loc[1]+60)])
		}
	}
	sum := sha256.Sum256([]byte(scripts[1][2]))
	csp := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(s)
	if csp == nil || !strings.Contains(html.UnescapeString(csp[1]), "default-src 'none'") ||
		!strings.Contains(html.UnescapeString(csp[1]), "script-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
		t.Errorf("CSP %q does not allow exactly the page's script", csp)
	}
	if bytes.Contains([]byte(scripts[0][2]), []byte("<")) {
		t.Error("the data block holds a '<': it could end its script element")
	}
	for _, bad := range []string{xss, "<script>alert", "<img", "<b>b</b>"} {
		if strings.Contains(s, bad) {
			t.Errorf("the page holds %q as markup", bad)
		}
	}
	for _, id := range []string{"chart-prf", "chart-prf-rescaled", "chart-latency", "chart-quality-latency", "chart-quality-cost", "chart-delta"} {
		if !strings.Contains(s, `<figure class="chart" id="`+id+`">`) {
			t.Errorf("no chart %s", id)
		}
	}
	if strings.Contains(s, "ZgotmplZ") {
		t.Error("html/template refused a value (ZgotmplZ)")
	}
	path := filepath.Join(artifactDir(t), "report.html")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("the report: %s", path)
}
