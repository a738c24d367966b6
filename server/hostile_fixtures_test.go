package server_test

// Fixtures of RELIABILITY.md section B (T10-T24), all built in Go: ZIP
// packages with archive/zip or by hand, DEFLATE bombs with compress/flate,
// PDFs as hand-written bytes. They follow the parser-level fixtures of
// extract/docx, extract/xlsx, extract/pdf and internal/safezip, which this
// package cannot import (they are test code of other packages).

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/md5"
	"crypto/rc4"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"hash/crc32"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime/multipart"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// DOCX packages.

const (
	nsW     = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
	nsRel   = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	relBase = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
	ctDOCX  = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
)

// pkg is a ZIP package under construction: part name -> content.
type pkg map[string]string

const docxContentTypes = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Default Extension="docx" ContentType="` + ctDOCX + `"/>
<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
</Types>`

const docxPackageRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="` + relBase + `officeDocument" Target="word/document.xml"/>
</Relationships>`

// docxPkg returns a minimal package whose body is body (WordprocessingML
// inside w:body, prefix w:).
func docxPkg(body string) pkg {
	return pkg{
		"[Content_Types].xml": docxContentTypes,
		"_rels/.rels":         docxPackageRels,
		"word/document.xml":   documentXML(body),
	}
}

func documentXML(body string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="` + nsW + `" xmlns:r="` + nsRel + `" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:v="urn:schemas-microsoft-com:vml"><w:body>` +
		body + `</w:body></w:document>`
}

// para is a paragraph of one run of text.
func para(text string) string {
	return `<w:p><w:r><w:t xml:space="preserve">` + text + `</w:t></w:r></w:p>`
}

// zip returns the package as bytes, [Content_Types].xml first (where
// sniffers look), the rest sorted. Empty parts are stored, not deflated: a
// deflater per entry makes floods slow.
func (p pkg) zip(t testing.TB) []byte {
	t.Helper()
	names := make([]string, 0, len(p))
	for n := range p {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == "[Content_Types].xml":
			return -1
		case b == "[Content_Types].xml":
			return 1
		}
		return strings.Compare(a, b)
	})
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		method := zip.Deflate
		if p[n] == "" {
			method = zip.Store
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(p[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// memo builds each named fixture once per test binary: the two tests of
// hostile_test.go share the costly ones.
func memo(name string, build func() []byte) []byte {
	v, _ := fixtureCache.LoadOrStore(name, &memoEntry{})
	e := v.(*memoEntry)
	e.once.Do(func() { e.b = build() })
	return e.b
}

type memoEntry struct {
	once sync.Once
	b    []byte
}

var fixtureCache sync.Map

var (
	gibOnce sync.Once
	gibData []byte
	gibCRC  uint32
)

// gibOfA returns a raw DEFLATE stream of 1 GiB of 'A' (about 1.3 MB) and
// its CRC-32, as internal/safezip's tests build it: 1 MiB is compressed
// twice and the second, steady-state segment repeated.
func gibOfA() ([]byte, uint32) {
	gibOnce.Do(func() {
		const chunks = 1024
		chunk := bytes.Repeat([]byte("A"), 1<<20)
		var out, seg bytes.Buffer
		fw, _ := flate.NewWriter(&seg, flate.BestSpeed)
		_, _ = fw.Write(chunk)
		_ = fw.Flush()
		out.Write(seg.Bytes())
		seg.Reset()
		_, _ = fw.Write(chunk)
		_ = fw.Flush()
		mid := bytes.Clone(seg.Bytes())
		seg.Reset()
		_ = fw.Close()
		for range chunks - 1 {
			out.Write(mid)
		}
		out.Write(seg.Bytes())
		crc := uint32(0)
		for range chunks {
			crc = crc32.Update(crc, crc32.IEEETable, chunk)
		}
		gibData, gibCRC = out.Bytes(), crc
	})
	return gibData, gibCRC
}

// bombDocx is T10 and T11: a DOCX whose word/document.xml is 1 GiB of
// DEFLATEd 'A' (about 1.3 MB) under a header declaring declared bytes:
// 1 GiB is the honest header, 4096 the lying one.
func bombDocx(t testing.TB, declared uint64) []byte {
	t.Helper()
	data, crc := gibOfA()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels"} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(docxPkg("")[name]))
	}
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "word/document.xml", Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(len(data)), UncompressedSize64: declared})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// floodDocx is T12a: a valid DOCX plus n empty entries.
func floodDocx(t testing.TB, n int) []byte {
	p := docxPkg(para("flood"))
	for i := range n {
		p["media/f"+strconv.Itoa(i)] = ""
	}
	return p.zip(t)
}

// overlapDocx is T12b, a hand-written archive: the three parts of a DOCX,
// then n more central-directory records that all point at the local header
// of word/document.xml (Fifield-style overlap), each declaring declared
// bytes. declared 0 means the true size of document.xml (only the overlap
// is wrong then).
func overlapDocx(n int, declared uint32) []byte {
	le := binary.LittleEndian
	type local struct {
		name         string
		offset       int
		crc          uint32
		csize, usize uint32
	}
	var b bytes.Buffer
	var locals []local
	p := docxPkg(para("overlap"))
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "word/document.xml"} {
		data := []byte(p[name])
		var comp bytes.Buffer
		fw, _ := flate.NewWriter(&comp, flate.BestCompression)
		_, _ = fw.Write(data)
		_ = fw.Close()
		l := local{name: name, offset: b.Len(), crc: crc32.ChecksumIEEE(data), csize: uint32(comp.Len()), usize: uint32(len(data))}
		locals = append(locals, l)
		lh := make([]byte, 30)
		le.PutUint32(lh[0:], 0x04034b50)
		le.PutUint16(lh[4:], 20)
		le.PutUint16(lh[8:], 8)
		le.PutUint32(lh[14:], l.crc)
		le.PutUint32(lh[18:], l.csize)
		le.PutUint32(lh[22:], l.usize)
		le.PutUint16(lh[26:], uint16(len(name)))
		b.Write(lh)
		b.WriteString(name)
		b.Write(comp.Bytes())
	}
	doc := locals[2]
	cdStart := b.Len()
	record := func(name string, l local, usize uint32) {
		cd := make([]byte, 46)
		le.PutUint32(cd[0:], 0x02014b50)
		le.PutUint16(cd[4:], 20)
		le.PutUint16(cd[6:], 20)
		le.PutUint16(cd[10:], 8)
		le.PutUint32(cd[16:], l.crc)
		le.PutUint32(cd[20:], l.csize)
		le.PutUint32(cd[24:], usize)
		le.PutUint16(cd[28:], uint16(len(name)))
		le.PutUint32(cd[42:], uint32(l.offset))
		b.Write(cd)
		b.WriteString(name)
	}
	for _, l := range locals {
		record(l.name, l, l.usize)
	}
	if declared == 0 {
		declared = doc.usize
	}
	for i := range n {
		record("word/part"+strconv.Itoa(i)+".xml", doc, declared)
	}
	cdLen := b.Len() - cdStart
	eocd := make([]byte, 22)
	le.PutUint32(eocd[0:], 0x06054b50)
	le.PutUint16(eocd[8:], uint16(n+len(locals)))
	le.PutUint16(eocd[10:], uint16(n+len(locals)))
	le.PutUint32(eocd[12:], uint32(cdLen))
	le.PutUint32(eocd[16:], uint32(cdStart))
	b.Write(eocd)
	return b.Bytes()
}

// nestedDocx is T13: a DOCX embedding a DOCX (an OLE package object, as
// Word writes it) embedding a DOCX... depth levels deep. Level i says
// "LEVEL<i>"; the innermost level also carries a plain ZIP.
func nestedDocx(t testing.TB, depth int) []byte {
	t.Helper()
	var inner []byte
	for level := depth; level >= 0; level-- {
		p := docxPkg(para("LEVEL" + strconv.Itoa(level) + " text"))
		if inner == nil {
			var zb bytes.Buffer
			zw := zip.NewWriter(&zb)
			w, _ := zw.Create("deepest.txt")
			_, _ = w.Write([]byte("LEVEL" + strconv.Itoa(depth+1) + " zip"))
			_ = zw.Close()
			inner = zb.Bytes()
			p["word/embeddings/archive.zip"] = string(inner)
		} else {
			p["word/embeddings/Microsoft_Word_Document.docx"] = string(inner)
			p["word/_rels/document.xml.rels"] = `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
				`<Relationship Id="rIdE" Type="` + relBase + `package" Target="embeddings/Microsoft_Word_Document.docx"/></Relationships>`
			p["word/document.xml"] = documentXML(para("LEVEL"+strconv.Itoa(level)+" text") +
				`<w:p><w:r><w:object><v:shape id="o1" style="width:1pt;height:1pt"/><o:OLEObject Type="Embed" ProgID="Word.Document.12" ShapeID="o1" r:id="rIdE"/></w:object></w:r></w:p>`)
		}
		inner = p.zip(t)
	}
	return inner
}

