package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/quarryhq/quarry/storage"
)

// Login checks email and password (and the tenant, when tenantID is not
// "") and starts a new refresh-token family.
//
// Every failure — unknown email, wrong password, disabled user — is the
// same ErrInvalidCredentials after the same work: an unknown user's
// password is checked against a dummy hash. Without tenantID the email
// must be unique across tenants; an email in several tenants needs the
// tenant and otherwise fails like an unknown one. Audited as
// auth.login_succeeded or auth.login_failed (with the email and the
// user's tenant when known; never the password).
func (s *Service) Login(ctx context.Context, email, password, tenantID string) (*TokenPair, *User, error) {
	email = NormalizeEmail(email)
	row, err := s.findLogin(ctx, email, tenantID)
	if err != nil {
		return nil, nil, err
	}
	tooLong := len(password) > MaxPasswordBytes
	if tooLong {
		password = password[:MaxPasswordBytes] // hashed all the same, for the timing; never matches
	}
	encoded := s.dummyHash
	if row != nil {
		encoded = row.PasswordHash
	}
	ok, rehash, err := s.hasher.verify(ctx, password, encoded)
	if err != nil && ctx.Err() != nil {
		return nil, nil, fmt.Errorf("auth: login: %w", ctx.Err())
	}
	if err != nil && row != nil {
		s.log.ErrorContext(ctx, "auth: stored password hash is malformed", "user_id", row.ID)
	}
	ok = ok && err == nil && !tooLong
	failure := ""
	switch {
	case row == nil:
		failure = "unknown_user"
	case !ok:
		failure = "bad_password"
	case row.Disabled:
		failure = "disabled"
	}
	if failure != "" {
		e := AuditEvent{TenantID: tenantID, Action: ActionLoginFailed, Result: ResultFailure,
			Details: map[string]any{"email": truncate(email, 254), "reason": failure}}
		if row != nil {
			e.TenantID, e.TargetType, e.TargetID = row.TenantID, "user", row.ID
		}
		s.audit(ctx, e)
		return nil, nil, ErrInvalidCredentials
	}

	var newHash string
	if rehash {
		if newHash, err = s.hasher.hash(ctx, password); err != nil {
			s.log.WarnContext(ctx, "auth: re-hash failed", "user_id", row.ID, "err", err)
			newHash = ""
		}
	}
	u, err := row.user()
	if err != nil {
		return nil, nil, fmt.Errorf("auth: login: %w", err)
	}
	var pair *TokenPair
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if newHash != "" {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?`), newHash, row.ID, row.PasswordHash); err != nil {
				return err
			}
		}
		var err error
		pair, err = s.startFamily(ctx, tx, u, s.now())
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("auth: login: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: u.TenantID, ActorID: u.ID, Action: ActionLoginSucceeded, TargetType: "refresh_family", TargetID: pair.FamilyID, Result: ResultSuccess})
	return pair, u, nil
}

// findLogin returns the user a login names, or nil.
func (s *Service) findLogin(ctx context.Context, email, tenantID string) (*userRow, error) {
	if validateEmail(email) != nil || (tenantID != "" && !validTenantID(tenantID)) {
		return nil, nil
	}
	var rows []userRow
	var err error
	if tenantID == "" {
		err = s.db.Read.SelectContext(ctx, &rows, s.db.Read.Rebind(`SELECT `+userColumns+` FROM users WHERE email = ? LIMIT 2`), email)
	} else {
		err = s.db.Read.SelectContext(ctx, &rows, s.db.Read.Rebind(`SELECT `+userColumns+` FROM users WHERE email = ? AND tenant_id = ?`), email, tenantID)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: login: %w", err)
	}
	if len(rows) != 1 {
		return nil, nil
	}
	return &rows[0], nil
}

// startFamily creates a family and its first refresh token for u and
// mints an access token.
func (s *Service) startFamily(ctx context.Context, tx *sqlx.Tx, u *User, now time.Time) (*TokenPair, error) {
	famID, err := s.ids.Next(now)
	famID = familyIDPrefix + famID
	if err != nil {
		return nil, err
	}
	abs := now.Add(s.absoluteTTL(u.Role))
	_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO refresh_families (id, tenant_id, user_id, created_at, absolute_expires_at) VALUES (?, ?, ?, ?, ?)`),
		famID, u.TenantID, u.ID, storage.Timestamp(now), storage.Timestamp(abs))
	if err != nil {
		return nil, err
	}
	return s.issue(ctx, tx, u.ID, u.TenantID, famID, u.Role, now, abs)
}

