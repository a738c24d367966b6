package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// tokenEnv is a user with a valid access token, and its decoded parts.
type tokenEnv struct {
	*env
	user   *User
	pair   *TokenPair
	header map[string]any
	claims map[string]any
}

func newTokenEnv(t *testing.T) *tokenEnv {
	e := newEnv(t, nil)
	u := e.user(t, DefaultTenantID, "tok@example.com", RoleEditor)
	pair := e.login(t, "tok@example.com")
	h, c := split(t, pair.AccessToken)
	return &tokenEnv{env: e, user: u, pair: pair, header: h, claims: c}
}

// token signs the env's claims with edits applied, under the env's header.
func (te *tokenEnv) token(editHeader, editClaims func(map[string]any)) string {
	h, c := clone(te.header), clone(te.claims)
	if editHeader != nil {
		editHeader(h)
	}
	if editClaims != nil {
		editClaims(c)
	}
	return forge(h, c, testSecret, "")
}

func (te *tokenEnv) expect(t *testing.T, name, token string, want error) {
	t.Helper()
	p, err := te.svc.VerifyAccess(te.ctx, token)
	if want == nil {
		if err != nil {
			t.Errorf("%s: VerifyAccess error %v, want success", name, err)
		}
		return
	}
	if !errors.Is(err, want) || p != nil {
		t.Errorf("%s: VerifyAccess = %v, %v; want %v", name, p, err, want)
	}
	if want == ErrInvalidToken && errors.Is(err, ErrTokenExpired) {
		t.Errorf("%s: also expired", name)
	}
}

func TestValidTokenBaseline(t *testing.T) {
	t.Parallel()
	te := newTokenEnv(t)
	te.expect(t, "issued", te.pair.AccessToken, nil)
	te.expect(t, "re-signed unchanged", te.token(nil, nil), nil)
}

func TestT35_AlgorithmAttacks(t *testing.T) {
	t.Parallel()
	te := newTokenEnv(t)
	parts := strings.Split(te.pair.AccessToken, ".")
	none := func(h map[string]any) { h["alg"] = "none" }
	noneNoSig := forge(withHeader(te.header, none), te.claims, nil, "")
	noneSig := forge(withHeader(te.header, none), te.claims, nil, parts[2])
	hs512 := forge(withHeader(te.header, func(h map[string]any) { h["alg"] = "HS512" }), te.claims, testSecret, "")

	// ES256 with a real ECDSA key, and ES256/RS256 headers carrying an
	// HMAC made with our secret (the key-confusion shape).
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims(te.claims))
	tok.Header["typ"], tok.Header["kid"] = AccessTokenType, testKID
	es256, err := tok.SignedString(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	hmacUnder := func(alg string) string {
		h := withHeader(te.header, func(h map[string]any) { h["alg"] = alg })
		valid := forge(withHeader(h, func(h map[string]any) { h["alg"] = "HS256" }), te.claims, testSecret, "")
		vp := strings.Split(valid, ".")
		return forge(h, te.claims, nil, vp[2])
	}
	for name, token := range map[string]string{
		"none without signature": noneNoSig,
		"none with signature":    noneSig,
		"none, no trailing dot":  strings.TrimSuffix(noneNoSig, "."),
		"NONE upper case":        forge(withHeader(te.header, func(h map[string]any) { h["alg"] = "NONE" }), te.claims, nil, ""),
		"HS512":                  hs512,
		"ES256":                  es256,
		"ES256 header, HMAC sig": hmacUnder("ES256"),
		"RS256 header, HMAC sig": hmacUnder("RS256"),
		"alg missing":            forge(withHeader(te.header, func(h map[string]any) { delete(h, "alg") }), te.claims, nil, parts[2]),
	} {
		te.expect(t, name, token, ErrInvalidToken)
	}
}

func withHeader(h map[string]any, edit func(map[string]any)) map[string]any {
	h = clone(h)
	edit(h)
	return h
}

