package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
	"github.com/ulule/limiter/v3"

	"github.com/quarryhq/quarry/auth"
	"github.com/quarryhq/quarry/internal/redistest"
	"github.com/quarryhq/quarry/server"
)

// rateHeaders are the X-RateLimit-* headers of a response, -1 when absent.
type rateHeaders struct{ limit, remaining, reset int64 }

func rateOf(t *testing.T, r response) rateHeaders {
	t.Helper()
	get := func(k string) int64 {
		vs := r.header.Values(k)
		if len(vs) == 0 {
			return -1
		}
		if len(vs) > 1 {
			t.Errorf("%s appears %d times: %q", k, len(vs), vs)
		}
		n, err := strconv.ParseInt(vs[0], 10, 64)
		if err != nil {
			t.Fatalf("%s = %q", k, vs[0])
		}
		return n
	}
	return rateHeaders{get("X-RateLimit-Limit"), get("X-RateLimit-Remaining"), get("X-RateLimit-Reset")}
}

// requireRateLimited checks a 429 of the general limit: our envelope with
// rate_limited, JSON, Retry-After of at least a second, the limit headers
// and none of ulule's plain "Limit exceeded".
func requireRateLimited(t *testing.T, r response, limit int64) {
	t.Helper()
	requireError(t, r, http.StatusTooManyRequests, server.CodeRateLimited)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("429 Content-Type = %q", ct)
	}
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("429 Retry-After = %q, want at least 1", r.header.Get("Retry-After"))
	}
	if bytes.Contains(bytes.ToLower(r.body), []byte("limit exceeded")) {
		t.Errorf("429 body is ulule's: %s", r.body)
	}
	if h := rateOf(t, r); h.limit != limit || h.remaining != 0 || h.reset < time.Now().Unix() {
		t.Errorf("429 rate headers %+v, want limit %d, remaining 0, reset >= now", h, limit)
	}
	if r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("429 without the security headers: %v", r.header)
	}
}

// TestT51RateLimitHeadersAnd429 (RELIABILITY.md T51): past 5-S, one
// endpoint answers our 429 envelope; every limited response carries the
// headers, Remaining counting down; health and the OpenAPI documents are
// never limited.
func TestT51RateLimitHeadersAnd429(t *testing.T) {
	const limit = 5
	s := newStack(t, stackOptions{server: func(c *server.Config) { c.RateLimit = "5-S" }})
	var ok []response
	var refused response
	for attempt := 0; ; attempt++ {
		ok = ok[:0]
		for range limit {
			ok = append(ok, s.do(t, http.MethodGet, "/api/v1/sources", nil))
		}
		refused = s.do(t, http.MethodGet, "/api/v1/sources", nil)
		// The window is a second: if it ended mid-run, run again in the
		// next one.
		if rateOf(t, ok[0]).reset == rateOf(t, refused).reset || attempt == 3 {
			break
		}
		time.Sleep(time.Until(time.Unix(rateOf(t, refused).reset+1, 0)))
	}
	now := time.Now().Unix()
	for i, r := range ok {
		requireOK(t, r, http.StatusOK, nil)
		h := rateOf(t, r)
		if h.limit != limit || h.remaining != int64(limit-1-i) || h.reset < now-1 || h.reset > now+2 {
			t.Errorf("request %d: rate headers %+v, want limit %d, remaining %d, reset about now", i+1, h, limit, limit-1-i)
		}
	}
	requireRateLimited(t, refused, limit)

	// Unknown routes under /api/v1 count too (no free scanning), and the
	// other namespace shares the client's budget.
	requireRateLimited(t, s.do(t, http.MethodGet, "/api/v1/no-such-route", nil), limit)
	requireRateLimited(t, s.do(t, http.MethodPost, "/api/v2/anything", nil), limit)

	// Never limited, never given the headers.
	for _, path := range []string{"/health", "/api/v1/health", "/api/v2/health", "/api/v1/openapi.json",
		"/api/v1/openapi.yaml", "/api/v1/openapi-3.0.json", "/api/v2/openapi.json", "/docs", "/metrics"} {
		for range 3 {
			r := s.do(t, http.MethodGet, path, nil)
			if r.status != http.StatusOK {
				t.Fatalf("GET %s while the client is limited: %d %s", path, r.status, r.body)
			}
			if h := rateOf(t, r); h != (rateHeaders{-1, -1, -1}) {
				t.Errorf("GET %s has rate headers %+v", path, h)
			}
		}
	}
	// The 429s are counted like every response.
	m := s.do(t, http.MethodGet, "/metrics", nil)
	if !bytes.Contains(m.body, []byte(`status="429"`)) {
		t.Errorf("/metrics counts no 429")
	}
}

