package auth

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"runtime"
	"strings"
	"time"
	"unicode"

	"github.com/jmoiron/sqlx"

	"github.com/quarryhq/quarry/internal/ids"
	"github.com/quarryhq/quarry/storage"
)

// Defaults of Config.
const (
	DefaultIssuer                  = "quarry"
	DefaultAudience                = "quarry-api"
	DefaultAccessTTL               = 15 * time.Minute
	DefaultLeeway                  = 30 * time.Second
	DefaultRefreshIdleTTL          = 7 * 24 * time.Hour
	DefaultRefreshAbsoluteTTL      = 30 * 24 * time.Hour
	DefaultAdminRefreshAbsoluteTTL = 24 * time.Hour
)

// maxLeeway bounds Config.Leeway: clock skew, not a grace period.
const maxLeeway = 5 * time.Minute

// Config configures a Service. Zero durations take the defaults above.
type Config struct {
	// DB is the migrated database (required).
	DB *storage.DB
	// Keys signs and verifies access tokens (required; see LoadKeySet).
	Keys KeySet
	// Auditor records security events (optional).
	Auditor Auditor
	// Logger (default: discard). Tokens and passwords are never logged.
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time

	// Issuer and Audience are the iss and aud of access tokens
	// (default "quarry" and "quarry-api").
	Issuer   string
	Audience string
	// AccessTTL is the access token lifetime (default 15 min).
	AccessTTL time.Duration
	// Leeway is the clock skew allowed on exp, nbf and iat (default 30 s,
	// at most 5 min and less than AccessTTL).
	Leeway time.Duration
	// RefreshIdleTTL is how long an unused refresh token lives (default
	// 7 days); each rotation starts it again.
	RefreshIdleTTL time.Duration
	// RefreshAbsoluteTTL is the life of a family from its login (default
	// 30 days), AdminRefreshAbsoluteTTL that of an admin's (default 24 h).
	RefreshAbsoluteTTL      time.Duration
	AdminRefreshAbsoluteTTL time.Duration
}

func (c *Config) withDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Issuer = cmp.Or(c.Issuer, DefaultIssuer)
	c.Audience = cmp.Or(c.Audience, DefaultAudience)
	c.AccessTTL = cmp.Or(c.AccessTTL, DefaultAccessTTL)
	c.Leeway = cmp.Or(c.Leeway, DefaultLeeway)
	c.RefreshIdleTTL = cmp.Or(c.RefreshIdleTTL, DefaultRefreshIdleTTL)
	c.RefreshAbsoluteTTL = cmp.Or(c.RefreshAbsoluteTTL, DefaultRefreshAbsoluteTTL)
	c.AdminRefreshAbsoluteTTL = cmp.Or(c.AdminRefreshAbsoluteTTL, DefaultAdminRefreshAbsoluteTTL)
}

func (c *Config) validate() error {
	switch {
	case c.DB == nil:
		return errors.New("auth: Config.DB is required")
	case c.AccessTTL < 0, c.Leeway < 0, c.RefreshIdleTTL < 0, c.RefreshAbsoluteTTL < 0, c.AdminRefreshAbsoluteTTL < 0:
		return errors.New("auth: Config durations (AccessTTL, Leeway, RefreshIdleTTL, RefreshAbsoluteTTL, AdminRefreshAbsoluteTTL) must not be negative")
	case c.Leeway > maxLeeway:
		return fmt.Errorf("auth: Config.Leeway %v is more than %v", c.Leeway, maxLeeway)
	case c.Leeway >= c.AccessTTL:
		return fmt.Errorf("auth: Config.Leeway %v must be less than Config.AccessTTL %v", c.Leeway, c.AccessTTL)
	}
	if err := c.Keys.Validate(); err != nil {
		return fmt.Errorf("auth: Config.Keys: %w", err)
	}
	return nil
}

// Service manages tenants, users, logins and tokens. It is safe for
// concurrent use.
type Service struct {
	db      *storage.DB
	signer  *signer
	hasher  *hasher
	auditor Auditor
	log     *slog.Logger
	now     func() time.Time
	ids     *ids.Generator
	cfg     Config

	// dummyHash is verified against for unknown users, so that a login
	// takes as long for them as for a wrong password.
	dummyHash string
}

