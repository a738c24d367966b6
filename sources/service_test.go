package sources

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/storage"
	"github.com/quarryhq/quarry/urlfetch"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// textParser is a tiny text/plain parser for the tests.
type textParser struct{}

func (textParser) MediaTypes() []string { return []string{"text/plain"} }
func (textParser) Parse(_ context.Context, in extract.Input) (*extract.Document, error) {
	b, err := io.ReadAll(in.Reader())
	if err != nil {
		return nil, err
	}
	return &extract.Document{Text: string(b)}, nil
}

// brokenPDF fails on every PDF, as a parser does on a malformed one.
type brokenPDF struct{}

func (brokenPDF) MediaTypes() []string { return []string{"application/pdf"} }
func (brokenPDF) Parse(context.Context, extract.Input) (*extract.Document, error) {
	return nil, fmt.Errorf("%w: no xref table", extract.ErrMalformed)
}

type env struct {
	svc   *Service
	db    *storage.DB
	blobs *storage.LocalBlobs
}

func newEnv(t testing.TB, mod func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := storage.Open(ctx, storage.Config{Path: filepath.Join(dir, "quarry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	blobs, err := storage.NewLocalBlobs(filepath.Join(dir, "blobs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := extract.NewRegistry()
	reg.MustRegister("text", textParser{})
	reg.MustRegister("brokenpdf", brokenPDF{})
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{DB: db, Blobs: blobs, Extractor: ex}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, db: db, blobs: blobs}
}

// blobFiles lists the files of the blob store, temporary ones included.
func (e *env) blobFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(e.blobs.Dir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := e.db.Read.Get(&n, "SELECT COUNT(*) FROM "+table); err != nil {
		t.Fatal(err)
	}
	return n
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

const pdfBytes = "%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"

func TestNewValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	full := Config{DB: e.db, Blobs: e.blobs, Extractor: e.svc.ex}
	for field, mod := range map[string]func(*Config){
		"DB":        func(c *Config) { c.DB = nil },
		"Blobs":     func(c *Config) { c.Blobs = nil },
		"Extractor": func(c *Config) { c.Extractor = nil },
		"MaxBytes":  func(c *Config) { c.MaxBytes = -1 },
	} {
		cfg := full
		mod(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "Config."+field) {
			t.Errorf("New without %s: %v", field, err)
		}
	}
	svc, err := New(full)
	if err != nil {
		t.Fatal(err)
	}
	if svc.maxBytes != DefaultMaxBytes {
		t.Errorf("default MaxBytes = %d", svc.maxBytes)
	}
}

func TestIngestUpload(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fixed := time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.FixedZone("X", 3600))
	e := newEnv(t, func(c *Config) { c.Now = func() time.Time { return fixed } })
	data := []byte("Hello, Quarry.\nSecond line.\n")
	src, err := e.svc.IngestUpload(ctx, DefaultTenant, bytes.NewReader(data), "../notes/hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !validID(src.ID) {
		t.Errorf("id %q is not a source id", src.ID)
	}
	want := &Source{
		ID: src.ID, TenantID: DefaultTenant, Kind: KindUpload, Filename: "hello.txt",
		MediaType: "text/plain; charset=utf-8", SizeBytes: int64(len(data)), SHA256: hexSum(data),
		Status: StatusStored, ProjectIDs: []string{}, Metadata: map[string]any{},
		CreatedAt: fixed.UTC().Truncate(time.Microsecond), UpdatedAt: fixed.UTC().Truncate(time.Microsecond),
	}
	assertSource(t, src, want)
	got, err := e.svc.Get(ctx, DefaultTenant, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertSource(t, got, want)
	if ok, err := e.blobs.Exists(ctx, hexSum(data)); err != nil || !ok {
		t.Errorf("blob stored = %v, %v", ok, err)
	}
}

func assertSource(t *testing.T, got, want *Source) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) || got.TenantID != want.TenantID || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("source:\n got %s\nwant %s", g, w)
	}
	if got.ProjectIDs == nil || got.Metadata == nil {
		t.Error("ProjectIDs or Metadata is nil")
	}
}