func (s *Service) absoluteTTL(r Role) time.Duration {
	if r == RoleAdmin {
		return s.cfg.AdminRefreshAbsoluteTTL
	}
	return s.cfg.RefreshAbsoluteTTL
}

// issue stores a new refresh token of the family (idle expiry, capped by
// the family's absolute expiry) and mints an access token.
func (s *Service) issue(ctx context.Context, tx *sqlx.Tx, userID, tenantID, famID string, role Role, now, absolute time.Time) (*TokenPair, error) {
	rt, hash, err := newRefreshToken()
	if err != nil {
		return nil, err
	}
	_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at) VALUES (?, ?, ?, ?)`),
		hash, famID, storage.Timestamp(now), storage.Timestamp(earlier(now.Add(s.cfg.RefreshIdleTTL), absolute)))
	if err != nil {
		return nil, err
	}
	at, err := s.signer.mint(accessToken{userID: userID, tenantID: tenantID, familyID: famID, role: role})
	if err != nil {
		return nil, err
	}
	return &TokenPair{AccessToken: at, RefreshToken: rt, TokenType: "Bearer", ExpiresIn: int(s.cfg.AccessTTL / time.Second), FamilyID: famID}, nil
}

// refreshRow is what Refresh reads about a presented token.
type refreshRow struct {
	FamilyID       string         `db:"family_id"`
	ExpiresAt      string         `db:"expires_at"`
	UserID         string         `db:"user_id"`
	TenantID       string         `db:"tenant_id"`
	FamilyCreated  string         `db:"family_created_at"`
	AbsoluteExpiry string         `db:"absolute_expires_at"`
	RevokedAt      sql.NullString `db:"revoked_at"`
	Role           string         `db:"role"`
	Disabled       bool           `db:"disabled"`
}

// Refresh rotates a refresh token: it is consumed and a new pair of the
// same family is returned.
//
// In one BEGIN IMMEDIATE transaction the token is marked used with
// UPDATE ... WHERE hash = ? AND used_at IS NULL. When that changes no row
// although the token is known, the token was rotated before: the whole
// family is revoked, the revocation committed, the event audited as
// auth.refresh_reuse_detected, and ErrTokenReused returned (RFC 9700
// 4.14.2). Of concurrent refreshes with one token exactly one succeeds.
//
// Other errors: ErrTokenExpired past the token's idle expiry or the
// family's absolute expiry (shortened to AdminRefreshAbsoluteTTL for a user
// who is an admin now); ErrInvalidToken for a malformed or unknown token,
// a revoked family or a disabled user.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (*TokenPair, error) {
	hash, err := parseRefreshToken(refreshToken)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var (
		pair   *TokenPair
		reused *refreshRow
		newly  bool
	)
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		ts := storage.Timestamp(now)
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL`), ts, hash)
		if err != nil {
			return err
		}
		consumed, err := res.RowsAffected()
		if err != nil {
			return err
		}
		var r refreshRow
		err = tx.GetContext(ctx, &r, tx.Rebind(`SELECT t.family_id, t.expires_at, f.user_id, f.tenant_id,
				f.created_at AS family_created_at, f.absolute_expires_at, f.revoked_at, u.role, u.disabled
			FROM refresh_tokens t
			JOIN refresh_families f ON f.id = t.family_id
			JOIN users u ON u.id = f.user_id
			WHERE t.hash = ?`), hash)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrInvalidToken
		}
		if err != nil {
			return err
		}
		if consumed == 0 {
			// Reuse. Commit the revocation, then report.
			reused = &r
			res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE refresh_families SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL`),
				ts, reasonReuse, r.FamilyID)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			newly = n > 0
			return err
		}
		if r.RevokedAt.Valid || r.Disabled {
			return ErrInvalidToken
		}
		idle, err1 := storage.ParseTimestamp(r.ExpiresAt)
		abs, err2 := storage.ParseTimestamp(r.AbsoluteExpiry)
		created, err3 := storage.ParseTimestamp(r.FamilyCreated)
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		role := Role(r.Role)
		if role == RoleAdmin {
			abs = earlier(abs, created.Add(s.cfg.AdminRefreshAbsoluteTTL))
		}
		if !now.Before(idle) || !now.Before(abs) {
			return ErrTokenExpired
		}
		pair, err = s.issue(ctx, tx, r.UserID, r.TenantID, r.FamilyID, role, now, abs)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE refresh_tokens SET replaced_by = ? WHERE hash = ?`), hashRefreshToken(pair.RefreshToken), hash)
		return err
	})
	switch {
	case errors.Is(err, ErrInvalidToken), errors.Is(err, ErrTokenExpired):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("auth: refresh: %w", err)
	case reused != nil:
		s.log.WarnContext(ctx, "auth: refresh token reuse detected; family revoked",
			slog.String("family_id", reused.FamilyID), slog.String("user_id", reused.UserID), slog.String("tenant_id", reused.TenantID))
		s.audit(ctx, AuditEvent{TenantID: reused.TenantID, ActorID: reused.UserID, Action: ActionRefreshReuseDetected,
			TargetType: "refresh_family", TargetID: reused.FamilyID, Result: ResultFailure,
			Details: map[string]any{"family_id": reused.FamilyID, "user_id": reused.UserID, "family_revoked_now": newly}})
		return nil, ErrTokenReused
	}
	return pair, nil
}