// New returns a Service. Errors name the Config field at fault. It hashes
// one dummy password (one argon2id run) for the timing of failed logins.
func New(cfg Config) (*Service, error) {
	cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// Copy the keys: the caller's map must not change them later.
	keys := KeySet{Current: cfg.Keys.Current, Keys: make(map[string][]byte, len(cfg.Keys.Keys))}
	for kid, k := range cfg.Keys.Keys {
		keys.Keys[kid] = append([]byte(nil), k...)
	}
	s := &Service{
		db:      cfg.DB,
		signer:  newSigner(keys, cfg.Issuer, cfg.Audience, cfg.AccessTTL, cfg.Leeway, cfg.Now),
		hasher:  &hasher{params: defaultArgon2, sem: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))},
		auditor: cfg.Auditor,
		log:     cfg.Logger,
		now:     cfg.Now,
		ids:     newIDGen(),
		cfg:     cfg,
	}
	dummy, err := s.hasher.hash(context.Background(), "dummy password for unknown users")
	if err != nil {
		return nil, err
	}
	s.dummyHash = dummy
	return s, nil
}

// EnsureTenant creates the tenant id with name (default: the id) unless it
// exists, and returns it; an existing tenant keeps its name. Ids are 1 to
// 64 characters of a-z 0-9 _ -, starting with a letter or digit.
func (s *Service) EnsureTenant(ctx context.Context, id, name string) (*Tenant, error) {
	if !validTenantID(id) {
		return nil, &ValidationError{Field: "tenant_id", Reason: "must be 1 to 64 characters of a-z 0-9 _ -, starting with a letter or digit"}
	}
	name = strings.TrimSpace(cmp.Or(name, id))
	if len(name) > 200 || strings.ContainsFunc(name, unicode.IsControl) {
		return nil, &ValidationError{Field: "name", Reason: "must be at most 200 bytes without control characters"}
	}
	q := s.db.Write.Rebind(`INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`)
	if _, err := s.db.Write.ExecContext(ctx, q, id, name, storage.Timestamp(s.now())); err != nil {
		return nil, fmt.Errorf("auth: ensure tenant: %w", err)
	}
	return s.getTenant(ctx, s.db.Write, id)
}

// GetTenant returns the tenant id, or ErrNotFound.
func (s *Service) GetTenant(ctx context.Context, id string) (*Tenant, error) {
	return s.getTenant(ctx, s.db.Read, id)
}

