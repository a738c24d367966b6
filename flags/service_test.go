package flags

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
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

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
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

type env struct {
	svc   *Service
	db    *storage.DB
	clock *fakeClock
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
	clock := newClock()
	cfg := Config{DB: db, Now: clock.Now}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, db: db, clock: clock}
}

func (e *env) enabled(t testing.TB, tenant, key string) bool {
	t.Helper()
	on, err := e.svc.Enabled(context.Background(), tenant, key)
	if err != nil {
		t.Fatalf("Enabled(%q, %q): %v", tenant, key, err)
	}
	return on
}

func (e *env) set(t testing.TB, f Flag) *Flag {
	t.Helper()
	got, err := e.svc.Set(context.Background(), f, "usr_admin")
	if err != nil {
		t.Fatalf("Set(%+v): %v", f, err)
	}
	return got
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "Config.DB") {
		t.Errorf("New(Config{}) = %v, want an error naming Config.DB", err)
	}
	e := newEnv(t, nil)
	if _, err := New(Config{DB: e.db, TTL: -time.Second}); err == nil || !strings.Contains(err.Error(), "Config.TTL") {
		t.Errorf("New(TTL<0) = %v, want an error naming Config.TTL", err)
	}
	if e.svc.ttl != DefaultTTL {
		t.Errorf("default TTL = %v, want %v", e.svc.ttl, DefaultTTL)
	}
}

