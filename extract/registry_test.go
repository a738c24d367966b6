package extract_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/quarryhq/quarry/extract"
)

func TestRegisterRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(r *extract.Registry)
		regName string
		p       extract.Parser
		wantErr string
	}{
		{name: "empty name", regName: "", p: newFake("text/plain"), wantErr: "empty parser name"},
		{name: "nil parser", regName: "txt", p: nil, wantErr: "nil parser"},
		{name: "no media types", regName: "txt", p: newFake(), wantErr: "lists no media types"},
		{name: "invalid media type", regName: "txt", p: newFake("text"), wantErr: "invalid media type"},
		{name: "empty media type", regName: "txt", p: newFake(""), wantErr: "invalid media type"},
		{
			name:    "duplicate name",
			prepare: func(r *extract.Registry) { r.MustRegister("txt", newFake("text/plain")) },
			regName: "txt", p: newFake("text/x-other"),
			wantErr: "parser name already registered",
		},
		{
			name:    "duplicate media type",
			prepare: func(r *extract.Registry) { r.MustRegister("txt", newFake("text/plain")) },
			regName: "txt2", p: newFake("text/csv", "text/plain"),
			wantErr: `media type text/plain already read by parser "txt"`,
		},
		{
			name:    "duplicate media type in another spelling",
			prepare: func(r *extract.Registry) { r.MustRegister("txt", newFake("text/plain")) },
			regName: "txt2", p: newFake("Text/Plain; charset=utf-8"),
			wantErr: "already read by parser",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := extract.NewRegistry()
			if tt.prepare != nil {
				tt.prepare(r)
			}
			before := r.Parsers()
			var err error
			if tt.p == nil {
				err = r.Register(tt.regName, nil)
			} else {
				err = r.Register(tt.regName, tt.p)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Register = %v, want an error containing %q", err, tt.wantErr)
			}
			if after := r.Parsers(); !slices.Equal(before, after) {
				t.Errorf("a refused Register changed the registry: %v -> %v", before, after)
			}
		})
	}
}

func TestRegisterRefusedLeavesNoTypes(t *testing.T) {
	t.Parallel()
	r := extract.NewRegistry()
	r.MustRegister("txt", newFake("text/plain"))
	if err := r.Register("csv", newFake("text/csv", "text/plain")); err == nil {
		t.Fatal("Register accepted a taken media type")
	}
	if got := r.MediaTypes(); !slices.Equal(got, []string{"text/plain"}) {
		t.Errorf("MediaTypes() = %v after a refused Register", got)
	}
}

func TestMustRegisterPanics(t *testing.T) {
	t.Parallel()
	r := extract.NewRegistry()
	r.MustRegister("txt", newFake("text/plain"))
	defer func() {
		v := recover()
		err, ok := v.(error)
		if !ok || !strings.Contains(err.Error(), "already registered") {
			t.Errorf("MustRegister panicked with %v, want the Register error", v)
		}
	}()
	r.MustRegister("txt", newFake("text/x-other"))
	t.Error("MustRegister did not panic")
}

