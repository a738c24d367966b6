package audit

import (
	"errors"
	"time"
)

// Actor types.
const (
	ActorUser      = "user"      // an authenticated user; ActorID is the user id
	ActorAnonymous = "anonymous" // a caller without a token (or with a bad one)
	ActorSystem    = "system"    // Quarry itself: a worker, a migration, the CLI
)

// Results.
const (
	ResultSuccess = "success" // the action was carried out
	ResultFailure = "failure" // the action was tried and failed
	ResultDenied  = "denied"  // the caller was not allowed to try it
)

// Limits of an event.
const (
	// MaxActionLen is the longest Action accepted.
	MaxActionLen = 64
	// MaxFieldLen is the length (in bytes) every string field but Action
	// is cut to: TenantID, ActorID, TargetType, TargetID, RequestID and
	// RemoteAddr often come from request headers.
	MaxFieldLen = 256
	// MaxDetailsBytes is the most that Details may take, encoded as JSON.
	// Larger details are trimmed, never refused (see [Recorder.Record]).
	MaxDetailsBytes = 4096
	// MaxDetailValueLen is the length, in characters (runes), every string
	// value of Details is cut to.
	MaxDetailValueLen = 256
	// MaxDetailKeyLen is the longest Details key kept; longer keys are
	// dropped.
	MaxDetailKeyLen = 64
)

// TruncatedKey is the Details key set to true when Details was over
// [MaxDetailsBytes] and some of its keys were dropped.
const TruncatedKey = "_truncated"

// Event is one recorded action.
type Event struct {
	// ID is "aud_" followed by a lower-case ULID, set by Record. Ids sort
	// in recording order.
	ID string `json:"id"`
	// Time is when the action happened: set by Record to its clock when
	// zero, and stored in UTC with microsecond precision.
	Time time.Time `json:"time"`
	// TenantID is the tenant the action happened in; "" for an event that
	// belongs to no tenant (seen only by callers that list every tenant).
	TenantID string `json:"tenant_id"`
	// ActorID is who acted: a user id, or "" for anonymous callers.
	ActorID string `json:"actor_id"`
	// ActorType is ActorUser, ActorAnonymous or ActorSystem. When empty,
	// Record makes it ActorUser if ActorID is set, ActorAnonymous if not.
	ActorType string `json:"actor_type"`
	// Action names what was done: lower-case dotted words such as
	// "auth.login_failed", "admin.revoke", "flags.updated",
	// "source.deleted", "extraction.failed". 1 to 64 characters of
	// [a-z0-9._].
	Action string `json:"action"`
	// TargetType and TargetID name what the action was done to, such as
	// "source" and a source id, or "flag" and a flag key.
	TargetType string `json:"target_type"`
	TargetID   string `json:"target_id"`
	// Result is ResultSuccess, ResultFailure or ResultDenied.
	Result string `json:"result"`
	// RequestID and RemoteAddr tie the event to an HTTP request.
	RequestID  string `json:"request_id"`
	RemoteAddr string `json:"remote_addr"`
	// Details is small JSON context. Record sanitizes it before storing
	// (see [Recorder.Record]) so that no token, password or document text
	// is ever stored. Events read back always have a non-nil Details.
	Details map[string]any `json:"details"`
}

// Errors.
var (
	// ErrInvalidEvent: Record was given an event with a bad Action, Result
	// or ActorType, or Details that cannot be encoded as JSON. The error
	// wraps it with the reason.
	ErrInvalidEvent = errors.New("audit: invalid event")
	// ErrInvalidCursor: a list cursor that this package did not issue.
	ErrInvalidCursor = errors.New("audit: invalid cursor")
)

// validAction reports whether a is 1 to MaxActionLen characters of
// [a-z0-9._].
func validAction(a string) bool {
	if a == "" || len(a) > MaxActionLen {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

func validResult(r string) bool {
	return r == ResultSuccess || r == ResultFailure || r == ResultDenied
}

func validActorType(t string) bool {
	return t == ActorUser || t == ActorAnonymous || t == ActorSystem
}
