package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/danielgtaylor/huma/v2"
)

// Envelope is the body of every JSON response of /api/v1 and /api/v2
// (CONTRACT.md section 1). huma names the generic instantiations after their
// type argument, so the OpenAPI document shows the real shape of each
// response (EnvelopeSource, EnvelopeExtraction, ...).
type Envelope[T any] struct {
	Success   bool       `json:"success" doc:"true for a successful response"`
	Data      T          `json:"data"`
	Error     *ErrorBody `json:"error" doc:"always null on success"`
	RequestID string     `json:"request_id" doc:"equals the X-Request-Id response header"`
}

// ErrorBody describes a failure.
type ErrorBody struct {
	Code    string        `json:"code" doc:"stable machine-readable code from the closed list of the contract"`
	Message string        `json:"message" doc:"human-readable explanation; never internal details on 5xx"`
	Details []ErrorDetail `json:"details,omitempty" doc:"one entry per failing field for validation errors"`
}

// ErrorDetail names one failing field.
type ErrorDetail struct {
	Field   string `json:"field" doc:"JSON path of the field: body.mode, query.limit, file..."`
	Message string `json:"message"`
}

// errorEnvelope is the error form of Envelope. It satisfies huma.StatusError
// (and huma.HeadersError), so handlers return it as an error and huma writes
// it with its status.
type errorEnvelope struct {
	status    int
	headers   http.Header
	Success   bool       `json:"success"`
	Data      any        `json:"data"`
	Err       *ErrorBody `json:"error"`
	RequestID string     `json:"request_id"`
}

func (e *errorEnvelope) Error() string  { return e.Err.Message }
func (e *errorEnvelope) GetStatus() int { return e.status }
func (e *errorEnvelope) GetHeaders() http.Header {
	if e.headers == nil {
		e.headers = http.Header{}
	}
	return e.headers
}

// statusCodes maps a status to its default code, for errors huma raises on
// its own (validation, unreadable bodies) and router-level errors.
var statusCodes = map[int]string{
	http.StatusBadRequest:            CodeInvalidRequest,
	http.StatusUnauthorized:          CodeUnauthorized,
	http.StatusForbidden:             CodeForbidden,
	http.StatusNotFound:              CodeNotFound,
	http.StatusMethodNotAllowed:      CodeMethodNotAllowed,
	http.StatusConflict:              CodeConflict,
	http.StatusRequestEntityTooLarge: CodePayloadTooLarge,
	http.StatusUnsupportedMediaType:  CodeUnsupportedMediaType,
	http.StatusUnprocessableEntity:   CodeValidationError,
	http.StatusTooManyRequests:       CodeRateLimited,
	http.StatusInternalServerError:   CodeInternal,
	http.StatusBadGateway:            CodeFetchFailed,
	http.StatusServiceUnavailable:    CodeDependencyUnavailable,
	http.StatusGatewayTimeout:        CodeUpstreamTimeout,
}

// newError builds an error envelope. The code decides the status: every
// code has exactly one (CONTRACT.md section 2). Without a code, the status
// picks its default code; a status the contract does not use (huma's 408
// for a body that did not arrive in time, say) becomes the nearest one,
// invalid_request or internal. Messages of 500s are replaced by a generic
// text: causes are logged, never sent.
func newError(status int, code, msg string, details ...ErrorDetail) *errorEnvelope {
	if code == "" {
		code = statusCodes[status]
	}
	if code == "" {
		if status >= 500 {
			code = CodeInternal
		} else {
			code = CodeInvalidRequest
		}
	}
	status = codeStatus[code]
	if code == CodeInternal {
		msg = "internal error"
		details = nil
	}
	e := &errorEnvelope{status: status, Err: &ErrorBody{Code: code, Message: msg, Details: details}}
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		e.GetHeaders().Set("Retry-After", "5")
	}
	return e
}

// humaError adapts huma's own errors (validation, body read) to the envelope.
func humaError(status int, msg string, errs ...error) *errorEnvelope {
	var details []ErrorDetail
	for _, err := range errs {
		if err == nil {
			continue
		}
		var d huma.ErrorDetailer
		if errors.As(err, &d) {
			ed := d.ErrorDetail()
			details = append(details, ErrorDetail{Field: ed.Location, Message: ed.Message})
			continue
		}
		var env *errorEnvelope
		if errors.As(err, &env) {
			return env
		}
	}
	if status == http.StatusUnprocessableEntity && len(details) > 0 {
		msg = "request validation failed"
	}
	return newError(status, "", msg, details...)
}

var installOnce sync.Once

// installErrorModel replaces huma's RFC 9457 errors with our envelope.
//
// huma.NewError and huma.NewErrorWithContext are process-wide variables
// (huma issue #352): an application that embeds Quarry's server next to its
// own huma API inherits this error model. They must be set before the first
// huma.Register, which documents error responses with their schema.
func installErrorModel() {
	installOnce.Do(func() {
		huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
			return humaError(status, msg, errs...)
		}
		huma.NewErrorWithContext = func(hctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
			e := humaError(status, msg, errs...)
			if hctx != nil {
				e.RequestID = requestIDFrom(hctx.Context())
			}
			return e
		}
	})
}

// ok wraps v in a success envelope.
func ok[T any](ctx context.Context, v T) Envelope[T] {
	return Envelope[T]{Success: true, Data: v, RequestID: requestIDFrom(ctx)}
}

// writeEnvelopeError writes an error envelope outside huma (router 404/405,
// panics, middleware refusals).
func writeEnvelopeError(w http.ResponseWriter, r *http.Request, e *errorEnvelope) {
	e.RequestID = requestIDFrom(r.Context())
	for k, vs := range e.headers {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "application/json") // as huma writes it: JSON is UTF-8 by definition (RFC 8259)
	b, _ := json.Marshal(e)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(e.status)
	_, _ = w.Write(append(b, '\n'))
}
