package storage

import (
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jmoiron/sqlx"
	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite testdata/schema.sql")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func openTestDB(t *testing.T, path string) *DB {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "data", "quarry.db")
	}
	db, err := Open(t.Context(), Config{Path: path})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func migratedTestDB(t *testing.T) *DB {
	t.Helper()
	db := openTestDB(t, "")
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

func TestOpenValidation(t *testing.T) {
	t.Parallel()
	if _, err := Open(t.Context(), Config{}); err == nil || !strings.Contains(err.Error(), "Path") {
		t.Fatalf("Open without Path: err = %v, want one naming Path", err)
	}
	if _, err := Open(t.Context(), Config{Path: filepath.Join(t.TempDir(), "x.db"), ReadConns: -1}); err == nil || !strings.Contains(err.Error(), "ReadConns") {
		t.Fatalf("Open with ReadConns -1: err = %v, want one naming ReadConns", err)
	}
}

func TestOpenCreatesPrivateDirAndPragmas(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a", "b")
	db := openTestDB(t, filepath.Join(dir, "q.db"))
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o700 {
		t.Errorf("dir mode = %o, want 700", perm)
	}
	if err := db.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	for _, pool := range []struct {
		name string
		db   *sqlx.DB
	}{{"write", db.Write}, {"read", db.Read}} {
		for pragma, want := range map[string]string{
			"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000", "synchronous": "1", "temp_store": "2",
		} {
			var got string
			if err := pool.db.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("%s PRAGMA %s: %v", pool.name, pragma, err)
			}
			if got != want {
				t.Errorf("%s PRAGMA %s = %q, want %q", pool.name, pragma, got, want)
			}
		}
	}
	var qo string
	if err := db.Read.QueryRowContext(t.Context(), "PRAGMA query_only").Scan(&qo); err != nil || qo != "1" {
		t.Errorf("reader query_only = %q (%v), want 1", qo, err)
	}
	if got := db.Write.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer MaxOpenConnections = %d, want 1", got)
	}
	if got := db.Read.Stats().MaxOpenConnections; got != DefaultReadConns {
		t.Errorf("reader MaxOpenConnections = %d, want %d", got, DefaultReadConns)
	}
}

func TestPathWithSpecialCharacters(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "we?ird #dir%20", "q.db")
	db := openTestDB(t, path)
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at %s: %v", path, err)
	}
}

