package flags

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/quarryhq/quarry/storage"
)

// DefaultTTL is how long Enabled caches a value when Config.TTL is 0.
const DefaultTTL = 5 * time.Second

// MaxIDLen is the longest TenantID and actor Set accepts.
const MaxIDLen = 256

// maxCacheEntries bounds the cache: past it the cache is emptied and
// refills from the database (one entry per tenant and flag in use).
const maxCacheEntries = 100_000

// Config configures a Service.
type Config struct {
	// DB is the migrated database (required).
	DB *storage.DB
	// TTL is how long Enabled trusts a cached value (default 5s). Changes
	// made through this Service are seen at once; changes made by another
	// process (or directly in the database) after at most TTL.
	TTL time.Duration
	// Logger receives a warning when Enabled answers from a stale cache
	// entry because the database failed (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service evaluates and stores feature flags. It is safe for concurrent
// use.
type Service struct {
	db  *storage.DB
	ttl time.Duration
	log *slog.Logger
	now func() time.Time

	mu    sync.RWMutex
	cache map[cacheKey]cacheEntry
	gen   uint64 // bumped by every change; a load that started before one is not cached
}

type cacheKey struct{ tenant, key string }

type cacheEntry struct {
	enabled bool
	expires time.Time
}

// New returns a Service. Errors name the Config field at fault.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.DB == nil:
		return nil, errors.New("flags: Config.DB is required")
	case cfg.TTL < 0:
		return nil, errors.New("flags: Config.TTL must not be negative")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{
		db:    cfg.DB,
		ttl:   cmp.Or(cfg.TTL, DefaultTTL),
		log:   cfg.Logger,
		now:   cfg.Now,
		cache: map[cacheKey]cacheEntry{},
	}, nil
}

// Enabled reports whether the flag key is on for tenantID: the tenant's
// override if one is stored, else the global override, else the
// definition's default. tenantID "" skips the tenant override. An unknown
// key gives ErrUnknownFlag.
//
// Values are cached per tenant and key for Config.TTL. When the database
// fails and an expired value is cached, Enabled answers that value (and
// logs a warning) rather than failing every request that checks a flag;
// with nothing cached it returns the error.
func (s *Service) Enabled(ctx context.Context, tenantID, key string) (bool, error) {
	def, ok := Lookup(key)
	if !ok {
		return false, fmt.Errorf("%w: %q", ErrUnknownFlag, key)
	}
	ck := cacheKey{tenantID, key}
	now := s.now()
	s.mu.RLock()
	e, cached := s.cache[ck]
	gen := s.gen
	s.mu.RUnlock()
	if cached && now.Before(e.expires) {
		return e.enabled, nil
	}

	global, tenant, err := s.overrides(ctx, tenantID, key)
	if err != nil {
		if cached {
			s.log.WarnContext(ctx, "feature flag: database failed, using the last known value", "key", key, "tenant", tenantID, "err", err)
			return e.enabled, nil
		}
		return false, fmt.Errorf("flags: %s: %w", key, err)
	}
	enabled, _ := effective(def.Default, global, tenant)

	s.mu.Lock()
	if s.gen == gen {
		if len(s.cache) >= maxCacheEntries {
			clear(s.cache)
		}
		s.cache[ck] = cacheEntry{enabled: enabled, expires: now.Add(s.ttl)}
	}
	s.mu.Unlock()
	return enabled, nil
}

// effective applies the precedence tenant > global > default.
func effective(def bool, global, tenant *bool) (bool, string) {
	switch {
	case tenant != nil:
		return *tenant, SourceTenant
	case global != nil:
		return *global, SourceGlobal
	}
	return def, SourceDefault
}

type overrideRow struct {
	Key     string `db:"key"`
	Scope   string `db:"scope"`
	Enabled bool   `db:"enabled"`
}

// overrides reads the global and the tenant's override of key (nil when
// not stored).
func (s *Service) overrides(ctx context.Context, tenantID, key string) (global, tenant *bool, err error) {
	var rows []overrideRow
	q := s.db.Read.Rebind(`SELECT key, scope, enabled FROM feature_flags
		WHERE key = ? AND ((scope = 'global' AND tenant_id = '') OR (scope = 'tenant' AND tenant_id = ?))`)
	if err := s.db.Read.SelectContext(ctx, &rows, q, key, tenantID); err != nil {
		return nil, nil, err
	}
	for _, r := range rows {
		v := r.Enabled
		switch Scope(r.Scope) {
		case ScopeGlobal:
			global = &v
		case ScopeTenant:
			tenant = &v
		}
	}
	return global, tenant, nil
}

// invalidate empties the cache and makes loads already under way not
// cache what they read.
func (s *Service) invalidate() {
	s.mu.Lock()
	clear(s.cache)
	s.gen++
	s.mu.Unlock()
}

// validateTarget checks scope and tenantID of an override.
func validateTarget(scope Scope, tenantID string) error {
	switch {
	case !scope.Valid():
		return &ValidationError{Field: "scope", Reason: fmt.Sprintf("must be %q or %q", ScopeGlobal, ScopeTenant)}
	case scope == ScopeTenant && tenantID == "":
		return &ValidationError{Field: "tenant_id", Reason: "required for tenant scope"}
	case scope == ScopeGlobal && tenantID != "":
		return &ValidationError{Field: "tenant_id", Reason: "must be empty for global scope"}
	case len(tenantID) > MaxIDLen:
		return &ValidationError{Field: "tenant_id", Reason: fmt.Sprintf("longer than %d bytes", MaxIDLen)}
	}
	return nil
}

