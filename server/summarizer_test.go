package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quarryhq/quarry/assist"
	"github.com/quarryhq/quarry/audit"
	"github.com/quarryhq/quarry/auth"
	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/flags"
	"github.com/quarryhq/quarry/server"
)

// summarizerText is long enough for an extractive summary to leave
// sentences out; its last sentence is far from its first.
const summarizerText = assistText + " " +
	"Scouts use the same dance to choose a new home when the colony swarms. " +
	"The waggle dance was decoded by Karl von Frisch, who received the Nobel Prize in 1973."

// fakeLLMRequest is what the fake OpenAI-compatible server was sent.
type fakeLLMRequest struct {
	Model    string `json:"model"`
	Stream   bool   `json:"stream"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
}

// fakeLLM is an OpenAI-compatible chat-completions server on loopback that
// records what it is sent and answers answer, or fails with status.
type fakeLLM struct {
	srv    *httptest.Server
	answer string
	status atomic.Int32 // 0: answer
	mu     sync.Mutex
	reqs   []fakeLLMRequest
}

func newFakeLLM(t *testing.T, answer string) *fakeLLM {
	t.Helper()
	f := &fakeLLM{answer: answer}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req fakeLLMRequest
		if r.URL.Path != "/v1/chat/completions" || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, req)
		f.mu.Unlock()
		if st := int(f.status.Load()); st != 0 {
			http.Error(w, `{"error":{"message":"boom"}}`, st)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "c1", "object": "chat.completion", "created": time.Now().Unix(), "model": "test-model",
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": f.answer}}},
			"usage":   map[string]any{"prompt_tokens": 120, "completion_tokens": 12, "total_tokens": 132},
		})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// requests returns the requests received so far and forgets them.
func (f *fakeLLM) requests() []fakeLLMRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.reqs
	f.reqs = nil
	return r
}

// stack returns a server whose assist provider is the fake.
func (f *fakeLLM) stack(t *testing.T) *stack {
	t.Helper()
	llm, err := assist.NewOpenAI(assist.OpenAIConfig{BaseURL: f.srv.URL + "/v1", Model: "test-model", APIKey: "k", RetryBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return newStack(t, stackOptions{assistProvider: llm})
}

func llmSummaryBody(id string, opts map[string]any) map[string]any {
	o := map[string]any{"summarizer": "llm"}
	for k, v := range opts {
		o[k] = v
	}
	return map[string]any{"source_id": id, "mode": "summary", "options": o}
}

// TestSummarizerExtractiveDefault: without options.summarizer, and with
// summarizer extractive, a summary is the extractive one, the same either
// way, and no language model is asked, even when one is configured.
func TestSummarizerExtractiveDefault(t *testing.T) {
	fake := newFakeLLM(t, "unused")
	s := fake.stack(t)
	src := uploadText(t, s, "bees.txt", summarizerText)
	var def, explicit server.Extraction
	requireOK(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID, "mode": "summary", "options": map[string]any{"summary_sentences": 2}}), 200, &def)
	requireOK(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID, "mode": "summary", "options": map[string]any{"summary_sentences": 2, "summarizer": "extractive"}}), 200, &explicit)
	if def.Mode != "summary" || def.Text == "" || len(def.Text) >= len(summarizerText) || def.Metadata.Engine != "" {
		t.Fatalf("default summary: %+v", def)
	}
	if explicit.Text != def.Text || len(explicit.Pages) != len(def.Pages) {
		t.Fatalf("summarizer extractive %q differs from the default %q", explicit.Text, def.Text)
	}
	// The extractive summary's sentences are quoted from the text.
	for _, p := range def.Pages {
		for sent := range strings.SplitSeq(p.Text, ". ") {
			if !strings.Contains(summarizerText, strings.TrimSuffix(sent, ".")) {
				t.Errorf("sentence %q is not from the text", sent)
			}
		}
	}
	// summarizer extractive with mode text is the text, as before.
	var text server.Extraction
	requireOK(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID, "options": map[string]any{"summarizer": "extractive"}}), 200, &text)
	if text.Mode != "text" || text.Text != summarizerText {
		t.Fatalf("text mode: %+v", text)
	}
	if n := len(fake.requests()); n != 0 {
		t.Errorf("the language model got %d requests", n)
	}
}

// TestSummarizerLLM: summarizer llm sends the whole text to the language
// model (not a partial text extraction stored before), answers its
// summary as one page with metadata.engine naming the model, stores it as
// the source's latest extraction and leaves an audit event.
func TestSummarizerLLM(t *testing.T) {
	const answer = "Bees dance to tell each other where flowers are."
	fake := newFakeLLM(t, "\n  "+answer+"  \n")
	s := fake.stack(t)
	src := uploadText(t, s, "bees.txt", summarizerText)

	// A partial text extraction is stored first: it must not be reused.
	var partial server.Extraction
	requireOK(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID, "options": map[string]any{"max_chars": 40}}), 200, &partial)
	if utf8.RuneCountInString(partial.Text) != 40 {
		t.Fatalf("partial text extraction: %q", partial.Text)
	}

	var x server.Extraction
	requireOK(t, s.postJSON(t, "/api/v1/extract", llmSummaryBody(src.ID, nil)), 200, &x)
	if x.SourceID != src.ID || x.Mode != "summary" || x.Text != answer {
		t.Fatalf("summary: %+v", x)
	}
	if x.Metadata.Engine != "llm:test-model" || x.Metadata.Parser == "" || x.Metadata.PageCount != 1 {
		t.Errorf("metadata: %+v", x.Metadata)
	}
	if len(x.Pages) != 1 || x.Pages[0] != (extract.Page{Number: 1, Text: answer, Start: 0, End: utf8.RuneCountInString(answer)}) {
		t.Errorf("pages: %+v", x.Pages)
	}
	if len(x.Warnings) != 0 {
		t.Errorf("warnings: %+v", x.Warnings)
	}

	reqs := fake.requests()
	if len(reqs) != 1 {
		t.Fatalf("the language model got %d requests, want 1", len(reqs))
	}
	req := reqs[0]
	if req.Model != "test-model" || req.Stream || len(req.Messages) != 2 || req.Messages[0].Role != "system" || req.Messages[1].Role != "user" {
		t.Fatalf("request: %+v", req)
	}
	if !strings.Contains(req.Messages[1].Content, summarizerText) {
		t.Errorf("the user message does not hold the whole text:\n%s", req.Messages[1].Content)
	}

	// Stored: the source's latest extraction is the summary.
	var got server.Source
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/source/"+src.ID, nil), 200, &got)
	if got.Status != "extracted" || got.LatestExtraction == nil || got.LatestExtraction.Mode != "summary" ||
		got.LatestExtraction.Text != answer || got.LatestExtraction.Metadata.Engine != "llm:test-model" {
		t.Fatalf("stored: %+v", got.LatestExtraction)
	}

	// Asked again, the model is asked again (summaries are not cached).
	var again server.Extraction
	requireOK(t, s.postJSON(t, "/api/v1/extract", llmSummaryBody(src.ID, nil)), 200, &again)
	if again.Text != answer || len(fake.requests()) != 1 {
		t.Fatalf("second summary: %+v", again)
	}

	page, err := s.audit.List(context.Background(), audit.ListParams{TenantID: auth.DefaultTenantID, Action: "extraction.completed"})
	if err != nil {
		t.Fatal(err)
	}
	llm := 0
	for _, e := range page.Items {
		if e.Details["summarizer"] == "llm" {
			llm++
			if e.Details["mode"] != "summary" || e.Details["engine"] != "llm:test-model" || e.RequestID == "" || strings.Contains(string(mustJSON(t, e.Details)), "waggle") {
				t.Errorf("audit event %+v", e)
			}
		}
	}
	if llm != 2 {
		t.Errorf("%d extraction.completed events with summarizer llm, want 2", llm)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSummarizerLLMMaxChars: options.max_chars caps the model's summary at
// a code point boundary with a truncated warning.
func TestSummarizerLLMMaxChars(t *testing.T) {
	const answer = "Les abeilles dansent pour indiquer où sont les fleurs — à l'angle du soleil."
	fake := newFakeLLM(t, answer)
	s := fake.stack(t)
	src := uploadText(t, s, "bees.txt", summarizerText)
	var x server.Extraction
	requireOK(t, s.postJSON(t, "/api/v1/extract", llmSummaryBody(src.ID, map[string]any{"max_chars": 28})), 200, &x)
	want := string([]rune(answer)[:28])
	if x.Text != want || !utf8.ValidString(x.Text) {
		t.Fatalf("text = %q, want %q", x.Text, want)
	}
	if len(x.Pages) != 1 || x.Pages[0].End != 28 || x.Pages[0].Text != want {
		t.Errorf("pages: %+v", x.Pages)
	}
	truncated := 0
	for _, w := range x.Warnings {
		if w.Code == extract.WarnTruncated {
			truncated++
		}
	}
	if truncated != 1 {
		t.Errorf("warnings %+v, want one truncated", x.Warnings)
	}
}

// TestSummarizerLLMPages: options.pages summarizes only the selected pages
// of a paginated document; the summary's page is numbered after the first.
func TestSummarizerLLMPages(t *testing.T) {
	fake := newFakeLLM(t, "Page two is about deltas.")
	s := fake.stack(t)
	var src server.Source
	requireOK(t, s.upload(t, "two.pdf", twoPagePDF("Rivers carry sediment", "Deltas form slowly")), 201, &src)
	var x server.Extraction
	requireOK(t, s.postJSON(t, "/api/v1/extract", llmSummaryBody(src.ID, map[string]any{"pages": "2"})), 200, &x)
	if len(x.Pages) != 1 || x.Pages[0].Number != 2 || x.Metadata.PageCount != 2 || x.Metadata.Engine != "llm:test-model" {
		t.Fatalf("summary: %+v", x)
	}
	reqs := fake.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	if user := reqs[0].Messages[1].Content; !strings.Contains(user, "Deltas form slowly") || strings.Contains(user, "Rivers carry sediment") {
		t.Errorf("the model got the wrong pages:\n%s", user)
	}

	// A selection without pages gives an empty summary, without the model.
	var empty server.Extraction
	requireOK(t, s.postJSON(t, "/api/v1/extract", llmSummaryBody(src.ID, map[string]any{"pages": "9"})), 200, &empty)
	if empty.Text != "" || len(empty.Pages) != 0 || empty.Metadata.Engine != "" || empty.Metadata.PageCount != 2 || len(fake.requests()) != 0 {
		t.Fatalf("empty selection: %+v", empty)
	}
}

// twoPagePDF is a PDF with one line of text on each of its two pages (no
// parentheses or backslashes in the text).
func twoPagePDF(one, two string) []byte {
	page := func(contents int) string {
		return "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents " +
			string(rune('0'+contents)) + " 0 R >>"
	}
	return buildPDF([]string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
		page(6),
		page(7),
		helvetica,
		pdfStream("", []byte("BT /F1 24 Tf 72 720 Td ("+one+") Tj ET")),
		pdfStream("", []byte("BT /F1 24 Tf 72 720 Td ("+two+") Tj ET")),
	}, "/Root 1 0 R")
}

// TestSummarizerLLMUnavailable: without a language model, summarizer llm
// answers 503 dependency_unavailable rather than an extractive summary.
func TestSummarizerLLMUnavailable(t *testing.T) {
	s := newStack(t, stackOptions{}) // the extractive assist provider
	src := uploadText(t, s, "bees.txt", summarizerText)
	r := s.postJSON(t, "/api/v1/extract", llmSummaryBody(src.ID, nil))
	requireError(t, r, http.StatusServiceUnavailable, server.CodeDependencyUnavailable)
	if !strings.Contains(r.env.Error.Message, "QUARRY_LLM_URL") || r.header.Get("Retry-After") == "" {
		t.Errorf("message %q, Retry-After %q", r.env.Error.Message, r.header.Get("Retry-After"))
	}
	// Nothing was stored.
	var got server.Source
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/source/"+src.ID, nil), 200, &got)
	if got.LatestExtraction != nil {
		t.Errorf("stored: %+v", got.LatestExtraction)
	}
}

// TestSummarizerLLMValidation: summarizer llm needs mode summary and does
// not take summary_sentences or chunking; the details name the field.
func TestSummarizerLLMValidation(t *testing.T) {
	fake := newFakeLLM(t, "unused")
	s := fake.stack(t)
	src := uploadText(t, s, "bees.txt", summarizerText)
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"mode text", map[string]any{"source_id": src.ID, "mode": "text", "options": map[string]any{"summarizer": "llm"}}, "body.options.summarizer"},
		{"mode omitted", map[string]any{"source_id": src.ID, "options": map[string]any{"summarizer": "llm"}}, "body.options.summarizer"},
		{"unknown summarizer", map[string]any{"source_id": src.ID, "mode": "summary", "options": map[string]any{"summarizer": "gpt"}}, "body.options.summarizer"},
		{"chunking", llmSummaryBody(src.ID, map[string]any{"chunking": map[string]any{"max_chars": 100}}), "body.options.chunking"},
		{"summary_sentences", llmSummaryBody(src.ID, map[string]any{"summary_sentences": 3}), "body.options.summary_sentences"},
		{"bad pages", llmSummaryBody(src.ID, map[string]any{"pages": "3-1"}), "body.options.pages"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.postJSON(t, "/api/v1/extract", c.body)
			requireError(t, r, http.StatusUnprocessableEntity, server.CodeValidationError)
			requireDetail(t, r, c.field)
		})
	}
	requireError(t, s.postJSON(t, "/api/v1/extract", llmSummaryBody("src_01kaxnotthere0000000000000", nil)), http.StatusNotFound, server.CodeNotFound)
	if n := len(fake.requests()); n != 0 {
		t.Errorf("the language model got %d requests", n)
	}
}

// TestSummarizerLLMUpstreamFailure: a model that answers 500 twice (the
// provider retries once) gives 502 fetch_failed, stores nothing and
// records the failure.
func TestSummarizerLLMUpstreamFailure(t *testing.T) {
	fake := newFakeLLM(t, "unused")
	fake.status.Store(http.StatusInternalServerError)
	s := fake.stack(t)
	src := uploadText(t, s, "bees.txt", summarizerText)
	r := s.postJSON(t, "/api/v1/extract", llmSummaryBody(src.ID, nil))
	requireError(t, r, http.StatusBadGateway, server.CodeFetchFailed)
	if strings.Contains(string(r.body), "boom") {
		t.Errorf("the upstream body leaked: %s", r.body)
	}
	if n := len(fake.requests()); n != 2 {
		t.Errorf("%d requests, want 2 (one retry)", n)
	}
	var got server.Source
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/source/"+src.ID, nil), 200, &got)
	if got.LatestExtraction == nil || got.LatestExtraction.Mode != "text" {
		t.Errorf("latest extraction: %+v, want the text one only", got.LatestExtraction)
	}
	page, err := s.audit.List(context.Background(), audit.ListParams{TenantID: auth.DefaultTenantID, Action: "extraction.failed"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].Details["code"] != server.CodeFetchFailed || page.Items[0].Details["summarizer"] != "llm" {
		t.Errorf("extraction.failed events: %+v", page.Items)
	}
}

// TestSummarizerLLMFeatureFlag: with ai.assist off for the tenant,
// summarizer llm answers 403 feature_disabled; the extractive summary is
// not behind the flag.
func TestSummarizerLLMFeatureFlag(t *testing.T) {
	fake := newFakeLLM(t, "unused")
	s := fake.stack(t)
	src := uploadText(t, s, "bees.txt", summarizerText)
	if _, err := s.flags.Set(context.Background(), flags.Flag{Key: flags.AIAssist, Scope: flags.ScopeGlobal, Enabled: false}, "test"); err != nil {
		t.Fatal(err)
	}
	requireError(t, s.postJSON(t, "/api/v1/extract", llmSummaryBody(src.ID, nil)), http.StatusForbidden, server.CodeFeatureDisabled)
	requireOK(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID, "mode": "summary"}), 200, nil)
	if n := len(fake.requests()); n != 0 {
		t.Errorf("the language model got %d requests", n)
	}
}
