package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/oklog/ulid/v2"
)

type requestIDKey struct{}

// requestIDFrom returns the request id of ctx, "" when there is none.
func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// validRequestID reports whether an incoming X-Request-Id may be kept: a
// printable token of at most 128 characters (no spaces, quotes or control
// characters, so it cannot forge log fields or headers).
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// withRequestID keeps a valid incoming X-Request-Id or makes a ULID, and
// sets it on the response and the request context.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = ulid.Make().String()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// securityHeaders sets the headers of CONTRACT.md section 5 on every
// response. The docs page gets a CSP that lets it run its own scripts.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		if r.URL.Path == "/docs" || strings.HasPrefix(r.URL.Path, "/docs/") {
			h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		} else {
			h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		}
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// routeOf returns the route pattern that served r ("unmatched" for router
// 404s), which keeps metric labels and log fields low-cardinality.
func routeOf(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}

// observe counts requests and logs one JSON line per request. It wraps the
// recoverer, so panics are counted and logged as 500.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := routeOf(r)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		elapsed := time.Since(start)
		if route != "/metrics" {
			method := metricMethod(r.Method)
			s.metrics.GetOrCreateCounter(fmt.Sprintf(`quarry_http_requests_total{method=%q,route=%q,status="%d"}`, method, route, status)).Inc()
			s.metrics.GetOrCreateHistogram(fmt.Sprintf(`quarry_http_request_duration_seconds{method=%q,route=%q}`, method, route)).Update(elapsed.Seconds())
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		s.log.LogAttrs(r.Context(), level, "request",
			slog.String("request_id", requestIDFrom(r.Context())),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path), // never the query: it may carry secrets
			slog.String("route", route),
			slog.Int("status", status),
			slog.Int("bytes", ww.BytesWritten()),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			slog.String("remote", r.RemoteAddr),
		)
	})
}

// metricMethod keeps the method label bounded: a client can send any token
// as a method, and each would otherwise make new series.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// recoverer turns a panic into a sanitized 500 envelope; the stack is logged
// with the request id, never sent.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.LogAttrs(r.Context(), slog.LevelError, "panic",
				slog.String("request_id", requestIDFrom(r.Context())),
				slog.String("panic", fmt.Sprint(v)),
				slog.String("stack", string(debug.Stack())))
			s.metrics.GetOrCreateCounter("quarry_http_panics_total").Inc()
			writeEnvelopeError(w, r, newError(http.StatusInternalServerError, CodeInternal, ""))
		}()
		next.ServeHTTP(w, r)
	})
}

// writeDeadline bounds how long a response may take to write, since the
// http.Server's own WriteTimeout is off (uploads and extractions need long,
// per-route deadlines).
func writeDeadline(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
			next.ServeHTTP(w, r)
		})
	}
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeEnvelopeError(w, r, newError(http.StatusNotFound, CodeNotFound, "no route for "+r.Method+" "+sanitizePath(r.URL.Path)))
}

// methodNotAllowed answers 405 with the Allow header RFC 9110 asks for.
func methodNotAllowed(router chi.Router) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allowed []string
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if router.Match(chi.NewRouteContext(), m, r.URL.Path) {
				allowed = append(allowed, m)
			}
		}
		if slices.Contains(allowed, http.MethodGet) && !slices.Contains(allowed, http.MethodHead) {
			allowed = append(allowed, http.MethodHead) // served through middleware.GetHead
		}
		e := newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method "+sanitizePath(r.Method)+" is not allowed on "+sanitizePath(r.URL.Path))
		if len(allowed) > 0 {
			e.GetHeaders().Set("Allow", strings.Join(allowed, ", "))
		}
		writeEnvelopeError(w, r, e)
	}
}

// sanitizePath keeps an echoed path short and printable.
func sanitizePath(p string) string {
	if len(p) > 200 {
		p = p[:200] + "..."
	}
	q := strconv.QuoteToASCII(p)
	return q[1 : len(q)-1]
}
