package epub

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/ziptest"
)

// book is an EPUB under construction: archive name -> content. The
// mimetype entry is written first and stored, as the specification asks.
type book map[string]string

func (b book) zip(t testing.TB) []byte {
	t.Helper()
	return ziptest.Build(t, ziptest.Files(b), "mimetype")
}

const containerXML = `<?xml version="1.0" encoding="UTF-8"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>`

// xhtml is a content document with the given title and body.
func xhtml(title, body string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" lang="en" xml:lang="en">
<head><meta charset="utf-8"/><title>` + title + `</title><link rel="stylesheet" type="text/css" href="style.css"/><style>p { margin: 0 }</style></head>
<body>` + body + `</body></html>`
}

// opfXML builds a package document: items are {id, href, media type,
// properties}, spine the idrefs.
func opfXML(meta string, items [][4]string, spine ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">` + meta + `</metadata><manifest>`)
	for _, it := range items {
		props := ""
		if it[3] != "" {
			props = ` properties="` + it[3] + `"`
		}
		fmt.Fprintf(&b, `<item id="%s" href="%s" media-type="%s"%s/>`, it[0], it[1], it[2], props)
	}
	b.WriteString(`</manifest><spine toc="ncx">`)
	for _, s := range spine {
		b.WriteString(s)
	}
	b.WriteString(`</spine></package>`)
	return b.String()
}

const sampleMeta = `<dc:identifier id="uid">urn:uuid:1234</dc:identifier><dc:title>The Lighthouse Keeper</dc:title><dc:title>A Subtitle</dc:title>` +
	`<dc:creator id="a1">Mary Shelley</dc:creator><dc:creator>Percy Shelley</dc:creator><dc:language>en-GB</dc:language><dc:date>1818-01-01</dc:date>` +
	`<meta property="dcterms:modified">2024-05-06T07:08:09Z</meta><meta name="cover" content="cover-img"/>`

// sampleBook is an EPUB 3 with a cover page, a navigation document kept
// out of the spine, three chapters (one non-linear, one listed twice, one
// with a table), an image spine item and a style sheet.
func sampleBook() book {
	items := [][4]string{
		{"cover", "cover.xhtml", "application/xhtml+xml", ""},
		{"cover-img", "images/cover.jpg", "image/jpeg", "cover-image"},
		{"nav", "nav.xhtml", "application/xhtml+xml", "nav"},
		{"ch1", "text/chapter%201.xhtml", "application/xhtml+xml", ""},
		{"ch2", "text/ch2.xhtml#start", "application/xhtml+xml", ""},
		{"notes", "text/notes.xhtml", "application/xhtml+xml", ""},
		{"css", "style.css", "text/css", ""},
		{"plate", "images/plate.svg", "image/svg+xml", ""},
		{"ch1", "text/DUPLICATE.xhtml", "application/xhtml+xml", ""},
	}
	return book{
		"mimetype":               MediaTypeEPUB,
		"META-INF/container.xml": containerXML,
		"OEBPS/content.opf": opfXML(sampleMeta, items,
			`<itemref idref="cover" linear="no"/>`, `<itemref idref="ch1"/>`, `<itemref idref="plate"/>`, `<itemref idref="ch2"/>`,
			`<itemref idref="notes" linear="no"/>`, `<itemref idref="ch1"/>`),
		"OEBPS/cover.xhtml":          xhtml("Cover", `<div><img src="images/cover.jpg" alt=""/></div>`),
		"OEBPS/nav.xhtml":            xhtml("Contents", `<nav epub:type="toc"><ol><li><a href="text/chapter%201.xhtml">NAVONLY</a></li></ol></nav>`),
		"OEBPS/text/chapter 1.xhtml": xhtml("Chapter One", `<section epub:type="chapter"><h1>Chapter One</h1><p>It was a dark&nbsp;and stormy night.</p><p>The keeper lit the <em>lamp</em>.<a epub:type="noteref" href="notes.xhtml#n1">1</a></p></section>`),
		"OEBPS/text/ch2.xhtml":       xhtml("Chapter Two", `<h1 id="start">Chapter Two</h1><p>Ships passed.</p><table><tr><th>Ship</th><th>Year</th></tr><tr><td>Mary</td><td>1820</td></tr></table><script>alert("x")</script>`),
		"OEBPS/text/notes.xhtml":     xhtml("Notes", `<aside epub:type="footnote" id="n1"><p>1. The lamp burned whale oil.</p></aside>`),
		"OEBPS/text/DUPLICATE.xhtml": xhtml("Dup", `<p>DUPLICATE</p>`),
		"OEBPS/style.css":            `body { font-family: serif }`,
		"OEBPS/images/cover.jpg":     "\xff\xd8\xff\xe0JFIF",
		"OEBPS/images/plate.svg":     `<svg xmlns="http://www.w3.org/2000/svg"><text>SVGTEXT</text></svg>`,
	}
}

var samplePages = []string{
	"Chapter One\n\nIt was a dark\u00a0and stormy night.\n\nThe keeper lit the lamp.1",
	"Chapter Two\n\nShips passed.\n\nShip\tYear\nMary\t1820",
	"1. The lamp burned whale oil.",
}

func parse(t testing.TB, p *Parser, b []byte, lim extract.Limits) (*extract.Document, error) {
	t.Helper()
	return p.Parse(context.Background(), extract.Input{R: bytes.NewReader(b), Size: int64(len(b)), Limits: lim})
}

func pageTexts(doc *extract.Document) []string {
	var out []string
	for _, p := range doc.Pages {
		out = append(out, p.Text)
	}
	return out
}
