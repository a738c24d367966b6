package xlsx

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/safezip"
)

// attr returns the value of the attribute with the given local name.
func attr(se xml.StartElement, local string) string { return safezip.Attr(se, local) }

// relAttr returns the value of the relationship-id attribute (r:id, r:dm)
// with the given local name: one in a namespace, as p:sldId also has an
// un-prefixed id of its own.
func relAttr(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Local == local && a.Name.Space != "" {
			return a.Value
		}
	}
	return ""
}

// maxPartBytes caps the bookkeeping parts (relationships, content types,
// workbook, properties) whose content is not text.
const maxPartBytes = 16 << 20

// rel is one relationship of a .rels part, its target resolved to a part
// name.
type rel struct {
	id, typ, target string
}

// relsFor returns the relationships part of part ("" for the package).
func relsFor(part string) string {
	if part == "" {
		return "_rels/.rels"
	}
	dir, file := path.Split(part)
	return dir + "_rels/" + file + ".rels"
}

// readRels reads the relationships of part. A missing rels part is no
// relationships; external targets are left out.
func readRels(ctx context.Context, zr *safezip.Reader, part string) ([]rel, error) {
	f := zr.Lookup(relsFor(part))
	if f == nil {
		return nil, nil
	}
	if f.Size > maxPartBytes {
		return nil, fmt.Errorf("%s: %w: %d bytes of relationships", f.Name, extract.ErrTooLarge, f.Size)
	}
	x, err := zr.OpenXML(ctx, f.Name)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	base := path.Dir("/" + part)
	var out []rel
	for {
		tok, err := x.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Relationship" || strings.EqualFold(attr(se, "TargetMode"), "External") {
			continue
		}
		t := attr(se, "Target")
		if t == "" {
			continue
		}
		if !strings.HasPrefix(t, "/") {
			t = path.Join(base, t)
		}
		// Rooted: ".." cannot climb out of the package.
		out = append(out, rel{id: attr(se, "Id"), typ: attr(se, "Type"), target: strings.TrimPrefix(path.Clean(t), "/")})
	}
}

// relOfType returns the first relationship whose type ends in "/"+suffix
// (transitional and strict OOXML differ only before the last element).
func relOfType(rels []rel, suffix string) (rel, bool) {
	for _, r := range rels {
		if strings.HasSuffix(r.typ, "/"+suffix) {
			return r, true
		}
	}
	return rel{}, false
}

// relByID returns the relationship with the given id.
func relByID(rels []rel, id string) (rel, bool) {
	for _, r := range rels {
		if r.id == id {
			return r, true
		}
	}
	return rel{}, false
}

// mainContentTypes are the content types of a SpreadsheetML main part,
// lower-cased, with the media type of the package each one makes.
var mainContentTypes = []struct{ part, pkg string }{
	{"application/vnd.ms-excel.sheet.macroenabled.main+xml", MediaTypeXLSM},
	{"application/vnd.ms-excel.template.macroenabled.main+xml", MediaTypeXLTM},
	{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", MediaTypeXLSX},
	{"application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml", MediaTypeXLTX},
}

// mainPart finds the workbook part: the package's officeDocument
// relationship, else the [Content_Types].xml override of a main content
// type, else xl/workbook.xml. It returns "" when there is none.
func mainPart(ctx context.Context, zr *safezip.Reader, pkgRels []rel) (string, error) {
	if r, ok := relOfType(pkgRels, "officeDocument"); ok && zr.Lookup(r.target) != nil {
		return r.target, nil
	}
	if f := zr.Lookup("[Content_Types].xml"); f != nil && f.Size <= maxPartBytes {
		x, err := zr.OpenXML(ctx, f.Name)
		if err != nil {
			return "", err
		}
		defer x.Close()
		for {
			tok, err := x.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if isFatal(err) {
					return "", err
				}
				break
			}
			se, ok := tok.(xml.StartElement)
			if !ok || se.Name.Local != "Override" {
				continue
			}
			ct := strings.ToLower(attr(se, "ContentType"))
			for _, m := range mainContentTypes {
				if ct == m.part {
					if name := strings.TrimPrefix(attr(se, "PartName"), "/"); zr.Lookup(name) != nil {
						return name, nil
					}
				}
			}
		}
	}
	if zr.Lookup("xl/workbook.xml") != nil {
		return "xl/workbook.xml", nil
	}
	return "", nil
}

// isFatal reports whether err must stop the extraction even when it comes
// from an optional part: limits, encryption and cancellation. A malformed
// optional part (properties, a layout) only loses what it would add.
func isFatal(err error) bool {
	return err != nil && !errors.Is(err, extract.ErrMalformed) && !errors.Is(err, fs.ErrNotExist)
}

