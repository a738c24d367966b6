package xlsx

import (
	"archive/zip"
	"bufio"
	"bytes"
	"cmp"
	"compress/flate"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/safezip"
	"golang.org/x/net/html/charset"
)

// Caps of the package handed to excelize. Excelize formats a cell in some
// ten to thirty microseconds, unmarshals the shared strings and styles
// whole and trusts what it reads, so what it sees is bounded here.
const (
	// maxCells caps the non-empty cells of a workbook: some ten seconds
	// of formatting.
	maxCells = 1 << 19
	// maxSharedStrings caps the shared-string table.
	maxSharedStrings = 1 << 21
	// baseWork is the work allowed on top of four times the output cap.
	baseWork = 64 << 20
	// maxStringBytes caps the text of one string; Excel holds 32 767
	// characters in a cell.
	maxStringBytes = 256 << 10
	// maxStylesBytes, maxNumFmts and maxFormatCode bound the styles part:
	// excelize searches the number formats for every cell and parses the
	// cell's format code every time. Excel itself allows some 250 custom
	// formats of at most 255 characters.
	maxStylesBytes = 8 << 20
	maxNumFmts     = 1000
	maxFormatCode  = 1024
	// maxColumn is the last column of a sheet (XFD).
	maxColumn = 16384
)

// errStop ends a scan early, once a cap is reached.
var errStop = errors.New("xlsx: cap reached")

// sheetRef is a sheet kept for extraction.
type sheetRef struct {
	name string // as the workbook names it
	part string // the worksheet part
	page int    // 1-based position among the workbook's sheets
}

// caps bound one rebuild; tests lower them.
type caps struct {
	cells, sharedStrings int
	work                 int64 // on top of 4 x MaxChars
}

var defaultCaps = caps{cells: maxCells, sharedStrings: maxSharedStrings, work: baseWork}

// rebuilder writes the normalised package that excelize reads: synthetic
// workbook, relationships and content types, the shared strings and the
// worksheets rewritten to their text and values only (empty cells, empty
// rows, formulas, formatting runs and everything else left out), and the
// styles part as it is, when it passes the caps.
type rebuilder struct {
	ctx context.Context
	zr  *safezip.Reader

	buf bytes.Buffer
	zw  *zip.Writer

	caps      caps
	sstLens   []int // byte length of each shared string
	cells     int   // non-empty cells written
	work      int64 // string bytes and column padding excelize will handle
	maxWork   int64
	truncated bool // a cap stopped the rewrite
	styles    bool // the styles part was kept
}

func newRebuilder(ctx context.Context, zr *safezip.Reader, maxChars int, c caps) *rebuilder {
	r := &rebuilder{ctx: ctx, zr: zr, caps: c, maxWork: 4*int64(maxChars) + c.work}
	r.zw = zip.NewWriter(&r.buf)
	r.zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	return r
}

func (r *rebuilder) create(name string) (io.Writer, error) {
	return r.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
}

func (r *rebuilder) writeString(name, data string) error {
	w, err := r.create(name)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, data)
	return err
}

const (
	nsMain = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
	nsRel  = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	relPkg = "http://schemas.openxmlformats.org/package/2006/relationships"
)