func TestReadPoolIsReadOnly(t *testing.T) {
	t.Parallel()
	db := migratedTestDB(t)
	_, err := db.Read.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, name, applied_at) VALUES (42, 'x', 'y')`)
	if err == nil {
		t.Fatal("a write through the reader pool succeeded")
	}
}

func TestMigrateIdempotentAndStatus(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTestDB(t, "")

	st, err := db.MigrationStatus(ctx)
	if err != nil {
		t.Fatalf("MigrationStatus before Migrate: %v", err)
	}
	if len(st) == 0 {
		t.Fatal("no embedded migrations")
	}
	for _, m := range st {
		if m.AppliedAt != nil || !m.Known {
			t.Errorf("before Migrate: %+v, want known and pending", m)
		}
	}
	if st[0].Version != 1 || st[0].Name != "init" {
		t.Errorf("first migration = %d %s, want 1 init", st[0].Version, st[0].Name)
	}

	for i := range 3 {
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	var n int
	if err := db.Read.GetContext(ctx, &n, `SELECT COUNT(*) FROM schema_migrations`); err != nil {
		t.Fatal(err)
	}
	if n != len(st) {
		t.Errorf("schema_migrations rows = %d, want %d", n, len(st))
	}
	st, err = db.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st {
		if m.AppliedAt == nil || !m.Known {
			t.Errorf("after Migrate: %+v, want known and applied", m)
		}
	}
	for _, table := range []string{"sources", "extractions"} {
		if _, err := db.Read.ExecContext(ctx, "SELECT COUNT(*) FROM "+table); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
}

// dbState is what "untouched" means for the too-new test.
func dbState(t *testing.T, db *DB) string {
	t.Helper()
	s, err := Schema(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	if err := db.Read.SelectContext(t.Context(), &rows, `SELECT version || ' ' || name || ' ' || applied_at FROM schema_migrations ORDER BY version`); err != nil {
		t.Fatal(err)
	}
	return s + strings.Join(rows, "\n")
}

func TestSchemaTooNew(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	t.Run("migrated", func(t *testing.T) {
		t.Parallel()
		db := migratedTestDB(t)
		if _, err := db.Write.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', '2030-01-01T00:00:00.000000Z')`); err != nil {
			t.Fatal(err)
		}
		before := dbState(t, db)
		err := db.Migrate(ctx)
		if !errors.Is(err, ErrSchemaTooNew) {
			t.Fatalf("Migrate = %v, want ErrSchemaTooNew", err)
		}
		if !strings.Contains(err.Error(), "9999") {
			t.Errorf("error %q does not name the unknown version", err)
		}
		if after := dbState(t, db); after != before {
			t.Errorf("database changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		st, err := db.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last := st[len(st)-1]
		if last.Version != 9999 || last.Known || last.AppliedAt == nil || last.Name != "future" {
			t.Errorf("status of the unknown migration = %+v", last)
		}
	})

	t.Run("only the future version", func(t *testing.T) {
		t.Parallel()
		db := openTestDB(t, "")
		if _, err := db.Write.ExecContext(ctx, createMigrationsTable); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Write.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', '2030-01-01T00:00:00.000000Z')`); err != nil {
			t.Fatal(err)
		}
		before := dbState(t, db)
		if err := db.Migrate(ctx); !errors.Is(err, ErrSchemaTooNew) {
			t.Fatalf("Migrate = %v, want ErrSchemaTooNew", err)
		}
		if after := dbState(t, db); after != before {
			t.Errorf("database changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}

func TestLoadMigrations(t *testing.T) {
	t.Parallel()
	ok := fstest.MapFS{
		"0002_two.up.sql":   {Data: []byte("CREATE TABLE b (x TEXT);")},
		"0001_one.up.sql":   {Data: []byte("CREATE TABLE a (x TEXT);")},
		"0001_one.down.sql": {Data: []byte("DROP TABLE a;")},
	}
	ms, err := loadMigrations(ok)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].version != 1 || ms[1].version != 2 || ms[0].down == "" {
		t.Fatalf("loadMigrations = %+v", ms)
	}

	for name, fsys := range map[string]fstest.MapFS{
		"no suffix":        {"0001_one.sql": {Data: []byte("x")}},
		"short version":    {"001_one.up.sql": {Data: []byte("x")}},
		"upper case":       {"0001_One.up.sql": {Data: []byte("x")}},
		"other file":       {"README.md": {Data: []byte("x")}},
		"down only":        {"0001_one.down.sql": {Data: []byte("x")}},
		"empty up":         {"0001_one.up.sql": {Data: []byte(" \n")}},
		"duplicate":        {"0001_one.up.sql": {Data: []byte("x")}, "0001_two.up.sql": {Data: []byte("x")}},
		"version zero":     {"0000_zero.up.sql": {Data: []byte("x")}},
		"subdirectory":     {"sub/0001_one.up.sql": {Data: []byte("x")}},
		"backup extension": {"0001_one.up.sql~": {Data: []byte("x")}},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: loadMigrations accepted %v", name, fsys)
		}
	}

	// The embedded set is valid.
	if _, err := embeddedMigrations(); err != nil {
		t.Fatalf("embedded migrations: %v", err)
	}
}

func TestMigrateAppliesInOrderOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTestDB(t, "")
	fsys := fstest.MapFS{
		"0001_log.up.sql":  {Data: []byte("CREATE TABLE log (step TEXT NOT NULL);\nINSERT INTO log (step) VALUES ('one');")},
		"0002_more.up.sql": {Data: []byte("INSERT INTO log (step) VALUES ('two');")},
	}
	ms, err := loadMigrations(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.migrate(ctx, ms[:1]); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := db.migrate(ctx, ms); err != nil {
			t.Fatal(err)
		}
	}
	var steps []string
	if err := db.Read.SelectContext(ctx, &steps, `SELECT step FROM log ORDER BY rowid`); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(steps, ","); got != "one,two" {
		t.Errorf("steps = %s, want one,two", got)
	}
}

