package extract_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/quarryhq/quarry/extract"
)

// fakeParser is a Parser made of a function.
type fakeParser struct {
	types []string
	parse func(ctx context.Context, in extract.Input) (*extract.Document, error)
}

func (p *fakeParser) MediaTypes() []string { return p.types }

func (p *fakeParser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	if p.parse == nil {
		data, err := io.ReadAll(in.Reader())
		if err != nil {
			return nil, err
		}
		return &extract.Document{Text: string(data)}, nil
	}
	return p.parse(ctx, in)
}

// newFake returns a parser for types that returns its input as text.
func newFake(types ...string) *fakeParser { return &fakeParser{types: types} }

// pagesParser returns fixed pages, whatever the input.
func pagesParser(texts ...string) *fakeParser {
	return &fakeParser{types: []string{"text/x-pages"}, parse: func(context.Context, extract.Input) (*extract.Document, error) {
		doc := &extract.Document{}
		for _, t := range texts {
			doc.Pages = append(doc.Pages, extract.Page{Text: t})
		}
		return doc, nil
	}}
}

// sniffingParser reads a made-up format that generic sniffing cannot see.
type sniffingParser struct {
	fakeParser
	mu    sync.Mutex
	calls int
}

func (p *sniffingParser) Sniff(head []byte) string {
	p.mu.Lock()
	p.calls++
	p.mu.Unlock()
	if strings.HasPrefix(string(head), "QRY1") {
		return "application/x-quarry"
	}
	return ""
}

func (p *sniffingParser) sniffCalls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// versionedParser reports a version.
type versionedParser struct{ fakeParser }

func (*versionedParser) Version() string { return "2.1.0" }

func TestInputReader(t *testing.T) {
	t.Parallel()
	in := extract.Input{R: strings.NewReader("hello world"), Size: 5}
	for range 2 { // a fresh stream each time
		b, err := io.ReadAll(in.Reader())
		if err != nil || string(b) != "hello" {
			t.Fatalf("Reader() read %q, %v; want %q", b, err, "hello")
		}
	}
}

func TestBaseType(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"text/plain":                  "text/plain",
		"text/plain; charset=utf-8":   "text/plain",
		"Text/HTML;charset=UTF-8":     "text/html",
		"  application/pdf  ":         "application/pdf",
		"text/plain; charset=\"bad":   "text/plain",
		"":                            "",
		"application/vnd.ms-excel; x": "application/vnd.ms-excel",
	}
	for in, want := range tests {
		if got := extract.BaseType(in); got != want {
			t.Errorf("BaseType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMediaTypeParam(t *testing.T) {
	t.Parallel()
	tests := []struct{ mt, key, want string }{
		{"text/plain; charset=utf-16le", "charset", "utf-16le"},
		{"text/plain; Charset=UTF-8", "charset", "UTF-8"},
		{"text/plain", "charset", ""},
		{"text/plain; charset=utf-8", "format", ""},
		{"not a media type;;", "charset", ""},
	}
	for _, tt := range tests {
		if got := extract.MediaTypeParam(tt.mt, tt.key); got != tt.want {
			t.Errorf("MediaTypeParam(%q, %q) = %q, want %q", tt.mt, tt.key, got, tt.want)
		}
	}
}

func TestOptionError(t *testing.T) {
	t.Parallel()
	err := &extract.OptionError{Field: "pages", Reason: "bad"}
	if got, want := err.Error(), "extract: option pages: bad"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestDefaultLimits(t *testing.T) {
	t.Parallel()
	ex, err := extract.New(extract.NewRegistry(), extract.Config{Limits: extract.Limits{MaxPages: 7}})
	if err != nil {
		t.Fatal(err)
	}
	want := extract.DefaultLimits()
	want.MaxPages = 7
	if got := ex.Limits(); got != want {
		t.Errorf("Limits() = %+v, want %+v", got, want)
	}
}