// frame writes the synthetic parts: content types, package and workbook
// relationships and a workbook naming the sheets "S1".."Sn".
func (r *rebuilder) frame(n int, date1904, sst bool) error {
	var ct, rels, wb strings.Builder
	ct.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>`)
	rels.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="` + relPkg + `">`)
	wb.WriteString(`<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="` + nsMain + `" xmlns:r="` + nsRel + `">`)
	if date1904 {
		wb.WriteString(`<workbookPr date1904="1"/>`)
	}
	wb.WriteString(`<sheets>`)
	for i := 1; i <= n; i++ {
		k := strconv.Itoa(i)
		fmt.Fprintf(&ct, `<Override PartName="/xl/worksheets/sheet%s.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`, k)
		fmt.Fprintf(&rels, `<Relationship Id="rId%s" Type="%s/worksheet" Target="/xl/worksheets/sheet%s.xml"/>`, k, nsRel, k)
		fmt.Fprintf(&wb, `<sheet name="S%s" sheetId="%s" r:id="rId%s"/>`, k, k, k)
	}
	if sst {
		ct.WriteString(`<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>`)
		rels.WriteString(`<Relationship Id="rIdS" Type="` + nsRel + `/sharedStrings" Target="/xl/sharedStrings.xml"/>`)
	}
	if r.styles {
		ct.WriteString(`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>`)
		rels.WriteString(`<Relationship Id="rIdT" Type="` + nsRel + `/styles" Target="/xl/styles.xml"/>`)
	}
	ct.WriteString(`</Types>`)
	rels.WriteString(`</Relationships>`)
	wb.WriteString(`</sheets></workbook>`)
	for _, p := range []struct{ name, data string }{
		{"[Content_Types].xml", ct.String()},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="` + relPkg + `"><Relationship Id="rId1" Type="` + nsRel + `/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", wb.String()},
		{"xl/_rels/workbook.xml.rels", rels.String()},
	} {
		if err := r.writeString(p.name, p.data); err != nil {
			return err
		}
	}
	return nil
}

// finish closes the archive and returns its bytes.
func (r *rebuilder) finish() ([]byte, error) {
	if err := r.zw.Close(); err != nil {
		return nil, err
	}
	return r.buf.Bytes(), nil
}

// scan streams one part through encoding/xml's raw tokenizer under the XML
// depth cap (DTD entities are never expanded; a reference to one is a
// syntax error), calling fn for each token. A UTF-8 byte-order mark is
// skipped and declared legacy encodings are decoded, as excelize would.
func scan(ctx context.Context, zr *safezip.Reader, name string, fn func(xml.Token) error) error {
	rc, err := zr.Open(name)
	if err != nil {
		return err
	}
	defer rc.Close()
	return scanReader(ctx, name, rc, fn)
}

// scanReader is scan over r, the content of the part name.
func scanReader(ctx context.Context, name string, r io.Reader, fn func(xml.Token) error) error {
	br := bufio.NewReaderSize(r, 32<<10)
	if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
		_, _ = br.Discard(3)
	}
	d := xml.NewDecoder(br)
	d.CharsetReader = charset.NewReaderLabel
	depth := 0
	for n := 1; ; n++ {
		tok, err := d.RawToken()
		if err == io.EOF {
			if depth > 0 {
				return fmt.Errorf("%s: %w: unexpected end of part", name, extract.ErrMalformed)
			}
			return nil
		}
		if err != nil {
			if errors.Is(err, extract.ErrTooLarge) || errors.Is(err, extract.ErrMalformed) || errors.Is(err, extract.ErrEncrypted) {
				return err
			}
			return fmt.Errorf("%s: %w: %v", name, extract.ErrMalformed, err)
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth++; depth > safezip.MaxXMLDepth {
				return fmt.Errorf("%s: %w: elements nested over %d deep", name, extract.ErrMalformed, safezip.MaxXMLDepth)
			}
		case xml.EndElement:
			depth = max(depth-1, 0)
		}
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := fn(tok); err != nil {
			return err
		}
	}
}

