package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/quarryhq/quarry/assist"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"

	"github.com/quarryhq/quarry/audit"
	"github.com/quarryhq/quarry/auth"
	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/flags"
	"github.com/quarryhq/quarry/idempotency"
	"github.com/quarryhq/quarry/projects"
	"github.com/quarryhq/quarry/sources"
)

// Config configures the HTTP server. The zero value is usable; zero fields
// take the defaults named on each field.
type Config struct {
	// Version is reported by /health and the OpenAPI document.
	Version string
	// Logger receives access logs and the causes of 5xx responses.
	// Default: discard.
	Logger *slog.Logger
	// MaxUploadBytes caps an uploaded file (default 50 MiB). A multipart
	// body may exceed it by MultipartOverheadBytes for its headers.
	MaxUploadBytes int64
	// UploadTimeout bounds reading an upload body (default 2 minutes).
	UploadTimeout time.Duration
	// WriteTimeout bounds writing any response (default 5 minutes).
	WriteTimeout time.Duration
	// ReadHeaderTimeout bounds reading request headers (default 10 s).
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections (default 120 s).
	IdleTimeout time.Duration
	// MaxHeaderBytes caps request headers (default 64 KiB).
	MaxHeaderBytes int
	// ShutdownTimeout bounds graceful shutdown (default 25 s).
	ShutdownTimeout time.Duration
	// MaxInFlight bounds the extractions running at once (default: the
	// number of CPUs). More wait up to QueueTimeout, then answer 503
	// over_capacity with Retry-After.
	MaxInFlight int
	// QueueTimeout bounds the wait for an extraction slot (default 5 s).
	QueueTimeout time.Duration
	// MaxMediaInFlight bounds the transcriptions (audio and video) running
	// at once, apart from MaxInFlight so that they never hold up
	// documents (default: half the CPUs, at least 1). More wait up to
	// QueueTimeout, then answer 503 over_capacity.
	MaxMediaInFlight int
	// MediaTimeout is the transcript deadline of the media parser
	// (default 10 minutes): POST /video-to-text extends its write
	// deadline past it, beyond WriteTimeout.
	MediaTimeout time.Duration
	// AuthRequired makes every operation but health, login, refresh,
	// logout and the OpenAPI documents need a bearer token. While false,
	// the v1 core operations (upload, download, extract, list and read
	// sources) accept anonymous callers, who act as editor of the default
	// tenant; product and admin operations always need a token.
	AuthRequired bool
	// TenancyEnforced scopes every row to the caller's tenant. While false
	// all data lives in the default tenant.
	TenancyEnforced bool
	// LoginAttemptsPerAddress bounds login attempts per client address and
	// minute (default 20).
	LoginAttemptsPerAddress int64
	// FailedLoginsPerAccount bounds failed logins per account and minute
	// (default 5).
	FailedLoginsPerAccount int64
	// MetricsAddr, when set, serves /metrics on its own listener instead
	// of the API listener.
	MetricsAddr string
	// RateLimit is the general rate limit of each client address on
	// /api/v1/** and /api/v2/** (health checks and OpenAPI documents
	// excepted), in ulule/limiter's format: a count per S, M, H or D, such
	// as "300-M". "off" turns it off. Default (empty): DefaultRateLimit,
	// the contract's 300 per minute. IPv6 clients count per /64.
	RateLimit string
	// RateLimitStore keeps the general rate limit's counts; share one
	// (NewRedisRateLimitStore) to limit across server instances. Nil: in
	// memory, per process. When it fails, requests are limited in memory
	// until it answers again (metric quarry_ratelimit_store_fallback_total,
	// one warning per outage); they never fail because of it.
	RateLimitStore limiter.Store
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed: a request from one of them is attributed to the right-most
	// address of that header that is not a trusted proxy. Empty (default):
	// the client is the connection's peer and forwarded headers are
	// ignored. The client address keys rate limits and is audited.
	TrustedProxies []netip.Prefix
}

// MultipartOverheadBytes is the room a multipart upload body gets beyond
// MaxUploadBytes for part headers and small fields.
const MultipartOverheadBytes = 64 << 10

