package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"hash"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/quarryhq/quarry/storage"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var testSecret = []byte("0123456789abcdef0123456789abcdef-test-secret")

const testKID = "test"

func testKeys() KeySet { return KeySet{Current: testKID, Keys: map[string][]byte{testKID: testSecret}} }

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recAuditor records events.
type recAuditor struct {
	mu     sync.Mutex
	events []AuditEvent
}

func (a *recAuditor) Record(_ context.Context, e AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
	return nil
}

func (a *recAuditor) byAction(action string) []AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []AuditEvent
	for _, e := range a.events {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

type env struct {
	svc   *Service
	db    *storage.DB
	clock *fakeClock
	audit *recAuditor
	ctx   context.Context
}

func newEnv(t testing.TB, mod func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, storage.Config{Path: filepath.Join(t.TempDir(), "quarry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	aud := &recAuditor{}
	cfg := Config{DB: db, Keys: testKeys(), Auditor: aud, Now: clock.Now}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, db: db, clock: clock, audit: aud, ctx: ctx}
}

const testPassword = "correct horse battery staple"

// user creates a user in tenant (created if needed).
func (e *env) user(t testing.TB, tenant, email string, role Role) *User {
	t.Helper()
	if _, err := e.svc.EnsureTenant(e.ctx, tenant, ""); err != nil {
		t.Fatal(err)
	}
	u, err := e.svc.CreateUser(e.ctx, tenant, email, testPassword, role)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) login(t testing.TB, email string) *TokenPair {
	t.Helper()
	p, _, err := e.svc.Login(e.ctx, email, testPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var b64 = base64.RawURLEncoding

// decodePart decodes a JWT segment as JSON.
func decodePart(t testing.TB, seg string) map[string]any {
	t.Helper()
	b, err := b64.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// split returns the header and claims of a token.
func split(t testing.TB, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	return decodePart(t, parts[0]), decodePart(t, parts[1])
}

// forge builds a JWT from header and claims, signed by HMAC with key using
// the hash of alg (HS256, HS384 or HS512); any other alg gets sig as its
// signature.
func forge(header, claims map[string]any, key []byte, sig string) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	signing := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	var mac func() hash.Hash
	switch header["alg"] {
	case "HS256":
		mac = sha256.New
	case "HS512":
		mac = sha512.New
	}
	if mac != nil && key != nil {
		m := hmac.New(mac, key)
		m.Write([]byte(signing))
		sig = b64.EncodeToString(m.Sum(nil))
	}
	return signing + "." + sig
}

// resign re-signs token with header and claims changed by edit.
func resign(t testing.TB, token string, edit func(h, c map[string]any)) string {
	t.Helper()
	h, c := split(t, token)
	edit(h, c)
	return forge(h, c, testSecret, "")
}

// hmacOK reports whether sig is the HS256 of signing under testSecret.
func hmacOK(signing, sig string) bool {
	m := hmac.New(sha256.New, testSecret)
	m.Write([]byte(signing))
	got, err := b64.DecodeString(sig)
	return err == nil && hmac.Equal(got, m.Sum(nil))
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
