package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/outputcheck"
)

// State is what the store holds for one key.
type State uint8

// States of a key.
const (
	// Missing: nothing stored; the call is to be made.
	Missing State = iota
	// Finished: a successful generation is stored; never call again.
	Finished
	// Failed: a failed generation is stored; a resume may try again (a
	// success then replaces it).
	Failed
)

// DoneSet is what a run holds already, for resuming it.
type DoneSet struct {
	m                map[Key]State
	finished, failed int
}

// State returns what is stored for k.
func (d *DoneSet) State(k Key) State { return d.m[k] }

// Finished returns how many successful generations are stored.
func (d *DoneSet) Finished() int { return d.finished }

// Failed returns how many failed generations are stored.
func (d *DoneSet) Failed() int { return d.failed }

// Done returns which keys of the run have a generation stored.
func (r *Run) Done(ctx context.Context) (*DoneSet, error) {
	names := map[int64]string{}
	for name, v := range r.vars {
		names[v.id] = name
	}
	rows, err := r.s.r.QueryContext(ctx, "SELECT variation, item, rep, error <> '' FROM generations WHERE run = ?", r.id)
	if err != nil {
		return nil, fmt.Errorf("run %s: done: %w", r.name, err)
	}
	defer rows.Close()
	d := &DoneSet{m: map[Key]State{}}
	for rows.Next() {
		var v int64
		var k Key
		var failed bool
		if err := rows.Scan(&v, &k.Item, &k.Repeat, &failed); err != nil {
			return nil, fmt.Errorf("run %s: done: %w", r.name, err)
		}
		k.Variation = names[v]
		if failed {
			d.m[k] = Failed
			d.failed++
		} else {
			d.m[k] = Finished
			d.finished++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("run %s: done: %w", r.name, err)
	}
	return d, nil
}

// Pair is a successful generation to score: its output and the item's
// references.
type Pair struct {
	Key
	Candidate  string
	References []string
	// Flags are the output's flags (a scorer may report them, never drop
	// the pair for them).
	Flags []outputcheck.Flag
}

// ToScore streams the run's successful generations that have no score yet
// under the scoring configuration hash, by variation, item id and repeat
// (the order of the key's index: nothing to sort).
// The rows are read as the loop asks for them; breaking out of the loop
// ends the query. Scores may be stored while the loop runs.
func (r *Run) ToScore(ctx context.Context, hash string) iter.Seq2[Pair, error] {
	return r.toScore(ctx, hash, "g.variation, g.item, g.rep")
}

// toScore is ToScore with the rows in the order orderBy gives (a
// constant of this package).
func (r *Run) toScore(ctx context.Context, hash, orderBy string) iter.Seq2[Pair, error] {
	return func(yield func(Pair, error) bool) {
		var scoring int64
		err := r.s.r.QueryRowContext(ctx, "SELECT id FROM scorings WHERE run = ? AND hash = ?", r.id, hash).Scan(&scoring)
		if errors.Is(err, sql.ErrNoRows) {
			err = fmt.Errorf("scoring %s: %w: add it first", short(hash), ErrUnknown)
		}
		if err != nil {
			yield(Pair{}, fmt.Errorf("run %s: to score: %w", r.name, err))
			return
		}
		rows, err := r.s.r.QueryContext(ctx, `SELECT v.name, g.item, g.rep, g.output, g.flags, i.refs
			FROM generations g
			JOIN variations v ON v.id = g.variation
			JOIN items i ON i.run = g.run AND i.item = g.item
			WHERE g.run = ? AND g.error = ''
			AND NOT EXISTS (SELECT 1 FROM scores s WHERE s.generation = g.id AND s.scoring = ?)
			ORDER BY `+orderBy, r.id, scoring)
		if err != nil {
			yield(Pair{}, fmt.Errorf("run %s: to score: %w", r.name, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var p Pair
			var flags, refs string
			err := rows.Scan(&p.Variation, &p.Item, &p.Repeat, &p.Candidate, &flags, &refs)
			if err == nil {
				err = json.Unmarshal([]byte(refs), &p.References)
			}
			if err == nil {
				p.Flags, err = outputcheck.ParseFlags(flags)
			}
			if err != nil {
				yield(Pair{}, fmt.Errorf("run %s: to score: %s: %w", r.name, p.Key, err))
				return
			}
			if !yield(p, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(Pair{}, fmt.Errorf("run %s: to score: %w", r.name, err))
		}
	}
}

// RunSummary is a run as `runs list` shows it.
type RunSummary struct {
	ID          string    `json:"id"`
	ConfigHash  string    `json:"config_hash"`
	ToolVersion string    `json:"tool_version"`
	Machine     Machine   `json:"machine"`
	StartedAt   time.Time `json:"started_at"`
	// EndedAt is zero while the run is running or after it was killed.
	EndedAt time.Time `json:"ended_at"`
	Status  Status    `json:"status"`
	// Variations, Items and Expected (items × the variations' repeats)
	// describe the plan; Generations, Failed and Scores what is stored.
	Variations  int `json:"variations"`
	Items       int `json:"items"`
	Expected    int `json:"expected"`
	Generations int `json:"generations"`
	Failed      int `json:"failed"`
	Scores      int `json:"scores"`
}

// ListRuns returns the store's runs, oldest first.
func (s *Store) ListRuns(ctx context.Context) ([]RunSummary, error) {
	out, err := listRuns(ctx, s.r, 0)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return out, nil
}

// listRuns summarises the run with the given row id, or all for 0.
func listRuns(ctx context.Context, q querier, run int64) ([]RunSummary, error) {
	rows, err := q.QueryContext(ctx, `SELECT r.name, r.config_hash, r.tool_version, r.machine, r.started_at, r.ended_at, r.status,
		(SELECT COUNT(*) FROM variations WHERE run = r.id),
		(SELECT COUNT(*) FROM items WHERE run = r.id),
		(SELECT COALESCE(SUM(repeats), 0) FROM variations WHERE run = r.id),
		(SELECT COUNT(*) FROM generations WHERE run = r.id),
		(SELECT COUNT(*) FROM generations WHERE run = r.id AND error <> ''),
		(SELECT COUNT(*) FROM scores s JOIN scorings sc ON sc.id = s.scoring WHERE sc.run = r.id)
		FROM runs r WHERE ?1 = 0 OR r.id = ?1 ORDER BY r.id`, run)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RunSummary
	for rows.Next() {
		var rs RunSummary
		var machine string
		var started, ended sql.NullString
		var repeats int
		if err := rows.Scan(&rs.ID, &rs.ConfigHash, &rs.ToolVersion, &machine, &started, &ended, &rs.Status,
			&rs.Variations, &rs.Items, &repeats, &rs.Generations, &rs.Failed, &rs.Scores); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(machine), &rs.Machine)
		rs.StartedAt, rs.EndedAt = parseTime(started), parseTime(ended)
		rs.Expected = rs.Items * repeats
		out = append(out, rs)
	}
	return out, rows.Err()
}

// Session is one process's work on a run: its creation or a resume.
type Session struct {
	ID          int64     `json:"id"`
	ToolVersion string    `json:"tool_version"`
	Machine     Machine   `json:"machine"`
	StartedAt   time.Time `json:"started_at"`
	// EndedAt is zero for a session that is running or was killed.
	EndedAt time.Time `json:"ended_at"`
}

// Scoring is a scoring configuration of a run.
type Scoring struct {
	Hash      string    `json:"hash"`
	Config    string    `json:"config"` // JSON text
	CreatedAt time.Time `json:"created_at"`
	// Scores is how many generations have a score under it.
	Scores int `json:"scores"`
}

// VariationStats is a variation with counts over its stored generations.
type VariationStats struct {
	Variation
	// Generations counts what is stored; Failed those with an error;
	// Cached those served from the response cache; Live the successful
	// calls made by a model in this run (latency figures cover these only).
	Generations int `json:"generations"`
	Failed      int `json:"failed"`
	Cached      int `json:"cached"`
	Live        int `json:"live"`
	// Flags counts the outputs carrying each flag.
	Flags map[outputcheck.Flag]int `json:"flags"`
	// PromptTokens and CompletionTokens sum the live calls' tokens.
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	// CostUSD sums the priced live calls, Priced counts them.
	CostUSD float64 `json:"cost_usd"`
	Priced  int     `json:"priced"`
	// PriorErrors counts failed results replaced by a later try.
	PriorErrors int `json:"prior_errors"`
}

// RunDetail is a run as `runs show` shows it. Its Variations (the list)
// hides RunSummary.Variations (their count).
type RunDetail struct {
	RunSummary
	// Config is the experiment configuration as given.
	Config     string           `json:"config"`
	Sessions   []Session        `json:"sessions"`
	Variations []VariationStats `json:"variation_stats"`
	Scorings   []Scoring        `json:"scorings"`
}

// RunDetail returns the run named id ("": the latest), with counts per
// variation. An unknown id is an error matching ErrRunNotFound.
func (s *Store) RunDetail(ctx context.Context, id string) (*RunDetail, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}) // one snapshot for every query
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	defer tx.Rollback() // read-only: nothing to undo
	r, err := s.lookupRun(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	d := &RunDetail{}
	sum, err := listRuns(ctx, tx, r.id)
	if err != nil || len(sum) != 1 {
		return nil, fmt.Errorf("run %s: summary: %v", r.name, err)
	}
	d.RunSummary = sum[0]
	if err := tx.QueryRowContext(ctx, "SELECT config FROM runs WHERE id = ?", r.id).Scan(&d.Config); err != nil {
		return nil, fmt.Errorf("run %s: %w", r.name, err)
	}
	if d.Sessions, err = sessions(ctx, tx, r.id); err != nil {
		return nil, fmt.Errorf("run %s: %w", r.name, err)
	}
	if d.Variations, err = variationStats(ctx, tx, r); err != nil {
		return nil, fmt.Errorf("run %s: %w", r.name, err)
	}
	if d.Scorings, err = scorings(ctx, tx, r.id); err != nil {
		return nil, fmt.Errorf("run %s: %w", r.name, err)
	}
	return d, nil
}

// OpenRun opens the stored run named id ("": the latest) to add scorings
// and scores to it (bertbench merge --store: scores computed elsewhere),
// in no new session: its items, generations and status stay as they are.
// A missing run is an error matching ErrRunNotFound.
func (s *Store) OpenRun(ctx context.Context, id string) (*Run, error) {
	return s.lookupRun(ctx, s.r, id)
}

// lookupRun finds the run named id ("": the latest) with its variations.
func (s *Store) lookupRun(ctx context.Context, q querier, id string) (*Run, error) {
	r := &Run{s: s, vars: map[string]variationRef{}}
	query, args := "SELECT id, name FROM runs WHERE name = ?", []any{id}
	if id == "" {
		query, args = "SELECT id, name FROM runs ORDER BY id DESC LIMIT 1", nil
	}
	err := q.QueryRowContext(ctx, query, args...).Scan(&r.id, &r.name)
	if errors.Is(err, sql.ErrNoRows) {
		if id == "" {
			return nil, fmt.Errorf("%w: the store %s holds no run yet", ErrRunNotFound, s.path)
		}
		return nil, fmt.Errorf("%w: %s in %s (bertbench runs list shows the runs there)", ErrRunNotFound, id, s.path)
	}
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	if r.order, err = loadVariations(ctx, q, r); err != nil {
		return nil, fmt.Errorf("run %s: %w", r.name, err)
	}
	return r, nil
}

func sessions(ctx context.Context, q querier, run int64) ([]Session, error) {
	rows, err := q.QueryContext(ctx, "SELECT id, tool_version, machine, started_at, ended_at FROM sessions WHERE run = ? ORDER BY id", run)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var ss Session
		var machine string
		var started, ended sql.NullString
		if err := rows.Scan(&ss.ID, &ss.ToolVersion, &machine, &started, &ended); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(machine), &ss.Machine)
		ss.StartedAt, ss.EndedAt = parseTime(started), parseTime(ended)
		out = append(out, ss)
	}
	return out, rows.Err()
}

