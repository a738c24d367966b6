package auth

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestT40_RefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := e.user(t, DefaultTenantID, "rot@example.com", RoleEditor)
	p1 := e.login(t, "rot@example.com")
	e.clock.Advance(time.Second)
	p2, err := e.svc.Refresh(e.ctx, p1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if p2.RefreshToken == p1.RefreshToken || p2.AccessToken == p1.AccessToken || p2.FamilyID != p1.FamilyID {
		t.Fatalf("rotation: %+v -> %+v", p1, p2)
	}
	if _, err := e.svc.VerifyAccess(e.ctx, p2.AccessToken); err != nil {
		t.Fatalf("new access token: %v", err)
	}
	// Reuse RT1.
	if _, err := e.svc.Refresh(e.ctx, p1.RefreshToken); !errors.Is(err, ErrTokenReused) {
		t.Fatalf("reuse of RT1: %v, want ErrTokenReused", err)
	}
	// The family is dead: RT2, and the family's access tokens.
	if _, err := e.svc.Refresh(e.ctx, p2.RefreshToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("RT2 after reuse: %v, want ErrInvalidToken", err)
	}
	if _, err := e.svc.VerifyAccess(e.ctx, p2.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("access token of the revoked family: %v", err)
	}
	var reason string
	if err := e.db.Read.GetContext(e.ctx, &reason, `SELECT revoke_reason FROM refresh_families WHERE id = ?`, p1.FamilyID); err != nil || reason != reasonReuse {
		t.Errorf("revoke_reason = %q, %v", reason, err)
	}
	ev := e.audit.byAction(ActionRefreshReuseDetected)
	if len(ev) != 1 {
		t.Fatalf("reuse events = %+v", ev)
	}
	if ev[0].TenantID != DefaultTenantID || ev[0].ActorID != u.ID || ev[0].TargetID != p1.FamilyID ||
		ev[0].Details["family_id"] != p1.FamilyID || ev[0].Details["user_id"] != u.ID {
		t.Errorf("reuse event = %+v", ev[0])
	}
	for _, e := range e.audit.events {
		for _, v := range e.Details {
			if s, ok := v.(string); ok && (s == p1.RefreshToken || s == p2.RefreshToken || s == testPassword) {
				t.Errorf("audit event %s holds a secret", e.Action)
			}
		}
	}
	// A fresh login works.
	p3 := e.login(t, "rot@example.com")
	if _, err := e.svc.Refresh(e.ctx, p3.RefreshToken); err != nil {
		t.Errorf("refresh after a fresh login: %v", err)
	}
}

func TestT41_ConcurrentRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.user(t, DefaultTenantID, "race@example.com", RoleEditor)
	p := e.login(t, "race@example.com")
	const n = 20
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
		pairs = make([]*TokenPair, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			pairs[i], errs[i] = e.svc.Refresh(e.ctx, p.RefreshToken)
		})
	}
	close(start)
	wg.Wait()
	ok, reused := 0, 0
	var winner *TokenPair
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
			winner = pairs[i]
		case errors.Is(err, ErrTokenReused):
			reused++
		default:
			t.Errorf("refresh %d: %v", i, err)
		}
	}
	if ok != 1 || reused != n-1 {
		t.Fatalf("successes %d, reuses %d; want 1 and %d", ok, reused, n-1)
	}
	// No live successor: the family is revoked, the winner's token too.
	if _, err := e.svc.Refresh(e.ctx, winner.RefreshToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("winner's token after the race: %v", err)
	}
	var live int
	if err := e.db.Read.GetContext(e.ctx, &live, `SELECT COUNT(*) FROM refresh_families WHERE revoked_at IS NULL`); err != nil || live != 0 {
		t.Errorf("live families = %d, %v", live, err)
	}
	if ev := e.audit.byAction(ActionRefreshReuseDetected); len(ev) != n-1 {
		t.Errorf("reuse events = %d, want %d", len(ev), n-1)
	}
}