// TestRateLimitLoginHeaders: a login refused by the login limit describes
// that limit, once; the general limit's headers are replaced, not doubled.
func TestRateLimitLoginHeaders(t *testing.T) {
	s := newStack(t, stackOptions{server: func(c *server.Config) {
		c.RateLimit = "100-M"
		c.LoginAttemptsPerAddress = 1
	}})
	login := func() response {
		return s.postJSON(t, "/api/v1/auth/login", map[string]any{"email": "nobody@example.org", "password": "not the password"})
	}
	first := login()
	requireError(t, first, http.StatusUnauthorized, server.CodeUnauthorized)
	if h := rateOf(t, first); h.limit != 100 || h.remaining != 99 {
		t.Errorf("first login: general rate headers %+v", h)
	}
	second := login()
	requireError(t, second, http.StatusTooManyRequests, server.CodeRateLimited)
	if h := rateOf(t, second); h.limit != 1 || h.remaining != 0 {
		t.Errorf("login refused by its own limit: rate headers %+v, want the login limit (1, 0)", h)
	}
	if ra, err := strconv.Atoi(second.header.Get("Retry-After")); err != nil || ra < 1 || len(second.header.Values("Retry-After")) != 1 {
		t.Errorf("Retry-After = %q", second.header.Values("Retry-After"))
	}
}

