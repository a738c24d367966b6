package extract_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
)

// newExtractor returns an Extractor over a registry holding p as "fake"
// for the media type "text/x-pages" (and p's own types).
func newExtractor(t *testing.T, p extract.Parser, cfg extract.Config) *extract.Extractor {
	t.Helper()
	reg := extract.NewRegistry()
	reg.MustRegister("fake", p)
	ex, err := extract.New(reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// input returns an Input over data with the given media type.
func input(data, mediaType string) extract.Input {
	return extract.Input{R: strings.NewReader(data), Size: int64(len(data)), MediaType: mediaType}
}

// checkOffsets checks that the pages of doc slice doc.Text in code points.
func checkOffsets(t *testing.T, doc *extract.Document) {
	t.Helper()
	runes := []rune(doc.Text)
	prev := 0
	for i, p := range doc.Pages {
		if p.Start < prev || p.End < p.Start || p.End > len(runes) {
			t.Fatalf("page %d [%d:%d] out of order or range (%d runes)", i, p.Start, p.End, len(runes))
		}
		if got := string(runes[p.Start:p.End]); got != p.Text {
			t.Fatalf("page %d: runes[%d:%d] = %q, Text = %q", i, p.Start, p.End, got, p.Text)
		}
		prev = p.End
	}
}

func hasWarning(doc *extract.Document, code string) bool {
	return slices.ContainsFunc(doc.Warnings, func(w extract.Warning) bool { return w.Code == code })
}

func pageNumbers(doc *extract.Document) []int {
	var n []int
	for _, p := range doc.Pages {
		n = append(n, p.Number)
	}
	return n
}

func TestNew(t *testing.T) {
	t.Parallel()
	if _, err := extract.New(nil, extract.Config{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	if _, err := extract.New(extract.NewRegistry(), extract.Config{Timeout: -time.Second}); err == nil {
		t.Error("New with a negative timeout succeeded")
	}
	reg := extract.NewRegistry()
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if ex.Registry() != reg {
		t.Error("Registry() is not the registry given to New")
	}
	if ex.Limits() != extract.DefaultLimits() {
		t.Errorf("Limits() = %+v, want DefaultLimits", ex.Limits())
	}
}

func TestExtractDeadline(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	blocking := &fakeParser{types: []string{"text/x-pages"}, parse: func(context.Context, extract.Input) (*extract.Document, error) {
		<-release // ignores ctx
		return &extract.Document{Text: "late"}, nil
	}}
	var logs bytes.Buffer
	ex := newExtractor(t, blocking, extract.Config{
		Timeout: 50 * time.Millisecond,
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
	})
	start := time.Now()
	_, err := ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{})
	if !errors.Is(err, extract.ErrTimeout) {
		t.Fatalf("Extract = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Extract returned after %s, want about 50ms", d)
	}
	if !strings.Contains(logs.String(), "extraction timed out") {
		t.Errorf("timeout not logged: %q", logs.String())
	}
}

func TestExtractDeadlineParserHonoursCtx(t *testing.T) {
	t.Parallel()
	p := &fakeParser{types: []string{"text/x-pages"}, parse: func(ctx context.Context, _ extract.Input) (*extract.Document, error) {
		<-ctx.Done()
		return nil, fmt.Errorf("parse: %w", ctx.Err())
	}}
	ex := newExtractor(t, p, extract.Config{Timeout: 20 * time.Millisecond})
	_, err := ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{})
	if !errors.Is(err, extract.ErrTimeout) {
		t.Fatalf("Extract = %v, want ErrTimeout", err)
	}
}

func TestExtractCallerCancels(t *testing.T) {
	t.Parallel()
	p := &fakeParser{types: []string{"text/x-pages"}, parse: func(ctx context.Context, _ extract.Input) (*extract.Document, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	ex := newExtractor(t, p, extract.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	_, err := ex.Extract(ctx, input("x", "text/x-pages"), extract.Options{})
	if !errors.Is(err, context.Canceled) || errors.Is(err, extract.ErrTimeout) {
		t.Fatalf("Extract = %v, want context.Canceled", err)
	}
}

func TestExtractPanic(t *testing.T) {
	t.Parallel()
	p := &fakeParser{types: []string{"text/x-pages"}, parse: func(context.Context, extract.Input) (*extract.Document, error) {
		var m map[string]int
		m["boom"]++ //lint:ignore SA5000 the panic is the point
		return nil, nil
	}}
	var logs bytes.Buffer
	ex := newExtractor(t, p, extract.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	doc, err := ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{})
	if !errors.Is(err, extract.ErrMalformed) || doc != nil {
		t.Fatalf("Extract = %v, %v; want ErrMalformed", doc, err)
	}
	if strings.Contains(err.Error(), "nil map") {
		t.Errorf("the panic value leaks into the public error: %v", err)
	}
	if !strings.Contains(logs.String(), "parser panicked") || !strings.Contains(logs.String(), "nil map") {
		t.Errorf("panic not logged with its value: %q", logs.String())
	}
}

func TestExtractNilDocument(t *testing.T) {
	t.Parallel()
	p := &fakeParser{types: []string{"text/x-pages"}, parse: func(context.Context, extract.Input) (*extract.Document, error) {
		return nil, nil
	}}
	_, err := newExtractor(t, p, extract.Config{}).Extract(context.Background(), input("x", "text/x-pages"), extract.Options{})
	if !errors.Is(err, extract.ErrMalformed) {
		t.Fatalf("Extract = %v, want ErrMalformed", err)
	}
}

func TestExtractParserError(t *testing.T) {
	t.Parallel()
	p := &fakeParser{types: []string{"text/x-pages"}, parse: func(_ context.Context, in extract.Input) (*extract.Document, error) {
		if in.Password != "secret" {
			return nil, fmt.Errorf("fake: %w", extract.ErrEncrypted)
		}
		return &extract.Document{Text: "opened"}, nil
	}}
	ex := newExtractor(t, p, extract.Config{})
	_, err := ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{})
	if !errors.Is(err, extract.ErrEncrypted) {
		t.Fatalf("Extract = %v, want ErrEncrypted", err)
	}
	doc, err := ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{Password: "secret"})
	if err != nil || doc.Text != "opened" {
		t.Fatalf("Extract with password = %v, %v", doc, err)
	}
	in := input("x", "text/x-pages")
	in.Password = "secret"
	if _, err := ex.Extract(context.Background(), in, extract.Options{}); err != nil {
		t.Fatalf("Extract with Input.Password = %v", err)
	}
}

func TestExtractInputErrors(t *testing.T) {
	t.Parallel()
	ex := newExtractor(t, newFake("text/plain"), extract.Config{})
	ctx := context.Background()
	if _, err := ex.Extract(ctx, input("", "text/plain"), extract.Options{}); !errors.Is(err, extract.ErrMalformed) {
		t.Errorf("empty input: %v, want ErrMalformed", err)
	}
	if _, err := ex.Extract(ctx, extract.Input{Size: 3, MediaType: "text/plain"}, extract.Options{}); err == nil {
		t.Error("nil reader: no error")
	}
	if _, err := ex.Extract(ctx, extract.Input{R: strings.NewReader("x"), Size: -1}, extract.Options{}); err == nil {
		t.Error("negative size: no error")
	}
	if _, err := ex.Extract(ctx, input("x", "image/png"), extract.Options{}); !errors.Is(err, extract.ErrUnsupportedFormat) {
		t.Errorf("unsupported type: %v, want ErrUnsupportedFormat", err)
	}
	// Sniffed: a PDF with no PDF parser registered.
	in := extract.Input{R: bytes.NewReader(pdfBytes), Size: int64(len(pdfBytes)), Filename: "x.txt"}
	if _, err := ex.Extract(ctx, in, extract.Options{}); !errors.Is(err, extract.ErrUnsupportedFormat) {
		t.Errorf("sniffed PDF: %v, want ErrUnsupportedFormat", err)
	}
}

func TestExtractSniffsAndFillsMetadata(t *testing.T) {
	t.Parallel()
	var got extract.Input
	p := &versionedParser{fakeParser{types: []string{"text/plain"}, parse: func(_ context.Context, in extract.Input) (*extract.Document, error) {
		got = in
		return &extract.Document{Text: "hi"}, nil
	}}}
	ex := newExtractor(t, p, extract.Config{Limits: extract.Limits{MaxPages: 9}})
	in := extract.Input{R: strings.NewReader("hello"), Size: 5, Filename: "a.txt"}
	doc, err := ex.Extract(context.Background(), in, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got.MediaType != "text/plain; charset=utf-8" || got.Filename != "a.txt" {
		t.Errorf("parser got MediaType %q, Filename %q", got.MediaType, got.Filename)
	}
	wantLimits := extract.DefaultLimits()
	wantLimits.MaxPages = 9
	if got.Limits != wantLimits {
		t.Errorf("parser got Limits %+v, want %+v", got.Limits, wantLimits)
	}
	md := doc.Metadata
	if md.Parser != "fake" || md.ParserVersion != "2.1.0" || md.Charset != "utf-8" || md.PageCount != 1 {
		t.Errorf("Metadata = %+v", md)
	}
	if doc.Warnings == nil || len(doc.Warnings) != 0 {
		t.Errorf("Warnings = %#v, want an empty non-nil slice", doc.Warnings)
	}
	if len(doc.Pages) != 1 || doc.Pages[0].Number != 1 || doc.Pages[0].Text != "hi" {
		t.Errorf("Pages = %+v, want one page", doc.Pages)
	}
}

func TestExtractLimitsLoweredByInput(t *testing.T) {
	t.Parallel()
	var got extract.Limits
	p := &fakeParser{types: []string{"text/plain"}, parse: func(_ context.Context, in extract.Input) (*extract.Document, error) {
		got = in.Limits
		return &extract.Document{Text: strings.Repeat("x", 50)}, nil
	}}
	ex := newExtractor(t, p, extract.Config{Limits: extract.Limits{MaxPages: 10}})
	in := input("x", "text/plain")
	in.Limits = extract.Limits{MaxChars: 20, MaxPages: 1000, MaxUnpackedBytes: 1 << 10}
	doc, err := ex.Extract(context.Background(), in, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got.MaxChars != 20 || got.MaxPages != 10 || got.MaxUnpackedBytes != 1<<10 || got.MaxArchiveEntries != extract.DefaultLimits().MaxArchiveEntries {
		t.Errorf("parser got %+v: Input.Limits must lower, never raise, the Extractor's", got)
	}
	if n := utf8.RuneCountInString(doc.Text); n != 20 {
		t.Errorf("text of %d code points, want 20", n)
	}
}

func TestExtractPageOffsets(t *testing.T) {
	t.Parallel()
	pages := []string{"héllo 日本", "wörld 🎉 ok", "", "thïrd"}
	ex := newExtractor(t, pagesParser(pages...), extract.Config{})
	doc, err := ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(pages, "\n\n"); doc.Text != want {
		t.Errorf("Text = %q, want %q", doc.Text, want)
	}
	if got := pageNumbers(doc); !slices.Equal(got, []int{1, 2, 3, 4}) {
		t.Errorf("page numbers %v", got)
	}
	checkOffsets(t, doc)
	if doc.Pages[1].Start != utf8.RuneCountInString("héllo 日本\n\n") {
		t.Errorf("page 2 starts at %d, want a code point offset", doc.Pages[1].Start)
	}
}

func TestExtractPageSelection(t *testing.T) {
	t.Parallel()
	pages := []string{"one", "twö", "three", "fóur", "five"}
	ex := newExtractor(t, pagesParser(pages...), extract.Config{})
	tests := []struct {
		sel  string
		want []int
	}{
		{"", []int{1, 2, 3, 4, 5}},
		{"1-2,4", []int{1, 2, 4}},
		{" 4 , 1-2 ", []int{1, 2, 4}},
		{"5", []int{5}},
		{"3-3", []int{3}},
		{"2-100", []int{2, 3, 4, 5}},
		{"7", nil},
	}
	for _, tt := range tests {
		doc, err := ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{Pages: tt.sel})
		if err != nil {
			t.Fatalf("Pages %q: %v", tt.sel, err)
		}
		if got := pageNumbers(doc); !slices.Equal(got, tt.want) {
			t.Errorf("Pages %q: got pages %v, want %v", tt.sel, got, tt.want)
		}
		if doc.Metadata.PageCount != 5 {
			t.Errorf("Pages %q: PageCount %d, want the document's 5", tt.sel, doc.Metadata.PageCount)
		}
		checkOffsets(t, doc)
	}
}

func TestExtractKeepsParserPageNumbers(t *testing.T) {
	t.Parallel()
	p := &fakeParser{types: []string{"text/x-pages"}, parse: func(context.Context, extract.Input) (*extract.Document, error) {
		// A parser that skipped its failed page 2.
		return &extract.Document{Pages: []extract.Page{{Number: 1, Text: "a"}, {Number: 3, Text: "c"}}}, nil
	}}
	doc, err := newExtractor(t, p, extract.Config{}).Extract(context.Background(), input("x", "text/x-pages"), extract.Options{Pages: "3"})
	if err != nil {
		t.Fatal(err)
	}
	if got := pageNumbers(doc); !slices.Equal(got, []int{3}) || doc.Text != "c" {
		t.Errorf("got pages %v text %q, want page 3", got, doc.Text)
	}
}

func TestExtractDoesNotMutateParserPages(t *testing.T) {
	t.Parallel()
	shared := []extract.Page{{Text: "a\r\nb"}, {Text: "c"}, {Text: "d"}}
	p := &fakeParser{types: []string{"text/x-pages"}, parse: func(context.Context, extract.Input) (*extract.Document, error) {
		return &extract.Document{Pages: shared}, nil // a cached, shared slice
	}}
	ex := newExtractor(t, p, extract.Config{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			doc, err := ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{Pages: "2-3"})
			if err != nil || doc.Text != "c\n\nd" {
				t.Errorf("Extract = %q, %v", doc.Text, err)
			}
		})
	}
	wg.Wait()
	if shared[0].Text != "a\r\nb" || shared[0].Number != 0 || shared[1].Text != "c" {
		t.Errorf("the parser's pages were modified: %+v", shared)
	}
}

func TestExtractOptionErrors(t *testing.T) {
	t.Parallel()
	ex := newExtractor(t, pagesParser("a"), extract.Config{})
	tests := []struct {
		opts  extract.Options
		field string
	}{
		{extract.Options{Pages: "0"}, "pages"},
		{extract.Options{Pages: "a"}, "pages"},
		{extract.Options{Pages: "3-1"}, "pages"},
		{extract.Options{Pages: "1-"}, "pages"},
		{extract.Options{Pages: "-2"}, "pages"},
		{extract.Options{Pages: "1,,2"}, "pages"},
		{extract.Options{Pages: "1-2-3"}, "pages"},
		{extract.Options{Pages: "1-1000000"}, "pages"},
		{extract.Options{Pages: "99999999999999999999"}, "pages"},
		{extract.Options{Mode: "bogus"}, "mode"},
		{extract.Options{MaxChars: -1}, "max_chars"},
	}
	for _, tt := range tests {
		_, err := ex.Extract(context.Background(), input("x", "text/x-pages"), tt.opts)
		oe, ok := errors.AsType[*extract.OptionError](err)
		if !ok || oe.Field != tt.field {
			t.Errorf("Extract(%+v) = %v, want an *OptionError for %s", tt.opts, err, tt.field)
		}
	}
}

func TestParsePageRanges(t *testing.T) {
	t.Parallel()
	sel, err := extract.ParsePageRanges("")
	if sel != nil || err != nil {
		t.Errorf(`ParsePageRanges("") = %v, %v; want nil, nil`, sel, err)
	}
	sel, err = extract.ParsePageRanges("1-3, 7,3")
	if err != nil || len(sel) != 4 || !sel[1] || !sel[2] || !sel[3] || !sel[7] {
		t.Errorf("ParsePageRanges(1-3, 7,3) = %v, %v", sel, err)
	}
	// The largest page number must not wrap around and loop forever.
	done := make(chan struct{})
	go func() {
		defer close(done)
		max := strconv.Itoa(math.MaxInt)
		sel, err := extract.ParsePageRanges(max + "-" + max)
		if err != nil || len(sel) != 1 || !sel[math.MaxInt] {
			t.Errorf("ParsePageRanges(MaxInt-MaxInt) = %d pages, %v", len(sel), err)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ParsePageRanges(MaxInt-MaxInt) does not return")
	}
}

func TestExtractMaxChars(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		pages     []string
		maxChars  int
		wantText  string
		wantPages []int
		truncated bool
	}{
		{"fits", []string{"abc", "def"}, 8, "abc\n\ndef", []int{1, 2}, false},
		{"fits with room", []string{"abc", "def"}, 100, "abc\n\ndef", []int{1, 2}, false},
		{"inside first page", []string{"abc", "def"}, 2, "ab", []int{1}, true},
		{"end of first page", []string{"abc", "def"}, 3, "abc", []int{1}, true},
		{"inside separator", []string{"abc", "def"}, 4, "abc", []int{1}, true},
		{"after separator", []string{"abc", "def"}, 5, "abc", []int{1}, true},
		{"one rune of page 2", []string{"abc", "def"}, 6, "abc\n\nd", []int{1, 2}, true},
		{"multi-byte runes", []string{"日本語テキスト", "ünï"}, 3, "日本語", []int{1}, true},
		{"emoji", []string{"🎉🎉🎉", "x"}, 6, "🎉🎉🎉\n\nx", []int{1, 2}, false},
		{"one", []string{"héllo"}, 1, "h", []int{1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ex := newExtractor(t, pagesParser(tt.pages...), extract.Config{})
			doc, err := ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{MaxChars: tt.maxChars})
			if err != nil {
				t.Fatal(err)
			}
			if doc.Text != tt.wantText {
				t.Errorf("Text = %q, want %q", doc.Text, tt.wantText)
			}
			if got := pageNumbers(doc); !slices.Equal(got, tt.wantPages) {
				t.Errorf("pages %v, want %v", got, tt.wantPages)
			}
			if hasWarning(doc, extract.WarnTruncated) != tt.truncated {
				t.Errorf("truncated warning = %v, want %v (%+v)", !tt.truncated, tt.truncated, doc.Warnings)
			}
			if !utf8.ValidString(doc.Text) || utf8.RuneCountInString(doc.Text) > tt.maxChars {
				t.Errorf("Text %q is invalid or over %d code points", doc.Text, tt.maxChars)
			}
			checkOffsets(t, doc)
		})
	}
}

func TestExtractMaxCharsOnlyLowers(t *testing.T) {
	t.Parallel()
	ex := newExtractor(t, pagesParser(strings.Repeat("x", 100)), extract.Config{Limits: extract.Limits{MaxChars: 10}})
	doc, err := ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{MaxChars: 50})
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(doc.Text); n != 10 {
		t.Errorf("Options.MaxChars raised the Extractor's cap: %d code points, want 10", n)
	}
}

