package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/VictoriaMetrics/metrics"
	"github.com/quarryhq/quarry/assist"
	"github.com/quarryhq/quarry/extract/isolate"
	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/quarryhq/quarry/audit"
	"github.com/quarryhq/quarry/auth"
	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/ocr"
	"github.com/quarryhq/quarry/extract/standard"
	"github.com/quarryhq/quarry/extract/transcript"
	"github.com/quarryhq/quarry/flags"
	"github.com/quarryhq/quarry/idempotency"
	"github.com/quarryhq/quarry/projects"
	"github.com/quarryhq/quarry/server"
	"github.com/quarryhq/quarry/sources"
	"github.com/quarryhq/quarry/storage"
	"github.com/quarryhq/quarry/urlfetch"
)

// app is the wired set of services the binary runs.
type app struct {
	db        *storage.DB
	blobs     *storage.LocalBlobs
	extractor extractionEngine
	pool      *isolate.Pool // nil when parsers run in process
	sources   *sources.Service
	auth      *auth.Service
	audit     *audit.Recorder
	flags     *flags.Service
	// idempotency keeps the responses of requests with an Idempotency-Key.
	idempotency *idempotency.Service
	// projects groups sources for batch extraction.
	projects *projects.Service
	// engines is what /health reports of the optional engines.
	engines map[string]string
}

// extractionEngine is an in-process *extract.Extractor or an
// *isolate.Pool of worker processes.
type extractionEngine interface {
	Extract(ctx context.Context, in extract.Input, opts extract.Options) (*extract.Document, error)
	Registry() *extract.Registry
}

// Close stops the parser workers (finishing documents in flight for up to
// timeout), then closes the database.
func (a *app) Close(timeout time.Duration) error {
	if a.pool != nil {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		_ = a.pool.Close(ctx)
		cancel()
	}
	return a.db.Close()
}

// newPool starts the parser workers of QUARRY_ISOLATION=process around ex,
// which keeps sniffing in the server. The workers rebuild their Extractor
// from the environment (runWorker), so the effective extraction settings
// go to them as variables, whatever set them here (flags, YAML). It
// returns nil, nil when isolation is off or the platform has no support
// for it (the server then parses in process, and says so).
func newPool(cfg Config, ex *extract.Extractor, log *slog.Logger) (*isolate.Pool, error) {
	if strings.ToLower(cfg.Isolation) == "off" {
		log.Info("parsers run in the server process (QUARRY_ISOLATION=off)")
		return nil, nil
	}
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ocrPerWorker := max(1, cfg.OCRConcurrency/workers)
	if cfg.OCRConcurrency == 0 {
		ocrPerWorker = max(1, runtime.GOMAXPROCS(0)/workers)
	}
	pool, err := isolate.New(isolate.Config{
		Extractor:        ex,
		Workers:          workers,
		MaxDocsPerWorker: cfg.WorkerMaxDocs,
		MemoryLimit:      cfg.WorkerMemory,
		Timeout:          cfg.ExtractTimeout,
		Logger:           log,
		Env: []string{
			"QUARRY_EXTRACT_TIMEOUT=" + cfg.ExtractTimeout.String(),
			"QUARRY_MAX_EXTRACT_CHARS=" + strconv.Itoa(cfg.MaxExtractChars),
			"QUARRY_OCR=" + cfg.OCR,
			"QUARRY_OCR_LANGUAGES=" + cfg.OCRLanguages,
			"QUARRY_OCR_CONCURRENCY=" + strconv.Itoa(ocrPerWorker),
			"QUARRY_LOG_LEVEL=" + cfg.LogLevel,
			"QUARRY_LOG_FORMAT=" + cfg.LogFormat,
			"QUARRY_JWT_SECRET=", // workers parse; they sign nothing
			"QUARRY_LLM_API_KEY=",
			"QUARRY_WHISPER_API_KEY=",
		},
	})
	if errors.Is(err, errors.ErrUnsupported) {
		log.Warn("parser isolation is not supported on this platform: parsers run in the server process", "reason", err.Error())
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("QUARRY_ISOLATION (isolation): %w", err)
	}
	log.Info("parsers run in worker processes", "workers", workers, "memory_limit", cfg.WorkerMemory, "max_docs", cfg.WorkerMaxDocs)
	return pool, nil
}

