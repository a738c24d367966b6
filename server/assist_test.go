package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarryhq/quarry/assist"
	"github.com/quarryhq/quarry/server"
)

const assistText = `Honey bees communicate the location of food with the waggle dance. ` +
	`A forager returning to the hive dances in a figure of eight. ` +
	`The angle of the waggle run tells the direction of the flowers relative to the sun. ` +
	`The length of the waggle run tells the distance to the flowers. ` +
	`Other bees follow the dancer and then fly out to the flowers themselves.`

// TestAssistExtractive: the offline provider summarizes, proposes titles
// and answers with citations into the source text, from a text or from a
// stored source; rewrite needs an LLM.
func TestAssistExtractive(t *testing.T) {
	s := newStack(t, stackOptions{})
	var res server.AssistResult
	requireOK(t, s.postJSON(t, "/api/v1/ai-assist", map[string]any{"task": "ask", "text": assistText, "question": "What does the length of the waggle run tell?"}), 200, &res)
	if res.Provider != "extractive" || !strings.Contains(res.Output, "distance") || len(res.Citations) == 0 {
		t.Fatalf("ask: %+v", res)
	}
	runes := []rune(assistText)
	for _, c := range res.Citations {
		if c.Start < 0 || c.End > len(runes) || c.Start >= c.End {
			t.Fatalf("citation %+v out of range", c)
		}
	}
	answered := false
	for _, c := range res.Citations {
		answered = answered || strings.Contains(string(runes[c.Start:c.End]), "distance")
	}
	if !answered {
		t.Errorf("no citation holds the answer: %+v", res.Citations)
	}

	// From a stored source: extracted on demand.
	var src server.Source
	requireOK(t, s.upload(t, "bees.txt", []byte(assistText)), 201, &src)
	res = server.AssistResult{}
	requireOK(t, s.postJSON(t, "/api/v1/ai-assist", map[string]any{"task": "summarize", "source_id": src.ID}), 200, &res)
	if res.SourceID != src.ID || res.Output == "" || res.Task != "summarize" {
		t.Fatalf("summarize: %+v", res)
	}
	requireOK(t, s.postJSON(t, "/api/v1/ai-assist", map[string]any{"task": "titles", "source_id": src.ID}), 200, &res)
	if !strings.Contains(strings.ToLower(res.Output), "waggle") {
		t.Errorf("titles: %q", res.Output)
	}

	// Errors: an LLM task without one, bad input, an unknown source.
	r := s.postJSON(t, "/api/v1/ai-assist", map[string]any{"task": "rewrite", "text": assistText, "instruction": "shorter"})
	requireError(t, r, 503, server.CodeDependencyUnavailable)
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	requireError(t, s.postJSON(t, "/api/v1/ai-assist", map[string]any{"task": "ask", "text": assistText}), 422, server.CodeValidationError)
	requireError(t, s.postJSON(t, "/api/v1/ai-assist", map[string]any{"task": "summarize"}), 422, server.CodeValidationError)
	requireError(t, s.postJSON(t, "/api/v1/ai-assist", map[string]any{"task": "summarize", "text": "x", "source_id": src.ID}), 422, server.CodeValidationError)
	requireError(t, s.postJSON(t, "/api/v1/ai-assist", map[string]any{"task": "dance", "text": "x"}), 422, server.CodeValidationError)
	requireError(t, s.postJSON(t, "/api/v1/ai-assist", map[string]any{"task": "summarize", "source_id": "src_01kaxnotthere0000000000000"}), 404, server.CodeNotFound)
}

// TestAssistLLM: with an OpenAI-compatible server (a fake on loopback that
// checks the request), rewrite works; its 429 and 500 answers map to the
// contract's codes with Retry-After passed on, after at most one retry.
func TestAssistLLM(t *testing.T) {
	var calls atomic.Int32
	var mode atomic.Value
	mode.Store("ok")
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct {
			Model    string `json:"model"`
			Messages []struct{ Role, Content string }
		}
		if r.URL.Path != "/v1/chat/completions" || json.NewDecoder(r.Body).Decode(&req) != nil || req.Model != "test-model" || len(req.Messages) < 2 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		switch mode.Load() {
		case "429":
			w.Header().Set("Retry-After", "42")
			http.Error(w, `{"error":{"message":"slow down"}}`, http.StatusTooManyRequests)
			return
		case "500":
			http.Error(w, `{"error":{"message":"boom"}}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "c1", "object": "chat.completion", "created": time.Now().Unix(), "model": "test-model",
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": "Bees dance to share where food is."}}},
			"usage":   map[string]any{"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59},
		})
	}))
	t.Cleanup(fake.Close)
	llm, err := assist.NewOpenAI(assist.OpenAIConfig{BaseURL: fake.URL + "/v1", Model: "test-model", APIKey: "k", RetryBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := newStack(t, stackOptions{assistProvider: llm})
	body := map[string]any{"task": "rewrite", "text": assistText, "instruction": "one sentence"}
	var res server.AssistResult
	requireOK(t, s.postJSON(t, "/api/v1/ai-assist", body), 200, &res)
	if res.Output != "Bees dance to share where food is." || res.Model != "test-model" || res.Usage.InputTokens != 50 {
		t.Fatalf("rewrite: %+v", res)
	}

	mode.Store("429")
	calls.Store(0)
	r := s.postJSON(t, "/api/v1/ai-assist", body)
	requireError(t, r, 503, server.CodeDependencyUnavailable)
	if got := r.header.Get("Retry-After"); got != "42" || calls.Load() != 1 {
		t.Errorf("429: Retry-After %q, %d calls", got, calls.Load())
	}
	mode.Store("500")
	calls.Store(0)
	requireError(t, s.postJSON(t, "/api/v1/ai-assist", body), 502, server.CodeFetchFailed)
	if calls.Load() != 2 {
		t.Errorf("500: %d calls, want 2 (one retry)", calls.Load())
	}
}
