package txt

import (
	"context"
	"fmt"

	"github.com/quarryhq/quarry/extract"
)

// Version is the parser version reported as metadata.parser_version.
const Version = "1"

// Parser reads plain text. The zero value is ready to use; it holds no state
// and is safe for concurrent use.
type Parser struct{}

// New returns a plain-text parser.
func New() *Parser { return &Parser{} }

// MediaTypes reports the media types the parser reads.
func (*Parser) MediaTypes() []string { return []string{"text/plain"} }

// Version reports the parser version.
func (*Parser) Version() string { return Version }

// Parse decodes in to NFC text.
func (*Parser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	if in.R == nil {
		return nil, fmt.Errorf("txt: %w: no input", extract.ErrMalformed)
	}
	maxChars := in.Limits.MaxChars
	if maxChars <= 0 {
		maxChars = extract.DefaultLimits().MaxChars
	}
	d, err := Decode(ctx, in.R, in.Size, in.MediaType, maxChars)
	if err != nil {
		return nil, err
	}
	doc := &extract.Document{
		Text:     d.Text,
		Metadata: extract.Metadata{Charset: d.Charset},
	}
	if d.Invalid {
		doc.Warnings = append(doc.Warnings, extract.Warning{
			Code:    extract.WarnInvalidUTF8,
			Message: "invalid " + d.Charset + " sequences were replaced with U+FFFD",
		})
	}
	return doc, nil
}

// Sniff recognises UTF-16 and UTF-32 text, with or without a byte-order
// mark, and returns "text/plain; charset=..." for it. It returns "" for
// anything else, including every binary format: without a byte-order mark
// it needs at least a few characters, all of them text, most of them in the
// Latin-1 range so that the NUL bytes fall in a strict pattern.
func (*Parser) Sniff(head []byte) string {
	if cs := SniffCharset(head); cs != "" {
		return "text/plain; charset=" + cs
	}
	return ""
}

var (
	_ extract.Parser    = (*Parser)(nil)
	_ extract.Sniffer   = (*Parser)(nil)
	_ extract.Versioner = (*Parser)(nil)
)