func scorings(ctx context.Context, q querier, run int64) ([]Scoring, error) {
	rows, err := q.QueryContext(ctx, `SELECT hash, config, created_at, (SELECT COUNT(*) FROM scores WHERE scoring = sc.id)
		FROM scorings sc WHERE run = ? ORDER BY id`, run)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Scoring
	for rows.Next() {
		var sc Scoring
		var created sql.NullString
		if err := rows.Scan(&sc.Hash, &sc.Config, &created, &sc.Scores); err != nil {
			return nil, err
		}
		sc.CreatedAt = parseTime(created)
		out = append(out, sc)
	}
	return out, rows.Err()
}

func variationStats(ctx context.Context, q querier, r *Run) ([]VariationStats, error) {
	byID := map[int64]*VariationStats{}
	out := make([]VariationStats, len(r.order))
	for i, v := range r.order {
		out[i] = VariationStats{Variation: v, Flags: map[outputcheck.Flag]int{}}
		byID[r.vars[v.Name].id] = &out[i]
	}
	rows, err := q.QueryContext(ctx, `SELECT variation, COUNT(*),
			SUM(error <> ''), SUM(error = '' AND cached), SUM(error = '' AND NOT cached AND attempts > 0),
			SUM(CASE WHEN error = '' AND NOT cached THEN prompt_tokens ELSE 0 END),
			SUM(CASE WHEN error = '' AND NOT cached THEN completion_tokens ELSE 0 END),
			SUM(CASE WHEN error = '' AND NOT cached AND cost_usd IS NOT NULL THEN cost_usd ELSE 0 END),
			SUM(error = '' AND NOT cached AND cost_usd IS NOT NULL),
			SUM(prior_errors)
		FROM generations WHERE run = ? GROUP BY variation`, r.id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var vs VariationStats
		if err := rows.Scan(&id, &vs.Generations, &vs.Failed, &vs.Cached, &vs.Live, &vs.PromptTokens, &vs.CompletionTokens,
			&vs.CostUSD, &vs.Priced, &vs.PriorErrors); err != nil {
			return nil, err
		}
		if t := byID[id]; t != nil {
			vs.Variation, vs.Flags = t.Variation, t.Flags
			*t = vs
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	frows, err := q.QueryContext(ctx, "SELECT variation, flags, COUNT(*) FROM generations WHERE run = ? AND flags <> '' GROUP BY variation, flags", r.id)
	if err != nil {
		return nil, err
	}
	defer frows.Close()
	for frows.Next() {
		var id int64
		var flags string
		var n int
		if err := frows.Scan(&id, &flags, &n); err != nil {
			return nil, err
		}
		fs, err := outputcheck.ParseFlags(flags)
		if err != nil {
			return nil, err
		}
		if t := byID[id]; t != nil {
			for _, f := range fs {
				t.Flags[f] += n
			}
		}
	}
	return out, frows.Err()
}

// Row is one stored generation with its item and its scores, as exported.
type Row struct {
	Run string
	Key
	Source     string
	References []string
	// Session is the session that stored the generation.
	Session    int64
	RequestKey string
	// Result is the call's record; Runner is the variation's runner spec.
	Result runners.Result
	Check  outputcheck.Report
	// PriorErrors counts failed results this one replaced.
	PriorErrors int
	FinishedAt  time.Time
	// Scores are the generation's scores, one per scoring configuration
	// that scored it, in the order the configurations were added.
	Scores []RowScore
}

// RowScore is one score of a Row.
type RowScore struct {
	// Scoring is the scoring configuration's hash.
	Scoring string
	Raw     PRF
	// Rescaled is nil when the score was stored without a rescaled one
	// (no baseline).
	Rescaled *PRF
}

// Rows streams the run named id ("": the latest): every generation with
// its item and scores, by variation (in the config's order), item (in the
// dataset's order) and repeat. Rows are read as the loop asks for them,
// never all at once; breaking out of the loop ends the query.
func (s *Store) Rows(ctx context.Context, id string) iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		r, err := s.lookupRun(ctx, s.r, id)
		if err != nil {
			yield(Row{}, err)
			return
		}
		rowsOf(ctx, s.r, r)(yield)
	}
}

