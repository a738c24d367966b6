package server

import (
	"net/http"
	"testing"
)

// TestNewErrorKeepsCodeStatusPairs: whatever status a caller (or huma)
// asks for, the envelope's status is the one its code has in the contract.
func TestNewErrorKeepsCodeStatusPairs(t *testing.T) {
	cases := []struct {
		status     int
		code       string
		wantStatus int
		wantCode   string
	}{
		{http.StatusRequestTimeout, "", 400, CodeInvalidRequest}, // huma's body read timeout
		{http.StatusTeapot, "", 400, CodeInvalidRequest},
		{http.StatusNotImplemented, "", 500, CodeInternal},
		{http.StatusUnprocessableEntity, "", 422, CodeValidationError},
		{http.StatusUnprocessableEntity, CodeMalformedDocument, 422, CodeMalformedDocument},
		{http.StatusBadRequest, CodeURLForbidden, 400, CodeURLForbidden},
		{http.StatusOK, CodeOverCapacity, 503, CodeOverCapacity},
	}
	for _, c := range cases {
		e := newError(c.status, c.code, "msg")
		if e.status != c.wantStatus || e.Err.Code != c.wantCode {
			t.Errorf("newError(%d, %q) = %d %s, want %d %s", c.status, c.code, e.status, e.Err.Code, c.wantStatus, c.wantCode)
		}
		if e.status == 503 && e.headers.Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
	}
	if e := newError(500, "", "disk /x failed"); e.Err.Message != "internal error" {
		t.Errorf("500 message leaks: %q", e.Err.Message)
	}
}
