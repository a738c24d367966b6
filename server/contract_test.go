package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/quarryhq/quarry/audit"
	"github.com/quarryhq/quarry/auth"
	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/corpustest"
	"github.com/quarryhq/quarry/server"
)

func TestHealth(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, path := range []string{"/health", "/api/v1/health", "/api/v2/health"} {
		t.Run(path, func(t *testing.T) {
			var h server.Health
			r := s.do(t, http.MethodGet, path, nil)
			requireOK(t, r, http.StatusOK, &h)
			if h.Status != "ok" || h.Version != "test" || h.Checks["db"] != "ok" || h.Checks["storage"] != "ok" {
				t.Fatalf("health = %+v", h)
			}
			requireSecurityHeaders(t, r)
		})
	}
}

func TestHealthReportsFailedDependency(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.db.Close() // the database goes away under the server
	r := s.do(t, http.MethodGet, "/api/v1/health", nil)
	requireError(t, r, http.StatusServiceUnavailable, server.CodeDependencyUnavailable)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	if strings.Contains(string(r.body), "sql:") || strings.Contains(string(r.body), "closed") || strings.Contains(string(r.body), "quarry.db") {
		t.Fatalf("health leaks internals: %s", r.body)
	}
}

func requireSecurityHeaders(t *testing.T, r response) {
	t.Helper()
	want := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"X-Frame-Options":        "DENY",
		"Cache-Control":          "no-store",
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
}

func TestRouterErrorsAreEnvelopes(t *testing.T) {
	s := newStack(t, stackOptions{})
	cases := []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"unknown v1 route", http.MethodGet, "/api/v1/nope", 404, server.CodeNotFound},
		{"unknown v2 route", http.MethodGet, "/api/v2/sources", 404, server.CodeNotFound},
		{"unknown root route", http.MethodGet, "/favicon.ico", 404, server.CodeNotFound},
		{"wrong method", http.MethodPut, "/api/v1/sources", 405, server.CodeMethodNotAllowed},
		{"wrong method on health", http.MethodPost, "/api/v1/health", 405, server.CodeMethodNotAllowed},
		{"trace", "TRACE", "/api/v1/health", 405, server.CodeMethodNotAllowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(t, c.method, c.path, nil)
			requireError(t, r, c.status, c.code)
			requireSecurityHeaders(t, r)
		})
	}
}

func TestValidationErrors(t *testing.T) {
	s := newStack(t, stackOptions{})
	t.Run("mode not in enum", func(t *testing.T) {
		r := s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": "src_x", "mode": "poem"})
		requireError(t, r, 422, server.CodeValidationError)
		requireDetail(t, r, "body.mode")
	})
	t.Run("missing source_id", func(t *testing.T) {
		r := s.postJSON(t, "/api/v1/extract", map[string]any{"mode": "text"})
		requireError(t, r, 422, server.CodeValidationError)
		if !strings.Contains(string(r.body), "source_id") {
			t.Fatalf("the detail does not name source_id: %s", r.body)
		}
	})
	t.Run("unknown field", func(t *testing.T) {
		r := s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": "src_x", "tenant_id": "other"})
		requireError(t, r, 422, server.CodeValidationError)
	})
	t.Run("limit over max", func(t *testing.T) {
		r := s.do(t, http.MethodGet, "/api/v1/sources?limit=1000000", nil)
		requireError(t, r, 422, server.CodeValidationError)
		requireDetail(t, r, "query.limit")
	})
	t.Run("negative limit", func(t *testing.T) {
		r := s.do(t, http.MethodGet, "/api/v1/sources?limit=-1", nil)
		requireError(t, r, 422, server.CodeValidationError)
	})
	t.Run("bad kind", func(t *testing.T) {
		r := s.do(t, http.MethodGet, "/api/v1/sources?kind=ftp", nil)
		requireError(t, r, 422, server.CodeValidationError)
	})
	t.Run("bad page selection", func(t *testing.T) {
		src := uploadText(t, s, "a.txt", "hello")
		r := s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID, "options": map[string]any{"pages": "3-1"}})
		requireError(t, r, 422, server.CodeValidationError)
		requireDetail(t, r, "body.options.pages")
	})
	t.Run("malformed JSON", func(t *testing.T) {
		r := s.do(t, http.MethodPost, "/api/v1/extract", strings.NewReader(`{"source_id":`), "Content-Type", "application/json")
		requireError(t, r, 400, server.CodeInvalidRequest)
	})
	t.Run("forged cursor", func(t *testing.T) {
		r := s.do(t, http.MethodGet, "/api/v1/sources?cursor=AAAA-not-ours", nil)
		requireError(t, r, 400, server.CodeInvalidRequest)
	})
	t.Run("JSON body over 1 MiB", func(t *testing.T) {
		big := `{"source_id":"` + strings.Repeat("a", 2<<20) + `"}`
		r := s.do(t, http.MethodPost, "/api/v1/extract", strings.NewReader(big), "Content-Type", "application/json")
		requireError(t, r, 413, server.CodePayloadTooLarge)
	})
}

