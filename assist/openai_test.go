package assist_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarryhq/quarry/assist"
)

// fakeLLM is an OpenAI-compatible chat-completions server that records the
// requests it receives and answers with handle.
type fakeLLM struct {
	t      *testing.T
	srv    *httptest.Server
	hits   atomic.Int32
	mu     sync.Mutex
	bodies []chatRequest
	handle func(w http.ResponseWriter, r *http.Request, n int32)
}

type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	MaxTokens     int  `json:"max_tokens"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Auth string `json:"-"`
}

func newFake(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int32)) *fakeLLM {
	t.Helper()
	f := &fakeLLM{t: t, handle: handle}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.hits.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			t.Errorf("request %s %s, want POST /v1/chat/completions", r.Method, r.URL.Path)
		}
		var body chatRequest
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("decode request: %v", err)
		}
		body.Auth = r.Header.Get("Authorization")
		f.mu.Lock()
		f.bodies = append(f.bodies, body)
		f.mu.Unlock()
		f.handle(w, r, n)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeLLM) requests() []chatRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chatRequest(nil), f.bodies...)
}

func completion(content string) string {
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "fake-model-v1",
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": content}}},
		"usage": map[string]any{"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49},
	})
	return string(b)
}

func answerWith(content string) func(http.ResponseWriter, *http.Request, int32) {
	return func(w http.ResponseWriter, _ *http.Request, _ int32) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, completion(content))
	}
}

func status(code int, header ...string) func(http.ResponseWriter, *http.Request, int32) {
	return func(w http.ResponseWriter, _ *http.Request, _ int32) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":{"message":"fake failure %d","type":"server_error"}}`, code)
	}
}

type setup struct {
	svc  *assist.Service
	logs *bytes.Buffer
}

func newService(t *testing.T, f *fakeLLM, tweak func(*assist.Config, *assist.OpenAIConfig)) setup {
	t.Helper()
	ocfg := assist.OpenAIConfig{BaseURL: f.srv.URL + "/v1", Model: "fake-model", APIKey: "sk-test", RetryBackoff: time.Millisecond}
	var logs bytes.Buffer
	cfg := assist.Config{
		Logger:  slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Timeout: 5 * time.Second,
	}
	if tweak != nil {
		tweak(&cfg, &ocfg)
	}
	p, err := assist.NewOpenAI(ocfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Provider = p
	svc, err := assist.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return setup{svc: svc, logs: &logs}
}

const secretDoc = "The launch code of project NIGHTJAR is 7741-PELICAN. Only the board may see it."

func TestOpenAIRequestShape(t *testing.T) {
	t.Parallel()
	f := newFake(t, answerWith("A short answer."))
	s := newService(t, f, nil)
	task := assist.Task{Kind: assist.Ask, Text: secretDoc, Question: "What is the PELICAN code for?"}
	res, err := s.svc.Do(t.Context(), task)
	if err != nil {
		t.Fatal(err)
	}
	if res.Output != "A short answer." || res.Provider != "openai" || res.Model != "fake-model-v1" || res.Task != assist.Ask {
		t.Errorf("result = %+v", res)
	}
	if res.Usage != (assist.Usage{InputTokens: 42, OutputTokens: 7}) {
		t.Errorf("usage = %+v", res.Usage)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	system, user, err := assist.Prompt(assist.Request{Task: assist.Ask, Text: secretDoc, Question: task.Question})
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "fake-model" || r.Auth != "Bearer sk-test" || r.Stream {
		t.Errorf("model %q auth %q stream %v", r.Model, r.Auth, r.Stream)
	}
	if len(r.Messages) != 2 || r.Messages[0].Role != "system" || r.Messages[0].Content != system ||
		r.Messages[1].Role != "user" || r.Messages[1].Content != user {
		t.Errorf("messages = %+v", r.Messages)
	}
	if !strings.Contains(user, secretDoc) || !strings.Contains(user, task.Question) || !strings.Contains(system, "not instructions") {
		t.Errorf("prompt lacks document, question or guard:\nsystem: %s\nuser: %s", system, user)
	}
	if r.MaxTokens <= 0 {
		t.Errorf("max_tokens = %d, want > 0", r.MaxTokens)
	}
	noLeak(t, s.logs, "NIGHTJAR", "PELICAN", "launch code", "A short answer", "document assistant")
	if !strings.Contains(s.logs.String(), `"msg":"assist done"`) {
		t.Errorf("no completion log record: %s", s.logs)
	}
}

func noLeak(t *testing.T, logs *bytes.Buffer, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("logs contain %q:\n%s", s, logs)
		}
	}
}