func TestRegistryListsSorted(t *testing.T) {
	t.Parallel()
	r := extract.NewRegistry()
	if got := r.Parsers(); len(got) != 0 {
		t.Errorf("empty registry Parsers() = %v", got)
	}
	r.MustRegister("pdf", newFake("application/pdf"))
	r.MustRegister("docx", newFake("application/vnd.openxmlformats-officedocument.wordprocessingml.document"))
	r.MustRegister("txt", newFake("text/plain", "Text/CSV"))
	r.MustRegister("html", newFake("text/html; charset=utf-8", "application/xhtml+xml"))
	if got, want := r.Parsers(), []string{"docx", "html", "pdf", "txt"}; !slices.Equal(got, want) {
		t.Errorf("Parsers() = %v, want %v", got, want)
	}
	want := []string{
		"application/pdf",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"application/xhtml+xml",
		"text/csv",
		"text/html",
		"text/plain",
	}
	if got := r.MediaTypes(); !slices.Equal(got, want) {
		t.Errorf("MediaTypes() = %v, want %v", got, want)
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	r := extract.NewRegistry()
	txt := newFake("text/plain")
	pdf := newFake("application/pdf")
	bin := newFake("application/octet-stream")
	r.MustRegister("txt", txt)
	r.MustRegister("pdf", pdf)
	r.MustRegister("bin", bin)
	tests := []struct {
		mediaType string
		wantName  string
		wantP     extract.Parser
	}{
		{"text/plain", "txt", txt},
		{"text/plain; charset=utf-16le", "txt", txt},
		{"TEXT/PLAIN", "txt", txt},
		{"application/pdf", "pdf", pdf},
		// Through the sniffer's type hierarchy: CSV, JSON and HTML are
		// text/plain children.
		{"text/csv; charset=utf-8", "txt", txt},
		{"application/json", "txt", txt},
		{"text/html", "txt", txt},
		// An exact registration of the root type works...
		{"application/octet-stream", "bin", bin},
	}
	for _, tt := range tests {
		name, p, err := r.Lookup(tt.mediaType)
		if err != nil || name != tt.wantName || p != tt.wantP {
			t.Errorf("Lookup(%q) = %q, %v, %v; want %q", tt.mediaType, name, p, err, tt.wantName)
		}
	}
	// ...but the root never catches its children.
	for _, mt := range []string{"application/zip", "image/png", "application/x-unknown", "", "garbage"} {
		name, p, err := r.Lookup(mt)
		if !errors.Is(err, extract.ErrUnsupportedFormat) || name != "" || p != nil {
			t.Errorf("Lookup(%q) = %q, %v, %v; want ErrUnsupportedFormat", mt, name, p, err)
		}
	}
}

func TestLookupPrefersExactType(t *testing.T) {
	t.Parallel()
	r := extract.NewRegistry()
	r.MustRegister("txt", newFake("text/plain"))
	r.MustRegister("html", newFake("text/html"))
	if name, _, err := r.Lookup("text/html; charset=utf-8"); err != nil || name != "html" {
		t.Errorf("Lookup(text/html) = %q, %v; want html", name, err)
	}
}

var (
	pdfBytes  = []byte("%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
	htmlBytes = []byte("<!DOCTYPE html>\n<html><head><title>T</title></head><body><p>Hello</p></body></html>\n")
	textBytes = []byte("# Title\n\nSome *markdown* text that sniffs as plain text.\n")
)

func TestSniff(t *testing.T) {
	t.Parallel()
	full := extract.NewRegistry()
	full.MustRegister("pdf", newFake("application/pdf"))
	full.MustRegister("html", newFake("text/html"))
	full.MustRegister("txt", newFake("text/plain"))
	full.MustRegister("md", newFake("text/markdown"))
	noMarkdown := extract.NewRegistry()
	noMarkdown.MustRegister("txt", newFake("text/plain"))

	tests := []struct {
		name     string
		r        *extract.Registry
		head     []byte
		filename string
		want     string
	}{
		{"pdf named docx", full, pdfBytes, "x.docx", "application/pdf"},
		{"pdf without name", full, pdfBytes, "", "application/pdf"},
		{"html named pdf", full, htmlBytes, "x.pdf", "text/html; charset=utf-8"},
		{"html named md", full, htmlBytes, "x.md", "text/html; charset=utf-8"},
		{"md with markdown parser", full, textBytes, "notes.md", "text/markdown; charset=utf-8"},
		{"markdown extension upper case", full, textBytes, "NOTES.MARKDOWN", "text/markdown; charset=utf-8"},
		{"md without markdown parser", noMarkdown, textBytes, "notes.md", "text/plain; charset=utf-8"},
		{"txt named txt", full, textBytes, "notes.txt", "text/plain; charset=utf-8"},
		{"pdf bytes named md", full, pdfBytes, "x.md", "application/pdf"},
		{"unknown binary", full, []byte{0, 1, 2, 3, 0xfe, 0xff, 0, 0}, "x.bin", "application/octet-stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.r.Sniff(tt.head, tt.filename); got != tt.want {
				t.Errorf("Sniff = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSniffConsultsSniffers(t *testing.T) {
	t.Parallel()
	r := extract.NewRegistry()
	r.MustRegister("pdf", newFake("application/pdf"))
	s := &sniffingParser{fakeParser: fakeParser{types: []string{"application/x-quarry"}}}
	r.MustRegister("quarry", s)

	custom := append([]byte("QRY1"), 0, 1, 2, 3, 0xff)
	if got := r.Sniff(custom, "x.pdf"); got != "application/x-quarry" {
		t.Errorf("Sniff(custom) = %q, want application/x-quarry", got)
	}
	if s.sniffCalls() != 1 {
		t.Errorf("Sniffer called %d times, want 1", s.sniffCalls())
	}
	// A format the generic sniffer recognises and a parser reads never
	// reaches the Sniffers.
	if got := r.Sniff(pdfBytes, ""); got != "application/pdf" {
		t.Errorf("Sniff(pdf) = %q", got)
	}
	if s.sniffCalls() != 1 {
		t.Errorf("Sniffer consulted for a PDF")
	}
	// Unknown to everyone: the generic answer stays.
	if got := r.Sniff([]byte{0, 0, 0, 9, 8, 7}, ""); got != "application/octet-stream" {
		t.Errorf("Sniff(unknown) = %q", got)
	}
}

func TestSniffSniffersInRegistrationOrder(t *testing.T) {
	t.Parallel()
	r := extract.NewRegistry()
	a := &sniffingParser{fakeParser: fakeParser{types: []string{"application/x-quarry"}}}
	b := &sniffingParser{fakeParser: fakeParser{types: []string{"application/x-quarry2"}}}
	r.MustRegister("zz-first", a)
	r.MustRegister("aa-second", b)
	if got := r.Sniff([]byte("QRY1\x00"), ""); got != "application/x-quarry" {
		t.Errorf("Sniff = %q, want the first registered Sniffer's answer", got)
	}
	if b.sniffCalls() != 0 {
		t.Error("the second Sniffer was asked after the first answered")
	}
}

func TestRegistryConcurrent(t *testing.T) {
	t.Parallel()
	r := extract.NewRegistry()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			s := &sniffingParser{fakeParser: fakeParser{types: []string{fmt.Sprintf("application/x-t%d", i)}}}
			r.MustRegister(fmt.Sprintf("p%d", i), s)
			for range 50 {
				r.Parsers()
				r.MediaTypes()
				_, _, _ = r.Lookup("application/x-t0")
				r.Sniff([]byte{0, 1, 2}, "")
			}
		})
	}
	wg.Wait()
	if got := len(r.Parsers()); got != 8 {
		t.Errorf("got %d parsers, want 8", got)
	}
}
