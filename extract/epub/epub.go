package epub

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"github.com/quarryhq/quarry/internal/runes"
	"io"
	"io/fs"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/html"
	"github.com/quarryhq/quarry/internal/safezip"
)

// MediaTypeEPUB is the media type of an EPUB publication.
const MediaTypeEPUB = "application/epub+zip"

// version is reported as metadata.parser_version.
const version = "1.0.0"

// maxPartBytes caps the bookkeeping parts (container, package document,
// encryption) whose content is not text.
const maxPartBytes = 16 << 20

// maxCreators caps the authors joined into Metadata.Author.
const maxCreators = 10

// Parser extracts the text of EPUB 2 and EPUB 3 publications. It has no
// state and is safe for concurrent use.
type Parser struct {
	html *html.Parser
}

// New returns an EPUB parser.
func New() *Parser { return &Parser{html: html.New()} }

// MediaTypes lists the EPUB media type.
func (p *Parser) MediaTypes() []string { return []string{MediaTypeEPUB} }

// Version returns the parser version.
func (p *Parser) Version() string { return version }

// Sniff recognises an EPUB the generic sniffer misses: a ZIP whose first
// entry is the "mimetype" file naming application/epub+zip (with an extra
// field, or stored with a data descriptor, which the generic sniffer does
// not allow), or whose local file headers within head name
// META-INF/container.xml.
func (p *Parser) Sniff(head []byte) string {
	if !bytes.HasPrefix(head, []byte("PK\x03\x04")) || len(head) < 30 {
		return ""
	}
	nameLen := int(binary.LittleEndian.Uint16(head[26:]))
	extraLen := int(binary.LittleEndian.Uint16(head[28:]))
	if start := 30 + nameLen + extraLen; nameLen == len("mimetype") && start <= len(head) && string(head[30:30+nameLen]) == "mimetype" {
		data := head[start:min(len(head), start+64)]
		if binary.LittleEndian.Uint16(head[8:]) == 0 && bytes.HasPrefix(bytes.TrimSpace(data), []byte(MediaTypeEPUB)) {
			return MediaTypeEPUB
		}
		return "" // another package type (OpenDocument...)
	}
	for i := 0; i+30 <= len(head); {
		j := bytes.Index(head[i:], []byte("PK\x03\x04"))
		if j < 0 || i+j+30 > len(head) {
			break
		}
		i += j
		n := int(binary.LittleEndian.Uint16(head[i+26:]))
		if string(head[i+30:min(i+30+n, len(head))]) == "META-INF/container.xml" {
			return MediaTypeEPUB
		}
		i += 4
	}
	return ""
}

// item is one entry of the package document's manifest.
type item struct {
	href, mediaType string
}

// opf is what the parser needs of the package document.
type opf struct {
	title, language, date, modified string
	creators                        []string
	manifest                        map[string]item
	spine                           []string // idrefs, in reading order
}

// skipped counts the spine items left out, by reason.
type skipped struct {
	unlisted, outside, remote, missing, failed, encrypted int
}