func TestT42_RevokeUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := e.user(t, DefaultTenantID, "rev@example.com", RoleEditor)
	admin := e.user(t, DefaultTenantID, "admin@example.com", RoleAdmin)
	other := e.user(t, "acme", "x@acme.example", RoleViewer)
	p := e.login(t, "rev@example.com")
	p2 := e.login(t, "rev@example.com")
	e.clock.Advance(time.Second)
	ctx := WithPrincipal(e.ctx, &Principal{UserID: admin.ID, TenantID: DefaultTenantID, Role: RoleAdmin})
	if err := e.svc.RevokeUser(ctx, DefaultTenantID, u.ID); err != nil {
		t.Fatal(err)
	}
	for _, pair := range []*TokenPair{p, p2} {
		if _, err := e.svc.Refresh(e.ctx, pair.RefreshToken); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("refresh after revoke: %v", err)
		}
		if _, err := e.svc.VerifyAccess(e.ctx, pair.AccessToken); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("access after revoke: %v", err)
		}
	}
	// The user may log in again, and the new tokens work.
	e.clock.Advance(time.Second)
	p3 := e.login(t, "rev@example.com")
	if _, err := e.svc.VerifyAccess(e.ctx, p3.AccessToken); err != nil {
		t.Errorf("new login after revoke: %v", err)
	}
	// Another tenant's user, unknown ids and bad shapes: ErrNotFound.
	for _, tc := range [][2]string{{DefaultTenantID, other.ID}, {"acme", u.ID}, {DefaultTenantID, "usr_x"}, {DefaultTenantID, "' OR 1=1--"}} {
		if err := e.svc.RevokeUser(ctx, tc[0], tc[1]); !errors.Is(err, ErrNotFound) {
			t.Errorf("RevokeUser(%q, %q) = %v, want ErrNotFound", tc[0], tc[1], err)
		}
	}
	ev := e.audit.byAction(ActionRevoke)
	if len(ev) != 1 || ev[0].ActorID != admin.ID || ev[0].TargetID != u.ID || ev[0].TargetType != "user" {
		t.Errorf("admin.revoke events = %+v", ev)
	}

	// RevokeFamily: one session only.
	p4 := e.login(t, "rev@example.com")
	if err := e.svc.RevokeFamily(ctx, "acme", p4.FamilyID); !errors.Is(err, ErrNotFound) {
		t.Errorf("RevokeFamily other tenant: %v", err)
	}
	if err := e.svc.RevokeFamily(ctx, DefaultTenantID, "fam_01jd0000000000000000000000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RevokeFamily unknown: %v", err)
	}
	if err := e.svc.RevokeFamily(ctx, DefaultTenantID, p4.FamilyID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Refresh(e.ctx, p4.RefreshToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("refresh of revoked family: %v", err)
	}
	if _, err := e.svc.VerifyAccess(e.ctx, p4.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("access of revoked family: %v", err)
	}
	if _, err := e.svc.VerifyAccess(e.ctx, p3.AccessToken); err != nil {
		t.Errorf("the other family's access token: %v", err)
	}
}