// slipDocx is T14: a DOCX with entries named to escape any directory they
// might be written to, each named after marker, and a Unix symlink entry.
func slipDocx(t testing.TB, marker string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	p := docxPkg(para("Safe text"))
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "word/document.xml"} {
		w, _ := zw.Create(name)
		_, _ = w.Write([]byte(p[name]))
	}
	for _, n := range []string{"../../../../../../../../tmp/" + marker, "/tmp/" + marker, "/etc/cron.d/" + marker, `C:\` + marker, `..\..\..\` + marker, "word/../../" + marker} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte("pwned"))
	}
	h := &zip.FileHeader{Name: "word/" + marker + ".xml"}
	h.SetMode(fs.ModeSymlink | 0o777)
	w, _ := zw.CreateHeader(h)
	_, _ = w.Write([]byte("/etc/passwd"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// laughsDTD is a classic 10-level billion-laughs internal subset for root.
func laughsDTD(root string) string {
	var dtd strings.Builder
	dtd.WriteString(`<!DOCTYPE ` + root + ` [<!ENTITY lol "lol">`)
	for i := 1; i <= 9; i++ {
		prev := "lol"
		if i > 1 {
			prev = "lol" + strconv.Itoa(i-1)
		}
		dtd.WriteString(`<!ENTITY lol` + strconv.Itoa(i) + ` "` + strings.Repeat("&"+prev+";", 10) + `">`)
	}
	dtd.WriteString(`]>`)
	return dtd.String()
}

// laughsDocx is T15 in word/document.xml.
func laughsDocx(t testing.TB) []byte {
	p := docxPkg("")
	p["word/document.xml"] = `<?xml version="1.0"?>` + laughsDTD("w:document") +
		`<w:document xmlns:w="` + nsW + `"><w:body>` + para("&lol9;") + `</w:body></w:document>`
	return p.zip(t)
}

// xxeDTD declares a file and a network external entity for root.
func xxeDTD(root, canaryURL string) string {
	return `<!DOCTYPE ` + root + ` [<!ENTITY e SYSTEM "file:///etc/passwd"><!ENTITY c SYSTEM "` + canaryURL + `/xxe"><!ENTITY % p SYSTEM "` + canaryURL + `/dtd"> %p;]>`
}

// xxeDocx is T16 in a DOCX: the entities declared in document.xml (and
// referenced when ref), and again in styles.xml.
func xxeDocx(t testing.TB, canaryURL string, ref bool) []byte {
	body := para("plain")
	if ref {
		body = para("before &e; &c; after")
	}
	p := docxPkg("")
	p["word/document.xml"] = `<?xml version="1.0"?>` + xxeDTD("w:document", canaryURL) + `<w:document xmlns:w="` + nsW + `"><w:body>` + body + `</w:body></w:document>`
	p["word/_rels/document.xml.rels"] = `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rIdS" Type="` + relBase + `styles" Target="styles.xml"/></Relationships>`
	p["word/styles.xml"] = `<?xml version="1.0"?>` + xxeDTD("w:styles", canaryURL) + `<w:styles xmlns:w="` + nsW + `"><w:style w:styleId="x"><w:name w:val="&e;"/></w:style></w:styles>`
	return p.zip(t)
}

