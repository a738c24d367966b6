package upstream

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	future := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	for _, c := range []struct {
		h      http.Header
		lo, hi time.Duration
	}{
		{http.Header{}, 0, 0},
		{http.Header{"Retry-After": {"42"}}, 42 * time.Second, 42 * time.Second},
		{http.Header{"Retry-After": {" 7 "}}, 7 * time.Second, 7 * time.Second},
		{http.Header{"Retry-After-Ms": {"1500"}}, 1500 * time.Millisecond, 1500 * time.Millisecond},
		{http.Header{"Retry-After": {future}}, 85 * time.Second, 91 * time.Second},
		{http.Header{"Retry-After": {"Mon, 01 Jan 2001 00:00:00 GMT"}}, 0, 0},
		{http.Header{"Retry-After": {"soon"}}, 0, 0},
		{http.Header{"Retry-After": {"-3"}}, 0, 0},
	} {
		if got := RetryAfter(c.h); got < c.lo || got > c.hi {
			t.Errorf("RetryAfter(%v) = %v, want %v..%v", c.h, got, c.lo, c.hi)
		}
	}
}

func TestError(t *testing.T) {
	kind := errors.New("x: upstream error")
	cause := errors.New("secret body echoing the prompt")
	e := &Error{Kind: kind, StatusCode: 503, RetryAfter: 5 * time.Second, Err: cause}
	if !errors.Is(e, kind) || !errors.Is(e, cause) {
		t.Error("Is does not match the kind and the cause")
	}
	if s := e.Error(); strings.Contains(s, "secret") || !strings.Contains(s, "503") || !strings.Contains(s, "5s") {
		t.Errorf("Error() = %q", s)
	}
	if !errors.Is(&Error{Kind: kind}, kind) {
		t.Error("Is without a cause")
	}
}
