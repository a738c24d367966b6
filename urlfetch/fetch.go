package urlfetch

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults applied by [New] to zero Config fields.
const (
	DefaultMaxBytes               = 50 << 20 // 50 MiB
	DefaultMaxRedirects           = 3
	DefaultConnectTimeout         = 10 * time.Second
	DefaultTLSHandshakeTimeout    = 10 * time.Second
	DefaultResponseHeaderTimeout  = 10 * time.Second
	DefaultTotalTimeout           = 30 * time.Second
	DefaultMaxResponseHeaderBytes = 64 << 10 // 64 KiB
	DefaultMaxConcurrent          = 10
	DefaultUserAgent              = "Quarry/1 (+https://github.com/quarryhq/quarry)"
)

var discardLogger = slog.New(slog.DiscardHandler)

// Config configures a [Fetcher]. The zero value is usable: every zero field
// takes the default named in its comment.
type Config struct {
	// AllowCIDRs exempts addresses from the range check (not from the port
	// check): intranets, or 127.0.0.2/32 in tests. Parse an environment
	// variable with [ParseAllowCIDRs]. Default: none.
	AllowCIDRs []netip.Prefix

	// AllowPorts lists the only ports that may be dialed. It replaces the
	// default {80, 443}; it does not add to it.
	AllowPorts []int

	// MaxBytes caps the body after decompression. Default 50 MiB.
	MaxBytes int64

	// MaxRedirects is the number of redirects followed. Default 3; set -1
	// to follow none (a redirect response is then ErrFetchFailed).
	MaxRedirects int

	// ConnectTimeout bounds each TCP connect. Default 10s.
	ConnectTimeout time.Duration
	// TLSHandshakeTimeout bounds each TLS handshake. Default 10s.
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for response headers after the
	// request is written. Default 10s.
	ResponseHeaderTimeout time.Duration
	// TotalTimeout bounds the whole fetch from the moment a concurrency
	// slot is acquired: DNS, connects, redirects and reading the body. After
	// it, Body reads fail with ErrTimeout. Default 30s.
	TotalTimeout time.Duration

	// MaxResponseHeaderBytes caps the response header block. Default 64 KiB.
	MaxResponseHeaderBytes int64

	// MaxConcurrent is the number of fetches in flight per Fetcher (a slot
	// is held until Body.Close); more wait, bounded by their ctx. Default 10.
	MaxConcurrent int

	// UserAgent is sent with every request.
	// Default "Quarry/1 (+https://github.com/quarryhq/quarry)".
	UserAgent string

	// Logger receives debug records (refused dials, fetch outcomes).
	// Default: discard.
	Logger *slog.Logger

	// Resolver resolves host names at dial time (tests use a stub DNS).
	// Default net.DefaultResolver.
	Resolver *net.Resolver
}

func (c Config) withDefaults() Config {
	if len(c.AllowPorts) == 0 {
		c.AllowPorts = defaultPorts
	}
	c.MaxBytes = cmp.Or(c.MaxBytes, DefaultMaxBytes)
	c.MaxRedirects = cmp.Or(c.MaxRedirects, DefaultMaxRedirects)
	c.ConnectTimeout = cmp.Or(c.ConnectTimeout, DefaultConnectTimeout)
	c.TLSHandshakeTimeout = cmp.Or(c.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout)
	c.ResponseHeaderTimeout = cmp.Or(c.ResponseHeaderTimeout, DefaultResponseHeaderTimeout)
	c.TotalTimeout = cmp.Or(c.TotalTimeout, DefaultTotalTimeout)
	c.MaxResponseHeaderBytes = cmp.Or(c.MaxResponseHeaderBytes, DefaultMaxResponseHeaderBytes)
	c.MaxConcurrent = cmp.Or(c.MaxConcurrent, DefaultMaxConcurrent)
	c.UserAgent = cmp.Or(c.UserAgent, DefaultUserAgent)
	if c.Logger == nil {
		c.Logger = discardLogger
	}
	if c.Resolver == nil {
		c.Resolver = net.DefaultResolver
	}
	return c
}

