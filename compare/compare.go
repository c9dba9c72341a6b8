package compare

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/bertbench/bertbench/runners/outputcheck"
)

// itemData is one item on one side: its generations by repeat.
type itemData struct {
	gens   []*Generation // in repeat order
	scored []*Generation // those with a score, in repeat order
}

// sideData indexes a side's generations by item.
type sideData struct {
	in    *SideInput
	items map[string]*itemData
}

// Compare compares the sides of in. Items are aligned by id; the
// statistics of every side cover the same items, those with a score on
// every side, and every item left out is named (Alignment.Excluded, each
// side's Coverage). A generation without a score (failed, or not scored
// yet) is counted and never scored as zero; a flagged output that was
// scored (wrong language, truncated, empty) keeps its score, which is what
// the flag costs it, and is counted in Perf.Flags.
//
// An item's value on a side is the mean of its scored repeats. Means come
// with percentile-bootstrap intervals over items, paired across sides
// (every side is resampled with the same items), two-level when an item
// has several scored repeats (items, then each drawn item's repeats); the
// difference to the baseline gets its own interval from the same
// resamples and a paired approximate-randomisation p-value. The result
// depends only on in and opts, never on map order or scheduling.
//
// An error matching ErrInvalidInput reports bad input; ctx's error is
// returned when it ends first.
func Compare(ctx context.Context, in Input, opts Options) (*Comparison, error) {
	if err := opts.fill(len(in.Sides), in.Baseline); err != nil {
		return nil, err
	}
	sides := make([]sideData, len(in.Sides))
	seen := map[Side]bool{}
	for s := range in.Sides {
		si := &in.Sides[s]
		if seen[si.Side] {
			return nil, inputErrorf("side %s named twice", si.Side)
		}
		seen[si.Side] = true
		sd, err := indexSide(si)
		if err != nil {
			return nil, err
		}
		sides[s] = sd
	}
	base := in.Baseline
	order, texts, conflicts := alignItems(in.Sides, base)

	// The compared items: scored on every side, sorted by id for the
	// statistics so that they do not depend on the order of the input.
	var compared []string
	isCompared := map[string]bool{}
	for _, id := range order {
		ok := true
		for s := range sides {
			if d := sides[s].items[id]; d == nil || len(d.scored) == 0 {
				ok = false
				break
			}
		}
		if ok {
			compared = append(compared, id)
			isCompared[id] = true
		}
	}
	slices.Sort(compared)

	c := &Comparison{
		Schema:   SchemaID,
		Baseline: in.Sides[base].Side,
		Settings: Settings{
			Scoring: in.Scoring, Resamples: opts.Resamples, Permutations: opts.Permutations, Seed: opts.Seed,
			Confidence: opts.Confidence, TieTolerance: TieTolerance, Percentile: "nearest-rank",
		},
		Alignment: Alignment{Items: len(order), Compared: len(compared), Excluded: []string{}, Conflicts: conflicts},
		Sides:     make([]SideSummary, len(sides)),
	}
	for _, id := range order {
		if !isCompared[id] {
			c.Alignment.Excluded = append(c.Alignment.Excluded, id)
		}
	}
	for s := range sides {
		c.Sides[s] = SideSummary{
			Side: in.Sides[s].Side, IsBaseline: s == base,
			Coverage: coverageOf(&sides[s], order),
			Perf:     perfOf(in.Sides[s].Generations),
		}
	}

	rescaled := hasRescaled(sides, compared)
	if len(compared) > 0 {
		if err := c.statistics(ctx, sides, compared, rescaled, in.Baseline, opts); err != nil {
			return nil, err
		}
	}
	c.Items = rows(sides, order, texts, isCompared, base)
	return c, nil
}

// indexSide indexes a side's generations by item and repeat.
func indexSide(si *SideInput) (sideData, error) {
	sd := sideData{in: si, items: map[string]*itemData{}}
	for i := range si.Generations {
		g := &si.Generations[i]
		if g.Repeat < 0 {
			return sd, inputErrorf("%s: negative repeat", keyString(si.Side, g.Item, g.Repeat))
		}
		d := sd.items[g.Item]
		if d == nil {
			d = &itemData{}
			sd.items[g.Item] = d
		}
		d.gens = append(d.gens, g)
	}
	for _, d := range sd.items {
		slices.SortFunc(d.gens, func(a, b *Generation) int { return a.Repeat - b.Repeat })
		for i, g := range d.gens {
			if i > 0 && d.gens[i-1].Repeat == g.Repeat {
				return sd, inputErrorf("%s: two generations", keyString(si.Side, g.Item, g.Repeat))
			}
			if g.Error == "" && g.Raw != nil && g.Raw.finite() {
				d.scored = append(d.scored, g)
			}
		}
	}
	return sd, nil
}