func requireDetail(t *testing.T, r response, field string) {
	t.Helper()
	for _, d := range r.env.Error.Details {
		if d.Field == field {
			return
		}
	}
	t.Fatalf("no detail for %s in %s", field, r.body)
}

func uploadText(t *testing.T, s *stack, name, text string) server.Source {
	t.Helper()
	var src server.Source
	requireOK(t, s.upload(t, name, []byte(text)), http.StatusCreated, &src)
	return src
}

func TestUploadExtractListGetDelete(t *testing.T) {
	s := newStack(t, stackOptions{})
	content := []byte("Quarry keeps text.\n\nIt is citable. Every page has offsets.")
	r := s.upload(t, "../../notes.txt", content)
	var src server.Source
	requireOK(t, r, http.StatusCreated, &src)
	if r.header.Get("Location") != "/api/v1/source/"+src.ID {
		t.Fatalf("Location = %q", r.header.Get("Location"))
	}
	sum := sha256.Sum256(content)
	if src.Kind != "upload" || src.Status != "stored" || src.SizeBytes != int64(len(content)) || src.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("source = %+v", src)
	}
	if !strings.HasPrefix(src.ID, "src_") || !strings.HasPrefix(src.MediaType, "text/plain") {
		t.Fatalf("source = %+v", src)
	}
	if strings.ContainsAny(src.Filename, `/\`) {
		t.Fatalf("filename not sanitized: %q", src.Filename)
	}

	var x server.Extraction
	requireOK(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID, "mode": "text"}), 200, &x)
	if x.SourceID != src.ID || x.Mode != "text" || !strings.Contains(x.Text, "Every page has offsets.") {
		t.Fatalf("extraction = %+v", x)
	}
	if len(x.Pages) != 1 || x.Pages[0].Start != 0 || x.Pages[0].End != len([]rune(x.Text)) {
		t.Fatalf("pages = %+v", x.Pages)
	}
	if x.Metadata.Parser != "text" || x.Warnings == nil {
		t.Fatalf("metadata = %+v warnings = %v", x.Metadata, x.Warnings)
	}

	var got server.Source
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/source/"+src.ID, nil), 200, &got)
	if got.Status != "extracted" || got.LatestExtraction == nil || got.LatestExtraction.Text != x.Text {
		t.Fatalf("get = %+v", got)
	}

	var list server.SourceList
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/sources?kind=upload&status=extracted", nil), 200, &list)
	if len(list.Items) != 1 || list.Items[0].ID != src.ID || list.Items[0].LatestExtraction != nil {
		t.Fatalf("list = %+v", list)
	}

	requireError(t, s.do(t, http.MethodDelete, "/api/v1/source/"+src.ID, nil), 401, server.CodeUnauthorized)
	editor := s.bearer(t, auth.RoleEditor)
	r = s.do(t, http.MethodDelete, "/api/v1/source/"+src.ID, nil, editor...)
	if r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	requireError(t, s.do(t, http.MethodGet, "/api/v1/source/"+src.ID, nil), 404, server.CodeNotFound)
	requireError(t, s.do(t, http.MethodDelete, "/api/v1/source/"+src.ID, nil, editor...), 404, server.CodeNotFound)
	requireError(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID}), 404, server.CodeNotFound)

	// Sources and extractions leave an audit trail, without content.
	for action, want := range map[string]int{"source.created": 1, "extraction.completed": 1, "source.deleted": 2, "extraction.failed": 1} {
		page, err := s.audit.List(context.Background(), audit.ListParams{TenantID: auth.DefaultTenantID, Action: action})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != want {
			t.Errorf("%d %s events, want %d", len(page.Items), action, want)
		}
		for _, e := range page.Items {
			if e.RequestID == "" || strings.Contains(fmt.Sprint(e.Details), "Every page has offsets") {
				t.Errorf("audit event %+v", e)
			}
		}
	}
}

func TestSummaryMode(t *testing.T) {
	s := newStack(t, stackOptions{})
	text := strings.Repeat("Rivers carry sediment to the sea. Deltas form where rivers slow down. ", 3) +
		"Sediment builds deltas over thousands of years. Cities grow on fertile deltas. The sea reclaims deltas when rivers are dammed. " +
		"Dams trap sediment upstream. Without sediment, deltas sink."
	src := uploadText(t, s, "rivers.txt", text)
	var x server.Extraction
	requireOK(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID, "mode": "summary", "options": map[string]any{"summary_sentences": 2}}), 200, &x)
	if x.Mode != "summary" || x.Text == "" || len(x.Text) >= len(text) {
		t.Fatalf("summary = %q", x.Text)
	}
	for _, p := range x.Pages {
		if string([]rune(x.Text)[p.Start:p.End]) != p.Text {
			t.Fatalf("page offsets do not slice the text: %+v", p)
		}
	}
}

func TestListPagination(t *testing.T) {
	s := newStack(t, stackOptions{})
	for i := range 25 {
		uploadText(t, s, "f.txt", "document number "+strings.Repeat("x", i))
	}
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		var list server.SourceList
		requireOK(t, s.do(t, http.MethodGet, "/api/v1/sources?limit=10&cursor="+cursor, nil), 200, &list)
		pages++
		for _, it := range list.Items {
			if seen[it.ID] {
				t.Fatalf("duplicate %s", it.ID)
			}
			seen[it.ID] = true
		}
		if list.NextCursor == nil {
			break
		}
		cursor = *list.NextCursor
	}
	if len(seen) != 25 || pages != 3 {
		t.Fatalf("saw %d sources over %d pages", len(seen), pages)
	}
}

func TestUploadSniffsContentNotName(t *testing.T) {
	s := newStack(t, stackOptions{})
	pdf := []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n")
	var src server.Source
	requireOK(t, s.upload(t, "innocent.txt", pdf), 201, &src)
	if src.MediaType != "application/pdf" {
		t.Fatalf("media type = %q, want application/pdf", src.MediaType)
	}
	requireError(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID}), 422, server.CodeMalformedDocument)
	var got server.Source
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/source/"+src.ID, nil), 200, &got)
	if got.Status != "failed" {
		t.Fatalf("status after a failed extraction = %q", got.Status)
	}
}

func TestUnsupportedMediaType(t *testing.T) {
	s := newStack(t, stackOptions{})
	// A bare ZIP archive (no Office or OpenDocument package): no parser
	// reads it, whatever its name says. (Images are read by OCR.)
	zip := append([]byte("PK\x05\x06"), make([]byte, 18)...)
	var src server.Source
	requireOK(t, s.upload(t, "picture.docx", zip), 201, &src)
	if src.MediaType != "application/zip" {
		t.Fatalf("media type = %q", src.MediaType)
	}
	requireError(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID}), 415, server.CodeUnsupportedMediaType)
}

func TestEncryptedDocument(t *testing.T) {
	dir := corpustest.Require(t)
	b, err := os.ReadFile(filepath.Join(dir, "files", "pdf-pdfminer-rc4-128.pdf"))
	if err != nil {
		t.Skipf("corpus file missing: %v", err)
	}
	s := newStack(t, stackOptions{})
	var src server.Source
	requireOK(t, s.upload(t, "secret.pdf", b), 201, &src)
	r := s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID})
	requireError(t, r, 422, server.CodeEncryptedDocument)
}

// slowParser blocks until its context ends.
type slowParser struct{}

func (slowParser) MediaTypes() []string { return []string{"text/plain"} }
func (slowParser) Parse(ctx context.Context, _ extract.Input) (*extract.Document, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// panicParser panics on every input.
type panicParser struct{}

func (panicParser) MediaTypes() []string { return []string{"text/html"} }
func (panicParser) Parse(context.Context, extract.Input) (*extract.Document, error) {
	panic("parser exploded at /secret/path")
}

func TestExtractionTimeoutAndParserPanic(t *testing.T) {
	reg := extract.NewRegistry()
	reg.MustRegister("slow", slowParser{})
	reg.MustRegister("boom", panicParser{})
	s := newStack(t, stackOptions{registry: reg, extractTimeout: 100 * time.Millisecond})

	src := uploadText(t, s, "a.txt", "some text")
	requireError(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID}), 422, server.CodeExtractionTimeout)

	var html server.Source
	requireOK(t, s.upload(t, "a.html", []byte("<!doctype html><html><body><p>hi</p></body></html>")), 201, &html)
	r := s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": html.ID})
	requireError(t, r, 422, server.CodeMalformedDocument)
	if strings.Contains(string(r.body), "/secret/path") {
		t.Fatalf("panic text leaked: %s", r.body)
	}
	// The server still answers.
	requireOK(t, s.do(t, http.MethodGet, "/health", nil), 200, nil)
}

func TestUploadLimits(t *testing.T) {
	const limit = 4096
	s := newStack(t, stackOptions{maxUpload: limit})
	// Uploads stream: no multipart temp files, accepted or refused.
	tempFiles := func() int {
		m, _ := filepath.Glob(filepath.Join(os.TempDir(), "multipart-*"))
		return len(m)
	}
	before := tempFiles()
	defer func() {
		if after := tempFiles(); after > before {
			t.Errorf("%d multipart temp files left behind", after-before)
		}
	}()
	t.Run("exactly the limit is accepted", func(t *testing.T) {
		requireOK(t, s.upload(t, "a.txt", bytes.Repeat([]byte("a"), limit)), 201, nil)
	})
	t.Run("one byte over", func(t *testing.T) {
		requireError(t, s.upload(t, "a.txt", bytes.Repeat([]byte("b"), limit+1)), 413, server.CodePayloadTooLarge)
	})
	t.Run("declared length over the limit, refused before reading", func(t *testing.T) {
		body, ctype := multipartBody(t, "a.txt", bytes.Repeat([]byte("c"), 200<<10))
		r := s.do(t, http.MethodPost, "/api/v1/upload", bytes.NewReader(body), "Content-Type", ctype)
		requireError(t, r, 413, server.CodePayloadTooLarge)
	})
	t.Run("chunked body over the limit", func(t *testing.T) {
		body, ctype := multipartBody(t, "a.txt", bytes.Repeat([]byte("d"), 200<<10))
		// io.MultiReader hides the length, so the client sends it chunked.
		r := s.do(t, http.MethodPost, "/api/v1/upload", io.MultiReader(bytes.NewReader(body)), "Content-Type", ctype)
		requireError(t, r, 413, server.CodePayloadTooLarge)
	})
	t.Run("empty file", func(t *testing.T) {
		r := s.upload(t, "empty.txt", nil)
		requireError(t, r, 422, server.CodeValidationError)
		requireDetail(t, r, "file")
	})
	t.Run("no file part", func(t *testing.T) {
		var buf bytes.Buffer
		body := "--XX\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--XX--\r\n"
		buf.WriteString(body)
		r := s.do(t, http.MethodPost, "/api/v1/upload", &buf, "Content-Type", "multipart/form-data; boundary=XX")
		requireError(t, r, 422, server.CodeValidationError)
		requireDetail(t, r, "file")
	})
	t.Run("not multipart", func(t *testing.T) {
		r := s.do(t, http.MethodPost, "/api/v1/upload", strings.NewReader(`{"file":"x"}`), "Content-Type", "application/json")
		requireError(t, r, 400, server.CodeInvalidRequest)
	})
	t.Run("broken multipart", func(t *testing.T) {
		r := s.do(t, http.MethodPost, "/api/v1/upload", strings.NewReader("--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc"), "Content-Type", "multipart/form-data; boundary=XX")
		requireError(t, r, 400, server.CodeInvalidRequest)
	})
	t.Run("two files", func(t *testing.T) {
		var buf bytes.Buffer
		for range 2 {
			buf.WriteString("--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nabc\r\n")
		}
		buf.WriteString("--XX--\r\n")
		r := s.do(t, http.MethodPost, "/api/v1/upload", &buf, "Content-Type", "multipart/form-data; boundary=XX")
		requireError(t, r, 400, server.CodeInvalidRequest)
	})
	t.Run("unknown project", func(t *testing.T) {
		r := s.upload(t, "a.txt", []byte("hello"), "project_id", "prj_nope")
		requireError(t, r, 404, server.CodeNotFound)
	})
	// No refused request left a source behind.
	var list server.SourceList
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/sources?limit=100", nil), 200, &list)
	if len(list.Items) != 1 {
		t.Fatalf("%d sources stored, want only the accepted one", len(list.Items))
	}
}

func TestPanicIsSanitized500(t *testing.T) {
	s := newStack(t, stackOptions{})
	huma.Register(s.srv.API(), huma.Operation{OperationID: "test-panic", Method: http.MethodGet, Path: "/api/v1/test-panic", Security: []map[string][]string{}},
		func(context.Context, *struct{}) (*struct{}, error) { panic("secret: /etc/quarry/key") })
	huma.Register(s.srv.API(), huma.Operation{OperationID: "test-error", Method: http.MethodGet, Path: "/api/v1/test-error", Security: []map[string][]string{}},
		func(context.Context, *struct{}) (*struct{}, error) { return nil, errors.New("pq: password=hunter2") })
	for _, path := range []string{"/api/v1/test-panic", "/api/v1/test-error"} {
		r := s.do(t, http.MethodGet, path, nil)
		requireError(t, r, 500, server.CodeInternal)
		if strings.Contains(string(r.body), "secret") || strings.Contains(string(r.body), "hunter2") || len(r.env.Error.Details) != 0 {
			t.Fatalf("500 leaks: %s", r.body)
		}
	}
	if !strings.Contains(s.logBuf.String(), "secret: /etc/quarry/key") {
		t.Fatal("the panic was not logged")
	}
	requireOK(t, s.do(t, http.MethodGet, "/health", nil), 200, nil)
}

func TestRequestID(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodGet, "/health", nil, "X-Request-Id", "client-id.42")
	if r.header.Get("X-Request-Id") != "client-id.42" || r.env.RequestID != "client-id.42" {
		t.Fatalf("kept id: header %q body %q", r.header.Get("X-Request-Id"), r.env.RequestID)
	}
	for _, bad := range []string{strings.Repeat("a", 129), `{"level":"error"}`, "with space", "rtl\u202eoverride"} {
		r := s.do(t, http.MethodGet, "/api/v1/nope", nil, "X-Request-Id", bad)
		if r.env.RequestID == bad || r.env.RequestID == "" {
			t.Fatalf("bad id %q kept as %q", bad, r.env.RequestID)
		}
		requireRequestID(t, r)
	}
	// Every log line is JSON; access log lines carry the request id.
	seen := 0
	for line := range strings.Lines(s.logBuf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if m["msg"] == "request" {
			seen++
			if id, _ := m["request_id"].(string); id == "" || strings.ContainsAny(id, " {\"\u202e") {
				t.Fatalf("access log line without a clean request id: %q", line)
			}
		}
	}
	if seen == 0 {
		t.Fatal("no access log lines")
	}
}

func TestDownloadFromURL(t *testing.T) {
	can, _ := canary(t)
	fix, port := fixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/doc.html":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html><head><title>Fixture</title></head><body><p>Fetched safely.</p></body></html>"))
		case "/to-canary":
			http.Redirect(w, r, can.URL+"/", http.StatusFound)
		case "/error":
			http.Error(w, "nope", http.StatusInternalServerError)
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case "/big":
			w.Write(bytes.Repeat([]byte("z"), 64<<10))
		}
	}))
	fc := allow127002(port)
	fc.TotalTimeout = 500 * time.Millisecond
	s := newStack(t, stackOptions{maxUpload: 16 << 10, fetch: fc})

	var src server.Source
	r := s.postJSON(t, "/api/v1/download-from-url", map[string]any{"url": fix.URL + "/doc.html"})
	requireOK(t, r, 201, &src)
	if src.Kind != "url" || src.URL != fix.URL+"/doc.html" || src.MediaType != "text/html; charset=utf-8" && !strings.HasPrefix(src.MediaType, "text/html") {
		t.Fatalf("source = %+v", src)
	}
	var x server.Extraction
	requireOK(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID}), 200, &x)
	if !strings.Contains(x.Text, "Fetched safely.") || x.Metadata.Title != "Fixture" {
		t.Fatalf("extraction = %+v", x)
	}

	cases := []struct {
		name, url string
		status    int
		code      string
	}{
		{"loopback canary", can.URL + "/", 400, server.CodeURLForbidden},
		{"redirect to canary", fix.URL + "/to-canary", 400, server.CodeURLForbidden},
		{"file scheme", "file:///etc/passwd", 400, server.CodeURLForbidden},
		{"credentials", "http://user:pw@" + fix.Listener.Addr().String() + "/doc.html", 400, server.CodeURLForbidden},
		{"metadata address", "http://169.254.169.254/latest/meta-data/", 400, server.CodeURLForbidden},
		{"upstream error", fix.URL + "/error", 502, server.CodeFetchFailed},
		{"upstream timeout", fix.URL + "/slow", 504, server.CodeUpstreamTimeout},
		{"too big", fix.URL + "/big", 413, server.CodePayloadTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			requireError(t, s.postJSON(t, "/api/v1/download-from-url", map[string]any{"url": c.url}), c.status, c.code)
		})
	}
	var list server.SourceList
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/sources", nil), 200, &list)
	if len(list.Items) != 1 {
		t.Fatalf("%d sources, want 1: refused downloads must store nothing", len(list.Items))
	}
}

func TestDocsAndOpenAPI(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodGet, "/docs", nil)
	if r.status != 200 || !strings.Contains(string(r.body), "/docs/assets/swagger-ui-bundle.js") || strings.Contains(string(r.body), "https://") {
		t.Fatalf("/docs: %d %s", r.status, r.body)
	}
	for _, asset := range []string{"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/assets/init.js"} {
		if r := s.do(t, http.MethodGet, asset, nil); r.status != 200 || len(r.body) == 0 {
			t.Fatalf("%s: %d", asset, r.status)
		}
	}
	// The page loads only what the binary serves: the initializer points at
	// our own OpenAPI documents, and the CSP allows scripts from 'self' only.
	if init := string(s.do(t, http.MethodGet, "/docs/assets/init.js", nil).body); strings.Contains(init, "//") && !strings.Contains(init, `"/api/v1/openapi.json"`) || strings.Contains(init, "http") {
		t.Fatalf("init.js reaches out: %s", init)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "http") {
		t.Fatalf("docs CSP = %q", csp)
	}
	for _, p := range []string{"/api/v1/openapi.json", "/api/v2/openapi.json"} {
		r := s.do(t, http.MethodGet, p, nil)
		var doc map[string]any
		if r.status != 200 || json.Unmarshal(r.body, &doc) != nil {
			t.Fatalf("%s: %d", p, r.status)
		}
	}
	if r := s.do(t, http.MethodGet, "/api/v1/openapi.yaml", nil); r.status != 200 {
		t.Fatalf("openapi.yaml: %d", r.status)
	}
}

func TestMetrics(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.do(t, http.MethodGet, "/api/v1/health", nil)
	s.do(t, http.MethodGet, "/api/v1/source/src_unknown", nil)
	r := s.do(t, http.MethodGet, "/metrics", nil)
	body := string(r.body)
	if r.status != 200 || !strings.Contains(body, `quarry_http_requests_total{method="GET",route="/api/v1/health",status="200"}`) ||
		!strings.Contains(body, `route="/api/v1/source/{file_id}",status="404"`) || strings.Contains(body, "src_unknown") {
		t.Fatalf("metrics:\n%s", body)
	}
}

func TestExtractHeadersFootersOption(t *testing.T) {
	dir := corpustest.Require(t)
	b, err := os.ReadFile(filepath.Join(dir, "files", "docx-docling-header_footer.docx"))
	if err != nil {
		t.Skipf("corpus file missing: %v", err)
	}
	s := newStack(t, stackOptions{})
	var src server.Source
	requireOK(t, s.upload(t, "hf.docx", b), 201, &src)
	var plain, furnished server.Extraction
	requireOK(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID}), 200, &plain)
	requireOK(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID, "options": map[string]any{"headers_footers": true}}), 200, &furnished)
	if strings.Contains(plain.Text, "REGULAR HEADER") || !strings.Contains(furnished.Text, "REGULAR HEADER") || !strings.Contains(furnished.Text, "REGULAR FOOTER") {
		t.Fatalf("headers_footers had no effect:\nplain: %q\nwith: %q", plain.Text, furnished.Text)
	}
}