func (c Config) withDefaults() Config {
	c.Version = cmp.Or(c.Version, "dev")
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.MaxUploadBytes = cmp.Or(c.MaxUploadBytes, 50<<20)
	c.UploadTimeout = cmp.Or(c.UploadTimeout, 2*time.Minute)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, 5*time.Minute)
	c.ReadHeaderTimeout = cmp.Or(c.ReadHeaderTimeout, 10*time.Second)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, 120*time.Second)
	c.MaxHeaderBytes = cmp.Or(c.MaxHeaderBytes, 64<<10)
	c.ShutdownTimeout = cmp.Or(c.ShutdownTimeout, 25*time.Second)
	c.MaxInFlight = cmp.Or(c.MaxInFlight, runtime.NumCPU())
	c.QueueTimeout = cmp.Or(c.QueueTimeout, 5*time.Second)
	c.MediaTimeout = cmp.Or(c.MediaTimeout, 10*time.Minute)
	c.MaxMediaInFlight = cmp.Or(c.MaxMediaInFlight, max(1, runtime.NumCPU()/2))
	c.LoginAttemptsPerAddress = cmp.Or(c.LoginAttemptsPerAddress, 20)
	c.FailedLoginsPerAccount = cmp.Or(c.FailedLoginsPerAccount, 5)
	c.RateLimit = cmp.Or(strings.TrimSpace(c.RateLimit), DefaultRateLimit)
	return c
}

func (c Config) validate() error {
	switch {
	case c.MaxUploadBytes < 0:
		return errors.New("server: Config.MaxUploadBytes must not be negative")
	case c.UploadTimeout < 0, c.WriteTimeout < 0, c.ReadHeaderTimeout < 0, c.IdleTimeout < 0, c.ShutdownTimeout < 0:
		return errors.New("server: Config timeouts must not be negative")
	case c.MaxHeaderBytes < 0:
		return errors.New("server: Config.MaxHeaderBytes must not be negative")
	case c.MaxInFlight < 0:
		return errors.New("server: Config.MaxInFlight must not be negative")
	case c.MaxMediaInFlight < 0:
		return errors.New("server: Config.MaxMediaInFlight must not be negative")
	case c.QueueTimeout < 0:
		return errors.New("server: Config.QueueTimeout must not be negative")
	case c.MediaTimeout < 0:
		return errors.New("server: Config.MediaTimeout must not be negative")
	}
	if _, _, err := ParseRateLimit(c.RateLimit); err != nil {
		return fmt.Errorf("server: Config.RateLimit: %w", err)
	}
	for i, p := range c.TrustedProxies {
		if !p.IsValid() {
			return fmt.Errorf("server: Config.TrustedProxies[%d] is not a valid address prefix", i)
		}
	}
	return nil
}

// Pinger is a dependency that /health checks.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are the domain services the server exposes.
type Deps struct {
	// Sources stores inputs and extracts them (required).
	Sources *sources.Service
	// Extractor is reported on by /health (optional): its registry's
	// parsers are listed.
	Extractor interface{ Registry() *extract.Registry }
	// Checks are pinged by /health, by name ("db", "storage", ...).
	Checks map[string]Pinger
	// Auth verifies tokens and serves login, refresh, logout and revoke.
	// Without it only anonymous access works.
	Auth *auth.Service
	// Audit records security decisions and changes (optional).
	Audit *audit.Recorder
	// Flags turns features on and off per tenant (optional).
	Flags *flags.Service
	// Assist serves POST /ai-assist (optional: without it the endpoint
	// answers 503 dependency_unavailable).
	Assist *assist.Service
	// Idempotency keeps the first response to requests that carry an
	// Idempotency-Key (optional: without it the header is ignored).
	Idempotency *idempotency.Service
	// Projects groups sources for batch extraction (optional: without it
	// the project endpoints answer 503 dependency_unavailable and a
	// project_id on an upload or download 404 not_found).
	Projects *projects.Service
	// Engines are reported by /health as they are (name to state, such
	// as "ffmpeg": "ok", "transcriber": "pocketsphinx"): optional engines
	// whose absence turns a feature off without failing the server.
	Engines map[string]string
}