// xxeXLSX is T16 in the shared strings of a minimal workbook.
func xxeXLSX(t testing.TB, canaryURL string) []byte {
	const ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
	p := pkg{
		"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>`,
		"_rels/.rels":         `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="` + relBase + `officeDocument" Target="xl/workbook.xml"/></Relationships>`,
		"xl/workbook.xml":     `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="` + ns + `" xmlns:r="` + nsRel + `"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>`,
		"xl/_rels/workbook.xml.rels": `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="` + relBase + `worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rIdS" Type="` + relBase + `sharedStrings" Target="sharedStrings.xml"/></Relationships>`,
		"xl/worksheets/sheet1.xml": `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="` + ns + `"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row></sheetData></worksheet>`,
		"xl/sharedStrings.xml":     `<?xml version="1.0"?>` + xxeDTD("sst", canaryURL) + `<sst xmlns="` + ns + `" count="2" uniqueCount="2"><si><t>cell &e;</t></si><si><t>&c;</t></si></sst>`,
	}
	return p.zip(t)
}

// bigTextDocx is T17: paragraphs of one random 12-letter word and a fixed
// 1 000-character filler. DEFLATE turns each filler into a few
// back-references, so the package compresses about 40:1 (under the 100:1
// ratio cap) while its text is paras KiB long.
func bigTextDocx(t testing.TB, paras int) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(17, 17))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		return string(b)
	}
	var filler strings.Builder
	for filler.Len() < 1000 {
		filler.WriteString(word(2+rng.IntN(8)) + " ")
	}
	fill := filler.String()[:1000]
	var body strings.Builder
	body.Grow(paras * 1100)
	for range paras {
		body.WriteString(`<w:p><w:r><w:t xml:space="preserve">`)
		body.WriteString(word(12))
		body.WriteByte(' ')
		body.WriteString(fill)
		body.WriteString(`</w:t></w:r></w:p>`)
	}
	// BestSpeed: the default level takes seconds on 12 MB under -race.
	p := docxPkg(body.String())
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "word/document.xml"} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(p[name]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// plainZip is a ZIP archive that is no document format.
func plainZip(t testing.TB) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range []string{"readme.txt", "data/notes.txt"} {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte("zip member " + n))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// PDFs, after extract/pdf/fixtures_test.go.

// buildPDF writes a PDF whose objects are objs (object i+1 is objs[i])
// with a correct cross-reference table; trailer is the trailer dictionary
// without /Size.
func buildPDF(objs []string, trailer string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, trailer, xref)
	return b.Bytes()
}

