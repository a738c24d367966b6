// Package audit records who did what in Quarry: an append-only trail of
// [Event] values in the audit_events table, written by auth, the admin
// endpoints, sources and extraction, and read by the admin endpoint
// GET /api/v1/admin/audit-events.
//
// A [Recorder] has two operations and no others: [Recorder.Record] appends
// an event and [Recorder.List] pages through them, newest first. There is
// no update or delete; retention, if ever needed, belongs to an operator
// job outside this package.
//
// # Events
//
// An event names its actor (ActorID and ActorType: ActorUser,
// ActorAnonymous or ActorSystem), its tenant, its Action (lower-case
// dotted words such as "auth.login_failed", "admin.revoke",
// "flags.updated", "source.deleted", "extraction.failed"), its target
// (TargetType, TargetID), its Result (ResultSuccess, ResultFailure,
// ResultDenied), the request (RequestID, RemoteAddr) and small JSON
// Details. Record sets the id ("aud_" and a lower-case ULID, so ids sort
// in recording order) and, when zero, the time.
//
// # What is never stored
//
// Details pass through one sanitizer before they reach the database, so
// that no token, password or document text is ever stored even when a
// caller is careless:
//
//   - Details is encoded as JSON and decoded again, so structs are seen
//     under their JSON field names and unencodable values are refused
//     ([ErrInvalidEvent]).
//   - At every depth, a key is dropped when, lower-cased and stripped of
//     everything but letters and digits, it contains token, password,
//     passwd, pwd, secret, authorization, cookie, text, content, body,
//     credential, apikey, privatekey, jwt or bearer ("access_token",
//     "Set-Cookie", "content_type" and "context" all go), or when it is
//     longer than [MaxDetailKeyLen].
//   - A string value that looks like a credential (starting with "Bearer "
//     or "Basic ", or shaped like a JWT) becomes "[redacted]" whatever
//     its key.
//   - Every string value is cut to [MaxDetailValueLen] characters, the
//     last one an ellipsis.
//   - Details still over [MaxDetailsBytes] (4 KiB) once encoded are
//     trimmed, not refused: the largest top-level keys are dropped until
//     the rest fits, and [TruncatedKey] ("_truncated") is set to true.
//     Losing the event because its details were long would defeat the
//     point of an audit trail.
//
// The other string fields are cut to [MaxFieldLen] bytes. Callers should
// still put identifiers, not content, into events: a source id, never a
// file name the user typed or a page of text.
//
// # Tenancy
//
// [ListParams].TenantID limits a list to one tenant; one tenant never sees
// another's events. "" lists every tenant and is meant only for callers
// allowed to see everything. Events recorded with TenantID "" (such as a
// failed login for an unknown account) are seen only by such callers.
//
// # Pagination
//
// Lists are newest first with opaque cursors (base64url of the last id),
// as in package sources: a cursor this package did not issue gives
// [ErrInvalidCursor], and a cursor never widens what the tenant and
// filters allow.
package audit
