package experiment

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"

	"github.com/bertbench/bertbench/runners/outputcheck"
	"github.com/bertbench/bertbench/store"
)

// Table is the report's per-variation summary as a table: one row per
// variation with its mean P, R and F (raw, then rescaled when the scores
// are), the outputs scored, tokens in and out, the median latency of the
// live calls, how many outputs came from the cache or a recording, the
// failed calls and the output flags. Render it as text (Render), or as
// Markdown, CSV or HTML (RenderMarkdown, RenderCSV, RenderHTML).
func (r *Report) Table() table.Writer {
	t := table.NewWriter()
	head := table.Row{"variation", "P", "R", "F"}
	if r.Rescaled {
		head = append(head, "P resc.", "R resc.", "F resc.")
	}
	head = append(head, "scored", "tokens in/out", "latency p50", "live", "cached", "replayed", "failed", "flags")
	t.AppendHeader(head)
	for _, v := range r.Variations {
		row := table.Row{v.Name}
		row = append(row, prfCells(v.Mean, v.Scored)...)
		if r.Rescaled {
			resc := store.NaNPRF
			if v.MeanRescaled != nil {
				resc = *v.MeanRescaled
			}
			row = append(row, prfCells(resc, v.Scored)...)
		}
		row = append(row, fmt.Sprintf("%d/%d", v.Scored, v.Generations-v.Failed),
			fmt.Sprintf("%d/%d", v.PromptTokens, v.CompletionTokens), latencyCell(v), v.Live, v.Cached, v.Replayed, v.Failed, flagCells(v.Flags))
		t.AppendRow(row)
	}
	var cols []table.ColumnConfig
	for i := 2; i <= len(head); i++ {
		if i != len(head) {
			cols = append(cols, table.ColumnConfig{Number: i, Align: text.AlignRight})
		}
	}
	t.SetColumnConfigs(cols)
	return t
}

// prfCells shows a mean score with 4 decimals; "-" when nothing is
// scored, NaN when a score is undefined.
func prfCells(m store.PRF, scored int) []any {
	cell := func(x float64) any {
		switch {
		case scored == 0:
			return "-"
		case math.IsNaN(x):
			return "NaN"
		}
		return fmt.Sprintf("%.4f", x)
	}
	return []any{cell(m.P), cell(m.R), cell(m.F)}
}

func latencyCell(v store.VariationSummary) string {
	if v.Live == 0 {
		return "-"
	}
	return v.LatencyP50.Round(time.Millisecond / 10).String()
}

// flagCells counts the flags in canonical order ("-" for none).
func flagCells(counts map[outputcheck.Flag]int) string {
	var parts []string
	for _, f := range outputcheck.All {
		if n := counts[f]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", f, n))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