func pdfStream(dict string, data []byte) string {
	return fmt.Sprintf("<< /Length %d %s >>\nstream\n%s\nendstream", len(data), dict, data)
}

const (
	helvetica    = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
	helloContent = "BT /F1 24 Tf 72 720 Td (Hello) Tj 30 0 Td (World) Tj 0 -30 Td [(Second)-300(line)] TJ ET"
)

// onePage returns the objects of a one-page document drawing content with
// font /F1 (object 4) and an /Info dictionary (object 6).
func onePage(content string) []string {
	return []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		helvetica,
		pdfStream("", []byte(content)),
		"<< /Title (Hello) >>",
	}
}

// textPDF is a one-page PDF drawing text (no parentheses or backslashes).
func textPDF(text string) []byte {
	return buildPDF(onePage("BT /F1 24 Tf 72 720 Td ("+text+") Tj ET"), "/Root 1 0 R /Info 6 0 R")
}

func helloPDF() []byte { return buildPDF(onePage(helloContent), "/Root 1 0 R /Info 6 0 R") }

// countLiePDF is T18: a one-page PDF whose /Count claims 2^31-1 pages.
func countLiePDF() []byte {
	objs := onePage(helloContent)
	objs[1] = "<< /Type /Pages /Kids [3 0 R] /Count 2147483647 >>"
	return buildPDF(objs, "/Root 1 0 R")
}

// cyclicKidsPDF is T19: /Kids [2 0 R] inside object 2, /Count 5.
func cyclicKidsPDF() []byte {
	objs := onePage(helloContent)
	objs[1] = "<< /Type /Pages /Kids [2 0 R] /Count 5 >>"
	return buildPDF(objs, "/Root 1 0 R")
}

// cyclicKidsDeepPDF is T19 with a longer cycle: 2 -> 7 -> 2.
func cyclicKidsDeepPDF() []byte {
	objs := onePage(helloContent)
	objs[1] = "<< /Type /Pages /Kids [3 0 R 7 0 R] /Count 5 >>"
	objs = append(objs, "<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 4 >>")
	return buildPDF(objs, "/Root 1 0 R")
}

// cyclicParentPDF: a page without /Resources whose /Parent chain is cyclic.
func cyclicParentPDF() []byte {
	objs := onePage(helloContent)
	objs[2] = "<< /Type /Page /Parent 7 0 R /Contents 5 0 R >>"
	objs = append(objs, "<< /Type /Pages /Parent 7 0 R /Count 1 >>")
	return buildPDF(objs, "/Root 1 0 R")
}

// adler32Combine is zlib's adler32_combine: the Adler-32 of A followed by
// B from those of A and B and the length of B.
func adler32Combine(a1, a2 uint32, len2 int64) uint32 {
	const base = 65521
	rem := uint64(len2 % base)
	s1 := uint64(a1 & 0xffff)
	s2 := rem * s1 % base
	s1 += uint64(a2&0xffff) + base - 1
	s2 += uint64(a1>>16) + uint64(a2>>16) + base - rem
	s1 %= base
	s2 %= base
	return uint32(s2<<16 | s1)
}