func TestDefinitions(t *testing.T) {
	t.Parallel()
	defs := Definitions()
	keys := make([]string, 0, len(defs))
	for _, d := range defs {
		keys = append(keys, d.Key)
		if d.Description == "" {
			t.Errorf("%s has no description", d.Key)
		}
	}
	if want := []string{AIAssist, BatchAsync, VideoToText}; !slices.Equal(keys, want) {
		t.Errorf("keys = %v, want %v (sorted)", keys, want)
	}
	defs[0].Default = !defs[0].Default // a copy: the package's list is unchanged
	if d, _ := Lookup(defs[0].Key); d.Default == defs[0].Default {
		t.Error("Definitions returned the package's own slice")
	}
	if _, ok := Lookup("no.such.flag"); ok {
		t.Error("Lookup of an unknown key succeeded")
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for key, want := range map[string]bool{BatchAsync: false, VideoToText: true, AIAssist: true} {
		for _, tenant := range []string{"", "default", "t1"} {
			if got := e.enabled(t, tenant, key); got != want {
				t.Errorf("Enabled(%q, %s) = %v, want the default %v", tenant, key, got, want)
			}
		}
	}
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := t.Context()

	// Global override beats the default, for every tenant.
	e.set(t, Flag{Key: AIAssist, Scope: ScopeGlobal, Enabled: false})
	if e.enabled(t, "t1", AIAssist) || e.enabled(t, "t2", AIAssist) || e.enabled(t, "", AIAssist) {
		t.Error("global off not applied")
	}
	// A tenant override beats the global one, for that tenant only.
	e.set(t, Flag{Key: AIAssist, Scope: ScopeTenant, TenantID: "t1", Enabled: true})
	if !e.enabled(t, "t1", AIAssist) {
		t.Error("tenant t1 on did not beat global off")
	}
	if e.enabled(t, "t2", AIAssist) || e.enabled(t, "", AIAssist) {
		t.Error("tenant t1's override changed another tenant (or the global view)")
	}
	// Other flags are untouched.
	if !e.enabled(t, "t1", VideoToText) || e.enabled(t, "t1", BatchAsync) {
		t.Error("other flags changed")
	}
	// Tenant off beats global on.
	e.set(t, Flag{Key: BatchAsync, Scope: ScopeGlobal, Enabled: true})
	e.set(t, Flag{Key: BatchAsync, Scope: ScopeTenant, TenantID: "t2", Enabled: false})
	if !e.enabled(t, "t1", BatchAsync) || e.enabled(t, "t2", BatchAsync) {
		t.Error("batch: want on for t1 (global) and off for t2 (tenant)")
	}
	// Setting again updates the row in place.
	e.clock.Advance(time.Minute)
	f := e.set(t, Flag{Key: BatchAsync, Scope: ScopeTenant, TenantID: "t2", Enabled: true})
	if !e.enabled(t, "t2", BatchAsync) {
		t.Error("update of the tenant override not seen")
	}
	if !f.UpdatedAt.Equal(e.clock.Now()) || f.UpdatedBy != "usr_admin" || !f.Enabled {
		t.Errorf("Set returned %+v", f)
	}
	ov, err := e.svc.Overrides(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ov) != 4 {
		t.Errorf("Overrides = %+v, want 4 rows", ov)
	}
}

func TestCacheTTL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.TTL = 10 * time.Second })
	ctx := t.Context()

	if !e.enabled(t, "t1", VideoToText) { // cached: on (default)
		t.Fatal("default not on")
	}
	// A change made directly in the database (another process) is not
	// seen until the TTL has passed.
	_, err := e.db.Write.ExecContext(ctx, `INSERT INTO feature_flags (key, scope, tenant_id, enabled, updated_at, updated_by)
		VALUES (?, 'global', '', ?, ?, 'other-process')`, VideoToText, false, storage.Timestamp(e.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if !e.enabled(t, "t1", VideoToText) {
		t.Error("direct change seen at once: not cached")
	}
	e.clock.Advance(9 * time.Second)
	if !e.enabled(t, "t1", VideoToText) {
		t.Error("direct change seen before the TTL")
	}
	if e.enabled(t, "t2", VideoToText) {
		t.Error("t2, never cached, does not see the stored value")
	}
	e.clock.Advance(time.Second)
	if e.enabled(t, "t1", VideoToText) {
		t.Error("direct change not seen after the TTL")
	}

	// A change through the service is seen at once, for every tenant.
	e.enabled(t, "t2", AIAssist)
	e.set(t, Flag{Key: VideoToText, Scope: ScopeGlobal, Enabled: true})
	if !e.enabled(t, "t1", VideoToText) || !e.enabled(t, "t2", VideoToText) {
		t.Error("Set not seen at once")
	}
	e.set(t, Flag{Key: VideoToText, Scope: ScopeTenant, TenantID: "t1", Enabled: false})
	if e.enabled(t, "t1", VideoToText) || !e.enabled(t, "t2", VideoToText) {
		t.Error("tenant Set not seen at once")
	}
	if err := e.svc.Clear(ctx, VideoToText, ScopeTenant, "t1"); err != nil {
		t.Fatal(err)
	}
	if !e.enabled(t, "t1", VideoToText) {
		t.Error("Clear not seen at once")
	}
}

func TestStaleValueOnDatabaseError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.set(t, Flag{Key: VideoToText, Scope: ScopeGlobal, Enabled: false})
	e.enabled(t, "t1", VideoToText) // cached: off
	_ = e.db.Read.Close()
	e.clock.Advance(time.Hour)
	on, err := e.svc.Enabled(t.Context(), "t1", VideoToText)
	if err != nil || on {
		t.Errorf("Enabled with a failing database and a stale value = %v, %v; want false, nil", on, err)
	}
	if _, err := e.svc.Enabled(t.Context(), "t2", VideoToText); err == nil {
		t.Error("Enabled with a failing database and nothing cached succeeded")
	}
}

func TestUnknownFlag(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := t.Context()
	if _, err := e.svc.Enabled(ctx, "t1", "no.such.flag"); !errors.Is(err, ErrUnknownFlag) {
		t.Errorf("Enabled = %v, want ErrUnknownFlag", err)
	}
	if _, err := e.svc.Set(ctx, Flag{Key: "no.such.flag", Scope: ScopeGlobal}, "a"); !errors.Is(err, ErrUnknownFlag) {
		t.Errorf("Set = %v, want ErrUnknownFlag", err)
	}
	if err := e.svc.Clear(ctx, "no.such.flag", ScopeGlobal, ""); !errors.Is(err, ErrUnknownFlag) {
		t.Errorf("Clear = %v, want ErrUnknownFlag", err)
	}
}

func TestSetValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := t.Context()
	long := strings.Repeat("x", MaxIDLen+1)
	tests := []struct {
		name  string
		f     Flag
		actor string
		field string
	}{
		{"no scope", Flag{Key: AIAssist}, "a", "scope"},
		{"bad scope", Flag{Key: AIAssist, Scope: "user"}, "a", "scope"},
		{"tenant without id", Flag{Key: AIAssist, Scope: ScopeTenant}, "a", "tenant_id"},
		{"global with id", Flag{Key: AIAssist, Scope: ScopeGlobal, TenantID: "t1"}, "a", "tenant_id"},
		{"long tenant", Flag{Key: AIAssist, Scope: ScopeTenant, TenantID: long}, "a", "tenant_id"},
		{"long actor", Flag{Key: AIAssist, Scope: ScopeGlobal}, long, "updated_by"},
	}
	for _, tt := range tests {
		_, err := e.svc.Set(ctx, tt.f, tt.actor)
		ve, ok := errors.AsType[*ValidationError](err)
		if !ok || ve.Field != tt.field {
			t.Errorf("%s: Set = %v, want a ValidationError on %s", tt.name, err, tt.field)
		}
		if err := e.svc.Clear(ctx, tt.f.Key, tt.f.Scope, tt.f.TenantID); tt.field != "updated_by" {
			if _, ok := errors.AsType[*ValidationError](err); !ok {
				t.Errorf("%s: Clear = %v, want a ValidationError", tt.name, err)
			}
		}
	}
	if ov, err := e.svc.Overrides(ctx); err != nil || len(ov) != 0 {
		t.Errorf("Overrides = %v, %v; want nothing stored", ov, err)
	}
}