func TestExtractCleansText(t *testing.T) {
	t.Parallel()
	ex := newExtractor(t, pagesParser("ok \xff\xfe end", "a\r\nb\rc\x00d", "fine"), extract.Config{})
	doc, err := ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "ok \uFFFD end\n\na\nb\ncd\n\nfine"; doc.Text != want {
		t.Errorf("Text = %q, want %q", doc.Text, want)
	}
	if !utf8.ValidString(doc.Text) {
		t.Error("Text is not valid UTF-8")
	}
	if !hasWarning(doc, extract.WarnInvalidUTF8) {
		t.Errorf("no %s warning: %+v", extract.WarnInvalidUTF8, doc.Warnings)
	}
	checkOffsets(t, doc)

	// Valid text gets no warning.
	doc, err = newExtractor(t, pagesParser("fine"), extract.Config{}).Extract(context.Background(), input("x", "text/x-pages"), extract.Options{})
	if err != nil || len(doc.Warnings) != 0 {
		t.Errorf("valid text: warnings %+v, err %v", doc.Warnings, err)
	}
}

// summaryPages are three pages of a report; page 2 is about the topic of
// the whole document, the others hold asides.
var summaryPages = []string{
	"The harbour bridge opened in 1932. It rained on the first day.\nA band played at noon.",
	"The harbour bridge carries eight lanes of traffic. Engineers inspect the harbour bridge every year.\n\nThe bridge is painted grey.",
	"Tourists climb the harbour bridge arch. Tickets cost a lot. The harbour bridge is a symbol of the city.",
}

