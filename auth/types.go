package auth

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Role is what a user may do in its tenant. Roles are ordered: admin
// includes editor, which includes viewer.
type Role string

// Roles.
const (
	RoleViewer Role = "viewer" // read
	RoleEditor Role = "editor" // read, write, extract, batch
	RoleAdmin  Role = "admin"  // everything, plus users, revoke, flags, audit
)

// rank orders the roles; an unknown role ranks 0 and allows nothing.
func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleEditor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether a holder of r may do what needs the role need:
// admin > editor > viewer. An invalid r allows nothing, and nothing allows
// an invalid need.
func (r Role) Allows(need Role) bool {
	return r.rank() > 0 && need.rank() > 0 && r.rank() >= need.rank()
}

// String returns the role's name.
func (r Role) String() string { return string(r) }

// ParseRole parses "viewer", "editor" or "admin" (exactly, lower case).
// Anything else is a *ValidationError on the field "role".
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.Valid() {
		return r, nil
	}
	return "", &ValidationError{Field: "role", Reason: "must be viewer, editor or admin"}
}

// DefaultTenantID is the one tenant of an installation that does not
// enforce tenancy. Migration 0002 creates it.
const DefaultTenantID = "default"

// ActorSystem is the ActorID of audit events for operations run without a
// Principal in the context (the command line, bootstrap).
const ActorSystem = "system"

// Tenant is an isolated group of users and their data.
type Tenant struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// User is an account. The password hash never leaves the package.
type User struct {
	// ID is "usr_" followed by a lower-case ULID.
	ID       string
	TenantID string
	// Email is trimmed and lower-cased; unique within the tenant.
	Email    string
	Role     Role
	Disabled bool
	// TokensValidAfter is the per-user cutoff: access tokens issued
	// before it are refused (revoke, disable and password change set it).
	TokensValidAfter time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Principal is the verified caller of a request.
type Principal struct {
	UserID   string
	TenantID string
	Email    string
	// Role is the user's role at verification time, read from the
	// database, not from the token.
	Role Role
	// Anonymous is true for a caller without a token where the server
	// allows it (it then acts with Role in TenantID).
	Anonymous bool
	// TokenID is the access token's jti.
	TokenID string
	// FamilyID is the refresh-token family the access token was issued
	// with ("" for anonymous callers).
	FamilyID string
}

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the Principal stored by WithPrincipal.
func PrincipalFromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// TokenPair is what Login and Refresh hand out.
type TokenPair struct {
	// AccessToken is a signed JWT (HS256, typ at+jwt) valid for
	// ExpiresIn seconds.
	AccessToken string
	// RefreshToken is opaque ("qrt_" + 43 base64url characters), valid
	// for one use: Refresh rotates it.
	RefreshToken string
	// TokenType is always "Bearer".
	TokenType string
	// ExpiresIn is the access token's lifetime in seconds.
	ExpiresIn int
	// FamilyID identifies the refresh-token family ("fam_" + ULID), the
	// unit that Logout and RevokeFamily revoke.
	FamilyID string
}

// Auditor records security events. The server adapts package audit to it.
// Record is called after the operation's transaction has committed, never
// inside it; an error is logged and does not undo the operation.
type Auditor interface {
	Record(ctx context.Context, e AuditEvent) error
}

// AuditEvent is one security event. It never holds a token or a password.
type AuditEvent struct {
	TenantID   string
	ActorID    string // user id, or ActorSystem
	Action     string // such as "auth.login_failed"
	TargetType string // "user", "refresh_family"
	TargetID   string
	Result     string // "success" or "failure"
	Details    map[string]any
}

// Audit actions recorded by the Service.
const (
	ActionLoginSucceeded       = "auth.login_succeeded"
	ActionLoginFailed          = "auth.login_failed"
	ActionRefreshReuseDetected = "auth.refresh_reuse_detected"
	ActionLogout               = "auth.logout"
	ActionRevoke               = "admin.revoke"
	ActionUserCreated          = "user.created"
	ActionUserDisabled         = "user.disabled"
	ActionPasswordChanged      = "user.password_changed"
	ActionRoleChanged          = "user.role_changed"
)

// Audit results.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// Errors. Wrapped errors keep them visible to errors.Is.
var (
	// ErrInvalidCredentials answers every failed login alike: unknown
	// user, wrong password, disabled user.
	ErrInvalidCredentials = errors.New("auth: invalid credentials")
	// ErrInvalidToken means a token is malformed, forged, of the wrong
	// type, revoked, or names a user that no longer may act.
	ErrInvalidToken = errors.New("auth: invalid token")
	// ErrTokenExpired means a well-formed, genuine token is past its
	// lifetime (access exp beyond the leeway; refresh idle or absolute).
	ErrTokenExpired = errors.New("auth: token expired")
	// ErrTokenReused means a refresh token that was already rotated was
	// presented again; its whole family is now revoked.
	ErrTokenReused = errors.New("auth: refresh token reused")
	// ErrNotFound means no such user, tenant or family in the tenant.
	ErrNotFound = errors.New("auth: not found")
	// ErrConflict means the email is already taken in the tenant.
	ErrConflict = errors.New("auth: conflict")
)

// ValidationError says which input field is wrong and why.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("auth: invalid %s: %s", e.Field, e.Reason)
}
