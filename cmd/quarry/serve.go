package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/standard"
	"github.com/quarryhq/quarry/server"
	"github.com/quarryhq/quarry/sources"
	"github.com/quarryhq/quarry/storage"
	"github.com/quarryhq/quarry/urlfetch"
)

// app is the wired set of services the binary runs.
type app struct {
	db        *storage.DB
	blobs     *storage.LocalBlobs
	extractor *extract.Extractor
	sources   *sources.Service
}

func (a *app) Close() error { return a.db.Close() }

// newExtractor builds the extraction engine with every built-in parser.
func newExtractor(cfg Config, log *slog.Logger) (*extract.Extractor, error) {
	return extract.New(standard.NewRegistry(), extract.Config{
		Timeout: cfg.ExtractTimeout,
		Limits:  extract.Limits{MaxChars: cfg.MaxExtractChars},
		Logger:  log,
	})
}

// openDB opens the database of cfg, creating the data directory.
func openDB(ctx context.Context, cfg Config, log *slog.Logger) (*storage.DB, error) {
	path, err := cfg.databasePath()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	return storage.Open(ctx, storage.Config{Path: path, Logger: log})
}

// openApp opens the database (migrating it), the blob store, the fetcher
// and the services on top of them.
func openApp(ctx context.Context, cfg Config, log *slog.Logger) (*app, error) {
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	dir, err := cfg.blobDir()
	if err != nil {
		db.Close()
		return nil, err
	}
	blobs, err := storage.NewLocalBlobs(dir, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	ex, err := newExtractor(cfg, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	cidrs, _ := cfg.allowCIDRs() // validated with the configuration
	ports, _ := cfg.allowPorts()
	fetcher, err := urlfetch.New(urlfetch.Config{
		AllowCIDRs: cidrs,
		AllowPorts: ports,
		MaxBytes:   cfg.MaxUploadBytes,
		Logger:     log,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	src, err := sources.New(sources.Config{
		DB: db, Blobs: blobs, Extractor: ex, Fetcher: fetcher,
		MaxBytes: cfg.MaxUploadBytes, Logger: log,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &app{db: db, blobs: blobs, extractor: ex, sources: src}, nil
}

func serve(ctx context.Context, args []string, _, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("quarry serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, rest, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{"serve takes no arguments, got " + fmt.Sprint(rest)}
	}
	log := newLogger(cfg, stderr)
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		if errors.Is(err, storage.ErrSchemaTooNew) {
			log.Error("refusing to start: the database was migrated by a newer quarry", "error", err.Error())
		}
		return err
	}
	defer a.Close()
	srv, err := server.New(server.Config{
		Version:         buildVersion(),
		Logger:          log,
		MaxUploadBytes:  cfg.MaxUploadBytes,
		ShutdownTimeout: cfg.ShutdownTimeout,
		MaxInFlight:     cfg.MaxInFlight,
		MetricsAddr:     cfg.MetricsAddr,
	}, server.Deps{
		Sources:   a.sources,
		Extractor: a.extractor,
		Checks:    map[string]server.Pinger{"db": a.db, "storage": a.blobs},
	})
	if err != nil {
		return err
	}
	return srv.ListenAndServe(ctx, cfg.Addr)
}