func TestMigrateFailureRollsBack(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTestDB(t, "")
	ms, err := loadMigrations(fstest.MapFS{
		"0001_ok.up.sql":  {Data: []byte("CREATE TABLE ok (x TEXT);")},
		"0002_bad.up.sql": {Data: []byte("CREATE TABLE half (x TEXT);\nTHIS IS NOT SQL;")},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.migrate(ctx, ms)
	if err == nil || !strings.Contains(err.Error(), "0002_bad") {
		t.Fatalf("migrate = %v, want an error naming 0002_bad", err)
	}
	st, err := db.migrationStatus(ctx, ms)
	if err != nil {
		t.Fatal(err)
	}
	if st[0].AppliedAt == nil || st[1].AppliedAt != nil {
		t.Errorf("status = %+v, want 0001 applied and 0002 pending", st)
	}
	var n int
	err = db.Read.GetContext(ctx, &n, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'`)
	if err != nil || n != 0 {
		t.Errorf("table of the failed migration exists (n=%d, err=%v)", n, err)
	}
}

// TestMigrateConcurrent is T59(b): several goroutines over two *DB on the
// same file (as two server processes would be) migrate at once; each
// migration is applied exactly once and everyone succeeds.
func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "q.db")
	dbs := []*DB{openTestDB(t, path), openTestDB(t, path)}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() { errs <- dbs[i%2].Migrate(ctx) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Migrate: %v", err)
		}
	}
	known, err := embeddedMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := dbs[0].Read.GetContext(ctx, &n, `SELECT COUNT(*) FROM schema_migrations`); err != nil {
		t.Fatal(err)
	}
	if n != len(known) {
		t.Errorf("schema_migrations rows = %d, want %d", n, len(known))
	}
}

