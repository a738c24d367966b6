package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRole(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"viewer", "editor", "admin"} {
		if r, err := ParseRole(s); err != nil || string(r) != s {
			t.Errorf("ParseRole(%q) = %q, %v", s, r, err)
		}
	}
	for _, s := range []string{"", "Admin", " admin", "root", "owner"} {
		_, err := ParseRole(s)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "role" {
			t.Errorf("ParseRole(%q) error = %v, want *ValidationError on role", s, err)
		}
	}
	cases := []struct {
		r, need Role
		want    bool
	}{
		{RoleAdmin, RoleAdmin, true}, {RoleAdmin, RoleEditor, true}, {RoleAdmin, RoleViewer, true},
		{RoleEditor, RoleAdmin, false}, {RoleEditor, RoleEditor, true}, {RoleEditor, RoleViewer, true},
		{RoleViewer, RoleAdmin, false}, {RoleViewer, RoleEditor, false}, {RoleViewer, RoleViewer, true},
		{"", RoleViewer, false}, {"root", RoleViewer, false}, {RoleAdmin, "", false}, {RoleAdmin, "root", false},
	}
	for _, c := range cases {
		if got := c.r.Allows(c.need); got != c.want {
			t.Errorf("%q.Allows(%q) = %v, want %v", c.r, c.need, got, c.want)
		}
	}
}

func TestPrincipalContext(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	if _, ok := PrincipalFromContext(ctx); ok {
		t.Fatal("principal in a bare context")
	}
	p := &Principal{UserID: "usr_x", Role: RoleEditor}
	got, ok := PrincipalFromContext(WithPrincipal(ctx, p))
	if !ok || got != p {
		t.Fatalf("PrincipalFromContext = %v, %v", got, ok)
	}
	if _, ok := PrincipalFromContext(WithPrincipal(ctx, nil)); ok {
		t.Fatal("nil principal reported as present")
	}
}

func TestNewConfigErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for name, tc := range map[string]struct {
		cfg  Config
		want string
	}{
		"no db":         {Config{Keys: testKeys()}, "Config.DB"},
		"no keys":       {Config{DB: e.db}, "Config.Keys"},
		"short secret":  {Config{DB: e.db, Keys: KeySet{Current: "a", Keys: map[string][]byte{"a": []byte("short")}}}, "at least 32"},
		"current":       {Config{DB: e.db, Keys: KeySet{Current: "b", Keys: map[string][]byte{"a": testSecret}}}, "Current"},
		"leeway":        {Config{DB: e.db, Keys: testKeys(), Leeway: time.Hour}, "Config.Leeway"},
		"leeway vs ttl": {Config{DB: e.db, Keys: testKeys(), Leeway: time.Minute, AccessTTL: time.Minute}, "Config.Leeway"},
		"negative":      {Config{DB: e.db, Keys: testKeys(), RefreshIdleTTL: -1}, "negative"},
		"five keys": {Config{DB: e.db, Keys: KeySet{Current: "a", Keys: map[string][]byte{
			"a": testSecret, "b": testSecret, "c": testSecret, "d": testSecret, "e": testSecret}}}, "at most 4"},
		"bad kid": {Config{DB: e.db, Keys: KeySet{Current: "../x", Keys: map[string][]byte{"../x": testSecret}}}, "bad key id"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New error = %v, want it to mention %q", name, err, tc.want)
		}
	}
}

