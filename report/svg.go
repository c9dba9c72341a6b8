package report

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/bertbench/bertbench/compare"
)

// The charts are SVG drawn here, in Go: no chart library, nothing to load,
// and every text in them escaped. Each data mark has the class "mark" and
// a <title> with its numbers (the browser shows it on hover).

// palette is Okabe and Ito's colour-blind-safe palette, one colour a side.
var palette = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"}

// metricColors colour P, R and F.
var metricColors = []string{"#56B4E9", "#E69F00", "#0072B2"}

func sideColor(i int) string { return palette[i%len(palette)] }

// chart geometry, in SVG user units.
const (
	chartW = 720
	chartH = 340
	padL   = 64
	padR   = 24
	padT   = 20
	padB   = 56
)

// linear maps a domain onto a range.
type linear struct{ d0, d1, r0, r1 float64 }

func (s linear) at(v float64) float64 {
	if s.d1 == s.d0 {
		return (s.r0 + s.r1) / 2
	}
	return s.r0 + (v-s.d0)/(s.d1-s.d0)*(s.r1-s.r0)
}

// niceTicks returns about n round tick values covering [lo, hi] and the
// step between them.
func niceTicks(lo, hi float64, n int) ([]float64, float64) {
	if !(hi > lo) {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(max(1, n))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ticks []float64
	for v := math.Ceil(lo/step-1e-9) * step; v <= hi+step*1e-9; v += step {
		ticks = append(ticks, v)
	}
	return ticks, step
}

// tickLabel writes a tick value with the decimals its step needs.
func tickLabel(v, step float64) string {
	dec := 0
	if step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
		if math.Abs(step*math.Pow(10, float64(dec))-math.Round(step*math.Pow(10, float64(dec)))) > 1e-9 {
			dec++
		}
	}
	if math.Abs(v) < step*1e-9 {
		v = 0
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// paddedDomain widens [lo, hi] by a tenth on each side (and to at least
// minSpan), for values that should not touch the frame.
func paddedDomain(lo, hi, minSpan float64) (float64, float64) {
	if hi-lo < minSpan {
		mid := (lo + hi) / 2
		lo, hi = mid-minSpan/2, mid+minSpan/2
	}
	pad := (hi - lo) / 10
	return lo - pad, hi + pad
}

// svg builds one chart.
type svg struct {
	b     strings.Builder
	x, y  linear
	top   float64 // the plot's top: below the legend, if any
	empty bool
}

func newSVG(label string) *svg {
	s := &svg{top: padT}
	fmt.Fprintf(&s.b, `<svg class="chart-svg" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, chartW, chartH, esc(label))
	return s
}

func (s *svg) raw(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

// text writes an escaped label.
func (s *svg) text(x, y float64, anchor, class, label string) {
	s.raw(`<text x="%s" y="%s" text-anchor="%s" class="%s">%s</text>`, f1(x), f1(y), anchor, class, esc(label))
}

// message writes a chart with no data: a sentence in its middle.
func (s *svg) message(msg string) {
	s.empty = true
	s.raw(`<rect class="frame" x="%d" y="%d" width="%d" height="%d"/>`, padL, padT, chartW-padL-padR, chartH-padT-padB)
	s.text(chartW/2, chartH/2, "middle", "note", msg)
}

// yAxis draws the value axis with grid lines and its title.
func (s *svg) yAxis(title string, format func(v, step float64) string) {
	ticks, step := niceTicks(s.y.d0, s.y.d1, 5)
	for _, t := range ticks {
		y := s.y.at(t)
		s.raw(`<line class="grid" x1="%d" x2="%d" y1="%s" y2="%s"/>`, padL, chartW-padR, f1(y), f1(y))
		s.text(padL-6, y+4, "end", "tick", format(t, step))
	}
	s.raw(`<text class="axis-title" transform="translate(14 %s) rotate(-90)" text-anchor="middle">%s</text>`, f1((s.top+chartH-padB)/2), esc(title))
}

// xAxis draws a numeric horizontal axis with its title.
func (s *svg) xAxis(title string, format func(v, step float64) string) {
	ticks, step := niceTicks(s.x.d0, s.x.d1, 6)
	base := float64(chartH - padB)
	for _, t := range ticks {
		x := s.x.at(t)
		s.raw(`<line class="grid" x1="%s" x2="%s" y1="%s" y2="%d"/>`, f1(x), f1(x), f1(s.top), chartH-padB)
		s.text(x, base+16, "middle", "tick", format(t, step))
	}
	s.text(float64(padL+(chartW-padL-padR)/2), chartH-10, "middle", "axis-title", title)
}

func (s *svg) html() template.HTML {
	s.raw(`</svg>`)
	return template.HTML(s.b.String()) // every text in it went through esc
}

func esc(s string) string { return template.HTMLEscapeString(termSafe(s)) }

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// whisker draws a vertical interval with caps at x, from lo to hi.
func (s *svg) whisker(x, lo, hi float64, color string) {
	y0, y1 := s.y.at(lo), s.y.at(hi)
	s.raw(`<line class="whisker" x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"/>`, f1(x), f1(x), f1(y0), f1(y1), color)
	for _, y := range []float64{y0, y1} {
		s.raw(`<line class="whisker" x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"/>`, f1(x-4), f1(x+4), f1(y), f1(y), color)
	}
}

// prfChart draws P, R and F per side with their intervals (raw, or the
// rescaled scores).
func prfChart(c *compare.Comparison, rescaled bool) template.HTML {
	kind := "raw"
	if rescaled {
		kind = "rescaled"
	}
	s := newSVG(fmt.Sprintf("BERTScore P, R and F (%s) per variation, mean and %s CI", kind, level(c.Settings.Confidence)))
	pick := func(sd compare.SideSummary) *compare.Scores {
		if sd.Quality == nil {
			return nil
		}
		if rescaled {
			return sd.Quality.Rescaled
		}
		return &sd.Quality.Raw
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, sd := range c.Sides {
		if sc := pick(sd); sc != nil {
			for _, m := range metrics {
				e := m.est(sc)
				lo, hi = math.Min(lo, e.CILow), math.Max(hi, e.CIHigh)
			}
		}
	}
	if math.IsInf(lo, 0) {
		s.message("no item was scored on every variation: nothing to draw")
		return s.html()
	}
	s.top = padT + 18
	d0, d1 := paddedDomain(lo, hi, 0.01)
	s.y = linear{d0, d1, chartH - padB, s.top}
	s.yAxis(kind+" score", tickLabel)
	band := float64(chartW-padL-padR) / float64(len(c.Sides))
	for i, sd := range c.Sides {
		x0 := float64(padL) + band*float64(i)
		s.text(x0+band/2, chartH-padB+18, "middle", "label", shorten(sideName(sd), int(band/7)))
		sc := pick(sd)
		if sc == nil {
			s.text(x0+band/2, chartH/2, "middle", "note", "no scores")
			continue
		}
		for k, m := range metrics {
			e := m.est(sc)
			x := x0 + band*float64(k+1)/4
			s.raw(`<g class="mark"><title>%s %s %s: %s</title>`, esc(sd.Side.String()), m.name, kind, esc(estimate(e)))
			s.whisker(x, e.CILow, e.CIHigh, metricColors[k])
			s.raw(`<circle cx="%s" cy="%s" r="5" fill="%s"/></g>`, f1(x), f1(s.y.at(e.Mean)), metricColors[k])
		}
	}
	// legend, above the plot
	for k, m := range metrics {
		x := float64(chartW-padR-150) + float64(k)*50
		s.raw(`<circle cx="%s" cy="%d" r="5" fill="%s"/>`, f1(x), padT, metricColors[k])
		s.text(x+9, padT+4, "start", "label", m.name)
	}
	return s.html()
}

// latencyChart draws each side's latency distribution over its live
// calls: a box from the 25th to the 75th percentile with the median,
// whiskers to the 5th and 95th, and every call as a dot (up to 3,000 a
// side).
func latencyChart(c *compare.Comparison) template.HTML {
	s := newSVG("Latency distribution per variation (live calls, ms)")
	lat := make([][]float64, len(c.Sides))
	top := 0.0
	for _, row := range c.Items {
		for i, is := range row.Sides {
			for _, v := range is.LatencyMS {
				if v != nil {
					lat[i] = append(lat[i], *v)
					top = math.Max(top, *v)
				}
			}
		}
	}
	if top == 0 {
		s.message("no live call (replayed, cached or failed answers only): latency was not measured")
		return s.html()
	}
	s.x = linear{0, top * 1.05, padL + 90, chartW - padR}
	plotL := float64(padL + 90)
	ticks, step := niceTicks(0, top*1.05, 6)
	for _, t := range ticks {
		x := s.x.at(t)
		s.raw(`<line class="grid" x1="%s" x2="%s" y1="%d" y2="%d"/>`, f1(x), f1(x), padT, chartH-padB)
		s.text(x, chartH-padB+16, "middle", "tick", tickLabel(t, step))
	}
	s.text(plotL+(chartW-padR-plotL)/2, chartH-10, "middle", "axis-title", "latency (ms)")
	rowH := float64(chartH-padT-padB) / float64(len(c.Sides))
	for i, sd := range c.Sides {
		y0 := float64(padT) + rowH*float64(i)
		mid := y0 + rowH/2
		s.text(plotL-8, mid+4, "end", "label", shorten(sd.Side.String(), 20))
		v := slices.Sorted(slices.Values(lat[i]))
		if len(v) == 0 {
			s.text(plotL+8, mid+4, "start", "note", "no live call")
			continue
		}
		color := sideColor(i)
		boxH := math.Min(24, rowH*0.5)
		p := func(q float64) float64 { return s.x.at(rank(v, q)) }
		s.raw(`<g class="mark"><title>%s: n %d, p5 %.0f, p25 %.0f, median %.0f, p75 %.0f, p95 %.0f ms</title>`,
			esc(sd.Side.String()), len(v), rank(v, 0.05), rank(v, 0.25), rank(v, 0.5), rank(v, 0.75), rank(v, 0.95))
		if len(v) <= 3000 {
			for k, x := range v {
				jit := (float64(hash32(uint32(k)+uint32(i)*7919)%1000)/1000 - 0.5) * boxH * 1.4
				s.raw(`<circle class="dot" cx="%s" cy="%s" r="2" fill="%s"/>`, f1(s.x.at(x)), f1(mid+jit), color)
			}
		}
		s.raw(`<line class="whisker" x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"/>`, f1(p(0.05)), f1(p(0.95)), f1(mid), f1(mid), color)
		s.raw(`<rect class="box" x="%s" y="%s" width="%s" height="%s" stroke="%s"/>`, f1(p(0.25)), f1(mid-boxH/2), f1(math.Max(1, p(0.75)-p(0.25))), f1(boxH), color)
		s.raw(`<line class="median" x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"/></g>`, f1(p(0.5)), f1(p(0.5)), f1(mid-boxH/2), f1(mid+boxH/2), color)
	}
	return s.html()
}

// rank is the nearest-rank percentile of sorted values (as package
// compare computes them).
func rank(sorted []float64, q float64) float64 {
	k := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(k, len(sorted)-1))]
}

// hash32 spreads k over 32 bits (deterministic jitter).
func hash32(k uint32) uint32 {
	k ^= k >> 16
	k *= 0x7feb352d
	k ^= k >> 15
	k *= 0x846ca68b
	k ^= k >> 16
	return k
}

// scatterChart draws each side's mean F (with its interval) against x(side):
// latency or cost. span, when given, draws a horizontal line from x to
// span (latency: median to 95th percentile).
func scatterChart(c *compare.Comparison, label, xTitle, none string, x func(compare.SideSummary) *float64, span func(compare.SideSummary) *float64, xFormat func(v, step float64) string) template.HTML {
	s := newSVG(label)
	type point struct {
		i       int
		x, x2   float64
		f       compare.Estimate
		sd      compare.SideSummary
		hasSpan bool
	}
	var pts []point
	xhi, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
	var skipped []string
	for i, sd := range c.Sides {
		xv := x(sd)
		if xv == nil || sd.Quality == nil {
			skipped = append(skipped, sd.Side.String())
			continue
		}
		p := point{i: i, x: *xv, f: sd.Quality.Raw.F, sd: sd}
		if span != nil {
			if v := span(sd); v != nil {
				p.x2, p.hasSpan = *v, true
				xhi = math.Max(xhi, *v)
			}
		}
		xhi = math.Max(xhi, *xv)
		lo, hi = math.Min(lo, p.f.CILow), math.Max(hi, p.f.CIHigh)
		pts = append(pts, p)
	}
	if len(pts) == 0 {
		s.message(none)
		return s.html()
	}
	if xhi == 0 {
		xhi = 1
	}
	s.x = linear{0, xhi * 1.1, padL, chartW - padR}
	if len(skipped) > 0 {
		s.top = padT + 16
	}
	d0, d1 := paddedDomain(lo, hi, 0.01)
	s.y = linear{d0, d1, chartH - padB, s.top}
	s.yAxis("F (raw)", tickLabel)
	s.xAxis(xTitle, xFormat)
	for _, p := range pts {
		color := sideColor(p.i)
		px, py := s.x.at(p.x), s.y.at(p.f.Mean)
		s.raw(`<g class="mark"><title>%s: F %s at %s</title>`, esc(p.sd.Side.String()), esc(estimate(p.f)), esc(xFormat(p.x, 0.0001)))
		if p.hasSpan {
			s.raw(`<line class="span" x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"/>`, f1(px), f1(s.x.at(p.x2)), f1(py), f1(py), color)
		}
		s.whisker(px, p.f.CILow, p.f.CIHigh, color)
		s.raw(`<circle cx="%s" cy="%s" r="6" fill="%s"/></g>`, f1(px), f1(py), color)
		s.text(px+9, py-8, "start", "label", shorten(sideName(p.sd), 28))
	}
	if len(skipped) > 0 {
		s.text(chartW-padR, padT+4, "end", "note", "not drawn (no value): "+shorten(strings.Join(skipped, ", "), 60))
	}
	return s.html()
}

// deltaChart draws, for each side but the baseline, its per-item Δ F
// sorted from the largest loss to the largest gain, against the zero
// line: how many items changed, and by how much.
func deltaChart(c *compare.Comparison) template.HTML {
	s := newSVG("Per-item change of F against the baseline, items sorted by the change")
	type series struct {
		i  int
		ds []float64
	}
	var all []series
	lo, hi := 0.0, 0.0
	for i, sd := range c.Sides {
		if sd.IsBaseline {
			continue
		}
		var ds []float64
		for _, row := range c.Items {
			if d := row.Sides[i].Delta; row.Compared && d != nil {
				ds = append(ds, d.F)
			}
		}
		if len(ds) == 0 {
			continue
		}
		slices.Sort(ds)
		lo, hi = math.Min(lo, ds[0]), math.Max(hi, ds[len(ds)-1])
		all = append(all, series{i, ds})
	}
	if len(all) == 0 {
		s.message("no other variation to compare with the baseline, or no item compared")
		return s.html()
	}
	s.top = padT + 16*float64(len(all))
	d0, d1 := paddedDomain(lo, hi, 0.002)
	s.y = linear{d0, d1, chartH - padB, s.top}
	s.x = linear{0, 1, padL, chartW - padR}
	s.yAxis("Δ F (raw)", tickLabel)
	s.xAxis("items, sorted by Δ F (share of the compared items)", func(v, step float64) string { return tickLabel(100*v, 100*step) + "%" })
	y0 := s.y.at(0)
	s.raw(`<line class="zero" x1="%d" x2="%d" y1="%s" y2="%s"/>`, padL, chartW-padR, f1(y0), f1(y0))
	for k, se := range all {
		sd := c.Sides[se.i]
		color := sideColor(se.i)
		const most = 800 // points drawn per side: quantiles of the sorted changes
		n := len(se.ds)
		m := min(n, most)
		var path strings.Builder
		for j := range m {
			idx := j
			if n > most {
				idx = int(math.Round(float64(j) * float64(n-1) / float64(m-1)))
			}
			frac := 0.5
			if n > 1 {
				frac = float64(idx) / float64(n-1)
			}
			cmd := "L"
			if j == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&path, "%s%s %s ", cmd, f1(s.x.at(frac)), f1(s.y.at(se.ds[idx])))
		}
		f := sd.Delta.Raw.F
		s.raw(`<g class="mark"><title>%s: %d lower, %d ties, %d higher; mean Δ F %s</title>`, esc(sd.Side.String()), f.Losses, f.Ties, f.Wins, signed(f.Mean))
		if n == 1 {
			s.raw(`<circle cx="%s" cy="%s" r="4" fill="%s"/>`, f1(s.x.at(0.5)), f1(s.y.at(se.ds[0])), color)
		}
		s.raw(`<path class="series" d="%s" stroke="%s"/></g>`, strings.TrimSpace(path.String()), color)
		s.raw(`<rect x="%d" y="%d" width="12" height="4" fill="%s"/>`, padL+10, padT-6+16*k, color)
		s.text(float64(padL+28), float64(padT-1+16*k), "start", "label", shorten(fmt.Sprintf("%s: %d lower, %d higher", sd.Side, f.Losses, f.Wins), 60))
	}
	return s.html()
}

// shorten cuts s to n runes with "…".
func shorten(s string, n int) string {
	r := []rune(s)
	if n < 2 || len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
