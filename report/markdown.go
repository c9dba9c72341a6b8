package report

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/bertbench/bertbench/compare"
)

// mdOutputRunes bounds an output or source quoted in the Markdown report.
const mdOutputRunes = 160

// NewMarkdownReporter returns a Reporter that writes the comparison as
// GitHub Flavored Markdown, for a pull-request comment or
// $GITHUB_STEP_SUMMARY: the thresholds' results first (WithGates), then
// scores with intervals, the differences to the baseline, the calls, the
// items left out, and per other side the items whose F changed most
// (WithMaxItems each way, in a collapsed block). Every untrusted text is
// escaped (see the package documentation) and quoted texts are cut to 160
// characters.
func NewMarkdownReporter(c *compare.Comparison, opts ...Option) Reporter {
	o := makeOptions(c, opts)
	return func(w io.Writer) error {
		ew := &errWriter{w: w}
		writeMarkdown(ew, c, o)
		return ew.err
	}
}

func writeMarkdown(w io.Writer, c *compare.Comparison, o options) {
	st := c.Settings
	lvl := level(st.Confidence)
	fmt.Fprintf(w, "## %s\n\n", mdText(o.title, 0))
	fmt.Fprintf(w, "Baseline **%s** · scoring `%s` · %d of %d items compared · %s CI, %s, %d resamples, %d permutations, seed %d\n",
		mdText(c.Baseline.String(), 0), mdCode(st.Scoring), c.Alignment.Compared, c.Alignment.Items, lvl, method(st), st.Resamples, st.Permutations, st.Seed)

	if len(o.gates) > 0 {
		mark := "✅"
		for _, r := range o.gates {
			if !r.Pass {
				mark = "❌"
			}
		}
		fmt.Fprintf(w, "\n### %s %s\n\n", mark, gateSummary(o.gates))
		fmt.Fprintln(w, "| | threshold | variation | value |")
		fmt.Fprintln(w, "|---|---|---|---|")
		for _, r := range o.gates {
			m := "✅"
			if !r.Pass {
				m = "❌"
			}
			fmt.Fprintf(w, "| %s | `%s` | %s | %s |\n", m, mdCode(strings.TrimSpace(r.Threshold.Text)), mdText(r.Side.String(), 0), mdText(gateValue(r), 0))
		}
	}

	rescaled := hasRescaled(c)
	fmt.Fprintf(w, "\n### Scores (mean [%s CI])\n\n", lvl)
	if rescaled {
		fmt.Fprintln(w, "| variation | P | R | F | P rescaled | R rescaled | F rescaled |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	} else {
		fmt.Fprintln(w, "| variation | P | R | F |")
		fmt.Fprintln(w, "|---|---|---|---|")
	}
	for _, sd := range c.Sides {
		cells := []string{mdText(sideName(sd), 0)}
		q := sd.Quality
		for _, m := range metrics {
			if q == nil {
				cells = append(cells, "-")
				continue
			}
			cells = append(cells, estimate(m.est(&q.Raw)))
		}
		if rescaled {
			for _, m := range metrics {
				if q == nil || q.Rescaled == nil {
					cells = append(cells, "-")
					continue
				}
				cells = append(cells, estimate(m.est(q.Rescaled)))
			}
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	if !rescaled && c.Alignment.Compared > 0 {
		fmt.Fprintln(w, "\nRaw scores only: raw multilingual-BERT scores sit high and close together; score with a baseline (rescaling) to spread them.")
	}

	var deltas []compare.SideSummary
	for _, sd := range c.Sides {
		if sd.Delta != nil {
			deltas = append(deltas, sd)
		}
	}
	if len(deltas) > 0 {
		fmt.Fprintf(w, "\n### Differences to %s\n\n", mdText(c.Baseline.String(), 0))
		fmt.Fprintf(w, "Significant when the %s CI excludes 0.\n\n", lvl)
		fmt.Fprintln(w, "| variation | score | baseline → this | Δ | CI | p | significant | wins / ties / losses |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
		for _, sd := range deltas {
			row := func(name string, d compare.DeltaEstimate) {
				sig := "no"
				if d.Significant {
					sig = "**yes**"
				}
				fmt.Fprintf(w, "| %s | %s | %.3f → %.3f (%s) | %s | %s to %s | %.4f | %s | %d / %d / %d |\n",
					mdText(sd.Side.String(), 0), name, d.Baseline, d.Value, relPct(d.RelativePct), signed(d.Mean),
					signed(d.CILow), signed(d.CIHigh), d.PValue, sig, d.Wins, d.Ties, d.Losses)
			}
			for _, m := range metrics {
				row(m.name, m.delta(&sd.Delta.Raw))
			}
			if sd.Delta.Rescaled != nil {
				for _, m := range metrics {
					row(m.name+" rescaled", m.delta(sd.Delta.Rescaled))
				}
			}
		}
	}

	fmt.Fprintln(w, "\n### Calls (latency, TTFT, tokens and cost over live calls)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| variation | stored | live | cached | errors | latency p50/p95/p99 ms | TTFT p50/p95/p99 ms | tokens in/out | tokens/s | cost USD | per item | flags |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, sd := range c.Sides {
		p := sd.Perf
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d (%.1f %%) | %s | %s | %d/%d | %s | %s | %s | %s |\n", mdText(sd.Side.String(), 0),
			p.Generations, p.Live, p.Cached, p.Errors, 100*p.ErrorRate, pcts(p.LatencyMS), pcts(p.TTFTMS),
			p.PromptTokens, p.CompletionTokens, optFloat(p.TokensPerSecond, "%.1f"), optFloat(p.CostUSD, "%.4f"),
			optFloat(p.CostPerItemUSD, "%.6f"), mdText(flagRates(p.Flags), 0))
	}

	var left []string
	if n := len(c.Alignment.Excluded); n > 0 {
		left = append(left, fmt.Sprintf("- %s left out of the statistics: %s", count(n, "item"), mdIDs(c.Alignment.Excluded)))
	}
	if n := len(c.Alignment.Conflicts); n > 0 {
		left = append(left, fmt.Sprintf("- %s with another source or references on some side: %s", count(n, "item"), mdIDs(c.Alignment.Conflicts)))
	}
	for _, sd := range c.Sides {
		if n := len(sd.Coverage.Missing); n > 0 {
			left = append(left, fmt.Sprintf("- %s: %s missing: %s", mdText(sd.Side.String(), 0), count(n, "item"), mdIDs(sd.Coverage.Missing)))
		}
		if n := len(sd.Coverage.Unscored); n > 0 {
			left = append(left, fmt.Sprintf("- %s: %s without a score (failed or not scored): %s", mdText(sd.Side.String(), 0), count(n, "item"), mdIDs(sd.Coverage.Unscored)))
		}
	}
	if len(left) > 0 {
		fmt.Fprintf(w, "\n### Items left out\n\n%s\n", strings.Join(left, "\n"))
	}

	if o.maxItems > 0 {
		for _, sd := range deltas {
			writeMarkdownChanges(w, c, sd, o.maxItems)
		}
	}
}

// writeMarkdownChanges lists the compared items whose F changed most on
// side sd, up to n losses and n gains, in a collapsed block.
func writeMarkdownChanges(w io.Writer, c *compare.Comparison, sd compare.SideSummary, n int) {
	s := slices.IndexFunc(c.Sides, func(x compare.SideSummary) bool { return x.Side == sd.Side })
	b := slices.IndexFunc(c.Sides, func(x compare.SideSummary) bool { return x.IsBaseline })
	type change struct {
		row *compare.ItemRow
		d   float64
	}
	var losses, gains []change
	for i := range c.Items {
		row := &c.Items[i]
		d := row.Sides[s].Delta
		if !row.Compared || d == nil || math.Abs(d.F) < c.Settings.TieTolerance {
			continue
		}
		if d.F < 0 {
			losses = append(losses, change{row, d.F})
		} else {
			gains = append(gains, change{row, d.F})
		}
	}
	if len(losses)+len(gains) == 0 {
		return
	}
	slices.SortStableFunc(losses, func(a, b change) int { return cmp.Compare(a.d, b.d) })
	slices.SortStableFunc(gains, func(a, b change) int { return cmp.Compare(b.d, a.d) })
	name, base := mdText(sd.Side.String(), 0), mdText(c.Sides[b].Side.String(), 0)
	fmt.Fprintf(w, "\n<details><summary>Items whose F changed most: %s vs %s (%d lower, %d higher)</summary>\n\n", name, base, len(losses), len(gains))
	fmt.Fprintf(w, "| item | source | %s | %s | F | Δ F |\n", base, name)
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, list := range [][]change{losses[:min(n, len(losses))], gains[:min(n, len(gains))]} {
		for _, ch := range list {
			bs, xs := ch.row.Sides[b], ch.row.Sides[s]
			fmt.Fprintf(w, "| %s | %s | %s | %s | %.3f → %.3f | %s |\n", mdText(ch.row.ID, 0), mdText(ch.row.Source, mdOutputRunes),
				mdOutputs(bs.Outputs), mdOutputs(xs.Outputs), bs.Raw.F, xs.Raw.F, signed(ch.d))
		}
	}
	if len(losses) > n || len(gains) > n {
		fmt.Fprintf(w, "\nThe %d largest changes each way; the HTML report lists every item.\n", n)
	}
	fmt.Fprintln(w, "\n</details>")
}

// mdOutputs quotes an item's first non-empty output and says how many
// repeats there are beside it.
func mdOutputs(outs []string) string {
	i := slices.IndexFunc(outs, func(s string) bool { return s != "" })
	if i < 0 {
		return "-"
	}
	s := mdText(outs[i], mdOutputRunes)
	if len(outs) > 1 {
		s += fmt.Sprintf(" _(repeat %d of %d)_", i+1, len(outs))
	}
	return s
}

// mdIDs lists up to twenty ids, escaped, then how many more.
func mdIDs(ids []string) string {
	const most = 20
	parts := make([]string, min(most, len(ids)))
	for i := range parts {
		parts[i] = mdText(ids[i], 0)
	}
	s := strings.Join(parts, ", ")
	if len(ids) > most {
		s += fmt.Sprintf(" and %d more (the JSON report lists them all)", len(ids)-most)
	}
	return s
}

// mdCode writes s as the inside of a code span: s is a hash, but a
// backtick or | would still break the span or the table.
func mdCode(s string) string {
	return strings.NewReplacer("`", "'", "|", "\\|", "\n", " ").Replace(termSafe(s))
}
