package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/ulule/limiter/v3"

	"github.com/quarryhq/quarry/auth"
	"github.com/quarryhq/quarry/sources"
)

// Security requirements of operations. Every operation declares one (secure
// by default: an operation that declares none inherits the API's global
// requirement, a token of any role).
var (
	// public: no token looked at (health, login, refresh, logout).
	public = []map[string][]string{}
	// anonymousEditor: a token of role editor, or none at all while
	// QUARRY_AUTH_REQUIRED is false (anonymous callers act as editor of
	// the default tenant). The empty requirement is OpenAPI's "optional".
	anonymousEditor = []map[string][]string{{"bearer": {string(auth.RoleEditor)}}, {}}
	// anonymousViewer: like anonymousEditor for read-only operations.
	anonymousViewer = []map[string][]string{{"bearer": {string(auth.RoleViewer)}}, {}}
	// needViewer, needEditor, needAdmin: a token with at least that role.
	needViewer = []map[string][]string{{"bearer": {string(auth.RoleViewer)}}}
	needEditor = []map[string][]string{{"bearer": {string(auth.RoleEditor)}}}
	needAdmin  = []map[string][]string{{"bearer": {string(auth.RoleAdmin)}}}
)

// authenticate enforces each operation's security requirement (huma's
// Operation.Security only documents it). One middleware for every
// operation of both APIs.
func (s *Server) authenticate(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(hctx huma.Context, next func(huma.Context)) {
		op := hctx.Operation()
		sec := op.Security
		if sec == nil {
			sec = needViewer // secure by default
		}
		if len(sec) == 0 {
			next(hctx)
			return
		}
		need := auth.RoleViewer
		anonymousOK := false
		for _, req := range sec {
			if len(req) == 0 {
				anonymousOK = true
				continue
			}
			if scopes := req["bearer"]; len(scopes) > 0 {
				need = auth.Role(scopes[0])
			}
		}
		ctx := hctx.Context()
		header := hctx.Header("Authorization")
		if header == "" {
			if anonymousOK && !s.cfg.AuthRequired {
				next(huma.WithContext(hctx, auth.WithPrincipal(ctx, anonymous())))
				return
			}
			hctx.SetHeader("WWW-Authenticate", `Bearer realm="quarry"`)
			s.writeErr(api, hctx, newError(http.StatusUnauthorized, CodeUnauthorized, "a bearer token is required"))
			return
		}
		token, ok := bearerToken(header)
		if !ok || s.deps.Auth == nil {
			hctx.SetHeader("WWW-Authenticate", `Bearer realm="quarry", error="invalid_token"`)
			s.writeErr(api, hctx, newError(http.StatusUnauthorized, CodeInvalidToken, "the token is not valid"))
			return
		}
		p, err := s.deps.Auth.VerifyAccess(ctx, token)
		if err != nil {
			code, msg := ErrorCode(err)
			if code != CodeTokenExpired {
				code, msg = CodeInvalidToken, "the token is not valid"
			}
			hctx.SetHeader("WWW-Authenticate", `Bearer realm="quarry", error="invalid_token"`)
			s.record(ctx, nil, "auth.token_rejected", "operation", op.OperationID, resultDenied, map[string]any{"reason": code})
			s.writeErr(api, hctx, newError(http.StatusUnauthorized, code, msg))
			return
		}
		if !p.Role.Allows(need) {
			s.record(ctx, p, "authz.denied", "operation", op.OperationID, resultDenied, map[string]any{"need": string(need)})
			s.writeErr(api, hctx, newError(http.StatusForbidden, CodeForbidden, "your role does not allow this"))
			return
		}
		// The principal goes into the context the domain packages read
		// (auth records it as the actor of what it audits).
		next(huma.WithContext(hctx, auth.WithPrincipal(ctx, p)))
	}
}

