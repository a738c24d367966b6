package extract_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract"
)

// ocrPagesParser returns a fixed Document - the same slices on every call, as
// a parser serving a cached Document would.
type ocrPagesParser struct {
	mediaType string
	doc       extract.Document
}

func (p *ocrPagesParser) MediaTypes() []string { return []string{p.mediaType} }
func (p *ocrPagesParser) Parse(context.Context, extract.Input) (*extract.Document, error) {
	d := p.doc
	return &d, nil
}

// scannedPDF is a parser's PDF: page 1 with text, pages 2 and 3 without,
// with the warnings the PDF parser gives them.
func scannedPDF() *ocrPagesParser {
	return &ocrPagesParser{mediaType: "application/pdf", doc: extract.Document{
		Pages: []extract.Page{{Number: 1, Text: "A page with a text layer."}, {Number: 2}, {Number: 3, Text: " \n "}},
		Warnings: []extract.Warning{
			{Code: extract.WarnNoTextLayer, Page: 2, Message: "page 2 has no text layer (scanned or drawn text; OCR is not applied)"},
			{Code: extract.WarnNoTextLayer, Page: 3, Message: "page 3 has no text layer (scanned or drawn text; OCR is not applied)"},
		},
	}}
}

// fakeOCR is an OCR engine whose Recognize is fn; it records its calls.
type fakeOCR struct {
	types []string
	conc  int // 0: no OCRConcurrency
	fn    func(ctx context.Context, req extract.OCRRequest) (string, error)

	mu     sync.Mutex
	pages  []int
	langs  []string
	active atomic.Int32
	peak   atomic.Int32
}

func (f *fakeOCR) Name() string { return "fake 1.0" }
func (f *fakeOCR) MediaTypes() []string {
	if f.types == nil {
		return []string{"application/pdf", "image/png"}
	}
	return f.types
}

func (f *fakeOCR) Recognize(ctx context.Context, req extract.OCRRequest) (string, error) {
	n := f.active.Add(1)
	defer f.active.Add(-1)
	for p := f.peak.Load(); n > p && !f.peak.CompareAndSwap(p, n); p = f.peak.Load() {
	}
	f.mu.Lock()
	f.pages = append(f.pages, req.Page)
	f.langs = append(f.langs, req.Language)
	f.mu.Unlock()
	if f.fn != nil {
		return f.fn(ctx, req)
	}
	return fmt.Sprintf("OCR text of page %d", req.Page), nil
}

func (f *fakeOCR) called() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := slices.Clone(f.pages)
	slices.Sort(p)
	return p
}

// concurrentOCR adds OCRConcurrency to fakeOCR.
type concurrentOCR struct{ *fakeOCR }

func (c concurrentOCR) Concurrency() int { return c.conc }