const upsertFlag = `INSERT INTO feature_flags (key, scope, tenant_id, enabled, updated_at, updated_by)
	VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (key, scope, tenant_id) DO UPDATE SET
		enabled = excluded.enabled,
		updated_at = excluded.updated_at,
		updated_by = excluded.updated_by`

// Set stores the override f (creating or replacing it) on behalf of actor
// and returns it as stored. f.Key must be a known flag (ErrUnknownFlag);
// f.Scope ScopeGlobal with TenantID "" or ScopeTenant with a TenantID
// (*ValidationError otherwise). f.UpdatedAt and f.UpdatedBy are ignored:
// they become now and actor. This process's cache is emptied, so Enabled
// sees the change at once; other processes see it within their TTL.
func (s *Service) Set(ctx context.Context, f Flag, actor string) (*Flag, error) {
	if _, ok := Lookup(f.Key); !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownFlag, f.Key)
	}
	if err := validateTarget(f.Scope, f.TenantID); err != nil {
		return nil, err
	}
	if len(actor) > MaxIDLen {
		return nil, &ValidationError{Field: "updated_by", Reason: fmt.Sprintf("longer than %d bytes", MaxIDLen)}
	}
	ts := storage.Timestamp(s.now())
	_, err := s.db.Write.ExecContext(ctx, s.db.Write.Rebind(upsertFlag), f.Key, string(f.Scope), f.TenantID, f.Enabled, ts, actor)
	if err != nil {
		return nil, fmt.Errorf("flags: set %s: %w", f.Key, err)
	}
	s.invalidate()
	t, err := storage.ParseTimestamp(ts)
	if err != nil {
		return nil, fmt.Errorf("flags: set %s: %w", f.Key, err)
	}
	return &Flag{Key: f.Key, Scope: f.Scope, TenantID: f.TenantID, Enabled: f.Enabled, UpdatedAt: t, UpdatedBy: actor}, nil
}

// Clear removes the override of key at scope (and tenantID for
// ScopeTenant), so the flag falls back to the next level. It answers
// ErrNotFound when no such override is stored (ErrUnknownFlag when key is
// not a known flag either; overrides of flags that no longer exist can
// still be cleared) and *ValidationError for a bad scope or tenantID.
func (s *Service) Clear(ctx context.Context, key string, scope Scope, tenantID string) error {
	if err := validateTarget(scope, tenantID); err != nil {
		return err
	}
	res, err := s.db.Write.ExecContext(ctx, s.db.Write.Rebind(`DELETE FROM feature_flags WHERE key = ? AND scope = ? AND tenant_id = ?`),
		key, string(scope), tenantID)
	if err != nil {
		return fmt.Errorf("flags: clear %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("flags: clear %s: %w", key, err)
	}
	s.invalidate()
	if n == 0 {
		if _, ok := Lookup(key); !ok {
			return fmt.Errorf("%w: %q", ErrUnknownFlag, key)
		}
		return fmt.Errorf("%w: %s %s %q", ErrNotFound, key, scope, tenantID)
	}
	return nil
}

// States returns every known flag's effective state for tenantID, sorted
// by key, read from the database (not the cache). tenantID "" gives the
// global view.
func (s *Service) States(ctx context.Context, tenantID string) ([]State, error) {
	var rows []overrideRow
	q := s.db.Read.Rebind(`SELECT key, scope, enabled FROM feature_flags
		WHERE (scope = 'global' AND tenant_id = '') OR (scope = 'tenant' AND tenant_id = ?)`)
	if err := s.db.Read.SelectContext(ctx, &rows, q, tenantID); err != nil {
		return nil, fmt.Errorf("flags: states: %w", err)
	}
	type pair struct{ global, tenant *bool }
	byKey := map[string]*pair{}
	for _, r := range rows {
		p := byKey[r.Key]
		if p == nil {
			p = &pair{}
			byKey[r.Key] = p
		}
		v := r.Enabled
		switch Scope(r.Scope) {
		case ScopeGlobal:
			p.global = &v
		case ScopeTenant:
			p.tenant = &v
		}
	}
	out := make([]State, 0, len(definitions))
	for _, d := range definitions {
		st := State{Key: d.Key, Description: d.Description, Default: d.Default}
		if p := byKey[d.Key]; p != nil {
			st.Global, st.Tenant = p.global, p.tenant
		}
		st.Enabled, st.Source = effective(d.Default, st.Global, st.Tenant)
		out = append(out, st)
	}
	return out, nil
}

type flagRow struct {
	Key       string `db:"key"`
	Scope     string `db:"scope"`
	TenantID  string `db:"tenant_id"`
	Enabled   bool   `db:"enabled"`
	UpdatedAt string `db:"updated_at"`
	UpdatedBy string `db:"updated_by"`
}

// Overrides returns every stored override, for admins: sorted by key,
// scope (global first) and tenant, never nil. Overrides of keys that are
// no longer known flags are included, so that they can be cleared.
func (s *Service) Overrides(ctx context.Context) ([]Flag, error) {
	var rows []flagRow
	err := s.db.Read.SelectContext(ctx, &rows, `SELECT key, scope, tenant_id, enabled, updated_at, updated_by
		FROM feature_flags ORDER BY key, scope, tenant_id`)
	if err != nil {
		return nil, fmt.Errorf("flags: overrides: %w", err)
	}
	out := make([]Flag, 0, len(rows))
	for _, r := range rows {
		t, err := storage.ParseTimestamp(r.UpdatedAt)
		if err != nil {
			return nil, fmt.Errorf("flags: overrides: %w", err)
		}
		out = append(out, Flag{Key: r.Key, Scope: Scope(r.Scope), TenantID: r.TenantID, Enabled: r.Enabled, UpdatedAt: t, UpdatedBy: r.UpdatedBy})
	}
	return out, nil
}