// readCore reads title, author, language and dates from the core
// properties part.
func readCore(ctx context.Context, zr *safezip.Reader, pkgRels []rel, md *extract.Metadata) error {
	name := "docProps/core.xml"
	if r, ok := relOfType(pkgRels, "core-properties"); ok {
		name = r.target
	}
	f := zr.Lookup(name)
	if f == nil || f.Size > maxPartBytes {
		return nil
	}
	x, err := zr.OpenXML(ctx, f.Name)
	if err != nil {
		return err
	}
	defer x.Close()
	var field string
	var text strings.Builder
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
			field = t.Name.Local
			text.Reset()
		case xml.CharData:
			if field != "" && text.Len() < 4096 {
				text.Write(t)
			}
		case xml.EndElement:
			v := strings.TrimSpace(text.String())
			switch t.Name.Local {
			case "title":
				md.Title = v
			case "creator":
				md.Author = v
			case "language":
				md.Language = v
			case "created":
				md.Created = parseW3CDTF(v)
			case "modified":
				md.Modified = parseW3CDTF(v)
			}
			field = ""
		}
	}
}

func parseW3CDTF(s string) *time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return &t
		}
	}
	return nil
}

// cfbMagic starts an OLE compound file: the container of an encrypted OOXML
// package, and of a legacy binary .xls.
var cfbMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// encryptedPackage is the UTF-16LE name of the stream of an encrypted
// OOXML package inside its compound file.
var encryptedPackage = []byte("E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k\x00a\x00g\x00e\x00")

// checkCFB refuses an OLE compound file: with an "EncryptedPackage" stream
// in its first 64 KiB it is a password-protected package
// ([extract.ErrEncrypted]); otherwise a legacy .xls, which this parser does
// not read ([extract.ErrMalformed]).
func checkCFB(in extract.Input) error {
	head := make([]byte, 8)
	if _, err := in.R.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("xlsx: read: %w", err)
	}
	if !bytes.Equal(head, cfbMagic) {
		return nil
	}
	buf := make([]byte, min(in.Size, 64<<10))
	n, _ := in.R.ReadAt(buf, 0)
	if bytes.Contains(buf[:n], encryptedPackage) {
		return fmt.Errorf("xlsx: %w: the package is encrypted (password-protected OOXML)", extract.ErrEncrypted)
	}
	return fmt.Errorf("xlsx: %w: an OLE compound file (legacy .xls), not an OOXML package", extract.ErrMalformed)
}

// Sniff recognises SpreadsheetML packages the generic sniffer misses: a
// ZIP whose local file headers within head name an "xl/" part (when the
// first entry is not one the generic sniffer expects), or whose
// [Content_Types].xml names a workbook main part, which also tells a
// macro-enabled workbook or a template apart.
func (p *Parser) Sniff(head []byte) string {
	if !bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		return ""
	}
	found := ""
	triedTypes := false
	for i := 0; i+30 <= len(head); {
		j := bytes.Index(head[i:], []byte("PK\x03\x04"))
		if j < 0 || i+j+30 > len(head) {
			break
		}
		i += j
		n := int(binary.LittleEndian.Uint16(head[i+26:]))
		name := head[i+30 : min(i+30+n, len(head))]
		if bytes.HasPrefix(name, []byte("xl/")) && found == "" {
			found = MediaTypeXLSX
		}
		if string(name) == "[Content_Types].xml" && !triedTypes {
			triedTypes = true // once: inflating is the costly part
			if t := sniffContentTypes(head[i:]); t != "" {
				return t
			}
		}
		i += 4
	}
	return found
}

// sniffContentTypes reads the [Content_Types].xml entry whose local header
// starts lh (as far as its data lie within lh) and returns the package type
// its main-part override names. It inflates at most 64 KiB.
func sniffContentTypes(lh []byte) string {
	flags := binary.LittleEndian.Uint16(lh[6:])
	method := binary.LittleEndian.Uint16(lh[8:])
	csize := int(binary.LittleEndian.Uint32(lh[18:]))
	start := 30 + int(binary.LittleEndian.Uint16(lh[26:])) + int(binary.LittleEndian.Uint16(lh[28:]))
	if start > len(lh) || flags&1 != 0 {
		return ""
	}
	data := lh[start:]
	if flags&8 == 0 && csize < len(data) {
		data = data[:csize]
	}
	var r io.Reader
	switch method {
	case 0:
		r = bytes.NewReader(data)
	case 8:
		fr := flate.NewReader(bytes.NewReader(data))
		defer fr.Close()
		r = fr
	default:
		return ""
	}
	types, _ := io.ReadAll(io.LimitReader(r, 64<<10)) // a truncated stream still yields its start
	types = bytes.ToLower(types)
	for _, m := range mainContentTypes {
		if bytes.Contains(types, []byte(m.part)) {
			return m.pkg
		}
	}
	return ""
}
