package urlfetch

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var gzipBomb = sync.OnceValue(func() []byte {
	// 16 MiB of zeros compresses to ~16 KiB: far over the tests' 1 MiB cap
	// once decoded, far under it on the wire.
	return gzipBytes(make([]byte, 16<<20))
})

func gzipBytes(p []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(p)
	zw.Close()
	return buf.Bytes()
}

// fetchAll fetches and reads the whole body, returning the first error.
func fetchAll(ctx context.Context, f *Fetcher, u string) (*Response, []byte, error) {
	resp, err := f.Fetch(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestFetchOK(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	f := e.fetcher(t, nil)
	ctx := t.Context()

	resp, body, err := fetchAll(ctx, f, e.furl("/ok"))
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != "hello" || resp.ContentType != "text/plain; charset=utf-8" || resp.ContentLength != 5 {
		t.Errorf("got body %q, type %q, length %d", body, resp.ContentType, resp.ContentLength)
	}
	if resp.Filename != "ok" || resp.URL.String() != e.furl("/ok") {
		t.Errorf("got filename %q, URL %s", resp.Filename, resp.URL)
	}

	// HTTPS (HTTP/2) fixture.
	_, body, err = fetchAll(ctx, f, e.turl("/files/report.pdf"))
	if err != nil || string(body) != "%PDF-1.4" {
		t.Errorf("https: %q, %v", body, err)
	}

	// A name resolved by the stub DNS to the allowed fixture.
	_, body, err = fetchAll(ctx, f, "http://fixture.test:"+strconv.Itoa(e.fport)+"/ok")
	if err != nil || string(body) != "hello" {
		t.Errorf("fixture.test: %q, %v", body, err)
	}
}

func TestFetchFilename(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	f := e.fetcher(t, nil)
	tests := []struct{ cd, want string }{
		{`attachment; filename="report.pdf"`, "report.pdf"},
		{`attachment; filename="../../etc/passwd"`, "passwd"},
		{`attachment; filename="..\\..\\boot.ini"`, "boot.ini"},
		{`attachment; filename*=UTF-8''na%C3%AFve%E2%80%AEfdp.exe`, "naïvefdp.exe"},
		{`attachment; filename="a%00b"`, "a%00b"},
		{`attachment; filename=".."`, "disposition"},
		{`inline`, "disposition"},
		{`garbage;;;`, "disposition"},
	}
	for _, tt := range tests {
		resp, _, err := fetchAll(t.Context(), f, e.furl("/disposition?cd="+url.QueryEscape(tt.cd)))
		if err != nil {
			t.Fatalf("%s: %v", tt.cd, err)
		}
		if resp.Filename != tt.want {
			t.Errorf("Content-Disposition %s: filename %q; want %q", tt.cd, resp.Filename, tt.want)
		}
	}
}

// T27: loopback in every spelling, aimed at the canary's port.
func TestT27LoopbackSpellings(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	f := e.fetcher(t, nil)
	p := ":" + strconv.Itoa(e.canary.port)
	tests := []struct {
		url  string
		want error
	}{
		{"http://127.0.0.1" + p + "/", ErrForbidden},
		{"http://localhost" + p + "/", ErrForbidden},
		{"http://LOCALHOST." + p + "/", ErrForbidden},
		{"http://canary.test" + p + "/", ErrForbidden},
		{"http://mapped.test" + p + "/", ErrForbidden},
		{"http://127.1" + p + "/", ErrInvalidURL},
		{"http://0.0.0.0" + p + "/", ErrForbidden},
		{"http://[::1]" + p + "/", ErrForbidden},
		{"http://[::ffff:127.0.0.1]" + p + "/", ErrForbidden},
		{"http://[::ffff:7f00:1]" + p + "/", ErrForbidden},
		{"http://[0:0:0:0:0:ffff:127.0.0.1]" + p + "/", ErrForbidden},
		{"http://[::127.0.0.1]" + p + "/", ErrForbidden},
		{"http://2130706433" + p + "/", ErrInvalidURL},
		{"http://0x7f000001" + p + "/", ErrInvalidURL},
		{"http://0177.0.0.1" + p + "/", ErrInvalidURL},
		{"http://127.000.000.001" + p + "/", ErrInvalidURL},
		{"http://0x7f.0.0.1" + p + "/", ErrInvalidURL},
		{"http://%31%32%37.0.0.1" + p + "/", ErrInvalidURL},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			resp, err := f.Fetch(t.Context(), tt.url)
			if err == nil {
				resp.Body.Close()
			}
			wantKind(t, tt.url, err, tt.want)
		})
	}
}

