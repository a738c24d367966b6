package assist

import (
	"errors"
	"fmt"
	"github.com/quarryhq/quarry/internal/upstream"
)

// Sentinel errors. Provider failures wrap one of them, so a caller maps them
// with errors.Is; the server answers ErrUpstreamTimeout with
// upstream_timeout (504), ErrUpstream with fetch_failed (502), and
// ErrRateLimited and ErrUnavailable with dependency_unavailable (503), the
// provider's Retry-After passed on ([UpstreamError]).
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

// UpstreamError carries the details of a remote server's failure: its
// kind (one of this package's sentinels, matched by errors.Is), HTTP
// status and Retry-After. Its text never holds the upstream body.
type UpstreamError = upstream.Error
