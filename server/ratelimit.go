package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/danielgtaylor/huma/v2"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
	redisstore "github.com/ulule/limiter/v3/drivers/store/redis"
)

// The general API rate limit (CONTRACT.md section 5, RELIABILITY.md T50 to
// T52): every request to /api/v1/** and /api/v2/**, except the health
// checks and the OpenAPI documents, counts against its client address.
//
// ulule/limiter's stdlib middleware is not used: it panics when its store
// fails, answers 429 in plain text without Retry-After and trusts the
// left-most X-Forwarded-For address (RELIABILITY.md section 0.2). The
// middleware below calls limiter.Get itself, answers our envelope, keys on
// the address withClientIP settled, and its store falls back to memory.

const (
	// DefaultRateLimit is the rate of Config.RateLimit when it is empty.
	DefaultRateLimit = "300-M"
	// RateLimitOff turns the general rate limit off (Config.RateLimit).
	RateLimitOff = "off"

	// rateStoreTimeout bounds one call to the configured store; past it
	// the request is limited in memory.
	rateStoreTimeout = 500 * time.Millisecond
	// rateStoreProbeInterval is how often, at most, the configured store
	// is tried again while it is down. One request per interval probes it;
	// the others go straight to memory, so an outage costs them nothing.
	rateStoreProbeInterval = time.Second
)

// ParseRateLimit parses a rate in ulule/limiter's format: a count, a dash
// and a period letter, S (second), M (minute), H (hour) or D (day), such as
// "300-M". "off" (any case) answers ok with a zero Rate: no limit.
func ParseRateLimit(s string) (rate limiter.Rate, on bool, err error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, RateLimitOff) {
		return limiter.Rate{}, false, nil
	}
	r, err := limiter.NewRateFromFormatted(s)
	if err != nil || r.Limit <= 0 {
		return limiter.Rate{}, false, fmt.Errorf("want a positive count per S, M, H or D such as %s, or %s; got %q", DefaultRateLimit, RateLimitOff, s)
	}
	return r, true, nil
}

// rateLimitExempt are the paths under /api/v1 and /api/v2 that are never
// limited: health checks (load balancers and probes poll them) and the
// OpenAPI documents.
var rateLimitExempt = func() map[string]bool {
	m := map[string]bool{}
	for _, v := range []string{"/api/v1", "/api/v2"} {
		m[v+"/health"] = true
		for _, ext := range []string{".json", ".yaml", "-3.0.json", "-3.0.yaml"} {
			m[v+"/openapi"+ext] = true
		}
	}
	return m
}()

// rateLimitedPath reports whether a request path counts against the
// general rate limit.
func rateLimitedPath(p string) bool {
	under := p == "/api/v1" || p == "/api/v2" || strings.HasPrefix(p, "/api/v1/") || strings.HasPrefix(p, "/api/v2/")
	return under && !rateLimitExempt[p]
}

// rateKey is the general limiter's key of a client address: "ip:" and the
// address, IPv6 addresses masked to their /64 (one subscriber usually holds
// a whole /64; RELIABILITY.md section 3). Audit keeps the full address.
func rateKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "ip:" + ip
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "ip:" + p.String()
	}
	return "ip:" + a.String()
}

// rateHeadersKey holds the response header map in which the general limit
// wrote its X-RateLimit-* headers, so that a handler refusing with a limit
// of its own (login) replaces them instead of adding a second set.
type rateHeadersKey struct{}

// rateLimit is the chi middleware of the general limit. Every limited
// response carries X-RateLimit-Limit, -Remaining and -Reset (Unix seconds
// when the window ends); a request over the limit answers 429 rate_limited
// with Retry-After.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	if s.general == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		if r.URL.RawPath != "" {
			path = r.URL.RawPath // what chi routes on
		}
		if !rateLimitedPath(path) {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		lc, err := s.general.Get(ctx, rateKey(clientIP(ctx)))
		if err != nil {
			// Only a store without fallback can fail here (the configured
			// one is wrapped, memory does not fail): let the request
			// through rather than fail it.
			s.log.LogAttrs(ctx, slog.LevelWarn, "rate limit store failed; request not limited",
				slog.String("request_id", requestIDFrom(ctx)), slog.String("error", err.Error()))
			next.ServeHTTP(w, r)
			return
		}
		if lc.Reached {
			writeEnvelopeError(w, r, s.rateLimited(ctx, lc, "too many requests; retry later"))
			return
		}
		h := w.Header()
		setRateHeaders(h, lc)
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, rateHeadersKey{}, h)))
	})
}