// Parse extracts the text of a publication: one page per content document
// of the spine, in reading order.
func (p *Parser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	if in.R == nil || in.Size <= 0 {
		return nil, fmt.Errorf("epub: %w: the document is empty", extract.ErrMalformed)
	}
	zr, err := safezip.Open(in.R, in.Size, in.Limits)
	if err != nil {
		return nil, fmt.Errorf("epub: %w", err)
	}
	lim := in.Limits.WithDefaults()
	if err := checkMimetype(zr); err != nil {
		return nil, err
	}
	root, err := rootfile(ctx, zr)
	if err != nil {
		return nil, fmt.Errorf("epub: %w", err)
	}
	if root == "" {
		return nil, fmt.Errorf("epub: %w: no package document (META-INF/container.xml names none and there is no .opf file)", extract.ErrMalformed)
	}
	pkg, err := readOPF(ctx, zr, root)
	if err != nil {
		return nil, fmt.Errorf("epub: %w", err)
	}
	encrypted, err := readEncryption(ctx, zr)
	if err != nil {
		return nil, fmt.Errorf("epub: %w", err)
	}

	doc := &extract.Document{}
	var skip skipped
	budget := lim.MaxChars
	full := false
	base := path.Dir(root)
	seen := map[string]bool{}
	spineDocs := 0
	for i, idref := range pkg.spine {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		it, ok := pkg.manifest[idref]
		if !ok {
			skip.unlisted++
			continue
		}
		if !isContent(it.mediaType) {
			continue // images and other non-text spine items
		}
		name, why := resolve(base, it.href)
		switch {
		case why == "remote":
			skip.remote++
			continue
		case why == "outside":
			skip.outside++
			continue
		case seen[name]:
			continue // a document listed twice is read once
		case name == root || strings.HasPrefix(name, "META-INF/"):
			continue // the package's own files are no content
		}
		seen[name] = true
		f := zr.Lookup(name)
		if f == nil {
			skip.missing++
			continue
		}
		spineDocs++
		if encrypted[f.Name] {
			skip.encrypted++
			continue
		}
		if len(doc.Pages) == lim.MaxPages {
			doc.Warnings = append(doc.Warnings, extract.Warning{Code: extract.WarnTruncated,
				Message: "only the first " + strconv.Itoa(lim.MaxPages) + " of the " + strconv.Itoa(len(pkg.spine)) + " spine items were read"})
			break
		}
		if len(doc.Pages) > 0 {
			if budget -= 2; budget <= 0 { // the page separator
				full = true
				break
			}
		}
		chapter, err := p.chapter(ctx, zr, f, budget, lim)
		if err != nil {
			if isFatal(err) {
				return nil, err
			}
			skip.failed++
			continue
		}
		lead := utf8.RuneCountInString(chapter.Text) - utf8.RuneCountInString(strings.TrimLeftFunc(chapter.Text, unicode.IsSpace))
		text := strings.TrimSpace(chapter.Text)
		if text == "" {
			if len(doc.Pages) > 0 {
				budget += 2
			}
			continue // a cover or an image page
		}
		if n := utf8.RuneCountInString(text); n > budget {
			text, full = runes.Cut(text, budget), true
		}
		number := len(doc.Pages) + 1
		doc.Pages = append(doc.Pages, extract.Page{Number: number, Text: text})
		n := utf8.RuneCountInString(text)
		for _, h := range chapter.Headings {
			// Offsets into the chapter's text, now into the page's.
			if h.Page, h.Start = number, h.Start-lead; h.Start >= 0 && h.Start < n {
				doc.Headings = append(doc.Headings, h)
			}
		}
		if doc.Metadata.Title == "" && pkg.title == "" {
			doc.Metadata.Title = chapter.Metadata.Title
		}
		budget -= n
		if full || budget <= 0 {
			full = full || i+1 < len(pkg.spine)
			break
		}
	}
	if spineDocs > 0 && skip.encrypted == spineDocs {
		return nil, fmt.Errorf("epub: %w: the content documents are encrypted (DRM)", extract.ErrEncrypted)
	}
	if len(doc.Pages) == 0 && skip.failed > 0 {
		return nil, fmt.Errorf("epub: %w: none of the %d content documents could be read", extract.ErrMalformed, skip.failed)
	}
	if full {
		doc.Warnings = append(doc.Warnings, extract.Warning{Code: extract.WarnTruncated,
			Message: "the text was cut at " + strconv.Itoa(lim.MaxChars) + " characters"})
	}
	doc.Warnings = append(doc.Warnings, skip.warnings()...)
	if n := len(zr.Skipped()); n > 0 {
		doc.Warnings = append(doc.Warnings, extract.Warning{
			Code:    extract.WarnEmbeddedSkipped,
			Message: strconv.Itoa(n) + " archive entries with unsafe names or symlinks were ignored",
		})
	}
	md := &doc.Metadata
	if pkg.title != "" {
		md.Title = pkg.title
	}
	md.Language = pkg.language
	if len(pkg.creators) > 0 {
		md.Author = strings.Join(pkg.creators[:min(len(pkg.creators), maxCreators)], ", ")
	}
	md.Created = parseDate(pkg.date)
	md.Modified = parseDate(pkg.modified)
	return doc, nil
}

