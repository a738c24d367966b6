package docx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/quarryhq/quarry/internal/ooxml"
	"github.com/quarryhq/quarry/internal/runes"
	"io"
	"strconv"
	"strings"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/safezip"
)

// Media types read by the parser.
const (
	MediaTypeDOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	MediaTypeDOTX = "application/vnd.openxmlformats-officedocument.wordprocessingml.template"
	MediaTypeDOCM = "application/vnd.ms-word.document.macroenabled.12"
	MediaTypeDOTM = "application/vnd.ms-word.template.macroenabled.12"
)

// version is reported as metadata.parser_version.
const version = "1.0.0"

// Options tune the parser. The zero value is the default of [New].
type Options struct {
	// HeadersFooters adds the text of page headers (before the body) and
	// page footers (after the notes), each distinct text once, to every
	// document; a caller can also ask per document with
	// extract.Input.HeadersFooters. They are left out by default: they are
	// page furniture (running titles, page numbers, disclaimers) that
	// repeats on every page, and Pandoc, Docling and MarkItDown leave them
	// out too.
	HeadersFooters bool
}

// Parser extracts the text of WordprocessingML documents (DOCX, DOCM, DOTX,
// DOTM). Its zero value is not usable; call [New].
type Parser struct {
	opts Options
}

// New returns a DOCX parser with the default options.
func New() *Parser { return &Parser{} }

// NewWithOptions returns a DOCX parser with opts.
func NewWithOptions(opts Options) *Parser { return &Parser{opts: opts} }

// MediaTypes lists the WordprocessingML package types.
func (p *Parser) MediaTypes() []string {
	return []string{MediaTypeDOCX, MediaTypeDOCM, MediaTypeDOTX, MediaTypeDOTM}
}

// Version returns the parser version.
func (p *Parser) Version() string { return version }

// cfbMagic starts an OLE compound file, the container of encrypted OOXML.
var cfbMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// encryptedPackage is the UTF-16LE name of the stream of an encrypted
// OOXML package inside its compound file.
var encryptedPackage = utf16le("EncryptedPackage")

func utf16le(s string) []byte {
	b := make([]byte, 0, 2*len(s))
	for _, c := range s {
		b = append(b, byte(c), 0)
	}
	return b
}

// Sniff recognises WordprocessingML packages the generic sniffer misses: a
// ZIP whose local file headers within head name a "word/" part, and an
// encrypted OOXML package (a compound file holding "EncryptedPackage"),
// which Parse then refuses with [extract.ErrEncrypted].
func (p *Parser) Sniff(head []byte) string {
	if bytes.HasPrefix(head, cfbMagic) {
		if bytes.Contains(head, encryptedPackage) {
			return MediaTypeDOCX
		}
		return ""
	}
	return ooxml.Sniff(head, "word/", MediaTypeDOCX, mainContentTypes)
}

// maxPartBytes caps the small bookkeeping parts (relationships, content
// types, styles, numbering, properties) whose content is not text.
const maxPartBytes = 16 << 20

