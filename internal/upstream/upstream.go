// Package upstream holds what Quarry's clients of remote model servers
// (assist's chat completions, transcribe's whisper) share: the error that
// carries an upstream failure's kind, status and Retry-After, and the
// parser of Retry-After. Each client keeps its own sentinel kinds.
package upstream

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error carries the details of a remote server's failure. Its Error text
// holds the kind and the HTTP status only, never the upstream body, which
// may echo the prompt or the transcript. errors.Is matches Kind.
type Error struct {
	// Kind is the client package's sentinel (ErrUpstream,
	// ErrUpstreamTimeout, ErrRateLimited, ErrUnavailable).
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

func (e *Error) Error() string {
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
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// RetryAfter reads Retry-After (seconds or an HTTP date) or
// Retry-After-Ms from h; 0 when absent or in the past.
func RetryAfter(h http.Header) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d.Round(time.Second)
		}
	}
	return 0
}