func TestT43_PasswordChangeAndDisable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := e.user(t, DefaultTenantID, "pw@example.com", RoleEditor)
	old := e.login(t, "pw@example.com")
	e.clock.Advance(time.Second)
	const newPassword = "a much better pass phrase"
	if err := e.svc.SetPassword(e.ctx, DefaultTenantID, u.ID, "short"); err == nil {
		t.Error("short password accepted")
	}
	if err := e.svc.SetPassword(e.ctx, "acme", u.ID, newPassword); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetPassword other tenant: %v", err)
	}
	if err := e.svc.SetPassword(e.ctx, DefaultTenantID, u.ID, newPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Refresh(e.ctx, old.RefreshToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("old refresh after password change: %v", err)
	}
	if _, err := e.svc.VerifyAccess(e.ctx, old.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("old access after password change: %v", err)
	}
	if _, _, err := e.svc.Login(e.ctx, "pw@example.com", testPassword, ""); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("old password: %v", err)
	}
	// Same instant as the change (fake clock unchanged): the new token counts.
	fresh, _, err := e.svc.Login(e.ctx, "pw@example.com", newPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.VerifyAccess(e.ctx, fresh.AccessToken); err != nil {
		t.Errorf("token issued after the change: %v", err)
	}

	e.clock.Advance(time.Second)
	if err := e.svc.DisableUser(e.ctx, "acme", u.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("DisableUser other tenant: %v", err)
	}
	if err := e.svc.DisableUser(e.ctx, DefaultTenantID, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Refresh(e.ctx, fresh.RefreshToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("refresh after disable: %v", err)
	}
	if _, err := e.svc.VerifyAccess(e.ctx, fresh.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("access after disable: %v", err)
	}
	if _, _, err := e.svc.Login(e.ctx, "pw@example.com", newPassword, ""); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("disabled login: %v", err)
	}
	got, _ := e.svc.GetUser(e.ctx, DefaultTenantID, u.ID)
	if !got.Disabled || got.TokensValidAfter.Before(e.clock.Now()) {
		t.Errorf("disabled user = %+v", got)
	}
	if len(e.audit.byAction(ActionPasswordChanged)) != 1 || len(e.audit.byAction(ActionUserDisabled)) != 1 {
		t.Errorf("audit: %+v", e.audit.events)
	}
	fails := e.audit.byAction(ActionLoginFailed)
	if len(fails) != 2 || fails[1].Details["reason"] != "disabled" || fails[1].TargetID != u.ID {
		t.Errorf("login_failed events = %+v", fails)
	}
}

func TestT44_RefreshLifetimeAndStorage(t *testing.T) {
	t.Parallel()
	t.Run("absolute", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		e.user(t, DefaultTenantID, "abs@example.com", RoleEditor)
		p := e.login(t, "abs@example.com")
		rt := p.RefreshToken
		// Refresh every day: fine until day 30, then expired.
		days := 0
		for ; days < 40; days++ {
			e.clock.Advance(24 * time.Hour)
			np, err := e.svc.Refresh(e.ctx, rt)
			if errors.Is(err, ErrTokenExpired) {
				break
			}
			if err != nil {
				t.Fatalf("day %d: %v", days+1, err)
			}
			rt = np.RefreshToken
		}
		if days+1 != 30 {
			t.Errorf("expired on day %d, want 30", days+1)
		}
	})
	t.Run("admin absolute", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		e.user(t, DefaultTenantID, "adm@example.com", RoleAdmin)
		p := e.login(t, "adm@example.com")
		e.clock.Advance(23 * time.Hour)
		p2, err := e.svc.Refresh(e.ctx, p.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Hour)
		if _, err := e.svc.Refresh(e.ctx, p2.RefreshToken); !errors.Is(err, ErrTokenExpired) {
			t.Errorf("admin family after 24 h: %v", err)
		}
	})
	t.Run("promoted to admin", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		u := e.user(t, DefaultTenantID, "pro@example.com", RoleEditor)
		p := e.login(t, "pro@example.com")
		if err := e.svc.SetRole(e.ctx, DefaultTenantID, u.ID, RoleAdmin); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(25 * time.Hour)
		if _, err := e.svc.Refresh(e.ctx, p.RefreshToken); !errors.Is(err, ErrTokenExpired) {
			t.Errorf("editor family of a user now admin after 25 h: %v", err)
		}
	})
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		e.user(t, DefaultTenantID, "idle@example.com", RoleEditor)
		p := e.login(t, "idle@example.com")
		e.clock.Advance(DefaultRefreshIdleTTL - time.Second)
		p2, err := e.svc.Refresh(e.ctx, p.RefreshToken)
		if err != nil {
			t.Fatalf("just before idle expiry: %v", err)
		}
		e.clock.Advance(DefaultRefreshIdleTTL)
		if _, err := e.svc.Refresh(e.ctx, p2.RefreshToken); !errors.Is(err, ErrTokenExpired) {
			t.Errorf("after idle expiry: %v", err)
		}
		// An expired refresh is not consumed: presenting it again is still
		// "expired", not reuse.
		if _, err := e.svc.Refresh(e.ctx, p2.RefreshToken); !errors.Is(err, ErrTokenExpired) {
			t.Errorf("expired token again: %v", err)
		}
	})
	t.Run("only hashes stored", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		e.user(t, DefaultTenantID, "hash@example.com", RoleEditor)
		var secrets []string
		p := e.login(t, "hash@example.com")
		secrets = append(secrets, p.RefreshToken, p.AccessToken)
		for range 3 {
			np, err := e.svc.Refresh(e.ctx, p.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			p = np
			secrets = append(secrets, p.RefreshToken, p.AccessToken)
		}
		var found bool
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, err := os.ReadFile(e.db.Path() + suffix)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range append(slices.Clone(secrets), testPassword) {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("%s%s contains a secret (%d bytes)", e.db.Path(), suffix, len(s))
				}
				if len(s) > 40 && bytes.Contains(b, []byte(s[4:40])) {
					t.Errorf("%s%s contains part of a secret", e.db.Path(), suffix)
				}
			}
			found = found || bytes.Contains(b, []byte(hashRefreshToken(p.RefreshToken)))
		}
		if !found {
			t.Error("the token hash is not in the database files either: the search looked in the wrong place")
		}
	})
}

