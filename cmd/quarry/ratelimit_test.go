package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quarryhq/quarry/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func TestRateLimitConfig(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg, _, err := loadConfig(fs, nil, env(nil))
	if err != nil || cfg.RateLimit != "300-M" || cfg.RedisURL != "" || cfg.TrustedProxies != "" {
		t.Fatalf("defaults: %+v, %v", cfg, err)
	}
	if opt, err := cfg.redisOptions(); opt != nil || err != nil {
		t.Fatalf("no QUARRY_REDIS_URL: %v, %v", opt, err)
	}

	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"QUARRY_RATE_LIMIT": "fast"}, nil, "QUARRY_RATE_LIMIT (rate_limit)"},
		{map[string]string{"QUARRY_RATE_LIMIT": "0-M"}, nil, "QUARRY_RATE_LIMIT"},
		{map[string]string{"QUARRY_RATE_LIMIT": "10-W"}, nil, "QUARRY_RATE_LIMIT"},
		{nil, []string{"--rate-limit", "300"}, "QUARRY_RATE_LIMIT"},
		{map[string]string{"QUARRY_REDIS_URL": "http://127.0.0.1:6379"}, nil, "QUARRY_REDIS_URL (redis_url)"},
		{map[string]string{"QUARRY_REDIS_URL": "redis://:s3cret@/"}, nil, "QUARRY_REDIS_URL"},
		{map[string]string{"QUARRY_REDIS_URL": "redis://:s3cret@127.0.0.1:6379/notadb"}, nil, "QUARRY_REDIS_URL"},
		{map[string]string{"QUARRY_TRUSTED_PROXIES": "10.0.0.0/8, proxy.example"}, nil, "QUARRY_TRUSTED_PROXIES (trusted_proxies)"},
		{map[string]string{"QUARRY_TRUSTED_PROXIES": "10.0.0.0/33"}, nil, "QUARRY_TRUSTED_PROXIES"},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		_, _, err := loadConfig(fs, c.args, env(c.env))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: err = %v, want it to name %s", c.env, c.args, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("the error repeats the Redis password: %v", err)
		}
	}

	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	cfg, _, err = loadConfig(fs, []string{"--rate-limit", "off"}, env(map[string]string{
		"QUARRY_REDIS_URL":       "redis://user:pw@127.0.0.1:6380/2",
		"QUARRY_TRUSTED_PROXIES": " 127.0.0.1, 10.1.2.3/8,::1 ,::ffff:192.0.2.1",
	}))
	if err != nil || cfg.RateLimit != "off" {
		t.Fatalf("valid settings: %v, %+v", err, cfg)
	}
	opt, err := cfg.redisOptions()
	if err != nil || opt.Addr != "127.0.0.1:6380" || opt.DB != 2 || opt.Username != "user" || opt.Password != "pw" ||
		opt.DialTimeout != time.Second || opt.ReadTimeout != 500*time.Millisecond || opt.MaxRetries != 1 || !opt.ContextTimeoutEnabled {
		t.Errorf("redis options: %+v, %v", opt, err)
	}
	// Timeouts in the URL win.
	cfg.RedisURL = "redis://127.0.0.1:6380?dial_timeout=3s&read_timeout=2s"
	if opt, err := cfg.redisOptions(); err != nil || opt.DialTimeout != 3*time.Second || opt.ReadTimeout != 2*time.Second {
		t.Errorf("timeouts of the URL: %+v, %v", opt, err)
	}
	got, err := cfg.trustedProxies()
	want := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("192.0.2.1/32")}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("trusted proxies = %v, %v; want %v", got, err, want)
	}
}

// getSources asks GET /api/v1/sources n times in a row and returns the
// statuses and the X-RateLimit-Reset of the first and last answers.
func getSources(t *testing.T, base string, n int) (statuses []int, firstReset, lastReset string, last []byte) {
	t.Helper()
	for i := range n {
		resp, err := http.Get(base + "/api/v1/sources")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
		if i == 0 {
			firstReset = resp.Header.Get("X-RateLimit-Reset")
		}
		lastReset, last = resp.Header.Get("X-RateLimit-Reset"), b
	}
	return statuses, firstReset, lastReset, last
}

