package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarryhq/quarry/assist"
	"github.com/quarryhq/quarry/server"
)

// sseEvent is one parsed server-sent event.
type sseEvent struct {
	name string
	data string
}

// readSSE parses a text/event-stream body into its events.
func readSSE(t *testing.T, r io.Reader) []sseEvent {
	t.Helper()
	var (
		out []sseEvent
		cur sseEvent
	)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.name != "" || cur.data != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data += strings.TrimPrefix(line, "data: ")
		default:
			t.Fatalf("unexpected SSE line %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// streamingLLM is an OpenAI-compatible fake that streams pieces, or fails
// as mode says: "429" before any output, "cut" after the first piece.
func streamingLLM(t *testing.T, pieces []string, mode *atomic.Value, calls *atomic.Int32) *httptest.Server {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct {
			Model  string `json:"model"`
			Stream bool   `json:"stream"`
		}
		if r.URL.Path != "/v1/chat/completions" || json.NewDecoder(r.Body).Decode(&req) != nil || req.Model != "test-model" || !req.Stream {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if mode.Load() == "429" {
			w.Header().Set("Retry-After", "42")
			http.Error(w, `{"error":{"message":"slow down"}}`, http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for i, p := range pieces {
			fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"test-model\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", p)
			w.(http.Flusher).Flush()
			if i == 0 && mode.Load() == "cut" {
				io.WriteString(w, "data: {not json\n\n")
				return
			}
		}
		io.WriteString(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"test-model\",\"choices\":[],\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":4,\"total_tokens\":34}}\n\n")
		io.WriteString(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(fake.Close)
	return fake
}

func TestAssistStream(t *testing.T) {
	pieces := []string{"Bees ", "dance ", "to ", "share."}
	var mode atomic.Value
	mode.Store("ok")
	var calls atomic.Int32
	fake := streamingLLM(t, pieces, &mode, &calls)
	llm, err := assist.NewOpenAI(assist.OpenAIConfig{BaseURL: fake.URL + "/v1", Model: "test-model", RetryBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := newStack(t, stackOptions{assistProvider: llm})
	post := func(body map[string]any) *http.Response {
		t.Helper()
		b, _ := json.Marshal(body)
		resp, err := http.Post(s.http.URL+"/api/v1/ai-assist/stream", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	body := map[string]any{"task": "rewrite", "text": assistText, "instruction": "one sentence"}

	t.Run("deltas then done", func(t *testing.T) {
		mode.Store("ok")
		resp := post(body)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") || resp.Header.Get("X-Request-Id") == "" {
			t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		events := readSSE(t, resp.Body)
		if len(events) != len(pieces)+1 {
			t.Fatalf("%d events, want %d deltas and done: %+v", len(events), len(pieces), events)
		}
		var got strings.Builder
		for _, ev := range events[:len(pieces)] {
			var d server.AssistDelta
			if ev.name != "delta" || json.Unmarshal([]byte(ev.data), &d) != nil {
				t.Fatalf("event %+v, want a delta", ev)
			}
			got.WriteString(d.Text)
		}
		var res server.AssistResult
		if last := events[len(events)-1]; last.name != "done" || json.Unmarshal([]byte(last.data), &res) != nil {
			t.Fatalf("last event %+v, want done", last)
		}
		if got.String() != strings.Join(pieces, "") || res.Output != got.String() || res.Model != "test-model" || res.Usage.OutputTokens != 4 || res.Task != "rewrite" {
			t.Errorf("deltas %q, result %+v", got.String(), res)
		}
	})

	t.Run("failure before output is an envelope", func(t *testing.T) {
		mode.Store("429")
		calls.Store(0)
		resp := post(body)
		b, _ := io.ReadAll(resp.Body)
		var env struct {
			Success bool
			Error   struct{ Code string }
		}
		if resp.StatusCode != 503 || json.Unmarshal(b, &env) != nil || env.Success || env.Error.Code != server.CodeDependencyUnavailable {
			t.Fatalf("status %d body %s", resp.StatusCode, b)
		}
		if resp.Header.Get("Retry-After") != "42" || calls.Load() != 1 {
			t.Errorf("Retry-After %q, %d calls", resp.Header.Get("Retry-After"), calls.Load())
		}
	})

	t.Run("failure after output is an error event", func(t *testing.T) {
		mode.Store("cut")
		resp := post(body)
		events := readSSE(t, resp.Body)
		if resp.StatusCode != 200 || len(events) != 2 || events[0].name != "delta" || events[1].name != "error" {
			t.Fatalf("status %d events %+v", resp.StatusCode, events)
		}
		var e server.AssistStreamError
		if json.Unmarshal([]byte(events[1].data), &e) != nil || e.Code != server.CodeFetchFailed || strings.Contains(e.Message, "not json") {
			t.Errorf("error event %+v", e)
		}
	})

	t.Run("validation is an envelope", func(t *testing.T) {
		requireError(t, s.postJSON(t, "/api/v1/ai-assist/stream", map[string]any{"task": "rewrite", "text": "x"}), 422, server.CodeValidationError)
		requireError(t, s.postJSON(t, "/api/v1/ai-assist/stream", map[string]any{"task": "ask", "source_id": "src_01kaxxxxxxxxxxxxxxxxxxxxxx", "question": "q"}), 404, server.CodeNotFound)
	})
}

func TestAssistStreamExtractive(t *testing.T) {
	s := newStack(t, stackOptions{})
	b, _ := json.Marshal(map[string]any{"task": "summarize", "text": assistText})
	resp, err := http.Post(s.http.URL+"/api/v1/ai-assist/stream", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := readSSE(t, resp.Body)
	if len(events) != 2 || events[0].name != "delta" || events[1].name != "done" {
		t.Fatalf("events %+v", events)
	}
	var res server.AssistResult
	if json.Unmarshal([]byte(events[1].data), &res) != nil || res.Provider != "extractive" || !strings.Contains(events[0].data, res.Output[:10]) {
		t.Errorf("done %+v", res)
	}
}
