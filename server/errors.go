package server

import (
	"context"
	"errors"
	"github.com/quarryhq/quarry/assist"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quarryhq/quarry/auth"
	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/flags"
	"github.com/quarryhq/quarry/media"
	"github.com/quarryhq/quarry/projects"
	"github.com/quarryhq/quarry/sources"
	"github.com/quarryhq/quarry/transcribe"
	"github.com/quarryhq/quarry/urlfetch"
)

// Error codes of CONTRACT.md section 2: one closed list, each with exactly
// one status.
const (
	CodeInvalidRequest        = "invalid_request"
	CodeValidationError       = "validation_error"
	CodeURLForbidden          = "url_forbidden"
	CodeUnauthorized          = "unauthorized"
	CodeInvalidToken          = "invalid_token"
	CodeTokenExpired          = "token_expired"
	CodeTokenReused           = "token_reused"
	CodeForbidden             = "forbidden"
	CodeFeatureDisabled       = "feature_disabled"
	CodeNotFound              = "not_found"
	CodeMethodNotAllowed      = "method_not_allowed"
	CodeConflict              = "conflict"
	CodePayloadTooLarge       = "payload_too_large"
	CodeUnsupportedMediaType  = "unsupported_media_type"
	CodeEncryptedDocument     = "encrypted_document"
	CodeMalformedDocument     = "malformed_document"
	CodeExtractionTimeout     = "extraction_timeout"
	CodeMediaTooLong          = "media_too_long"
	CodeRateLimited           = "rate_limited"
	CodeInternal              = "internal"
	CodeFetchFailed           = "fetch_failed"
	CodeOverCapacity          = "over_capacity"
	CodeDependencyUnavailable = "dependency_unavailable"
	CodeUpstreamTimeout       = "upstream_timeout"
)

// codeStatus is the HTTP status of every error code.
var codeStatus = map[string]int{
	CodeInvalidRequest:        http.StatusBadRequest,
	CodeValidationError:       http.StatusUnprocessableEntity,
	CodeURLForbidden:          http.StatusBadRequest,
	CodeUnauthorized:          http.StatusUnauthorized,
	CodeInvalidToken:          http.StatusUnauthorized,
	CodeTokenExpired:          http.StatusUnauthorized,
	CodeTokenReused:           http.StatusUnauthorized,
	CodeForbidden:             http.StatusForbidden,
	CodeFeatureDisabled:       http.StatusForbidden,
	CodeNotFound:              http.StatusNotFound,
	CodeMethodNotAllowed:      http.StatusMethodNotAllowed,
	CodeConflict:              http.StatusConflict,
	CodePayloadTooLarge:       http.StatusRequestEntityTooLarge,
	CodeUnsupportedMediaType:  http.StatusUnsupportedMediaType,
	CodeEncryptedDocument:     http.StatusUnprocessableEntity,
	CodeMalformedDocument:     http.StatusUnprocessableEntity,
	CodeExtractionTimeout:     http.StatusUnprocessableEntity,
	CodeMediaTooLong:          http.StatusUnprocessableEntity,
	CodeRateLimited:           http.StatusTooManyRequests,
	CodeInternal:              http.StatusInternalServerError,
	CodeFetchFailed:           http.StatusBadGateway,
	CodeOverCapacity:          http.StatusServiceUnavailable,
	CodeDependencyUnavailable: http.StatusServiceUnavailable,
	CodeUpstreamTimeout:       http.StatusGatewayTimeout,
}

// StatusOf returns the HTTP status of an error code of the contract, 0 for
// a string that is not one.
func StatusOf(code string) int { return codeStatus[code] }