// workerExtractor builds a parser worker's Extractor from the environment
// the pool gave it (see newPool). The quarry binary is its own worker:
// main calls isolate.RunWorkerIfChild with this first thing.
func workerExtractor() (*extract.Extractor, error) {
	fs := flag.NewFlagSet("quarry worker", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, _, err := loadConfig(fs, nil, os.Getenv)
	if err != nil {
		return nil, err
	}
	// Workers never see audio or video (isolate.Pool keeps the
	// transcript parser in the server), so they have no media parser.
	return newExtractor(cfg, newLogger(cfg, os.Stderr), nil)
}

// newExtractor builds the extraction engine with every built-in parser,
// the OCR engine QUARRY_OCR asks for and, when media is not nil, the
// transcript parser of audio, video and subtitles (registered as "media").
// The server, `quarry extract` and `quarry eval` all build theirs here.
func newExtractor(cfg Config, log *slog.Logger, media *transcript.Parser) (*extract.Extractor, error) {
	engine, err := newOCR(cfg, log)
	if err != nil {
		return nil, err
	}
	reg := standard.NewRegistry()
	if media != nil {
		if err := reg.Register(transcript.Name, media); err != nil {
			return nil, err
		}
	}
	return extract.New(reg, extract.Config{
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
	media, engines, err := newTranscriptParser(cfg, log)
	if err != nil {
		return nil, err
	}
	ex, err := newExtractor(cfg, log, media)
	if err != nil {
		return nil, err
	}
	engines["ocr"] = "off"
	if o := ex.OCR(); o != nil {
		engines["ocr"] = o.Name()
	}
	var engine extractionEngine = ex
	pool, err := newPool(cfg, ex, log)
	if err != nil {
		return nil, err
	}
	if pool != nil {
		engine = pool
		defer func() {
			if err != nil {
				_ = pool.Close(context.Background())
			}
		}()
	}
	cidrs, _ := cfg.allowCIDRs() // validated with the configuration
	ports, _ := cfg.allowPorts()
	fetcher, err := urlfetch.New(urlfetch.Config{AllowCIDRs: cidrs, AllowPorts: ports, MaxBytes: cfg.MaxUploadBytes, Logger: log})
	if err != nil {
		return nil, err
	}
	src, err := sources.New(sources.Config{
		DB: db, Blobs: blobs, Extractor: engine, Fetcher: fetcher,
		MaxBytes: cfg.MaxUploadBytes, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	a := &app{db: db, blobs: blobs, extractor: engine, pool: pool, sources: src, engines: engines}
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
	if a.flags, err = flags.New(flags.Config{DB: a.db, Logger: log}); err != nil {
		return err
	}
	if a.idempotency, err = idempotency.New(idempotency.Config{DB: a.db, Logger: log}); err != nil {
		return err
	}
	a.projects, err = projects.New(projects.Config{DB: a.db, Logger: log})
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
	defer a.Close(cfg.ShutdownTimeout)
	if n, err := a.auth.CountUsers(ctx); err == nil && n == 0 && cfg.AuthRequired {
		log.Warn("authentication is required and there is no user yet; create the first admin with: " +
			"printf '%s\n' \"$PASSWORD\" | quarry user create --email admin@example.org --role admin --password-stdin")
	}
	assistSvc, err := newAssist(cfg, log)
	if err != nil {
		return err
	}
	a.engines["llm"] = "extractive"
	if cfg.LLMURL != "" {
		a.engines["llm"] = cfg.LLMModel
	}
	proxies, _ := cfg.trustedProxies() // validated with the configuration
	rateStore, closeRedis := newRateLimitStore(cfg, log)
	defer closeRedis()
	srv, err := server.New(server.Config{
		Version:          buildVersion(),
		Logger:           log,
		MaxUploadBytes:   cfg.MaxUploadBytes,
		ShutdownTimeout:  cfg.ShutdownTimeout,
		MaxInFlight:      cfg.MaxInFlight,
		MaxMediaInFlight: cfg.MaxMediaInFlight,
		AuthRequired:     cfg.AuthRequired,
		TenancyEnforced:  cfg.TenancyEnforced,
		MetricsAddr:      cfg.MetricsAddr,
		MediaTimeout:     cfg.MediaTimeout,
		RateLimit:        cfg.RateLimit,
		RateLimitStore:   rateStore,
		TrustedProxies:   proxies,
	}, server.Deps{
		Sources:     a.sources,
		Extractor:   a.extractor,
		Checks:      map[string]server.Pinger{"db": a.db, "storage": a.blobs},
		Auth:        a.auth,
		Audit:       a.audit,
		Flags:       a.flags,
		Assist:      assistSvc,
		Engines:     a.engines,
		Idempotency: a.idempotency,
		Projects:    a.projects,
	})
	if err != nil {
		return err
	}
	if a.pool != nil {
		exportPoolMetrics(srv.Metrics(), a.pool)
	}
	return srv.ListenAndServe(ctx, cfg.Addr)
}

// newRateLimitStore returns the store of the general rate limit: nil (in
// memory) without QUARRY_REDIS_URL, else Redis under the prefix
// quarry:ratelimit. Redis need not answer now: the server starts anyway and
// limits in memory until it does (server.NewRedisRateLimitStore), with a
// warning. closeClient releases the Redis client.
func newRateLimitStore(cfg Config, log *slog.Logger) (_ limiter.Store, closeClient func()) {
	_, on, _ := server.ParseRateLimit(cfg.RateLimit) // validated with the configuration
	opt, _ := cfg.redisOptions()
	switch {
	case !on:
		log.Info("the general rate limit is off (QUARRY_RATE_LIMIT=off)")
		return nil, func() {}
	case opt == nil:
		log.Info("rate limit per client address, counted in memory", "rate", cfg.RateLimit)
		return nil, func() {}
	}
	// go-redis logs every failed dial on its own, to stderr and not as
	// JSON; the server logs each outage once, so its lines go to debug.
	redis.SetLogger(redisLog{log})
	client := redis.NewClient(opt)
	log.Info("rate limit per client address, counted in Redis", "rate", cfg.RateLimit, "redis", opt.Addr, "db", opt.DB) // never the URL: it may hold a password
	return server.NewRedisRateLimitStore(client, "quarry:ratelimit"), func() { _ = client.Close() }
}

// redisLog passes go-redis's own log lines to slog at debug level.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis client", "message", fmt.Sprintf(format, v...))
}

// exportPoolMetrics adds the parser workers' counters to /metrics.
func exportPoolMetrics(set *metrics.Set, pool *isolate.Pool) {
	set.RegisterMetricsWriter(func(w io.Writer) {
		s := pool.Stats()
		metrics.WriteCounterUint64(w, "quarry_parser_documents_total", s.Documents)
		metrics.WriteCounterUint64(w, "quarry_parser_worker_starts_total", s.WorkerStarts)
		metrics.WriteCounterUint64(w, "quarry_parser_worker_start_failures_total", s.StartFailures)
		metrics.WriteCounterUint64(w, "quarry_parser_timeouts_total", s.Timeouts)
		metrics.WriteCounterUint64(w, "quarry_parser_canceled_total", s.Canceled)
		metrics.WriteCounterUint64(w, "quarry_parser_crashes_total", s.Crashes)
		metrics.WriteCounterUint64(w, "quarry_parser_recycles_total", s.Recycles)
		metrics.WriteCounterUint64(w, "quarry_parser_output_cap_hits_total", s.OutputCapHits)
		metrics.WriteGaugeUint64(w, "quarry_parser_workers_busy", uint64(max(s.Busy, 0)))
		metrics.WriteGaugeUint64(w, "quarry_parser_waiting", uint64(max(s.Waiting, 0)))
	})
}

// newAssist builds the ai-assist service: an OpenAI-compatible server when
// QUARRY_LLM_URL is set, else the offline extractive provider (summaries,
// titles and answers with citations; rewrite and translate then answer
// dependency_unavailable).
func newAssist(cfg Config, log *slog.Logger) (*assist.Service, error) {
	var p assist.Provider = assist.Extractive{}
	if cfg.LLMURL != "" {
		llm, err := assist.NewOpenAI(assist.OpenAIConfig{BaseURL: cfg.LLMURL, Model: cfg.LLMModel, APIKey: cfg.LLMAPIKey})
		if err != nil {
			return nil, fmt.Errorf("QUARRY_LLM_URL (llm_url): %w", err)
		}
		p = llm
		log.Info("ai-assist uses a language model", "url", cfg.LLMURL, "model", cfg.LLMModel)
	} else {
		log.Info("ai-assist uses the offline extractive provider (QUARRY_LLM_URL is not set): rewrite and translate are unavailable")
	}
	return assist.New(assist.Config{Provider: p, Logger: log})
}