// TestT50ClientIPSpoofing (RELIABILITY.md T50).
func TestT50ClientIPSpoofing(t *testing.T) {
	t.Run("trust off", func(t *testing.T) {
		const limit = 5
		s := newStack(t, stackOptions{server: func(c *server.Config) { c.RateLimit = "5-M" }})
		passed, refused := 0, 0
		for i := range 100 {
			ip := fmt.Sprintf("203.0.113.%d", i+1)
			r := s.do(t, http.MethodGet, "/api/v1/sources", nil,
				"X-Forwarded-For", ip, "X-Real-IP", ip, "True-Client-IP", ip, "Forwarded", "for="+ip, "CF-Connecting-IP", ip)
			switch r.status {
			case http.StatusOK:
				passed++
			case http.StatusTooManyRequests:
				requireRateLimited(t, r, limit)
				refused++
			default:
				t.Fatalf("request %d: %d %s", i, r.status, r.body)
			}
		}
		if passed != limit || refused != 100-limit {
			t.Fatalf("100 requests with 100 forwarded addresses: %d passed, %d refused; want %d and %d (one budget: the TCP peer)", passed, refused, limit, 100-limit)
		}
		// Audit records the peer too, not the forwarded header.
		b, _ := json.Marshal(map[string]any{"email": "nobody@example.org", "password": "not the password"})
		s2 := newStack(t, stackOptions{})
		r := s2.do(t, http.MethodPost, "/api/v1/auth/login", bytes.NewReader(b), "Content-Type", "application/json", "X-Forwarded-For", "6.6.6.6")
		requireError(t, r, http.StatusUnauthorized, server.CodeUnauthorized)
		if e := byRequestID(auditRows(t, s2, "", auth.ActionLoginFailed))[r.env.RequestID]; e == nil || e.RemoteAddr != "127.0.0.1" {
			t.Errorf("login_failed audit row %+v, want remote address 127.0.0.1", e)
		}
	})

	t.Run("untrusted peer", func(t *testing.T) {
		// Proxies are trusted, but not this peer: its headers count for
		// nothing.
		s := newStack(t, stackOptions{server: func(c *server.Config) {
			c.RateLimit = "3-M"
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		}})
		for i := range 3 {
			requireOK(t, s.do(t, http.MethodGet, "/api/v1/sources", nil, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i)), http.StatusOK, nil)
		}
		requireRateLimited(t, s.do(t, http.MethodGet, "/api/v1/sources", nil, "X-Forwarded-For", "203.0.113.99"), 3)
	})

	t.Run("trust on", func(t *testing.T) {
		const limit = 3
		s := newStack(t, stackOptions{server: func(c *server.Config) {
			c.RateLimit = "3-M"
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		}})
		get := func(xff string) response {
			if xff == "" {
				return s.do(t, http.MethodGet, "/api/v1/sources", nil)
			}
			return s.do(t, http.MethodGet, "/api/v1/sources", nil, "X-Forwarded-For", xff)
		}
		for i := range limit {
			r := get("6.6.6.6, 127.0.0.9")
			requireOK(t, r, http.StatusOK, nil)
			if h := rateOf(t, r); h.remaining != int64(limit-1-i) {
				t.Fatalf("request %d as 127.0.0.9: remaining %d", i+1, h.remaining)
			}
		}
		// Keyed by 127.0.0.9, the right-most untrusted hop: the left-most
		// entry, which the client wrote, changes nothing.
		requireRateLimited(t, get("6.6.6.6, 127.0.0.9"), limit)
		requireRateLimited(t, get("7.7.7.7, 127.0.0.9"), limit)
		requireRateLimited(t, get("127.0.0.9"), limit)
		// Trusted hops are skipped from the right.
		requireRateLimited(t, get("127.0.0.9, 127.0.0.1"), limit)
		// Another right-most hop has a budget of its own, and so has the
		// proxy itself (no header: the peer is the client).
		requireOK(t, get("6.6.6.6, 127.0.0.10"), http.StatusOK, nil)
		requireOK(t, get(""), http.StatusOK, nil)
		// X-Real-IP is not read: the peer again.
		r := s.do(t, http.MethodGet, "/api/v1/sources", nil, "X-Real-IP", "127.0.0.9")
		if h := rateOf(t, r); r.status != http.StatusOK || h.remaining != limit-2 {
			t.Errorf("X-Real-IP only: %d, remaining %d; want the peer's budget", r.status, h.remaining)
		}

		// IPv6 clients share a budget per /64.
		for i := range limit {
			requireOK(t, get(fmt.Sprintf("2001:db8:1:2::%x", i+1)), http.StatusOK, nil)
		}
		requireRateLimited(t, get("2001:db8:1:2:ffff:ffff:ffff:ffff"), limit)
		requireOK(t, get("2001:db8:1:3::1"), http.StatusOK, nil)

		// Audit records the same client address, IPv6 unmasked.
		for _, c := range []struct{ xff, want string }{
			{"6.6.6.6, 198.51.100.23", "198.51.100.23"},
			{"2001:db8:9:9::42", "2001:db8:9:9::42"},
		} {
			b, _ := json.Marshal(map[string]any{"email": "nobody@example.org", "password": "not the password"})
			r := s.do(t, http.MethodPost, "/api/v1/auth/login", bytes.NewReader(b), "Content-Type", "application/json", "X-Forwarded-For", c.xff)
			requireError(t, r, http.StatusUnauthorized, server.CodeUnauthorized)
			if e := byRequestID(auditRows(t, s, "", auth.ActionLoginFailed))[r.env.RequestID]; e == nil || e.RemoteAddr != c.want {
				t.Errorf("X-Forwarded-For %q: login_failed audit row %+v, want remote address %s", c.xff, e, c.want)
			}
		}
	})
}

func TestRateLimitConfigValidation(t *testing.T) {
	for _, c := range []struct {
		cfg  server.Config
		want string
	}{
		{server.Config{RateLimit: "lots"}, "Config.RateLimit"},
		{server.Config{RateLimit: "0-M"}, "Config.RateLimit"},
		{server.Config{RateLimit: "10-W"}, "Config.RateLimit"},
		{server.Config{TrustedProxies: []netip.Prefix{{}}}, "Config.TrustedProxies"},
	} {
		if _, err := server.New(c.cfg, server.Deps{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want it to name %s", c.cfg, err, c.want)
		}
	}
	for _, ok := range []string{"off", "OFF", "300-M", "5-s", "1-D", "10-H"} {
		if _, _, err := server.ParseRateLimit(ok); err != nil {
			t.Errorf("ParseRateLimit(%q): %v", ok, err)
		}
	}
}

// Redis.

// redisAt connects to the Redis at addr with the short timeouts quarry
// serve gives its client. Unreachable, the test is skipped, or fails when
// QUARRY_REQUIRE_REDIS=1 (CI).
func redisAt(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(redisOptions(addr))
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if os.Getenv("QUARRY_REQUIRE_REDIS") == "1" {
			t.Fatalf("Redis on %s does not answer (%v) and QUARRY_REQUIRE_REDIS=1", addr, err)
		}
		t.Skipf("skipped: Redis on %s does not answer (%v); set QUARRY_REQUIRE_REDIS=1 to fail instead", addr, err)
	}
	return c
}