func TestLoadKeySet(t *testing.T) {
	t.Parallel()
	secret := strings.Repeat("s", 32)
	t.Run("single secret", func(t *testing.T) {
		ks, err := LoadKeySet("", secret)
		if err != nil || len(ks.Keys) != 1 || string(ks.Keys[ks.Current]) != secret || ks.Current != DeriveKID([]byte(secret)) {
			t.Fatalf("LoadKeySet = %+v, %v", ks, err)
		}
		// Base64 padding in a single secret is not a kid=secret pair.
		padded := "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwMTI="
		ks, err = LoadKeySet("", padded)
		if err != nil || string(ks.Keys[ks.Current]) != padded {
			t.Fatalf("padded secret: %+v, %v", ks, err)
		}
	})
	t.Run("list", func(t *testing.T) {
		ks, err := LoadKeySet("", "new="+secret+"1, old="+secret+"2")
		if err != nil || ks.Current != "new" || string(ks.Keys["old"]) != secret+"2" || len(ks.Keys) != 2 {
			t.Fatalf("LoadKeySet = %+v, %v", ks, err)
		}
	})
	for name, v := range map[string]string{
		"short":     "short",
		"short kid": "a=" + secret + ",b=short",
		"dup":       "a=" + secret + ",a=" + secret,
		"five":      "a=" + secret + ",b=" + secret + ",c=" + secret + ",d=" + secret + ",e=" + secret,
		"no eq":     "a=" + secret + "," + secret,
		"bad kid":   "../a=" + secret + ",b=" + secret,
	} {
		if _, err := LoadKeySet("", v); err == nil {
			t.Errorf("%s: LoadKeySet accepted %q", name, v)
		}
	}
	t.Run("generated", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		ks, err := LoadKeySet(dir, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(ks.Keys[ks.Current]) != 32 {
			t.Fatalf("generated key of %d bytes", len(ks.Keys[ks.Current]))
		}
		st, err := os.Stat(filepath.Join(dir, KeyFileName))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("key file: %v, %v", st, err)
		}
		again, err := LoadKeySet(dir, "")
		if err != nil || again.Current != ks.Current || string(again.Keys[again.Current]) != string(ks.Keys[ks.Current]) {
			t.Fatalf("second load = %+v, %v; want the same key", again, err)
		}
		if m, _ := filepath.Glob(filepath.Join(dir, ".jwt-keys-*")); len(m) != 0 {
			t.Errorf("temporary files left: %v", m)
		}
		if err := os.Chmod(filepath.Join(dir, KeyFileName), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKeySet(dir, ""); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("world-readable key file: %v", err)
		}
	})
	t.Run("concurrent create", func(t *testing.T) {
		dir := t.TempDir()
		const n = 8
		res := make(chan KeySet, n)
		for range n {
			go func() {
				ks, err := LoadKeySet(dir, "")
				if err != nil {
					t.Error(err)
				}
				res <- ks
			}()
		}
		first := <-res
		for range n - 1 {
			if ks := <-res; ks.Current != first.Current {
				t.Errorf("processes got different keys: %s and %s", ks.Current, first.Current)
			}
		}
	})
}

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	h := &hasher{params: defaultArgon2, sem: make(chan struct{}, 1)}
	ctx := t.Context()
	enc, err := h.hash(ctx, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=65536,t=2,p=2$") {
		t.Fatalf("hash = %s", enc)
	}
	if ok, rehash, err := h.verify(ctx, testPassword, enc); !ok || rehash || err != nil {
		t.Fatalf("verify right = %v %v %v", ok, rehash, err)
	}
	if ok, _, err := h.verify(ctx, testPassword+"x", enc); ok || err != nil {
		t.Fatalf("verify wrong = %v %v", ok, err)
	}
	// Older parameters verify and ask for a re-hash.
	old := &hasher{params: argon2Params{Memory: 8 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, sem: make(chan struct{}, 1)}
	oldEnc, _ := old.hash(ctx, testPassword)
	if ok, rehash, err := h.verify(ctx, testPassword, oldEnc); !ok || !rehash || err != nil {
		t.Fatalf("verify old params = %v %v %v", ok, rehash, err)
	}
	parts := strings.Split(enc, "$")
	for _, bad := range []string{
		"", "plain", "$argon2i$v=19$m=65536,t=2,p=2$" + parts[4] + "$" + parts[5],
		"$argon2id$v=16$m=65536,t=2,p=2$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=4294967295,t=1,p=2$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=65536,t=1000,p=2$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=65536,t=0,p=2$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=65536,p=2,t=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=065536,t=1,p=2$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=65536,t=1,p=2$$" + parts[5],
		"$argon2id$v=19$m=65536,t=2,p=2$" + parts[4] + "$" + parts[5] + "=",
		"$argon2id$v=19$m=65536,t=2,p=2$" + parts[4] + "$" + parts[5] + "$x",
	} {
		if ok, _, err := h.verify(ctx, testPassword, bad); ok || err == nil {
			t.Errorf("verify(%q) = %v, %v; want an error", bad, ok, err)
		}
	}
}

func TestCreateUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u, err := e.svc.CreateUser(e.ctx, DefaultTenantID, "  Alice@Example.COM ", testPassword, RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	if !validUserID(u.ID) || u.Email != "alice@example.com" || u.Role != RoleEditor || u.TenantID != DefaultTenantID || u.Disabled {
		t.Fatalf("user = %+v", u)
	}
	got, err := e.svc.GetUser(e.ctx, DefaultTenantID, u.ID)
	if err != nil || *got != *u {
		t.Fatalf("GetUser = %+v, %v; want %+v", got, err, u)
	}
	if _, err := e.svc.CreateUser(e.ctx, DefaultTenantID, "alice@example.com", testPassword, RoleViewer); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate email: %v, want ErrConflict", err)
	}
	if _, err := e.svc.CreateUser(e.ctx, "nope", "bob@example.com", testPassword, RoleViewer); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown tenant: %v, want ErrNotFound", err)
	}
	// The same email in another tenant is another user.
	if _, err := e.svc.EnsureTenant(e.ctx, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	other, err := e.svc.CreateUser(e.ctx, "acme", "alice@example.com", testPassword, RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.GetUser(e.ctx, DefaultTenantID, other.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetUser across tenants: %v, want ErrNotFound", err)
	}
	for name, tc := range map[string]struct {
		email, pw string
		role      Role
		field     string
	}{
		"email empty":  {"", testPassword, RoleViewer, "email"},
		"email no at":  {"alice", testPassword, RoleViewer, "email"},
		"email name":   {"Alice <a@b.c>", testPassword, RoleViewer, "email"},
		"email space":  {"a b@c.d", testPassword, RoleViewer, "email"},
		"email two at": {"a@b@c.d", testPassword, RoleViewer, "email"},
		"short pw":     {"c@d.e", "elevenchars", RoleViewer, "password"},
		"long pw":      {"c@d.e", strings.Repeat("x", MaxPasswordBytes+1), RoleViewer, "password"},
		"role":         {"c@d.e", testPassword, "root", "role"},
	} {
		_, err := e.svc.CreateUser(e.ctx, DefaultTenantID, tc.email, tc.pw, tc.role)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("%s: error %v, want *ValidationError on %s", name, err, tc.field)
		}
	}
	all, err := e.svc.ListUsers(e.ctx, "")
	if err != nil || len(all) != 2 {
		t.Fatalf("ListUsers all = %d, %v", len(all), err)
	}
	acme, err := e.svc.ListUsers(e.ctx, "acme")
	if err != nil || len(acme) != 1 || acme[0].ID != other.ID {
		t.Fatalf("ListUsers acme = %v, %v", acme, err)
	}
	if n, err := e.svc.CountUsers(e.ctx); n != 2 || err != nil {
		t.Fatalf("CountUsers = %d, %v", n, err)
	}
	if ev := e.audit.byAction(ActionUserCreated); len(ev) != 2 || ev[0].ActorID != ActorSystem {
		t.Errorf("user.created events = %+v", ev)
	}
	// A login without tenant for an email in two tenants fails; with it, works.
	if _, _, err := e.svc.Login(e.ctx, "alice@example.com", testPassword, ""); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("ambiguous login: %v", err)
	}
	if _, u2, err := e.svc.Login(e.ctx, "ALICE@example.com", testPassword, "acme"); err != nil || u2.ID != other.ID {
		t.Errorf("login with tenant: %v, %v", u2, err)
	}
}

func TestEnsureTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	d, err := e.svc.GetTenant(e.ctx, DefaultTenantID)
	if err != nil || d.Name != "Default" {
		t.Fatalf("default tenant = %+v, %v", d, err)
	}
	a, err := e.svc.EnsureTenant(e.ctx, "acme", "Acme Inc")
	if err != nil || a.Name != "Acme Inc" || !a.CreatedAt.Equal(e.clock.Now()) {
		t.Fatalf("EnsureTenant = %+v, %v", a, err)
	}
	b, err := e.svc.EnsureTenant(e.ctx, "acme", "Other")
	if err != nil || b.Name != "Acme Inc" {
		t.Fatalf("EnsureTenant again = %+v, %v", b, err)
	}
	for _, bad := range []string{"", "Acme", "-x", "a/b", strings.Repeat("a", 65), "x' OR 1=1"} {
		var ve *ValidationError
		if _, err := e.svc.EnsureTenant(e.ctx, bad, ""); !errors.As(err, &ve) {
			t.Errorf("EnsureTenant(%q) = %v", bad, err)
		}
	}
}

