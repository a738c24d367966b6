package image

import (
	"context"
	"fmt"

	"github.com/quarryhq/quarry/extract"
)

// Version is the parser version reported as metadata.parser_version.
const Version = "1"

// Parser reads images as pages without a text layer. The zero value is
// ready to use; it holds no state and is safe for concurrent use.
type Parser struct{}

// New returns an image parser.
func New() *Parser { return &Parser{} }

// MediaTypes reports the media types the parser reads.
func (*Parser) MediaTypes() []string {
	return []string{"image/png", "image/jpeg", "image/tiff", "image/gif", "image/bmp", "image/webp"}
}

// Version reports the parser version.
func (*Parser) Version() string { return Version }

// Parse returns one empty page per frame of the image, each with a
// no_text_layer warning, and the page count. It reads the headers only
// (see [Probe]); an OCR configured on the Extractor reads the text.
func (*Parser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	if in.R == nil || in.Size <= 0 {
		return nil, fmt.Errorf("image: %w: empty input", extract.ErrMalformed)
	}
	lim := in.Limits.WithDefaults()
	info, err := Probe(ctx, in.R, in.Size, lim.MaxPages)
	if err != nil {
		return nil, err
	}
	doc := &extract.Document{
		Pages:    make([]extract.Page, len(info.Frames)),
		Warnings: []extract.Warning{},
		Metadata: extract.Metadata{PageCount: len(info.Frames)},
	}
	for i, f := range info.Frames {
		doc.Pages[i] = extract.Page{Number: i + 1}
		doc.Warnings = append(doc.Warnings, extract.Warning{
			Code:    extract.WarnNoTextLayer,
			Page:    i + 1,
			Message: fmt.Sprintf("page %d is a %d×%d %s image without a text layer; only OCR can read it", i+1, f.Width, f.Height, info.Format),
		})
	}
	if info.Capped {
		doc.Warnings = append(doc.Warnings, extract.Warning{
			Code:    extract.WarnTruncated,
			Message: fmt.Sprintf("only the first %d pages were read (page limit)", len(info.Frames)),
		})
	}
	return doc, nil
}

var _ extract.Parser = (*Parser)(nil)
var _ extract.Versioner = (*Parser)(nil)
