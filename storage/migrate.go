package storage

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// ErrSchemaTooNew means the database records a migration this binary does
// not know: a newer Quarry has migrated it. Nothing is changed; run the
// newer binary (or restore a backup).
var ErrSchemaTooNew = errors.New("storage: database schema is newer than this binary")

// Migration is one schema migration and whether it is applied.
type Migration struct {
	// Version is the NNNN prefix of the file name.
	Version int
	// Name is the rest of the file name, such as "init".
	Name string
	// AppliedAt is when the migration was applied, nil when pending.
	AppliedAt *time.Time
	// Known is false for a migration recorded in the database that this
	// binary does not embed (see [ErrSchemaTooNew]).
	Known bool
}

// migration is one embedded migration file set.
type migration struct {
	version int
	name    string
	up      string // SQL
	down    string // SQL, may be empty
}

var migrationName = regexp.MustCompile(`^([0-9]{4})_([a-z0-9_]+)\.(up|down)\.sql$`)

// loadMigrations reads NNNN_name.up.sql (and optional .down.sql) files from
// the root of fsys, in version order. Any other file name is an error, as
// are duplicate versions and a .down.sql without its .up.sql.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("storage: migrations: %w", err)
	}
	byVersion := map[int]*migration{}
	for _, e := range entries {
		if e.IsDir() {
			return nil, fmt.Errorf("storage: migrations: unexpected directory %s", e.Name())
		}
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("storage: migrations: bad file name %q, want NNNN_name.up.sql or NNNN_name.down.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if v == 0 {
			return nil, fmt.Errorf("storage: migrations: %s: version 0 is reserved", e.Name())
		}
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("storage: migrations: %w", err)
		}
		mg := byVersion[v]
		if mg == nil {
			mg = &migration{version: v, name: m[2]}
			byVersion[v] = mg
		} else if mg.name != m[2] {
			return nil, fmt.Errorf("storage: migrations: version %04d used by both %q and %q", v, mg.name, m[2])
		}
		if m[3] == "up" {
			mg.up = string(body)
		} else {
			mg.down = string(body)
		}
	}
	out := make([]migration, 0, len(byVersion))
	for _, mg := range byVersion {
		if strings.TrimSpace(mg.up) == "" {
			return nil, fmt.Errorf("storage: migrations: %04d_%s has no (or an empty) .up.sql", mg.version, mg.name)
		}
		out = append(out, *mg)
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	return out, nil
}