func (c Config) validate() error {
	for i, p := range c.AllowCIDRs {
		if !p.IsValid() {
			return fmt.Errorf("urlfetch: Config.AllowCIDRs[%d]: invalid prefix", i)
		}
		if p.Addr().Zone() != "" {
			return fmt.Errorf("urlfetch: Config.AllowCIDRs[%d]: zones are not allowed", i)
		}
	}
	for i, p := range c.AllowPorts {
		if p < 1 || p > 65535 {
			return fmt.Errorf("urlfetch: Config.AllowPorts[%d]: %d out of range 1-65535", i, p)
		}
	}
	switch {
	case c.MaxBytes < 0:
		return fmt.Errorf("urlfetch: Config.MaxBytes: %d is negative", c.MaxBytes)
	case c.MaxRedirects < -1:
		return fmt.Errorf("urlfetch: Config.MaxRedirects: %d is below -1", c.MaxRedirects)
	case c.ConnectTimeout < 0:
		return fmt.Errorf("urlfetch: Config.ConnectTimeout: %v is negative", c.ConnectTimeout)
	case c.TLSHandshakeTimeout < 0:
		return fmt.Errorf("urlfetch: Config.TLSHandshakeTimeout: %v is negative", c.TLSHandshakeTimeout)
	case c.ResponseHeaderTimeout < 0:
		return fmt.Errorf("urlfetch: Config.ResponseHeaderTimeout: %v is negative", c.ResponseHeaderTimeout)
	case c.TotalTimeout < 0:
		return fmt.Errorf("urlfetch: Config.TotalTimeout: %v is negative", c.TotalTimeout)
	case c.MaxResponseHeaderBytes < 0:
		return fmt.Errorf("urlfetch: Config.MaxResponseHeaderBytes: %d is negative", c.MaxResponseHeaderBytes)
	case c.MaxConcurrent < 0:
		return fmt.Errorf("urlfetch: Config.MaxConcurrent: %d is negative", c.MaxConcurrent)
	case strings.ContainsAny(c.UserAgent, "\r\n"):
		return errors.New("urlfetch: Config.UserAgent: contains a line break")
	}
	return nil
}

// Fetcher fetches user-given URLs under the SSRF policy of its Config. It
// is safe for concurrent use. Create it with [New].
type Fetcher struct {
	cfg          Config
	allow        []netip.Prefix
	ports        []int
	maxRedirects int
	logger       *slog.Logger
	sem          chan struct{}
	transport    *http.Transport
	client       *http.Client

	// testDialHook, set only by tests, runs after CheckAddr passes. Tests
	// use it as a second fence so that even a broken guard cannot send
	// traffic off the machine.
	testDialHook func(network, address string) error
}

// New returns a Fetcher for cfg after applying defaults and validating it;
// errors name the offending field.
func New(cfg Config) (*Fetcher, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	f := &Fetcher{
		cfg:          cfg,
		ports:        append([]int(nil), cfg.AllowPorts...),
		maxRedirects: cfg.MaxRedirects,
		logger:       cfg.Logger,
		sem:          make(chan struct{}, cfg.MaxConcurrent),
	}
	for _, p := range cfg.AllowCIDRs {
		f.allow = append(f.allow, canonicalPrefix(p))
	}
	dialer := &net.Dialer{
		Timeout:   cfg.ConnectTimeout,
		KeepAlive: 30 * time.Second,
		Resolver:  cfg.Resolver,
		// Control runs after name resolution, once per address tried, just
		// before connect(2): the only place that sees the address actually
		// dialed (defeats DNS rebinding, IPv4-mapped and numeric spellings).
		Control: func(network, address string, _ syscall.RawConn) error {
			if err := f.CheckAddr(network, address); err != nil {
				return err
			}
			if f.testDialHook != nil {
				return f.testDialHook(network, address)
			}
			return nil
		},
	}
	f.transport = &http.Transport{
		Proxy:                  nil, // never from HTTP_PROXY / HTTPS_PROXY
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    cfg.TLSHandshakeTimeout,
		ResponseHeaderTimeout:  cfg.ResponseHeaderTimeout,
		MaxResponseHeaderBytes: cfg.MaxResponseHeaderBytes,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           32,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        30 * time.Second,
		// Compression stays enabled: the transport asks for gzip and
		// decodes it transparently; the byte cap counts decoded bytes.
		DisableCompression: false,
	}
	f.client = &http.Client{
		Transport:     f.transport,
		CheckRedirect: f.checkRedirect,
	}
	return f, nil
}