// rawAttr returns the value of the attribute with the given local name
// and no prefix.
func rawAttr(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Local == local && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

// richText collects the text of a string item (si, is): its t elements,
// not those of phonetic runs (rPh), at most maxStringBytes.
type richText struct {
	b   strings.Builder
	t   int // open t elements
	rph int // open rPh elements
}

func (rt *richText) reset() { rt.b.Reset(); rt.t, rt.rph = 0, 0 }

func (rt *richText) token(tok xml.Token) {
	switch t := tok.(type) {
	case xml.StartElement:
		switch t.Name.Local {
		case "t":
			rt.t++
		case "rPh":
			rt.rph++
		}
	case xml.EndElement:
		switch t.Name.Local {
		case "t":
			rt.t = max(rt.t-1, 0)
		case "rPh":
			rt.rph = max(rt.rph-1, 0)
		}
	case xml.CharData:
		if rt.t > 0 && rt.rph == 0 && rt.b.Len() < maxStringBytes {
			if rest := maxStringBytes - rt.b.Len(); len(t) > rest {
				t = t[:rest]
			}
			rt.b.Write(t)
		}
	}
}

// text returns the collected text, valid UTF-8.
func (rt *richText) text() string { return strings.ToValidUTF8(rt.b.String(), "\uFFFD") }

// sharedStrings rewrites the shared-string table as plain strings, one si
// per item, and records each one's length.
func (r *rebuilder) sharedStrings(part string) error {
	w, err := r.create("xl/sharedStrings.xml")
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(`<?xml version="1.0" encoding="UTF-8"?><sst xmlns="` + nsMain + `">`)
	var rt richText
	in := false
	err = scan(r.ctx, r.zr, part, func(tok xml.Token) error {
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "si" {
				in = true
				rt.reset()
				return nil
			}
		case xml.EndElement:
			if t.Name.Local == "si" && in {
				in = false
				if len(r.sstLens) >= r.caps.sharedStrings {
					return fmt.Errorf("%w: over %d shared strings", extract.ErrTooLarge, r.caps.sharedStrings)
				}
				s := rt.text()
				r.sstLens = append(r.sstLens, len(s))
				bw.WriteString(`<si><t xml:space="preserve">`)
				if err := xml.EscapeText(bw, []byte(s)); err != nil {
					return err
				}
				_, err := bw.WriteString(`</t></si>`)
				return err
			}
		}
		if in {
			rt.token(tok)
		}
		return nil
	})
	if err != nil {
		return err
	}
	bw.WriteString(`</sst>`)
	return bw.Flush()
}

// builtinDates are the built-in date and time formats, as excelize reads
// them, with Excel's locale-dependent short date (14, and 22 with the
// time) as ISO 8601.
var builtinDates = map[int]string{
	14: shortDate, 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy", 18: "h:mm AM/PM", 19: "h:mm:ss AM/PM",
	20: "h:mm", 21: "h:mm:ss", 22: shortDate + " hh:mm", 45: "mm:ss", 46: "[h]:mm:ss", 47: "mmss.0",
}

// maxCellXfs caps the cell formats of the styles part (Excel allows some
// 64 000).
const maxCellXfs = 1 << 16