// Parse extracts the text of a WordprocessingML document: the body in
// order (paragraphs, lists, tables, text boxes, content controls, equations,
// tracked changes accepted), then footnotes and endnotes.
func (p *Parser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	if in.R == nil || in.Size <= 0 {
		return nil, fmt.Errorf("docx: %w: the document is empty", extract.ErrMalformed)
	}
	if err := checkCFB(in); err != nil {
		return nil, err
	}
	zr, err := safezip.Open(in.R, in.Size, in.Limits)
	if err != nil {
		return nil, fmt.Errorf("docx: %w", err)
	}
	pkgRels, err := readRels(ctx, zr, "")
	if isFatal(err) {
		return nil, err
	}
	main, err := mainPart(ctx, zr, pkgRels)
	if err != nil {
		return nil, err
	}
	if main == "" {
		return nil, fmt.Errorf("docx: %w: the package has no main document part", extract.ErrMalformed)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rels, err := readRels(ctx, zr, main)
	if isFatal(err) {
		return nil, err
	}

	num := newNumbering()
	// Styles matter only for their list properties: without a numbering
	// part there are no lists, and styles.xml (often the largest part of a
	// small document) is not read at all.
	_, hasNumbering := relOfType(rels, "numbering")
	for _, opt := range []struct {
		typ  string
		read func(context.Context, *safezip.Reader, string) error
	}{{"styles", num.readStyles}, {"numbering", num.readNumbering}} {
		if r, ok := relOfType(rels, opt.typ); ok && hasNumbering {
			if f := zr.Lookup(r.Target); f != nil && f.Size <= maxPartBytes {
				if err := opt.read(ctx, zr, r.Target); isFatal(err) {
					return nil, err
				}
			}
		}
	}

	maxChars := in.Limits.MaxChars
	if maxChars <= 0 {
		maxChars = extract.DefaultLimits().MaxChars
	}
	w := &walker{num: num, maxChars: maxChars}
	var blocks []string
	var footers []string
	if p.opts.HeadersFooters || in.HeadersFooters {
		seen := map[string]bool{}
		for _, kind := range []string{"header", "footer"} {
			for _, r := range rels {
				if !strings.HasSuffix(r.Type, "/"+kind) || zr.Lookup(r.Target) == nil {
					continue
				}
				text, err := w.walkFile(ctx, zr, r.Target)
				if err != nil {
					return nil, err
				}
				if t := strings.TrimSpace(text); t != "" && !seen[t] {
					seen[t] = true
					if kind == "header" {
						blocks = append(blocks, t)
					} else {
						footers = append(footers, t)
					}
				}
			}
		}
	}

	w.recordRefs = true
	body, err := w.walkFile(ctx, zr, main)
	if err != nil {
		return nil, err
	}
	w.recordRefs = false
	bodyOff := 0 // where the body starts in the text, after the headers
	if head := joinBlocks(blocks); head != "" && strings.TrimSpace(body) != "" {
		bodyOff = len(head) + len("\n\n")
	}
	blocks = append(blocks, body)

	if len(w.refs) > 0 && !w.full {
		w.notes = map[string]string{}
		for _, kind := range []string{"footnotes", "endnotes"} {
			r, ok := relOfType(rels, kind)
			if !ok || zr.Lookup(r.Target) == nil {
				continue
			}
			if _, err := w.walkFile(ctx, zr, r.Target); err != nil {
				return nil, err
			}
		}
		for i, key := range w.refs {
			if t := strings.TrimSpace(w.notes[key]); t != "" {
				blocks = append(blocks, "["+strconv.Itoa(i+1)+"] "+t)
			}
		}
	}
	blocks = append(blocks, footers...)

	doc := &extract.Document{Text: joinBlocks(blocks)}
	if w.full {
		// Stopped at the output cap: cut exactly there and say so (the
		// Extractor only notices text longer than the cap).
		doc.Text = runes.Cut(doc.Text, maxChars)
		doc.Warnings = append(doc.Warnings, extract.Warning{
			Code:    extract.WarnTruncated,
			Message: "the text was cut at " + strconv.Itoa(maxChars) + " characters",
		})
	}
	if doc.Headings, err = w.headings(ctx, zr, rels, num, doc.Text, bodyOff); err != nil {
		return nil, err
	}
	if err := readCore(ctx, zr, pkgRels, &doc.Metadata); isFatal(err) {
		return nil, err
	}
	if n := len(zr.Skipped()); n > 0 {
		doc.Warnings = append(doc.Warnings, extract.Warning{
			Code:    extract.WarnEmbeddedSkipped,
			Message: strconv.Itoa(n) + " archive entries with unsafe names or symlinks were ignored",
		})
	}
	if n := embeddedObjects(zr); n > 0 {
		// Embedded documents (OLE objects, packages such as a DOCX or an
		// XLSX inside the DOCX) are not extracted: nesting depth 1, as
		// RELIABILITY.md T13 chooses. Saying so beats dropping them
		// silently.
		doc.Warnings = append(doc.Warnings, extract.Warning{
			Code:    extract.WarnEmbeddedSkipped,
			Message: strconv.Itoa(n) + " embedded objects (word/embeddings) were not extracted",
		})
	}
	return doc, nil
}

// embeddedObjects counts the parts under word/embeddings/, where Word
// stores embedded packages and OLE objects.
func embeddedObjects(zr *safezip.Reader) int {
	n := 0
	for _, f := range zr.Files() {
		if strings.HasPrefix(f.Name, "word/embeddings/") && !strings.HasSuffix(f.Name, "/") {
			n++
		}
	}
	return n
}

// walkFile walks one part. A walk cut short by the output cap is no error.
func (w *walker) walkFile(ctx context.Context, zr *safezip.Reader, part string) (string, error) {
	if w.full {
		return "", nil
	}
	x, err := openXML(ctx, zr, part)
	if err != nil {
		return "", fmt.Errorf("docx: %w", err)
	}
	defer x.Close()
	return w.walkPart(x)
}

func joinBlocks(blocks []string) string {
	var b strings.Builder
	for _, s := range blocks {
		if strings.TrimSpace(s) == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(s)
	}
	return b.String()
}

// checkCFB refuses an OLE compound file: an encrypted OOXML package is one
// (with an "EncryptedPackage" stream), and so is a legacy .doc, which this
// parser does not read.
func checkCFB(in extract.Input) error {
	head := make([]byte, 8)
	if _, err := in.R.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("docx: read: %w", err)
	}
	if !bytes.Equal(head, cfbMagic) {
		return nil
	}
	if cfbHasStream(in.R, in.Size, encryptedPackage) {
		return fmt.Errorf("docx: %w: the package is encrypted (password-protected OOXML)", extract.ErrEncrypted)
	}
	return fmt.Errorf("docx: %w: an OLE compound file, not an OOXML package", extract.ErrMalformed)
}

// cfbHasStream looks for a directory entry name in the first directory
// sector of a compound file and, failing that, in the first 64 KiB.
func cfbHasStream(r io.ReaderAt, size int64, name []byte) bool {
	hdr := make([]byte, 512)
	if _, err := r.ReadAt(hdr, 0); err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	shift := binary.LittleEndian.Uint16(hdr[30:])
	if shift == 9 || shift == 12 {
		sectorSize := int64(1) << shift
		dirSector := int64(binary.LittleEndian.Uint32(hdr[48:]))
		if off := (dirSector + 1) * sectorSize; dirSector < 0xFFFFFFFA && off < size {
			sec := make([]byte, sectorSize)
			n, _ := r.ReadAt(sec, off)
			if bytes.Contains(sec[:n], name) {
				return true
			}
		}
	}
	buf := make([]byte, min(size, 64<<10))
	n, _ := r.ReadAt(buf, 0)
	return bytes.Contains(buf[:n], name)
}

// Interface guards.
var (
	_ extract.Parser    = (*Parser)(nil)
	_ extract.Sniffer   = (*Parser)(nil)
	_ extract.Versioner = (*Parser)(nil)
)