// CloseIdleConnections closes pooled keep-alive connections. Call it when
// the Fetcher is no longer needed.
func (f *Fetcher) CloseIdleConnections() {
	f.transport.CloseIdleConnections()
}

// Response is a successful (2xx) fetch. The caller must Close Body, which
// also frees the Fetcher's concurrency slot.
type Response struct {
	// Body is capped: reading past MaxBytes returns an error wrapping
	// ErrTooLarge; reading after TotalTimeout returns one wrapping
	// ErrTimeout. Gzip content encoding has already been removed.
	Body io.ReadCloser
	// URL is the final URL after redirects.
	URL *url.URL
	// ContentType is the Content-Type as declared by the server.
	ContentType string
	// Filename comes from Content-Disposition, else the last path segment
	// of URL; sanitized (no path separators or control characters, at most
	// 255 bytes). May be "".
	Filename string
	// ContentLength is the declared length, or -1 if unknown (always -1
	// when the transport decompressed gzip).
	ContentLength int64
}

// Fetch GETs rawURL under the Fetcher's policy and returns the response
// with its body still unread. It waits for a concurrency slot first
// (bounded by ctx); TotalTimeout starts once the slot is held.
//
// Errors match one of the sentinels with errors.Is: ErrInvalidURL,
// ErrForbidden, ErrFetchFailed (status >= 400 gives an *Error with
// StatusCode), ErrTimeout, ErrTooLarge; or context.Canceled if ctx was
// canceled.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (*Response, error) {
	u, err := f.validate(rawURL)
	if err != nil {
		f.logger.DebugContext(ctx, "urlfetch: URL refused", "err", err)
		return nil, err
	}

	select {
	case f.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctxError(ctx, "waiting for a fetch slot")
	}
	var released atomic.Bool
	release := func() {
		if released.CompareAndSwap(false, true) {
			<-f.sem
		}
	}

	tctx, cancel := context.WithTimeout(ctx, f.cfg.TotalTimeout)
	fail := func(err error) (*Response, error) {
		cancel()
		release()
		f.logger.DebugContext(ctx, "urlfetch: fetch failed", "host", u.Host, "err", err)
		return nil, err
	}

	req, err := http.NewRequestWithContext(tctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fail(newError(ErrInvalidURL, "building request", err))
	}
	req.Header.Set("User-Agent", f.cfg.UserAgent)
	req.Header.Set("Accept", "*/*")

	resp, err := f.client.Do(req)
	if err != nil {
		return fail(f.classify(ctx, tctx, err))
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body.Close()
		kindDetail := "upstream status " + resp.Status
		if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
			kindDetail = "redirect not followed: upstream status " + resp.Status
		}
		e := newError(ErrFetchFailed, kindDetail, nil)
		e.StatusCode = resp.StatusCode
		return fail(e)
	}
	if ce := strings.TrimSpace(resp.Header.Get("Content-Encoding")); ce != "" && !strings.EqualFold(ce, "identity") {
		resp.Body.Close()
		return fail(newError(ErrFetchFailed, "unsupported Content-Encoding "+strconv.Quote(ce), nil))
	}
	if resp.ContentLength > f.cfg.MaxBytes {
		resp.Body.Close()
		return fail(newError(ErrTooLarge, fmt.Sprintf("Content-Length %d over limit %d", resp.ContentLength, f.cfg.MaxBytes), nil))
	}

	final := resp.Request.URL
	f.logger.DebugContext(ctx, "urlfetch: fetched", "host", final.Host, "status", resp.StatusCode)
	return &Response{
		Body: &cappedBody{
			rc:      resp.Body,
			f:       f,
			ctx:     ctx,
			tctx:    tctx,
			cancel:  cancel,
			release: release,
			max:     f.cfg.MaxBytes,
		},
		URL:           final,
		ContentType:   resp.Header.Get("Content-Type"),
		Filename:      responseFilename(resp.Header.Get("Content-Disposition"), final),
		ContentLength: resp.ContentLength,
	}, nil
}

