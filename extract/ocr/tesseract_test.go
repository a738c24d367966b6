package ocr_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/ocr"
	"github.com/quarryhq/quarry/extract/ocr/ocrtest"
	"github.com/quarryhq/quarry/internal/corpustest"
	"github.com/quarryhq/quarry/internal/wordf1"
)

// newEngine returns a real tesseract engine with a TempDir of the test's
// own, after RequireTools.
func newEngine(t testing.TB, cfg ocr.Config) (*ocr.Tesseract, string) {
	t.Helper()
	ocrtest.RequireTools(t, "tesseract", "pdftoppm", "pdfinfo")
	cfg.TempDir = t.TempDir()
	eng, err := ocr.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return eng, cfg.TempDir
}

// scan is one of the corpus's scanned PDFs with its expected text.
type scan struct {
	id       string
	pdf      []byte
	path     string
	expected string
}

func corpusScans(t testing.TB) []scan {
	t.Helper()
	dir := corpustest.Require(t)
	var out []scan
	for _, id := range []string{"pdf-docling-ocr_test", "pdf-docling-ocr_test_rot90"} {
		path := filepath.Join(dir, "files", id+".pdf")
		pdf, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		exp, err := os.ReadFile(filepath.Join(dir, "expected", id+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, scan{id: id, pdf: pdf, path: path, expected: string(exp)})
	}
	return out
}

func request(data []byte, mediaType string, page int) extract.OCRRequest {
	return extract.OCRRequest{Input: extract.Input{R: bytes.NewReader(data), Size: int64(len(data)), MediaType: mediaType}, Page: page}
}

// minF1 is the word F1 every read of the corpus scans must reach.
const minF1 = 0.9

func checkF1(t *testing.T, name, expected, got string) {
	t.Helper()
	_, _, f1, _ := wordf1.Score(expected, got)
	t.Logf("%s: word F1 %.3f", name, f1)
	if f1 < minF1 {
		t.Errorf("%s: word F1 %.3f < %.2f; text %q", name, f1, minF1, got)
	}
}

func TestCorpusScannedPDFs(t *testing.T) {
	eng, tmp := newEngine(t, ocr.Config{})
	scans := corpusScans(t)
	// The turned scan with /Rotate 180 in place of 270 (same length: the
	// cross-reference offsets hold) shows the page upside down, which
	// only the orientation retry reads.
	upsideDown := bytes.Replace(scans[1].pdf, []byte("/Rotate 270"), []byte("/Rotate 180"), 1)
	if bytes.Equal(upsideDown, scans[1].pdf) {
		t.Fatal("no /Rotate 270 in the turned scan")
	}
	scans = append(scans, scan{id: "upside down", pdf: upsideDown, expected: scans[1].expected})
	for _, s := range scans {
		text, err := eng.Recognize(context.Background(), request(s.pdf, "application/pdf", 1))
		if err != nil {
			t.Fatalf("%s: %v", s.id, err)
		}
		checkF1(t, s.id, s.expected, text)
	}
	ocrtest.CheckClean(t, tmp)
}

// decodePNG decodes a PNG the test rendered.
func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// rotate returns img turned by quarter turns clockwise.
func rotate(img image.Image, quarters int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	var out *image.Gray
	if quarters%2 == 1 {
		out = image.NewGray(image.Rect(0, 0, h, w))
	} else {
		out = image.NewGray(image.Rect(0, 0, w, h))
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := img.At(b.Min.X+x, b.Min.Y+y)
			switch quarters % 4 {
			case 0:
				out.Set(x, y, c)
			case 1:
				out.Set(h-1-y, x, c)
			case 2:
				out.Set(w-1-x, h-1-y, c)
			case 3:
				out.Set(y, w-1-x, c)
			}
		}
	}
	return out
}

func TestImageFormats(t *testing.T) {
	eng, tmp := newEngine(t, ocr.Config{})
	scans := corpusScans(t)
	s := scans[0]
	pngData := ocrtest.Render(t, s.path, 1, 150, "png")
	img := decodePNG(t, pngData)
	var gifData bytes.Buffer
	if err := gif.Encode(&gifData, img, nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, mediaType string
		data            []byte
	}{
		{"png", "image/png", pngData},
		{"jpeg", "image/jpeg", ocrtest.Render(t, s.path, 1, 150, "jpeg")},
		{"tiff", "image/tiff", ocrtest.Render(t, s.path, 1, 150, "tiff")},
		{"gif", "image/gif", gifData.Bytes()},
		{"bmp", "image/bmp", ocrtest.BMP(img)},
		{"webp", "image/webp", ocrtest.WebP(img)},
		// Labelled with the wrong image type: the magic number decides.
		{"png labelled jpeg", "image/jpeg", pngData},
	}
	for _, c := range cases {
		text, err := eng.Recognize(context.Background(), request(c.data, c.mediaType, 1))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		checkF1(t, c.name, s.expected, text)
	}
	ocrtest.CheckClean(t, tmp)
}

