package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/quarryhq/quarry/idempotency"
)

// Idempotency-Key (CONTRACT.md section 5) on POST /upload,
// /download-from-url and /projects/{id}/extract: the same caller sending
// the same key with the same request within 24 hours gets the first
// response again, with Idempotent-Replayed: true, and nothing is stored
// (or extracted) twice. The same key with another request answers 409
// conflict, as does a retry while the first request still runs. Only
// successful responses are kept: a failed request may be retried with its
// key.

// idempotencyDoc documents the header on the operations that take it.
const idempotencyDoc = "Idempotency-Key (1 to 255 printable ASCII characters, such as a UUID): the same caller sending the same key with the same request within 24 h gets the first successful response again, with Idempotent-Replayed: true, and nothing is stored twice; the key with another request, or while its first request still runs, answers 409 conflict. Failed requests are not kept, so they may be retried with their key."

// idempotencyScope is the caller a key belongs to: its tenant and user.
func (s *Server) idempotencyScope(ctx context.Context) string {
	p := principal(ctx)
	return s.tenant(ctx) + "/" + p.UserID
}

// fingerprint digests the parts of a request that make it the same
// request.
func fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkIdempotencyKey answers 400 for a key that cannot be one.
func (s *Server) checkIdempotencyKey(ctx context.Context, key string) error {
	if key != "" && !idempotency.ValidKey(key) {
		return s.invalid(ctx, http.StatusBadRequest, CodeInvalidRequest, "the Idempotency-Key header must be 1 to 255 printable ASCII characters",
			ErrorDetail{Field: "header.Idempotency-Key", Message: "1 to 255 printable ASCII characters"})
	}
	return nil
}

// beginIdempotent looks key up for operation and the request's
// fingerprint. With no key (or no store) it returns nothing to do. A
// stored response comes back as out, to be sent as it is; a reservation
// must be completed or released by the caller.
func (s *Server) beginIdempotent(ctx context.Context, key, operation, fp string) (res *idempotency.Reservation, out *sourceOutput, err error) {
	res, stored, err := s.reserveIdempotent(ctx, key, operation, fp)
	if err != nil || stored == nil {
		return res, nil, err
	}
	var src Source
	if err := json.Unmarshal(stored.Body, &src); err != nil {
		return nil, nil, s.fail(ctx, err)
	}
	return nil, &sourceOutput{Location: stored.Location, Replayed: "true", Body: ok(ctx, src)}, nil
}

// reserveIdempotent is beginIdempotent for any operation: the stored
// response comes back as it was kept (keepIdempotent), its Body the JSON
// of the envelope's data.
func (s *Server) reserveIdempotent(ctx context.Context, key, operation, fp string) (*idempotency.Reservation, *idempotency.Response, error) {
	if key == "" || s.deps.Idempotency == nil {
		return nil, nil, nil
	}
	res, stored, err := s.deps.Idempotency.Begin(ctx, idempotency.Request{Scope: s.idempotencyScope(ctx), Key: key, Operation: operation, Fingerprint: fp})
	switch {
	case errors.Is(err, idempotency.ErrMismatch):
		return nil, nil, s.invalid(ctx, http.StatusConflict, CodeConflict, "this Idempotency-Key was used with another request",
			ErrorDetail{Field: "header.Idempotency-Key", Message: "used with another request"})
	case errors.Is(err, idempotency.ErrInProgress):
		e := newError(http.StatusConflict, CodeConflict, "a request with this Idempotency-Key is still in progress; retry when it has finished",
			ErrorDetail{Field: "header.Idempotency-Key", Message: "in progress"})
		e.RequestID = requestIDFrom(ctx)
		e.GetHeaders().Set("Retry-After", "1")
		return nil, nil, e
	case err != nil:
		return nil, nil, s.fail(ctx, err)
	}
	return res, stored, nil
}

// completeIdempotent keeps out as the answer to res's key.
func (s *Server) completeIdempotent(ctx context.Context, res *idempotency.Reservation, out *sourceOutput) {
	s.keepIdempotent(ctx, res, http.StatusCreated, out.Location, out.Body.Data)
}

// keepIdempotent keeps data, the envelope's data of a response of status
// (with its Location, if any), as the answer to res's key. A response over
// idempotency.MaxResponseBytes is not kept: the key is released, and a
// retry runs the request again.
func (s *Server) keepIdempotent(ctx context.Context, res *idempotency.Reservation, status int, location string, data any) {
	if res == nil {
		return
	}
	body, err := json.Marshal(data)
	if err == nil {
		if len(body) > idempotency.MaxResponseBytes {
			s.log.InfoContext(ctx, "an idempotent response is too large to keep; its key is released", "request_id", requestIDFrom(ctx), "bytes", len(body))
		}
		err = res.Complete(context.WithoutCancel(ctx), idempotency.Response{Status: status, Location: location, Body: body})
	}
	if err != nil {
		s.log.ErrorContext(ctx, "keeping an idempotent response", "request_id", requestIDFrom(ctx), "error", err.Error())
	}
}

// releaseIdempotent forgets res's key after a failure.
func (s *Server) releaseIdempotent(ctx context.Context, res *idempotency.Reservation) {
	if res == nil {
		return
	}
	if err := res.Release(context.WithoutCancel(ctx)); err != nil {
		s.log.ErrorContext(ctx, "releasing an idempotency key", "request_id", requestIDFrom(ctx), "error", err.Error())
	}
}

// projectField normalises a project_id for fingerprints.
func projectField(p string) string { return strings.TrimSpace(p) }
