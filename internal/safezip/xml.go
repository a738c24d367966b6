package safezip

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/quarryhq/quarry/extract"
)

// MaxXMLDepth caps XML element nesting (RELIABILITY.md section 3, "XML").
const MaxXMLDepth = 10000

// XMLReader streams the tokens of one XML entry of the archive, within the
// archive's limits. encoding/xml expands no DTD entities and fetches
// nothing: a DOCTYPE is a Directive token that is ignored, and a reference
// to an entity it declares is a syntax error. Errors wrap the sentinels of
// package extract.
type XMLReader struct {
	name  string
	d     *xml.Decoder
	rc    io.Closer
	ctx   context.Context
	depth int
	n     int
}

// OpenXML opens the entry name for streaming as XML (a UTF-8 byte-order
// mark is skipped). ctx is checked every 1024 tokens.
func (r *Reader) OpenXML(ctx context.Context, name string) (*XMLReader, error) {
	rc, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(rc, 32<<10)
	if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
		_, _ = br.Discard(3)
	}
	d := xml.NewDecoder(br)
	d.Strict = true
	return &XMLReader{name: name, d: d, rc: rc, ctx: ctx}, nil
}

// Close closes the entry.
func (x *XMLReader) Close() error { return x.rc.Close() }

// Depth is the nesting depth after the last token: 1 inside the root
// element.
func (x *XMLReader) Depth() int { return x.depth }

// Next returns the next token; io.EOF at the end of the entry.
func (x *XMLReader) Next() (xml.Token, error) {
	tok, err := x.d.Token()
	if err != nil {
		return nil, x.wrap(err)
	}
	switch tok.(type) {
	case xml.StartElement:
		x.depth++
		if x.depth > MaxXMLDepth {
			return nil, fmt.Errorf("%s: %w: elements nested over %d deep", x.name, extract.ErrMalformed, MaxXMLDepth)
		}
	case xml.EndElement:
		x.depth--
	}
	x.n++
	if x.n&1023 == 0 {
		if err := x.ctx.Err(); err != nil {
			return nil, err
		}
	}
	return tok, nil
}

// maxFieldBytes is how much of an element's text Fields keeps.
const maxFieldBytes = 4096

// Fields reads the rest of the entry and calls visit with the local name
// and the trimmed text (its first 4 KiB) of each element as it ends:
// the shape of metadata parts such as OOXML's docProps/core.xml and ODF's
// meta.xml, whose fields are flat elements with text.
func (x *XMLReader) Fields(visit func(name, value string)) error {
	var (
		inField bool
		text    strings.Builder
	)
	for {
		tok, err := x.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			inField = true
			text.Reset()
		case xml.CharData:
			if room := maxFieldBytes - text.Len(); inField && room > 0 {
				text.Write(t[:min(len(t), room)])
			}
		case xml.EndElement:
			visit(t.Name.Local, strings.TrimSpace(strings.ToValidUTF8(text.String(), "")))
			inField = false
			text.Reset()
		}
	}
}

// Skip consumes the rest of the element whose start was just read.
func (x *XMLReader) Skip() error {
	target := x.depth - 1
	for x.depth > target {
		if _, err := x.Next(); err != nil {
			if err == io.EOF {
				return x.wrap(io.ErrUnexpectedEOF)
			}
			return err
		}
	}
	return nil
}

// wrap turns a decoder error into one wrapping a sentinel of extract.
func (x *XMLReader) wrap(err error) error {
	switch {
	case err == io.EOF:
		return io.EOF
	case errors.Is(err, extract.ErrTooLarge), errors.Is(err, extract.ErrMalformed),
		errors.Is(err, extract.ErrEncrypted), errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("%s: %w: %v", x.name, extract.ErrMalformed, err)
}

// Attr returns the value of the attribute with the given local name.
func Attr(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}
