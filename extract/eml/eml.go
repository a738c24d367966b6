package eml

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"net/textproto"
	"strings"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/txt"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Version is the parser version reported as metadata.parser_version.
const Version = "1"

// Caps on the MIME structure of one message.
const (
	// MaxDepth is the deepest nesting of multiparts and attached messages
	// that is read; deeper parts are skipped with a warning.
	MaxDepth = 16
	// MaxParts is the most MIME parts a message may have; more is refused
	// with [extract.ErrTooLarge].
	MaxParts = 1000
)

// Parser reads Internet mail messages (.eml). The zero value is ready to
// use; it holds no state and is safe for concurrent use.
type Parser struct{}

// New returns a mail message parser.
func New() *Parser { return &Parser{} }

// MediaTypes reports the media types the parser reads.
func (*Parser) MediaTypes() []string { return []string{"message/rfc822"} }

// Version reports the parser version.
func (*Parser) Version() string { return Version }

// Parse extracts the header block, the body text and the list of
// attachments of a message.
func (*Parser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	if in.R == nil {
		return nil, fmt.Errorf("eml: %w: no input", extract.ErrMalformed)
	}
	lim := in.Limits.WithDefaults()
	br := bufio.NewReaderSize(extract.ContextReader(ctx, in.Reader()), 32<<10)
	skipMboxLine(br)
	h, err := readHeader(br)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, fmt.Errorf("eml: %w: %v", extract.ErrMalformed, err)
	}
	w := &walker{ctx: ctx, maxChars: lim.MaxChars, budget: lim.MaxUnpackedBytes, dec: newWordDecoder()}
	text, err := w.message(h, br, 0)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	doc := &extract.Document{
		Text: text,
		Metadata: extract.Metadata{
			Title:   w.decodeHeader(mail.Header(h).Get("Subject")),
			Author:  w.addresses(h.Values("From")),
			Charset: w.charset,
		},
		Warnings: w.warnings,
	}
	if d, err := mail.ParseDate(h.Get("Date")); err == nil {
		d = d.UTC()
		doc.Metadata.Created = &d
	}
	if w.full {
		doc.Warnings = append(doc.Warnings, extract.Warning{Code: extract.WarnTruncated,
			Message: fmt.Sprintf("the text was cut at %d characters", lim.MaxChars)})
	}
	return doc, nil
}

// skipMboxLine drops the "From sender date" line that mbox files and some
// .eml exports put before the header.
func skipMboxLine(br *bufio.Reader) {
	if b, _ := br.Peek(5); string(b) != "From " {
		return
	}
	for {
		_, err := br.ReadSlice('\n')
		if !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// readHeader reads a message or part header. A header cut off by the end
// of the input is kept when it has fields.
func readHeader(br *bufio.Reader) (textproto.MIMEHeader, error) {
	h, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil && !(errors.Is(err, io.EOF) && len(h) > 0) {
		return nil, err
	}
	if len(h) == 0 {
		return nil, errors.New("no header fields")
	}
	return h, nil
}

// newWordDecoder returns a decoder of RFC 2047 encoded words that knows the
// charsets of the WHATWG Encoding standard.
func newWordDecoder() *mime.WordDecoder {
	return &mime.WordDecoder{CharsetReader: func(label string, r io.Reader) (io.Reader, error) {
		enc, _ := txt.Lookup(label)
		if enc == nil {
			return nil, fmt.Errorf("unknown charset %q", label)
		}
		return transform.NewReader(r, enc.NewDecoder()), nil
	}}
}

// decodeHeader decodes encoded words in a header value; raw 8-bit bytes
// that are not UTF-8 are read as windows-1252. The result is NFC with white
// space collapsed.
func (w *walker) decodeHeader(v string) string {
	if !utf8.ValidString(v) {
		if b, err := charmap.Windows1252.NewDecoder().String(v); err == nil {
			v = b
		}
	}
	if d, err := w.dec.DecodeHeader(v); err == nil {
		v = d
	}
	return clean(v)
}

func clean(s string) string {
	return norm.NFC.String(strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " "))
}

// addresses formats address header values as "Name <addr>, addr".
func (w *walker) addresses(values []string) string {
	var out []string
	ap := mail.AddressParser{WordDecoder: w.dec}
	for _, v := range values {
		list, err := ap.ParseList(v)
		if err != nil || len(list) == 0 {
			if d := w.decodeHeader(v); d != "" {
				out = append(out, d)
			}
			continue
		}
		for _, a := range list {
			name := clean(a.Name)
			switch {
			case name == "" || name == a.Address:
				out = append(out, clean(a.Address))
			default:
				out = append(out, name+" <"+clean(a.Address)+">")
			}
		}
	}
	return strings.Join(out, ", ")
}

var (
	_ extract.Parser    = (*Parser)(nil)
	_ extract.Sniffer   = (*Parser)(nil)
	_ extract.Versioner = (*Parser)(nil)
)