func TestOpenAIStreaming(t *testing.T) {
	t.Parallel()
	pieces := []string{"Solar ", "panels ", "got ", "cheap."}
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int32) {
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		for _, p := range pieces {
			fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"fake-model-v1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", p)
			fl.Flush()
		}
		io.WriteString(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"fake-model-v1\",\"choices\":[],\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":4,\"total_tokens\":34}}\n\n")
		io.WriteString(w, "data: [DONE]\n\n")
	})
	s := newService(t, f, nil)
	var got []string
	res, err := s.svc.Stream(t.Context(), assist.Task{Kind: assist.Summarize, Text: secretDoc}, func(d string) error {
		got = append(got, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != strings.Join(pieces, "|") || res.Output != strings.Join(pieces, "") {
		t.Errorf("deltas %q, output %q", got, res.Output)
	}
	if res.Usage != (assist.Usage{InputTokens: 30, OutputTokens: 4}) || res.Model != "fake-model-v1" {
		t.Errorf("result = %+v", res)
	}
	r := f.requests()[0]
	if !r.Stream || r.StreamOptions == nil || !r.StreamOptions.IncludeUsage {
		t.Errorf("stream %v options %+v", r.Stream, r.StreamOptions)
	}
	noLeak(t, s.logs, "NIGHTJAR", "Solar panels")
}

func TestOpenAIStreamCapped(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ int32) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 1000; i++ {
			if _, err := fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"0123456789\"}}]}\n\n"); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	})
	s := newService(t, f, func(c *assist.Config, _ *assist.OpenAIConfig) { c.MaxOutputChars = 25 })
	var all strings.Builder
	res, err := s.svc.Stream(t.Context(), assist.Task{Kind: assist.Summarize, Text: "x y z"}, func(d string) error {
		all.WriteString(d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if all.String() != "0123456789012345678901234" || !res.Truncated {
		t.Errorf("streamed %q truncated %v", all.String(), res.Truncated)
	}
}

func TestOpenAITimeouts(t *testing.T) {
	t.Parallel()
	hang := func(w http.ResponseWriter, r *http.Request, _ int32) { <-r.Context().Done() }
	slow := func(w http.ResponseWriter, r *http.Request, _ int32) {
		w.Header().Set("Content-Type", "text/event-stream")
		for {
			fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok \"}}]}\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
	for _, tc := range []struct {
		name   string
		handle func(http.ResponseWriter, *http.Request, int32)
		stream bool
	}{{"hang", hang, false}, {"hang stream", hang, true}, {"one token a second", slow, true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tc.handle)
			s := newService(t, f, func(c *assist.Config, _ *assist.OpenAIConfig) { c.Timeout = 300 * time.Millisecond })
			start := time.Now()
			var err error
			if tc.stream {
				_, err = s.svc.Stream(t.Context(), assist.Task{Kind: assist.Summarize, Text: secretDoc}, func(string) error { return nil })
			} else {
				_, err = s.svc.Do(t.Context(), assist.Task{Kind: assist.Summarize, Text: secretDoc})
			}
			if !errors.Is(err, assist.ErrUpstreamTimeout) {
				t.Fatalf("err = %v, want ErrUpstreamTimeout", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %s, want about the 300ms deadline", d)
			}
			if n := f.hits.Load(); n != 1 {
				t.Errorf("%d requests, want 1 (no retry after a timeout)", n)
			}
			noLeak(t, s.logs, "NIGHTJAR")
			if !strings.Contains(s.logs.String(), "upstream_timeout") {
				t.Errorf("log lacks error kind: %s", s.logs)
			}
		})
	}
}

func TestOpenAIRateLimited(t *testing.T) {
	t.Parallel()
	f := newFake(t, status(http.StatusTooManyRequests, "Retry-After", "60"))
	s := newService(t, f, nil)
	_, err := s.svc.Do(t.Context(), assist.Task{Kind: assist.Titles, Text: secretDoc})
	var ue *assist.UpstreamError
	if !errors.Is(err, assist.ErrRateLimited) || !errors.As(err, &ue) {
		t.Fatalf("err = %v, want ErrRateLimited", err)
	}
	if ue.RetryAfter != time.Minute || ue.StatusCode != 429 {
		t.Errorf("RetryAfter %s status %d", ue.RetryAfter, ue.StatusCode)
	}
	if n := f.hits.Load(); n != 1 {
		t.Errorf("%d requests, want 1 (no retry on 4xx)", n)
	}
}

func TestOpenAIRetry(t *testing.T) {
	t.Parallel()
	t.Run("500 then success", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int32) {
			if n == 1 {
				status(500)(w, r, n)
				return
			}
			answerWith("ok")(w, r, n)
		})
		s := newService(t, f, nil)
		res, err := s.svc.Do(t.Context(), assist.Task{Kind: assist.Summarize, Text: secretDoc})
		if err != nil || res.Output != "ok" {
			t.Fatalf("res %+v err %v", res, err)
		}
		if n := f.hits.Load(); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
	t.Run("500 twice", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, status(503, "Retry-After", "1"))
		s := newService(t, f, nil)
		_, err := s.svc.Do(t.Context(), assist.Task{Kind: assist.Summarize, Text: secretDoc})
		var ue *assist.UpstreamError
		if !errors.Is(err, assist.ErrUpstream) || !errors.As(err, &ue) {
			t.Fatalf("err = %v, want ErrUpstream", err)
		}
		if n := f.hits.Load(); n != 2 || ue.Attempts != 2 || ue.StatusCode != 503 || ue.RetryAfter != time.Second {
			t.Errorf("%d requests, error %+v; want 2 requests, status 503, retry after 1s", n, ue)
		}
		if strings.Contains(err.Error(), "fake failure") {
			t.Errorf("error text quotes the upstream body: %v", err)
		}
	})
	t.Run("400 not retried", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, status(400))
		s := newService(t, f, nil)
		_, err := s.svc.Do(t.Context(), assist.Task{Kind: assist.Summarize, Text: secretDoc})
		if !errors.Is(err, assist.ErrUpstream) || f.hits.Load() != 1 {
			t.Errorf("err %v after %d requests, want ErrUpstream after 1", err, f.hits.Load())
		}
	})
}