func redisOptions(addr string) *redis.Options {
	// go-redis logs each failed dial to stderr; the server's own lines
	// are what the tests read.
	redis.SetLogger(&logging.VoidLogger{})
	return &redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond,
		DialerRetries: 1, MaxRetries: 1, ContextTimeoutEnabled: true}
}

// redisPrefix is a key prefix of this test alone; its keys are deleted
// at the end.
func redisPrefix(t *testing.T, c *redis.Client) string {
	prefix := fmt.Sprintf("quarry-test:%s:%d", t.Name(), time.Now().UnixNano())
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := c.Keys(ctx, prefix+":*").Result()
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return prefix
}

// TestRateLimitRedisShared: two servers over one Redis share each client's
// budget.
func TestRateLimitRedisShared(t *testing.T) {
	c := redisAt(t, "127.0.0.1:6379")
	prefix := redisPrefix(t, c)
	const limit = 4
	stacks := []*stack{}
	for range 2 {
		stacks = append(stacks, newStack(t, stackOptions{server: func(cfg *server.Config) {
			cfg.RateLimit = "4-M"
			cfg.RateLimitStore = server.NewRedisRateLimitStore(c, prefix)
		}}))
	}
	for i := range limit {
		r := stacks[i%2].do(t, http.MethodGet, "/api/v1/sources", nil)
		requireOK(t, r, http.StatusOK, nil)
		if h := rateOf(t, r); h.limit != limit || h.remaining != int64(limit-1-i) {
			t.Fatalf("request %d on server %d: rate headers %+v", i+1, i%2, h)
		}
	}
	requireRateLimited(t, stacks[0].do(t, http.MethodGet, "/api/v1/sources", nil), limit)
	requireRateLimited(t, stacks[1].do(t, http.MethodGet, "/api/v1/sources", nil), limit)
	n, err := c.Get(context.Background(), prefix+":ip:127.0.0.1").Int()
	if err != nil || n != limit+2 {
		t.Fatalf("Redis count of 127.0.0.1: %d, %v; want %d", n, err, limit+2)
	}
	if ttl := c.PTTL(context.Background(), prefix+":ip:127.0.0.1").Val(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("the key's TTL is %v, want the window", ttl)
	}
}

var fallbackMetric = regexp.MustCompile(`(?m)^quarry_ratelimit_store_fallback_total (\d+)$`)

