package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token shapes.
const (
	// AccessTokenType is the access token's JOSE header typ and its typ
	// claim (RFC 9068). Both are checked.
	AccessTokenType = "at+jwt"
	// MaxTokenBytes is the longest token accepted; longer ones are refused
	// before any parsing.
	MaxTokenBytes = 8 << 10
	// RefreshTokenPrefix starts every refresh token.
	RefreshTokenPrefix = "qrt_"
	// refreshTokenBytes is the entropy of a refresh token (256 bits).
	refreshTokenBytes = 32
)

// refreshTokenLen is the length of a refresh token string.
var refreshTokenLen = len(RefreshTokenPrefix) + base64.RawURLEncoding.EncodedLen(refreshTokenBytes)

// accessClaims are the claims of an access token. IssuedAt carries
// microseconds (a non-integer NumericDate, which RFC 7519 allows) so that
// comparing it with a user's tokens_valid_after is exact: a token issued
// after a revoke in the same second still counts as after it.
type accessClaims struct {
	Issuer    string           `json:"iss,omitempty"`
	Subject   string           `json:"sub,omitempty"`
	Audience  jwt.ClaimStrings `json:"aud,omitempty"`
	ExpiresAt *numericDate     `json:"exp,omitempty"`
	NotBefore *numericDate     `json:"nbf,omitempty"`
	IssuedAt  *numericDate     `json:"iat,omitempty"`
	ID        string           `json:"jti,omitempty"`
	TenantID  string           `json:"tid,omitempty"`
	Role      string           `json:"role,omitempty"`
	FamilyID  string           `json:"fid,omitempty"`
	Type      string           `json:"typ,omitempty"`
}

func (c *accessClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return c.ExpiresAt.numeric(), nil
}
func (c *accessClaims) GetNotBefore() (*jwt.NumericDate, error) { return c.NotBefore.numeric(), nil }
func (c *accessClaims) GetIssuer() (string, error)              { return c.Issuer, nil }
func (c *accessClaims) GetSubject() (string, error)             { return c.Subject, nil }
func (c *accessClaims) GetAudience() (jwt.ClaimStrings, error)  { return c.Audience, nil }
func (c *accessClaims) GetIssuedAt() (*jwt.NumericDate, error)  { return c.IssuedAt.numeric(), nil }

// errClaims marks our own claim checks (Validate below).
var errClaims = errors.New("auth: bad claims")

// Validate is called by the jwt validator after its own checks; it adds
// what the library does not check.
func (c *accessClaims) Validate() error {
	switch {
	case c.Type != AccessTokenType:
		return fmt.Errorf("%w: typ claim is not %s", errClaims, AccessTokenType)
	case c.IssuedAt == nil:
		return fmt.Errorf("%w: no iat", errClaims)
	case !validUserID(c.Subject):
		return fmt.Errorf("%w: bad sub", errClaims)
	case c.ID == "" || c.TenantID == "":
		return fmt.Errorf("%w: no jti or tid", errClaims)
	case !validFamilyID(c.FamilyID):
		return fmt.Errorf("%w: bad fid", errClaims)
	}
	return nil
}

var _ jwt.ClaimsValidator = (*accessClaims)(nil)

// numericDate is a NumericDate with microseconds: written as seconds with
// six decimals (none when whole), read exactly (no float rounding) and
// strictly: a JSON number of digits with an optional fraction, never a
// string, exponent or sign.
type numericDate struct{ time.Time }

func newDate(t time.Time) *numericDate { return &numericDate{t.Truncate(time.Microsecond)} }

func (d *numericDate) numeric() *jwt.NumericDate {
	if d == nil {
		return nil
	}
	return &jwt.NumericDate{Time: d.Time}
}

func (d numericDate) MarshalJSON() ([]byte, error) {
	us := d.UnixMicro()
	if us < 0 {
		return nil, errors.New("auth: negative time")
	}
	if us%1e6 == 0 {
		return fmt.Appendf(nil, "%d", us/1e6), nil
	}
	return fmt.Appendf(nil, "%d.%06d", us/1e6, us%1e6), nil
}

func (d *numericDate) UnmarshalJSON(b []byte) error {
	s := string(b)
	sec, frac, hasFrac := strings.Cut(s, ".")
	if len(sec) == 0 || len(sec) > 12 || (hasFrac && (len(frac) == 0 || len(frac) > 9)) {
		return errBadDate
	}
	n, err := strconv.ParseUint(sec, 10, 64)
	if err != nil {
		return errBadDate
	}
	var ns uint64
	if hasFrac {
		f, err := strconv.ParseUint(frac, 10, 64)
		if err != nil {
			return errBadDate
		}
		ns = f
		for range 9 - len(frac) {
			ns *= 10
		}
	}
	d.Time = time.Unix(int64(n), int64(ns)).UTC()
	return nil
}

var errBadDate = errors.New("auth: bad NumericDate")

// newRefreshToken returns a fresh refresh token and its hash.
func newRefreshToken() (token, hash string, err error) {
	b := make([]byte, refreshTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("auth: refresh token: %w", err)
	}
	token = RefreshTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, hashRefreshToken(token), nil
}

// hashRefreshToken is the stored form of a refresh token: the hex SHA-256
// of the whole string. The token has 256 bits of entropy, so a fast hash
// is enough (no salt or stretching needed).
func hashRefreshToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

var strictB64URL = base64.RawURLEncoding.Strict()