// Logout revokes the family of refreshToken (any token of the family,
// used or not; an already revoked family is fine). The family's access
// tokens are refused from then on too. Unknown or malformed:
// ErrInvalidToken. Audited as auth.logout.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	hash, err := parseRefreshToken(refreshToken)
	if err != nil {
		return err
	}
	var fam struct {
		ID       string `db:"id"`
		TenantID string `db:"tenant_id"`
		UserID   string `db:"user_id"`
	}
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &fam, tx.Rebind(`SELECT f.id, f.tenant_id, f.user_id FROM refresh_tokens t
			JOIN refresh_families f ON f.id = t.family_id WHERE t.hash = ?`), hash)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrInvalidToken
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE refresh_families SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL`),
			storage.Timestamp(s.now()), reasonLogout, fam.ID)
		return err
	})
	if errors.Is(err, ErrInvalidToken) {
		return err
	}
	if err != nil {
		return fmt.Errorf("auth: logout: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: fam.TenantID, ActorID: fam.UserID, Action: ActionLogout, TargetType: "refresh_family", TargetID: fam.ID, Result: ResultSuccess})
	return nil
}

// RevokeUser revokes every family of the user and sets its cutoff to now,
// so its refresh and access tokens are refused at once; it may log in
// again. ErrNotFound for a user of another tenant. Audited as admin.revoke.
func (s *Service) RevokeUser(ctx context.Context, tenantID, userID string) error {
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		return s.cutUser(ctx, tx, tenantID, userID, reasonAdminRevoke, s.now(), "")
	})
	if err != nil {
		return fmt.Errorf("auth: revoke user: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: tenantID, ActorID: s.actor(ctx), Action: ActionRevoke, TargetType: "user", TargetID: userID, Result: ResultSuccess})
	return nil
}

// RevokeFamily revokes one family: its refresh tokens and the access
// tokens issued with it are refused at once. ErrNotFound for an unknown
// family or one of another tenant; revoking a revoked family is fine.
// Audited as admin.revoke.
func (s *Service) RevokeFamily(ctx context.Context, tenantID, familyID string) error {
	if !validFamilyID(familyID) || !validTenantID(tenantID) {
		return fmt.Errorf("auth: revoke family: %w", ErrNotFound)
	}
	var userID string
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &userID, tx.Rebind(`SELECT user_id FROM refresh_families WHERE id = ? AND tenant_id = ?`), familyID, tenantID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE refresh_families SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL`),
			storage.Timestamp(s.now()), reasonAdminRevoke, familyID)
		return err
	})
	if err != nil {
		return fmt.Errorf("auth: revoke family: %w", err)
	}
	s.audit(ctx, AuditEvent{TenantID: tenantID, ActorID: s.actor(ctx), Action: ActionRevoke, TargetType: "refresh_family", TargetID: familyID, Result: ResultSuccess,
		Details: map[string]any{"user_id": userID}})
	return nil
}