func setRateHeaders(h http.Header, lc limiter.Context) {
	h.Set("X-RateLimit-Limit", strconv.FormatInt(lc.Limit, 10))
	h.Set("X-RateLimit-Remaining", strconv.FormatInt(lc.Remaining, 10))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(lc.Reset, 10))
}

// NewRedisRateLimitStore returns a rate limit store in Redis (ulule's redis
// driver) for Config.RateLimitStore; its keys are prefix + ":ip:...".
// Unlike the driver's own constructor it needs no answer from Redis now: it
// loads its scripts at first use and tries again at later uses until Redis
// answers, so that a server starts while Redis is down (limiting in memory
// meanwhile). Give the client short timeouts (a second or less): the
// server bounds each call, but the script load is not bounded by it.
func NewRedisRateLimitStore(client redisstore.Client, prefix string) limiter.Store {
	return &lazyRedisStore{client: client, prefix: prefix}
}

type lazyRedisStore struct {
	client redisstore.Client
	prefix string
	mu     sync.Mutex
	store  atomic.Pointer[limiter.Store]
}

func (l *lazyRedisStore) get() (limiter.Store, error) {
	if s := l.store.Load(); s != nil {
		return *s, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.store.Load(); s != nil {
		return *s, nil
	}
	s, err := redisstore.NewStoreWithOptions(l.client, limiter.StoreOptions{Prefix: l.prefix})
	if err != nil {
		return nil, err
	}
	l.store.Store(&s)
	return s, nil
}

func (l *lazyRedisStore) Get(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	s, err := l.get()
	if err != nil {
		return limiter.Context{}, err
	}
	return s.Get(ctx, key, rate)
}

func (l *lazyRedisStore) Peek(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	s, err := l.get()
	if err != nil {
		return limiter.Context{}, err
	}
	return s.Peek(ctx, key, rate)
}

func (l *lazyRedisStore) Reset(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	s, err := l.get()
	if err != nil {
		return limiter.Context{}, err
	}
	return s.Reset(ctx, key, rate)
}

func (l *lazyRedisStore) Increment(ctx context.Context, key string, count int64, rate limiter.Rate) (limiter.Context, error) {
	s, err := l.get()
	if err != nil {
		return limiter.Context{}, err
	}
	return s.Increment(ctx, key, count, rate)
}

// fallbackStore is the configured store (Redis) with memory behind it:
// when the primary errors, the request is limited in memory instead, never
// failed. Each such request counts in
// quarry_ratelimit_store_fallback_total. A warning is logged once per
// transition (down, then recovered), not per request. While the primary is
// down, one request per rateStoreProbeInterval tries it again; the first
// that succeeds brings every request back to it.
//
// Counts do not move between the stores: while the primary is down,
// clients start afresh in memory, and when it is back they find the counts
// it kept (or none, after a restart without persistence).
type fallbackStore struct {
	primary, memory limiter.Store
	log             *slog.Logger
	fallbacks       *metrics.Counter

	mu   sync.Mutex
	down bool
	// epoch counts transitions: an answer of the primary changes the
	// state only if no transition happened since its call began, so a
	// slow call that straddles a recovery cannot undo it.
	epoch     uint64
	nextProbe time.Time
}

func newFallbackStore(primary limiter.Store, log *slog.Logger, set *metrics.Set) *fallbackStore {
	return &fallbackStore{
		primary:   primary,
		memory:    memory.NewStore(),
		log:       log,
		fallbacks: set.GetOrCreateCounter("quarry_ratelimit_store_fallback_total"),
	}
}

// check tries the primary once (at server start) and, when it does not
// answer, starts in memory with the outage's one warning.
func (f *fallbackStore) check(rate limiter.Rate) {
	ctx, cancel := context.WithTimeout(context.Background(), rateStoreTimeout)
	defer cancel()
	if _, err := f.primary.Peek(ctx, "ip:startup-check", rate); err != nil {
		f.mu.Lock()
		f.down, f.epoch = true, f.epoch+1
		f.mu.Unlock()
		f.log.LogAttrs(ctx, slog.LevelWarn, "rate limit store unavailable at start: limiting in memory until it answers",
			slog.String("error", err.Error()))
	}
}

// usePrimary reports whether this call should try the primary, and the
// epoch it saw.
func (f *fallbackStore) usePrimary() (bool, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.down {
		return true, f.epoch
	}
	if now := time.Now(); !now.Before(f.nextProbe) {
		f.nextProbe = now.Add(rateStoreProbeInterval)
		return true, f.epoch
	}
	return false, f.epoch
}

func (f *fallbackStore) failed(ctx context.Context, epoch uint64, err error) {
	f.mu.Lock()
	f.nextProbe = time.Now().Add(rateStoreProbeInterval)
	transition := !f.down && f.epoch == epoch
	if transition {
		f.down, f.epoch = true, f.epoch+1
	}
	f.mu.Unlock()
	if transition {
		f.log.LogAttrs(ctx, slog.LevelWarn, "rate limit store unavailable: limiting in memory until it answers",
			slog.String("error", err.Error()))
	}
}

func (f *fallbackStore) answered(ctx context.Context, epoch uint64) {
	f.mu.Lock()
	transition := f.down && f.epoch == epoch
	if transition {
		f.down, f.epoch = false, f.epoch+1
	}
	f.mu.Unlock()
	if transition {
		f.log.LogAttrs(ctx, slog.LevelWarn, "rate limit store recovered: limiting through it again")
	}
}

func (f *fallbackStore) do(ctx context.Context, op func(context.Context, limiter.Store) (limiter.Context, error)) (limiter.Context, error) {
	if try, epoch := f.usePrimary(); try {
		// The client going away must not look like an outage.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rateStoreTimeout)
		lc, err := op(pctx, f.primary)
		cancel()
		if err == nil {
			f.answered(ctx, epoch)
			return lc, nil
		}
		f.failed(ctx, epoch, err)
	}
	f.fallbacks.Inc()
	return op(ctx, f.memory)
}

func (f *fallbackStore) Get(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return f.do(ctx, func(ctx context.Context, s limiter.Store) (limiter.Context, error) { return s.Get(ctx, key, rate) })
}

func (f *fallbackStore) Peek(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return f.do(ctx, func(ctx context.Context, s limiter.Store) (limiter.Context, error) { return s.Peek(ctx, key, rate) })
}

func (f *fallbackStore) Reset(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return f.do(ctx, func(ctx context.Context, s limiter.Store) (limiter.Context, error) { return s.Reset(ctx, key, rate) })
}

func (f *fallbackStore) Increment(ctx context.Context, key string, count int64, rate limiter.Rate) (limiter.Context, error) {
	return f.do(ctx, func(ctx context.Context, s limiter.Store) (limiter.Context, error) {
		return s.Increment(ctx, key, count, rate)
	})
}

// OpenAPI: the rate limit headers and the 429 of limited operations.

var rateLimitHeaderDocs = map[string]*huma.Header{
	"X-RateLimit-Limit": {
		Description: "Requests a client address may make in the current window (QUARRY_RATE_LIMIT; absent when rate limiting is off).",
		Schema:      &huma.Schema{Type: huma.TypeInteger},
	},
	"X-RateLimit-Remaining": {
		Description: "Requests left in the current window.",
		Schema:      &huma.Schema{Type: huma.TypeInteger},
	},
	"X-RateLimit-Reset": {
		Description: "When the current window ends, in Unix seconds.",
		Schema:      &huma.Schema{Type: huma.TypeInteger},
	},
	"Retry-After": {
		Description: "Seconds to wait before trying again (at least 1).",
		Schema:      &huma.Schema{Type: huma.TypeInteger, Minimum: new(float64(1))},
	},
}

// documentRateLimit is an OnAddOperation hook: the success responses of a
// limited operation document the X-RateLimit-* headers, and its 429
// rate_limited response them and Retry-After.
func documentRateLimit(oapi *huma.OpenAPI, op *huma.Operation) {
	if !rateLimitedPath(op.Path) {
		return
	}
	if oapi.Components.Headers == nil {
		oapi.Components.Headers = map[string]*huma.Header{}
	}
	for name, h := range rateLimitHeaderDocs {
		if _, ok := oapi.Components.Headers[name]; !ok {
			oapi.Components.Headers[name] = h
		}
	}
	add := func(r *huma.Response, names ...string) {
		if r.Headers == nil {
			r.Headers = map[string]*huma.Param{}
		}
		for _, n := range names {
			r.Headers[n] = &huma.Param{Ref: "#/components/headers/" + n}
		}
	}
	limits := []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}
	for code, r := range op.Responses {
		if len(code) == 3 && code[0] == '2' {
			add(r, limits...)
		}
	}
	r, ok := op.Responses["429"]
	if !ok {
		schema := oapi.Components.Schemas.Schema(reflect.TypeFor[errorEnvelope](), true, "Error")
		r = &huma.Response{
			Content: map[string]*huma.MediaType{"application/json": {Schema: schema}},
		}
		op.Responses["429"] = r
	}
	r.Description = "Too Many Requests (rate_limited): retry after Retry-After seconds. The X-RateLimit-* headers describe the limit that refused the request."
	add(r, append(limits, "Retry-After")...)
}