func TestExtractSummary(t *testing.T) {
	t.Parallel()
	ex := newExtractor(t, pagesParser(summaryPages...), extract.Config{})
	doc, err := ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{Mode: extract.ModeSummary, SummarySentences: 3})
	if err != nil {
		t.Fatal(err)
	}
	checkOffsets(t, doc)
	if doc.Text == "" || len(doc.Pages) == 0 {
		t.Fatalf("empty summary: %+v", doc)
	}
	sentences := 0
	prev := 0
	for _, p := range doc.Pages {
		if p.Number <= prev || p.Number > len(summaryPages) {
			t.Errorf("summary page number %d after %d", p.Number, prev)
		}
		prev = p.Number
		source := strings.Join(strings.Fields(summaryPages[p.Number-1]), " ")
		// Every sentence of a summary page comes from that source page.
		for s := range strings.SplitSeq(p.Text, ". ") {
			s = strings.TrimSuffix(s, ".")
			if !strings.Contains(source, s) {
				t.Errorf("summary page %d holds %q, not from its source page", p.Number, s)
			}
			sentences++
		}
	}
	if sentences > 3 {
		t.Errorf("summary of %d sentences, want at most 3: %q", sentences, doc.Text)
	}
	if !strings.Contains(doc.Text, "harbour bridge") {
		t.Errorf("summary misses the topic: %q", doc.Text)
	}
	if doc.Metadata.PageCount != 3 || doc.Metadata.Parser != "fake" {
		t.Errorf("Metadata = %+v", doc.Metadata)
	}
}