// writeErr writes e with the request id of hctx.
func (s *Server) writeErr(api huma.API, hctx huma.Context, e *errorEnvelope) {
	e.RequestID = requestIDFrom(hctx.Context())
	for k, vs := range e.headers {
		for _, v := range vs {
			hctx.SetHeader(k, v)
		}
	}
	hctx.SetHeader("Content-Type", "application/json")
	hctx.SetStatus(e.status)
	_ = api.Marshal(hctx.BodyWriter(), "application/json", e)
}

func anonymous() *auth.Principal {
	return &auth.Principal{Anonymous: true, Role: auth.RoleEditor, TenantID: auth.DefaultTenantID}
}

// principal returns the caller of ctx: the verified token's principal, or
// the anonymous editor where an operation allows it.
func principal(ctx context.Context) *auth.Principal {
	if p, ok := auth.PrincipalFromContext(ctx); ok {
		return p
	}
	return anonymous()
}

// tenant returns the tenant a request's data lives in: the caller's tenant
// when tenancy is enforced, the default tenant otherwise. It never comes
// from a body field, a query or a header.
func (s *Server) tenant(ctx context.Context) string {
	if s.cfg.TenancyEnforced {
		return principal(ctx).TenantID
	}
	return sources.DefaultTenant
}

// bearerToken takes the token out of an Authorization header. The scheme
// is case-insensitive (RFC 9110); the token is bounded.
func bearerToken(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || len(tok) > 8<<10 || strings.ContainsAny(tok, " \t") {
		return "", false
	}
	return tok, true
}

// Login, refresh and logout.

type loginInput struct {
	Body struct {
		Email    string `json:"email" minLength:"3" maxLength:"254"`
		Password string `json:"password" minLength:"1" maxLength:"1024"`
	}
}

// TokenPair is the answer of login and refresh.
type TokenPair struct {
	AccessToken  string `json:"access_token" doc:"JWT for Authorization: Bearer; short-lived"`
	RefreshToken string `json:"refresh_token" doc:"opaque; single use: every refresh returns a new one, and presenting a used one revokes the whole session"`
	TokenType    string `json:"token_type" enum:"Bearer"`
	ExpiresIn    int    `json:"expires_in" doc:"access token lifetime in seconds"`
}

type tokenOutput struct {
	Body Envelope[TokenPair]
}

type refreshInput struct {
	Body struct {
		RefreshToken string `json:"refresh_token" minLength:"1" maxLength:"512"`
	}
}

type revokeInput struct {
	Body struct {
		UserID   string `json:"user_id,omitempty" maxLength:"64" doc:"revoke every session of this user"`
		FamilyID string `json:"family_id,omitempty" maxLength:"64" doc:"revoke one session (refresh-token family)"`
	}
}

// Me is the caller.
type Me struct {
	User   MeUser `json:"user"`
	Tenant Tenant `json:"tenant"`
	Role   string `json:"role" enum:"viewer,editor,admin"`
}

// MeUser is the caller's account.
type MeUser struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// Tenant names a tenant.
type Tenant struct {
	ID string `json:"id"`
}

type meOutput struct {
	Body Envelope[Me]
}