// alignItems returns every item id in row order (the baseline's items in
// its order, then other sides' items in theirs, then items only
// generations name, by id), each item's text (from the first side in
// that order that has it), and the items whose texts differ between
// sides.
func alignItems(in []SideInput, base int) (order []string, texts map[string]Item, conflicts []string) {
	texts = map[string]Item{}
	conflicted := map[string]bool{}
	conflicts = []string{}
	sideOrder := append([]int{base}, slices.DeleteFunc(seq(len(in)), func(s int) bool { return s == base })...)
	for _, s := range sideOrder {
		for _, it := range in[s].Items {
			prev, ok := texts[it.ID]
			if !ok {
				texts[it.ID] = it
				order = append(order, it.ID)
				continue
			}
			if (prev.Source != it.Source || !slices.Equal(prev.References, it.References)) && !conflicted[it.ID] {
				conflicted[it.ID] = true
				conflicts = append(conflicts, it.ID)
			}
		}
	}
	var extra []string
	known := map[string]bool{}
	for _, id := range order {
		known[id] = true
	}
	for _, s := range sideOrder {
		for _, g := range in[s].Generations {
			if !known[g.Item] {
				known[g.Item] = true
				extra = append(extra, g.Item)
			}
		}
	}
	slices.Sort(extra)
	return append(order, extra...), texts, conflicts
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func coverageOf(sd *sideData, order []string) Coverage {
	cv := Coverage{Generations: len(sd.in.Generations), Missing: []string{}, Unscored: []string{}}
	for _, id := range order {
		d := sd.items[id]
		switch {
		case d == nil:
			cv.Missing = append(cv.Missing, id)
			continue
		case len(d.scored) == 0:
			cv.Unscored = append(cv.Unscored, id)
		}
		cv.Items++
		cv.Scored += len(d.scored)
	}
	return cv
}

// hasRescaled reports whether every scored generation of the compared
// items has a rescaled score (a scoring with a baseline).
func hasRescaled(sides []sideData, compared []string) bool {
	if len(compared) == 0 {
		return false
	}
	for s := range sides {
		for _, id := range compared {
			for _, g := range sides[s].items[id].scored {
				if g.Rescaled == nil || !g.Rescaled.finite() {
					return false
				}
			}
		}
	}
	return true
}

// statistics fills each side's Quality and Delta.
func (c *Comparison) statistics(ctx context.Context, sides []sideData, compared []string, rescaled bool, base int, opts Options) error {
	ns := 3
	if rescaled {
		ns = 6
	}
	rs := &resampler{n: len(compared), ns: ns, sides: make([]sample, len(sides)), workers: opts.Workers}
	gens := make([]int, len(sides))
	for s := range sides {
		sm := sample{off: make([]int, 0, len(compared)+1)}
		for _, id := range compared {
			sm.off = append(sm.off, len(sm.vals)/ns)
			scored := sides[s].items[id].scored
			if len(scored) > 1 {
				rs.twoLevel = true
			}
			for _, g := range scored {
				sm.vals = append(sm.vals, g.Raw.P, g.Raw.R, g.Raw.F)
				if rescaled {
					sm.vals = append(sm.vals, g.Rescaled.P, g.Rescaled.R, g.Rescaled.F)
				}
			}
			gens[s] += len(scored)
		}
		sm.off = append(sm.off, len(sm.vals)/ns)
		rs.sides[s] = sm
	}
	c.Settings.TwoLevel = rs.twoLevel

	boot, err := rs.bootstrap(ctx, opts.Resamples, opts.Seed)
	if err != nil {
		return fmt.Errorf("compare: bootstrap: %w", err)
	}
	n := rs.n
	items := make([][]float64, len(sides))
	means := make([][]float64, len(sides)) // [s][m]
	for s := range sides {
		items[s] = rs.itemMeans(s)
		means[s] = make([]float64, ns)
		for m := range ns {
			var sum float64
			for i := range n {
				sum += items[s][i*ns+m]
			}
			means[s][m] = sum / float64(n)
		}
	}
	alpha := 1 - opts.Confidence
	interval := func(mean float64, draws []float64) Estimate {
		sorted := slices.Clone(draws)
		slices.Sort(sorted)
		return Estimate{Mean: mean, CILow: nearestRank(sorted, alpha/2), CIHigh: nearestRank(sorted, 1-alpha/2)}
	}

	// Per-item differences of the other sides, for the randomisation test
	// and the win/tie/loss counts.
	var others []int
	var diffs [][]float64
	for s := range sides {
		if s == base {
			continue
		}
		d := make([]float64, n*ns)
		for k := range d {
			d[k] = items[s][k] - items[base][k]
		}
		others = append(others, s)
		diffs = append(diffs, d)
	}
	var pvals [][]float64
	if len(others) > 0 {
		pvals, err = signFlip(ctx, diffs, n, ns, opts.Permutations, opts.Seed, opts.Workers)
		if err != nil {
			return fmt.Errorf("compare: randomisation test: %w", err)
		}
	}

	for s := range sides {
		est := make([]Estimate, ns)
		for m := range ns {
			est[m] = interval(means[s][m], boot[s][m])
		}
		q := &Quality{Items: n, Generations: gens[s], Raw: Scores{est[0], est[1], est[2]}}
		if rescaled {
			q.Rescaled = &Scores{est[3], est[4], est[5]}
		}
		c.Sides[s].Quality = q
	}
	for t, s := range others {
		de := make([]DeltaEstimate, ns)
		for m := range ns {
			draws := make([]float64, opts.Resamples)
			for b := range draws {
				draws[b] = boot[s][m][b] - boot[base][m][b]
			}
			e := DeltaEstimate{
				Estimate: interval(means[s][m]-means[base][m], draws),
				Baseline: means[base][m], Value: means[s][m], PValue: pvals[t][m],
			}
			if e.Baseline != 0 {
				pct := 100 * e.Mean / math.Abs(e.Baseline)
				e.RelativePct = &pct
			}
			e.Significant = e.CILow > 0 || e.CIHigh < 0
			for i := range n {
				switch d := diffs[t][i*ns+m]; {
				case math.Abs(d) < TieTolerance:
					e.Ties++
				case d > 0:
					e.Wins++
				default:
					e.Losses++
				}
			}
			de[m] = e
		}
		d := &Delta{Raw: DeltaScores{de[0], de[1], de[2]}}
		if rescaled {
			d.Rescaled = &DeltaScores{de[3], de[4], de[5]}
		}
		c.Sides[s].Delta = d
	}
	return nil
}

// rows builds the per-item rows.
func rows(sides []sideData, order []string, texts map[string]Item, compared map[string]bool, base int) []ItemRow {
	out := make([]ItemRow, 0, len(order))
	for _, id := range order {
		t := texts[id]
		row := ItemRow{ID: id, Source: t.Source, References: t.References, Compared: compared[id], Sides: make([]ItemSide, len(sides))}
		if row.References == nil {
			row.References = []string{}
		}
		for s := range sides {
			row.Sides[s] = itemSide(sides[s].items[id])
		}
		for s := range sides {
			if s == base {
				continue
			}
			b, x := &row.Sides[base], &row.Sides[s]
			x.Delta = diffPRF(x.Raw, b.Raw)
			x.DeltaRescaled = diffPRF(x.Rescaled, b.Rescaled)
		}
		out = append(out, row)
	}
	return out
}

func itemSide(d *itemData) ItemSide {
	is := ItemSide{Outputs: []string{}, LatencyMS: []*float64{}, Flags: []outputcheck.Flag{}}
	if d == nil {
		return is
	}
	is.Generations, is.Scored = len(d.gens), len(d.scored)
	flags := map[outputcheck.Flag]bool{}
	for _, g := range d.gens {
		for len(is.Outputs) < g.Repeat {
			is.Outputs = append(is.Outputs, "")
			is.LatencyMS = append(is.LatencyMS, nil)
		}
		is.Outputs = append(is.Outputs, g.Output)
		var lat *float64
		if g.live() {
			v := ms(g.Latency)
			lat = &v
		}
		is.LatencyMS = append(is.LatencyMS, lat)
		if g.Error != "" {
			is.Errors++
		}
		for _, f := range g.Flags {
			flags[f] = true
		}
	}
	for _, f := range outputcheck.All {
		if flags[f] {
			is.Flags = append(is.Flags, f)
			delete(flags, f)
		}
	}
	is.Flags = append(is.Flags, slices.Sorted(maps.Keys(flags))...) // flags this bertbench does not know
	if len(d.scored) > 0 {
		var raw, resc PRF
		allResc := true
		for _, g := range d.scored {
			raw = addPRF(raw, *g.Raw)
			if g.Rescaled != nil && g.Rescaled.finite() {
				resc = addPRF(resc, *g.Rescaled)
			} else {
				allResc = false
			}
		}
		k := float64(len(d.scored))
		is.Raw = &PRF{raw.P / k, raw.R / k, raw.F / k}
		if allResc {
			is.Rescaled = &PRF{resc.P / k, resc.R / k, resc.F / k}
		}
	}
	return is
}

func addPRF(a, b PRF) PRF { return PRF{a.P + b.P, a.R + b.R, a.F + b.F} }

func diffPRF(x, b *PRF) *PRF {
	if x == nil || b == nil {
		return nil
	}
	return &PRF{x.P - b.P, x.R - b.R, x.F - b.F}
}
