package storage_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/quarryhq/quarry/storage"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "quarry-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	db, err := storage.Open(ctx, storage.Config{Path: filepath.Join(dir, "quarry.db")})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	status, err := db.MigrationStatus(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range status {
		fmt.Printf("%04d %s applied=%t\n", m.Version, m.Name, m.AppliedAt != nil)
	}
	// Output:
	// 0001 init applied=true
	// 0002 auth applied=true
	// 0003 audit_flags applied=true
	// 0004 idempotency applied=true
	// 0005 projects applied=true
}
