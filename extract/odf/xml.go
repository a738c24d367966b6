package odf

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/safezip"
)

// maxDepth caps XML element nesting (RELIABILITY.md section 3, "XML").
const maxDepth = 10000

// xmlReader streams the tokens of one package entry. encoding/xml expands
// no DTD entities and fetches nothing: a DOCTYPE is a Directive token that
// is ignored, and a reference to an entity it declares is a syntax error.
type xmlReader struct {
	part  string
	d     *xml.Decoder
	rc    io.Closer
	ctx   context.Context
	depth int
	n     int
}

func openXML(ctx context.Context, zr *safezip.Reader, part string) (*xmlReader, error) {
	rc, err := zr.Open(part)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(rc, 32<<10)
	if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
		_, _ = br.Discard(3)
	}
	d := xml.NewDecoder(br)
	d.Strict = true
	return &xmlReader{part: part, d: d, rc: rc, ctx: ctx}, nil
}

func (x *xmlReader) Close() error { return x.rc.Close() }

// next returns the next token; io.EOF at the end of the entry.
func (x *xmlReader) next() (xml.Token, error) {
	tok, err := x.d.Token()
	if err != nil {
		return nil, x.wrap(err)
	}
	switch tok.(type) {
	case xml.StartElement:
		x.depth++
		if x.depth > maxDepth {
			return nil, fmt.Errorf("odf: %s: %w: elements nested over %d deep", x.part, extract.ErrMalformed, maxDepth)
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

// skip consumes the rest of the element whose start was just read.
func (x *xmlReader) skip() error {
	target := x.depth - 1
	for x.depth > target {
		if _, err := x.next(); err != nil {
			if err == io.EOF {
				return x.wrap(io.ErrUnexpectedEOF)
			}
			return err
		}
	}
	return nil
}

// wrap turns a decoder error into one wrapping a sentinel of extract.
func (x *xmlReader) wrap(err error) error {
	switch {
	case err == io.EOF:
		return io.EOF
	case errors.Is(err, extract.ErrTooLarge), errors.Is(err, extract.ErrMalformed),
		errors.Is(err, extract.ErrEncrypted), errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("odf: %s: %w: %v", x.part, extract.ErrMalformed, err)
}

// attr returns the value of the attribute with the given local name.
func attr(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}
