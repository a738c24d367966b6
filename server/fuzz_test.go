package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// FuzzAuthorizationHeader sends arbitrary Authorization headers to an
// operation that needs a token: the answer is always a 401 envelope
// (never a 200, a 500 or a panic).
func FuzzAuthorizationHeader(f *testing.F) {
	for _, seed := range []string{
		"", "Bearer", "Bearer ", "bearer x", "Basic dXNlcjpwdw==", "Bearer a.b.c",
		"Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1c3JfeCJ9.",
		"Bearer eyJhbGciOiJIUzI1NiIsImtpZCI6Ii4uLy4uL2Rldi9udWxsIn0.e30.x",
		"Bearer " + string(make([]byte, 9000)), "Bearer qrt_abcdef", "BEARER  token  with spaces",
	} {
		f.Add(seed)
	}
	s := newStack(f, stackOptions{})
	f.Fuzz(func(t *testing.T, header string) {
		if !httpguts.ValidHeaderFieldValue(header) {
			t.Skip("not sendable as a header value")
		}
		req, err := http.NewRequest(http.MethodGet, s.http.URL+"/api/v1/me", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", header)
		resp, err := s.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var env envelope
		if resp.StatusCode != http.StatusUnauthorized || json.Unmarshal(b, &env) != nil || env.Error == nil {
			t.Fatalf("Authorization %q: %d %s", header, resp.StatusCode, b)
		}
		if c := env.Error.Code; c != "unauthorized" && c != "invalid_token" && c != "token_expired" {
			t.Fatalf("Authorization %q: code %s", header, c)
		}
	})
}
