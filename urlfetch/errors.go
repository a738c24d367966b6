package urlfetch

import "errors"

// Sentinel errors. Every error returned by this package (from [ValidateURL],
// [New], [Fetcher.Fetch], [Fetcher.CheckAddr] and reads of [Response.Body])
// matches exactly one of them with [errors.Is], except a caller's own
// context cancellation, which is returned as [context.Canceled].
var (
	// ErrInvalidURL: the URL is unparsable, over 8 KiB, has an empty or
	// malformed host (including ambiguous numeric IPv4 spellings such as
	// 127.1, 0x7f000001 or 0177.0.0.1, and non-ASCII hosts), contains
	// whitespace, control characters or a backslash, or names port 0 or a
	// port above 65535.
	ErrInvalidURL = errors.New("urlfetch: invalid URL")

	// ErrForbidden: the scheme is not http or https, the URL carries
	// credentials, the port is not allowed, the address is in a refused
	// range, or a redirect leads to any of these (or to a malformed
	// target, or downgrades https to http).
	ErrForbidden = errors.New("urlfetch: forbidden")

	// ErrFetchFailed: connection refused or reset, DNS failure, TLS error,
	// upstream status >= 400 (or another non-2xx status), too many
	// redirects, oversized response headers, an unsupported
	// Content-Encoding, or a body that ends early.
	ErrFetchFailed = errors.New("urlfetch: fetch failed")

	// ErrTimeout: the connect, TLS handshake, response header or total
	// timeout expired, or the caller's context deadline did.
	ErrTimeout = errors.New("urlfetch: timeout")

	// ErrTooLarge: the declared Content-Length is over MaxBytes, or the body
	// grew past MaxBytes after decompression.
	ErrTooLarge = errors.New("urlfetch: response too large")
)

// Error is the concrete error type behind most errors of this package.
// errors.Is(err, Kind) holds, and so does errors.Is(err, target) for any
// target in the Err chain (for example [context.DeadlineExceeded]). Use
// errors.As (or errors.AsType) to read StatusCode.
//
// The message is meant for logs: Detail may name resolved internal
// addresses, which should not be shown to the person who submitted the URL.
type Error struct {
	Kind       error  // ErrInvalidURL, ErrForbidden, ErrFetchFailed, ErrTimeout or ErrTooLarge
	StatusCode int    // upstream HTTP status for "status" failures, else 0
	Detail     string // short reason, e.g. "address 10.0.0.1 is private"
	Err        error  // underlying cause, may be nil
}

func (e *Error) Error() string {
	s := e.Kind.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the sentinel and the cause, so errors.Is matches either.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func newError(kind error, detail string, cause error) *Error {
	return &Error{Kind: kind, Detail: detail, Err: cause}
}