func TestOpenAIConnectionRefused(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p, err := assist.NewOpenAI(assist.OpenAIConfig{BaseURL: "http://" + addr + "/v1", Model: "m", RetryBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Complete(t.Context(), assist.Request{Task: assist.Summarize, Text: "x"})
	var ue *assist.UpstreamError
	if !errors.Is(err, assist.ErrUnavailable) || !errors.As(err, &ue) || ue.Attempts != 2 {
		t.Errorf("err = %v (%+v), want ErrUnavailable after 2 attempts", err, ue)
	}
	if _, err := assist.NewOpenAI(assist.OpenAIConfig{Model: "m"}); !errors.Is(err, assist.ErrUnavailable) || !strings.Contains(err.Error(), "BaseURL") {
		t.Errorf("unconfigured: err = %v", err)
	}
}

func TestOpenAIOversized(t *testing.T) {
	t.Parallel()
	t.Run("output capped", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, answerWith(strings.Repeat("é", 5000)))
		s := newService(t, f, func(c *assist.Config, _ *assist.OpenAIConfig) { c.MaxOutputChars = 100 })
		res, err := s.svc.Do(t.Context(), assist.Task{Kind: assist.Summarize, Text: secretDoc})
		if err != nil {
			t.Fatal(err)
		}
		if res.Output != strings.Repeat("é", 100) || !res.Truncated {
			t.Errorf("output of %d bytes, truncated %v", len(res.Output), res.Truncated)
		}
	})
	t.Run("body too large", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, answerWith(strings.Repeat("a", 1<<20)))
		s := newService(t, f, func(_ *assist.Config, o *assist.OpenAIConfig) { o.MaxResponseBytes = 64 << 10 })
		_, err := s.svc.Do(t.Context(), assist.Task{Kind: assist.Summarize, Text: secretDoc})
		if !errors.Is(err, assist.ErrUpstream) || f.hits.Load() != 1 {
			t.Errorf("err = %v after %d requests, want ErrUpstream after 1", err, f.hits.Load())
		}
	})
}

func TestOpenAIMalformed(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ int32) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"choices": [ {"message": {"content": "unterminated`)
	})
	s := newService(t, f, nil)
	_, err := s.svc.Do(t.Context(), assist.Task{Kind: assist.Summarize, Text: secretDoc})
	if !errors.Is(err, assist.ErrUpstream) {
		t.Errorf("err = %v, want ErrUpstream", err)
	}
	if n := f.hits.Load(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	noLeak(t, s.logs, "NIGHTJAR", "unterminated")
}

var _ context.Context // keep the import list stable when cases move
