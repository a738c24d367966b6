package auth

import (
	"strings"
	"testing"
)

// FuzzVerifyAccess: any string, no panic, and never a Principal unless the
// string verifies with our key (checked independently by re-verifying the
// HMAC over the first two segments).
func FuzzVerifyAccess(f *testing.F) {
	e := newEnv(f, nil)
	e.user(f, DefaultTenantID, "fuzz@example.com", RoleEditor)
	p := e.login(f, "fuzz@example.com")
	h, c := split(f, p.AccessToken)
	parts := strings.Split(p.AccessToken, ".")
	f.Add(p.AccessToken)
	f.Add(p.RefreshToken)
	f.Add(forge(withHeader(h, func(h map[string]any) { h["alg"] = "none" }), c, nil, ""))
	f.Add(forge(withHeader(h, func(h map[string]any) { h["alg"] = "HS512" }), c, testSecret, ""))
	f.Add(forge(withHeader(h, func(h map[string]any) { h["kid"] = "../../etc/passwd" }), c, testSecret, ""))
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + ".." + parts[2])
	f.Add(strings.Repeat(".", 1000))
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		pr, err := e.svc.VerifyAccess(e.ctx, token)
		if (pr == nil) == (err == nil) {
			t.Fatalf("VerifyAccess = %v, %v", pr, err)
		}
		if pr == nil {
			return
		}
		ps := strings.Split(token, ".")
		if len(ps) != 3 {
			t.Fatalf("accepted a token of %d parts", len(ps))
		}
		if !hmacOK(ps[0]+"."+ps[1], ps[2]) {
			t.Fatalf("accepted a token whose signature does not verify with our key: %q", token)
		}
		if pr.UserID == "" || pr.Role != RoleEditor {
			t.Fatalf("principal = %+v", pr)
		}
	})
}

// FuzzRefreshTokenFormat: parseRefreshToken never panics, accepts only
// "qrt_" + 43 strict base64url characters of 32 bytes, and Refresh of
// anything it refuses is ErrInvalidToken without touching the database.
func FuzzRefreshTokenFormat(f *testing.F) {
	tok, _, err := newRefreshToken()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add(tok[:46])
	f.Add(tok + "=")
	f.Add("qrt_" + strings.Repeat("/", 43))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseRefreshToken(s)
		if err != nil {
			if err != ErrInvalidToken || h != "" {
				t.Fatalf("parse(%q) = %q, %v", s, h, err)
			}
			return
		}
		if len(s) != 47 || !strings.HasPrefix(s, RefreshTokenPrefix) || len(h) != 64 {
			t.Fatalf("accepted %q", s)
		}
		b, err := strictB64URL.DecodeString(s[4:])
		if err != nil || len(b) != 32 || RefreshTokenPrefix+b64.EncodeToString(b) != s {
			t.Fatalf("accepted non-canonical %q", s)
		}
	})
}