// stylesPart writes the styles excelize formats values with: the number
// formats and the number format of each cell format, nothing else. A date
// or time format without a locale gets English ([$-409], what excelize
// falls back to anyway), which spares excelize a search of its whole
// language table for every date it formats. Over the caps, or broken, the
// styles are left out and values come unformatted.
func (r *rebuilder) stylesPart(part string) error {
	f := r.zr.Lookup(part)
	if f == nil || f.Size > maxStylesBytes {
		return nil
	}
	data, err := r.zr.ReadFile(f.Name, maxStylesBytes)
	if err != nil {
		if isFatal(err) {
			return err
		}
		return nil // a broken styles part: unformatted values
	}
	codes := map[int]string{}
	var xfs []int
	inXfs := false
	err = scanReader(r.ctx, part, bytes.NewReader(data), func(tok xml.Token) error {
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "numFmt":
				id, err := strconv.Atoi(rawAttr(t, "numFmtId"))
				code := cmp.Or(rawAttr(t, "formatCode16"), rawAttr(t, "formatCode"))
				if len(codes) >= maxNumFmts || len(code) > maxFormatCode {
					return errStop
				}
				if _, dup := codes[id]; err == nil && id >= 0 && !dup {
					codes[id] = code
				}
			case "cellXfs":
				inXfs = true
			case "xf":
				if inXfs {
					if len(xfs) >= maxCellXfs {
						return errStop
					}
					id, err := strconv.Atoi(rawAttr(t, "numFmtId"))
					if err != nil || id < 0 {
						id = 0
					}
					xfs = append(xfs, id)
				}
			}
		case xml.EndElement:
			if t.Name.Local == "cellXfs" {
				inXfs = false
			}
		}
		return nil
	})
	if errors.Is(err, errStop) || errors.Is(err, extract.ErrMalformed) {
		return nil
	}
	if err != nil {
		return err
	}
	// Built-in date formats become custom ones, numbered past the
	// file's own.
	next := 164
	for id := range codes {
		next = max(next, id+1)
	}
	mapped := map[int]int{}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="` + nsMain + `"><numFmts>`)
	writeFmt := func(id int, code string) {
		if isDateFormat(code) && !strings.Contains(code, "[$-") {
			code = "[$-409]" + code
		}
		b.WriteString(`<numFmt numFmtId="` + strconv.Itoa(id) + `" formatCode="`)
		_ = xml.EscapeText(&b, []byte(code))
		b.WriteString(`"/>`)
	}
	for _, id := range slices.Sorted(maps.Keys(codes)) {
		if _, builtin := builtinDates[id]; !builtin {
			writeFmt(id, codes[id])
		}
	}
	for i, id := range xfs {
		code, builtin := builtinDates[id]
		if !builtin {
			continue
		}
		if c, own := codes[id]; own && id != 14 && id != 22 {
			code = c // a file's own code for a built-in id, as excelize reads it
		}
		if _, done := mapped[id]; !done {
			mapped[id] = next
			writeFmt(next, code)
			next++
		}
		xfs[i] = mapped[id]
	}
	b.WriteString(`</numFmts><cellXfs>`)
	for _, id := range xfs {
		b.WriteString(`<xf numFmtId="` + strconv.Itoa(id) + `"/>`)
	}
	b.WriteString(`</cellXfs></styleSheet>`)
	w, err := r.create("xl/styles.xml")
	if err != nil {
		return err
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}
	r.styles = true
	return nil
}

// isDateFormat reports whether a number format code shows a date or a
// time: whether it has y, m, d, h or s outside quoted text, escapes and
// bracketed sections (colours, conditions, locales; [h] elapsed hours
// aside).
func isDateFormat(code string) bool {
	for i := 0; i < len(code); i++ {
		switch c := code[i]; c {
		case '"':
			if j := strings.IndexByte(code[i+1:], '"'); j >= 0 {
				i += j + 1
			} else {
				return false
			}
		case '\\', '_', '*':
			i++ // the next character is literal, padding or fill
		case '[':
			j := strings.IndexByte(code[i:], ']')
			if j < 0 {
				return false
			}
			if inner := strings.ToLower(code[i+1 : i+j]); strings.Trim(inner, "hms") == "" && inner != "" {
				return true // [h], [mm], [ss]: elapsed time
			}
			i += j
		case 'y', 'Y', 'm', 'M', 'd', 'D', 'h', 'H', 's', 'S':
			return true
		}
	}
	return false
}

// cell is a cell being read from a worksheet.
type cell struct {
	col    int
	s, t   string
	v      strings.Builder
	inV    bool
	inline bool // inside is
	rt     richText
}