// PurgeExpired deletes the families (and their tokens) whose absolute
// expiry is more than a day past, and returns how many. Their tokens would
// be refused anyway; keeping them a day lets reuse still be reported.
func (s *Service) PurgeExpired(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		cut := storage.Timestamp(s.now().Add(-24 * time.Hour))
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM refresh_tokens WHERE family_id IN
			(SELECT id FROM refresh_families WHERE absolute_expires_at < ?)`), cut); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM refresh_families WHERE absolute_expires_at < ?`), cut)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("auth: purge: %w", err)
	}
	return n, nil
}

// verifyRow is what VerifyAccess reads: the user, and the token's family.
type verifyRow struct {
	TenantID         string         `db:"tenant_id"`
	Email            string         `db:"email"`
	Role             string         `db:"role"`
	Disabled         bool           `db:"disabled"`
	TokensValidAfter string         `db:"tokens_valid_after"`
	FamilyUser       sql.NullString `db:"family_user_id"`
	FamilyRevoked    sql.NullString `db:"family_revoked_at"`
}

// VerifyAccess verifies an access token and returns its Principal.
//
// The token must be at most MaxTokenBytes, HS256 with a kid of the key
// set, typ at+jwt in the header and the claims, with exp (within the
// leeway), iss, aud, iat, nbf, jti, sub, tid and fid. Then one read of the
// database checks that the user exists in the token's tenant, is not
// disabled, that the token was issued at or after the user's
// tokens_valid_after, and that its family is not revoked; so revoke,
// logout, disable and password change take effect at once. Role and tenant
// come from the database, not the token.
//
// Errors: ErrTokenExpired for a genuine token past exp, ErrInvalidToken
// for everything else (the wrapped reason is safe to log).
func (s *Service) VerifyAccess(ctx context.Context, token string) (*Principal, error) {
	c, err := s.signer.verify(token)
	if err != nil {
		s.rejected(ctx, err)
		return nil, err
	}
	var r verifyRow
	err = s.db.Read.GetContext(ctx, &r, s.db.Read.Rebind(`SELECT u.tenant_id, u.email, u.role, u.disabled, u.tokens_valid_after,
			f.user_id AS family_user_id, f.revoked_at AS family_revoked_at
		FROM users u LEFT JOIN refresh_families f ON f.id = ?
		WHERE u.id = ?`), c.FamilyID, c.Subject)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, s.rejected(ctx, fmt.Errorf("%w: unknown user", ErrInvalidToken))
	}
	if err != nil {
		return nil, fmt.Errorf("auth: verify: %w", err)
	}
	cutoff, err := storage.ParseTimestamp(r.TokensValidAfter)
	if err != nil {
		return nil, fmt.Errorf("auth: verify: %w", err)
	}
	switch {
	case r.Disabled:
		return nil, s.rejected(ctx, fmt.Errorf("%w: user disabled", ErrInvalidToken))
	case r.TenantID != c.TenantID:
		return nil, s.rejected(ctx, fmt.Errorf("%w: tenant mismatch", ErrInvalidToken))
	case c.IssuedAt.Before(cutoff):
		return nil, s.rejected(ctx, fmt.Errorf("%w: issued before the user's cutoff", ErrInvalidToken))
	case !r.FamilyUser.Valid || r.FamilyUser.String != c.Subject:
		return nil, s.rejected(ctx, fmt.Errorf("%w: unknown family", ErrInvalidToken))
	case r.FamilyRevoked.Valid:
		return nil, s.rejected(ctx, fmt.Errorf("%w: family revoked", ErrInvalidToken))
	}
	role := Role(r.Role)
	if !role.Valid() {
		return nil, s.rejected(ctx, fmt.Errorf("%w: bad role", ErrInvalidToken))
	}
	return &Principal{UserID: c.Subject, TenantID: r.TenantID, Email: r.Email, Role: role, TokenID: c.ID, FamilyID: c.FamilyID}, nil
}

// rejected logs a refused access token (auth.token_rejected, with the
// reason and never the token) and returns err.
func (s *Service) rejected(ctx context.Context, err error) error {
	s.log.LogAttrs(ctx, slog.LevelInfo, "auth.token_rejected", slog.String("reason", err.Error()))
	return err
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
