package server_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"github.com/quarryhq/quarry/assist"
	"github.com/quarryhq/quarry/extract/isolate"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarryhq/quarry/audit"
	"github.com/quarryhq/quarry/auth"
	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/standard"
	"github.com/quarryhq/quarry/flags"
	"github.com/quarryhq/quarry/idempotency"
	"github.com/quarryhq/quarry/projects"
	"github.com/quarryhq/quarry/server"
	"github.com/quarryhq/quarry/sources"
	"github.com/quarryhq/quarry/storage"
	"github.com/quarryhq/quarry/urlfetch"
)

// stack is a whole Quarry server on loopback over a temp-file SQLite
// database and a temp blob directory: the real parts, end to end.
type stack struct {
	auth   *auth.Service
	audit  *audit.Recorder
	flags  *flags.Service
	srv    *server.Server
	http   *httptest.Server
	db     *storage.DB
	blobs  *storage.LocalBlobs
	logBuf *syncBuffer
	// dir is the data directory: the SQLite file, blobs and the JWT key
	// file.
	dir string
	// pool runs the parsers when stackOptions.isolated; nil otherwise.
	pool *isolate.Pool
	// projects and sources are the services behind the server.
	projects *projects.Service
	sources  *sources.Service
}

type stackOptions struct {
	registry       *extract.Registry
	extractTimeout time.Duration
	maxUpload      int64
	fetch          urlfetch.Config
	server         func(*server.Config)
	// authNow, when set, is the auth service's clock (auth.Config.Now).
	authNow func() time.Time
	// dataDir, when set, is used instead of a new temp dir, so that a
	// second stack can reopen the data of a first one (a restart).
	dataDir string
	// isolated runs the parsers in worker processes (this test binary,
	// see TestMain), as `quarry serve` does by default.
	isolated bool
	// assistProvider answers /ai-assist (default: the extractive one).
	assistProvider assist.Provider
}