func (s *Service) getTenant(ctx context.Context, q sqlx.QueryerContext, id string) (*Tenant, error) {
	if !validTenantID(id) {
		return nil, ErrNotFound
	}
	var row struct {
		ID        string `db:"id"`
		Name      string `db:"name"`
		CreatedAt string `db:"created_at"`
	}
	err := sqlx.GetContext(ctx, q, &row, s.db.Read.Rebind(`SELECT id, name, created_at FROM tenants WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("auth: get tenant: %w", err)
	}
	t, err := storage.ParseTimestamp(row.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("auth: get tenant: %w", err)
	}
	return &Tenant{ID: row.ID, Name: row.Name, CreatedAt: t}, nil
}

// userRow is a users row.
type userRow struct {
	ID               string `db:"id"`
	TenantID         string `db:"tenant_id"`
	Email            string `db:"email"`
	PasswordHash     string `db:"password_hash"`
	Role             string `db:"role"`
	Disabled         bool   `db:"disabled"`
	TokensValidAfter string `db:"tokens_valid_after"`
	CreatedAt        string `db:"created_at"`
	UpdatedAt        string `db:"updated_at"`
}

const userColumns = `id, tenant_id, email, password_hash, role, disabled, tokens_valid_after, created_at, updated_at`

func (r *userRow) user() (*User, error) {
	u := &User{ID: r.ID, TenantID: r.TenantID, Email: r.Email, Role: Role(r.Role), Disabled: r.Disabled}
	var err error
	if u.TokensValidAfter, err = storage.ParseTimestamp(r.TokensValidAfter); err != nil {
		return nil, err
	}
	if u.CreatedAt, err = storage.ParseTimestamp(r.CreatedAt); err != nil {
		return nil, err
	}
	if u.UpdatedAt, err = storage.ParseTimestamp(r.UpdatedAt); err != nil {
		return nil, err
	}
	return u, nil
}

// NormalizeEmail is how emails are stored and compared: trimmed and
// lower-cased.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// validateEmail checks a normalized email: a bare addr-spec of at most 254
// bytes, without spaces or control characters.
func validateEmail(email string) error {
	bad := &ValidationError{Field: "email", Reason: "must be an email address such as name@example.com"}
	if len(email) < 3 || len(email) > 254 || strings.ContainsFunc(email, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return bad
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email {
		return bad
	}
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return bad
	}
	return nil
}

// CreateUser creates a user in an existing tenant (ErrNotFound otherwise:
// call EnsureTenant first). The email is trimmed and lower-cased; a
// duplicate in the tenant is ErrConflict. A bad email, role, or a password
// of fewer than MinPasswordLen characters is a *ValidationError. The
// password is hashed with argon2id and never stored or logged in clear.
func (s *Service) CreateUser(ctx context.Context, tenantID, email, password string, role Role) (*User, error) {
	email = NormalizeEmail(email)
	if err := validateEmail(email); err != nil {
		return nil, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return nil, err
	}
	if err := validatePassword(password); err != nil {
		return nil, err
	}
	if !validTenantID(tenantID) {
		return nil, fmt.Errorf("auth: create user: tenant: %w", ErrNotFound)
	}
	// Hash before taking the write lock: it takes tens of milliseconds.
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return nil, fmt.Errorf("auth: create user: %w", err)
	}
	now := s.now()
	id, err := s.ids.Next(now)
	id = userIDPrefix + id
	if err != nil {
		return nil, err
	}
	ts := storage.Timestamp(now)
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM tenants WHERE id = ?`), tenantID); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("tenant: %w", ErrNotFound)
		}
		if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM users WHERE tenant_id = ? AND email = ?`), tenantID, email); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("email already in use in the tenant: %w", ErrConflict)
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			id, tenantID, email, hash, string(role), false, ts, ts, ts)
		if err != nil && isUniqueViolation(err) {
			return fmt.Errorf("email already in use in the tenant: %w", ErrConflict)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("auth: create user: %w", err)
	}
	s.audit(ctx, AuditEvent{
		TenantID: tenantID, ActorID: s.actor(ctx), Action: ActionUserCreated,
		TargetType: "user", TargetID: id, Result: ResultSuccess,
		Details: map[string]any{"email": email, "role": string(role)},
	})
	return s.getUser(ctx, s.db.Write, tenantID, id)
}

// isUniqueViolation recognizes SQLite's and PostgreSQL's unique-constraint
// errors (the duplicate check before the insert covers SQLite, whose
// writers are serialized; this covers concurrent inserts elsewhere).
func isUniqueViolation(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "duplicate key value")
}

// GetUser returns the user, or ErrNotFound, also when it belongs to
// another tenant.
func (s *Service) GetUser(ctx context.Context, tenantID, userID string) (*User, error) {
	return s.getUser(ctx, s.db.Read, tenantID, userID)
}

func (s *Service) getUser(ctx context.Context, q sqlx.QueryerContext, tenantID, userID string) (*User, error) {
	if !validUserID(userID) || !validTenantID(tenantID) {
		return nil, ErrNotFound
	}
	var row userRow
	err := sqlx.GetContext(ctx, q, &row, s.db.Read.Rebind(`SELECT `+userColumns+` FROM users WHERE id = ? AND tenant_id = ?`), userID, tenantID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("auth: get user: %w", err)
	}
	u, err := row.user()
	if err != nil {
		return nil, fmt.Errorf("auth: get user: %w", err)
	}
	return u, nil
}

// ListUsers returns the users of tenantID in creation order, or of every
// tenant (ordered by tenant, then creation) when tenantID is "" — for the
// command line, never for a tenant's request. The list is never nil.
func (s *Service) ListUsers(ctx context.Context, tenantID string) ([]*User, error) {
	var rows []userRow
	var err error
	if tenantID == "" {
		err = s.db.Read.SelectContext(ctx, &rows, `SELECT `+userColumns+` FROM users ORDER BY tenant_id, id`)
	} else {
		err = s.db.Read.SelectContext(ctx, &rows, s.db.Read.Rebind(`SELECT `+userColumns+` FROM users WHERE tenant_id = ? ORDER BY id`), tenantID)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: list users: %w", err)
	}
	out := make([]*User, 0, len(rows))
	for i := range rows {
		u, err := rows[i].user()
		if err != nil {
			return nil, fmt.Errorf("auth: list users: %w", err)
		}
		out = append(out, u)
	}
	return out, nil
}

// CountUsers counts the users of every tenant (the server prints how to
// create the first admin when it is 0).
func (s *Service) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.db.Read.GetContext(ctx, &n, `SELECT COUNT(*) FROM users`); err != nil {
		return 0, fmt.Errorf("auth: count users: %w", err)
	}
	return n, nil
}

// Revoke reasons stored in refresh_families.revoke_reason.
const (
	reasonLogout          = "logout"
	reasonReuse           = "reuse_detected"
	reasonAdminRevoke     = "admin_revoke"
	reasonDisabled        = "user_disabled"
	reasonPasswordChanged = "password_changed"
)

// cutUser sets the user's token cutoff to now (never moving it back),
// applies the extra assignments set (", col = ?" ...) with args, and
// revokes all of the user's live families. ErrNotFound when the user is
// not in the tenant.
func (s *Service) cutUser(ctx context.Context, tx *sqlx.Tx, tenantID, userID, reason string, now time.Time, set string, args ...any) error {
	if !validUserID(userID) || !validTenantID(tenantID) {
		return ErrNotFound
	}
	ts := storage.Timestamp(now)
	all := append([]any{ts, ts, ts}, args...)
	all = append(all, userID, tenantID)
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE users SET
		tokens_valid_after = CASE WHEN tokens_valid_after > ? THEN tokens_valid_after ELSE ? END,
		updated_at = ?`+set+` WHERE id = ? AND tenant_id = ?`), all...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNotFound
	}
	_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE refresh_families SET revoked_at = ?, revoke_reason = ?
		WHERE user_id = ? AND revoked_at IS NULL`), ts, reason, userID)
	return err
}

// DisableUser disables the user: it can no longer log in, its refresh
// tokens are revoked and its access tokens refused at once. ErrNotFound
// for a user of another tenant. Audited as user.disabled.
func (s *Service) DisableUser(ctx context.Context, tenantID, userID string) error {
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		return s.cutUser(ctx, tx, tenantID, userID, reasonDisabled, s.now(), `, disabled = ?`, true)
	})
	if err != nil {
		return fmt.Errorf("auth: disable user: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: tenantID, ActorID: s.actor(ctx), Action: ActionUserDisabled, TargetType: "user", TargetID: userID, Result: ResultSuccess})
	return nil
}

// SetPassword replaces the user's password (the rules of CreateUser) and,
// like DisableUser, revokes its refresh tokens and access tokens.
// Audited as user.password_changed.
func (s *Service) SetPassword(ctx context.Context, tenantID, userID, password string) error {
	if err := validatePassword(password); err != nil {
		return err
	}
	if !validUserID(userID) || !validTenantID(tenantID) {
		return fmt.Errorf("auth: set password: %w", ErrNotFound)
	}
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return fmt.Errorf("auth: set password: %w", err)
	}
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		return s.cutUser(ctx, tx, tenantID, userID, reasonPasswordChanged, s.now(), `, password_hash = ?`, hash)
	})
	if err != nil {
		return fmt.Errorf("auth: set password: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: tenantID, ActorID: s.actor(ctx), Action: ActionPasswordChanged, TargetType: "user", TargetID: userID, Result: ResultSuccess})
	return nil
}

// SetRole changes the user's role. It takes effect on the next request:
// VerifyAccess reads the role from the database. Audited as
// user.role_changed.
func (s *Service) SetRole(ctx context.Context, tenantID, userID string, role Role) error {
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	if !validUserID(userID) || !validTenantID(tenantID) {
		return fmt.Errorf("auth: set role: %w", ErrNotFound)
	}
	var old string
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &old, tx.Rebind(`SELECT role FROM users WHERE id = ? AND tenant_id = ?`), userID, tenantID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE users SET role = ?, updated_at = ? WHERE id = ?`), string(role), storage.Timestamp(s.now()), userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("auth: set role: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: tenantID, ActorID: s.actor(ctx), Action: ActionRoleChanged, TargetType: "user", TargetID: userID, Result: ResultSuccess,
		Details: map[string]any{"from": old, "to": string(role)}})
	return nil
}

// actor is the id of the Principal in ctx, or ActorSystem.
func (s *Service) actor(ctx context.Context) string {
	if p, ok := PrincipalFromContext(ctx); ok && p.UserID != "" {
		return p.UserID
	}
	return ActorSystem
}

// audit hands e to the Auditor, outside any transaction (an auditor that
// writes to the same database needs the single writer connection). A
// failure is logged, not returned: the operation has happened.
func (s *Service) audit(ctx context.Context, e AuditEvent) {
	if s.auditor == nil {
		return
	}
	if err := s.auditor.Record(context.WithoutCancel(ctx), e); err != nil {
		s.log.ErrorContext(ctx, "auth: audit event not recorded", "action", e.Action, "target_id", e.TargetID, "err", err)
	}
}
