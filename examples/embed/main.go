// Command embed runs Quarry's server inside your own program: open the
// database and the blob store, build the extraction engine, the sources
// service and the server, and serve until interrupted.
//
//	go run ./examples/embed
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/standard"
	"github.com/quarryhq/quarry/server"
	"github.com/quarryhq/quarry/sources"
	"github.com/quarryhq/quarry/storage"
)

// run serves on ln until ctx ends.
func run(ctx context.Context, ln net.Listener, dataDir string, logw io.Writer) error {
	log := slog.New(slog.NewJSONHandler(logw, nil))
	db, err := storage.Open(ctx, storage.Config{Path: filepath.Join(dataDir, "quarry.db"), Logger: log})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	blobs, err := storage.NewLocalBlobs(filepath.Join(dataDir, "blobs"), log)
	if err != nil {
		return err
	}
	ex, err := extract.New(standard.NewRegistry(), extract.Config{Logger: log})
	if err != nil {
		return err
	}
	src, err := sources.New(sources.Config{DB: db, Blobs: blobs, Extractor: ex, Logger: log})
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{Logger: log}, server.Deps{
		Sources: src, Extractor: ex, Checks: map[string]server.Pinger{"db": db, "storage": blobs},
	})
	if err != nil {
		return err
	}
	return srv.Serve(ctx, ln)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", "127.0.0.1:8080")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("serving on http://" + ln.Addr().String() + " (docs at /docs)")
	if err := run(ctx, ln, "quarry-data", os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
