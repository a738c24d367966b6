package assist

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Provider failures wrap one of them, so a caller maps them
// with errors.Is: ErrUpstreamTimeout to upstream_timeout (504), ErrUpstream
// to upstream_error (502), ErrRateLimited and ErrUnavailable to
// dependency_unavailable / upstream_unavailable (503, with Retry-After).
var (
	// ErrUnavailable: the task needs a provider that is not there (not
	// configured, connection refused, or the extractive provider asked to
	// rewrite or translate, which needs an LLM).
	ErrUnavailable = errors.New("assist: provider unavailable")
	// ErrUpstream: the provider failed (5xx, bad answer, answer too large).
	ErrUpstream = errors.New("assist: upstream error")
	// ErrUpstreamTimeout: the provider did not answer before the deadline.
	ErrUpstreamTimeout = errors.New("assist: upstream timeout")
	// ErrRateLimited: the provider answered 429.
	ErrRateLimited = errors.New("assist: upstream rate limited")
)

// ValidationError reports an invalid Task; Field names the offending field
// as the contract spells it (task, text, question, instruction, language).
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("assist: invalid %s: %s", e.Field, e.Reason)
}

// UpstreamError carries the details of a provider failure. Its Error text
// holds the kind and the HTTP status only, never the upstream body, which
// may echo the prompt. errors.Is matches Kind (one of the sentinels).
type UpstreamError struct {
	// Kind is ErrUpstream, ErrUpstreamTimeout, ErrRateLimited or
	// ErrUnavailable.
	Kind error
	// StatusCode is the upstream HTTP status, 0 when there was none.
	StatusCode int
	// RetryAfter is the upstream's Retry-After, 0 when absent.
	RetryAfter time.Duration
	// Attempts is how many requests were sent (at most 2).
	Attempts int
	// Err is the underlying error, for debugging; do not show it to users.
	Err error
}

func (e *UpstreamError) Error() string {
	s := e.Kind.Error()
	if e.StatusCode != 0 {
		s += fmt.Sprintf(" (status %d)", e.StatusCode)
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s
}

// Unwrap returns the kind and the cause.
func (e *UpstreamError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}