// checkRedirect is the http.Client CheckRedirect hook: it caps the number
// of hops and re-validates every hop's URL. The dial guard re-checks the
// hop's addresses.
func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if f.maxRedirects < 0 || len(via) > f.maxRedirects {
		return newError(ErrFetchFailed, fmt.Sprintf("too many redirects (limit %d)", max(f.maxRedirects, 0)), nil)
	}
	u, err := f.validateParsed(req.URL)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Detail = "redirect: " + e.Detail
			// A malformed target (say http://2130706433/) is the upstream
			// steering us somewhere odd, not a mistake in the user's URL.
			if e.Kind == ErrInvalidURL {
				e.Kind = ErrForbidden
			}
		}
		return err
	}
	if prev := via[len(via)-1]; prev.URL.Scheme == "https" && u.Scheme == "http" {
		return newError(ErrForbidden, "redirect: https to http downgrade", nil)
	}
	req.Header.Del("Referer") // do not leak the previous URL to the next host
	return nil
}

// classify maps a transport/client error to one of the sentinels.
func (f *Fetcher) classify(ctx, tctx context.Context, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if ctx.Err() != nil {
		return ctxError(ctx, "")
	}
	if tctx.Err() != nil {
		return newError(ErrTimeout, "total timeout "+f.cfg.TotalTimeout.String()+" exceeded", nil)
	}
	cause := unwrapURLError(err)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return newError(ErrTimeout, "", cause)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return newError(ErrFetchFailed, "DNS lookup failed", cause)
	}
	if strings.Contains(err.Error(), "server response headers exceeded") {
		return newError(ErrFetchFailed, "response headers too large", cause)
	}
	return newError(ErrFetchFailed, "", cause)
}

// ctxError reports the end of the caller's ctx: a deadline is ErrTimeout,
// a cancellation is returned as context.Canceled (wrapped).
func ctxError(ctx context.Context, what string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return newError(ErrTimeout, cmp.Or(what, "context deadline exceeded"), ctx.Err())
	}
	if what != "" {
		return fmt.Errorf("urlfetch: %s: %w", what, context.Cause(ctx))
	}
	return fmt.Errorf("urlfetch: %w", context.Cause(ctx))
}

// cappedBody counts decoded bytes, enforces MaxBytes, maps read errors to
// the sentinels, and on Close cancels the total deadline and frees the
// concurrency slot.
type cappedBody struct {
	rc      io.ReadCloser
	f       *Fetcher
	ctx     context.Context // caller's
	tctx    context.Context // with TotalTimeout
	cancel  context.CancelFunc
	release func()
	max     int64

	n      int64
	err    error // sticky
	closed atomic.Bool
	once   sync.Once
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.closed.Load() {
		return 0, newError(ErrFetchFailed, "read on closed body", nil)
	}
	// Ask for at most one byte past the cap, to detect overflow.
	if rem := b.max - b.n; int64(len(p)) > rem+1 {
		p = p[:rem+1]
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		n -= int(b.n - b.max)
		b.n = b.max
		b.err = newError(ErrTooLarge, fmt.Sprintf("body over limit %d bytes", b.max), nil)
		return n, b.err
	}
	if err != nil && err != io.EOF {
		b.err = b.mapErr(err)
		return n, b.err
	}
	return n, err
}

func (b *cappedBody) mapErr(err error) error {
	if b.closed.Load() {
		return newError(ErrFetchFailed, "read on closed body", nil)
	}
	if b.ctx.Err() != nil {
		return ctxError(b.ctx, "reading body")
	}
	if b.tctx.Err() != nil {
		return newError(ErrTimeout, "total timeout "+b.f.cfg.TotalTimeout.String()+" exceeded while reading body", nil)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return newError(ErrTimeout, "reading body", err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return newError(ErrFetchFailed, "body ended early", err)
	}
	return newError(ErrFetchFailed, "reading body", err)
}

func (b *cappedBody) Close() error {
	var err error
	b.once.Do(func() {
		b.closed.Store(true)
		err = b.rc.Close()
		b.cancel()
		b.release()
	})
	return err
}

var _ io.ReadCloser = (*cappedBody)(nil)
