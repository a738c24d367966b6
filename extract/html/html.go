package html

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/txt"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Version is the parser version reported as metadata.parser_version.
const Version = "1"

// Parser reads HTML. It holds no state and is safe for concurrent use.
type Parser struct{}

// New returns an HTML parser.
func New() *Parser { return &Parser{} }

// MediaTypes reports the media types the parser reads.
func (*Parser) MediaTypes() []string { return []string{"text/html", "application/xhtml+xml"} }

// Version reports the parser version.
func (*Parser) Version() string { return Version }

// weakCharsets are charset parameters content sniffers emit as guesses.
var weakCharsets = map[string]bool{
	"iso-8859-1": true, "latin1": true, "windows-1252": true, "us-ascii": true, "utf-8": true, "utf8": true,
}

// Parse extracts the text of an HTML document.
func (*Parser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	if in.R == nil {
		return nil, fmt.Errorf("html: %w: no input", extract.ErrMalformed)
	}
	maxChars := in.Limits.MaxChars
	if maxChars <= 0 {
		maxChars = extract.DefaultLimits().MaxChars
	}
	rd, cs, err := open(ctx, in)
	if err != nil {
		return nil, err
	}
	w := newWalker(ctx, maxChars)
	if err := w.run(rd); err != nil {
		return nil, err
	}
	text, hs := w.content()
	doc := &extract.Document{
		// NFC on the output, not the input: cheaper past a large script.
		Text:     norm.NFC.String(text),
		Headings: headings(text, hs),
		Metadata: extract.Metadata{
			Title:    norm.NFC.String(cmpOr(w.title, w.h1)),
			Author:   norm.NFC.String(w.author),
			Language: w.lang,
			Charset:  cs,
		},
	}
	if w.full && utf8.RuneCountInString(doc.Text) <= maxChars {
		doc.Warnings = append(doc.Warnings, extract.Warning{Code: extract.WarnTruncated,
			Message: fmt.Sprintf("the text was cut at %d characters", maxChars)})
	}
	return doc, nil
}

// headings turns the byte spans hs of text into headings with code point
// offsets into the NFC form of text. A heading starts after a line break
// or at the start, where NFC of the parts equals NFC of the whole, so the
// text before each heading is normalised piece by piece.
func headings(text string, hs []hspan) []extract.Heading {
	out := make([]extract.Heading, 0, len(hs))
	pos, runes := 0, 0
	for _, h := range hs {
		if h.b < pos {
			continue
		}
		runes += nfcLen(text[pos:h.b])
		pos = h.b
		out = append(out, extract.Heading{Level: h.level, Text: norm.NFC.String(text[h.b:h.e]), Page: 1, Start: runes})
	}
	return out
}

// nfcLen returns the length of NFC(s) in code points.
func nfcLen(s string) int {
	if norm.NFC.IsNormalString(s) {
		return utf8.RuneCountInString(s)
	}
	return utf8.RuneCountInString(norm.NFC.String(s))
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// open finds the character encoding and returns a UTF-8 stream of the
// document.
func open(ctx context.Context, in extract.Input) (io.Reader, string, error) {
	head := make([]byte, min(in.Size, 1024))
	if n, err := in.R.ReadAt(head, 0); n < len(head) {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, "", fmt.Errorf("html: %w: input shorter than its size", extract.ErrMalformed)
		}
		return nil, "", fmt.Errorf("html: read: %w", err)
	}
	hint := strings.ToLower(extract.MediaTypeParam(in.MediaType, "charset"))
	if txt.SniffCharset(head) == "" && !bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")) && (hint == "" || weakCharsets[hint]) {
		// No byte-order mark, no declaration: look for <meta charset>.
		if _, name, _ := charset.DetermineEncoding(head, ""); name != "utf-8" && name != "windows-1252" {
			if enc, name := charset.Lookup(name); enc != nil {
				r := extract.ContextReader(ctx, in.Reader())
				return transform.NewReader(r, enc.NewDecoder()), name, nil
			}
		}
	}
	return txt.NewReader(ctx, in.R, in.Size, in.MediaType)
}

var (
	_ extract.Parser    = (*Parser)(nil)
	_ extract.Versioner = (*Parser)(nil)
)
