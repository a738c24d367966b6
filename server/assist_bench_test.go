package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/assist"
)

// noopProvider answers at once, so a benchmark measures what surrounds a
// provider.
type noopProvider struct{}

func (noopProvider) Complete(context.Context, assist.Request) (*assist.Response, error) {
	return &assist.Response{Output: "ok", Provider: "noop", Model: "noop"}, nil
}

// BenchmarkAssistHTTPOverhead measures POST /ai-assist around a provider
// that answers at once: HTTP, the envelope, validation, grounding of about
// 4 800 characters and the feature flag check. Compare with the assist
// package's BenchmarkServiceOverhead (the service alone).
func BenchmarkAssistHTTPOverhead(b *testing.B) {
	s := newStack(b, stackOptions{assistProvider: noopProvider{}})
	text := strings.Repeat("A sentence of the document about solar panels and storage. ", 80)
	body, _ := json.Marshal(map[string]any{"task": "ask", "text": text, "question": "What about storage?"})
	client := s.http.Client()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Post(s.http.URL+"/api/v1/ai-assist", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		var env struct{ Success bool }
		err = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if err != nil || !env.Success {
			b.Fatalf("status %d: %v", resp.StatusCode, err)
		}
	}
}