// T28: private, metadata and special ranges through Fetch (CheckAddr is
// unit-tested in guard_test.go).
func TestT28SpecialRanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	f := e.fetcher(t, nil)
	urls := []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://metadata.google.internal/computeMetadata/v1/",
		"http://private.test/",
		"http://10.0.0.1/",
		"http://172.16.0.1/",
		"http://192.168.1.1/",
		"http://100.64.0.1/",
		"http://198.18.0.1/",
		"http://224.0.0.1/",
		"http://255.255.255.255/",
		"http://240.0.0.1/",
		"http://[fd00::1]/",
		"http://[fe80::1]/",
		"http://[fe80::1%25lo]/",
		"http://[64:ff9b::a9fe:a9fe]/",
		"http://[2002:a9fe:a9fe::]/",
		"http://[2001::a9fe:a9fe]/",
		"https://[::ffff:169.254.169.254]/",
	}
	t.Run("urls", func(t *testing.T) {
		for _, u := range urls {
			t.Run(u, func(t *testing.T) {
				t.Parallel()
				resp, err := f.Fetch(t.Context(), u)
				if err == nil {
					resp.Body.Close()
				}
				wantKind(t, u, err, ErrForbidden)
			})
		}
	})
	if n := e.dns.queries("metadata.google.internal"); n == 0 {
		t.Errorf("metadata.google.internal was never resolved through the stub")
	}
}

// T29: scheme and parser tricks through Fetch (more in validate_test.go).
func TestT29SchemeAndParser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	f := e.fetcher(t, nil)
	fp, cp := strconv.Itoa(e.fport), strconv.Itoa(e.canary.port)
	tests := []struct {
		url  string
		want error
	}{
		{"hTtP://127.0.0.1:" + cp + "/", ErrForbidden},
		{"file:///etc/passwd", ErrForbidden},
		{"gopher://127.0.0.1:" + cp + "/_GET", ErrForbidden},
		{"ftp://127.0.0.2:" + fp + "/", ErrForbidden},
		{"data:text/plain,x", ErrForbidden},
		{"jar:http://127.0.0.2:" + fp + "/a.jar!/", ErrForbidden},
		{"http://evil@127.0.0.1:" + cp + "/", ErrForbidden},
		{"http://evil@127.0.0.2:" + fp + "/ok", ErrForbidden},
		{"http://user:pass@127.0.0.2:" + fp + "/ok", ErrForbidden},
		{"http://127.0.0.1:" + cp + "#@127.0.0.2:" + fp + "/ok", ErrForbidden},
		{"http://127.0.0.2:" + fp + `\@127.0.0.1:` + cp + "/", ErrInvalidURL},
		{" http://127.0.0.2:" + fp + "/ok", ErrInvalidURL},
		{"\thttp://127.0.0.2:" + fp + "/ok", ErrInvalidURL},
		{"http://127.0.0.2:" + fp + "/ok\n", ErrInvalidURL},
		{"http://еxample.com/", ErrInvalidURL}, // Cyrillic е
		{"http://127.0.0.2:" + fp + "/" + strings.Repeat("a", 100<<10), ErrInvalidURL},
	}
	for _, tt := range tests {
		resp, err := f.Fetch(t.Context(), tt.url)
		if err == nil {
			resp.Body.Close()
		}
		wantKind(t, strconv.Quote(tt.url[:min(len(tt.url), 80)]), err, tt.want)
	}
	if n := e.hitCount("/ok"); n != 0 {
		t.Errorf("fixture /ok hit %d times by refused URLs", n)
	}

	// Upper- and mixed-case schemes are normalised and allowed.
	for _, u := range []string{"HTTP://127.0.0.2:" + fp + "/ok", "hTtP://127.0.0.2:" + fp + "/ok"} {
		resp, body, err := fetchAll(t.Context(), f, u)
		if err != nil || string(body) != "hello" || resp.URL.Scheme != "http" {
			t.Errorf("%s: %v %q", u, err, body)
		}
	}
}