func extractWith(t *testing.T, p extract.Parser, ocr extract.OCR, cfg extract.Config, opts extract.Options) (*extract.Document, error) {
	t.Helper()
	reg := extract.NewRegistry()
	reg.MustRegister("fake", p)
	cfg.OCR = ocr
	ex, err := extract.New(reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	in := extract.Input{R: strings.NewReader("document"), Size: 8, MediaType: p.MediaTypes()[0]}
	return ex.Extract(context.Background(), in, opts)
}

// warningsOf returns the warnings of page with code.
func warningsOf(doc *extract.Document, page int, code string) []extract.Warning {
	var out []extract.Warning
	for _, w := range doc.Warnings {
		if w.Page == page && w.Code == code {
			out = append(out, w)
		}
	}
	return out
}

func mustOne(t *testing.T, doc *extract.Document, page int, code, contains string) {
	t.Helper()
	ws := warningsOf(doc, page, code)
	if len(ws) != 1 || !strings.Contains(ws[0].Message, contains) {
		t.Errorf("page %d: %s warnings %v, want one saying %q (all: %v)", page, code, ws, contains, doc.Warnings)
	}
}

func TestOCROffSaysSo(t *testing.T) {
	p := scannedPDF()
	doc, err := extractWith(t, p, nil, extract.Config{}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range []int{2, 3} {
		mustOne(t, doc, page, extract.WarnNoTextLayer, "OCR is off")
	}
	if len(warningsOf(doc, 1, extract.WarnNoTextLayer)) != 0 {
		t.Errorf("page 1 has a text layer: %v", doc.Warnings)
	}
	// An image parser that gives no warning of its own gets one.
	img := &ocrPagesParser{mediaType: "image/png", doc: extract.Document{Pages: []extract.Page{{Number: 1}}}}
	doc, err = extractWith(t, img, nil, extract.Config{}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustOne(t, doc, 1, extract.WarnNoTextLayer, "OCR is off")
	// The parser's slices were not touched.
	if len(p.doc.Warnings) != 2 || !strings.Contains(p.doc.Warnings[0].Message, "OCR is not applied") || img.doc.Warnings != nil {
		t.Errorf("the parser's document changed: %v, %v", p.doc.Warnings, img.doc.Warnings)
	}
}

func TestOCREngineWithoutTheType(t *testing.T) {
	ocr := &fakeOCR{types: []string{"image/png"}}
	doc, err := extractWith(t, scannedPDF(), ocr, extract.Config{}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustOne(t, doc, 2, extract.WarnNoTextLayer, "OCR is off for application/pdf (the engine fake 1.0 does not read it)")
	if len(ocr.called()) != 0 {
		t.Errorf("Recognize called for %v", ocr.called())
	}
}

func TestOCRApplied(t *testing.T) {
	p := scannedPDF()
	p.doc.Metadata.Language = "de"
	ocr := &fakeOCR{}
	doc, err := extractWith(t, p, ocr, extract.Config{}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ocr.called(); !slices.Equal(got, []int{2, 3}) {
		t.Errorf("recognized pages %v, want [2 3]", got)
	}
	want := "A page with a text layer.\n\nOCR text of page 2\n\nOCR text of page 3"
	if doc.Text != want {
		t.Errorf("text %q, want %q", doc.Text, want)
	}
	for _, page := range []int{2, 3} {
		mustOne(t, doc, page, extract.WarnOCRApplied, "read by OCR (fake 1.0)")
		if ws := warningsOf(doc, page, extract.WarnNoTextLayer); len(ws) != 0 {
			t.Errorf("page %d keeps %v", page, ws)
		}
	}
	if !slices.Equal(ocr.langs, []string{"de", "de"}) {
		t.Errorf("language hints %v, want the document's", ocr.langs)
	}
	if p.doc.Pages[1].Text != "" || p.doc.Warnings[0].Code != extract.WarnNoTextLayer {
		t.Error("the parser's document changed")
	}

	// Page selection: only selected pages are read.
	ocr = &fakeOCR{}
	doc, err = extractWith(t, scannedPDF(), ocr, extract.Config{}, extract.Options{Pages: "1,3"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ocr.called(); !slices.Equal(got, []int{3}) {
		t.Errorf("with pages 1,3: recognized %v, want [3]", got)
	}
	if !strings.HasSuffix(doc.Text, "OCR text of page 3") {
		t.Errorf("text %q", doc.Text)
	}

	// OCR finding nothing says so.
	ocr = &fakeOCR{fn: func(context.Context, extract.OCRRequest) (string, error) { return "  ", nil }}
	doc, err = extractWith(t, scannedPDF(), ocr, extract.Config{}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustOne(t, doc, 2, extract.WarnOCRApplied, "found no text")
}

func TestOCRTextOnlyParserAndSubtypes(t *testing.T) {
	// A parser returning Document.Text alone (no pages) for an image.
	p := &ocrPagesParser{mediaType: "image/png"}
	ocr := &fakeOCR{}
	doc, err := extractWith(t, p, ocr, extract.Config{}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Text != "OCR text of page 1" || len(doc.Pages) != 1 {
		t.Errorf("text %q, pages %v", doc.Text, doc.Pages)
	}
	// An APNG is a PNG: an engine reading image/png reads it.
	reg := extract.NewRegistry()
	reg.MustRegister("fake", &ocrPagesParser{mediaType: "image/png", doc: extract.Document{Pages: []extract.Page{{Number: 1}}}})
	ex, _ := extract.New(reg, extract.Config{OCR: &fakeOCR{types: []string{"image/png"}}})
	doc, err = ex.Extract(context.Background(), extract.Input{R: strings.NewReader("x"), Size: 1, MediaType: "image/vnd.mozilla.apng"}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustOne(t, doc, 1, extract.WarnOCRApplied, "fake 1.0")
}

func TestOCRLeavesTextFormatsAlone(t *testing.T) {
	p := &ocrPagesParser{mediaType: "text/plain", doc: extract.Document{Pages: []extract.Page{{Number: 1, Text: ""}, {Number: 2, Text: "\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD"}}}}
	ocr := &fakeOCR{types: []string{"application/pdf"}}
	doc, err := extractWith(t, p, ocr, extract.Config{}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Warnings) != 0 || len(ocr.called()) != 0 {
		t.Errorf("warnings %v, OCR calls %v; want none for a text format", doc.Warnings, ocr.called())
	}
}

// garbage is a page text of glyph codes: control characters.
var garbage = strings.Repeat("\x03\x87\x94\x98\x8b\x87\x99 ", 10)

func TestOCRGarbledPages(t *testing.T) {
	parser := func() *ocrPagesParser {
		return &ocrPagesParser{mediaType: "application/pdf", doc: extract.Document{
			Pages: []extract.Page{{Number: 1, Text: "Fine text on the first page."}, {Number: 2, Text: garbage}},
		}}
	}
	// Without OCR.
	doc, err := extractWith(t, parser(), nil, extract.Config{}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustOne(t, doc, 2, extract.WarnGarbledText, "OCR is off")
	if len(warningsOf(doc, 1, extract.WarnGarbledText)) != 0 {
		t.Errorf("page 1 judged garbled: %v", doc.Warnings)
	}

	// OCR reads it better: replaced.
	ocr := &fakeOCR{fn: func(context.Context, extract.OCRRequest) (string, error) { return "The real words of page two.", nil }}
	doc, err = extractWith(t, parser(), ocr, extract.Config{}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ocr.called(), []int{2}) || !strings.HasSuffix(doc.Text, "The real words of page two.") {
		t.Errorf("calls %v, text %q", ocr.called(), doc.Text)
	}
	mustOne(t, doc, 2, extract.WarnOCRApplied, "replaced by OCR (fake 1.0)")
	if len(warningsOf(doc, 2, extract.WarnGarbledText)) != 0 {
		t.Errorf("a replaced page keeps suspected_garbled_text: %v", doc.Warnings)
	}

	// OCR does no better: the text layer stays.
	ocr = &fakeOCR{fn: func(context.Context, extract.OCRRequest) (string, error) { return garbage, nil }}
	doc, err = extractWith(t, parser(), ocr, extract.Config{}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustOne(t, doc, 2, extract.WarnGarbledText, "did not read it better")
	if !strings.Contains(doc.Pages[1].Text, "\x03") {
		t.Errorf("page 2 text %q, want the text layer", doc.Pages[1].Text)
	}

	// Garbled in part: a warning, and no OCR.
	ocr = &fakeOCR{}
	p := parser()
	good := strings.Repeat("Words of a page with a figure in it. ", 8)
	p.doc.Pages[1].Text = good + strings.Repeat("\uFFFD", len([]rune(good))/6)
	doc, err = extractWith(t, p, ocr, extract.Config{}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustOne(t, doc, 2, extract.WarnGarbledText, "part of the text of page 2 looks garbled")
	if len(ocr.called()) != 0 {
		t.Errorf("OCR read pages %v garbled in part", ocr.called())
	}
}

func TestOCRPageFailures(t *testing.T) {
	ocr := &fakeOCR{fn: func(_ context.Context, req extract.OCRRequest) (string, error) {
		switch req.Page {
		case 2:
			return "", errors.New("boom\nsecond line that stays in the log")
		case 3:
			panic("engine bug")
		}
		return "ok", nil
	}}
	p := scannedPDF()
	p.doc.Pages = append(p.doc.Pages, extract.Page{Number: 4})
	doc, err := extractWith(t, p, ocr, extract.Config{}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustOne(t, doc, 2, extract.WarnNoTextLayer, "OCR (fake 1.0) failed: boom")
	if strings.Contains(warningsOf(doc, 2, extract.WarnNoTextLayer)[0].Message, "second line") {
		t.Error("the warning carries more than the error's first line")
	}
	mustOne(t, doc, 3, extract.WarnNoTextLayer, "failed: the OCR engine failed on this page")
	mustOne(t, doc, 4, extract.WarnOCRApplied, "fake 1.0")
	if doc.Pages[3].Text != "ok" {
		t.Errorf("page 4 text %q", doc.Pages[3].Text)
	}
}

// blankPDF is a PDF of n pages without text.
func blankPDF(n int) *ocrPagesParser {
	p := &ocrPagesParser{mediaType: "application/pdf"}
	for i := range n {
		p.doc.Pages = append(p.doc.Pages, extract.Page{Number: i + 1})
	}
	return p
}

func TestOCRConcurrencyIsBounded(t *testing.T) {
	slow := func(ctx context.Context, _ extract.OCRRequest) (string, error) {
		select {
		case <-time.After(30 * time.Millisecond):
			return "text", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	ocr := &fakeOCR{fn: slow, conc: 3}
	if _, err := extractWith(t, blankPDF(12), concurrentOCR{ocr}, extract.Config{}, extract.Options{}); err != nil {
		t.Fatal(err)
	}
	if p := ocr.peak.Load(); p > 3 || p < 2 {
		t.Errorf("peak concurrency %d, want up to Concurrency() 3", p)
	}
	if len(ocr.called()) != 12 {
		t.Errorf("%d pages read, want 12", len(ocr.called()))
	}
	// Without OCRConcurrency: GOMAXPROCS.
	ocr = &fakeOCR{fn: slow}
	if _, err := extractWith(t, blankPDF(12), ocr, extract.Config{}, extract.Options{}); err != nil {
		t.Fatal(err)
	}
	if p := ocr.peak.Load(); int(p) > runtime.GOMAXPROCS(0) {
		t.Errorf("peak concurrency %d over GOMAXPROCS %d", p, runtime.GOMAXPROCS(0))
	}
}

func TestOCRMaxChars(t *testing.T) {
	p := blankPDF(3)
	p.doc.Pages[0].Text = strings.Repeat("x", 200)
	ocr := &fakeOCR{}
	doc, err := extractWith(t, p, ocr, extract.Config{}, extract.Options{MaxChars: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(ocr.called()) != 0 {
		t.Errorf("pages %v were read past the output cap", ocr.called())
	}
	if len([]rune(doc.Text)) != 100 {
		t.Errorf("text of %d code points", len([]rune(doc.Text)))
	}
}

func TestOCRDeadline(t *testing.T) {
	ocr := &fakeOCR{conc: 1, fn: func(ctx context.Context, _ extract.OCRRequest) (string, error) {
		select {
		case <-time.After(120 * time.Millisecond):
			return "text", nil
		case <-ctx.Done():
			return "", fmt.Errorf("fake: %w", ctx.Err())
		}
	}}
	start := time.Now()
	doc, err := extractWith(t, blankPDF(10), concurrentOCR{ocr}, extract.Config{Timeout: 400 * time.Millisecond}, extract.Options{})
	if err != nil {
		t.Fatalf("err = %v; the deadline during OCR keeps what was read", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s", d)
	}
	read, late := 0, 0
	for i := range 10 {
		switch {
		case len(warningsOf(doc, i+1, extract.WarnOCRApplied)) == 1:
			read++
		case len(warningsOf(doc, i+1, extract.WarnNoTextLayer)) == 1 &&
			strings.Contains(warningsOf(doc, i+1, extract.WarnNoTextLayer)[0].Message, "did not reach this page within the deadline of 400ms"):
			late++
		}
	}
	if read == 0 || late == 0 || read+late != 10 {
		t.Errorf("%d pages read, %d late, want both and 10 in all: %v", read, late, doc.Warnings)
	}
}

func TestOCRIgnoringContextDoesNotHang(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	ocr := &fakeOCR{conc: 2, fn: func(context.Context, extract.OCRRequest) (string, error) {
		<-release
		return "late", nil
	}}
	start := time.Now()
	doc, err := extractWith(t, blankPDF(4), concurrentOCR{ocr}, extract.Config{Timeout: 100 * time.Millisecond}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("took %s", d)
	}
	for i := range 4 {
		mustOne(t, doc, i+1, extract.WarnNoTextLayer, "within the deadline")
	}
}

func TestOCRCallerCancels(t *testing.T) {
	started := make(chan struct{}, 8)
	ocr := &fakeOCR{fn: func(ctx context.Context, _ extract.OCRRequest) (string, error) {
		started <- struct{}{}
		<-ctx.Done()
		return "", ctx.Err()
	}}
	reg := extract.NewRegistry()
	reg.MustRegister("fake", blankPDF(3))
	ex, _ := extract.New(reg, extract.Config{OCR: ocr})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	_, err := ex.Extract(ctx, extract.Input{R: strings.NewReader("x"), Size: 1, MediaType: "application/pdf"}, extract.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	// The caller's deadline reads as ErrTimeout.
	ctx, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	_, err = ex.Extract(ctx, extract.Input{R: strings.NewReader("x"), Size: 1, MediaType: "application/pdf"}, extract.Options{})
	if !errors.Is(err, extract.ErrTimeout) {
		t.Errorf("err = %v, want ErrTimeout", err)
	}
}