// rowsOf streams r's rows read through q (a read transaction: the rows of
// its snapshot).
func rowsOf(ctx context.Context, q querier, r *Run) iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		runnerOf := map[string]string{}
		for _, v := range r.order {
			runnerOf[v.Name] = v.Runner
		}
		rows, err := q.QueryContext(ctx, `SELECT g.id, v.name, g.item, g.rep, i.source, i.refs, g.session, g.request_key,
				g.model, g.model_digest, g.output, g.latency_ms, g.ttft_ms, g.prompt_tokens, g.completion_tokens,
				g.ollama, g.cost_usd, g.attempts, g.cached, g.error, g.truncated_input, g.done_reason,
				g.flags, g.script, g.script_share, g.prior_errors, g.finished_at,
				sc.hash, s.p, s.r, s.f, s.p_rescaled, s.r_rescaled, s.f_rescaled
			FROM generations g
			JOIN variations v ON v.id = g.variation
			JOIN items i ON i.run = g.run AND i.item = g.item
			LEFT JOIN scores s ON s.generation = g.id
			LEFT JOIN scorings sc ON sc.id = s.scoring
			WHERE g.run = ?
			ORDER BY g.variation, i.id, g.rep, s.scoring`, r.id)
		if err != nil {
			yield(Row{}, fmt.Errorf("run %s: rows: %w", r.name, err))
			return
		}
		defer rows.Close()
		var cur Row
		curID := int64(-1)
		for rows.Next() {
			var (
				gid                   int64
				row                   Row
				refs, flags, finished string
				latency, ttft         float64
				ollama, hash          sql.NullString
				cost, share           sql.NullFloat64
				p, rr, f, pr, rrr, fr sql.NullFloat64
				res                   = &row.Result
			)
			err := rows.Scan(&gid, &row.Variation, &row.Item, &row.Repeat, &row.Source, &refs, &row.Session, &row.RequestKey,
				&res.Model, &res.ModelDigest, &res.Output, &latency, &ttft, &res.PromptTokens, &res.CompletionTokens,
				&ollama, &cost, &res.Attempts, &res.Cached, &res.Error, &res.TruncatedInput, &res.DoneReason,
				&flags, &row.Check.Script, &share, &row.PriorErrors, &finished,
				&hash, &p, &rr, &f, &pr, &rrr, &fr)
			if err != nil {
				yield(Row{}, fmt.Errorf("run %s: rows: %w", r.name, err))
				return
			}
			if gid != curID {
				if curID >= 0 && !yield(cur, nil) {
					return
				}
				row.Run = r.name
				res.Runner = runnerOf[row.Variation]
				res.Latency, res.TTFT = duration(latency), duration(ttft)
				if cost.Valid {
					c := cost.Float64
					res.CostUSD = &c
				}
				if ollama.Valid {
					res.Ollama = &runners.OllamaCounters{}
					err = json.Unmarshal([]byte(ollama.String), res.Ollama)
				}
				if err == nil {
					err = json.Unmarshal([]byte(refs), &row.References)
				}
				if err == nil {
					row.Check.Flags, err = outputcheck.ParseFlags(flags)
				}
				if err != nil {
					yield(Row{}, fmt.Errorf("run %s: %s: %w", r.name, row.Key, err))
					return
				}
				row.Check.Share = nanFloat(share)
				row.FinishedAt = parseTime(sql.NullString{String: finished, Valid: true})
				cur, curID = row, gid
			}
			if hash.Valid {
				rs := RowScore{Scoring: hash.String, Raw: PRF{nanFloat(p), nanFloat(rr), nanFloat(f)}}
				if pr.Valid || rrr.Valid || fr.Valid {
					rs.Rescaled = &PRF{nanFloat(pr), nanFloat(rrr), nanFloat(fr)}
				}
				cur.Scores = append(cur.Scores, rs)
			}
		}
		if err := rows.Err(); err != nil {
			yield(Row{}, fmt.Errorf("run %s: rows: %w", r.name, err))
			return
		}
		if curID >= 0 {
			yield(cur, nil)
		}
	}
}
