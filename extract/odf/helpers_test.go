package odf

import (
	"archive/zip"
	"bytes"
	"hash/crc32"
	"testing"
)

const nsDecl = `xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"`

// content wraps body XML in office:document-content/office:body/office:<kind>.
func content(kind, body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><office:document-content ` + nsDecl + `><office:automatic-styles/><office:body><office:` + kind + `>` + body + `</office:` + kind + `></office:body></office:document-content>`
}

// entry is one archive entry; mimetype comes first, stored.
type entry struct{ name, data string }

func pkgZip(t testing.TB, mimetype string, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if mimetype != "" {
		// As ODF writers do: stored, sizes in the local header.
		w, err := zw.CreateRaw(&zip.FileHeader{Name: "mimetype", Method: zip.Store,
			CRC32: crc32.ChecksumIEEE([]byte(mimetype)), CompressedSize64: uint64(len(mimetype)), UncompressedSize64: uint64(len(mimetype))})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(mimetype))
	}
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(e.data))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const metaXML = `<office:document-meta ` + nsDecl + `><office:meta><dc:title>My Title</dc:title><meta:initial-creator>Ada</meta:initial-creator><dc:creator>Bob</dc:creator><meta:creation-date>2024-01-02T03:04:05.123</meta:creation-date><dc:date>2024-02-03T04:05:06Z</dc:date><dc:language>en-GB</dc:language></office:meta></office:document-meta>`

const manifestXML = `<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>`

const odtBody = `<text:sequence-decls><text:sequence-decl text:name="x"/></text:sequence-decls>` +
	`<text:tracked-changes><text:changed-region text:id="c1"><text:deletion><text:p>DELETED</text:p></text:deletion></text:changed-region></text:tracked-changes>` +
	`<text:h text:outline-level="1">Heading One</text:h>` +
	`<text:p>Hello<text:s text:c="3"/>world<text:tab/>tab<text:line-break/>next   line</text:p>` +
	`<text:p>Body<text:note text:id="n1" text:note-class="footnote"><text:note-citation>1</text:note-citation><text:note-body><text:p>Foot text</text:p></text:note-body></text:note> after<office:annotation><dc:creator>x</dc:creator><text:p>COMMENT</text:p></office:annotation></text:p>` +
	`<text:list><text:list-item><text:p>apple</text:p><text:list><text:list-item><text:p>sub</text:p></text:list-item></text:list></text:list-item></text:list>` +
	`<table:table table:name="T"><table:table-row><table:table-cell><text:p>a</text:p></table:table-cell><table:table-cell table:number-columns-repeated="2"><text:p>b</text:p></table:table-cell><table:table-cell table:number-columns-repeated="1000"/></table:table-row></table:table>` +
	`<text:p><draw:frame><svg:title>ALT</svg:title><draw:text-box><text:p>In a box</text:p></draw:text-box></draw:frame></text:p>`

func odtPkg(t testing.TB) []byte {
	return pkgZip(t, MediaTypeODT,
		entry{"META-INF/manifest.xml", manifestXML},
		entry{"content.xml", content("text", odtBody)},
		entry{"meta.xml", metaXML})
}

func odsPkg(t testing.TB) []byte {
	sheet := func(name, rows string) string {
		return `<table:table table:name="` + name + `">` + rows + `</table:table>`
	}
	row := func(cells ...string) string {
		s := `<table:table-row>`
		for _, c := range cells {
			if c == "" {
				s += `<table:table-cell/>`
			} else {
				s += `<table:table-cell office:value-type="string"><text:p>` + c + `</text:p></table:table-cell>`
			}
		}
		return s + `<table:table-cell table:number-columns-repeated="16000"/></table:table-row>`
	}
	body := sheet("S1", row("Name", "Qty")+row("pear", "", "3")+`<table:table-row table:number-rows-repeated="1048000"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>`) +
		sheet("S2", row("second sheet"))
	return pkgZip(t, MediaTypeODS, entry{"content.xml", content("spreadsheet", body)})
}

func odpPkg(t testing.TB) []byte {
	page := func(title, body string) string {
		return `<draw:page draw:name="p"><draw:frame presentation:class="title"><draw:text-box><text:p>` + title + `</text:p></draw:text-box></draw:frame>` +
			`<draw:frame><draw:text-box><text:list><text:list-item><text:p>` + body + `</text:p></text:list-item></text:list></draw:text-box></draw:frame>` +
			`<presentation:notes><draw:frame><draw:text-box><text:p>SPEAKER</text:p></draw:text-box></draw:frame></presentation:notes></draw:page>`
	}
	return pkgZip(t, MediaTypeODP, entry{"content.xml", content("presentation", page("Slide One", "point a")+page("Slide Two", "point b"))})
}