func TestLoginAndVerify(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := e.user(t, DefaultTenantID, "ed@example.com", RoleEditor)
	pair, got, err := e.svc.Login(e.ctx, " ED@example.com", testPassword, DefaultTenantID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != u.ID || pair.TokenType != "Bearer" || pair.ExpiresIn != 900 || !validFamilyID(pair.FamilyID) || !ValidRefreshTokenFormat(pair.RefreshToken) {
		t.Fatalf("login = %+v, %+v", pair, got)
	}
	h, c := split(t, pair.AccessToken)
	if h["alg"] != "HS256" || h["typ"] != "at+jwt" || h["kid"] != testKID {
		t.Errorf("header = %v", h)
	}
	for _, k := range []string{"iss", "aud", "sub", "exp", "iat", "nbf", "jti", "tid", "role", "typ", "fid"} {
		if _, ok := c[k]; !ok {
			t.Errorf("claim %s missing: %v", k, c)
		}
	}
	p, err := e.svc.VerifyAccess(e.ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	want := Principal{UserID: u.ID, TenantID: DefaultTenantID, Email: u.Email, Role: RoleEditor, TokenID: c["jti"].(string), FamilyID: pair.FamilyID}
	if *p != want {
		t.Errorf("principal = %+v, want %+v", *p, want)
	}
	if ev := e.audit.byAction(ActionLoginSucceeded); len(ev) != 1 || ev[0].ActorID != u.ID || ev[0].TenantID != DefaultTenantID {
		t.Errorf("login events = %+v", ev)
	}
	// Demotion takes effect at once: the role comes from the database.
	if err := e.svc.SetRole(e.ctx, DefaultTenantID, u.ID, RoleViewer); err != nil {
		t.Fatal(err)
	}
	if p, err := e.svc.VerifyAccess(e.ctx, pair.AccessToken); err != nil || p.Role != RoleViewer {
		t.Errorf("after demotion: %+v, %v", p, err)
	}
	if err := e.svc.SetRole(e.ctx, "acme", u.ID, RoleAdmin); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetRole other tenant: %v", err)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.user(t, DefaultTenantID, "lo@example.com", RoleViewer)
	pair := e.login(t, "lo@example.com")
	other := e.login(t, "lo@example.com")
	if err := e.svc.Logout(e.ctx, pair.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Logout(e.ctx, pair.RefreshToken); err != nil {
		t.Errorf("second logout: %v", err)
	}
	if _, err := e.svc.Refresh(e.ctx, pair.RefreshToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("refresh after logout: %v", err)
	}
	if _, err := e.svc.VerifyAccess(e.ctx, pair.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("access after logout: %v", err)
	}
	// The other session is untouched.
	if _, err := e.svc.VerifyAccess(e.ctx, other.AccessToken); err != nil {
		t.Errorf("other session: %v", err)
	}
	if _, err := e.svc.Refresh(e.ctx, other.RefreshToken); err != nil {
		t.Errorf("other session refresh: %v", err)
	}
	for _, bad := range []string{"", "qrt_", other.AccessToken, RefreshTokenPrefix + strings.Repeat("A", 43)} {
		if err := e.svc.Logout(e.ctx, bad); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Logout(%.20q) = %v", bad, err)
		}
	}
	if ev := e.audit.byAction(ActionLogout); len(ev) != 2 {
		t.Errorf("logout events = %+v", ev)
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.user(t, DefaultTenantID, "kr@example.com", RoleViewer)
	pair := e.login(t, "kr@example.com")
	newSecret := []byte(strings.Repeat("n", 32))
	rotated, err := New(Config{DB: e.db, Now: e.clock.Now, Keys: KeySet{Current: "new", Keys: map[string][]byte{"new": newSecret, testKID: testSecret}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rotated.VerifyAccess(e.ctx, pair.AccessToken); err != nil {
		t.Errorf("old-key token after rotation: %v", err)
	}
	p2, _, err := rotated.Login(e.ctx, "kr@example.com", testPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := split(t, p2.AccessToken); h["kid"] != "new" {
		t.Errorf("new token kid = %v", h["kid"])
	}
	// The old service does not know "new".
	if _, err := e.svc.VerifyAccess(e.ctx, p2.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("unknown kid: %v", err)
	}
	// A token claiming kid "new" but signed with the old secret fails.
	forged := resign(t, pair.AccessToken, func(h, _ map[string]any) { h["kid"] = "new" })
	if _, err := rotated.VerifyAccess(e.ctx, forged); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("kid/key mismatch: %v", err)
	}
}

func TestPurgeExpired(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.user(t, DefaultTenantID, "pu@example.com", RoleViewer)
	e.login(t, "pu@example.com")
	if n, err := e.svc.PurgeExpired(e.ctx); n != 0 || err != nil {
		t.Fatalf("purge now = %d, %v", n, err)
	}
	e.clock.Advance(DefaultRefreshAbsoluteTTL + 25*time.Hour)
	if n, err := e.svc.PurgeExpired(e.ctx); n != 1 || err != nil {
		t.Fatalf("purge later = %d, %v", n, err)
	}
	var left int
	if err := e.db.Read.GetContext(e.ctx, &left, `SELECT COUNT(*) FROM refresh_tokens`); err != nil || left != 0 {
		t.Fatalf("tokens left = %d, %v", left, err)
	}
}
