// Package storage holds Quarry's persistent state: the SQLite database
// (opened with the pragmas Quarry relies on, split into a one-connection
// writer pool and a read-only reader pool, and migrated by embedded SQL
// files) and the content-addressed blob store.
//
// # Database
//
// [Open] opens the two pools; [DB.Migrate] applies the embedded migrations
// (migrations/NNNN_name.up.sql, in version order, each in its own
// transaction with its schema_migrations row). A database migrated by a
// newer binary is refused with [ErrSchemaTooNew] and left untouched.
//
//	db, err := storage.Open(ctx, storage.Config{Path: "data/quarry.db"})
//	if err != nil { ... }
//	defer db.Close()
//	if err := db.Migrate(ctx); err != nil { ... }
//
// Every write goes through db.Write, whose transactions begin with BEGIN
// IMMEDIATE (the DSN's _txlock=immediate) on its single connection, so
// writers queue in Go instead of failing with SQLITE_BUSY: a deferred
// transaction that reads and then writes can fail with SQLITE_BUSY at once,
// whatever busy_timeout says (SQLite "Transaction" §2.1). Reads go through
// db.Read, whose connections are query_only.
//
// The migrations are portable SQL (TEXT ids and RFC 3339 UTC times,
// BIGINT sizes, JSON as TEXT, no AUTOINCREMENT) so that they can run on
// PostgreSQL too; code writes "?" placeholders through sqlx's Rebind.
// testdata/schema.sql is the canonical dump of the migrated schema
// ([Schema]); a test fails when they drift apart (go test -run
// TestSchemaDrift -update rewrites it).
//
// # Blobs
//
// [BlobStore] stores immutable blobs under their SHA-256. [LocalBlobs]
// keeps them in a directory as ab/cd/<sha256>; [LocalBlobs.Put] streams to
// a locked temporary file, fsyncs and renames it, so a blob is whole or
// absent, and [NewLocalBlobs] sweeps the temporary files a crash left.
package storage