// T30: redirects.
func TestT30Redirects(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	f := e.fetcher(t, nil)
	cp := strconv.Itoa(e.canary.port)
	redirect := func(base func(string) string, code int, to string) string {
		return base("/redirect?code=" + strconv.Itoa(code) + "&to=" + url.QueryEscape(to))
	}
	for _, code := range []int{301, 302, 303, 307, 308} {
		for _, to := range []string{
			e.canary.url("/"),
			"http://localhost:" + cp + "/",   // refused at dial time
			"http://canary.test:" + cp + "/", // refused at dial time
			"http://[::ffff:127.0.0.1]:" + cp + "/",
			"//127.0.0.1:" + cp + "/",                               // scheme-relative
			"http://127.0.0.2:6379/",                                // port
			"file:///etc/passwd",                                    // scheme
			"http://u:p@127.0.0.2:" + strconv.Itoa(e.fport) + "/ok", // credentials
			"http://169.254.169.254/latest/meta-data/",
			"http://2130706433:" + cp + "/", // malformed target
			"http://0x7f.1:" + cp + "/",
		} {
			u := redirect(e.furl, code, to)
			resp, err := f.Fetch(t.Context(), u)
			if err == nil {
				resp.Body.Close()
			}
			wantKind(t, strconv.Itoa(code)+" to "+to, err, ErrForbidden)
		}
	}

	// Chains between allowed fixtures: 3 hops pass, 4 and 11 do not.
	if _, body, err := fetchAll(t.Context(), f, e.furl("/chain/3")); err != nil || string(body) != "end of chain" {
		t.Errorf("chain of 3: %q, %v", body, err)
	}
	for _, n := range []int{4, 11} {
		_, _, err := fetchAll(t.Context(), f, e.furl("/chain/"+strconv.Itoa(n)))
		wantKind(t, "chain of "+strconv.Itoa(n), err, ErrFetchFailed)
		if err != nil && !strings.Contains(err.Error(), "too many redirects") {
			t.Errorf("chain of %d: %v; want too many redirects", n, err)
		}
	}

	// MaxRedirects -1 follows none.
	none := e.fetcher(t, func(c *Config) { c.MaxRedirects = -1 })
	_, _, err := fetchAll(t.Context(), none, e.furl("/chain/1"))
	wantKind(t, "MaxRedirects -1", err, ErrFetchFailed)

	// https -> http downgrade is refused; https -> https passes.
	before := e.hitCount("/ok")
	_, _, err = fetchAll(t.Context(), f, redirect(e.turl, 302, e.furl("/ok")))
	wantKind(t, "https->http", err, ErrForbidden)
	if e.hitCount("/ok") != before {
		t.Errorf("https->http downgrade reached the http fixture")
	}
	resp, body, err := fetchAll(t.Context(), f, redirect(e.turl, 307, e.turl("/ok")))
	if err != nil || string(body) != "hello" || resp.URL.String() != e.turl("/ok") {
		t.Errorf("https->https: %q, %v", body, err)
	}
	// http -> https upgrade is fine.
	if _, body, err := fetchAll(t.Context(), f, redirect(e.furl, 308, e.turl("/ok"))); err != nil || string(body) != "hello" {
		t.Errorf("http->https: %q, %v", body, err)
	}
}