// parseRefreshToken checks the shape of a refresh token and returns its
// hash; anything malformed is ErrInvalidToken without a database lookup.
func parseRefreshToken(token string) (string, error) {
	if len(token) != refreshTokenLen || !strings.HasPrefix(token, RefreshTokenPrefix) {
		return "", ErrInvalidToken
	}
	b, err := strictB64URL.DecodeString(token[len(RefreshTokenPrefix):])
	if err != nil || len(b) != refreshTokenBytes {
		return "", ErrInvalidToken
	}
	return hashRefreshToken(token), nil
}

// ValidRefreshTokenFormat reports whether s has the shape of a refresh
// token ("qrt_" + 43 base64url characters), without looking it up.
func ValidRefreshTokenFormat(s string) bool {
	_, err := parseRefreshToken(s)
	return err == nil
}

// newTokenID returns a random jti: 16 bytes, base64url.
func newTokenID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: token id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// signer mints and checks the signature and claims of access tokens. It
// does not touch the database: Service.VerifyAccess adds the user checks.
type signer struct {
	keys     KeySet
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
	parser   *jwt.Parser
}

func newSigner(keys KeySet, issuer, audience string, ttl, leeway time.Duration, now func() time.Time) *signer {
	return &signer{
		keys: keys, issuer: issuer, audience: audience, ttl: ttl, now: now,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(audience),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(leeway),
			jwt.WithTimeFunc(now),
			jwt.WithStrictDecoding(),
		),
	}
}

// accessToken is what mint needs to know about the user.
type accessToken struct {
	userID, tenantID, familyID string
	role                       Role
}

// mint signs an access token with the current key.
func (s *signer) mint(at accessToken) (string, error) {
	now := s.now().Truncate(time.Microsecond)
	jti, err := newTokenID()
	if err != nil {
		return "", err
	}
	c := &accessClaims{
		Issuer:    s.issuer,
		Subject:   at.userID,
		Audience:  jwt.ClaimStrings{s.audience},
		ExpiresAt: newDate(now.Add(s.ttl).Truncate(time.Second)),
		NotBefore: newDate(now.Truncate(time.Second)),
		IssuedAt:  newDate(now),
		ID:        jti,
		TenantID:  at.tenantID,
		Role:      string(at.role),
		FamilyID:  at.familyID,
		Type:      AccessTokenType,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["typ"] = AccessTokenType
	t.Header["kid"] = s.keys.Current
	signed, err := t.SignedString(s.keys.Keys[s.keys.Current])
	if err != nil {
		return "", fmt.Errorf("auth: sign: %w", err)
	}
	return signed, nil
}

// keyFunc picks the verification key. It refuses, before any lookup, a
// header that is not exactly ours: alg HS256, typ at+jwt, no crit, a kid
// of at most MaxKIDLen characters. The kid is only ever a key of the
// in-memory allow-list. jku, x5u, jwk and x5c are never read.
func (s *signer) keyFunc(t *jwt.Token) (any, error) {
	if alg, _ := t.Header["alg"].(string); alg != jwt.SigningMethodHS256.Alg() {
		return nil, errors.New("alg is not HS256")
	}
	if typ, _ := t.Header["typ"].(string); typ != AccessTokenType {
		return nil, errors.New("header typ is not " + AccessTokenType)
	}
	if _, ok := t.Header["crit"]; ok {
		return nil, errors.New("crit header not supported")
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" || len(kid) > MaxKIDLen {
		return nil, errors.New("missing or oversized kid")
	}
	key, ok := s.keys.Keys[kid]
	if !ok {
		return nil, errors.New("unknown kid")
	}
	return key, nil
}

// verify checks an access token's size, signature and claims, and
// returns its claims. Errors are ErrInvalidToken or ErrTokenExpired,
// wrapping the reason (safe to log: it never contains the token).
func (s *signer) verify(token string) (*accessClaims, error) {
	if token == "" || len(token) > MaxTokenBytes {
		return nil, fmt.Errorf("%w: empty or longer than %d bytes", ErrInvalidToken, MaxTokenBytes)
	}
	var c accessClaims
	t, err := s.parser.ParseWithClaims(token, &c, s.keyFunc)
	if err != nil {
		if onlyExpired(err) {
			return nil, ErrTokenExpired
		}
		return nil, fmt.Errorf("%w: %s", ErrInvalidToken, reason(err))
	}
	if !t.Valid {
		return nil, ErrInvalidToken
	}
	return &c, nil
}

// onlyExpired reports whether err says expired and nothing else: a genuine
// token (the signature is checked before any claim) whose only fault is
// exp. A token that is also for another audience, or of another type, is
// invalid, not expired.
func onlyExpired(err error) bool {
	if !errors.Is(err, jwt.ErrTokenExpired) {
		return false
	}
	for _, other := range []error{
		jwt.ErrTokenMalformed, jwt.ErrTokenUnverifiable, jwt.ErrTokenSignatureInvalid,
		jwt.ErrTokenRequiredClaimMissing, jwt.ErrTokenInvalidAudience, jwt.ErrTokenInvalidIssuer,
		jwt.ErrTokenInvalidSubject, jwt.ErrTokenNotValidYet, jwt.ErrTokenUsedBeforeIssued,
		jwt.ErrTokenInvalidId, errClaims,
	} {
		if errors.Is(err, other) {
			return false
		}
	}
	return true
}

// reason is a short, token-free description of a verification failure for
// the log.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "unverifiable header"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "bad signature or algorithm"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "required claim missing"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "not valid yet"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "issued in the future"
	case errors.Is(err, errClaims):
		return "bad claims"
	}
	return "invalid"
}