func TestRotatedImages(t *testing.T) {
	s := corpusScans(t)[0]
	img := decodePNG(t, ocrtest.Render(t, s.path, 1, 150, "png"))
	// Mode 1 (the default with osd) turns 90 and 270 degrees itself and
	// leaves 180 to the orientation retry; mode 3 leaves all to it, which
	// checks that the retry turns the way tesseract's "Rotate:" means.
	for psm, turns := range map[int][]int{0: {1, 2, 3}, 3: {1}} {
		eng, tmp := newEngine(t, ocr.Config{PageSegMode: psm})
		for _, q := range turns {
			var b bytes.Buffer
			if err := png.Encode(&b, rotate(img, q)); err != nil {
				t.Fatal(err)
			}
			text, err := eng.Recognize(context.Background(), request(b.Bytes(), "image/png", 1))
			if err != nil {
				t.Fatalf("%d°: %v", 90*q, err)
			}
			checkF1(t, fmt.Sprintf("psm %d, turned %d°", psm, 90*q), s.expected, text)
		}
		ocrtest.CheckClean(t, tmp)
	}
}

func TestMultiPageTIFF(t *testing.T) {
	eng, tmp := newEngine(t, ocr.Config{})
	scans := corpusScans(t)
	blank := image.NewGray(image.Rect(0, 0, 600, 800))
	for i := range blank.Pix {
		blank.Pix[i] = 0xFF
	}
	// Page 1 upright, page 2 blank, page 3 the rotated scan.
	tif := ocrtest.TIFF(
		decodePNG(t, ocrtest.Render(t, scans[0].path, 1, 150, "png")),
		blank,
		decodePNG(t, ocrtest.Render(t, scans[1].path, 1, 150, "png")),
	)
	for page, want := range map[int]string{1: scans[0].expected, 2: "", 3: scans[1].expected} {
		text, err := eng.Recognize(context.Background(), request(tif, "image/tiff", page))
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		if want == "" {
			if strings.TrimSpace(text) != "" {
				t.Errorf("blank page 2: text %q", text)
			}
			continue
		}
		checkF1(t, fmt.Sprintf("TIFF page %d", page), want, text)
	}
	if _, err := eng.Recognize(context.Background(), request(tif, "image/tiff", 4)); !errors.Is(err, extract.ErrMalformed) {
		t.Errorf("page 4 of 3: err = %v, want ErrMalformed", err)
	}
	ocrtest.CheckClean(t, tmp)
}

func TestBlankAndCorruptImages(t *testing.T) {
	eng, tmp := newEngine(t, ocr.Config{})
	blank := image.NewGray(image.Rect(0, 0, 400, 300))
	for i := range blank.Pix {
		blank.Pix[i] = 0xFF
	}
	var b bytes.Buffer
	png.Encode(&b, blank)
	text, err := eng.Recognize(context.Background(), request(b.Bytes(), "image/png", 1))
	if err != nil || strings.TrimSpace(text) != "" {
		t.Errorf("blank image: %q, %v; want no text and no error", text, err)
	}

	s := corpusScans(t)[0]
	full := ocrtest.Render(t, s.path, 1, 150, "png")
	truncated := full[:len(full)/3] // valid headers, pixel data cut
	_, err = eng.Recognize(context.Background(), request(truncated, "image/png", 1))
	if err == nil || !strings.Contains(err.Error(), "tesseract failed") {
		t.Errorf("truncated PNG: err = %v, want tesseract's failure", err)
	}
	if strings.Contains(fmt.Sprint(err), tmp) {
		t.Errorf("the error names the temp dir: %v", err)
	}

	// A decompression bomb: a few hundred bytes declaring 10^10 pixels.
	bomb := append([]byte(nil), full[:33]...)
	copy(bomb[16:], []byte{0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0}) // 100 000 × 100 000
	start := time.Now()
	_, err = eng.Recognize(context.Background(), request(bomb, "image/png", 1))
	if !errors.Is(err, extract.ErrTooLarge) || time.Since(start) > time.Second {
		t.Errorf("bomb: err = %v after %s, want ErrTooLarge at once", err, time.Since(start))
	}

	// A tool over its memory limit fails the page, nothing more. (In
	// 64 MiB of address space tesseract cannot even map its libraries.)
	tight, tightTmp := newEngine(t, ocr.Config{MaxMemory: 64 << 20})
	if _, err := tight.Recognize(context.Background(), request(full, "image/png", 1)); err == nil || !strings.Contains(err.Error(), "tesseract failed") {
		t.Errorf("64 MiB: err = %v, want tesseract's failure", err)
	}
	ocrtest.CheckClean(t, tightTmp)

	// A "list file": tesseract takes input that is no image for a list of
	// image paths. It must never get one.
	secret := filepath.Join(t.TempDir(), "secret.png")
	os.WriteFile(secret, full, 0o600)
	_, err = eng.Recognize(context.Background(), request([]byte(secret+"\n"), "image/png", 1))
	if !errors.Is(err, extract.ErrUnsupportedFormat) {
		t.Errorf("list file: err = %v, want ErrUnsupportedFormat", err)
	}
	ocrtest.CheckClean(t, tmp)
}