func embeddedMigrations() ([]migration, error) {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("storage: migrations: %w", err)
	}
	return loadMigrations(sub)
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)`

// Migrate applies the pending embedded migrations in version order, each
// in its own BEGIN IMMEDIATE transaction together with its row in
// schema_migrations. Concurrent calls, from this process or another one on
// the same file, apply each migration exactly once: the version is checked
// again inside the transaction that holds the write lock.
//
// When the database records a version this binary does not know, Migrate
// changes nothing and returns an error wrapping [ErrSchemaTooNew].
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := embeddedMigrations()
	if err != nil {
		return err
	}
	return db.migrate(ctx, ms)
}

func (db *DB) migrate(ctx context.Context, ms []migration) error {
	known := map[int]bool{}
	for _, m := range ms {
		known[m.version] = true
	}
	// Check first, in a write transaction so that the check and the table
	// creation see one state.
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, createMigrationsTable); err != nil {
			return err
		}
		return checkKnown(ctx, tx, known)
	})
	if err != nil {
		return fmt.Errorf("storage: migrate: %w", err)
	}
	for _, m := range ms {
		applied := false
		err := db.InTx(ctx, func(tx *sqlx.Tx) error {
			// Re-check under the write lock: another process may have
			// applied it (or a newer binary may have moved on) meanwhile.
			if err := checkKnown(ctx, tx, known); err != nil {
				return err
			}
			var n int
			q := tx.Rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`)
			if err := tx.QueryRowContext(ctx, q, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.up); err != nil {
				return fmt.Errorf("%04d_%s: %w", m.version, m.name, err)
			}
			q = tx.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`)
			if _, err := tx.ExecContext(ctx, q, m.version, m.name, Timestamp(time.Now())); err != nil {
				return err
			}
			applied = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("storage: migrate: %w", err)
		}
		if applied {
			db.logger.InfoContext(ctx, "applied migration", "version", m.version, "name", m.name)
		}
	}
	return nil
}

// checkKnown fails with ErrSchemaTooNew when schema_migrations holds a
// version not in known.
func checkKnown(ctx context.Context, tx *sqlx.Tx, known map[int]bool) error {
	var versions []int
	if err := tx.SelectContext(ctx, &versions, `SELECT version FROM schema_migrations ORDER BY version`); err != nil {
		return err
	}
	for _, v := range versions {
		if !known[v] {
			return fmt.Errorf("%w: the database has migration %04d, this binary knows up to %04d", ErrSchemaTooNew, v, maxKey(known))
		}
	}
	return nil
}

func maxKey(m map[int]bool) int {
	x := 0
	for k := range m {
		x = max(x, k)
	}
	return x
}

// MigrationStatus lists every embedded migration, applied or pending, and
// any migration recorded in the database that this binary does not know
// (Known false), in version order. It does not change the database; on a
// database never migrated every migration is pending.
func (db *DB) MigrationStatus(ctx context.Context) ([]Migration, error) {
	ms, err := embeddedMigrations()
	if err != nil {
		return nil, err
	}
	return db.migrationStatus(ctx, ms)
}

func (db *DB) migrationStatus(ctx context.Context, ms []migration) ([]Migration, error) {
	type row struct {
		Version   int    `db:"version"`
		Name      string `db:"name"`
		AppliedAt string `db:"applied_at"`
	}
	var rows []row
	var exists int
	err := db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&exists)
	if err != nil {
		return nil, fmt.Errorf("storage: migration status: %w", err)
	}
	if exists > 0 {
		if err := db.Read.SelectContext(ctx, &rows, `SELECT version, name, applied_at FROM schema_migrations ORDER BY version`); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("storage: migration status: %w", err)
		}
	}
	byVersion := map[int]*Migration{}
	out := make([]Migration, 0, len(ms)+len(rows))
	for _, m := range ms {
		out = append(out, Migration{Version: m.version, Name: m.name, Known: true})
	}
	for i := range out {
		byVersion[out[i].Version] = &out[i]
	}
	var unknown []Migration
	for _, r := range rows {
		t, err := ParseTimestamp(r.AppliedAt)
		if err != nil {
			return nil, fmt.Errorf("storage: migration status: %w", err)
		}
		if m := byVersion[r.Version]; m != nil {
			m.AppliedAt = &t
			continue
		}
		unknown = append(unknown, Migration{Version: r.Version, Name: r.Name, AppliedAt: &t})
	}
	out = append(out, unknown...)
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	return out, nil
}

// Schema returns a canonical dump of db's schema: the CREATE statements of
// sqlite_master (tables, indexes, triggers, views; SQLite's internal
// objects left out), sorted by type and name, whitespace collapsed, one
// statement a line. The drift test compares it with testdata/schema.sql.
func Schema(ctx context.Context, db *DB) (string, error) {
	var rows []struct {
		Type string `db:"type"`
		Name string `db:"name"`
		SQL  string `db:"sql"`
	}
	err := db.Read.SelectContext(ctx, &rows, `SELECT type, name, sql FROM sqlite_master
		WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
		ORDER BY type, name`)
	if err != nil {
		return "", fmt.Errorf("storage: schema: %w", err)
	}
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(normalizeSQL(r.SQL))
		b.WriteString(";\n")
	}
	return b.String(), nil
}

// normalizeSQL collapses runs of white space to one space and drops the
// space after "(" and before ")" and ",".
func normalizeSQL(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	r := strings.NewReplacer("( ", "(", " )", ")", " ,", ",")
	return r.Replace(s)
}