func TestT36_TimeClaims(t *testing.T) {
	t.Parallel()
	te := newTokenEnv(t)
	now := te.clock.Now()
	leeway := DefaultLeeway
	unix := func(t time.Time) json.Number { return json.Number(itoa(t.Unix())) }
	te.expect(t, "no exp", te.token(nil, func(c map[string]any) { delete(c, "exp") }), ErrInvalidToken)
	te.expect(t, "exp = now - leeway - 1s", te.token(nil, func(c map[string]any) { c["exp"] = unix(now.Add(-leeway - time.Second)) }), ErrTokenExpired)
	te.expect(t, "exp = now - leeway + 1s", te.token(nil, func(c map[string]any) { c["exp"] = unix(now.Add(-leeway + time.Second)) }), nil)
	te.expect(t, "nbf 1h in the future", te.token(nil, func(c map[string]any) { c["nbf"] = unix(now.Add(time.Hour)) }), ErrInvalidToken)
	te.expect(t, "iat 1h in the future", te.token(nil, func(c map[string]any) { c["iat"] = unix(now.Add(time.Hour)) }), ErrInvalidToken)
	te.expect(t, "no iat", te.token(nil, func(c map[string]any) { delete(c, "iat") }), ErrInvalidToken)
	te.expect(t, "iat as string", te.token(nil, func(c map[string]any) { c["iat"] = "1700000000" }), ErrInvalidToken)
	te.expect(t, "exp negative", te.token(nil, func(c map[string]any) { c["exp"] = json.Number("-1") }), ErrInvalidToken)
	te.expect(t, "exp exponent", te.token(nil, func(c map[string]any) { c["exp"] = json.Number("1e10") }), ErrInvalidToken)
	te.expect(t, "exp as string", te.token(nil, func(c map[string]any) { c["exp"] = "9999999999" }), ErrInvalidToken)
	// Expired and for another audience: invalid, not expired.
	te.expect(t, "expired and wrong aud", te.token(nil, func(c map[string]any) {
		c["exp"] = unix(now.Add(-time.Hour))
		c["aud"] = "other"
	}), ErrInvalidToken)
	// The real clock moving past exp + leeway expires the issued token.
	te.clock.Advance(DefaultAccessTTL + leeway + time.Second)
	te.expect(t, "issued token after its life", te.pair.AccessToken, ErrTokenExpired)
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestT37_AudienceAndIssuer(t *testing.T) {
	t.Parallel()
	te := newTokenEnv(t)
	te.expect(t, "no aud", te.token(nil, func(c map[string]any) { delete(c, "aud") }), ErrInvalidToken)
	te.expect(t, "wrong aud", te.token(nil, func(c map[string]any) { c["aud"] = "someone-else" }), ErrInvalidToken)
	te.expect(t, "wrong aud array", te.token(nil, func(c map[string]any) { c["aud"] = []string{"a", "b"} }), ErrInvalidToken)
	te.expect(t, "no iss", te.token(nil, func(c map[string]any) { delete(c, "iss") }), ErrInvalidToken)
	te.expect(t, "wrong iss", te.token(nil, func(c map[string]any) { c["iss"] = "evil" }), ErrInvalidToken)
	te.expect(t, "aud string ours", te.token(nil, func(c map[string]any) { c["aud"] = DefaultAudience }), nil)
	te.expect(t, "aud array with ours", te.token(nil, func(c map[string]any) { c["aud"] = []string{"someone-else", DefaultAudience} }), nil)
}

func TestT38_TypeConfusionAndTampering(t *testing.T) {
	t.Parallel()
	te := newTokenEnv(t)
	te.expect(t, "refresh token as access", te.pair.RefreshToken, ErrInvalidToken)
	if _, err := te.svc.Refresh(te.ctx, te.pair.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("access token to Refresh: %v", err)
	}
	parts := strings.Split(te.pair.AccessToken, ".")
	c := clone(te.claims)
	c["role"] = "admin"
	cb, _ := json.Marshal(c)
	te.expect(t, "role edited, not re-signed", parts[0]+"."+b64.EncodeToString(cb)+"."+parts[2], ErrInvalidToken)
	sig, _ := b64.DecodeString(parts[2])
	for bit := range 8 {
		flipped := append([]byte(nil), sig...)
		flipped[len(flipped)/2] ^= 1 << bit
		te.expect(t, "signature bit flipped", parts[0]+"."+parts[1]+"."+b64.EncodeToString(flipped), ErrInvalidToken)
	}
	te.expect(t, "typ claim missing", te.token(nil, func(c map[string]any) { delete(c, "typ") }), ErrInvalidToken)
	te.expect(t, "typ claim refresh", te.token(nil, func(c map[string]any) { c["typ"] = "refresh" }), ErrInvalidToken)
	te.expect(t, "typ header missing", te.token(func(h map[string]any) { delete(h, "typ") }, nil), ErrInvalidToken)
	te.expect(t, "typ header JWT", te.token(func(h map[string]any) { h["typ"] = "JWT" }, nil), ErrInvalidToken)
	te.expect(t, "crit header", te.token(func(h map[string]any) { h["crit"] = []string{"exp"} }, nil), ErrInvalidToken)
	// A correctly signed role claim is informational: the database wins.
	p, err := te.svc.VerifyAccess(te.ctx, te.token(nil, func(c map[string]any) { c["role"] = "admin" }))
	if err != nil || p.Role != RoleEditor {
		t.Errorf("signed role claim admin: %+v, %v; want editor from the database", p, err)
	}
	te.expect(t, "tid of another tenant", te.token(nil, func(c map[string]any) { c["tid"] = "acme" }), ErrInvalidToken)
	te.expect(t, "sub of nobody", te.token(nil, func(c map[string]any) { c["sub"] = "usr_01jd0000000000000000000000" }), ErrInvalidToken)
	te.expect(t, "fid missing", te.token(nil, func(c map[string]any) { delete(c, "fid") }), ErrInvalidToken)
	te.expect(t, "fid unknown", te.token(nil, func(c map[string]any) { c["fid"] = "fam_01jd0000000000000000000000" }), ErrInvalidToken)
}

func TestT39_HeaderAndShapeAbuse(t *testing.T) {
	t.Parallel()
	te := newTokenEnv(t)
	// A canary listener: any fetch of jku/x5u would connect to it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			hits.Add(1)
			c.Close()
		}
	}()
	canary := "http://" + ln.Addr().String() + "/jwks"

	cases := map[string]string{
		"kid path traversal": te.token(func(h map[string]any) { h["kid"] = "../../../../dev/null" }, nil),
		"kid SQL":            te.token(func(h map[string]any) { h["kid"] = "' OR 1=1--" }, nil),
		"kid 65 chars":       te.token(func(h map[string]any) { h["kid"] = strings.Repeat("k", 65) }, nil),
		"kid 10 KiB":         te.token(func(h map[string]any) { h["kid"] = strings.Repeat("k", 10<<10) }, nil),
		"kid missing":        te.token(func(h map[string]any) { delete(h, "kid") }, nil),
		"kid number":         te.token(func(h map[string]any) { h["kid"] = 1 }, nil),
		"jku to canary, other key": forge(withHeader(te.header, func(h map[string]any) { h["jku"] = canary }),
			te.claims, []byte(strings.Repeat("x", 32)), ""),
		"x5u to canary, other key": forge(withHeader(te.header, func(h map[string]any) { h["x5u"] = canary }),
			te.claims, []byte(strings.Repeat("x", 32)), ""),
		"embedded jwk, other key": forge(withHeader(te.header, func(h map[string]any) {
			h["jwk"] = map[string]any{"kty": "oct", "k": b64.EncodeToString([]byte(strings.Repeat("x", 32)))}
		}), te.claims, []byte(strings.Repeat("x", 32)), ""),
		"100000 dots":     strings.Repeat(".", 100000),
		"three dots":      "a.b.c.d",
		"7 KiB bad b64":   strings.Repeat("A", 3<<10) + "=." + strings.Repeat("B", 4<<10) + "==.x",
		"padding":         te.pair.AccessToken + "=",
		"header not JSON": b64.EncodeToString([]byte("not json")) + "." + strings.Split(te.pair.AccessToken, ".")[1] + ".sig",
		"empty":           "",
		"whitespace":      " " + te.pair.AccessToken,
	}
	for name, token := range cases {
		start := time.Now()
		te.expect(t, name, token, ErrInvalidToken)
		if d := time.Since(start); d > 50*time.Millisecond {
			t.Logf("%s took %v (T39 asks < 50 ms; timing is logged, not asserted)", name, d)
		}
	}
	// jku/x5u/jwk on a genuinely signed token are ignored: it verifies,
	// and nothing was fetched.
	te.expect(t, "jku ignored on a genuine token", te.token(func(h map[string]any) { h["jku"] = canary; h["x5u"] = canary }, nil), nil)
	ln.Close()
	<-done
	if n := hits.Load(); n != 0 {
		t.Errorf("canary got %d connections", n)
	}
}

func TestRefreshTokenFormat(t *testing.T) {
	t.Parallel()
	tok, hash, err := newRefreshToken()
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != 47 || !strings.HasPrefix(tok, "qrt_") || !ValidRefreshTokenFormat(tok) || len(hash) != 64 {
		t.Fatalf("token %q hash %q", tok, hash)
	}
	for _, bad := range []string{"", tok[:46], tok + "A", "qrx_" + tok[4:], tok[:46] + "=", tok[:46] + "+", tok[:4] + strings.Repeat("_", 43)[:42] + "B"} {
		if ValidRefreshTokenFormat(bad) && bad != tok {
			// The last one is well-formed base64url of 32 bytes only if
			// the final character's unused bits are zero.
			if _, err := strictB64URL.DecodeString(bad[4:]); err != nil {
				t.Errorf("ValidRefreshTokenFormat(%q) = true", bad)
			}
		}
	}
}
