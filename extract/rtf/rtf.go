package rtf

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/quarryhq/quarry/extract"
	"golang.org/x/text/unicode/norm"
)

// Version is the parser version reported as metadata.parser_version.
const Version = "1"

// MaxDepth is the deepest group nesting the parser accepts; deeper input is
// refused with [extract.ErrMalformed].
const MaxDepth = 10000

// Parser reads RTF. The zero value is ready to use; it holds no state and is
// safe for concurrent use.
type Parser struct{}

// New returns an RTF parser.
func New() *Parser { return &Parser{} }

// MediaTypes reports the media types the parser reads.
func (*Parser) MediaTypes() []string { return []string{"application/rtf", "text/rtf"} }

// Version reports the parser version.
func (*Parser) Version() string { return Version }

// Sniff recognises RTF whose "{\rtf" signature follows a UTF-8 byte-order
// mark or leading white space, which generic sniffers miss.
func (*Parser) Sniff(head []byte) string {
	if _, ok := signature(head); ok {
		return "application/rtf"
	}
	return ""
}

// signature reports whether head starts with "{\rtf", after an optional
// UTF-8 byte-order mark and ASCII white space, and where the "{" is.
func signature(head []byte) (int, bool) {
	i := 0
	if bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")) {
		i = 3
	}
	for i < len(head) && i < 256 && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n') {
		i++
	}
	return i, bytes.HasPrefix(head[i:], []byte(`{\rtf`))
}

// Parse extracts the text of an RTF document.
func (*Parser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	if in.R == nil {
		return nil, fmt.Errorf("rtf: %w: no input", extract.ErrMalformed)
	}
	head := make([]byte, min(in.Size, 512))
	if n, err := in.R.ReadAt(head, 0); n < len(head) {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("rtf: %w: input shorter than its size", extract.ErrMalformed)
		}
		return nil, fmt.Errorf("rtf: read: %w", err)
	}
	start, ok := signature(head)
	if !ok {
		return nil, fmt.Errorf("rtf: %w: no {\\rtf signature", extract.ErrMalformed)
	}
	maxChars := in.Limits.MaxChars
	if maxChars <= 0 {
		maxChars = extract.DefaultLimits().MaxChars
	}
	r := extract.ContextReader(ctx, io.NewSectionReader(in.R, int64(start), in.Size-int64(start)))
	p := newParser(bufio.NewReaderSize(r, 32<<10), maxChars, in.HeadersFooters)
	if err := p.run(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	doc := &extract.Document{
		Text: p.text(),
		Metadata: extract.Metadata{
			Title:   clean(p.title.String()),
			Author:  clean(p.author.String()),
			Created: p.date(0),
		},
	}
	if m := p.date(1); m != nil {
		doc.Metadata.Modified = m
	}
	if p.full {
		doc.Warnings = append(doc.Warnings, extract.Warning{Code: extract.WarnTruncated,
			Message: fmt.Sprintf("the text was cut at %d characters", maxChars)})
	}
	if p.unbalanced {
		doc.Warnings = append(doc.Warnings, extract.Warning{Code: extract.WarnTruncated,
			Message: "the document ends inside an unclosed group"})
	}
	return doc, nil
}

// clean normalises a metadata string: valid UTF-8, NFC, white space
// collapsed.
func clean(s string) string {
	return norm.NFC.String(strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " "))
}

// date returns the creation (i 0) or revision (i 1) time read from \info.
func (p *parser) date(i int) *time.Time {
	d := p.dates[i]
	if d[0] < 1 || d[0] > 9999 || d[1] < 1 || d[1] > 12 || d[2] < 1 || d[2] > 31 ||
		d[3] < 0 || d[3] > 23 || d[4] < 0 || d[4] > 59 || d[5] < 0 || d[5] > 59 {
		return nil
	}
	t := time.Date(d[0], time.Month(d[1]), d[2], d[3], d[4], d[5], 0, time.UTC)
	return &t
}

func (p *parser) text() string {
	var b strings.Builder
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(s)
	}
	for _, s := range p.headers {
		add(s)
	}
	add(p.body.String())
	for _, s := range p.footnotes {
		add(s)
	}
	for _, s := range p.footers {
		add(s)
	}
	s := strings.ToValidUTF8(b.String(), "\uFFFD")
	return norm.NFC.String(s)
}

var (
	_ extract.Parser    = (*Parser)(nil)
	_ extract.Sniffer   = (*Parser)(nil)
	_ extract.Versioner = (*Parser)(nil)
)
