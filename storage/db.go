package storage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DriverName is the database/sql driver Quarry opens SQLite with
// (modernc.org/sqlite, pure Go).
const DriverName = "sqlite"

// DefaultReadConns is the reader pool size when Config.ReadConns is zero.
const DefaultReadConns = 4

// connMaxIdleTime closes pooled connections idle for longer than this.
const connMaxIdleTime = 3 * time.Minute

// Config configures Open.
type Config struct {
	// Path is the SQLite database file (required). Its parent directory is
	// created with mode 0700 when missing.
	Path string
	// ReadConns is the size of the reader pool (default 4).
	ReadConns int
	// Logger receives migration progress. Default: discard.
	Logger *slog.Logger
}

// DB holds the two connection pools of one SQLite database.
//
// Write has exactly one connection and begins every transaction with
// BEGIN IMMEDIATE, so writers queue in the pool instead of racing for the
// database lock (a deferred transaction that reads and then writes can fail
// with SQLITE_BUSY whatever busy_timeout says). Read is a pool of
// read-only (query_only) connections that WAL mode lets run alongside the
// writer. Use Write for every statement that changes something, and for
// reads that must see the latest committed state inside a write.
type DB struct {
	Write *sqlx.DB
	Read  *sqlx.DB

	path   string
	logger *slog.Logger
}

// Open opens the database at cfg.Path with Quarry's pragmas (WAL,
// busy_timeout 10s, foreign keys, synchronous NORMAL) and returns its writer
// and reader pools. It does not migrate: call [DB.Migrate].
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Path == "" {
		return nil, errors.New("storage: Config.Path is required")
	}
	if cfg.ReadConns < 0 {
		return nil, errors.New("storage: Config.ReadConns must not be negative")
	}
	cfg.ReadConns = cmp.Or(cfg.ReadConns, DefaultReadConns)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, fmt.Errorf("storage: open: %w", err)
	}

	w, err := sqlx.Open(DriverName, dsn(cfg.Path, false))
	if err != nil {
		return nil, fmt.Errorf("storage: open writer: %w", err)
	}
	// One writer connection: SQLite allows one writer at a time anyway, and
	// queueing in the pool never yields SQLITE_BUSY (PocketBase, River).
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(connMaxIdleTime)
	// The writer connects first so that the file exists and is in WAL mode
	// before a query_only reader opens it.
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("storage: open %s: %w", cfg.Path, err)
	}

	r, err := sqlx.Open(DriverName, dsn(cfg.Path, true))
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("storage: open reader: %w", err)
	}
	r.SetMaxOpenConns(cfg.ReadConns)
	r.SetMaxIdleConns(cfg.ReadConns)
	r.SetConnMaxIdleTime(connMaxIdleTime)
	if err := r.PingContext(ctx); err != nil {
		_ = w.Close()
		_ = r.Close()
		return nil, fmt.Errorf("storage: open %s: %w", cfg.Path, err)
	}
	return &DB{Write: w, Read: r, path: cfg.Path, logger: cfg.Logger}, nil
}

// dsn builds the modernc DSN. busy_timeout comes first: pragmas that touch
// the file (journal_mode) may otherwise fail with SQLITE_BUSY while another
// process holds the lock. Readers add query_only, which the driver applies
// last, so a stray write through Read fails instead of taking the lock.
func dsn(path string, readOnly bool) string {
	q := "_pragma=busy_timeout(10000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(ON)" +
		"&_pragma=journal_size_limit(200000000)" +
		"&_pragma=temp_store(MEMORY)" +
		"&_txlock=immediate"
	if readOnly {
		q += "&_query_only=1"
	}
	u := url.URL{Scheme: "file", Opaque: escapePath(path), RawQuery: q}
	return u.String()
}

// escapePath escapes the characters that would end the path part of a
// file: URI ('?' and '#') and '%' itself.
func escapePath(p string) string {
	var b []byte
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '?', '#', '%':
			b = append(b, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// Path returns the database file path.
func (db *DB) Path() string { return db.path }

// Close closes both pools.
func (db *DB) Close() error {
	return errors.Join(db.Read.Close(), db.Write.Close())
}

// Ping checks that the database answers a query, for health checks.
func (db *DB) Ping(ctx context.Context) error {
	// The reader pool only: the writer is one connection, and a health
	// check queued behind long writes would report a busy database as down.
	var one int
	if err := db.Read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("storage: ping: %w", err)
	}
	return nil
}

// InTx runs fn in one transaction of the writer pool (BEGIN IMMEDIATE) and
// commits when fn returns nil, rolling back otherwise.
func (db *DB) InTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.Write.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// IsBusy reports whether err is SQLite's SQLITE_BUSY or SQLITE_LOCKED
// ("database is locked"), including their extended codes.
func IsBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

// Timestamp formats t the way Quarry stores times: RFC 3339 in UTC with a
// fixed microsecond fraction, so that text comparison orders them and
// PostgreSQL's timestamptz precision keeps them unchanged.
func Timestamp(t time.Time) string { return t.UTC().Format(timeLayout) }

// ParseTimestamp parses a time written by [Timestamp] (any RFC 3339 time).
func ParseTimestamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("storage: bad timestamp %q: %w", s, err)
	}
	return t.UTC(), nil
}

const timeLayout = "2006-01-02T15:04:05.000000Z07:00"