func TestPDFPageSizeLimits(t *testing.T) {
	s := corpusScans(t)[0]
	// 2 million pixels: the A4 page at 300 DPI (8.7 Mpx) is rendered at
	// about 140 DPI, and still reads.
	eng, tmp := newEngine(t, ocr.Config{MaxPixels: 2_000_000})
	text, err := eng.Recognize(context.Background(), request(s.pdf, "application/pdf", 1))
	if err != nil {
		t.Fatal(err)
	}
	checkF1(t, "rendered under 2 Mpx", s.expected, text)
	// So few pixels that the page would need under 30 DPI: refused.
	small, _ := newEngine(t, ocr.Config{MaxPixels: 50_000})
	if _, err := small.Recognize(context.Background(), request(s.pdf, "application/pdf", 1)); !errors.Is(err, extract.ErrTooLarge) {
		t.Errorf("err = %v, want ErrTooLarge", err)
	}
	if _, err := eng.Recognize(context.Background(), request(s.pdf, "application/pdf", 2)); !errors.Is(err, extract.ErrMalformed) {
		t.Errorf("page 2 of 1: err = %v, want ErrMalformed", err)
	}
	if _, err := eng.Recognize(context.Background(), request([]byte("%PDF-1.4 junk"), "application/pdf", 1)); err == nil || !strings.Contains(err.Error(), "pdfinfo failed") {
		t.Errorf("broken PDF: err = %v, want pdfinfo's failure", err)
	}
	ocrtest.CheckClean(t, tmp)
}

// heavyPage returns a dense text page of the corpus, which takes tesseract
// seconds.
func heavyPage(t testing.TB) []byte {
	dir := corpustest.Require(t)
	b, err := os.ReadFile(filepath.Join(dir, "files", "pdf-pdfjs-TAMReview.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCancelMidOCR(t *testing.T) {
	eng, tmp := newEngine(t, ocr.Config{})
	pdf := heavyPage(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel while a tool runs.
		for range 1000 {
			if len(ocrtest.ProcessesIn(tmp)) > 0 {
				time.Sleep(100 * time.Millisecond)
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	_, err := eng.Recognize(ctx, request(pdf, "application/pdf", 2))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("returned %s after start", d)
	}
	ocrtest.CheckClean(t, tmp)
}

func TestPageTimeout(t *testing.T) {
	eng, tmp := newEngine(t, ocr.Config{Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := eng.Recognize(context.Background(), request(heavyPage(t), "application/pdf", 2))
	if !errors.Is(err, extract.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned %s after start", d)
	}
	// A caller's deadline is the caller's: context.DeadlineExceeded.
	eng2, tmp2 := newEngine(t, ocr.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := eng2.Recognize(ctx, request(heavyPage(t), "application/pdf", 2)); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, extract.ErrTimeout) {
		t.Errorf("caller deadline: err = %v, want context.DeadlineExceeded", err)
	}
	ocrtest.CheckClean(t, tmp)
	ocrtest.CheckClean(t, tmp2)
}

func TestLanguageHint(t *testing.T) {
	eng, _ := newEngine(t, ocr.Config{})
	s := corpusScans(t)[0]
	// A hint without an installed model falls back on the configured
	// languages instead of failing.
	req := request(ocrtest.Render(t, s.path, 1, 150, "png"), "image/png", 1)
	req.Language = "xx-Unknown"
	text, err := eng.Recognize(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	checkF1(t, "unknown hint", s.expected, text)
}

// BenchmarkRecognizePDFPage reports OCR throughput on the corpus scan:
// pages/s with the engine's default concurrency (GOMAXPROCS) and 300 DPI.
func BenchmarkRecognizePDFPage(b *testing.B) {
	eng, _ := newEngine(b, ocr.Config{})
	s := corpusScans(b)[0]
	b.ResetTimer()
	start, cpu := time.Now(), ocrtest.ChildCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := eng.Recognize(context.Background(), request(s.pdf, "application/pdf", 1)); err != nil {
				b.Error(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pages/s")
	b.ReportMetric((ocrtest.ChildCPU()-cpu).Seconds()/float64(b.N), "cpu-s/page")
}

// BenchmarkRecognizeDensePage is the same on a dense text page (page 2 of
// the corpus's TAMReview paper).
func BenchmarkRecognizeDensePage(b *testing.B) {
	eng, _ := newEngine(b, ocr.Config{})
	pdf := heavyPage(b)
	b.ResetTimer()
	start, cpu := time.Now(), ocrtest.ChildCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := eng.Recognize(context.Background(), request(pdf, "application/pdf", 2)); err != nil {
				b.Error(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pages/s")
	b.ReportMetric((ocrtest.ChildCPU()-cpu).Seconds()/float64(b.N), "cpu-s/page")
}