// Codes returns every error code of the contract, sorted.
func Codes() []string {
	codes := make([]string, 0, len(codeStatus))
	for c := range codeStatus {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return codes
}

// documentMessage returns the public message of a document error: the text
// from the sentinel on ("malformed document: no %%EOF marker"), without the
// internal layers wrapped around it (package names, source ids).
func documentMessage(err, sentinel error) string {
	s := err.Error()
	if i := strings.Index(s, sentinel.Error()); i >= 0 {
		return s[i:]
	}
	return sentinel.Error()
}

// ErrorCode classifies an error of Quarry's domain packages: the contract's
// error code and a message safe to show the caller. It is the one place
// where domain errors meet the contract; the CLI uses it too. Errors it does
// not know are "internal" with a generic message.
func ErrorCode(err error) (code, message string) {
	if oe, ok := errors.AsType[*extract.OptionError](err); ok {
		return CodeValidationError, oe.Error()
	}
	if ve, ok := errors.AsType[*auth.ValidationError](err); ok {
		return CodeValidationError, ve.Error()
	}
	if ve, ok := errors.AsType[*flags.ValidationError](err); ok {
		return CodeValidationError, ve.Error()
	}
	if ve, ok := errors.AsType[*projects.ValidationError](err); ok {
		return CodeValidationError, ve.Field + ": " + ve.Reason
	}
	if se, ok := errors.AsType[*projects.SourceNotFoundError](err); ok {
		// Another tenant's source answers like an unknown one.
		return CodeNotFound, strings.TrimPrefix(se.Error(), "projects: ")
	}
	switch {
	case errors.As(err, new(*assist.ValidationError)):
		ve, _ := errors.AsType[*assist.ValidationError](err)
		return CodeValidationError, ve.Field + ": " + ve.Reason
	case errors.Is(err, assist.ErrUpstreamTimeout):
		return CodeUpstreamTimeout, "the language model did not answer in time"
	case errors.Is(err, assist.ErrRateLimited):
		return CodeDependencyUnavailable, "the language model is rate limited; retry later"
	case errors.Is(err, assist.ErrUnavailable):
		return CodeDependencyUnavailable, "this task needs a language model, and none is configured or reachable (QUARRY_LLM_URL)"
	case errors.Is(err, assist.ErrUpstream):
		return CodeFetchFailed, "the language model failed"
	case errors.Is(err, auth.ErrTokenReused):
		return CodeTokenReused, "the refresh token was already used; the session is revoked"
	case errors.Is(err, auth.ErrTokenExpired):
		return CodeTokenExpired, "the token has expired"
	case errors.Is(err, auth.ErrInvalidToken):
		return CodeInvalidToken, "the token is not valid"
	case errors.Is(err, auth.ErrInvalidCredentials):
		return CodeUnauthorized, "wrong email or password"
	case errors.Is(err, auth.ErrNotFound):
		return CodeNotFound, "not found"
	case errors.Is(err, auth.ErrConflict):
		return CodeConflict, "already exists"
	case errors.Is(err, flags.ErrUnknownFlag):
		return CodeValidationError, "unknown feature flag"
	case errors.Is(err, flags.ErrNotFound):
		return CodeNotFound, "no such flag override"
	case errors.Is(err, projects.ErrNoTenant):
		return CodeInternal, "internal error"
	case errors.Is(err, projects.ErrNotFound):
		return CodeNotFound, "project not found"
	case errors.Is(err, projects.ErrConflict):
		return CodeConflict, "a project with this name already exists"
	case errors.Is(err, projects.ErrSourceNotFound):
		return CodeNotFound, "source not found"
	case errors.Is(err, projects.ErrInvalidCursor):
		return CodeInvalidRequest, "the cursor is not valid"
	case errors.Is(err, sources.ErrNoTenant):
		return CodeInternal, "internal error"
	case errors.Is(err, sources.ErrNotFound):
		return CodeNotFound, "source not found"
	case errors.Is(err, sources.ErrInvalidCursor):
		return CodeInvalidRequest, "the cursor is not valid"
	case errors.Is(err, sources.ErrInvalidFilter):
		return CodeInvalidRequest, "unknown kind or status filter"
	case errors.Is(err, sources.ErrURLUnsupported):
		return CodeDependencyUnavailable, "downloading from URLs is not configured on this server"
	case errors.Is(err, sources.ErrEmpty):
		return CodeValidationError, "the file is empty"
	case errors.Is(err, urlfetch.ErrTooLarge):
		// Fetch errors get fixed messages: their text can name the
		// addresses a host resolved to, which the caller must not learn.
		return CodePayloadTooLarge, "the download exceeds the size limit"
	case errors.Is(err, sources.ErrTooLarge):
		return CodePayloadTooLarge, strings.TrimPrefix(documentMessage(err, sources.ErrTooLarge), "sources: ")
	case errors.Is(err, extract.ErrTooLarge):
		return CodePayloadTooLarge, documentMessage(err, extract.ErrTooLarge)
	case errors.Is(err, extract.ErrUnsupportedFormat):
		return CodeUnsupportedMediaType, documentMessage(err, extract.ErrUnsupportedFormat)
	case errors.Is(err, extract.ErrEncrypted):
		return CodeEncryptedDocument, documentMessage(err, extract.ErrEncrypted)
	case errors.Is(err, extract.ErrTimeout):
		return CodeExtractionTimeout, documentMessage(err, extract.ErrTimeout)
	case errors.Is(err, extract.ErrTooLong):
		return CodeMediaTooLong, documentMessage(err, extract.ErrTooLong)
	case errors.Is(err, media.ErrUnavailable):
		return CodeDependencyUnavailable, "ffmpeg is not installed on this server, so audio and video cannot be read"
	case errors.Is(err, transcribe.ErrRateLimited):
		return CodeDependencyUnavailable, "the speech recognition server is rate limited; retry later"
	case errors.Is(err, transcribe.ErrUnavailable):
		return CodeDependencyUnavailable, "the media has no subtitles, and no speech recognition engine is configured or reachable (QUARRY_TRANSCRIBER)"
	case errors.Is(err, transcribe.ErrUpstreamTimeout):
		return CodeUpstreamTimeout, "the speech recognition server did not answer in time"
	case errors.Is(err, transcribe.ErrUpstream):
		return CodeFetchFailed, "speech recognition failed"
	case errors.Is(err, extract.ErrMalformed):
		return CodeMalformedDocument, documentMessage(err, extract.ErrMalformed)
	case errors.Is(err, urlfetch.ErrInvalidURL):
		return CodeInvalidRequest, "the URL is not valid"
	case errors.Is(err, urlfetch.ErrForbidden):
		return CodeURLForbidden, "the URL is not allowed: only http and https to public addresses on allowed ports, without credentials"
	case errors.Is(err, urlfetch.ErrTimeout):
		return CodeUpstreamTimeout, "the remote server did not answer in time"
	case errors.Is(err, urlfetch.ErrFetchFailed):
		if fe, ok := errors.AsType[*urlfetch.Error](err); ok && fe.StatusCode != 0 {
			return CodeFetchFailed, "the remote server answered with status " + strconv.Itoa(fe.StatusCode)
		}
		return CodeFetchFailed, "the remote server could not be reached or sent an invalid response"
	}
	return CodeInternal, "internal error"
}

// fail turns a domain error into the error envelope a handler returns. The
// cause of a 5xx is logged with the request id and never sent.
func (s *Server) fail(ctx context.Context, err error) *errorEnvelope {
	// An error that is already a response (a refusal made by a handler or
	// by acquire) goes out as it is.
	if e, ok := errors.AsType[*errorEnvelope](err); ok {
		return e
	}
	code, msg := ErrorCode(err)
	status := codeStatus[code]
	var details []ErrorDetail
	if oe, ok := errors.AsType[*extract.OptionError](err); ok {
		field := "body.options." + oe.Field
		if oe.Field == "mode" {
			field = "body.mode"
		}
		details = []ErrorDetail{{Field: field, Message: oe.Reason}}
	}
	if code == CodeValidationError && errors.Is(err, sources.ErrEmpty) {
		details = []ErrorDetail{{Field: "file", Message: "the file is empty"}}
	}
	if ve, ok := errors.AsType[*assist.ValidationError](err); ok {
		details = []ErrorDetail{{Field: "body." + ve.Field, Message: ve.Reason}}
	}
	details = append(details, projectDetails(err)...)
	switch {
	case errors.Is(err, context.Canceled):
		s.log.LogAttrs(ctx, slog.LevelInfo, "request cancelled by client", slog.String("request_id", requestIDFrom(ctx)))
	case status >= 500:
		s.log.LogAttrs(ctx, slog.LevelError, "request failed", slog.String("request_id", requestIDFrom(ctx)), slog.String("error", err.Error()))
	default:
		// The full cause of a refusal, for operators; the caller got the
		// public message only.
		s.log.LogAttrs(ctx, slog.LevelDebug, "request refused", slog.String("request_id", requestIDFrom(ctx)), slog.String("code", code), slog.String("error", err.Error()))
	}
	e := newError(status, code, msg, details...)
	e.RequestID = requestIDFrom(ctx)
	// An upstream's own Retry-After (an LLM or whisper server's 429 or 503) beats
	// the default on the answers that carry one.
	if ue, ok := errors.AsType[*assist.UpstreamError](err); ok && ue.RetryAfter > 0 && e.GetHeaders().Get("Retry-After") != "" {
		e.GetHeaders().Set("Retry-After", strconv.Itoa(int((ue.RetryAfter+time.Second-1)/time.Second)))
	}
	return e
}