func TestIngestText(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t, nil)
	src, err := e.svc.IngestText(ctx, DefaultTenant, "# not markdown, just text", "")
	if err != nil {
		t.Fatal(err)
	}
	if src.Kind != KindText || src.MediaType != "text/plain; charset=utf-8" || src.Filename != "text.txt" {
		t.Errorf("text source = %+v", src)
	}
	src, err = e.svc.IngestText(ctx, DefaultTenant, "note", "my\x00 note.md")
	if err != nil {
		t.Fatal(err)
	}
	if src.Filename != "my note.md" || src.MediaType != "text/plain; charset=utf-8" {
		t.Errorf("text source = %+v", src)
	}
	if _, err := e.svc.IngestText(ctx, DefaultTenant, "", "x.txt"); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty text: %v, want ErrEmpty", err)
	}
}

func TestSniffingIgnoresFilename(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t, nil)
	src, err := e.svc.IngestUpload(ctx, DefaultTenant, strings.NewReader(pdfBytes), "a.txt")
	if err != nil {
		t.Fatal(err)
	}
	if src.MediaType != "application/pdf" {
		t.Errorf("PDF named a.txt stored as %q, want application/pdf", src.MediaType)
	}
	src, err = e.svc.IngestUpload(ctx, DefaultTenant, strings.NewReader("just words"), "report.pdf")
	if err != nil {
		t.Fatal(err)
	}
	if extract.BaseType(src.MediaType) != "text/plain" {
		t.Errorf("text named report.pdf stored as %q, want text/plain", src.MediaType)
	}
	// An unsupported type is stored all the same.
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
	src, err = e.svc.IngestUpload(ctx, DefaultTenant, strings.NewReader(png), "pic.txt")
	if err != nil {
		t.Fatal(err)
	}
	if src.MediaType != "image/png" || src.Status != StatusStored {
		t.Errorf("PNG stored as %q, status %s", src.MediaType, src.Status)
	}
}

func TestDedupAndDelete(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t, nil)
	data := bytes.Repeat([]byte("same content "), 5000)
	a, err := e.svc.IngestUpload(ctx, DefaultTenant, bytes.NewReader(data), "a.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.svc.IngestUpload(ctx, DefaultTenant, bytes.NewReader(data), "b.txt")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == b.ID || a.SHA256 != b.SHA256 {
		t.Fatalf("sources %s %s, sums %s %s", a.ID, b.ID, a.SHA256, b.SHA256)
	}
	if files := e.blobFiles(t); len(files) != 1 {
		t.Fatalf("blob files = %v, want one", files)
	}
	if _, err := e.svc.Extract(ctx, DefaultTenant, a.ID, extract.Options{}); err != nil {
		t.Fatal(err)
	}

	if err := e.svc.Delete(ctx, DefaultTenant, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Get(ctx, DefaultTenant, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if err := e.svc.Delete(ctx, DefaultTenant, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: %v, want ErrNotFound", err)
	}
	if n := e.count(t, "extractions"); n != 0 {
		t.Errorf("extractions left after Delete: %d", n)
	}
	if ok, _ := e.blobs.Exists(ctx, a.SHA256); !ok {
		t.Fatal("blob deleted while another source uses it")
	}
	if _, err := e.svc.Extract(ctx, DefaultTenant, b.ID, extract.Options{}); err != nil {
		t.Errorf("Extract of the remaining source: %v", err)
	}

	if err := e.svc.Delete(ctx, DefaultTenant, b.ID); err != nil {
		t.Fatal(err)
	}
	if files := e.blobFiles(t); len(files) != 0 {
		t.Errorf("blob files after deleting both = %v", files)
	}
}

func TestSizeCap(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for _, max := range []int64{1000, extract.SniffLen + 5000} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *Config) { c.MaxBytes = max })
			if _, err := e.svc.IngestUpload(ctx, DefaultTenant, bytes.NewReader(bytes.Repeat([]byte("a"), int(max))), "ok.txt"); err != nil {
				t.Fatalf("exactly MaxBytes: %v", err)
			}
			if err := e.svc.Delete(ctx, DefaultTenant, mustList(t, e.svc)[0].ID); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.IngestUpload(ctx, DefaultTenant, bytes.NewReader(bytes.Repeat([]byte("b"), int(max)+1)), "big.txt")
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("MaxBytes+1: %v, want ErrTooLarge", err)
			}
			_, err = e.svc.IngestText(ctx, DefaultTenant, strings.Repeat("c", int(max)+1), "")
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("text MaxBytes+1: %v, want ErrTooLarge", err)
			}
			if n := e.count(t, "sources"); n != 0 {
				t.Errorf("rows = %d, want 0", n)
			}
			if files := e.blobFiles(t); len(files) != 0 {
				t.Errorf("files left = %v", files)
			}
		})
	}
}

