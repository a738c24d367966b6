// Package auth is Quarry's identity domain: tenants, users, roles,
// password hashing, and the access and refresh tokens the HTTP layer hands
// out and checks. It has no HTTP code; package server maps its errors
// (ErrInvalidCredentials, ErrInvalidToken, ErrTokenExpired, ErrTokenReused,
// ErrNotFound, ErrConflict, *ValidationError) to responses.
//
// # Token model
//
// A login returns a pair:
//
//   - An access token: a JWT signed with HS256 under a key of a small
//     KeySet (at most MaxKeys keys, chosen by the kid header from the
//     in-memory allow-list only), valid for 15 minutes. It carries iss,
//     aud, sub (user id), exp, nbf, iat (with microseconds), jti, tid
//     (tenant), role, fid (refresh family) and typ "at+jwt", and its JOSE
//     header has typ "at+jwt". VerifyAccess allows exactly that: one
//     algorithm, both typ values, exp required, iss and aud checked, a 30 s
//     leeway, strict base64, tokens of at most 8 KiB; jku, x5u and jwk
//     headers are never read.
//
//   - A refresh token: opaque, "qrt_" and 256 random bits in base64url,
//     stored only as its SHA-256. Being opaque, it can never be mistaken
//     for an access token (and an access token is not a refresh token's
//     shape), and a database leak yields no usable token.
//
// Refresh tokens are grouped in families, one per login. Every refresh
// rotates: the presented token is consumed (UPDATE ... WHERE used_at IS
// NULL inside one BEGIN IMMEDIATE transaction) and a new one of the same
// family is issued. Presenting a consumed token again means it was copied:
// the whole family is revoked, an auth.refresh_reuse_detected event is
// audited, and the caller gets ErrTokenReused (RFC 9700 4.14.2). Of
// concurrent refreshes with one token exactly one succeeds, the others
// count as reuse, so a family never has two live successors. A refresh
// token expires after RefreshIdleTTL unused (7 days) and with its family
// after RefreshAbsoluteTTL (30 days; 24 hours for admins).
//
// # Revocation takes effect at once
//
// Access tokens are not stored, but VerifyAccess reads the user and the
// token's family on every call (one indexed read, see
// BenchmarkVerifyAccess). A token is refused when the user is gone or
// disabled, when its iat is before the user's tokens_valid_after cutoff
// (set by RevokeUser, DisableUser and SetPassword), or when its family is
// revoked (Logout, RevokeFamily, reuse detection). Role and tenant come
// from the database, so a demotion also applies to the next request; the
// claims are informational.
//
// # Passwords and logins
//
// Passwords (12 characters at least) are hashed with argon2id (see
// Argon2Memory) in PHC format; at most GOMAXPROCS hashes run at once. A
// login answers ErrInvalidCredentials for an unknown user, a wrong
// password and a disabled user alike, after the same work: unknown users
// are checked against a dummy hash. Failed logins are audited with the
// email, never the password; rate limiting belongs to the HTTP layer.
//
// # Auditing
//
// Security events go to the optional Auditor after the transaction commits
// (never inside it: an auditor writing to the same SQLite file needs the
// single writer connection). The actor of administrative operations is
// the Principal in the context (WithPrincipal), or ActorSystem.
package auth