// worksheet rewrites one worksheet as the excelize sheet k: rows that hold
// a value, numbered from 1, each with its non-empty cells in their
// columns (style and type kept, formulas dropped for their cached values).
// It stops at the caps, setting truncated. The sheet is written to the
// package only once read whole, so a broken sheet leaves nothing behind.
func (r *rebuilder) worksheet(part string, k int) error {
	var bw bytes.Buffer
	cells, work := r.cells, r.work
	bw.WriteString(`<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="` + nsMain + `"><sheetData>`)
	var (
		row            strings.Builder // cells of the current row
		rowN           = 1             // number of the row being read, in the output
		inRow, inCell  bool
		prevCol, right int
		c              cell
	)
	err := scan(r.ctx, r.zr, part, func(tok xml.Token) error {
		if c.inline {
			c.rt.token(tok)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "row":
				inRow, prevCol, right = true, 0, 0
				row.Reset()
			case "c":
				if !inRow {
					return nil
				}
				inCell = true
				c.col, c.s, c.t, c.inV, c.inline = prevCol+1, rawAttr(t, "s"), rawAttr(t, "t"), false, false
				c.v.Reset()
				c.rt.reset()
				if ref := rawAttr(t, "r"); ref != "" {
					c.col = column(ref)
				}
			case "v":
				c.inV = inCell
			case "is":
				c.inline = inCell
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "v":
				c.inV = false
			case "is":
				c.inline = false
			case "c":
				if !inCell {
					return nil
				}
				inCell = false
				if c.col <= prevCol || c.col > maxColumn {
					return nil // out of order or out of the sheet
				}
				prevCol = c.col
				if r.writeCell(&row, &c, rowN) {
					right = c.col
				}
				if r.cells >= r.caps.cells || r.work > r.maxWork {
					r.truncated = true
					return errStop
				}
			case "row":
				if inRow && row.Len() > 0 {
					bw.WriteString(`<row r="` + strconv.Itoa(rowN) + `">`)
					bw.WriteString(row.String())
					bw.WriteString(`</row>`)
					rowN++
					r.work += int64(right) // excelize pads the row up to its last cell
				}
				inRow = false
			}
		case xml.CharData:
			if c.inV && c.v.Len() < maxStringBytes {
				c.v.Write(t)
			}
		}
		return nil
	})
	if errors.Is(err, errStop) {
		if inRow && row.Len() > 0 {
			bw.WriteString(`<row r="` + strconv.Itoa(rowN) + `">` + row.String() + `</row>`)
		}
		err = nil
	}
	if err != nil {
		r.cells, r.work = cells, work
		return err
	}
	bw.WriteString(`</sheetData></worksheet>`)
	w, err := r.create("xl/worksheets/sheet" + strconv.Itoa(k) + ".xml")
	if err != nil {
		return err
	}
	_, err = w.Write(bw.Bytes())
	return err
}

// writeCell appends a cell that holds a value to row, and reports whether
// it did.
func (r *rebuilder) writeCell(row *strings.Builder, c *cell, rowN int) bool {
	var value string
	switch c.t {
	case "inlineStr":
		value = c.rt.text()
	case "s":
		i, err := strconv.Atoi(strings.TrimSpace(c.v.String()))
		if err != nil || i < 0 || i >= len(r.sstLens) || r.sstLens[i] == 0 {
			return false
		}
		value = strconv.Itoa(i)
		r.work += int64(r.sstLens[i])
	default:
		value = strings.ToValidUTF8(c.v.String(), "\uFFFD")
	}
	if value == "" {
		return false
	}
	r.cells++
	r.work += int64(len(value)) + 1
	row.WriteString(`<c r="` + columnName(c.col) + strconv.Itoa(rowN) + `"`)
	if n, err := strconv.Atoi(c.s); err == nil && n > 0 {
		row.WriteString(` s="` + strconv.Itoa(n) + `"`)
	}
	switch c.t {
	case "s", "str", "b", "e", "d", "n":
		row.WriteString(` t="` + c.t + `"`)
	case "inlineStr":
		row.WriteString(` t="inlineStr"><is><t xml:space="preserve">`)
		_ = xml.EscapeText(row, []byte(value))
		row.WriteString(`</t></is></c>`)
		return true
	}
	row.WriteString(`><v>`)
	_ = xml.EscapeText(row, []byte(value))
	row.WriteString(`</v></c>`)
	return true
}

// column returns the 1-based column of a cell reference such as "AB12",
// 0 when it has none, and a value past maxColumn when it is too far.
func column(ref string) int {
	n := 0
	for i := 0; i < len(ref); i++ {
		ch := ref[i] | 0x20 // lower case
		if ch < 'a' || ch > 'z' {
			break
		}
		n = n*26 + int(ch-'a'+1)
		if n > maxColumn {
			return maxColumn + 1
		}
	}
	return n
}

// columnName returns the letters of a 1-based column.
func columnName(col int) string {
	var b [4]byte
	i := len(b)
	for col > 0 {
		col--
		i--
		b[i] = byte('A' + col%26)
		col /= 26
	}
	return string(b[i:])
}
