package odf

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/quarryhq/quarry/internal/runes"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/safezip"
)

// Media types read by the parser.
const (
	MediaTypeODT = "application/vnd.oasis.opendocument.text"
	MediaTypeOTT = "application/vnd.oasis.opendocument.text-template"
	MediaTypeODS = "application/vnd.oasis.opendocument.spreadsheet"
	MediaTypeOTS = "application/vnd.oasis.opendocument.spreadsheet-template"
	MediaTypeODP = "application/vnd.oasis.opendocument.presentation"
	MediaTypeOTP = "application/vnd.oasis.opendocument.presentation-template"
)

var mediaTypes = []string{MediaTypeODT, MediaTypeODS, MediaTypeODP, MediaTypeOTT, MediaTypeOTS, MediaTypeOTP}

// version is reported as metadata.parser_version.
const version = "1.0.0"

// maxPartBytes caps the bookkeeping entries (mimetype, manifest, meta).
const maxPartBytes = 16 << 20

// Parser extracts the text of OpenDocument text, spreadsheet and
// presentation packages. It has no state and is safe for concurrent use.
type Parser struct{}

// New returns an OpenDocument parser.
func New() *Parser { return &Parser{} }

// MediaTypes lists the OpenDocument text, spreadsheet and presentation
// types and their templates.
func (p *Parser) MediaTypes() []string { return slices.Clone(mediaTypes) }

// Version returns the parser version.
func (p *Parser) Version() string { return version }

// Sniff recognises an OpenDocument package by its first entry: a stored
// (uncompressed) "mimetype" whose content is the media type. It returns
// that type when the parser reads it, "" otherwise.
func (p *Parser) Sniff(head []byte) string {
	const lh = 30
	if len(head) < lh+8 || !bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		return ""
	}
	method := binary.LittleEndian.Uint16(head[8:])
	csize := int(binary.LittleEndian.Uint32(head[18:]))
	nameLen := int(binary.LittleEndian.Uint16(head[26:]))
	extraLen := int(binary.LittleEndian.Uint16(head[28:]))
	if method != 0 || nameLen != len("mimetype") || string(head[lh:lh+nameLen]) != "mimetype" {
		return ""
	}
	start := lh + nameLen + extraLen
	if start > len(head) {
		return ""
	}
	data := head[start:min(len(head), start+128)]
	if flags := binary.LittleEndian.Uint16(head[6:]); csize == 0 && flags&8 != 0 {
		// Sizes in a trailing data descriptor: the type runs to the
		// descriptor or the next local header.
		if i := bytes.Index(data, []byte("PK")); i >= 0 {
			data = data[:i]
		}
	} else if csize > len(data) {
		return ""
	} else {
		data = data[:csize]
	}
	t := strings.TrimSpace(string(data))
	if slices.Contains(mediaTypes, t) {
		return t
	}
	return ""
}

// Parse extracts the text of an OpenDocument package: the body of
// content.xml in order, with notes after it. Spreadsheets give one page per
// sheet and presentations one page per slide.
func (p *Parser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	if in.R == nil || in.Size <= 0 {
		return nil, fmt.Errorf("odf: %w: the document is empty", extract.ErrMalformed)
	}
	zr, err := safezip.Open(in.R, in.Size, in.Limits)
	if err != nil {
		return nil, fmt.Errorf("odf: %w", err)
	}
	if err := checkMimetype(zr); err != nil {
		return nil, err
	}
	if zr.Lookup("content.xml") == nil {
		return nil, fmt.Errorf("odf: %w: the package has no content.xml", extract.ErrMalformed)
	}
	if err := checkManifest(ctx, zr); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	maxChars := in.Limits.MaxChars
	if maxChars <= 0 {
		maxChars = extract.DefaultLimits().MaxChars
	}
	w := newWalker(maxChars)
	if err := w.walk(ctx, zr, "content.xml"); err != nil {
		return nil, fmt.Errorf("odf: %w", err)
	}

	doc := &extract.Document{}
	rest := joinBlocks(w.sinks[0]) // the body, or text outside any page
	if w.paged {
		pages := w.pages
		if rest != "" {
			pages = append(pages, rest)
		}
		if len(pages) == 0 {
			pages = []string{""}
		}
		if notes := strings.Join(w.notes, "\n"); notes != "" {
			pages[len(pages)-1] = joinBlocks([]string{pages[len(pages)-1], notes})
		}
		budget := maxChars
		for i, t := range pages {
			t = runes.Cut(t, budget)
			budget -= utf8.RuneCountInString(t)
			doc.Pages = append(doc.Pages, extract.Page{Number: i + 1, Text: t})
			if budget <= 0 && i+1 < len(pages) {
				w.full = true
				break
			}
		}
		texts := make([]string, len(doc.Pages))
		for i, pg := range doc.Pages {
			texts[i] = pg.Text
		}
		doc.Text = strings.Join(texts, "\n\n")
	} else {
		doc.Text = joinBlocks(append([]string{rest}, w.notes...))
	}
	if utf8.RuneCountInString(doc.Text) > maxChars {
		w.full = true
		doc.Text = runes.Cut(doc.Text, maxChars)
	}
	if !w.paged {
		doc.Headings = w.placeHeadings(doc.Text)
	}
	if w.full {
		doc.Warnings = append(doc.Warnings, extract.Warning{
			Code:    extract.WarnTruncated,
			Message: "the text was cut at " + strconv.Itoa(maxChars) + " characters",
		})
	}
	if err := readMeta(ctx, zr, &doc.Metadata); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		// Metadata is a bonus: a broken meta.xml does not lose the text.
	}
	if n := len(zr.Skipped()); n > 0 {
		doc.Warnings = append(doc.Warnings, extract.Warning{
			Code:    extract.WarnEmbeddedSkipped,
			Message: strconv.Itoa(n) + " archive entries with unsafe names or symlinks were ignored",
		})
	}
	return doc, nil
}

