package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/quarryhq/quarry/audit"
	"github.com/quarryhq/quarry/auth"
	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/ocr"
	"github.com/quarryhq/quarry/extract/standard"
	"github.com/quarryhq/quarry/flags"
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
	auth      *auth.Service
	audit     *audit.Recorder
	flags     *flags.Service
}

func (a *app) Close() error { return a.db.Close() }

// newExtractor builds the extraction engine with every built-in parser and
// the OCR engine QUARRY_OCR asks for. The server, `quarry extract` and
// `quarry eval` all build theirs here.
func newExtractor(cfg Config, log *slog.Logger) (*extract.Extractor, error) {
	engine, err := newOCR(cfg, log)
	if err != nil {
		return nil, err
	}
	return extract.New(standard.NewRegistry(), extract.Config{
		Timeout: cfg.ExtractTimeout,
		Limits:  extract.Limits{MaxChars: cfg.MaxExtractChars},
		Logger:  log,
		OCR:     engine,
	})
}

// newOCR returns the OCR engine of QUARRY_OCR, or nil for none: "off" is
// none; "tesseract" is tesseract or an error; "auto" is tesseract when it
// is installed, and none (with an info log line saying why) when it is
// not. A missing language model is an error in both modes: the operator
// asked for it.
func newOCR(cfg Config, log *slog.Logger) (extract.OCR, error) {
	mode := strings.ToLower(cfg.OCR)
	if mode == "off" {
		log.Info("OCR is off (QUARRY_OCR=off): scanned pages and images get a no_text_layer warning")
		return nil, nil
	}
	langs, err := cfg.ocrLanguages()
	if err != nil {
		return nil, err
	}
	engine, err := ocr.New(ocr.Config{Languages: langs, Concurrency: cfg.OCRConcurrency, Logger: log})
	switch {
	case err == nil:
		log.Info("OCR is on", "engine", engine.Name(), "languages", strings.Join(langs, "+"), "media_types", engine.MediaTypes())
		return engine, nil
	case mode == "auto" && errors.Is(err, ocr.ErrUnavailable):
		log.Info("OCR is off: tesseract is not installed (QUARRY_OCR=auto); scanned pages and images get a no_text_layer warning", "reason", err.Error())
		return nil, nil
	}
	return nil, fmt.Errorf("QUARRY_OCR (ocr): %w", err)
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
func openApp(ctx context.Context, cfg Config, log *slog.Logger) (_ *app, err error) {
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	if err := db.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	dir, err := cfg.blobDir()
	if err != nil {
		return nil, err
	}
	blobs, err := storage.NewLocalBlobs(dir, log)
	if err != nil {
		return nil, err
	}
	ex, err := newExtractor(cfg, log)
	if err != nil {
		return nil, err
	}
	cidrs, _ := cfg.allowCIDRs() // validated with the configuration
	ports, _ := cfg.allowPorts()
	fetcher, err := urlfetch.New(urlfetch.Config{AllowCIDRs: cidrs, AllowPorts: ports, MaxBytes: cfg.MaxUploadBytes, Logger: log})
	if err != nil {
		return nil, err
	}
	src, err := sources.New(sources.Config{
		DB: db, Blobs: blobs, Extractor: ex, Fetcher: fetcher,
		MaxBytes: cfg.MaxUploadBytes, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	a := &app{db: db, blobs: blobs, extractor: ex, sources: src}
	if err := a.openGovernance(cfg, log); err != nil {
		return nil, err
	}
	return a, nil
}

// openGovernance adds the auth, audit and flag services over a.db.
func (a *app) openGovernance(cfg Config, log *slog.Logger) error {
	var err error
	if a.audit, err = audit.New(audit.Config{DB: a.db, Logger: log}); err != nil {
		return err
	}
	keys, err := auth.LoadKeySet(cfg.DataDir, cfg.JWTSecret)
	if err != nil {
		return fmt.Errorf("QUARRY_JWT_SECRET (jwt_secret): %w", err)
	}
	if a.auth, err = auth.New(auth.Config{DB: a.db, Keys: keys, Auditor: server.AuthAuditor(a.audit), Logger: log, AccessTTL: cfg.AccessTokenTTL}); err != nil {
		return err
	}
	a.flags, err = flags.New(flags.Config{DB: a.db, Logger: log})
	return err
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
	if n, err := a.auth.CountUsers(ctx); err == nil && n == 0 && cfg.AuthRequired {
		log.Warn("authentication is required and there is no user yet; create the first admin with: " +
			"printf '%s\n' \"$PASSWORD\" | quarry user create --email admin@example.org --role admin --password-stdin")
	}
	srv, err := server.New(server.Config{
		Version:         buildVersion(),
		Logger:          log,
		MaxUploadBytes:  cfg.MaxUploadBytes,
		ShutdownTimeout: cfg.ShutdownTimeout,
		MaxInFlight:     cfg.MaxInFlight,
		AuthRequired:    cfg.AuthRequired,
		TenancyEnforced: cfg.TenancyEnforced,
		MetricsAddr:     cfg.MetricsAddr,
	}, server.Deps{
		Sources:   a.sources,
		Extractor: a.extractor,
		Checks:    map[string]server.Pinger{"db": a.db, "storage": a.blobs},
		Auth:      a.auth,
		Audit:     a.audit,
		Flags:     a.flags,
	})
	if err != nil {
		return err
	}
	return srv.ListenAndServe(ctx, cfg.Addr)
}
