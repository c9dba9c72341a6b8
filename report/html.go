package report

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/bertbench/bertbench/compare"
	"github.com/bertbench/bertbench/gate"
)

var (
	//go:embed assets/report.html.tmpl
	htmlTemplate string
	//go:embed assets/report.css
	reportCSS string
	//go:embed assets/report.js
	reportJS string
)

// scriptCSP is the page's Content-Security-Policy: nothing may be fetched
// (no network, no external asset; images only as data: URLs), styles only
// inline, and the only script that may run is the report's own, by its
// SHA-256, so markup injected into the page could not run a script even if
// some text escaped its escaping.
var scriptCSP = func() string {
	sum := sha256.Sum256([]byte(reportJS))
	return fmt.Sprintf("default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-%s'; base-uri 'none'; form-action 'none'",
		base64.StdEncoding.EncodeToString(sum[:]))
}()

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"side":     func(s compare.Side) string { return s.String() },
	"sideName": sideName,
	"estimate": estimate,
	"signed":   signed,
	"relPct":   relPct,
	"pcts":     pcts,
	"opt":      optFloat,
	"flags":    flagRates,
	"pct":      func(r float64) string { return fmt.Sprintf("%.1f %%", 100*r) },
	"f3":       func(v float64) string { return fmt.Sprintf("%.3f", v) },
	"f4":       func(v float64) string { return fmt.Sprintf("%.4f", v) },
	"short":    shortHash,
	"level":    level,
	"method":   method,
	"count":    count,
	"gateText": func(r gate.Result) string { return strings.TrimSpace(r.Threshold.Text) },
	"gateVal":  gateValue,
	"ids":      func(ids []string) string { return strings.Join(ids, ", ") },
}).Parse(htmlTemplate))

// metricRow is one line of the HTML tables: a metric's name and its
// numbers.
type metricRow struct {
	Name     string
	Raw      *compare.Estimate
	Rescaled *compare.Estimate
}

type deltaRow struct {
	Name string
	D    compare.DeltaEstimate
}

type sideView struct {
	compare.SideSummary
	Color  string
	Scores []metricRow
	Deltas []deltaRow
}

type chartView struct {
	ID, Title, Caption string
	SVG                template.HTML
}

type pageView struct {
	Title     string
	CSP       string
	CSS       template.CSS
	JS        template.JS
	C         *compare.Comparison
	Sides     []sideView
	Rescaled  bool
	Gates     []gate.Result
	GatesLine string
	GatesPass bool
	Charts    []chartView
	Data      *compare.Comparison
}

// NewHTMLReporter returns a Reporter that writes the comparison as one
// self-contained HTML file: no network, no external asset, the data
// inline. It holds the summary tables, the thresholds' results
// (WithGates), SVG charts drawn in Go (P, R and F per variation with
// their intervals; latency distributions; quality against latency and
// against cost; the per-item change against the baseline) and a per-item
// table (source, references, each variation's outputs and scores) that a
// small embedded script sorts, filters, narrows to the items that changed
// and marks the difference between two variations' outputs in. The whole
// comparison is embedded as JSON (a <script type="application/json">
// block); the table is built from it with textContent, so no output is
// ever parsed as markup.
func NewHTMLReporter(c *compare.Comparison, opts ...Option) Reporter {
	o := makeOptions(c, opts)
	return func(w io.Writer) error {
		v := pageView{
			Title: o.title, CSP: scriptCSP, CSS: template.CSS(reportCSS), JS: template.JS(reportJS),
			C: c, Rescaled: hasRescaled(c), Gates: o.gates, Data: c, GatesPass: gate.Passed(o.gates),
		}
		if len(o.gates) > 0 {
			v.GatesLine = gateSummary(o.gates)
		}
		for i, sd := range c.Sides {
			sv := sideView{SideSummary: sd, Color: sideColor(i)}
			for _, m := range metrics {
				r := metricRow{Name: m.name}
				if q := sd.Quality; q != nil {
					e := m.est(&q.Raw)
					r.Raw = &e
					if q.Rescaled != nil {
						e := m.est(q.Rescaled)
						r.Rescaled = &e
					}
				}
				sv.Scores = append(sv.Scores, r)
			}
			if d := sd.Delta; d != nil {
				for _, m := range metrics {
					sv.Deltas = append(sv.Deltas, deltaRow{m.name, m.delta(&d.Raw)})
				}
				if d.Rescaled != nil {
					for _, m := range metrics {
						sv.Deltas = append(sv.Deltas, deltaRow{m.name + " rescaled", m.delta(d.Rescaled)})
					}
				}
			}
			v.Sides = append(v.Sides, sv)
		}
		lvl := level(c.Settings.Confidence)
		v.Charts = []chartView{
			{"chart-prf", "P, R and F per variation", "Mean BERTScore (raw) with its " + lvl + " bootstrap interval.", prfChart(c, false)},
		}
		if v.Rescaled {
			v.Charts = append(v.Charts, chartView{"chart-prf-rescaled", "P, R and F per variation, rescaled", "Baseline-rescaled scores: the same ranking, spread out.", prfChart(c, true)})
		}
		latency := func(sd compare.SideSummary) *float64 {
			if sd.Perf.LatencyMS == nil {
				return nil
			}
			return &sd.Perf.LatencyMS.P50
		}
		latencyP95 := func(sd compare.SideSummary) *float64 {
			if sd.Perf.LatencyMS == nil {
				return nil
			}
			return &sd.Perf.LatencyMS.P95
		}
		cost := func(sd compare.SideSummary) *float64 { return sd.Perf.CostPerItemUSD }
		usd := func(v, step float64) string {
			if step >= 0.01 {
				return fmt.Sprintf("$%.2f", v)
			}
			return "$" + tickLabel(v, step)
		}
		v.Charts = append(v.Charts,
			chartView{"chart-latency", "Latency per variation", "Each live call's latency (dots), the box from the 25th to the 75th percentile with the median, whiskers to the 5th and 95th.", latencyChart(c)},
			chartView{"chart-quality-latency", "Quality against latency", "Mean F with its interval against the median latency; the line runs on to the 95th percentile.",
				scatterChart(c, "Mean F against median latency per variation", "median latency (ms)", "no live call: latency was not measured", latency, latencyP95, tickLabel)},
			chartView{"chart-quality-cost", "Quality against cost", "Mean F with its interval against the cost per item of the priced live calls.",
				scatterChart(c, "Mean F against cost per item per variation", "cost per item (USD)", "no priced live call: cost is unknown", cost, nil, usd)},
			chartView{"chart-delta", "Per-item change against the baseline", "Each compared item's Δ F (this variation − the baseline), sorted: where a line runs above 0, items gained.", deltaChart(c)},
		)
		return pageTemplate.Execute(w, v)
	}
}