func TestClear(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := t.Context()
	e.set(t, Flag{Key: AIAssist, Scope: ScopeGlobal, Enabled: false})
	e.set(t, Flag{Key: AIAssist, Scope: ScopeTenant, TenantID: "t1", Enabled: true})

	if err := e.svc.Clear(ctx, AIAssist, ScopeTenant, "t2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Clear of a missing override = %v, want ErrNotFound", err)
	}
	if err := e.svc.Clear(ctx, VideoToText, ScopeGlobal, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Clear of a missing override = %v, want ErrNotFound", err)
	}
	if err := e.svc.Clear(ctx, AIAssist, ScopeTenant, "t1"); err != nil {
		t.Fatal(err)
	}
	if e.enabled(t, "t1", AIAssist) {
		t.Error("t1 after clearing its override: want the global off")
	}
	if err := e.svc.Clear(ctx, AIAssist, ScopeTenant, "t1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Clear = %v, want ErrNotFound", err)
	}
	if err := e.svc.Clear(ctx, AIAssist, ScopeGlobal, ""); err != nil {
		t.Fatal(err)
	}
	if !e.enabled(t, "t1", AIAssist) {
		t.Error("after clearing everything: want the default on")
	}

	// An override of a flag that no longer exists can still be cleared.
	_, err := e.db.Write.ExecContext(ctx, `INSERT INTO feature_flags (key, scope, tenant_id, enabled, updated_at, updated_by)
		VALUES ('old.flag', 'global', '', 1, ?, '')`, storage.Timestamp(e.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Clear(ctx, "old.flag", ScopeGlobal, ""); err != nil {
		t.Errorf("Clear of a retired flag's override = %v", err)
	}
}

func TestStatesAndOverrides(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := t.Context()
	e.set(t, Flag{Key: AIAssist, Scope: ScopeGlobal, Enabled: false})
	e.set(t, Flag{Key: AIAssist, Scope: ScopeTenant, TenantID: "t1", Enabled: true})
	e.clock.Advance(time.Second)
	e.set(t, Flag{Key: BatchAsync, Scope: ScopeTenant, TenantID: "t2", Enabled: true})

	on, off := true, false
	tests := []struct {
		tenant string
		want   []State
	}{
		{"t1", []State{
			{Key: AIAssist, Enabled: true, Source: SourceTenant, Default: true, Global: &off, Tenant: &on},
			{Key: BatchAsync, Enabled: false, Source: SourceDefault, Default: false},
			{Key: VideoToText, Enabled: true, Source: SourceDefault, Default: true},
		}},
		{"t2", []State{
			{Key: AIAssist, Enabled: false, Source: SourceGlobal, Default: true, Global: &off},
			{Key: BatchAsync, Enabled: true, Source: SourceTenant, Default: false, Tenant: &on},
			{Key: VideoToText, Enabled: true, Source: SourceDefault, Default: true},
		}},
		{"", []State{
			{Key: AIAssist, Enabled: false, Source: SourceGlobal, Default: true, Global: &off},
			{Key: BatchAsync, Enabled: false, Source: SourceDefault, Default: false},
			{Key: VideoToText, Enabled: true, Source: SourceDefault, Default: true},
		}},
	}
	for _, tt := range tests {
		got, err := e.svc.States(ctx, tt.tenant)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(tt.want) {
			t.Fatalf("States(%q) = %+v", tt.tenant, got)
		}
		for i, w := range tt.want {
			g := got[i]
			d, _ := Lookup(w.Key)
			if g.Key != w.Key || g.Description != d.Description || g.Enabled != w.Enabled || g.Source != w.Source ||
				g.Default != w.Default || !eqPtr(g.Global, w.Global) || !eqPtr(g.Tenant, w.Tenant) {
				t.Errorf("States(%q)[%d] = %s, want %s", tt.tenant, i, show(g), show(w))
			}
			// States agrees with Enabled.
			if en := e.enabled(t, tt.tenant, w.Key); en != g.Enabled {
				t.Errorf("States(%q) says %s is %v, Enabled says %v", tt.tenant, w.Key, g.Enabled, en)
			}
		}
	}

	ov, err := e.svc.Overrides(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t0 := newClock().Now()
	want := []Flag{
		{Key: AIAssist, Scope: ScopeGlobal, Enabled: false, UpdatedAt: t0, UpdatedBy: "usr_admin"},
		{Key: AIAssist, Scope: ScopeTenant, TenantID: "t1", Enabled: true, UpdatedAt: t0, UpdatedBy: "usr_admin"},
		{Key: BatchAsync, Scope: ScopeTenant, TenantID: "t2", Enabled: true, UpdatedAt: t0.Add(time.Second), UpdatedBy: "usr_admin"},
	}
	if len(ov) != len(want) {
		t.Fatalf("Overrides = %+v, want %+v", ov, want)
	}
	for i := range want {
		if ov[i] != want[i] {
			t.Errorf("Overrides[%d] = %+v, want %+v", i, ov[i], want[i])
		}
	}
}

func TestOverridesEmpty(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ov, err := e.svc.Overrides(t.Context())
	if err != nil || ov == nil || len(ov) != 0 {
		t.Errorf("Overrides = %#v, %v; want an empty non-nil slice", ov, err)
	}
}

func TestConcurrentEnabledAndSet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Now = time.Now })
	ctx := t.Context()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				if i == 0 && j%10 == 0 {
					if _, err := e.svc.Set(ctx, Flag{Key: BatchAsync, Scope: ScopeGlobal, Enabled: j%20 == 0}, "a"); err != nil {
						t.Error(err)
					}
					continue
				}
				if _, err := e.svc.Enabled(ctx, "t1", BatchAsync); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	// After the storm, a Set is still seen at once.
	e.set(t, Flag{Key: BatchAsync, Scope: ScopeGlobal, Enabled: true})
	if !e.enabled(t, "t1", BatchAsync) {
		t.Error("after the last Set: want on")
	}
}

func eqPtr(a, b *bool) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func show(s State) string {
	p := func(b *bool) string {
		if b == nil {
			return "nil"
		}
		if *b {
			return "true"
		}
		return "false"
	}
	return s.Key + " enabled=" + p(&s.Enabled) + " source=" + s.Source + " default=" + p(&s.Default) + " global=" + p(s.Global) + " tenant=" + p(s.Tenant)
}
