package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// FileName is the store's file name in an output folder.
const FileName = "results.db"

// PathIn returns the store's path in the output folder dir.
func PathIn(dir string) string { return filepath.Join(dir, FileName) }

// DefaultBusyTimeout is how long a statement waits for another process's
// write lock before it fails with "database is locked".
const DefaultBusyTimeout = 5 * time.Second

// readers is the most connections that read at once (export, a scoring
// pass reading generations while the writer stores its scores).
const readers = 4

// Store is an open results database. It is safe for concurrent use: all
// writes go through one connection, in the order they are made, and reads
// use a small pool of their own, so a read in progress (a streamed export)
// never blocks a write, nor a write a read (WAL).
type Store struct {
	path string
	w    *sql.DB // one connection: the only writer
	r    *sql.DB // query_only connections for reads
}

// Open opens the store at path, creating the file (not its folder) and the
// schema when missing and migrating an older schema to this version's. A
// store written by a newer bertbench (a schema this version does not know)
// is refused with ErrNewerSchema.
//
// The database is in WAL mode with synchronous=NORMAL: a committed
// transaction is in the WAL file when the commit returns, so it survives
// the process being killed (kill -9) at any moment; only a crash of the
// operating system or a power loss can take back the transactions
// committed since the last checkpoint. Foreign keys are enforced.
func Open(ctx context.Context, path string) (_ *Store, err error) {
	if path == "" {
		return nil, errors.New("results store: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("results store %s: %w", path, err)
	}
	if fi, err := os.Stat(abs); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("results store %s: not a regular file", path)
	}
	s := &Store{path: path}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	if s.w, err = sql.Open("sqlite", dsn(abs, false)); err != nil {
		return nil, fmt.Errorf("results store %s: %w", path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxIdleTime(0)
	s.w.SetConnMaxLifetime(0)

	// journal_mode persists in the file; SQLite answers with the mode it
	// is in, which is not WAL where the file system cannot share memory.
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return nil, fmt.Errorf("results store %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return nil, fmt.Errorf("results store %s: cannot use WAL mode (SQLite stays in %q): put the output folder on a local file system", path, mode)
	}
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("results store %s: %w", path, err)
	}

	if s.r, err = sql.Open("sqlite", dsn(abs, true)); err != nil {
		return nil, fmt.Errorf("results store %s: %w", path, err)
	}
	s.r.SetMaxOpenConns(readers)
	s.r.SetMaxIdleConns(readers)
	return s, nil
}

// OpenExisting opens the store at path like Open but never creates one: a
// missing file is an error matching ErrNoStore. A folder stands for the
// store in it (PathIn).
func OpenExisting(ctx context.Context, path string) (*Store, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = PathIn(path)
	}
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("results store %s: %w", path, ErrNoStore)
	}
	if err != nil {
		return nil, fmt.Errorf("results store %s: %w", path, err)
	}
	return Open(ctx, path)
}

// dsn is the driver's name for the database at abs: a file: URI (so that
// any character in the path is escaped, '?' and '#' included) carrying the
// per-connection settings. The writer takes its lock when a transaction
// begins (BEGIN IMMEDIATE), so a transaction never fails half-way on a
// lock another process holds; readers cannot write.
func dsn(abs string, readOnly bool) string {
	q := []string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", DefaultBusyTimeout.Milliseconds()),
		"_pragma=foreign_keys(1)",
		"_pragma=synchronous(NORMAL)",
	}
	if readOnly {
		q = append(q, "_pragma=query_only(1)")
	} else {
		q = append(q, "_txlock=immediate")
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: strings.Join(q, "&")}
	return u.String()
}

// Path returns the path the store was opened with.
func (s *Store) Path() string { return s.path }

// Close closes the store. Everything committed is already on disk; Close
// lets SQLite checkpoint the WAL into the database file.
func (s *Store) Close() error {
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("results store %s: close: %w", s.path, err)
	}
	return nil
}

// SchemaVersion is the schema version this package writes.
func SchemaVersion() int { return len(migrations) }

// migrate brings the schema to SchemaVersion in one transaction.
func (s *Store) migrate(ctx context.Context) (err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("%w: schema version %d, this bertbench knows up to %d: use a newer bertbench to read it", ErrNewerSchema, v, len(migrations))
	}
	if v == len(migrations) {
		return tx.Commit()
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", i+1, err)
		}
	}
	// PRAGMA takes no parameters; the value is a constant of this package.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return err
	}
	return tx.Commit()
}

// IntegrityCheck runs SQLite's integrity_check and foreign_key_check and
// returns an error listing what they found.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	rows, err := s.r.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	var problems []string
	for rows.Next() {
		var msg string
		if err := rows.Scan(&msg); err != nil {
			rows.Close()
			return fmt.Errorf("integrity check: %w", err)
		}
		if msg != "ok" {
			problems = append(problems, msg)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	fk, err := s.r.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	defer fk.Close()
	for fk.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int
		if err := fk.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return fmt.Errorf("foreign key check: %w", err)
		}
		problems = append(problems, fmt.Sprintf("%s row %d: no %s row", table, rowid.Int64, parent))
	}
	if err := fk.Err(); err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("results store %s is damaged: %s", s.path, strings.Join(problems, "; "))
	}
	return nil
}