func (o stackOptions) assistService(t testing.TB, log *slog.Logger) *assist.Service {
	p := o.assistProvider
	if p == nil {
		p = assist.Extractive{}
	}
	svc, err := assist.New(assist.Config{Provider: p, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// syncBuffer collects the server's log lines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newStack(t testing.TB, o stackOptions) *stack {
	t.Helper()
	ctx := context.Background()
	dir := o.dataDir
	if dir == "" {
		dir = t.TempDir()
	}
	logBuf := newSyncBuffer()
	log := slog.New(slog.NewJSONHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db, err := storage.Open(ctx, storage.Config{Path: filepath.Join(dir, "quarry.db"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	blobs, err := storage.NewLocalBlobs(filepath.Join(dir, "blobs"), log)
	if err != nil {
		t.Fatal(err)
	}
	reg := o.registry
	if reg == nil {
		reg = standard.NewRegistry()
	}
	ex, err := extract.New(reg, extract.Config{Timeout: o.extractTimeout, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if o.fetch.MaxBytes == 0 {
		o.fetch.MaxBytes = o.maxUpload
	}
	o.fetch.Logger = log
	fetcher, err := urlfetch.New(o.fetch)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := audit.New(audit.Config{DB: db, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.LoadKeySet(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	authSvc, err := auth.New(auth.Config{DB: db, Keys: keys, Auditor: server.AuthAuditor(rec), Logger: log, Now: o.authNow})
	if err != nil {
		t.Fatal(err)
	}
	flagSvc, err := flags.New(flags.Config{DB: db, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	var engine sources.Extractor = ex
	var pool *isolate.Pool
	if o.isolated {
		pool, err = isolate.New(isolate.Config{Extractor: ex, Workers: 2, Timeout: cmp.Or(o.extractTimeout, extract.DefaultTimeout), Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pool.Close(context.Background()) })
		engine = pool
	}
	svc, err := sources.New(sources.Config{DB: db, Blobs: blobs, Extractor: engine, Fetcher: fetcher, MaxBytes: o.maxUpload, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	// The general rate limit is off unless a test turns it on: many tests
	// send hundreds of requests from one address.
	cfg := server.Config{Version: "test", Logger: log, MaxUploadBytes: o.maxUpload, RateLimit: server.RateLimitOff}
	if o.server != nil {
		o.server(&cfg)
	}
	idem, err := idempotency.New(idempotency.Config{DB: db, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	projectSvc, err := projects.New(projects.Config{DB: db, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(cfg,
		server.Deps{Sources: svc, Extractor: ex, Checks: map[string]server.Pinger{"db": db, "storage": blobs},
			Auth: authSvc, Audit: rec, Flags: flagSvc, Assist: o.assistService(t, log), Idempotency: idem, Projects: projectSvc})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &stack{srv: srv, http: hs, db: db, blobs: blobs, logBuf: logBuf, auth: authSvc, audit: rec, flags: flagSvc, dir: dir, pool: pool,
		projects: projectSvc, sources: svc}
}

// testPassword is long enough for the password policy.
const testPassword = "correct horse battery staple"

// user creates a user of role in tenant (created when new) and returns it.
func (s *stack) user(t testing.TB, tenantID string, role auth.Role) *auth.User {
	t.Helper()
	ctx := context.Background()
	if _, err := s.auth.EnsureTenant(ctx, tenantID, tenantID); err != nil {
		t.Fatal(err)
	}
	u, err := s.auth.CreateUser(ctx, tenantID, fmt.Sprintf("%s-%d@example.org", role, userSeq.Add(1)), testPassword, role)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

var userSeq atomic.Int64

// login logs u in over HTTP and returns its token pair.
func (s *stack) login(t *testing.T, u *auth.User) server.TokenPair {
	t.Helper()
	var pair server.TokenPair
	r := s.postJSON(t, "/api/v1/auth/login", map[string]any{"email": u.Email, "password": testPassword})
	requireOK(t, r, http.StatusOK, &pair)
	return pair
}

// bearer returns the Authorization header pair for a new user of role in
// the default tenant.
func (s *stack) bearer(t *testing.T, role auth.Role) []string {
	t.Helper()
	return []string{"Authorization", "Bearer " + s.login(t, s.user(t, auth.DefaultTenantID, role)).AccessToken}
}

// envelope is the decoded response body.
type envelope struct {
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data"`
	Error   *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"details"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

type response struct {
	status int
	header http.Header
	body   []byte
	env    envelope
}

func (s *stack) do(t *testing.T, method, path string, body io.Reader, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, s.http.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: b}
	if len(b) > 0 && resp.Header.Get("Content-Type") != "" && bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		if err := json.Unmarshal(b, &r.env); err != nil {
			t.Fatalf("%s %s: body is not an envelope: %v\n%s", method, path, err, b)
		}
	}
	return r
}

func (s *stack) postJSON(t *testing.T, path string, v any) response {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return s.do(t, http.MethodPost, path, bytes.NewReader(b), "Content-Type", "application/json")
}

// upload posts content as the multipart file part.
func (s *stack) upload(t *testing.T, filename string, content []byte, extra ...string) response {
	t.Helper()
	body, ctype := multipartBody(t, filename, content, extra...)
	return s.do(t, http.MethodPost, "/api/v1/upload", bytes.NewReader(body), "Content-Type", ctype)
}

func multipartBody(t *testing.T, filename string, content []byte, extra ...string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(extra); i += 2 {
		if err := mw.WriteField(extra[i], extra[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

// requireError checks an error envelope: status, code, the request id
// matching its header, and no success data.
func requireError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if r.env.Success || r.env.Error == nil {
		t.Fatalf("want an error envelope, got %s", r.body)
	}
	if r.env.Error.Code != code {
		t.Fatalf("code = %q, want %q; body %s", r.env.Error.Code, code, r.body)
	}
	if string(r.env.Data) != "null" {
		t.Fatalf("data = %s, want null", r.env.Data)
	}
	requireRequestID(t, r)
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" && ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
}

func requireRequestID(t *testing.T, r response) {
	t.Helper()
	if r.env.RequestID == "" || r.env.RequestID != r.header.Get("X-Request-Id") {
		t.Fatalf("request_id %q does not match X-Request-Id %q", r.env.RequestID, r.header.Get("X-Request-Id"))
	}
}

func requireOK(t *testing.T, r response, status int, data any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if !r.env.Success || r.env.Error != nil {
		t.Fatalf("want a success envelope, got %s", r.body)
	}
	requireRequestID(t, r)
	if data != nil {
		if err := json.Unmarshal(r.env.Data, data); err != nil {
			t.Fatalf("data: %v\n%s", err, r.env.Data)
		}
	}
}

// fixture serves h on 127.0.0.2, an address the fetcher reaches only
// because the test allows it; the canary on 127.0.0.1 stays refused.
func fixture(t *testing.T, h http.Handler) (*httptest.Server, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	hs := httptest.NewUnstartedServer(h)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	t.Cleanup(hs.Close)
	port, _ := strconv.Atoi(hs.URL[len("http://127.0.0.2:"):])
	return hs, port
}

// canary counts every request it sees; every SSRF test ends with zero.
func canary(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("canary"))
	}))
	t.Cleanup(func() {
		hs.Close()
		if n := hits.Load(); n != 0 {
			t.Errorf("the canary was reached %d times", n)
		}
	})
	return hs, &hits
}

func allow127002(port int) urlfetch.Config {
	return urlfetch.Config{
		AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
		AllowPorts: []int{80, 443, port},
	}
}
