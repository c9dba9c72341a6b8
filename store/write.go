package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/outputcheck"
)

// batchSize is how many items or scores one transaction writes.
const batchSize = 500

// Item is one dataset item: a source to translate and its references.
type Item struct {
	// ID is the dataset's stable id for the item.
	ID         string
	Source     string
	References []string
}

// Key names one generation: an item asked of a variation, the Repeat-th
// time (0-based, below the variation's Repeats).
type Key struct {
	Variation string
	Item      string
	Repeat    int
}

func (k Key) String() string {
	return fmt.Sprintf("variation %q item %q repeat %d", k.Variation, k.Item, k.Repeat)
}

// Generation is one finished call (or a source answered without one).
type Generation struct {
	Key
	// RequestKey is the response cache key of the request, "" if none.
	RequestKey string
	// Result is the call's record, failures included. PutGeneration
	// checks its output (outputcheck.Check against the variation's
	// TargetLang) and stores the flags with it.
	Result runners.Result
	// FinishedAt is when the call finished (default: when it is stored).
	FinishedAt time.Time
}

// PutItems stores the run's items, in transactions of a few hundred. An
// item stored before is left as it is (resuming puts the dataset again);
// one stored before with another source or other references is an error
// matching ErrInputChanged, as its outputs would answer another input.
func (r *Run) PutItems(ctx context.Context, items []Item) error {
	for len(items) > 0 {
		n := min(len(items), batchSize)
		if err := r.s.write(ctx, func(tx *sql.Tx) error { return r.putItems(ctx, tx, items[:n]) }); err != nil {
			return fmt.Errorf("run %s: store items: %w", r.name, err)
		}
		items = items[n:]
	}
	return nil
}

