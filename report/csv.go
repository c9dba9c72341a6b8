package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"

	"github.com/bertbench/bertbench/compare"
)

// csvHeader are the CSV report's columns.
var csvHeader = []string{
	"item", "compared", "run", "variation", "baseline", "repeat", "source", "references", "output", "latency_ms",
	"flags", "errors", "p", "r", "f", "p_rescaled", "r_rescaled", "f_rescaled",
	"delta_p", "delta_r", "delta_f", "delta_p_rescaled", "delta_r_rescaled", "delta_f_rescaled",
}

// NewCSVReporter returns a Reporter that writes the per-item rows as CSV
// (RFC 4180, a header line first): one row per item, side and repeat, in
// the comparison's item order, then side order. An item a side has no
// generation for still has one row there, with an empty repeat. The
// scores are the item's on that side (the mean of its scored repeats, so
// the same on each repeat's row), delta_* the difference to the
// baseline's; empty where there is none. references holds one reference
// a line. Text cells are guarded against formula injection (a leading '
// before =, +, -, @, tab or carriage return); numbers are plain numbers.
func NewCSVReporter(c *compare.Comparison) Reporter {
	return func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(csvHeader); err != nil {
			return err
		}
		for _, row := range c.Items {
			for s, is := range row.Sides {
				sd := c.Sides[s]
				n := max(1, len(is.Outputs))
				for rep := range n {
					rec := []string{
						csvText(row.ID), strconv.FormatBool(row.Compared), csvText(sd.Run), csvText(sd.Variation), strconv.FormatBool(sd.IsBaseline),
						"", csvText(row.Source), csvText(strings.Join(row.References, "\n")), "", "",
						csvText(joinFlags(is)), strconv.Itoa(is.Errors),
					}
					if rep < len(is.Outputs) {
						rec[5], rec[8] = strconv.Itoa(rep), csvText(is.Outputs[rep])
						if rep < len(is.LatencyMS) && is.LatencyMS[rep] != nil {
							rec[9] = num(*is.LatencyMS[rep])
						}
					}
					rec = append(rec, prfCells(is.Raw)...)
					rec = append(rec, prfCells(is.Rescaled)...)
					rec = append(rec, prfCells(is.Delta)...)
					rec = append(rec, prfCells(is.DeltaRescaled)...)
					if err := cw.Write(rec); err != nil {
						return err
					}
				}
			}
		}
		cw.Flush()
		return cw.Error()
	}
}

func joinFlags(is compare.ItemSide) string {
	parts := make([]string, len(is.Flags))
	for i, f := range is.Flags {
		parts[i] = string(f)
	}
	return strings.Join(parts, " ")
}

func prfCells(p *compare.PRF) []string {
	if p == nil {
		return []string{"", "", ""}
	}
	return []string{num(p.P), num(p.R), num(p.F)}
}

// num writes a number in the shortest form that reads back the same.
func num(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