// flateBombPDF is T20: a one-page PDF whose FlateDecode content stream is
// about 2 KiB a MiB and inflates to mib MiB of "(AAAAAAAA) Tj" operators.
func flateBombPDF(t testing.TB, mib int) []byte {
	t.Helper()
	const prefix, suffix = "BT /F1 12 Tf 72 720 Td\n", "ET\n"
	op := "(AAAAAAAA) Tj\n"
	chunk := bytes.Repeat([]byte(op), (1<<20)/len(op))
	var seg bytes.Buffer
	fw, _ := flate.NewWriter(&seg, flate.DefaultCompression)
	take := func() []byte { b := bytes.Clone(seg.Bytes()); seg.Reset(); return b }
	_, _ = fw.Write([]byte(prefix))
	_, _ = fw.Write(chunk)
	_ = fw.Flush()
	first := take()
	_, _ = fw.Write(chunk)
	_ = fw.Flush()
	second := take()
	_, _ = fw.Write(chunk)
	_ = fw.Flush()
	mid := take()
	_, _ = fw.Write(chunk)
	_ = fw.Flush()
	if !bytes.Equal(take(), mid) {
		t.Fatal("flateBombPDF: the DEFLATE segments did not reach a steady state")
	}
	_, _ = fw.Write([]byte(suffix))
	_ = fw.Close()
	tail := take()

	var z bytes.Buffer
	z.Write([]byte{0x78, 0x9c})
	z.Write(first)
	z.Write(second)
	chunkSum := adler32.Checksum(chunk)
	sum := adler32Combine(adler32.Checksum([]byte(prefix)), chunkSum, int64(len(chunk)))
	sum = adler32Combine(sum, chunkSum, int64(len(chunk)))
	for range mib - 2 {
		z.Write(mid)
		sum = adler32Combine(sum, chunkSum, int64(len(chunk)))
	}
	z.Write(tail)
	sum = adler32Combine(sum, adler32.Checksum([]byte(suffix)), int64(len(suffix)))
	z.Write(binary.BigEndian.AppendUint32(nil, sum))

	objs := onePage("")
	objs[4] = pdfStream("/Filter /FlateDecode", z.Bytes())
	return buildPDF(objs, "/Root 1 0 R")
}

// T21 cases.

func truncatedPDF() []byte { h := helloPDF(); return h[:len(h)/2] }

func missingEOFPDF() []byte { return bytes.TrimSuffix(helloPDF(), []byte("%%EOF\n")) }

func startxrefPastEOFPDF() []byte {
	h := helloPDF()
	i := bytes.LastIndex(h, []byte("startxref\n"))
	return append(h[:i:i], []byte("startxref\n99999999\n%%EOF\n")...)
}

func unknownFilterPDF() []byte {
	objs := onePage("")
	objs[4] = pdfStream("/Filter /Foo", []byte(helloContent))
	return buildPDF(objs, "/Root 1 0 R")
}

func rootNotDictPDF() []byte {
	objs := onePage(helloContent)
	objs[0] = "(not a catalog)"
	return buildPDF(objs, "/Root 1 0 R")
}

// selfFontPDF: a font dictionary referencing itself as its descendant, its
// encoding and its ToUnicode.
func selfFontPDF() []byte {
	objs := onePage(helloContent)
	objs[3] = "<< /Type /Font /Subtype /Type0 /BaseFont /X /Encoding 4 0 R /DescendantFonts [4 0 R] /ToUnicode 4 0 R >>"
	return buildPDF(objs, "/Root 1 0 R")
}

// pdfPad is the password padding of the standard security handler.
var pdfPad = []byte{
	0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
	0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
}

const pdfFileID = "0123456789abcdef"