// warnings reports the spine items left out, one warning per reason.
func (s skipped) warnings() []extract.Warning {
	var out []extract.Warning
	for _, w := range []struct {
		n    int
		what string
	}{
		{s.unlisted, "refer to no manifest item"},
		{s.outside, "point outside the publication"},
		{s.remote, "are remote resources, never fetched"},
		{s.missing, "are missing from the archive"},
		{s.failed, "could not be read"},
		{s.encrypted, "are encrypted"},
	} {
		if w.n > 0 {
			out = append(out, extract.Warning{Code: extract.WarnPageFailed, Message: strconv.Itoa(w.n) + " spine items " + w.what})
		}
	}
	return out
}

// chapter extracts one content document with the HTML parser.
func (p *Parser) chapter(ctx context.Context, zr *safezip.Reader, f *safezip.File, budget int, lim extract.Limits) (*extract.Document, error) {
	data, err := zr.ReadFile(f.Name, 0)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return &extract.Document{}, nil
	}
	sub := lim
	sub.MaxChars = budget
	return p.html.Parse(ctx, extract.Input{
		R: bytes.NewReader(data), Size: int64(len(data)), MediaType: "application/xhtml+xml",
		Filename: path.Base(f.Name), Limits: sub,
	})
}

// isContent reports whether a manifest media type is a content document
// the HTML parser reads.
func isContent(mediaType string) bool {
	switch strings.ToLower(strings.TrimSpace(extract.BaseType(mediaType))) {
	case "application/xhtml+xml", "text/html", "text/x-oeb1-document":
		return true
	}
	return false
}

// resolve turns a manifest href, relative to the package document's
// directory base, into an archive name. why is "remote" for a URL with a
// scheme and "outside" for a path that climbs out of the archive.
func resolve(base, href string) (name, why string) {
	href, _, _ = strings.Cut(href, "#")
	if u, err := url.Parse(href); err == nil && (u.Scheme != "" || u.Host != "") {
		return "", "remote"
	}
	if p, err := url.PathUnescape(href); err == nil {
		href = p
	}
	if strings.HasPrefix(href, "/") {
		name = path.Clean(strings.TrimLeft(href, "/"))
	} else {
		name = path.Join(base, href)
	}
	if name == ".." || strings.HasPrefix(name, "../") || name == "." || name == "" {
		return "", "outside"
	}
	return name, ""
}

// checkMimetype refuses a package whose mimetype entry names another type
// (an OpenDocument file...). A missing entry is tolerated.
func checkMimetype(zr *safezip.Reader) error {
	if zr.Lookup("mimetype") == nil {
		return nil
	}
	b, err := zr.ReadFile("mimetype", 256)
	if err != nil {
		return fmt.Errorf("epub: %w", err)
	}
	if t := strings.TrimSpace(string(b)); t != MediaTypeEPUB && t != "" {
		return fmt.Errorf("epub: %w: the package is of type %q", extract.ErrUnsupportedFormat, runes.Cut(strings.ToValidUTF8(t, "?"), 100))
	}
	return nil
}

// rootfile returns the package document named by META-INF/container.xml,
// else the first .opf file of the archive, else "".
func rootfile(ctx context.Context, zr *safezip.Reader) (string, error) {
	if f := zr.Lookup("META-INF/container.xml"); f != nil && f.Size <= maxPartBytes {
		x, err := zr.OpenXML(ctx, f.Name)
		if err != nil {
			return "", err
		}
		defer x.Close()
		var first string
		for {
			tok, err := x.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if isFatal(err) {
					return "", err
				}
				break // a broken container: look for the .opf
			}
			se, ok := tok.(xml.StartElement)
			if !ok || se.Name.Local != "rootfile" {
				continue
			}
			name := strings.TrimPrefix(path.Clean("/"+safezip.Attr(se, "full-path")), "/")
			if name == "" || zr.Lookup(name) == nil {
				continue
			}
			mt := safezip.Attr(se, "media-type")
			if mt == "application/oebps-package+xml" {
				return name, nil
			}
			if first == "" && strings.HasSuffix(strings.ToLower(name), ".opf") {
				first = name
			}
		}
		if first != "" {
			return first, nil
		}
	}
	for _, f := range zr.Files() {
		if strings.HasSuffix(strings.ToLower(f.Name), ".opf") {
			return f.Name, nil
		}
	}
	return "", nil
}