func TestT45_LoginEnumeration(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.user(t, DefaultTenantID, "known@example.com", RoleEditor)
	_, _, errWrong := e.svc.Login(e.ctx, "known@example.com", "wrong password 123", "")
	_, _, errUnknown := e.svc.Login(e.ctx, "nobody@example.com", "wrong password 123", "")
	if errWrong != ErrInvalidCredentials || errUnknown != ErrInvalidCredentials || errWrong.Error() != errUnknown.Error() {
		t.Fatalf("wrong password: %v; unknown user: %v; want the identical ErrInvalidCredentials", errWrong, errUnknown)
	}
	const n = 20
	timeIt := func(email string) time.Duration {
		ds := make([]time.Duration, n)
		for i := range ds {
			start := time.Now()
			_, _, err := e.svc.Login(e.ctx, email, "wrong password 123", "")
			ds[i] = time.Since(start)
			if !errors.Is(err, ErrInvalidCredentials) {
				t.Fatal(err)
			}
		}
		slices.Sort(ds)
		return ds[n/2]
	}
	wrong, unknown := timeIt("known@example.com"), timeIt("nobody@example.com")
	t.Logf("median login latency: wrong password %v, unknown user %v (ratio %.2f)", wrong, unknown, float64(unknown)/float64(wrong))
	fails := e.audit.byAction(ActionLoginFailed)
	if len(fails) != 2*n+2 {
		t.Errorf("login_failed events = %d, want %d", len(fails), 2*n+2)
	}
	for _, f := range fails {
		for _, v := range f.Details {
			if v == "wrong password 123" {
				t.Fatal("password in an audit event")
			}
		}
	}
	if f := fails[0]; f.TenantID != DefaultTenantID || f.Details["reason"] != "bad_password" {
		t.Errorf("first failure = %+v", f)
	}
	if f := fails[1]; f.TenantID != "" || f.TargetID != "" || f.Details["reason"] != "unknown_user" || f.Details["email"] != "nobody@example.com" {
		t.Errorf("unknown-user failure = %+v", f)
	}
	// Oversized and malformed inputs fail the same way.
	for _, tc := range [][2]string{{"known@example.com", string(make([]byte, MaxPasswordBytes+1))}, {"", ""}, {"not an email", "x"}} {
		if _, _, err := e.svc.Login(e.ctx, tc[0], tc[1], ""); err != ErrInvalidCredentials {
			t.Errorf("Login(%.20q) = %v", tc[0], err)
		}
	}
}