// T31: DNS rebinding and mixed answers, through the stub DNS.
func TestT31DNSRebinding(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	f := e.fetcher(t, nil)
	fp := strconv.Itoa(e.fport)
	fixtureOrForbidden := func(what string, body []byte, err error) {
		t.Helper()
		if err != nil {
			wantKind(t, what, err, ErrForbidden)
		} else if string(body) != "hello" {
			t.Errorf("%s: body %q", what, body)
		}
	}

	// rebind.test answers 127.0.0.2 first, then 127.0.0.1. The name is
	// resolved once per connection, and the dialed address is the checked
	// one: first fetch reaches the fixture, the next is refused.
	u := "http://rebind.test:" + fp + "/ok"
	_, body, err := fetchAll(t.Context(), f, u)
	fixtureOrForbidden("rebind #1", body, err)
	if err != nil {
		t.Errorf("rebind #1: %v; want success against 127.0.0.2", err)
	}
	for i := 2; i <= 4; i++ {
		f.CloseIdleConnections() // force a new lookup and dial
		_, body, err = fetchAll(t.Context(), f, u)
		fixtureOrForbidden("rebind #"+strconv.Itoa(i), body, err)
		wantKind(t, "rebind #"+strconv.Itoa(i), err, ErrForbidden)
	}
	if n := e.dns.queries("rebind.test"); n < 2 {
		t.Errorf("rebind.test queried %d times; want >= 2", n)
	}

	// mixed.test answers 127.0.0.1 and 127.0.0.2: only the allowed one is
	// ever connected to.
	for i := range 5 {
		f.CloseIdleConnections()
		_, body, err := fetchAll(t.Context(), f, "http://mixed.test:"+fp+"/ok")
		fixtureOrForbidden("mixed #"+strconv.Itoa(i), body, err)
	}
}

// T32: ports.
func TestT32Ports(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	f := e.fetcher(t, nil)
	for _, tt := range []struct {
		port string
		want error
	}{
		{"22", ErrForbidden},
		{"25", ErrForbidden},
		{"6379", ErrForbidden},
		{"0", ErrInvalidURL},
		{"65536", ErrInvalidURL},
		{"99999999999999999999", ErrInvalidURL},
	} {
		u := "http://127.0.0.2:" + tt.port + "/"
		resp, err := f.Fetch(t.Context(), u)
		if err == nil {
			resp.Body.Close()
		}
		wantKind(t, u, err, tt.want)
		// Also for a name, where the port is checked again at dial time.
		u = "http://fixture.test:" + tt.port + "/"
		resp, err = f.Fetch(t.Context(), u)
		if err == nil {
			resp.Body.Close()
		}
		wantKind(t, u, err, tt.want)
	}
	// The default allow-list is 80 and 443 only.
	def, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = def.Fetch(t.Context(), e.furl("/ok"))
	wantKind(t, "default ports", err, ErrForbidden)
}

