package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"strings"
	"time"

	"github.com/bertbench/bertbench/runners"
)

// Items streams the run's items in the dataset's order, as PutItems stored
// them. Rows are read as the loop asks for them; breaking out of the loop
// ends the query.
func (r *Run) Items(ctx context.Context) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		rows, err := r.s.r.QueryContext(ctx, "SELECT item, source, refs FROM items WHERE run = ? ORDER BY id", r.id)
		if err != nil {
			yield(Item{}, fmt.Errorf("run %s: items: %w", r.name, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var it Item
			var refs string
			err := rows.Scan(&it.ID, &it.Source, &refs)
			if err == nil {
				err = json.Unmarshal([]byte(refs), &it.References)
			}
			if err != nil {
				yield(Item{}, fmt.Errorf("run %s: items: %w", r.name, err))
				return
			}
			if !yield(it, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(Item{}, fmt.Errorf("run %s: items: %w", r.name, err))
		}
	}
}

// ToScoreByItem is ToScore in another order: by item (in the dataset's
// order), then variation and repeat, so that every output for one item
// comes together and a caller can find the outputs that several
// variations share (and encode each once) while holding only one item's.
func (r *Run) ToScoreByItem(ctx context.Context, hash string) iter.Seq2[Pair, error] {
	return r.toScore(ctx, hash, "i.id, g.variation, g.rep")
}

// VariationSummary is one variation of a run summed up under one scoring
// configuration: what `bertbench run` prints at the end.
type VariationSummary struct {
	VariationStats
	// Replayed counts the outputs read back from a recording (a replay:
	// runner): no call was made, and they are not in the latency figures.
	Replayed int `json:"replayed"`
	// LatencyP50 is the median latency of the live calls (0 when there
	// are none; see Live).
	LatencyP50 time.Duration `json:"latency_p50"`
	// Scored counts the generations scored under the configuration;
	// Undefined those of them with an undefined (NaN) P, R or F.
	Scored    int `json:"scored"`
	Undefined int `json:"undefined"`
	// Mean is the mean raw score; a component is NaN when any scored
	// generation leaves it undefined (as the reference's means are), and
	// when nothing is scored.
	Mean PRF `json:"mean"`
	// MeanRescaled is the mean rescaled score, nil when the scores have
	// no rescaled values (no baseline).
	MeanRescaled *PRF `json:"mean_rescaled,omitempty"`
}

// Summaries sums up each variation of the run named id ("": the latest),
// in the config's order, with its scores under the scoring configuration
// hash ("": no scores). The median latency is computed by the database
// (a sort of one variation's latencies at a time), so that nothing grows
// with the run in this process.
func (s *Store) Summaries(ctx context.Context, id, hash string) ([]VariationSummary, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}) // one snapshot for every query
	if err != nil {
		return nil, fmt.Errorf("run %s: summaries: %w", id, err)
	}
	defer tx.Rollback() // read-only: nothing to undo
	r, err := s.lookupRun(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	stats, err := variationStats(ctx, tx, r)
	if err != nil {
		return nil, fmt.Errorf("run %s: summaries: %w", r.name, err)
	}
	var scoring int64 = -1
	if hash != "" {
		err := tx.QueryRowContext(ctx, "SELECT id FROM scorings WHERE run = ? AND hash = ?", r.id, hash).Scan(&scoring)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("run %s: scoring %s: %w", r.name, short(hash), ErrUnknown)
		}
		if err != nil {
			return nil, fmt.Errorf("run %s: summaries: %w", r.name, err)
		}
	}
	out := make([]VariationSummary, len(stats))
	for i, st := range stats {
		vs := &out[i]
		vs.VariationStats = st
		vid := r.vars[st.Name].id
		if strings.HasPrefix(st.Runner, runners.ProviderReplay+":") {
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM generations WHERE run = ? AND variation = ? AND error = '' AND NOT cached",
				r.id, vid).Scan(&vs.Replayed); err != nil {
				return nil, fmt.Errorf("run %s: summaries: %w", r.name, err)
			}
		}
		if vs.LatencyP50, err = medianLatency(ctx, tx, r.id, vid, st.Live); err != nil {
			return nil, fmt.Errorf("run %s: variation %s: latency: %w", r.name, st.Name, err)
		}
		if err := meanScores(ctx, tx, vs, vid, scoring); err != nil {
			return nil, fmt.Errorf("run %s: variation %s: scores: %w", r.name, st.Name, err)
		}
	}
	return out, nil
}

// medianLatency is the median latency of a variation's n live calls.
func medianLatency(ctx context.Context, q querier, run, variation int64, n int) (time.Duration, error) {
	if n == 0 {
		return 0, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT latency_ms FROM generations
		WHERE run = ? AND variation = ? AND error = '' AND NOT cached AND attempts > 0
		ORDER BY latency_ms LIMIT 2 OFFSET ?`, run, variation, (n-1)/2)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var mid []float64
	for rows.Next() {
		var ms float64
		if err := rows.Scan(&ms); err != nil {
			return 0, err
		}
		mid = append(mid, ms)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	switch {
	case len(mid) == 0:
		return 0, nil
	case n%2 == 1 || len(mid) == 1:
		return time.Duration(duration(mid[0])), nil
	}
	return time.Duration(duration((mid[0] + mid[1]) / 2)), nil
}

// meanScores fills vs's score means under the scoring with row id scoring
// (-1: none).
func meanScores(ctx context.Context, q querier, vs *VariationSummary, variation, scoring int64) error {
	vs.Mean = NaNPRF
	if scoring < 0 {
		return nil
	}
	var (
		n, undef, nullP, nullR, nullF, resc, nullPR, nullRR, nullFR int
		p, rr, f, pr, rrr, fr                                       sql.NullFloat64
	)
	err := q.QueryRowContext(ctx, `SELECT COUNT(*),
			COALESCE(SUM(s.p IS NULL OR s.r IS NULL OR s.f IS NULL), 0),
			COALESCE(SUM(s.p IS NULL), 0), COALESCE(SUM(s.r IS NULL), 0), COALESCE(SUM(s.f IS NULL), 0),
			AVG(s.p), AVG(s.r), AVG(s.f),
			COALESCE(SUM(s.p_rescaled IS NOT NULL OR s.r_rescaled IS NOT NULL OR s.f_rescaled IS NOT NULL), 0),
			COALESCE(SUM(s.p_rescaled IS NULL), 0), COALESCE(SUM(s.r_rescaled IS NULL), 0), COALESCE(SUM(s.f_rescaled IS NULL), 0),
			AVG(s.p_rescaled), AVG(s.r_rescaled), AVG(s.f_rescaled)
		FROM scores s JOIN generations g ON g.id = s.generation
		WHERE s.scoring = ? AND g.variation = ?`, scoring, variation).Scan(
		&n, &undef, &nullP, &nullR, &nullF, &p, &rr, &f, &resc, &nullPR, &nullRR, &nullFR, &pr, &rrr, &fr)
	if err != nil {
		return err
	}
	vs.Scored, vs.Undefined = n, undef
	mean := func(v sql.NullFloat64, nulls int) float64 {
		if nulls > 0 || !v.Valid {
			return math.NaN()
		}
		return v.Float64
	}
	vs.Mean = PRF{mean(p, nullP), mean(rr, nullR), mean(f, nullF)}
	if resc > 0 {
		vs.MeanRescaled = &PRF{mean(pr, nullPR), mean(rrr, nullRR), mean(fr, nullFR)}
	}
	return nil
}
