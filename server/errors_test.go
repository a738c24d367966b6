package server_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/server"
	"github.com/quarryhq/quarry/sources"
	"github.com/quarryhq/quarry/urlfetch"
)

func TestErrorCode(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("layer: %w", err) }
	cases := []struct {
		err  error
		code string
	}{
		{wrap(sources.ErrNotFound), server.CodeNotFound},
		{wrap(sources.ErrInvalidCursor), server.CodeInvalidRequest},
		{wrap(sources.ErrInvalidFilter), server.CodeInvalidRequest},
		{wrap(sources.ErrEmpty), server.CodeValidationError},
		{wrap(sources.ErrTooLarge), server.CodePayloadTooLarge},
		{wrap(sources.ErrURLUnsupported), server.CodeDependencyUnavailable},
		{wrap(extract.ErrTooLarge), server.CodePayloadTooLarge},
		{wrap(extract.ErrUnsupportedFormat), server.CodeUnsupportedMediaType},
		{wrap(extract.ErrEncrypted), server.CodeEncryptedDocument},
		{wrap(extract.ErrTimeout), server.CodeExtractionTimeout},
		{wrap(extract.ErrMalformed), server.CodeMalformedDocument},
		{&extract.OptionError{Field: "pages", Reason: "bad"}, server.CodeValidationError},
		{wrap(urlfetch.ErrInvalidURL), server.CodeInvalidRequest},
		{wrap(urlfetch.ErrForbidden), server.CodeURLForbidden},
		{wrap(urlfetch.ErrTimeout), server.CodeUpstreamTimeout},
		{wrap(urlfetch.ErrFetchFailed), server.CodeFetchFailed},
		{wrap(urlfetch.ErrTooLarge), server.CodePayloadTooLarge},
		{errors.New("disk on fire at /var/lib/quarry"), server.CodeInternal},
		{context.DeadlineExceeded, server.CodeInternal},
	}
	for _, c := range cases {
		code, msg := server.ErrorCode(c.err)
		if code != c.code {
			t.Errorf("%v: code %q, want %q", c.err, code, c.code)
		}
		if server.StatusOf(code) == 0 {
			t.Errorf("%s has no status", code)
		}
		if code == server.CodeInternal && msg != "internal error" {
			t.Errorf("internal message leaks: %q", msg)
		}
	}
	// Fetch errors never echo their cause: it can name resolved addresses.
	fe := &urlfetch.Error{Kind: urlfetch.ErrForbidden, Detail: "address 10.1.2.3 is private"}
	if _, msg := server.ErrorCode(fe); msg == "" || strings.Contains(msg, "10.1.2.3") {
		t.Errorf("url_forbidden message leaks the address: %q", msg)
	}
	// The closed list: every code has one of the contract's statuses.
	if len(server.Codes()) != 24 {
		t.Errorf("%d codes, the contract lists 24", len(server.Codes()))
	}
}