func (s *Server) bindAuth() {
	huma.Register(s.v1, huma.Operation{
		OperationID: "login", Method: http.MethodPost, Path: "/api/v1/auth/login",
		Summary:     "Log in",
		Description: "Exchanges an email and a password for an access token and a refresh token. A wrong password and an unknown email answer the same. Attempts are limited per address and failed attempts per account (429 rate_limited with Retry-After).",
		Tags:        []string{"auth"}, Security: public,
		Errors: []int{http.StatusUnauthorized, http.StatusTooManyRequests},
	}, s.login)
	huma.Register(s.v1, huma.Operation{
		OperationID: "refresh", Method: http.MethodPost, Path: "/api/v1/auth/refresh",
		Summary:     "Refresh tokens",
		Description: "Rotates a refresh token: answers a new pair and retires the one presented. Presenting a retired refresh token again answers 401 token_reused and revokes the whole session (RFC 9700).",
		Tags:        []string{"auth"}, Security: public,
		Errors: []int{http.StatusUnauthorized},
	}, s.refresh)
	huma.Register(s.v1, huma.Operation{
		OperationID: "logout", Method: http.MethodPost, Path: "/api/v1/auth/logout",
		Summary: "Log out", Description: "Revokes the session of the refresh token.",
		Tags: []string{"auth"}, Security: public, DefaultStatus: http.StatusNoContent,
		Errors: []int{http.StatusUnauthorized},
	}, s.logout)
	huma.Register(s.v1, huma.Operation{
		OperationID: "revoke", Method: http.MethodPost, Path: "/api/v1/auth/revoke",
		Summary:     "Revoke sessions",
		Description: "Revokes every session of a user (user_id) or one session (family_id) in the caller's tenant. Access tokens stop working at once.",
		Tags:        []string{"auth"}, Security: needAdmin, DefaultStatus: http.StatusNoContent,
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, s.revoke)
	huma.Register(s.v1, huma.Operation{
		OperationID: "me", Method: http.MethodGet, Path: "/api/v1/me",
		Summary: "The caller", Tags: []string{"auth"}, Security: needViewer,
		Errors: []int{http.StatusUnauthorized},
	}, s.me)
}

func (s *Server) requireAuth(ctx context.Context) error {
	if s.deps.Auth == nil {
		return s.invalid(ctx, http.StatusServiceUnavailable, CodeDependencyUnavailable, "authentication is not configured on this server")
	}
	return nil
}

func (s *Server) login(ctx context.Context, in *loginInput) (*tokenOutput, error) {
	if err := s.requireAuth(ctx); err != nil {
		return nil, err
	}
	email := strings.ToLower(strings.TrimSpace(in.Body.Email))
	addrKey := "login:addr:" + clientIP(ctx)
	sum := sha256.Sum256([]byte(email))
	acctKey := "login:acct:" + hex.EncodeToString(sum[:8])
	// Every attempt counts against the address; only failures count
	// against the account, so its owner is not locked out by successes.
	refused := func(lc limiter.Context) error {
		s.record(ctx, nil, auth.ActionLoginFailed, "", "", resultFailure, map[string]any{"reason": "rate_limited", "email": email})
		return s.rateLimited(ctx, lc, "too many attempts; retry later")
	}
	lc, err := s.loginAddr.Get(ctx, addrKey)
	if err == nil && lc.Reached { // Reached: this attempt is over the limit
		return nil, refused(lc)
	}
	if ac, err := s.loginAcct.Peek(ctx, acctKey); err == nil && ac.Remaining <= 0 { // the failures allowed are used up
		return nil, refused(ac)
	}
	pair, _, err := s.deps.Auth.Login(ctx, email, in.Body.Password, "")
	if err != nil {
		if errors.Is(err, auth.ErrInvalidCredentials) {
			_, _ = s.loginAcct.Get(ctx, acctKey)
			return nil, s.invalid(ctx, http.StatusUnauthorized, CodeUnauthorized, "wrong email or password")
		}
		return nil, s.fail(ctx, err)
	}
	return &tokenOutput{Body: ok(ctx, tokenPairDTO(pair))}, nil
}

// rateLimited is the 429 rate_limited answer of a limit lc refused: the
// general limit (rateLimit) and the login limits. Its X-RateLimit-*
// headers describe the refusing limit; they replace those the general
// limit set on the response, so a response never has two sets.
func (s *Server) rateLimited(ctx context.Context, lc limiter.Context, msg string) *errorEnvelope {
	e := newError(http.StatusTooManyRequests, CodeRateLimited, msg)
	e.RequestID = requestIDFrom(ctx)
	retry := max(lc.Reset-time.Now().Unix(), 1)
	h := e.GetHeaders()
	h.Set("Retry-After", strconv.FormatInt(retry, 10))
	setRateHeaders(h, lc)
	if general, ok := ctx.Value(rateHeadersKey{}).(http.Header); ok {
		for _, k := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
			general.Del(k)
		}
	}
	return e
}