// Server is Quarry's HTTP server: the /api/v1 contract on huma v2 and chi v5.
type Server struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	router  *chi.Mux
	v1      huma.API
	v2      huma.API
	metrics *metrics.Set
	// heavy holds one token per document extraction in flight, media one
	// per transcription (audio and video).
	heavy, media chan struct{}
	// loginAddr counts login attempts per client address, loginAcct
	// failed logins per account.
	loginAddr, loginAcct *limiter.Limiter
	// general is the general API rate limit (Config.RateLimit); nil when
	// it is off.
	general *limiter.Limiter
}

// New builds the server and registers every route.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if deps.Sources == nil {
		return nil, errors.New("server: Deps.Sources is required")
	}
	installErrorModel() // before any huma.Register

	s := &Server{cfg: cfg, deps: deps, log: cfg.Logger, metrics: metrics.NewSet(), heavy: make(chan struct{}, cfg.MaxInFlight),
		media: make(chan struct{}, cfg.MaxMediaInFlight)}
	s.metrics.NewGauge("quarry_extractions_in_flight", func() float64 { return float64(len(s.heavy)) })
	s.metrics.NewGauge("quarry_transcriptions_in_flight", func() float64 { return float64(len(s.media)) })
	s.loginAddr = limiter.New(memory.NewStore(), limiter.Rate{Period: time.Minute, Limit: cfg.LoginAttemptsPerAddress})
	s.loginAcct = limiter.New(memory.NewStore(), limiter.Rate{Period: time.Minute, Limit: cfg.FailedLoginsPerAccount})
	if rate, on, _ := ParseRateLimit(cfg.RateLimit); on { // validated above
		var store limiter.Store = memory.NewStore()
		if cfg.RateLimitStore != nil {
			fb := newFallbackStore(cfg.RateLimitStore, s.log, s.metrics)
			fb.check(rate)
			store = fb
		}
		s.general = limiter.New(store, rate)
	}
	r := chi.NewMux()
	// Order: id first (everything logs it), the client address, then
	// observation around the recoverer so panics are counted, then headers
	// on every response; the rate limit comes after them, so a 429 is
	// counted, logged and has the security headers.
	r.Use(withRequestID, withClientIP(cfg.TrustedProxies), s.observe, s.recoverer, securityHeaders, writeDeadline(cfg.WriteTimeout),
		s.rateLimit, middleware.GetHead)
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed(r))
	if cfg.MetricsAddr == "" {
		r.Get("/metrics", s.guardMetrics(s.serveMetrics))
	}
	mountDocs(r)

	s.v1 = humachi.New(r, apiConfig("Quarry API", cfg.Version, "/api/v1/openapi", v1Description))
	s.v2 = humachi.New(r, apiConfig("Quarry API v2", cfg.Version, "/api/v2/openapi", v2Description))
	s.router = r
	for _, api := range []huma.API{s.v1, s.v2} {
		api.OpenAPI().OnAddOperation = append(api.OpenAPI().OnAddOperation, documentRateLimit)
		// Before any Register: huma captures the middleware chain there.
		api.UseMiddleware(s.authenticate(api), s.requireFeatures(api))
	}

	s.bindHealth()
	s.bindAuth()
	s.bindSources()
	s.bindProjects()
	s.bindExtract()
	s.bindAssist()
	s.bindAssistStream()
	s.bindVideo()
	s.bindAdmin()
	return s, nil
}

func apiConfig(title, version, openAPIPath, description string) huma.Config {
	hc := huma.DefaultConfig(title, version)
	hc.CreateHooks = nil // no $schema field and Link header: the envelope stays clean
	hc.OpenAPIPath = openAPIPath
	hc.DocsPath = "" // docs are served by the binary at /docs, offline
	hc.SchemasPath = ""
	hc.Info.Description = description
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", BearerFormat: "JWT",
			Description: "An access token from POST /api/v1/auth/login. The scope names the least role an operation needs."},
	}
	hc.OpenAPI.Security = needViewer // secure by default: operations opt out explicitly
	return hc
}

// acquire takes a document extraction slot, waiting at most
// Config.QueueTimeout. The returned release must be called once the work
// is done.
func (s *Server) acquire(ctx context.Context) (release func(), err error) {
	return s.acquireSlot(ctx, s.heavy, "too many extractions in progress; retry shortly")
}

// acquireMedia takes a transcription slot (Config.MaxMediaInFlight).
func (s *Server) acquireMedia(ctx context.Context) (release func(), err error) {
	return s.acquireSlot(ctx, s.media, "too many transcriptions in progress; retry shortly")
}