func fallbacks(t *testing.T, s *stack) int {
	t.Helper()
	m := fallbackMetric.FindSubmatch(s.do(t, http.MethodGet, "/metrics", nil).body)
	if m == nil {
		t.Fatal("/metrics has no quarry_ratelimit_store_fallback_total")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func countLogLines(s *stack, msg string) int {
	return strings.Count(s.logBuf.String(), `"msg":"`+msg+`"`)
}

const (
	logStoreDown      = "rate limit store unavailable: limiting in memory until it answers"
	logStoreDownStart = "rate limit store unavailable at start: limiting in memory until it answers"
	logStoreRecovered = "rate limit store recovered: limiting through it again"
)

// TestT52RedisOutageAndRecovery (RELIABILITY.md T52): under a steady load,
// the limiter's redis-server is killed, then started again on its port.
// No request fails, the limit holds in memory meanwhile, one warning marks
// each transition, and Redis is used again once it is back.
func TestT52RedisOutageAndRecovery(t *testing.T) {
	rs := redistest.Start(t)
	c := redis.NewClient(redisOptions(rs.Addr()))
	t.Cleanup(func() { c.Close() })
	const limit = 20
	s := newStack(t, stackOptions{server: func(cfg *server.Config) {
		cfg.RateLimit = "20-M"
		cfg.RateLimitStore = server.NewRedisRateLimitStore(c, "quarry:ratelimit")
		// The load and the probes come from separate client addresses.
		cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}})
	get := func(client string) response {
		return s.do(t, http.MethodGet, "/api/v1/sources", nil, "X-Forwarded-For", client)
	}
	redisCount := func(client string) (int, error) {
		return c.Get(context.Background(), "quarry:ratelimit:ip:"+client).Int()
	}

	// A steady load of about 50 requests a second, from 16 clients,
	// through the whole outage and recovery.
	var (
		statuses sync.Map // status -> *atomic.Int64
		loadN    atomic.Int64
		stopLoad = make(chan struct{})
		loadDone = make(chan struct{})
	)
	go func() {
		defer close(loadDone)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stopLoad:
				return
			case <-tick.C:
			}
			req, _ := http.NewRequest(http.MethodGet, s.http.URL+"/api/v1/sources", nil)
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", 100+i%16))
			resp, err := s.http.Client().Do(req)
			status := -1
			if err == nil {
				status = resp.StatusCode
				resp.Body.Close()
			}
			v, _ := statuses.LoadOrStore(status, new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
			loadN.Add(1)
		}
	}()
	stop := func() {
		select {
		case <-stopLoad:
		default:
			close(stopLoad)
		}
		<-loadDone
	}
	t.Cleanup(stop)

	// Redis up: counted there.
	for i := range 5 {
		requireOK(t, get("192.0.2.1"), http.StatusOK, nil)
		if n, err := redisCount("192.0.2.1"); err != nil || n != i+1 {
			t.Fatalf("request %d: Redis count %d, %v", i+1, n, err)
		}
	}
	if n := fallbacks(t, s); n != 0 {
		t.Fatalf("fallbacks before the outage: %d", n)
	}
	time.Sleep(300 * time.Millisecond)

	// Redis down: every request is answered, limited in memory (a fresh
	// count: 20 pass, then 429).
	rs.Stop()
	before := fallbacks(t, s)
	passed, refused := 0, 0
	for i := range limit + 10 {
		r := get("192.0.2.2")
		switch r.status {
		case http.StatusOK:
			passed++
		case http.StatusTooManyRequests:
			requireRateLimited(t, r, limit)
			refused++
		default:
			t.Fatalf("request %d while Redis is down: %d %s", i+1, r.status, r.body)
		}
	}
	if passed != limit || refused != 10 {
		t.Errorf("while Redis is down: %d passed, %d refused; want %d and 10 (limited in memory)", passed, refused, limit)
	}
	time.Sleep(1500 * time.Millisecond) // a few probes of the dead Redis, under load
	if after := fallbacks(t, s); after < before+limit+10 {
		t.Errorf("quarry_ratelimit_store_fallback_total went from %d to %d over %d requests in memory", before, after, limit+10)
	}
	if n := countLogLines(s, logStoreDown); n != 1 {
		t.Errorf("%d warnings of the outage, want 1:\n%s", n, s.logBuf.String())
	}

	// Redis back (empty, as it keeps nothing): the limiter uses it again
	// within about a second, and says so once.
	rs.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		client := fmt.Sprintf("192.0.3.%d", i%250)
		if r := get(client); r.status != http.StatusOK {
			t.Fatalf("after the restart: %d %s", r.status, r.body)
		}
		if n, err := redisCount(client); err == nil && n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis is not used again 10 s after its restart:\n%s", s.logBuf.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// 192.0.2.2 used up its budget in memory; Redis has a fresh count.
	r := get("192.0.2.2")
	requireOK(t, r, http.StatusOK, nil)
	if n, err := redisCount("192.0.2.2"); err != nil || n != 1 || rateOf(t, r).remaining != limit-1 {
		t.Errorf("after recovery: Redis count %d (%v), remaining %d; want 1 and %d", n, err, rateOf(t, r).remaining, limit-1)
	}
	time.Sleep(500 * time.Millisecond)
	stop()

	if n := countLogLines(s, logStoreRecovered); n != 1 {
		t.Errorf("%d recovery lines, want 1:\n%s", n, s.logBuf.String())
	}
	if n := countLogLines(s, logStoreDown); n != 1 {
		t.Errorf("%d outage warnings in all, want 1", n)
	}
	var summary []string
	statuses.Range(func(k, v any) bool {
		summary = append(summary, fmt.Sprintf("%v: %d", k, v.(*atomic.Int64).Load()))
		if st := k.(int); st != http.StatusOK && st != http.StatusTooManyRequests {
			t.Errorf("the load got %d responses of status %d", v.(*atomic.Int64).Load(), st)
		}
		return true
	})
	t.Logf("load: %d requests, statuses %v", loadN.Load(), summary)
	if loadN.Load() < 50 {
		t.Errorf("the load sent only %d requests", loadN.Load())
	}
	if strings.Contains(s.logBuf.String(), `"msg":"panic"`) {
		t.Errorf("a panic was logged:\n%s", s.logBuf.String())
	}
}

// TestRateLimitRedisDownAtStart: a server whose Redis does not answer
// starts anyway, limits in memory with one warning, and moves to Redis
// when it comes up.
func TestRateLimitRedisDownAtStart(t *testing.T) {
	rs := redistest.Start(t)
	rs.Stop()
	c := redis.NewClient(redisOptions(rs.Addr()))
	t.Cleanup(func() { c.Close() })
	s := newStack(t, stackOptions{server: func(cfg *server.Config) {
		cfg.RateLimit = "3-M"
		cfg.RateLimitStore = server.NewRedisRateLimitStore(c, "quarry:ratelimit")
	}})
	if n := countLogLines(s, logStoreDownStart); n != 1 {
		t.Fatalf("%d start-up warnings, want 1:\n%s", n, s.logBuf.String())
	}
	for range 3 {
		requireOK(t, s.do(t, http.MethodGet, "/api/v1/sources", nil), http.StatusOK, nil)
	}
	requireRateLimited(t, s.do(t, http.MethodGet, "/api/v1/sources", nil), 3)
	if n := countLogLines(s, logStoreDown); n != 0 {
		t.Errorf("the outage known at start is warned of again: %d", n)
	}

	rs.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := s.do(t, http.MethodGet, "/api/v1/sources", nil)
		if r.status == http.StatusOK { // a fresh count in Redis
			break
		}
		requireRateLimited(t, r, 3)
		if time.Now().After(deadline) {
			t.Fatalf("Redis is not used 10 s after it came up:\n%s", s.logBuf.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n, err := c.Get(context.Background(), "quarry:ratelimit:ip:127.0.0.1").Int(); err != nil || n != 1 {
		t.Errorf("Redis count %d, %v; want 1", n, err)
	}
	if n := countLogLines(s, logStoreRecovered); n != 1 {
		t.Errorf("%d recovery lines, want 1", n)
	}
}

// failingStore fails every call, as a store whose backend is gone.
type failingStore struct{ calls atomic.Int64 }

func (f *failingStore) fail() (limiter.Context, error) {
	f.calls.Add(1)
	return limiter.Context{}, fmt.Errorf("store is gone")
}
func (f *failingStore) Get(context.Context, string, limiter.Rate) (limiter.Context, error) {
	return f.fail()
}
func (f *failingStore) Peek(context.Context, string, limiter.Rate) (limiter.Context, error) {
	return f.fail()
}
func (f *failingStore) Reset(context.Context, string, limiter.Rate) (limiter.Context, error) {
	return f.fail()
}
func (f *failingStore) Increment(context.Context, string, int64, limiter.Rate) (limiter.Context, error) {
	return f.fail()
}

// TestRateLimitStoreProbedAtMostOncePerSecond: while the store is down,
// requests do not wait for it: it is tried again once a second at most.
func TestRateLimitStoreProbedAtMostOncePerSecond(t *testing.T) {
	store := &failingStore{}
	s := newStack(t, stackOptions{server: func(cfg *server.Config) {
		cfg.RateLimit = "1000-M"
		cfg.RateLimitStore = store
	}})
	start := time.Now()
	for range 50 {
		requireOK(t, s.do(t, http.MethodGet, "/api/v1/sources", nil), http.StatusOK, nil)
	}
	elapsed := time.Since(start)
	// One call at start, then at most one per second of the run.
	if n, most := store.calls.Load(), int64(2+elapsed/time.Second); n > most {
		t.Errorf("the failing store was called %d times in %v, want at most %d", n, elapsed, most)
	}
	if n := fallbacks(t, s); n != 50 {
		t.Errorf("fallbacks = %d, want 50", n)
	}
}