func requireRateLimitedBody(t *testing.T, b []byte) {
	t.Helper()
	var env struct {
		Success bool
		Error   *struct{ Code string }
	}
	if err := json.Unmarshal(b, &env); err != nil || env.Success || env.Error == nil || env.Error.Code != "rate_limited" {
		t.Fatalf("429 body: %s", b)
	}
}

// TestServeRateLimit: `quarry serve` with QUARRY_RATE_LIMIT=3-S answers
// the fourth request of a second with 429 rate_limited.
func TestServeRateLimit(t *testing.T) {
	srv := startServe(t, env(map[string]string{"QUARRY_ADDR": "127.0.0.1:0", "QUARRY_DATA_DIR": t.TempDir(),
		"QUARRY_RATE_LIMIT": "3-S", "QUARRY_ISOLATION": "off"}))
	for attempt := 0; ; attempt++ {
		statuses, first, last, body := getSources(t, srv.base, 4)
		if first != last && attempt < 3 { // the one-second window ended mid-run
			time.Sleep(time.Second)
			continue
		}
		if !slices.Equal(statuses, []int{200, 200, 200, 429}) {
			t.Fatalf("statuses %v, want 3 × 200 then 429", statuses)
		}
		requireRateLimitedBody(t, body)
		break
	}
	// Health is never limited.
	for range 5 {
		resp, err := http.Get(srv.base + "/api/v1/health")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("health: %d", resp.StatusCode)
		}
	}
}

// TestServeRateLimitRedisDown: with QUARRY_REDIS_URL set and nothing
// listening there, `quarry serve` starts, warns, and limits in memory.
func TestServeRateLimitRedisDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	srv := startServe(t, env(map[string]string{"QUARRY_ADDR": "127.0.0.1:0", "QUARRY_DATA_DIR": t.TempDir(),
		"QUARRY_RATE_LIMIT": "3-M", "QUARRY_REDIS_URL": "redis://:s3cret@" + closed + "/0", "QUARRY_ISOLATION": "off"}))
	statuses, _, _, body := getSources(t, srv.base, 4)
	if !slices.Equal(statuses, []int{200, 200, 200, 429}) {
		t.Fatalf("statuses %v, want 3 × 200 then 429 (limited in memory)", statuses)
	}
	requireRateLimitedBody(t, body)
	if code := srv.stop(); code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, srv.logs.String())
	}
	logs := srv.logs.String()
	if strings.Count(logs, "rate limit store unavailable at start") != 1 || strings.Contains(logs, "s3cret") {
		t.Errorf("want one start-up warning and no password in the logs:\n%s", logs)
	}
	for line := range strings.Lines(logs) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			t.Errorf("log line is not JSON: %q", line)
		}
	}
}

// TestServeRateLimitRedis: two `quarry serve` over one Redis (a
// redis-server of this test) share each client's budget.
func TestServeRateLimitRedis(t *testing.T) {
	rs := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { c.Close() })

	e := func() func(string) string {
		return env(map[string]string{"QUARRY_ADDR": "127.0.0.1:0", "QUARRY_DATA_DIR": t.TempDir(), "QUARRY_RATE_LIMIT": "4-M",
			"QUARRY_REDIS_URL": rs.URL(), "QUARRY_ISOLATION": "off"})
	}
	a, b := startServe(t, e()), startServe(t, e())
	var statuses []int
	for i := range 6 {
		st, _, _, _ := getSources(t, []string{a.base, b.base}[i%2], 1)
		statuses = append(statuses, st...)
	}
	if !slices.Equal(statuses, []int{200, 200, 200, 200, 429, 429}) {
		t.Fatalf("statuses %v over two servers, want 4 × 200 then 429: one budget", statuses)
	}
	if n, err := c.Get(context.Background(), "quarry:ratelimit:ip:127.0.0.1").Int(); err != nil || n != 6 {
		t.Fatalf("Redis count %d, %v; want 6", n, err)
	}
}
