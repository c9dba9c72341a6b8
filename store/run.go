package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"time"

	"github.com/bertbench/bertbench/runners"
)

// Machine describes where a session ran, so that latencies measured on
// two machines are never compared unawares.
type Machine struct {
	Hostname  string `json:"hostname"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	// Note is free text the caller adds, e.g. the accelerator.
	Note string `json:"note,omitempty"`
}

// ThisMachine describes the machine the process runs on.
func ThisMachine() Machine {
	host, _ := os.Hostname()
	return Machine{Hostname: host, OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
}

// Variation is one way of producing outputs in a run: a runner, a prompt
// and its parameters, asked Repeats times per item.
type Variation struct {
	// Name identifies the variation in the run, e.g. "llama2-13b-t0".
	Name string `json:"name"`
	// Runner is the runner spec, e.g. "ollama:llama2:13b".
	Runner string `json:"runner"`
	// Prompt is the prompt template and System the system prompt template.
	Prompt string `json:"prompt"`
	System string `json:"system,omitempty"`
	// Mode is chat (the default when empty) or generate.
	Mode runners.Mode `json:"mode,omitempty"`
	// Params are the sampling parameters (KeepAlive is not stored: it does
	// not change outputs).
	Params runners.Params `json:"params"`
	// Repeats is how many times each item is asked (default 1).
	Repeats int `json:"repeats"`
	// TargetLang is the BCP 47 tag outputs are checked against ("zh"; ""
	// or an unknown language: the language is not checked).
	TargetLang string `json:"target_lang,omitempty"`
}

// RunConfig describes a run when it is created or resumed.
type RunConfig struct {
	// ID names the run; empty: CreateRun makes one from the time, e.g.
	// "20260102-150405-3f2a". Letters, digits, '.', '_' and '-' only.
	ID string
	// Config is the experiment configuration as the user wrote it.
	Config string
	// ConfigHash is the hash of everything in the configuration that
	// decides the outputs; ResumeRun requires the same hash.
	ConfigHash string
	// ToolVersion is the bertbench version writing the run.
	ToolVersion string
	// Machine is where this session runs (default: ThisMachine()).
	Machine Machine
	// Variations are the run's variations, in the config's order.
	Variations []Variation
}

// Status is where a run stands.
type Status string

// Statuses a run can have. A run killed while running keeps
// StatusRunning with no end time.
const (
	StatusRunning     Status = "running"
	StatusDone        Status = "done"
	StatusFailed      Status = "failed"
	StatusInterrupted Status = "interrupted"
)

var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Run is a run being written: created or resumed by this process. Its
// methods are safe for concurrent use.
type Run struct {
	s       *Store
	id      int64
	name    string
	session int64
	vars    map[string]variationRef
	order   []Variation
}

type variationRef struct {
	id      int64
	repeats int
	lang    string // target language outputs are checked against
}

// ID returns the run's id.
func (r *Run) ID() string { return r.name }

// Variations returns the run's variations, in order.
func (r *Run) Variations() []Variation { return append([]Variation(nil), r.order...) }

// Store returns the store the run is written to.
func (r *Run) Store() *Store { return r.s }

func (c *RunConfig) check() error {
	if c.ConfigHash == "" {
		return errors.New("run config: empty config hash")
	}
	if c.Machine == (Machine{}) {
		c.Machine = ThisMachine()
	}
	if len(c.Variations) == 0 {
		return errors.New("run config: no variations")
	}
	seen := map[string]bool{}
	for i := range c.Variations {
		v := &c.Variations[i]
		if v.Name == "" {
			return fmt.Errorf("run config: variation %d has no name", i+1)
		}
		if seen[v.Name] {
			return fmt.Errorf("run config: two variations named %q", v.Name)
		}
		seen[v.Name] = true
		if v.Mode == "" {
			v.Mode = runners.ModeChat
		}
		if v.Repeats == 0 {
			v.Repeats = 1
		}
		if v.Repeats < 0 {
			return fmt.Errorf("run config: variation %q: repeats %d: must be at least 1", v.Name, v.Repeats)
		}
		v.Params.KeepAlive = nil
	}
	return nil
}

// CreateRun starts a new run with its variations and a first session.
func (s *Store) CreateRun(ctx context.Context, cfg RunConfig) (_ *Run, err error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.ID == "" {
		cfg.ID = newRunID(time.Now())
	}
	if !validID.MatchString(cfg.ID) {
		return nil, fmt.Errorf("run id %q: use letters, digits, '.', '_' and '-' (at most 128)", cfg.ID)
	}
	machine, err := json.Marshal(cfg.Machine)
	if err != nil {
		return nil, fmt.Errorf("create run: %w", err)
	}
	now := formatTime(time.Now())
	r := &Run{s: s, name: cfg.ID, vars: map[string]variationRef{}}
	err = s.write(ctx, func(tx *sql.Tx) error {
		var exists bool
		if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM runs WHERE name = ?)", cfg.ID).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return fmt.Errorf("run %s exists already: resume it, or give the new run another id", cfg.ID)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO runs (name, config, config_hash, tool_version, machine, started_at, status)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, cfg.ID, cfg.Config, cfg.ConfigHash, cfg.ToolVersion, string(machine), now, StatusRunning)
		if err != nil {
			return err
		}
		if r.id, err = res.LastInsertId(); err != nil {
			return err
		}
		for _, v := range cfg.Variations {
			params, err := json.Marshal(v.Params)
			if err != nil {
				return fmt.Errorf("variation %q: %w", v.Name, err)
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO variations (run, name, runner, prompt, system, mode, params, repeats, target_lang)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.id, v.Name, v.Runner, v.Prompt, v.System, string(v.Mode), string(params), v.Repeats, v.TargetLang)
			if err != nil {
				return err
			}
			id, err := res.LastInsertId()
			if err != nil {
				return err
			}
			r.vars[v.Name] = variationRef{id: id, repeats: v.Repeats, lang: v.TargetLang}
		}
		r.session, err = startSession(ctx, tx, r.id, cfg, string(machine), now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create run: %w", err)
	}
	r.order = cfg.Variations
	return r, nil
}

// ResumeRun continues the run named id ("": the latest run) in a new
// session. The configuration must hash as it did when the run started, and
// its variations must be the stored ones: otherwise the error matches
// ErrConfigChanged and says how to go on.
func (s *Store) ResumeRun(ctx context.Context, id string, cfg RunConfig) (_ *Run, err error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	machine, err := json.Marshal(cfg.Machine)
	if err != nil {
		return nil, fmt.Errorf("resume run: %w", err)
	}
	now := formatTime(time.Now())
	r := &Run{s: s, vars: map[string]variationRef{}}
	err = s.write(ctx, func(tx *sql.Tx) error {
		var hash string
		q := "SELECT id, name, config_hash FROM runs WHERE name = ?"
		args := []any{id}
		if id == "" {
			q, args = "SELECT id, name, config_hash FROM runs ORDER BY id DESC LIMIT 1", nil
		}
		err := tx.QueryRowContext(ctx, q, args...).Scan(&r.id, &r.name, &hash)
		if errors.Is(err, sql.ErrNoRows) {
			if id == "" {
				return fmt.Errorf("nothing to resume: %w in %s; start the run without --resume", ErrRunNotFound, s.path)
			}
			return fmt.Errorf("%w: %s in %s (bertbench runs list shows the runs there)", ErrRunNotFound, id, s.path)
		}
		if err != nil {
			return err
		}
		if hash != cfg.ConfigHash {
			return fmt.Errorf("run %s: %w (config hash %s then, %s now): resume with the config the run started with (bertbench runs show %s prints it), or start a new run without --resume",
				r.name, ErrConfigChanged, short(hash), short(cfg.ConfigHash), r.name)
		}
		stored, err := loadVariations(ctx, tx, r)
		if err != nil {
			return err
		}
		if err := sameVariations(stored, cfg.Variations); err != nil {
			return fmt.Errorf("run %s: %w: %v: resume with the config the run started with, or start a new run without --resume", r.name, ErrConfigChanged, err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE runs SET status = ?, ended_at = NULL WHERE id = ?", StatusRunning, r.id); err != nil {
			return err
		}
		r.session, err = startSession(ctx, tx, r.id, cfg, string(machine), now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("resume run: %w", err)
	}
	r.order = cfg.Variations
	return r, nil
}

// Finish records the run's end with its status and closes this session.
func (r *Run) Finish(ctx context.Context, status Status) error {
	ctx = context.WithoutCancel(ctx) // the end of a run is recorded even after Ctrl-C
	now := formatTime(time.Now())
	err := r.s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE runs SET status = ?, ended_at = ? WHERE id = ?", status, now, r.id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE sessions SET ended_at = ? WHERE id = ?", now, r.session)
		return err
	})
	if err != nil {
		return fmt.Errorf("run %s: finish: %w", r.name, err)
	}
	return nil
}

func startSession(ctx context.Context, tx *sql.Tx, run int64, cfg RunConfig, machine, now string) (int64, error) {
	res, err := tx.ExecContext(ctx, "INSERT INTO sessions (run, tool_version, machine, started_at) VALUES (?, ?, ?, ?)",
		run, cfg.ToolVersion, machine, now)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// loadVariations reads the run's variations, filling r.vars.
func loadVariations(ctx context.Context, q querier, r *Run) ([]Variation, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, name, runner, prompt, system, mode, params, repeats, target_lang
		FROM variations WHERE run = ? ORDER BY id`, r.id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vs []Variation
	for rows.Next() {
		var v Variation
		var id int64
		var params string
		if err := rows.Scan(&id, &v.Name, &v.Runner, &v.Prompt, &v.System, &v.Mode, &params, &v.Repeats, &v.TargetLang); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(params), &v.Params); err != nil {
			return nil, fmt.Errorf("variation %q: params: %w", v.Name, err)
		}
		if r.vars != nil {
			r.vars[v.Name] = variationRef{id: id, repeats: v.Repeats, lang: v.TargetLang}
		}
		vs = append(vs, v)
	}
	return vs, rows.Err()
}

// sameVariations reports how the variations given differ from the stored.
func sameVariations(stored, given []Variation) error {
	if len(stored) != len(given) {
		return fmt.Errorf("%d variations then, %d now", len(stored), len(given))
	}
	for i, s := range stored {
		g := given[i]
		sj, _ := json.Marshal(s)
		gj, _ := json.Marshal(g)
		if string(sj) != string(gj) {
			return fmt.Errorf("variation %d (%q) differs", i+1, s.Name)
		}
	}
	return nil
}

func newRunID(t time.Time) string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// short abbreviates a hash for messages.
func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

const timeLayout = time.RFC3339Nano

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s sql.NullString) time.Time {
	if !s.Valid {
		return time.Time{}
	}
	t, _ := time.Parse(timeLayout, s.String)
	return t
}

// querier is what reads need from a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// write runs fn in one write transaction and commits it.
func (s *Store) write(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