// TestSchemaDrift compares the migrated schema with testdata/schema.sql.
// Run with -update after changing a migration on purpose.
func TestSchemaDrift(t *testing.T) {
	t.Parallel()
	db := migratedTestDB(t)
	got, err := Schema(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "schema.sql")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestSchemaDrift -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("the migrated schema differs from %s (if intended, run go test ./storage -run TestSchemaDrift -update):\n%s",
			golden, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	in := func(lines []string) map[string]bool {
		m := map[string]bool{}
		for _, l := range lines {
			m[l] = true
		}
		return m
	}
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	wm, gm := in(wl), in(gl)
	var b strings.Builder
	for _, l := range wl {
		if !gm[l] {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range gl {
		if !wm[l] {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}

// TestDeferredTransactionBusy is T56(a). It documents why every write of
// the application goes through the IMMEDIATE writer pool: a DEFERRED
// transaction that reads, then sees another connection commit, then tries
// to write fails at once with SQLITE_BUSY (SQLITE_BUSY_SNAPSHOT), and
// busy_timeout cannot help because waiting would not make its snapshot
// current. The same sequence through db.Write never fails: the transaction
// takes the write lock at BEGIN.
func TestDeferredTransactionBusy(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := migratedTestDB(t)
	if _, err := db.Write.ExecContext(ctx, `CREATE TABLE counter (n INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}

	// A connection as a naive application would open it: busy_timeout set,
	// but transactions DEFERRED (database/sql's default).
	deferredDSN := strings.Replace(dsn(db.Path(), false), "_txlock=immediate", "_txlock=deferred", 1)
	naive, err := sql.Open(DriverName, deferredDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer naive.Close()

	tx, err := naive.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM counter`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	// Another connection (the app's writer) commits meanwhile: it never
	// sees SQLITE_BUSY.
	if _, err := db.Write.ExecContext(ctx, `INSERT INTO counter (n) VALUES (1)`); err != nil {
		t.Fatalf("app write: %v", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO counter (n) VALUES (2)`)
	if !IsBusy(err) {
		t.Fatalf("deferred read-then-write after a concurrent commit: err = %v, want SQLITE_BUSY", err)
	}
	t.Logf("deferred transaction failed as documented: %v", err)
	_ = tx.Rollback()

	// The application's path: read then write in one db.Write transaction.
	err = db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &n, `SELECT COUNT(*) FROM counter`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO counter (n) VALUES (?)`, n+1)
		return err
	})
	if err != nil {
		t.Fatalf("immediate read-then-write: %v", err)
	}
}

// TestConcurrentWriters is a bounded T55: 50 goroutines each run read-then-
// write transactions through the writer pool while readers query and a
// long read transaction stays open (T56(b)); no write sees SQLITE_BUSY,
// every row lands and integrity_check is ok.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := migratedTestDB(t)
	if _, err := db.Write.ExecContext(ctx, `CREATE TABLE events (id TEXT PRIMARY KEY, seen BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}

	// A long reader, as `sqlite3 data.db "BEGIN; SELECT ..."` would be.
	longRead, err := db.Read.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := longRead.GetContext(ctx, &n, `SELECT COUNT(*) FROM events`); err != nil {
		t.Fatal(err)
	}

	const writers, perWriter = 50, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter+writers)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				err := db.InTx(ctx, func(tx *sqlx.Tx) error {
					var seen int64
					if err := tx.GetContext(ctx, &seen, `SELECT COUNT(*) FROM events`); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO events (id, seen) VALUES (?, ?)`), fmt.Sprintf("w%02d-%02d", w, i), seen)
					return err
				})
				if err != nil {
					errs <- err
				}
			}
		})
		wg.Go(func() {
			var c int
			if err := db.Read.GetContext(ctx, &c, `SELECT COUNT(*) FROM events`); err != nil {
				errs <- fmt.Errorf("reader: %w", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("busy=%v: %v", IsBusy(err), err)
	}
	// The long reader still sees its snapshot.
	if err := longRead.GetContext(ctx, &n, `SELECT COUNT(*) FROM events`); err != nil || n != 0 {
		t.Errorf("long reader saw %d rows (%v), want its snapshot of 0", n, err)
	}
	if err := longRead.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := db.Read.GetContext(ctx, &n, `SELECT COUNT(*) FROM events`); err != nil || n != writers*perWriter {
		t.Errorf("rows = %d (%v), want %d", n, err, writers*perWriter)
	}
	var integrity string
	if err := db.Write.GetContext(ctx, &integrity, `PRAGMA integrity_check`); err != nil || integrity != "ok" {
		t.Errorf("integrity_check = %q (%v)", integrity, err)
	}
}

func TestIsBusy(t *testing.T) {
	t.Parallel()
	if IsBusy(nil) || IsBusy(errors.New("database is locked")) {
		t.Error("IsBusy is true for an error that is not a SQLite error")
	}
}

func TestTimestamp(t *testing.T) {
	t.Parallel()
	ts, err := ParseTimestamp("2026-01-02T03:04:05.123456789+02:00")
	if err != nil {
		t.Fatal(err)
	}
	if got := Timestamp(ts); got != "2026-01-02T01:04:05.123456Z" {
		t.Errorf("Timestamp = %s", got)
	}
	if _, err := ParseTimestamp("yesterday"); err == nil {
		t.Error("ParseTimestamp accepted garbage")
	}
}
