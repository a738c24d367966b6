package main

import (
	"context"
	"testing"

	"github.com/quarryhq/quarry/storage"
)

// markNewerSchema records a migration this binary does not know, as a
// newer quarry would have.
func markNewerSchema(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, storage.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Write.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'from_the_future', '2030-01-01T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
}