// checkMimetype refuses a package whose mimetype entry names a type the
// parser does not read (an ODF drawing, an EPUB...). A missing entry is
// tolerated: some writers leave it out.
func checkMimetype(zr *safezip.Reader) error {
	if zr.Lookup("mimetype") == nil {
		return nil
	}
	b, err := zr.ReadFile("mimetype", 256)
	if err != nil {
		return fmt.Errorf("odf: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if !slices.Contains(mediaTypes, t) {
		return fmt.Errorf("odf: %w: the package is of type %q", extract.ErrUnsupportedFormat, runes.Cut(strings.ToValidUTF8(t, "?"), 100))
	}
	return nil
}

// checkManifest gives [extract.ErrEncrypted] when the manifest lists
// encryption data for content.xml (a password-protected document).
func checkManifest(ctx context.Context, zr *safezip.Reader) error {
	f := zr.Lookup("META-INF/manifest.xml")
	if f == nil {
		return nil
	}
	if f.Size > maxPartBytes {
		return fmt.Errorf("odf: %w: META-INF/manifest.xml declares %d bytes", extract.ErrTooLarge, f.Size)
	}
	x, err := openXML(ctx, zr, f.Name)
	if err != nil {
		return fmt.Errorf("odf: %w", err)
	}
	defer x.Close()
	entry := ""
	for {
		tok, err := x.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("odf: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "file-entry":
				entry = strings.TrimPrefix(attr(t, "full-path"), "/")
			case "encryption-data":
				if entry == "content.xml" {
					return fmt.Errorf("odf: %w: content.xml is encrypted (password-protected document)", extract.ErrEncrypted)
				}
			}
		case xml.EndElement:
			if t.Name.Local == "file-entry" {
				entry = ""
			}
		}
	}
}

// readMeta reads title, author, language and dates from meta.xml.
func readMeta(ctx context.Context, zr *safezip.Reader, md *extract.Metadata) error {
	f := zr.Lookup("meta.xml")
	if f == nil || f.Size > maxPartBytes {
		return nil
	}
	x, err := openXML(ctx, zr, f.Name)
	if err != nil {
		return err
	}
	defer x.Close()
	var creator string
	err = x.Fields(func(name, v string) {
		switch name {
		case "title":
			md.Title = v
		case "initial-creator":
			md.Author = v
		case "creator":
			creator = v
		case "language":
			md.Language = v
		case "creation-date":
			md.Created = parseDate(v)
		case "date":
			md.Modified = parseDate(v)
		}
	})
	if err != nil {
		return err
	}
	if md.Author == "" {
		md.Author = creator
	}
	return nil
}

// parseDate reads an xsd:dateTime, with or without a zone (ODF writers
// often leave it out) and with any fraction of a second.
func parseDate(s string) *time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return &t
		}
	}
	return nil
}

// Interface guards.
var (
	_ extract.Parser    = (*Parser)(nil)
	_ extract.Sniffer   = (*Parser)(nil)
	_ extract.Versioner = (*Parser)(nil)
)