// readOPF reads the metadata, manifest and spine of the package document.
// A manifest id given twice keeps its first item.
func readOPF(ctx context.Context, zr *safezip.Reader, name string) (*opf, error) {
	f := zr.Lookup(name)
	if f.Size > maxPartBytes {
		return nil, fmt.Errorf("%s: %w: %d bytes", name, extract.ErrTooLarge, f.Size)
	}
	x, err := zr.OpenXML(ctx, f.Name)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	pkg := &opf{manifest: map[string]item{}}
	var text strings.Builder
	field, property := "", ""
	inMetadata := false
	for {
		tok, err := x.Next()
		if err == io.EOF {
			return pkg, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "metadata":
				inMetadata = true
			case "item":
				id := safezip.Attr(t, "id")
				if _, dup := pkg.manifest[id]; !dup && id != "" {
					pkg.manifest[id] = item{href: safezip.Attr(t, "href"), mediaType: safezip.Attr(t, "media-type")}
				}
			case "itemref":
				pkg.spine = append(pkg.spine, safezip.Attr(t, "idref"))
			default:
				if inMetadata {
					field, property = t.Name.Local, safezip.Attr(t, "property")
					text.Reset()
				}
			}
		case xml.CharData:
			if field != "" && text.Len() < 4096 {
				text.Write(t)
			}
		case xml.EndElement:
			if t.Name.Local == "metadata" {
				inMetadata = false
			}
			if field == "" || t.Name.Local != field {
				continue
			}
			v := strings.Join(strings.Fields(text.String()), " ")
			switch field {
			case "title":
				if pkg.title == "" {
					pkg.title = v
				}
			case "creator":
				if v != "" && len(pkg.creators) < maxCreators {
					pkg.creators = append(pkg.creators, v)
				}
			case "language":
				if pkg.language == "" {
					pkg.language = v
				}
			case "date":
				if pkg.date == "" {
					pkg.date = v
				}
			case "meta":
				if property == "dcterms:modified" && pkg.modified == "" {
					pkg.modified = v
				}
			}
			field = ""
		}
	}
}

// fontObfuscation are the encryption algorithms of font obfuscation, which
// leaves content documents readable.
var fontObfuscation = []string{"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"}

// readEncryption returns the archive names that META-INF/encryption.xml
// lists as encrypted, font obfuscation aside.
func readEncryption(ctx context.Context, zr *safezip.Reader) (map[string]bool, error) {
	f := zr.Lookup("META-INF/encryption.xml")
	if f == nil || f.Size > maxPartBytes {
		return nil, nil
	}
	x, err := zr.OpenXML(ctx, f.Name)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	out := map[string]bool{}
	algorithm := ""
	for {
		tok, err := x.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			if isFatal(err) {
				return nil, err
			}
			return out, nil // a broken list: read what it listed
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "EncryptedData":
			algorithm = ""
		case "EncryptionMethod":
			algorithm = safezip.Attr(se, "Algorithm")
		case "CipherReference":
			if slices.Contains(fontObfuscation, algorithm) {
				continue
			}
			if name, why := resolve(".", safezip.Attr(se, "URI")); why == "" {
				if f := zr.Lookup(name); f != nil {
					out[f.Name] = true
				}
			}
		}
	}
}

// isFatal reports whether err must stop the extraction even when it comes
// from one content document: limits, encryption and cancellation.
func isFatal(err error) bool {
	return err != nil && !errors.Is(err, extract.ErrMalformed) && !errors.Is(err, fs.ErrNotExist)
}

// parseDate reads the dates of EPUB metadata: W3CDTF, from a year alone
// to a full time stamp.
func parseDate(s string) *time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04Z07:00", "2006-01-02", "2006-01", "2006"} {
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
