package extract_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/quarryhq/quarry/extract"
)

// cloudOCR stands in for an OCR service: a custom engine implements
// extract.OCR (and, optionally, extract.OCRConcurrency to bound the pages
// in flight).
type cloudOCR struct{}

func (cloudOCR) Name() string         { return "cloud-ocr v2" }
func (cloudOCR) MediaTypes() []string { return []string{"image/png"} }
func (cloudOCR) Concurrency() int     { return 4 }

func (cloudOCR) Recognize(ctx context.Context, req extract.OCRRequest) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	// A real engine would send req.Input.Reader() to the service here,
	// with ctx, and return the text of page req.Page.
	return fmt.Sprintf("Text of page %d, read by the service.", req.Page), nil
}

// Guard: cloudOCR implements both interfaces.
var (
	_ extract.OCR            = cloudOCR{}
	_ extract.OCRConcurrency = cloudOCR{}
)

// imageParser returns one empty page per image, as extract/image does.
type imageParser struct{}

func (imageParser) MediaTypes() []string { return []string{"image/png"} }
func (imageParser) Parse(context.Context, extract.Input) (*extract.Document, error) {
	return &extract.Document{Pages: []extract.Page{{Number: 1}}}, nil
}

// Plug an OCR engine into the Extractor: pages without a text layer are
// read with it, and a warning says so.
func ExampleOCR() {
	reg := extract.NewRegistry()
	reg.MustRegister("image", imageParser{})
	ex, err := extract.New(reg, extract.Config{OCR: cloudOCR{}})
	if err != nil {
		panic(err)
	}
	png := "\x89PNG\r\n\x1a\n..."
	doc, err := ex.Extract(context.Background(), extract.Input{R: strings.NewReader(png), Size: int64(len(png))}, extract.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Println(doc.Text)
	for _, w := range doc.Warnings {
		fmt.Printf("%s (page %d): %s\n", w.Code, w.Page, w.Message)
	}
	// Output:
	// Text of page 1, read by the service.
	// ocr_applied (page 1): page 1 has no text layer; its text was read by OCR (cloud-ocr v2)
}