// acquireFor takes the slot that extracting source id needs: a
// transcription slot when a parser that runs external tools reads it
// (audio, video), so that minutes-long transcriptions never hold up
// documents, else a document slot. An unknown source takes a document
// slot; the extraction then answers not_found.
func (s *Server) acquireFor(ctx context.Context, tenantID, id string) (release func(), err error) {
	if s.deps.Extractor != nil {
		if src, err := s.deps.Sources.Get(ctx, tenantID, id); err == nil {
			if _, p, err := s.deps.Extractor.Registry().Lookup(src.MediaType); err == nil {
				if _, ok := p.(extract.ExternalTool); ok {
					return s.acquireMedia(ctx)
				}
			}
		}
	}
	return s.acquire(ctx)
}

func (s *Server) acquireSlot(ctx context.Context, slots chan struct{}, busy string) (release func(), err error) {
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	default:
	}
	t := time.NewTimer(s.cfg.QueueTimeout)
	defer t.Stop()
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	case <-t.C:
		s.metrics.GetOrCreateCounter("quarry_over_capacity_total").Inc()
		e := newError(http.StatusServiceUnavailable, CodeOverCapacity, busy)
		e.RequestID = requestIDFrom(ctx)
		return nil, e
	case <-ctx.Done():
		return nil, s.fail(ctx, ctx.Err())
	}
}

// Handler returns the root handler (API, docs, health, metrics).
func (s *Server) Handler() http.Handler { return s.router }

// API returns the /api/v1 huma API, for embedding applications that add
// their own operations and for tests.
func (s *Server) API() huma.API { return s.v1 }

// APIv2 returns the /api/v2 huma API.
func (s *Server) APIv2() huma.API { return s.v2 }

// Metrics returns the server's own metrics set, for embedders that add
// metrics of their own.
func (s *Server) Metrics() *metrics.Set { return s.metrics }

// guardMetrics protects /metrics on the API listener while authentication
// is required: it then needs an admin token. A separate listener
// (Config.MetricsAddr) is the way to scrape without one; protect that one
// by its bind address.
func (s *Server) guardMetrics(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.cfg.AuthRequired {
			next(w, r)
			return
		}
		tok, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok || s.deps.Auth == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="quarry"`)
			writeEnvelopeError(w, r, newError(http.StatusUnauthorized, CodeUnauthorized, "a bearer token is required"))
			return
		}
		p, err := s.deps.Auth.VerifyAccess(r.Context(), tok)
		if err != nil {
			s.record(r.Context(), nil, "auth.token_rejected", "operation", "metrics", resultDenied, nil)
			writeEnvelopeError(w, r, newError(http.StatusUnauthorized, CodeInvalidToken, "the token is not valid"))
			return
		}
		if !p.Role.Allows(auth.RoleAdmin) {
			s.record(r.Context(), p, "authz.denied", "operation", "metrics", resultDenied, map[string]any{"need": string(auth.RoleAdmin)})
			writeEnvelopeError(w, r, newError(http.StatusForbidden, CodeForbidden, "your role does not allow this"))
			return
		}
		next(w, r)
	}
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.WritePrometheus(w)
	metrics.WriteProcessMetrics(w)
}

func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully:
// new connections are refused and requests in flight get
// Config.ShutdownTimeout to finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := s.httpServer(s.router)
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	servers := []*http.Server{srv}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if s.cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", s.cfg.MetricsAddr)
		if err != nil {
			_ = srv.Close()
			return fmt.Errorf("server: metrics listener: %w", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /metrics", s.serveMetrics)
		msrv := s.httpServer(mux)
		servers = append(servers, msrv)
		go func() { errc <- msrv.Serve(mln) }()
	}
	select {
	case err := <-errc:
		for _, x := range servers {
			_ = x.Close()
		}
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "grace", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	for _, x := range servers {
		if err := x.Shutdown(sctx); err != nil {
			errs = append(errs, err)
			_ = x.Close()
		}
	}
	return errors.Join(errs...)
}

// ListenAndServe listens on addr and calls Serve.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("server: listen: %w", err)
	}
	s.log.Info("listening", "addr", ln.Addr().String(), "version", s.cfg.Version)
	return s.Serve(ctx, ln)
}