func (r *Run) putItems(ctx context.Context, tx *sql.Tx, items []Item) error {
	ins, err := tx.PrepareContext(ctx, "INSERT INTO items (run, item, source, refs) VALUES (?, ?, ?, ?) ON CONFLICT (run, item) DO NOTHING")
	if err != nil {
		return err
	}
	defer ins.Close()
	for _, it := range items {
		refs := it.References
		if refs == nil {
			refs = []string{}
		}
		rj, err := json.Marshal(refs)
		if err != nil {
			return fmt.Errorf("item %q: %w", it.ID, err)
		}
		res, err := ins.ExecContext(ctx, r.id, it.ID, it.Source, string(rj))
		if err != nil {
			return fmt.Errorf("item %q: %w", it.ID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("item %q: %w", it.ID, err)
		}
		if n == 1 {
			continue
		}
		var src, refsThen string
		if err := tx.QueryRowContext(ctx, "SELECT source, refs FROM items WHERE run = ? AND item = ?", r.id, it.ID).Scan(&src, &refsThen); err != nil {
			return fmt.Errorf("item %q: %w", it.ID, err)
		}
		if src != it.Source || refsThen != string(rj) {
			return fmt.Errorf("item %q: %w (another source or other references): the dataset changed since the run started; start a new run", it.ID, ErrInputChanged)
		}
	}
	return nil
}

// PutGeneration stores one finished call, with the flags outputcheck
// raises for its output, and returns whether it was stored. It is durable when PutGeneration returns: committed on its own,
// it survives the process being killed right after (see Open).
//
// A generation stored before under the same key is kept and false
// returned, so that putting a result twice never duplicates a row; only a
// failed one is replaced (counted in prior_errors), so that a resumed run
// may try a failed call again. A failed generation has no scores
// (PutScores refuses them), so none are lost by replacing it.
//
// The write goes ahead when ctx is cancelled: a finished, perhaps paid,
// call is never dropped because the run is being stopped. Only
// busy_timeout bounds it.
func (r *Run) PutGeneration(ctx context.Context, g Generation) (bool, error) {
	ctx = context.WithoutCancel(ctx)
	v, err := r.variation(g.Key)
	if err != nil {
		return false, err
	}
	res := g.Result
	check := outputcheck.Check(res, v.lang)
	var ollama sql.NullString
	if res.Ollama != nil {
		b, err := json.Marshal(res.Ollama)
		if err != nil {
			return false, fmt.Errorf("run %s: %s: %w", r.name, g.Key, err)
		}
		ollama = sql.NullString{String: string(b), Valid: true}
	}
	var cost sql.NullFloat64
	if res.CostUSD != nil {
		cost = sql.NullFloat64{Float64: *res.CostUSD, Valid: true}
	}
	finished := g.FinishedAt
	if finished.IsZero() {
		finished = time.Now()
	}
	var stored bool
	err = r.s.write(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO generations (run, variation, item, rep, session, request_key, model, model_digest,
			output, latency_ms, ttft_ms, prompt_tokens, completion_tokens, ollama, cost_usd, attempts, cached, error,
			truncated_input, done_reason, flags, script, script_share, finished_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (run, variation, item, rep) DO UPDATE SET
			session = excluded.session, request_key = excluded.request_key, model = excluded.model,
			model_digest = excluded.model_digest, output = excluded.output, latency_ms = excluded.latency_ms,
			ttft_ms = excluded.ttft_ms, prompt_tokens = excluded.prompt_tokens,
			completion_tokens = excluded.completion_tokens, ollama = excluded.ollama, cost_usd = excluded.cost_usd,
			attempts = excluded.attempts, cached = excluded.cached, error = excluded.error,
			truncated_input = excluded.truncated_input, done_reason = excluded.done_reason, flags = excluded.flags,
			script = excluded.script, script_share = excluded.script_share, finished_at = excluded.finished_at,
			prior_errors = generations.prior_errors + 1
		WHERE generations.error <> ''
		RETURNING id`,
			r.id, v.id, g.Item, g.Repeat, r.session, g.RequestKey, res.Model, res.ModelDigest,
			res.Output, millis(res.Latency), millis(res.TTFT), res.PromptTokens, res.CompletionTokens, ollama, cost,
			res.Attempts, res.Cached, res.Error, res.TruncatedInput, res.DoneReason,
			check.String(), check.Script, nullFloat(check.Share), formatTime(finished),
		).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // a finished generation is stored already
		}
		stored = err == nil
		return err
	})
	if isForeignKey(err) {
		return false, fmt.Errorf("run %s: %s: item %w: store the run's items first", r.name, g.Key, ErrUnknown)
	}
	if err != nil {
		return false, fmt.Errorf("run %s: store %s: %w", r.name, g.Key, err)
	}
	return stored, nil
}

func (r *Run) variation(k Key) (variationRef, error) {
	v, ok := r.vars[k.Variation]
	if !ok {
		return v, fmt.Errorf("run %s: %s: variation %w", r.name, k, ErrUnknown)
	}
	if k.Repeat < 0 || k.Repeat >= v.repeats {
		return v, fmt.Errorf("run %s: %s: repeat out of range (the variation has %d)", r.name, k, v.repeats)
	}
	return v, nil
}

// AddScoring records a scoring configuration of the run: hash identifies
// it, config is its JSON text (a scorer Config). Adding it again is a
// no-op; the same hash with another config is an error matching
// ErrInputChanged.
func (r *Run) AddScoring(ctx context.Context, hash, config string) error {
	if hash == "" {
		return fmt.Errorf("run %s: scoring: empty hash", r.name)
	}
	if !json.Valid([]byte(config)) {
		return fmt.Errorf("run %s: scoring %s: the configuration is not JSON", r.name, short(hash))
	}
	err := r.s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO scorings (run, hash, config, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (run, hash) DO NOTHING",
			r.id, hash, config, formatTime(time.Now()))
		if err != nil {
			return err
		}
		var then string
		if err := tx.QueryRowContext(ctx, "SELECT config FROM scorings WHERE run = ? AND hash = ?", r.id, hash).Scan(&then); err != nil {
			return err
		}
		if then != config {
			return fmt.Errorf("scoring %s: %w (another configuration under the same hash)", short(hash), ErrInputChanged)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("run %s: add scoring: %w", r.name, err)
	}
	return nil
}

// PRF is a BERTScore triple: precision, recall and F1. NaN (an undefined
// score) is stored as NULL and read back as NaN.
type PRF struct {
	P, R, F float64
}

// NaNPRF is the triple of an undefined score.
var NaNPRF = PRF{math.NaN(), math.NaN(), math.NaN()}

// Score is the score of one generation under one scoring configuration.
type Score struct {
	Key
	// Raw is the score as computed.
	Raw PRF
	// Rescaled is the baseline-rescaled score, nil without a baseline.
	Rescaled *PRF
}

// PutScores stores scores of the run's successful generations under the
// scoring configuration hash (added with AddScoring), in transactions of a
// few hundred, and returns how many were new. A score stored before is
// kept. A key without a successful generation is an error matching
// ErrUnknown; the scores before it in its transaction are not stored.
func (r *Run) PutScores(ctx context.Context, hash string, scores []Score) (int, error) {
	var scoring int64
	err := r.s.r.QueryRowContext(ctx, "SELECT id FROM scorings WHERE run = ? AND hash = ?", r.id, hash).Scan(&scoring)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("run %s: scoring %s: %w: add it first", r.name, short(hash), ErrUnknown)
	}
	if err != nil {
		return 0, fmt.Errorf("run %s: store scores: %w", r.name, err)
	}
	total := 0
	for len(scores) > 0 {
		n := min(len(scores), batchSize)
		err := r.s.write(ctx, func(tx *sql.Tx) error {
			added, err := r.putScores(ctx, tx, scoring, scores[:n])
			total += added
			return err
		})
		if err != nil {
			return total, fmt.Errorf("run %s: store scores: %w", r.name, err)
		}
		scores = scores[n:]
	}
	return total, nil
}

func (r *Run) putScores(ctx context.Context, tx *sql.Tx, scoring int64, scores []Score) (int, error) {
	ins, err := tx.PrepareContext(ctx, `INSERT INTO scores (generation, scoring, p, r, f, p_rescaled, r_rescaled, f_rescaled)
		SELECT g.id, ?, ?, ?, ?, ?, ?, ? FROM generations g
		WHERE g.run = ? AND g.variation = ? AND g.item = ? AND g.rep = ? AND g.error = ''
		ON CONFLICT (generation, scoring) DO NOTHING`)
	if err != nil {
		return 0, err
	}
	defer ins.Close()
	added := 0
	for _, sc := range scores {
		v, err := r.variation(sc.Key)
		if err != nil {
			return 0, err
		}
		resc := NaNPRF
		if sc.Rescaled != nil {
			resc = *sc.Rescaled
		}
		res, err := ins.ExecContext(ctx, scoring, nullFloat(sc.Raw.P), nullFloat(sc.Raw.R), nullFloat(sc.Raw.F),
			nullFloat(resc.P), nullFloat(resc.R), nullFloat(resc.F), r.id, v.id, sc.Item, sc.Repeat)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", sc.Key, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return 0, err
		} else if n == 1 {
			added++
			continue
		}
		var ok bool
		if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM generations WHERE run = ? AND variation = ? AND item = ? AND rep = ? AND error = '')",
			r.id, v.id, sc.Item, sc.Repeat).Scan(&ok); err != nil {
			return 0, err
		}
		if !ok {
			return 0, fmt.Errorf("score for %s: no successful generation: %w", sc.Key, ErrUnknown)
		}
	}
	return added, nil
}

// millis is d in fractional milliseconds, the stored unit.
func millis(d runners.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// duration reads a stored millisecond value back.
func duration(ms float64) runners.Duration {
	return runners.Duration(math.Round(ms * float64(time.Millisecond)))
}

// nullFloat stores NaN as NULL.
func nullFloat(f float64) sql.NullFloat64 {
	return sql.NullFloat64{Float64: f, Valid: !math.IsNaN(f)}
}

// nanFloat reads NULL back as NaN.
func nanFloat(f sql.NullFloat64) float64 {
	if !f.Valid {
		return math.NaN()
	}
	return f.Float64
}

func isForeignKey(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}