// T33: hostile responses.
func TestT33HostileResponses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const capBytes = 1 << 20
	f := e.fetcher(t, func(c *Config) { c.MaxBytes = capBytes })

	t.Run("endless body", func(t *testing.T) {
		t.Parallel()
		_, body, err := fetchAll(t.Context(), f, e.furl("/endless"))
		wantKind(t, "endless", err, ErrTooLarge)
		if len(body) != capBytes {
			t.Errorf("read %d bytes; want exactly the cap %d", len(body), capBytes)
		}
	})
	t.Run("gzip bomb", func(t *testing.T) {
		t.Parallel()
		resp, body, err := fetchAll(t.Context(), f, e.furl("/gzipbomb"))
		if resp == nil && err != nil {
			t.Fatalf("Fetch: %v (want the failure on read, after decoding)", err)
		}
		wantKind(t, "gzip bomb", err, ErrTooLarge)
		if len(body) != capBytes {
			t.Errorf("read %d bytes; want exactly the cap %d", len(body), capBytes)
		}
	})
	t.Run("gzip ok", func(t *testing.T) {
		t.Parallel()
		resp, body, err := fetchAll(t.Context(), f, e.furl("/gzipok"))
		if err != nil || string(body) != "decoded text" || resp.ContentLength != -1 {
			t.Errorf("gzip: %q, %v, length %v", body, err, resp)
		}
	})
	t.Run("unsupported encoding", func(t *testing.T) {
		t.Parallel()
		_, _, err := fetchAll(t.Context(), f, e.furl("/brotli"))
		wantKind(t, "br", err, ErrFetchFailed)
	})
	t.Run("2 MiB of headers", func(t *testing.T) {
		t.Parallel()
		_, _, err := fetchAll(t.Context(), f, e.furl("/bigheaders"))
		wantKind(t, "big headers", err, ErrFetchFailed)
	})
	t.Run("Content-Length 10, 100 MiB sent", func(t *testing.T) {
		t.Parallel()
		_, body, err := fetchAll(t.Context(), f, e.furl("/cl-small"))
		if err != nil || len(body) != 10 {
			t.Errorf("got %d bytes, %v; want the 10 declared bytes", len(body), err)
		}
	})
	t.Run("Content-Length over the cap", func(t *testing.T) {
		t.Parallel()
		resp, err := f.Fetch(t.Context(), e.furl("/cl-huge"))
		if err == nil {
			resp.Body.Close()
		}
		wantKind(t, "cl-huge", err, ErrTooLarge)
	})
	t.Run("Content-Length 100, 10 sent", func(t *testing.T) {
		t.Parallel()
		_, _, err := fetchAll(t.Context(), f, e.furl("/cl-short"))
		wantKind(t, "cl-short", err, ErrFetchFailed)
	})
	t.Run("status", func(t *testing.T) {
		t.Parallel()
		for _, code := range []int{400, 403, 404, 500, 502} {
			_, _, err := fetchAll(t.Context(), f, e.furl("/status/"+strconv.Itoa(code)))
			wantKind(t, "status", err, ErrFetchFailed)
			fe, ok := errors.AsType[*Error](err)
			if !ok || fe.StatusCode != code || !strings.Contains(err.Error(), strconv.Itoa(code)) {
				t.Errorf("status %d: %v", code, err)
			}
		}
	})
	t.Run("drip feed", func(t *testing.T) {
		t.Parallel()
		drip := e.fetcher(t, func(c *Config) { c.TotalTimeout = 1500 * time.Millisecond })
		start := time.Now()
		_, body, err := fetchAll(t.Context(), drip, e.furl("/drip"))
		wantKind(t, "drip", err, ErrTimeout)
		if d := time.Since(start); d < time.Second || d > 6*time.Second {
			t.Errorf("drip ended after %v; want about 1.5s", d)
		}
		if len(body) > 3 {
			t.Errorf("drip: read %d bytes", len(body))
		}
	})
	t.Run("slow headers", func(t *testing.T) {
		t.Parallel()
		slow := e.fetcher(t, func(c *Config) { c.ResponseHeaderTimeout = 300 * time.Millisecond })
		start := time.Now()
		_, err := slow.Fetch(t.Context(), e.furl("/slowheaders"))
		wantKind(t, "slow headers", err, ErrTimeout)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("slow headers ended after %v", d)
		}
	})
}

