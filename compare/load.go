package compare

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bertbench/bertbench/store"
)

// LoadOptions tune Load.
type LoadOptions struct {
	// Scoring names the scoring configuration whose scores are compared:
	// its hash or a prefix of it (as `bertbench runs show` prints it).
	// Empty: the one configuration all the runs share.
	Scoring string
	// Baseline names the reference side, RUN:VARIATION (or RUN for a run
	// of one variation). Zero: the first side. A baseline that is not
	// among the sides is added before them.
	Baseline Side
	// NoText leaves the texts out (sources, references, outputs): memory is
	// then the scores and call facts of items × sides × repeats only.
	NoText bool
}

// Load reads the sides' generations and scores from a results store into
// an Input. A side without a variation stands for every variation of its
// run, in the run's order. Each run is streamed once (store.Rows), whatever
// the number of its sides, and only what a comparison needs is kept.
//
// Errors for an unknown run, variation or scoring configuration, a side
// named twice, or runs that share no scoring configuration match
// ErrInvalidInput and say what to do.
func Load(ctx context.Context, st *store.Store, sides []Side, opts LoadOptions) (*Input, error) {
	details := map[string]*store.RunDetail{}
	detail := func(run string) (*store.RunDetail, error) {
		if d := details[run]; d != nil {
			return d, nil
		}
		d, err := st.RunDetail(ctx, run)
		if errors.Is(err, store.ErrRunNotFound) {
			return nil, inputError{err}
		}
		if err != nil {
			return nil, err
		}
		details[run] = d
		return d, nil
	}

	// Expand the sides, then place the baseline.
	var expanded []Side
	for _, sd := range sides {
		d, err := detail(sd.Run)
		if err != nil {
			return nil, err
		}
		if sd.Variation == "" {
			for _, v := range d.Variations {
				expanded = append(expanded, Side{Run: sd.Run, Variation: v.Name})
			}
			continue
		}
		if err := hasVariation(d, sd.Variation); err != nil {
			return nil, err
		}
		expanded = append(expanded, sd)
	}
	if len(expanded) == 0 && opts.Baseline == (Side{}) {
		return nil, inputErrorf("nothing to compare: name at least one side (RUN or RUN:VARIATION)")
	}
	baseline := 0
	if b := opts.Baseline; b != (Side{}) {
		d, err := detail(b.Run)
		if err != nil {
			return nil, err
		}
		if b.Variation == "" {
			if len(d.Variations) != 1 {
				return nil, inputErrorf("baseline %s: the run has %d variations (%s): name one as %s:VARIATION", b.Run, len(d.Variations), variationNames(d), b.Run)
			}
			b.Variation = d.Variations[0].Name
		} else if err := hasVariation(d, b.Variation); err != nil {
			return nil, err
		}
		if i := slices.Index(expanded, b); i >= 0 {
			baseline = i
		} else {
			expanded = append([]Side{b}, expanded...)
		}
	}
	seen := map[Side]bool{}
	for _, sd := range expanded {
		if seen[sd] {
			return nil, inputErrorf("side %s named twice", sd)
		}
		seen[sd] = true
	}

	var runs []string // in the order of their first side
	for _, sd := range expanded {
		if !slices.Contains(runs, sd.Run) {
			runs = append(runs, sd.Run)
		}
	}
	hash, err := pickScoring(runs, details, opts.Scoring)
	if err != nil {
		return nil, err
	}

	in := &Input{Sides: make([]SideInput, len(expanded)), Baseline: baseline, Scoring: hash}
	index := map[Side]int{}
	for i, sd := range expanded {
		in.Sides[i].Side = sd
		index[sd] = i
	}
	for _, run := range runs {
		var items []Item
		seenItem := map[string]bool{}
		for row, err := range st.Rows(ctx, run) {
			if err != nil {
				return nil, fmt.Errorf("compare: read run %s: %w", run, err)
			}
			if !seenItem[row.Item] {
				seenItem[row.Item] = true
				it := Item{ID: row.Item}
				if !opts.NoText {
					it.Source, it.References = row.Source, row.References
				}
				items = append(items, it)
			}
			i, ok := index[Side{Run: run, Variation: row.Variation}]
			if !ok {
				continue
			}
			in.Sides[i].Generations = append(in.Sides[i].Generations, generationOf(&row, hash, opts.NoText))
		}
		for i := range in.Sides {
			if in.Sides[i].Side.Run == run {
				in.Sides[i].Items = items
			}
		}
	}
	return in, nil
}

func hasVariation(d *store.RunDetail, name string) error {
	for _, v := range d.Variations {
		if v.Name == name {
			return nil
		}
	}
	return inputErrorf("run %s has no variation %q (its variations: %s)", d.ID, name, variationNames(d))
}

func variationNames(d *store.RunDetail) string {
	names := make([]string, len(d.Variations))
	for i, v := range d.Variations {
		names[i] = v.Name
	}
	return strings.Join(names, ", ")
}

// pickScoring finds the scoring configuration to compare under: the one
// named (a hash or its prefix) or the one all runs share.
func pickScoring(runs []string, details map[string]*store.RunDetail, name string) (string, error) {
	const fix = "score them under one configuration"
	var common []string
	for i, run := range runs {
		var hashes []string
		for _, sc := range details[run].Scorings {
			if strings.HasPrefix(sc.Hash, name) {
				hashes = append(hashes, sc.Hash)
			}
		}
		if len(hashes) == 0 {
			if name != "" {
				return "", inputErrorf("run %s has no scoring configuration %s (bertbench runs show %s lists them)", run, name, run)
			}
			return "", inputErrorf("run %s has no scores yet: score it before comparing", run)
		}
		if i == 0 {
			common = hashes
			continue
		}
		common = slices.DeleteFunc(common, func(h string) bool { return !slices.Contains(hashes, h) })
		if len(common) == 0 {
			return "", inputErrorf("runs %s share no scoring configuration: their scores are not comparable; %s", strings.Join(runs[:i+1], ", "), fix)
		}
	}
	if len(common) > 1 {
		short := make([]string, len(common))
		for i, h := range common {
			short[i] = h[:min(12, len(h))]
		}
		return "", inputErrorf("%d scoring configurations fit (%s): name one with its hash", len(common), strings.Join(short, ", "))
	}
	return common[0], nil
}

// generationOf keeps what a comparison reads of a stored row.
func generationOf(row *store.Row, hash string, noText bool) Generation {
	res := &row.Result
	g := Generation{
		Item: row.Item, Repeat: row.Repeat,
		Latency: res.Latency.Std(), TTFT: res.TTFT.Std(),
		PromptTokens: res.PromptTokens, CompletionTokens: res.CompletionTokens,
		CostUSD: res.CostUSD, Attempts: res.Attempts, Cached: res.Cached, Error: res.Error,
		Flags: row.Check.Flags,
	}
	if !noText {
		g.Output = res.Output
	}
	for _, sc := range row.Scores {
		if sc.Scoring != hash {
			continue
		}
		g.Raw = &PRF{sc.Raw.P, sc.Raw.R, sc.Raw.F}
		if r := sc.Rescaled; r != nil {
			g.Rescaled = &PRF{r.P, r.R, r.F}
		}
	}
	return g
}
