package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/bertbench/bertbench/compare"
)

// NewTextReporter returns a Reporter that writes the comparison for a
// terminal: settings, scores with intervals, the differences to the
// baseline in plain sentences, the calls, the items left out, and the
// thresholds' results when given (WithGates). Item ids and names are
// written with their control characters escaped.
func NewTextReporter(c *compare.Comparison, opts ...Option) Reporter {
	o := makeOptions(c, opts)
	return func(w io.Writer) error {
		ew := &errWriter{w: w}
		writeText(ew, c, o)
		return ew.err
	}
}

func writeText(w io.Writer, c *compare.Comparison, o options) {
	st := c.Settings
	lvl := level(st.Confidence)
	fmt.Fprintf(w, "baseline %s; scoring %s; %s CI, %s, %d resamples, %d permutations, seed %d\n",
		termSafe(c.Baseline.String()), termSafe(st.Scoring), lvl, method(st), st.Resamples, st.Permutations, st.Seed)
	al := c.Alignment
	fmt.Fprintf(w, "items    %d compared of %d%s\n", al.Compared, al.Items, idList("; left out", al.Excluded))
	if len(al.Conflicts) > 0 {
		fmt.Fprintf(w, "warning  %d items have another source or references on some side%s\n", len(al.Conflicts), idList(":", al.Conflicts))
	}

	fmt.Fprintf(w, "\nscores (mean [%s CI])\n", lvl)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SIDE\tSCORE\tRAW\tRESCALED")
	rescaled := false
	for _, sd := range c.Sides {
		q := sd.Quality
		if q == nil {
			fmt.Fprintf(tw, "  %s\t-\tno item compared\t\n", termSafe(sideName(sd)))
			continue
		}
		for i, m := range metrics {
			resc := "-"
			if q.Rescaled != nil {
				rescaled = true
				resc = estimate(m.est(q.Rescaled))
			}
			side := ""
			if i == 0 {
				side = termSafe(sideName(sd))
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", side, strings.TrimPrefix(string(m.label), "bertscore-"), estimate(m.est(&q.Raw)), resc)
		}
	}
	tw.Flush()
	if !rescaled && al.Compared > 0 {
		fmt.Fprintln(w, "  note: raw scores only. Raw multilingual-BERT scores sit high and close together; score with a baseline (rescaling) to spread them.")
	}

	for _, sd := range c.Sides {
		if sd.Delta == nil {
			continue
		}
		fmt.Fprintf(w, "\n%s vs %s\n", termSafe(sd.Side.String()), termSafe(c.Baseline.String()))
		for _, m := range metrics {
			fmt.Fprintf(w, "  %s\n", m.delta(&sd.Delta.Raw).Verdict(m.label, st.Confidence))
		}
		if sd.Delta.Rescaled != nil {
			for _, m := range metrics {
				fmt.Fprintf(w, "  %s\n", m.delta(sd.Delta.Rescaled).Verdict(m.rescaled, st.Confidence))
			}
		}
		f := sd.Delta.Raw.F
		fmt.Fprintf(w, "  items on F: %d wins, %d ties, %d losses\n", f.Wins, f.Ties, f.Losses)
	}

	fmt.Fprintf(w, "\ncalls (latency, TTFT, tokens and cost over live calls)\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SIDE\tSTORED\tLIVE\tCACHED\tERRORS\tLATENCY P50/P95/P99 MS\tTTFT P50/P95/P99 MS\tTOKENS IN/OUT\tTOKENS/S\tCOST USD\tPER ITEM\tFLAGS")
	for _, sd := range c.Sides {
		p := sd.Perf
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d (%.1f %%)\t%s\t%s\t%d/%d\t%s\t%s\t%s\t%s\n", termSafe(sd.Side.String()), p.Generations, p.Live, p.Cached, p.Errors, 100*p.ErrorRate,
			pcts(p.LatencyMS), pcts(p.TTFTMS), p.PromptTokens, p.CompletionTokens, optFloat(p.TokensPerSecond, "%.1f"),
			optFloat(p.CostUSD, "%.4f"), optFloat(p.CostPerItemUSD, "%.6f"), flagRates(p.Flags))
	}
	tw.Flush()
	for _, sd := range c.Sides {
		cv := sd.Coverage
		var parts []string
		if len(cv.Missing) > 0 {
			parts = append(parts, fmt.Sprintf("%s missing%s", count(len(cv.Missing), "item"), idList(":", cv.Missing)))
		}
		if len(cv.Unscored) > 0 {
			parts = append(parts, fmt.Sprintf("%s without a score (failed or not scored)%s", count(len(cv.Unscored), "item"), idList(":", cv.Unscored)))
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "\n%s: %s\n", termSafe(sd.Side.String()), strings.Join(parts, "; "))
		}
	}
	if len(o.gates) > 0 {
		fmt.Fprintf(w, "\n%s\n", gateSummary(o.gates))
		for _, r := range o.gates {
			fmt.Fprintf(w, "  %s\n", termSafe(r.String()))
		}
	}
}

// idList writes up to ten ids after prefix, then how many more.
func idList(prefix string, ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	const most = 10
	safe := make([]string, min(most, len(ids)))
	for i := range safe {
		safe[i] = termSafe(ids[i])
	}
	s := prefix + " " + strings.Join(safe, ", ")
	if len(ids) > most {
		s += fmt.Sprintf(" and %d more (--format json lists them all)", len(ids)-most)
	}
	return s
}

// errWriter keeps the first write error and drops later writes.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