// aesEncryptDict returns an AESV2 (V 4, R 4) /Encrypt dictionary whose user
// password is empty.
func aesEncryptDict() string {
	O := bytes.Repeat([]byte{0x55}, 32)
	P := int32(-4)
	h := md5.New()
	h.Write(pdfPad)
	h.Write(O)
	h.Write([]byte{byte(P), byte(P >> 8), byte(P >> 16), byte(P >> 24)})
	h.Write([]byte(pdfFileID))
	key := h.Sum(nil)
	for range 50 {
		s := md5.Sum(key[:16])
		key = s[:]
	}
	key = key[:16]
	h.Reset()
	h.Write(pdfPad)
	h.Write([]byte(pdfFileID))
	u := h.Sum(nil)
	for i := 0; i <= 19; i++ {
		k := bytes.Clone(key)
		for j := range k {
			k[j] ^= byte(i)
		}
		c, _ := rc4.NewCipher(k)
		c.XORKeyStream(u, u)
	}
	U := append(u, make([]byte, 16)...)
	return fmt.Sprintf("<< /Filter /Standard /V 4 /R 4 /Length 128 /O <%x> /U <%x> /P %d /CF << /StdCF << /CFM /AESV2 /AuthEvent /DocOpen /Length 16 >> >> /StmF /StdCF /StrF /StdCF >>", O, U, P)
}

// shortAESPDF is T21: an AES-encrypted document (empty user password)
// whose strings are shorter than one AES block: the catalog's /Lang when
// lang, and the /Info /Title.
func shortAESPDF(lang bool) []byte {
	objs := onePage(helloContent)
	if lang {
		objs[0] = "<< /Type /Catalog /Pages 2 0 R /Lang (en-GB) >>"
	}
	objs[5] = "<< /Title <0102> >>"
	objs[3] = "<< /Type /Font /Subtype /Type1 /BaseFont (abc) >>"
	objs = append(objs, aesEncryptDict())
	return buildPDF(objs, fmt.Sprintf("/Root 1 0 R /Info 6 0 R /Encrypt 7 0 R /ID [<%x> <%x>]", pdfFileID, pdfFileID))
}

// HTML.

// activeHTML is T24: sub-resources pointing at the canary, a meta refresh
// to a local file, nestedDivs nested divs and a script of scriptBytes.
func activeHTML(canaryURL string, nestedDivs, scriptBytes int) []byte {
	var b bytes.Buffer
	b.Grow(scriptBytes + nestedDivs*11 + 4096)
	b.WriteString(`<!doctype html><html><head><title>Active</title>`)
	b.WriteString(`<meta http-equiv="refresh" content="0;url=file:///etc/passwd">`)
	b.WriteString(`<base href="` + canaryURL + `/base/">`)
	b.WriteString(`<link rel="stylesheet" href="` + canaryURL + `/style.css">`)
	b.WriteString(`<link rel="import" href="` + canaryURL + `/import.html">`)
	b.WriteString(`<link rel="preload" as="fetch" href="` + canaryURL + `/preload">`)
	b.WriteString(`<style>@import url("` + canaryURL + `/import.css"); body { background: url(` + canaryURL + `/bg.png) } .secret-style-text { color: red }</style>`)
	b.WriteString(`<script src="` + canaryURL + `/ext.js"></script>`)
	b.WriteString(`</head><body><p>visible start</p>`)
	b.WriteString(`<img src="` + canaryURL + `/i.png" srcset="` + canaryURL + `/i2.png 2x" alt="">`)
	b.WriteString(`<iframe src="` + canaryURL + `/frame.html"></iframe><object data="` + canaryURL + `/obj"></object><embed src="` + canaryURL + `/embed">`)
	b.WriteString(`<video poster="` + canaryURL + `/poster.png"><source src="` + canaryURL + `/v.mp4"></video>`)
	b.WriteString(`<svg><image href="` + canaryURL + `/svg.png"/></svg>`)
	b.WriteString(`<noscript><img src="` + canaryURL + `/noscript.png"></noscript>`)
	b.WriteString(`<script>var secretScriptMarker = 1; fetch("` + canaryURL + `/fetch");`)
	for b.Len() < scriptBytes {
		b.WriteString("/* padding padding padding padding padding padding padding padding */\n")
	}
	b.WriteString(`</script>`)
	b.WriteString(strings.Repeat("<div>", nestedDivs))
	b.WriteString("deep text")
	b.WriteString(strings.Repeat("</div>", nestedDivs))
	b.WriteString(`<p>visible end</p></body></html>`)
	return b.Bytes()
}

// Multipart bodies with hand-made part headers (the harness's
// multipartBody quotes the filename itself).

// multipartRaw builds a body of one file part whose Content-Disposition
// is disposition verbatim and whose Content-Type is ctype.
func multipartRaw(t testing.TB, disposition, ctype string, content []byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", disposition)
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	pw, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}
