package store

// migrations are the schema, one step per version: migrations[i] takes a
// database from user_version i to i+1. Steps are append-only: a released
// step is never edited, a change is a new step. Each runs in the one
// transaction that also sets user_version, so a store is never left
// half-migrated (SQLite's DDL is transactional).
//
// Conventions: tables are STRICT; times are TEXT in RFC 3339 with
// nanoseconds, UTC; durations are REAL milliseconds; booleans are INTEGER
// 0/1; JSON is TEXT; a NaN score is NULL.
var migrations = []string{
	// 1: runs, their sessions and variations, items, generations, scores.
	`
CREATE TABLE runs (
	id           INTEGER PRIMARY KEY,
	name         TEXT NOT NULL UNIQUE,  -- the run's id as users see it
	config       TEXT NOT NULL,         -- the experiment config, as given
	config_hash  TEXT NOT NULL,         -- hash of what decides the outputs
	tool_version TEXT NOT NULL,         -- bertbench version that created the run
	machine      TEXT NOT NULL,         -- JSON Machine of the creating session
	started_at   TEXT NOT NULL,
	ended_at     TEXT,                  -- NULL while running or after a kill
	status       TEXT NOT NULL          -- running, done, failed, interrupted
) STRICT;

CREATE TABLE sessions (
	id           INTEGER PRIMARY KEY,
	run          INTEGER NOT NULL REFERENCES runs(id),
	tool_version TEXT NOT NULL,
	machine      TEXT NOT NULL,         -- JSON Machine
	started_at   TEXT NOT NULL,
	ended_at     TEXT
) STRICT;
CREATE INDEX sessions_run ON sessions(run);

CREATE TABLE variations (
	id          INTEGER PRIMARY KEY,
	run         INTEGER NOT NULL REFERENCES runs(id),
	name        TEXT NOT NULL,
	runner      TEXT NOT NULL,          -- runner spec, e.g. ollama:llama2:13b
	prompt      TEXT NOT NULL,          -- prompt template
	system      TEXT NOT NULL,          -- system prompt template
	mode        TEXT NOT NULL,          -- chat or generate
	params      TEXT NOT NULL,          -- JSON runners.Params
	repeats     INTEGER NOT NULL CHECK (repeats >= 1),
	target_lang TEXT NOT NULL,          -- BCP 47 tag the output is checked against
	UNIQUE (run, name)
) STRICT;

CREATE TABLE items (
	id     INTEGER PRIMARY KEY,         -- insertion order: the dataset's order
	run    INTEGER NOT NULL REFERENCES runs(id),
	item   TEXT NOT NULL,               -- the dataset's stable item id
	source TEXT NOT NULL,
	refs   TEXT NOT NULL,               -- JSON array of reference strings
	UNIQUE (run, item)
) STRICT;

CREATE TABLE generations (
	id                INTEGER PRIMARY KEY,
	run               INTEGER NOT NULL,
	variation         INTEGER NOT NULL REFERENCES variations(id),
	item              TEXT NOT NULL,
	rep               INTEGER NOT NULL CHECK (rep >= 0),
	session           INTEGER NOT NULL REFERENCES sessions(id),
	request_key       TEXT NOT NULL,    -- response cache key of the request ('' if none)
	model             TEXT NOT NULL,
	model_digest      TEXT NOT NULL,
	output            TEXT NOT NULL,
	latency_ms        REAL NOT NULL,
	ttft_ms           REAL NOT NULL,
	prompt_tokens     INTEGER NOT NULL,
	completion_tokens INTEGER NOT NULL,
	ollama            TEXT,             -- JSON runners.OllamaCounters, NULL for other runners
	cost_usd          REAL,             -- NULL: no price
	attempts          INTEGER NOT NULL,
	cached            INTEGER NOT NULL,
	error             TEXT NOT NULL,    -- '' on success
	truncated_input   INTEGER NOT NULL,
	done_reason       TEXT NOT NULL,
	flags             TEXT NOT NULL,    -- outputcheck flags, comma-separated
	script            TEXT NOT NULL,    -- script checked ('' when not checked)
	script_share      REAL,             -- share of the output in it, NULL when not measured
	prior_errors      INTEGER NOT NULL DEFAULT 0, -- failed results this row replaced
	finished_at       TEXT NOT NULL,
	UNIQUE (run, variation, item, rep),
	FOREIGN KEY (run, item) REFERENCES items(run, item)
) STRICT;

CREATE TABLE scorings (
	id         INTEGER PRIMARY KEY,
	run        INTEGER NOT NULL REFERENCES runs(id),
	hash       TEXT NOT NULL,           -- hash of the scoring configuration
	config     TEXT NOT NULL,           -- the scoring configuration, as JSON
	created_at TEXT NOT NULL,
	UNIQUE (run, hash)
) STRICT;

CREATE TABLE scores (
	generation INTEGER NOT NULL REFERENCES generations(id) ON DELETE CASCADE,
	scoring    INTEGER NOT NULL REFERENCES scorings(id),
	p          REAL,                    -- raw; NULL for NaN
	r          REAL,
	f          REAL,
	p_rescaled REAL,                    -- baseline-rescaled; NULL for NaN or no baseline
	r_rescaled REAL,
	f_rescaled REAL,
	PRIMARY KEY (generation, scoring)
) STRICT, WITHOUT ROWID;
`,
}