func mustList(t *testing.T, s *Service) []*Source {
	t.Helper()
	page, err := s.List(t.Context(), ListParams{TenantID: DefaultTenant, Limit: MaxListLimit})
	if err != nil {
		t.Fatal(err)
	}
	return page.Items
}

func TestEmptyUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	if _, err := e.svc.IngestUpload(t.Context(), DefaultTenant, strings.NewReader(""), "empty.txt"); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty upload: %v, want ErrEmpty", err)
	}
	if n := e.count(t, "sources"); n != 0 {
		t.Errorf("rows = %d", n)
	}
	if files := e.blobFiles(t); len(files) != 0 {
		t.Errorf("files = %v", files)
	}
}

// failAfter returns n bytes of text, then err.
type failAfter struct {
	n   int
	err error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := min(f.n, len(p))
	copy(p, bytes.Repeat([]byte("z"), k))
	f.n -= k
	return k, nil
}

func TestReaderFailsMidStream(t *testing.T) {
	t.Parallel()
	boom := errors.New("client went away")
	for _, n := range []int{100, 3 * extract.SniffLen} {
		e := newEnv(t, nil)
		_, err := e.svc.IngestUpload(t.Context(), DefaultTenant, &failAfter{n: n, err: boom}, "x.txt")
		if !errors.Is(err, boom) {
			t.Fatalf("after %d bytes: %v, want the reader's error", n, err)
		}
		if c := e.count(t, "sources"); c != 0 {
			t.Errorf("rows = %d", c)
		}
		if files := e.blobFiles(t); len(files) != 0 {
			t.Errorf("files = %v", files)
		}
	}
}

func TestGetNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, id := range []string{"", "src_", "nope", "src_01jd0000000000000000000000", "SRC_01JD0000000000000000000000", "src_01jd00000000000000000000'--"} {
		if _, err := e.svc.Get(t.Context(), DefaultTenant, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
		}
		if err := e.svc.Delete(t.Context(), DefaultTenant, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Delete(%q) = %v, want ErrNotFound", id, err)
		}
		if _, err := e.svc.LatestExtraction(t.Context(), DefaultTenant, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("LatestExtraction(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t, nil)
	var created []string
	for i := range 45 {
		src, err := e.svc.IngestText(ctx, DefaultTenant, fmt.Sprintf("text %d", i), "")
		if err != nil {
			t.Fatal(err)
		}
		created = append(created, src.ID)
	}
	slices.Reverse(created) // newest first

	var got []string
	var sizes []int
	cursor := ""
	for range 10 {
		page, err := e.svc.List(ctx, ListParams{TenantID: DefaultTenant, Limit: 20, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(page.Items))
		for _, s := range page.Items {
			got = append(got, s.ID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if fmt.Sprint(sizes) != "[20 20 5]" {
		t.Errorf("page sizes = %v, want [20 20 5]", sizes)
	}
	if !slices.Equal(got, created) {
		t.Errorf("listed ids are not the created ones newest first:\n got %v\nwant %v", got, created)
	}

	for _, tc := range []struct {
		limit, want int
	}{{0, 20}, {-3, 20}, {7, 7}, {1000, 45}} {
		page, err := e.svc.List(ctx, ListParams{TenantID: DefaultTenant, Limit: tc.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != tc.want {
			t.Errorf("Limit %d: %d items, want %d", tc.limit, len(page.Items), tc.want)
		}
	}

	for _, c := range []string{
		"garbage!", "%%%", base64.RawURLEncoding.EncodeToString([]byte("src_nothing")),
		base64.RawURLEncoding.EncodeToString([]byte("' OR 1=1 --")),
		encodeCursor(created[3]) + "=", // padding: not ours
		base64.RawURLEncoding.EncodeToString([]byte(strings.ToUpper(created[3]))),
		strings.ToUpper(encodeCursor(created[3])),
		encodeCursor(created[3]) + "A",
		strings.Repeat("A", 100),
	} {
		if _, err := e.svc.List(ctx, ListParams{TenantID: DefaultTenant, Cursor: c}); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("cursor %q: %v, want ErrInvalidCursor", c, err)
		}
	}
}

func TestListLimitClamped(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t, nil)
	for i := range MaxListLimit + 3 {
		if _, err := e.svc.IngestText(ctx, DefaultTenant, fmt.Sprint("t", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	page, err := e.svc.List(ctx, ListParams{TenantID: DefaultTenant, Limit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != MaxListLimit || page.NextCursor == "" {
		t.Errorf("huge Limit: %d items, next %q; want %d and a cursor", len(page.Items), page.NextCursor, MaxListLimit)
	}
}

type fakeFetcher struct {
	body     string
	filename string
	final    string
	err      error
	closed   bool
}

func (f *fakeFetcher) Fetch(_ context.Context, rawURL string) (*urlfetch.Response, error) {
	if f.err != nil {
		return nil, f.err
	}
	u, _ := url.Parse(rawURL)
	if f.final != "" {
		u, _ = url.Parse(f.final)
	}
	return &urlfetch.Response{
		Body:          &closeRecorder{Reader: strings.NewReader(f.body), closed: &f.closed},
		URL:           u,
		ContentType:   "text/html",
		Filename:      f.filename,
		ContentLength: -1,
	}, nil
}

type closeRecorder struct {
	io.Reader
	closed *bool
}

func (c *closeRecorder) Close() error { *c.closed = true; return nil }

func TestIngestURL(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	e := newEnv(t, nil)
	if _, err := e.svc.IngestURL(ctx, DefaultTenant, "https://example.com/a.txt"); !errors.Is(err, ErrURLUnsupported) {
		t.Errorf("without a Fetcher: %v, want ErrURLUnsupported", err)
	}

	f := &fakeFetcher{body: "remote text", final: "https://cdn.example.com/files/report%20final.txt"}
	e = newEnv(t, func(c *Config) { c.Fetcher = f })
	src, err := e.svc.IngestURL(ctx, DefaultTenant, "https://example.com/r")
	if err != nil {
		t.Fatal(err)
	}
	if src.Kind != KindURL || src.URL != "https://example.com/r" || src.Filename != "report final.txt" ||
		extract.BaseType(src.MediaType) != "text/plain" || src.Metadata["final_url"] != f.final || src.Metadata["content_type"] != "text/html" {
		t.Errorf("url source = %+v", src)
	}
	if !f.closed {
		t.Error("the response body was not closed")
	}
	got, err := e.svc.Get(ctx, DefaultTenant, src.ID)
	if err != nil || got.URL != src.URL || got.Metadata["final_url"] != f.final {
		t.Errorf("Get = %+v, %v", got, err)
	}

	f.filename, f.final = "named.txt", ""
	if src, err = e.svc.IngestURL(ctx, DefaultTenant, "https://example.com/"); err != nil || src.Filename != "named.txt" {
		t.Errorf("filename from the response: %+v, %v", src, err)
	}
	f.filename = ""
	if src, err = e.svc.IngestURL(ctx, DefaultTenant, "https://example.com/"); err != nil || src.Filename != "download" {
		t.Errorf("no filename: %+v, %v", src, err)
	}

	f.err = fmt.Errorf("%w: 10.0.0.1 is private", urlfetch.ErrForbidden)
	if _, err := e.svc.IngestURL(ctx, DefaultTenant, "http://10.0.0.1/"); !errors.Is(err, urlfetch.ErrForbidden) {
		t.Errorf("fetcher error: %v, want urlfetch.ErrForbidden wrapped", err)
	}
	f.err, f.body = nil, ""
	if _, err := e.svc.IngestURL(ctx, DefaultTenant, "https://example.com/empty"); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty body: %v, want ErrEmpty", err)
	}
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t, func(c *Config) { c.Fetcher = &fakeFetcher{body: "from the web"} })
	up, err := e.svc.IngestUpload(ctx, DefaultTenant, strings.NewReader("uploaded"), "u.txt")
	if err != nil {
		t.Fatal(err)
	}
	txt, err := e.svc.IngestText(ctx, DefaultTenant, "typed", "")
	if err != nil {
		t.Fatal(err)
	}
	web, err := e.svc.IngestURL(ctx, DefaultTenant, "https://example.com/w.txt")
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := e.svc.IngestUpload(ctx, DefaultTenant, strings.NewReader(pdfBytes), "p.pdf")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Extract(ctx, DefaultTenant, txt.ID, extract.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Extract(ctx, DefaultTenant, pdf.ID, extract.Options{}); err == nil {
		t.Fatal("extracting the broken PDF succeeded")
	}

	ids := func(p ListParams) []string {
		t.Helper()
		page, err := e.svc.List(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range page.Items {
			out = append(out, s.ID)
		}
		return out
	}
	for name, tc := range map[string]struct {
		p    ListParams
		want []string
	}{
		"all":             {ListParams{TenantID: DefaultTenant}, []string{pdf.ID, web.ID, txt.ID, up.ID}},
		"uploads":         {ListParams{TenantID: DefaultTenant, Kind: KindUpload}, []string{pdf.ID, up.ID}},
		"text":            {ListParams{TenantID: DefaultTenant, Kind: KindText}, []string{txt.ID}},
		"url":             {ListParams{TenantID: DefaultTenant, Kind: KindURL}, []string{web.ID}},
		"stored":          {ListParams{TenantID: DefaultTenant, Status: StatusStored}, []string{web.ID, up.ID}},
		"extracted":       {ListParams{TenantID: DefaultTenant, Status: StatusExtracted}, []string{txt.ID}},
		"failed":          {ListParams{TenantID: DefaultTenant, Status: StatusFailed}, []string{pdf.ID}},
		"failed uploads":  {ListParams{TenantID: DefaultTenant, Kind: KindUpload, Status: StatusFailed}, []string{pdf.ID}},
		"stored text":     {ListParams{TenantID: DefaultTenant, Kind: KindText, Status: StatusStored}, nil},
		"project (empty)": {ListParams{TenantID: DefaultTenant, ProjectID: "prj_01jd0000000000000000000000"}, nil},
	} {
		if got := ids(tc.p); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
	page, err := e.svc.List(ctx, ListParams{TenantID: DefaultTenant, ProjectID: "prj_x"})
	if err != nil || page.Items == nil || len(page.Items) != 0 || page.NextCursor != "" {
		t.Errorf("project filter page = %+v, %v; want empty non-nil items", page, err)
	}
	if _, err := e.svc.List(ctx, ListParams{TenantID: DefaultTenant, Kind: "video"}); !errors.Is(err, ErrInvalidFilter) {
		t.Errorf("unknown kind: %v, want ErrInvalidFilter", err)
	}
	if _, err := e.svc.List(ctx, ListParams{TenantID: DefaultTenant, Status: "done"}); !errors.Is(err, ErrInvalidFilter) {
		t.Errorf("unknown status: %v, want ErrInvalidFilter", err)
	}
}

func TestExtract(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
	e := newEnv(t, func(c *Config) { c.Now = now })
	text := "Quarry extracts text. It stores sources. It keeps the latest extraction. Summaries pick sentences."
	src, err := e.svc.IngestText(ctx, DefaultTenant, text, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.LatestExtraction(ctx, DefaultTenant, src.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("LatestExtraction before any: %v, want ErrNotFound", err)
	}

	ex, err := e.svc.Extract(ctx, DefaultTenant, src.ID, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ex.SourceID != src.ID || ex.Mode != extract.ModeText || ex.Document.Text != text || ex.Document.Metadata.Parser != "text" || ex.DurationMS < 0 {
		t.Errorf("extraction = %+v", ex)
	}
	got, err := e.svc.Get(ctx, DefaultTenant, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusExtracted || !got.UpdatedAt.After(got.CreatedAt) {
		t.Errorf("after Extract: status %s, created %v, updated %v", got.Status, got.CreatedAt, got.UpdatedAt)
	}
	latest, err := e.svc.LatestExtraction(ctx, DefaultTenant, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(ex)
	b, _ := json.Marshal(latest)
	if !bytes.Equal(a, b) {
		t.Errorf("LatestExtraction differs from what Extract returned:\n%s\n%s", b, a)
	}

	// Re-extracting replaces the row of that mode; another mode adds one.
	if _, err := e.svc.Extract(ctx, DefaultTenant, src.ID, extract.Options{MaxChars: 6}); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, "extractions"); n != 1 {
		t.Errorf("extraction rows = %d, want 1", n)
	}
	if latest, err = e.svc.LatestExtraction(ctx, DefaultTenant, src.ID); err != nil || latest.Document.Text != "Quarry" {
		t.Errorf("latest after re-extract = %+v, %v", latest, err)
	}
	sum, err := e.svc.Extract(ctx, DefaultTenant, src.ID, extract.Options{Mode: extract.ModeSummary, SummarySentences: 1})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, "extractions"); n != 2 {
		t.Errorf("extraction rows = %d, want 2", n)
	}
	if latest, err = e.svc.LatestExtraction(ctx, DefaultTenant, src.ID); err != nil || latest.Mode != extract.ModeSummary || latest.Document.Text != sum.Document.Text {
		t.Errorf("latest = %+v, %v; want the summary", latest, err)
	}
	if byMode, err := e.svc.GetExtraction(ctx, DefaultTenant, src.ID, extract.ModeText); err != nil || byMode.Document.Text != "Quarry" {
		t.Errorf("GetExtraction(text) = %+v, %v", byMode, err)
	}
}

func TestExtractFailures(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t, nil)

	pdf, err := e.svc.IngestUpload(ctx, DefaultTenant, strings.NewReader(pdfBytes), "broken.pdf")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Extract(ctx, DefaultTenant, pdf.ID, extract.Options{}); !errors.Is(err, extract.ErrMalformed) {
		t.Fatalf("Extract of a malformed PDF: %v, want extract.ErrMalformed", err)
	}
	if got, _ := e.svc.Get(ctx, DefaultTenant, pdf.ID); got.Status != StatusFailed {
		t.Errorf("status = %s, want failed", got.Status)
	}

	png, err := e.svc.IngestUpload(ctx, DefaultTenant, strings.NewReader("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "x.png")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Extract(ctx, DefaultTenant, png.ID, extract.Options{}); !errors.Is(err, extract.ErrUnsupportedFormat) {
		t.Fatalf("Extract of a PNG: %v, want extract.ErrUnsupportedFormat", err)
	}
	if got, _ := e.svc.Get(ctx, DefaultTenant, png.ID); got.Status != StatusFailed {
		t.Errorf("status = %s, want failed", got.Status)
	}
	if _, err := e.svc.LatestExtraction(ctx, DefaultTenant, png.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("LatestExtraction after a failure: %v, want ErrNotFound", err)
	}

	// A bad option is the caller's fault: the status does not change.
	txt, err := e.svc.IngestText(ctx, DefaultTenant, "fine", "")
	if err != nil {
		t.Fatal(err)
	}
	var oe *extract.OptionError
	if _, err := e.svc.Extract(ctx, DefaultTenant, txt.ID, extract.Options{Pages: "x-y"}); !errors.As(err, &oe) {
		t.Fatalf("bad pages: %v, want *extract.OptionError", err)
	}
	if got, _ := e.svc.Get(ctx, DefaultTenant, txt.ID); got.Status != StatusStored {
		t.Errorf("status after an option error = %s, want stored", got.Status)
	}
	if _, err := e.svc.Extract(ctx, DefaultTenant, "src_01jd0000000000000000000000", extract.Options{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Extract of an unknown id: %v, want ErrNotFound", err)
	}
}

func TestExtractionJSON(t *testing.T) {
	t.Parallel()
	ex := Extraction{
		SourceID: "src_x", Mode: extract.ModeText,
		Document:   extract.Document{Text: "hi", Pages: []extract.Page{{Number: 1, Text: "hi", End: 2}}, Warnings: []extract.Warning{}},
		DurationMS: 3, CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	b, err := json.Marshal(ex)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"source_id", "mode", "text", "pages", "metadata", "warnings", "duration_ms", "created_at"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON %s lacks %q", b, k)
		}
	}
	var back Extraction
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Document.Text != "hi" || back.SourceID != "src_x" || back.DurationMS != 3 || !back.CreatedAt.Equal(ex.CreatedAt) {
		t.Errorf("round trip = %+v", back)
	}
}

// TestConcurrentIngestAndDeleteSameContent checks the per-key guard:
// whatever the interleaving, every surviving source can read its content.
func TestConcurrentIngestAndDeleteSameContent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 8 {
		wg.Go(func() {
			for range 4 {
				src, err := e.svc.IngestText(ctx, DefaultTenant, "shared content", "")
				if err != nil {
					errs <- err
					return
				}
				if err := e.svc.Delete(ctx, DefaultTenant, src.ID); err != nil {
					errs <- err
				}
				if _, err := e.svc.IngestText(ctx, DefaultTenant, "shared content", ""); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, s := range mustList(t, e.svc) {
		if _, err := e.svc.Extract(ctx, DefaultTenant, s.ID, extract.Options{}); err != nil {
			t.Errorf("source %s lost its content: %v", s.ID, err)
		}
	}
	if n := len(mustList(t, e.svc)); n != 32 {
		t.Errorf("sources left = %d, want 32", n)
	}
}

// TestTenantIsolation: another tenant's source answers exactly like an
// unknown id, and lists never show it.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	a, err := e.svc.IngestText(ctx, "ten_a", "alpha text", "a.txt")
	if err != nil {
		t.Fatal(err)
	}
	if a.TenantID != "ten_a" {
		t.Fatalf("tenant = %q", a.TenantID)
	}
	if _, err := e.svc.Get(ctx, "ten_b", a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get from another tenant: %v", err)
	}
	if _, err := e.svc.Extract(ctx, "ten_b", a.ID, extract.Options{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Extract from another tenant: %v", err)
	}
	if _, err := e.svc.LatestExtraction(ctx, "ten_b", a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("LatestExtraction from another tenant: %v", err)
	}
	if err := e.svc.Delete(ctx, "ten_b", a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete from another tenant: %v", err)
	}
	page, err := e.svc.List(ctx, ListParams{TenantID: "ten_b"})
	if err != nil || len(page.Items) != 0 {
		t.Errorf("List of another tenant: %v %d items", err, len(page.Items))
	}
	if got, err := e.svc.Get(ctx, "ten_a", a.ID); err != nil || got.ID != a.ID {
		t.Errorf("Get from its own tenant: %v", err)
	}
	if _, err := e.svc.Get(ctx, "", a.ID); !errors.Is(err, ErrNoTenant) {
		t.Errorf("Get without a tenant: %v", err)
	}
	if _, err := e.svc.List(ctx, ListParams{}); !errors.Is(err, ErrNoTenant) {
		t.Errorf("List without a tenant: %v", err)
	}
	if _, err := e.svc.IngestText(ctx, "", "x", ""); !errors.Is(err, ErrNoTenant) {
		t.Errorf("IngestText without a tenant: %v", err)
	}
}
