package report

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/bertbench/bertbench/compare"
)

// chromiumPath is Debian's Chromium, installed by `make chromium`.
const chromiumPath = "/usr/bin/chromium"

// pageEvents collects what the page did that the test must see.
type pageEvents struct {
	mu       sync.Mutex
	requests []string // every request's URL
	dialogs  []string // alert, confirm, prompt: what the page tried to show
	problems []string // exceptions, console errors, CSP violations
}

func (e *pageEvents) add(list *[]string, s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	*list = append(*list, s)
}

func (e *pageEvents) snapshot() (requests, dialogs, problems []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.requests), slices.Clone(e.dialogs), slices.Clone(e.problems)
}

// TestHTMLReport_Browser opens the HTML report in headless Chromium and
// checks what a person would: every chart drew, the page made no network
// request, sorting and filtering change the rows, the two outputs'
// difference is marked, and the hostile output is shown as text and never
// runs. The screenshot and the page are kept in the artefact folder.
func TestHTMLReport_Browser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing (%v): this test needs Debian's Chromium; install it with `make chromium` (as root: apt-get install -y chromium)", chromiumPath, err)
	}
	c := testComparison(t)
	art := artifactDir(t)
	htmlPath := filepath.Join(art, "browser.html")
	var doc bytes.Buffer
	if err := NewHTMLReporter(c, WithGates(testGates(t, c))).Report(&doc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(htmlPath, doc.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	pageURL := (&url.URL{Scheme: "file", Path: htmlPath}).String()

	// The browser lives at most two minutes, whatever happens.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	allocCtx, allocCancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1400, 1000),
	)
	defer allocCancel()
	bctx, bcancel := chromedp.NewContext(allocCtx)
	defer bcancel()

	ev := &pageEvents{}
	// Listen starts the browser (with a new, empty user-data-dir) and
	// opens the tab; it sees every event from now on.
	if err := chromedp.Listen(bctx, func(e any) {
		switch e := e.(type) {
		case *network.EventRequestWillBeSent:
			ev.add(&ev.requests, e.Request.URL)
		case *page.EventJavascriptDialogOpening:
			ev.add(&ev.dialogs, fmt.Sprintf("%s(%q)", e.Type, e.Message))
		case *runtime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			ev.add(&ev.problems, "exception: "+msg)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				ev.add(&ev.problems, fmt.Sprintf("console.%s", e.Type))
			}
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
				ev.add(&ev.problems, fmt.Sprintf("log %s %s: %s", e.Entry.Level, e.Entry.Source, e.Entry.Text))
			}
		}
	}); err != nil {
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	browser := chromedp.FromContext(bctx).Browser
	proc := browser.Process()
	dataDir := userDataDir(t, proc.Pid)
	// A dialog would block the page: answer it (after it was counted), so
	// that the test fails on the count, not on a timeout.
	dialogs := chromedp.Events(bctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()

	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string, out any) {
		t.Helper()
		raw, err := chromedp.Run(bctx, chromedp.Evaluate[[]byte](js))
		if err != nil {
			t.Fatalf("evaluating %s: %v", js, err)
		}
		if err := jsonUnmarshal(raw, out); err != nil {
			t.Fatalf("evaluating %s: %v (%s)", js, err, raw)
		}
	}
	rowIDs := func() []string {
		var ids []string
		eval(`Array.from(document.querySelectorAll('#item-table tbody tr')).map(r => r.dataset.id)`, &ids)
		return ids
	}

	run("opening the report", chromedp.Navigate(pageURL), chromedp.WaitVisible(chromedp.CSS(`#item-table tbody tr`)))
	var ready string
	eval(`document.documentElement.dataset.ready || ''`, &ready)
	if ready != "true" {
		t.Fatal("the page's script did not finish")
	}

	// Every chart drew: an SVG with a size and data marks with an area.
	type chart struct {
		ID            string
		Width, Height float64
		Marks         int
		Area          float64
	}
	var charts []chart
	eval(`Array.from(document.querySelectorAll('figure.chart')).map(f => {
		const s = f.querySelector('svg'), r = s ? s.getBoundingClientRect() : {width: 0, height: 0};
		const marks = s ? Array.from(s.querySelectorAll('.mark')) : [];
		return {ID: f.id, Width: r.width, Height: r.height, Marks: marks.length,
			Area: marks.reduce((a, m) => { const b = m.getBBox(); return a + b.width * b.height; }, 0)};
	})`, &charts)
	if len(charts) != 6 {
		t.Errorf("%d charts, want 6: %+v", len(charts), charts)
	}
	for _, ch := range charts {
		if ch.Width < 100 || ch.Height < 50 || ch.Marks == 0 || ch.Area <= 0 {
			t.Errorf("chart %s did not draw: %+v", ch.ID, ch)
		}
	}

	// All items at first, in the comparison's order.
	want := make([]string, len(c.Items))
	for i, row := range c.Items {
		want[i] = row.ID
	}
	if got := rowIDs(); !slices.Equal(got, want) {
		t.Fatalf("rows %v, want %v", got, want)
	}

	// Sorting: Δ F of tuned, largest first, then (a second click)
	// smallest first; ties keep the comparison's order.
	byDelta := sortedByDelta(c, 1)
	var col string
	eval(`Array.from(document.querySelectorAll('#item-table thead button')).find(b => b.textContent === 'Δ F study:tuned').dataset.col`, &col)
	sel := chromedp.CSS(`#item-table thead button[data-col="` + col + `"]`)
	run("sorting by Δ F", chromedp.Click(sel))
	desc := rowIDs()
	if !slices.Equal(desc, byDelta.desc) {
		t.Errorf("sorted by Δ F, largest first: %v, want %v", desc, byDelta.desc)
	}
	run("sorting by Δ F again", chromedp.Click(sel))
	if asc := rowIDs(); !slices.Equal(asc, byDelta.asc) || slices.Equal(asc, desc) {
		t.Errorf("sorted by Δ F, smallest first: %v, want %v", asc, byDelta.asc)
	}

	// Filtering: a word of one source, then of one output.
	run("filtering", chromedp.SendKeys(chromedp.ID("filter"), "HYPERLINK"))
	if got := rowIDs(); !slices.Equal(got, []string{"item-03"}) {
		t.Errorf("filtered on HYPERLINK: %v, want [item-03]", got)
	}
	setFilter := func(q string) {
		t.Helper()
		var ok bool
		eval(`(() => { const f = document.getElementById('filter'); f.value = `+strconv.Quote(q)+`; f.dispatchEvent(new Event('input')); return true; })()`, &ok)
	}
	setFilter("english")
	if got := rowIDs(); !slices.Equal(got, []string{"item-06"}) {
		t.Errorf("filtered on english: %v, want [item-06]", got)
	}
	setFilter("")
	if got := rowIDs(); len(got) != testItems {
		t.Errorf("filter cleared: %d rows, want %d", len(got), testItems)
	}

	// Only the items that changed: all do here (tuned and api changed every
	// output); restrict to the api side's baseline to see the count move.
	run("only changed", chromedp.Click(chromedp.ID("changed")))
	var count string
	eval(`document.getElementById('count').textContent`, &count)
	if wantChanged := changedItems(c); count != fmt.Sprintf("%d of %d items", wantChanged, testItems) || len(rowIDs()) != wantChanged {
		t.Errorf("only changed: %q and %d rows, want %d", count, len(rowIDs()), wantChanged)
	}
	run("all items", chromedp.Click(chromedp.ID("changed")))

	// The difference between base and tuned: "的" inserted.
	type diffCell struct{ Ins, Del []string }
	var d diffCell
	eval(`(() => { const td = document.querySelector('#item-table tbody tr[data-id="item-01"] td.diff');
		return {Ins: Array.from(td.querySelectorAll('ins')).map(e => e.textContent), Del: Array.from(td.querySelectorAll('del')).map(e => e.textContent)}; })()`, &d)
	if !slices.Equal(d.Ins, []string{"的"}) || len(d.Del) != 0 {
		t.Errorf("difference base → tuned on item-01: %+v, want 的 inserted", d)
	}
	run("choosing api", chromedp.SetValue(chromedp.ID("diff-b"), "2"))
	var ok bool
	eval(`(() => { document.getElementById('diff-b').dispatchEvent(new Event('change')); return true; })()`, &ok)
	eval(`(() => { const td = document.querySelector('#item-table tbody tr[data-id="item-01"] td.diff');
		return {Ins: Array.from(td.querySelectorAll('ins')).map(e => e.textContent), Del: Array.from(td.querySelectorAll('del')).map(e => e.textContent)}; })()`, &d)
	if !slices.Equal(d.Ins, []string{"非常"}) || !slices.Equal(d.Del, []string{"很"}) {
		t.Errorf("difference base → api on item-01: %+v, want 很 replaced by 非常", d)
	}

	// The hostile output is text: its characters are on the page, and no
	// element, script or handler came of it.
	type hostile struct {
		Text                    string
		Images, Scripts, Inline int
	}
	var h hostile
	eval(`(() => { const row = document.querySelector('#item-table tbody tr[data-id="item-04"]');
		return {Text: row.children[5].querySelector('.out').textContent, Images: document.querySelectorAll('img').length,
			Scripts: document.querySelectorAll('script').length, Inline: document.querySelectorAll('[onerror],[onload],[onclick]').length}; })()`, &h)
	if h.Text != xss || h.Images != 0 || h.Scripts != 2 || h.Inline != 0 {
		t.Errorf("the hostile output: %+v; want its text shown, no img, only the page's two script elements, no handler", h)
	}

	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shotPath := filepath.Join(art, "browser.png")
	if err := os.WriteFile(shotPath, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (page %s)", shotPath, htmlPath)

	requests, shown, problems := ev.snapshot()
	for _, u := range requests {
		if u != pageURL {
			t.Errorf("the page made a request: %s", u)
		}
	}
	if len(shown) > 0 {
		t.Errorf("the page opened dialogs (a script ran): %v", shown)
	}
	if len(problems) > 0 {
		t.Errorf("the page reported problems: %v", problems)
	}

	// Close the browser and check that no process of it is left.
	if err := chromedp.Cancel(bctx); err != nil {
		t.Errorf("closing the browser: %v", err)
	}
	allocCancel()
	if err := waitGone(proc.Pid, dataDir, 10*time.Second); err != nil {
		t.Error(err)
	}
}

// deltaOrders are the item ids sorted by a side's Δ F, largest first and
// smallest first, items without a Δ last, ties in the comparison's order.
type deltaOrders struct{ desc, asc []string }

func sortedByDelta(c *compare.Comparison, side int) deltaOrders {
	type kv struct {
		id string
		i  int
		d  float64
		ok bool
	}
	var rows []kv
	for i, row := range c.Items {
		r := kv{id: row.ID, i: i}
		if d := row.Sides[side].Delta; d != nil {
			r.d, r.ok = d.F, true
		}
		rows = append(rows, r)
	}
	order := func(dir float64) []string {
		s := slices.Clone(rows)
		slices.SortStableFunc(s, func(a, b kv) int {
			switch {
			case a.ok != b.ok:
				if a.ok {
					return -1
				}
				return 1
			case !a.ok || a.d == b.d:
				return a.i - b.i
			case dir*(a.d-b.d) < 0:
				return -1
			default:
				return 1
			}
		})
		ids := make([]string, len(s))
		for i, r := range s {
			ids[i] = r.id
		}
		return ids
	}
	return deltaOrders{desc: order(-1), asc: order(1)}
}

// changedItems counts the items where some side's output differs from the
// baseline's or its Δ F is not a tie (the page's rule).
func changedItems(c *compare.Comparison) int {
	base := slices.IndexFunc(c.Sides, func(s compare.SideSummary) bool { return s.IsBaseline })
	n := 0
	for _, row := range c.Items {
		for s, is := range row.Sides {
			if s == base {
				continue
			}
			if (is.Delta != nil && math.Abs(is.Delta.F) >= c.Settings.TieTolerance) || !slices.Equal(is.Outputs, row.Sides[base].Outputs) {
				n++
				break
			}
		}
	}
	return n
}

// userDataDir reads the browser's --user-data-dir from its command line.
func userDataDir(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatal(err)
	}
	for arg := range strings.SplitSeq(string(b), "\x00") {
		if dir, ok := strings.CutPrefix(arg, "--user-data-dir="); ok {
			return dir
		}
	}
	t.Fatalf("browser %d has no --user-data-dir", pid)
	return ""
}

// waitGone waits until the browser process and every process started
// with its user-data-dir have exited.
func waitGone(pid int, dataDir string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		left := processesWith("--user-data-dir=" + dataDir)
		alive := syscall.Kill(pid, 0) == nil && !isZombie(pid)
		if !alive && len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the browser is still running after it was closed: pid %d alive %v, processes with its profile %v", pid, alive, left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) STATE ...: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// processesWith lists the processes whose command line has arg.
func processesWith(arg string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if slices.Contains(strings.Split(string(b), "\x00"), arg) && !isZombie(pid) {
			out = append(out, pid)
		}
	}
	return out
}