// T34 (a): proxy variables from the environment are ignored.
func TestT34ProxyEnvironmentIgnored(t *testing.T) {
	e := newEnv(t, nil)
	// A second, allowed proxy canary on 127.0.0.2 whose port is allowed:
	// had the transport used a proxy there, the dial guard would not have
	// stopped it, so only Proxy: nil keeps it at zero.
	proxyEnv := newEnv(t, nil)
	f := e.fetcher(t, func(c *Config) { c.AllowPorts = append(c.AllowPorts, proxyEnv.fport) })
	if f.transport.Proxy != nil {
		t.Fatal("transport has a Proxy func")
	}
	for _, tt := range []struct{ name, proxy string }{
		{"canary on 127.0.0.1", e.canary.url("")},
		{"allowed proxy canary on 127.0.0.2", proxyEnv.furl("")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"} {
				t.Setenv(k, tt.proxy)
			}
			t.Setenv("NO_PROXY", "")
			t.Setenv("no_proxy", "")
			for _, u := range []string{
				"http://fixture.test:" + strconv.Itoa(e.fport) + "/ok", // a name: not exempt from proxying
				"https://fixture.test:" + strconv.Itoa(e.tport) + "/ok",
				e.furl("/ok"),
				e.turl("/ok"),
			} {
				f.CloseIdleConnections()
				if _, body, err := fetchAll(t.Context(), f, u); err != nil || string(body) != "hello" {
					t.Errorf("%s: %q, %v", u, body, err)
				}
			}
		})
	}
	var proxyHits int64
	proxyEnv.hits.Range(func(_, v any) bool {
		proxyHits += v.(interface{ Load() int64 }).Load()
		return true
	})
	if proxyHits != 0 {
		t.Errorf("proxy canary got %d requests", proxyHits)
	}
}

// T34 (b): at most MaxConcurrent fetches in flight; the slot is held until
// Body.Close and the wait is bounded by ctx.
func TestT34Concurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const limit = 10
	f := e.fetcher(t, func(c *Config) { c.MaxConcurrent = limit })

	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			_, _, err := fetchAll(t.Context(), f, e.furl("/slow"))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	_, body, err := fetchAll(t.Context(), f, e.furl("/peak"))
	if err != nil {
		t.Fatal(err)
	}
	peak, _ := strconv.Atoi(string(body))
	if peak > limit || peak < 2 {
		t.Errorf("peak concurrent requests at the fixture = %d; want 2..%d", peak, limit)
	}
	// The fixture's handler count above is the exact bound. A connection
	// stays "active" at the fixture for a moment after the client has
	// read the whole answer and freed its slot (the server marks it idle
	// or closed after flushing), so connections may overlap the next
	// fetch's by a few; a leak of held connections would be far more.
	if peak := e.peakActiveConns(); peak > 2*limit || peak < 2 {
		t.Errorf("peak concurrently active connections at the fixture = %d; want 2..%d", peak, 2*limit)
	}
	if n := e.hitCount("/slow"); n != 50 {
		t.Errorf("fixture saw %d requests; want 50", n)
	}

	// The slot is held until Body.Close.
	one := e.fetcher(t, func(c *Config) { c.MaxConcurrent = 1 })
	held, err := one.Fetch(t.Context(), e.furl("/ok"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	_, err = one.Fetch(ctx, e.furl("/ok"))
	cancel()
	wantKind(t, "second fetch while the slot is held", err, ErrTimeout)

	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	_, err = one.Fetch(ctx, e.furl("/ok"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("canceled wait: %v; want context.Canceled", err)
	}

	held.Body.Close()
	held.Body.Close() // idempotent: must not free a second slot
	if _, body, err := fetchAll(t.Context(), one, e.furl("/ok")); err != nil || string(body) != "hello" {
		t.Errorf("after Close: %q, %v", body, err)
	}
}

func TestFetchCanceled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	f := e.fetcher(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	resp, err := f.Fetch(ctx, e.furl("/drip"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = io.ReadAll(resp.Body)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: %v; want context.Canceled", err)
	}
}

func TestFetchConnectionRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ln := listen(t, "127.0.0.2:0")
	port := ln.Addr().(interface{ String() string }).String()
	ln.Close()
	ap := netip.MustParseAddrPort(port)
	f := e.fetcher(t, func(c *Config) { c.AllowPorts = append(c.AllowPorts, int(ap.Port())) })
	_, err := f.Fetch(t.Context(), "http://"+port+"/")
	wantKind(t, "connection refused", err, ErrFetchFailed)
	_, err = f.Fetch(t.Context(), "http://nxdomain.test:"+strconv.Itoa(e.fport)+"/")
	wantKind(t, "NXDOMAIN", err, ErrFetchFailed)
}