func TestExtractSummaryWithSelection(t *testing.T) {
	t.Parallel()
	ex := newExtractor(t, pagesParser(summaryPages...), extract.Config{})
	doc, err := ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{Mode: extract.ModeSummary, Pages: "3"})
	if err != nil {
		t.Fatal(err)
	}
	checkOffsets(t, doc)
	if got := pageNumbers(doc); !slices.Equal(got, []int{3}) {
		t.Errorf("summary pages %v, want [3]", got)
	}
}

func TestExtractSummaryEmpty(t *testing.T) {
	t.Parallel()
	ex := newExtractor(t, pagesParser("   ", "\n\n"), extract.Config{})
	doc, err := ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{Mode: extract.ModeSummary})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Text != "" || doc.Pages == nil || len(doc.Pages) != 0 {
		t.Errorf("summary of blank pages = %q, %#v; want empty text and no pages", doc.Text, doc.Pages)
	}
}

func TestExtractSummaryRespectsMaxChars(t *testing.T) {
	t.Parallel()
	ex := newExtractor(t, pagesParser(summaryPages...), extract.Config{})
	doc, err := ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{Mode: extract.ModeSummary, MaxChars: 120})
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(doc.Text); n > 120 {
		t.Errorf("summary of %d code points with MaxChars 120: %q", n, doc.Text)
	}
	checkOffsets(t, doc)
}

func TestExtractorSniff(t *testing.T) {
	t.Parallel()
	reg := extract.NewRegistry()
	reg.MustRegister("pdf", newFake("application/pdf"))
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mt, err := ex.Sniff(t.Context(), bytes.NewReader(pdfBytes), int64(len(pdfBytes)), "x.docx")
	if err != nil || mt != "application/pdf" {
		t.Errorf("Sniff = %q, %v", mt, err)
	}
	if _, err := ex.Sniff(t.Context(), bytes.NewReader(nil), -5, ""); err != nil {
		t.Errorf("Sniff with a negative size: %v", err)
	}
}

func TestExtractConcurrent(t *testing.T) {
	t.Parallel()
	ex := newExtractor(t, pagesParser(summaryPages...), extract.Config{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			opts := extract.Options{}
			if i%2 == 1 {
				opts.Mode = extract.ModeSummary
			}
			if _, err := ex.Extract(context.Background(), input("x", "text/x-pages"), opts); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}
