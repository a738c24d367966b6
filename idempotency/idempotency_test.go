package idempotency_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarryhq/quarry/idempotency"
	"github.com/quarryhq/quarry/storage"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newService(t *testing.T) (*idempotency.Service, *clock) {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, storage.Config{Path: filepath.Join(t.TempDir(), "quarry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c := &clock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	s, err := idempotency.New(idempotency.Config{DB: db, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestLifecycle(t *testing.T) {
	s, clk := newService(t)
	ctx := context.Background()
	req := idempotency.Request{Scope: "default/", Key: "k-1", Operation: "upload", Fingerprint: "f1"}

	res, stored, err := s.Begin(ctx, req)
	if err != nil || res == nil || stored != nil {
		t.Fatalf("first Begin = %v, %v, %v; want a reservation", res, stored, err)
	}
	if _, _, err := s.Begin(ctx, req); !errors.Is(err, idempotency.ErrInProgress) {
		t.Fatalf("Begin while in progress: err = %v, want ErrInProgress", err)
	}
	if err := res.Complete(ctx, idempotency.Response{Status: 201, Location: "/x", Body: []byte(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	_, stored, err = s.Begin(ctx, req)
	if err != nil || stored == nil || stored.Status != 201 || stored.Location != "/x" || string(stored.Body) != `{"a":1}` {
		t.Fatalf("replay = %+v, %v", stored, err)
	}
	for _, other := range []idempotency.Request{
		{Scope: req.Scope, Key: req.Key, Operation: "upload", Fingerprint: "f2"},
		{Scope: req.Scope, Key: req.Key, Operation: "download", Fingerprint: "f1"},
	} {
		if _, _, err := s.Begin(ctx, other); !errors.Is(err, idempotency.ErrMismatch) {
			t.Errorf("Begin(%+v): err = %v, want ErrMismatch", other, err)
		}
	}
	// Another caller's key of the same name is another key.
	if res, _, err := s.Begin(ctx, idempotency.Request{Scope: "other/", Key: req.Key, Operation: "upload", Fingerprint: "f1"}); err != nil || res == nil {
		t.Errorf("another scope: %v, %v", res, err)
	}
	// After the TTL the key is new again.
	clk.Add(idempotency.DefaultTTL + time.Second)
	if res, stored, err := s.Begin(ctx, idempotency.Request{Scope: req.Scope, Key: req.Key, Operation: "upload", Fingerprint: "f2"}); err != nil || res == nil || stored != nil {
		t.Errorf("after the TTL: %v, %v, %v; want a new reservation", res, stored, err)
	}
}

func TestReleaseAndStale(t *testing.T) {
	s, clk := newService(t)
	ctx := context.Background()
	req := idempotency.Request{Scope: "t/u", Key: "retry-me", Operation: "upload", Fingerprint: "f"}
	res, _, err := s.Begin(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Release(ctx); err != nil {
		t.Fatal(err)
	}
	res, _, err = s.Begin(ctx, req)
	if err != nil || res == nil {
		t.Fatalf("after Release: %v, %v; want a new reservation", res, err)
	}
	// A reservation never completed (its process died) blocks the key
	// for StaleAfter, then is taken over.
	clk.Add(idempotency.DefaultStaleAfter - time.Second)
	if _, _, err := s.Begin(ctx, req); !errors.Is(err, idempotency.ErrInProgress) {
		t.Fatalf("before StaleAfter: %v", err)
	}
	clk.Add(2 * time.Second)
	again, _, err := s.Begin(ctx, req)
	if err != nil || again == nil {
		t.Fatalf("after StaleAfter: %v, %v", again, err)
	}
	// The old reservation cannot complete the new one's key.
	if err := res.Complete(ctx, idempotency.Response{Status: 201, Body: []byte("old")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Begin(ctx, req); !errors.Is(err, idempotency.ErrInProgress) {
		t.Errorf("the stale reservation completed the new one: %v", err)
	}
	// A response too large to keep releases the key.
	if err := again.Complete(ctx, idempotency.Response{Status: 201, Body: make([]byte, idempotency.MaxResponseBytes+1)}); err != nil {
		t.Fatal(err)
	}
	if res, _, err := s.Begin(ctx, req); err != nil || res == nil {
		t.Errorf("after an oversized response: %v, %v; want the key free", res, err)
	}
}

func TestInvalidKeys(t *testing.T) {
	s, _ := newService(t)
	for _, k := range []string{"", strings.Repeat("k", idempotency.MaxKeyLen+1), "tab\there", "é", "nul\x00"} {
		if _, _, err := s.Begin(context.Background(), idempotency.Request{Scope: "s", Key: k, Operation: "o", Fingerprint: "f"}); !errors.Is(err, idempotency.ErrInvalidKey) {
			t.Errorf("key %q: err = %v, want ErrInvalidKey", k, err)
		}
	}
	if !idempotency.ValidKey("b3c1e0b2-4f5d-4c8e-9a1f-2d3e4f5a6b7c") {
		t.Error("a UUID is refused")
	}
}

// TestConcurrentBegin: of many concurrent first uses of one key, exactly
// one gets the reservation; the others are told it is in progress.
func TestConcurrentBegin(t *testing.T) {
	s, _ := newService(t)
	req := idempotency.Request{Scope: "s", Key: "race", Operation: "upload", Fingerprint: "f"}
	var won, busy atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			res, _, err := s.Begin(context.Background(), req)
			switch {
			case err == nil && res != nil:
				won.Add(1)
			case errors.Is(err, idempotency.ErrInProgress):
				busy.Add(1)
			default:
				t.Errorf("Begin: %v", err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 || busy.Load() != 19 {
		t.Errorf("%d reservations and %d in progress, want 1 and 19", won.Load(), busy.Load())
	}
}