func tokenPairDTO(p *auth.TokenPair) TokenPair {
	return TokenPair{AccessToken: p.AccessToken, RefreshToken: p.RefreshToken, TokenType: p.TokenType, ExpiresIn: p.ExpiresIn}
}

func (s *Server) refresh(ctx context.Context, in *refreshInput) (*tokenOutput, error) {
	if err := s.requireAuth(ctx); err != nil {
		return nil, err
	}
	pair, err := s.deps.Auth.Refresh(ctx, in.Body.RefreshToken)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &tokenOutput{Body: ok(ctx, tokenPairDTO(pair))}, nil
}

func (s *Server) logout(ctx context.Context, in *refreshInput) (*noContent, error) {
	if err := s.requireAuth(ctx); err != nil {
		return nil, err
	}
	if err := s.deps.Auth.Logout(ctx, in.Body.RefreshToken); err != nil {
		return nil, s.fail(ctx, err)
	}
	return &noContent{}, nil
}

func (s *Server) revoke(ctx context.Context, in *revokeInput) (*noContent, error) {
	if err := s.requireAuth(ctx); err != nil {
		return nil, err
	}
	p := principal(ctx)
	b := in.Body
	var err error
	switch {
	case (b.UserID == "") == (b.FamilyID == ""):
		return nil, s.invalid(ctx, http.StatusUnprocessableEntity, CodeValidationError, "give user_id or family_id, not both",
			ErrorDetail{Field: "body", Message: "exactly one of user_id and family_id"})
	case b.UserID != "":
		// auth audits a successful revoke itself, with the caller of ctx
		// as the actor; refusals are audited here.
		if err = s.deps.Auth.RevokeUser(ctx, p.TenantID, b.UserID); err != nil {
			s.record(ctx, p, auth.ActionRevoke, "user", b.UserID, resultOf(err), nil)
		}
	default:
		if err = s.deps.Auth.RevokeFamily(ctx, p.TenantID, b.FamilyID); err != nil {
			s.record(ctx, p, auth.ActionRevoke, "refresh_family", b.FamilyID, resultOf(err), nil)
		}
	}
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &noContent{}, nil
}

func (s *Server) me(ctx context.Context, _ *struct{}) (*meOutput, error) {
	p := principal(ctx)
	return &meOutput{Body: ok(ctx, Me{
		User:   MeUser{ID: p.UserID, Email: p.Email},
		Tenant: Tenant{ID: p.TenantID},
		Role:   string(p.Role),
	})}, nil
}

type clientIPKey struct{}

// withClientIP records the client address for rate limits and audit
// (RELIABILITY.md T50). With no trusted proxies it is the connection's
// peer, and forwarded headers (X-Forwarded-For, X-Real-IP,
// True-Client-IP, ...) are ignored: any client can write them. With
// trusted proxies, a request whose peer is one of them is attributed to
// the right-most X-Forwarded-For address that is not (chi's
// ClientIPFromXFF), never the left-most, which the client chose; when that
// gives nothing (no header, only trusted hops, garbage in the chain) the
// peer is the client. Addresses are kept in full; the rate limit masks
// IPv6 to /64 itself (rateKey).
func withClientIP(trusted []netip.Prefix) func(http.Handler) http.Handler {
	if len(trusted) == 0 {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientIPKey{}, peerIP(r.RemoteAddr))))
			})
		}
	}
	cidrs := make([]string, len(trusted))
	for i, p := range trusted {
		cidrs[i] = p.String()
	}
	fromXFF := middleware.ClientIPFromXFF(cidrs...)
	return func(next http.Handler) http.Handler {
		return fromXFF(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ip := peerIP(r.RemoteAddr)
			if a := middleware.GetClientIPAddr(r.Context()); a.IsValid() {
				ip = a.String()
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientIPKey{}, ip)))
		}))
	}
}

// peerIP is the address of a RemoteAddr (host:port), IPv4-mapped IPv6
// written as IPv4.
func peerIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().String()
	}
	return host
}

func clientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}
