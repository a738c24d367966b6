package extract_test

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	stdimage "image"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/ocr"
	"github.com/quarryhq/quarry/extract/ocr/ocrtest"
	"github.com/quarryhq/quarry/extract/standard"
	"github.com/quarryhq/quarry/internal/corpustest"
	"github.com/quarryhq/quarry/internal/wordf1"
)

// ocrExtractor is the real stack: the built-in parsers (the image parser
// among them), and the tesseract engine with a temp dir of the test's own.
func ocrExtractor(t testing.TB, cfg extract.Config, ocfg ocr.Config) (*extract.Extractor, string) {
	t.Helper()
	ocrtest.RequireTools(t, "tesseract", "pdftoppm", "pdfinfo")
	ocfg.TempDir = t.TempDir()
	eng, err := ocr.New(ocfg)
	if err != nil {
		t.Fatal(err)
	}
	reg := standard.NewRegistry()
	cfg.OCR = eng
	ex, err := extract.New(reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ex, ocfg.TempDir
}

func corpusFile(t testing.TB, name string) (path string, data []byte) {
	t.Helper()
	path = filepath.Join(corpustest.Require(t), name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, data
}

func extractBytes(ctx context.Context, ex *extract.Extractor, data []byte, mediaType string, opts extract.Options) (*extract.Document, error) {
	return ex.Extract(ctx, extract.Input{R: bytes.NewReader(data), Size: int64(len(data)), MediaType: mediaType}, opts)
}

func TestOCRCorpusScans(t *testing.T) {
	ex, tmp := ocrExtractor(t, extract.Config{}, ocr.Config{})
	for _, id := range []string{"pdf-docling-ocr_test", "pdf-docling-ocr_test_rot90"} {
		_, pdf := corpusFile(t, "files/"+id+".pdf")
		_, expected := corpusFile(t, "expected/"+id+".txt")
		doc, err := extractBytes(context.Background(), ex, pdf, "", extract.Options{})
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		_, _, f1, _ := wordf1.Score(string(expected), doc.Text)
		t.Logf("%s: word F1 %.3f", id, f1)
		if f1 < 0.9 {
			t.Errorf("%s: word F1 %.3f, text %q", id, f1, doc.Text)
		}
		mustOne(t, doc, 1, extract.WarnOCRApplied, "tesseract")
		if ws := warningsOf(doc, 1, extract.WarnNoTextLayer); len(ws) != 0 {
			t.Errorf("%s keeps %v", id, ws)
		}
		if doc.Metadata.Parser != "pdf" {
			t.Errorf("parser %q", doc.Metadata.Parser)
		}
	}
	ocrtest.CheckClean(t, tmp)
}

func TestOCRImageInputs(t *testing.T) {
	ex, tmp := ocrExtractor(t, extract.Config{}, ocr.Config{})
	scan, _ := corpusFile(t, "files/pdf-docling-ocr_test.pdf")
	rot, _ := corpusFile(t, "files/pdf-docling-ocr_test_rot90.pdf")
	_, expected := corpusFile(t, "expected/pdf-docling-ocr_test.txt")
	pngData := ocrtest.Render(t, scan, 1, 150, "png")
	decode := func(b []byte) stdimage.Image {
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	blank := stdimage.NewGray(stdimage.Rect(0, 0, 300, 200))
	for i := range blank.Pix {
		blank.Pix[i] = 0xFF
	}
	var blankPNG bytes.Buffer
	png.Encode(&blankPNG, blank)
	tif := ocrtest.TIFF(decode(pngData), decode(ocrtest.Render(t, rot, 1, 150, "png")))

	for _, c := range []struct {
		name  string
		data  []byte
		pages int
	}{
		{"png", pngData, 1},
		{"jpeg", ocrtest.Render(t, scan, 1, 150, "jpeg"), 1},
		{"tiff", ocrtest.Render(t, scan, 1, 150, "tiff"), 1},
		{"two-page tiff, upright and turned", tif, 2},
	} {
		// Sniffed, as the CLI and the server do.
		doc, err := extractBytes(context.Background(), ex, c.data, "", extract.Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if doc.Metadata.Parser != "image" || doc.Metadata.PageCount != c.pages || len(doc.Pages) != c.pages {
			t.Errorf("%s: parser %q, %d pages (count %d)", c.name, doc.Metadata.Parser, len(doc.Pages), doc.Metadata.PageCount)
		}
		for _, pg := range doc.Pages {
			_, _, f1, _ := wordf1.Score(string(expected), pg.Text)
			t.Logf("%s page %d: word F1 %.3f", c.name, pg.Number, f1)
			if f1 < 0.9 {
				t.Errorf("%s page %d: word F1 %.3f, text %q", c.name, pg.Number, f1, pg.Text)
			}
			mustOne(t, doc, pg.Number, extract.WarnOCRApplied, "tesseract")
		}
	}

	// An image without text.
	doc, err := extractBytes(context.Background(), ex, blankPNG.Bytes(), "", extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(doc.Text) != "" {
		t.Errorf("blank image: text %q", doc.Text)
	}
	mustOne(t, doc, 1, extract.WarnOCRApplied, "found no text")

	// A corrupt image: headers fine, pixel data cut. The parser reads the
	// headers, OCR fails, and the warning says so.
	doc, err = extractBytes(context.Background(), ex, pngData[:len(pngData)/3], "", extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustOne(t, doc, 1, extract.WarnNoTextLayer, "failed: tesseract failed")
	// Not an image at all, though labelled one.
	if _, err := extractBytes(context.Background(), ex, []byte("/etc/passwd\n"), "image/png", extract.Options{}); !errors.Is(err, extract.ErrUnsupportedFormat) {
		t.Errorf("err = %v, want ErrUnsupportedFormat", err)
	}
	ocrtest.CheckClean(t, tmp)
}

func TestOCRReplacesGarbledTextLayer(t *testing.T) {
	// TAMReview's pages map glyphs to control codes (see
	// garbledReferences); OCR reads them.
	ex, tmp := ocrExtractor(t, extract.Config{Timeout: 5 * time.Minute}, ocr.Config{})
	_, pdf := corpusFile(t, "files/pdf-pdfjs-TAMReview.pdf")
	doc, err := extractBytes(context.Background(), ex, pdf, "", extract.Options{Pages: "2"})
	if err != nil {
		t.Fatal(err)
	}
	mustOne(t, doc, 2, extract.WarnOCRApplied, "looks garbled")
	if !strings.Contains(doc.Text, "Technology Acceptance Model") || extract.Garbled(doc.Text) {
		t.Errorf("text %.300q", doc.Text)
	}
	ocrtest.CheckClean(t, tmp)
}

func TestOCRWithoutEngine(t *testing.T) {
	reg := standard.NewRegistry()
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, pdf := corpusFile(t, "files/pdf-docling-ocr_test.pdf")
	doc, err := extractBytes(context.Background(), ex, pdf, "", extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(doc.Text) != "" {
		t.Errorf("text %q", doc.Text)
	}
	mustOne(t, doc, 1, extract.WarnNoTextLayer, "OCR is off")
	img, _ := os.ReadFile("image/testdata/line.png")
	doc, err = extractBytes(context.Background(), ex, img, "", extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustOne(t, doc, 1, extract.WarnNoTextLayer, "OCR is off")
}

func TestOCRCancelAndDeadline(t *testing.T) {
	ex, tmp := ocrExtractor(t, extract.Config{}, ocr.Config{})
	_, pdf := corpusFile(t, "files/pdf-pdfjs-TAMReview.pdf")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for range 2000 {
			if len(ocrtest.ProcessesIn(tmp)) > 0 {
				time.Sleep(200 * time.Millisecond)
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	_, err := extractBytes(ctx, ex, pdf, "", extract.Options{Pages: "2-5"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
	t.Logf("cancelled after %s", time.Since(start))
	ocrtest.CheckClean(t, tmp)

	// A deadline mid-OCR keeps what was read and says what was not. The
	// deadline covers parsing too (about a second for these pages under
	// -race); OCR of the four garbled pages, one at a time, needs more
	// than the rest of it.
	ex, tmp = ocrExtractor(t, extract.Config{Timeout: 4 * time.Second}, ocr.Config{Concurrency: 1})
	doc, err := extractBytes(context.Background(), ex, pdf, "", extract.Options{Pages: "2-5"})
	if err != nil {
		t.Fatal(err)
	}
	late := 0
	for _, w := range doc.Warnings {
		if w.Code == extract.WarnGarbledText && strings.Contains(w.Message, "within the deadline") {
			late++
		}
	}
	if late == 0 {
		t.Errorf("no page was late: %v", doc.Warnings)
	}
	ocrtest.CheckClean(t, tmp)
}

// BenchmarkOCRExtract reports OCR throughput through the Extractor on a
// four-page TIFF of the corpus scan (150 DPI frames), pages in parallel:
// pages/s.
func BenchmarkOCRExtract(b *testing.B) {
	ex, _ := ocrExtractor(b, extract.Config{Timeout: 5 * time.Minute}, ocr.Config{})
	scan, _ := corpusFile(b, "files/pdf-docling-ocr_test.pdf")
	img, err := png.Decode(bytes.NewReader(ocrtest.Render(b, scan, 1, 150, "png")))
	if err != nil {
		b.Fatal(err)
	}
	tif := ocrtest.TIFF(img, img, img, img)
	b.ResetTimer()
	start, cpu := time.Now(), ocrtest.ChildCPU()
	for b.Loop() {
		doc, err := extractBytes(context.Background(), ex, tif, "", extract.Options{})
		if err != nil || len(warningsOf(doc, 4, extract.WarnOCRApplied)) != 1 {
			b.Fatal(err, doc.Warnings)
		}
	}
	b.ReportMetric(float64(4*b.N)/time.Since(start).Seconds(), "pages/s")
	b.ReportMetric((ocrtest.ChildCPU()-cpu).Seconds()/float64(4*b.N), "cpu-s/page")
}

// BenchmarkOCRScannedPDF is the same for the corpus's one-page scanned PDF
// at 300 DPI, one document at a time.
func BenchmarkOCRScannedPDF(b *testing.B) {
	ex, _ := ocrExtractor(b, extract.Config{Timeout: 5 * time.Minute}, ocr.Config{})
	_, pdf := corpusFile(b, "files/pdf-docling-ocr_test.pdf")
	b.ResetTimer()
	start, cpu := time.Now(), ocrtest.ChildCPU()
	for b.Loop() {
		if _, err := extractBytes(context.Background(), ex, pdf, "", extract.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pages/s")
	b.ReportMetric((ocrtest.ChildCPU()-cpu).Seconds()/float64(b.N), "cpu-s/page")
}
