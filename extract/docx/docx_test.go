package docx

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
)

const numberingXML = `<w:abstractNum w:abstractNumId="0">
<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="bullet"/><w:lvlText w:val="•"/></w:lvl>
<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="bullet"/><w:lvlText w:val="o"/></w:lvl>
</w:abstractNum>
<w:abstractNum w:abstractNumId="1">
<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1."/></w:lvl>
<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/><w:lvlText w:val="%1.%2)"/></w:lvl>
</w:abstractNum>
<w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num>
<w:num w:numId="2"><w:abstractNumId w:val="1"/></w:num>
<w:num w:numId="3"><w:abstractNumId w:val="1"/><w:lvlOverride w:ilvl="0"><w:startOverride w:val="4"/></w:lvlOverride></w:num>`

func listPara(numID, ilvl, text string) string {
	return `<w:p><w:pPr><w:numPr><w:ilvl w:val="` + ilvl + `"/><w:numId w:val="` + numID + `"/></w:numPr></w:pPr><w:r><w:t>` + text + `</w:t></w:r></w:p>`
}

func cell(inner string) string {
	return `<w:tc><w:tcPr><w:tcW w:w="100"/></w:tcPr>` + inner + `</w:tc>`
}

func TestContent(t *testing.T) {
	lists := newPkg(listPara("1", "0", "apple") + listPara("1", "1", "pip") + listPara("1", "0", "pear") + para("between") +
		listPara("2", "0", "one") + listPara("2", "1", "sub a") + listPara("2", "1", "sub b") + listPara("2", "0", "two") +
		listPara("3", "0", "four") + listPara("0", "0", "not a list")).
		withRels([2]string{"numbering", "numbering.xml"})
	lists["word/numbering.xml"] = part("numbering", numberingXML)

	styled := newPkg(`<w:p><w:pPr><w:pStyle w:val="MyList"/></w:pPr><w:r><w:t>styled item</w:t></w:r></w:p>`).
		withRels([2]string{"numbering", "numbering.xml"}, [2]string{"styles", "styles.xml"})
	styled["word/numbering.xml"] = part("numbering", numberingXML)
	styled["word/styles.xml"] = part("styles", `<w:style w:type="paragraph" w:styleId="Base"><w:pPr><w:numPr><w:numId w:val="1"/></w:numPr></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="MyList"><w:basedOn w:val="Base"/></w:style>`)

	notes := newPkg(`<w:p><w:r><w:t>Body.</w:t></w:r><w:r><w:footnoteReference w:id="2"/></w:r><w:r><w:t> More.</w:t></w:r><w:r><w:endnoteReference w:id="1"/></w:r></w:p>`).
		withRels([2]string{"footnotes", "footnotes.xml"}, [2]string{"endnotes", "endnotes.xml"})
	notes["word/footnotes.xml"] = part("footnotes", `<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/><w:t>SEP</w:t></w:r></w:p></w:footnote>
<w:footnote w:id="2"><w:p><w:r><w:footnoteRef/></w:r><w:r><w:t xml:space="preserve"> A footnote.</w:t></w:r></w:p></w:footnote>`)
	notes["word/endnotes.xml"] = part("endnotes", `<w:endnote w:id="1"><w:p><w:sdt><w:sdtContent><w:r><w:t>An endnote.</w:t></w:r></w:sdtContent></w:sdt></w:p></w:endnote>`)

	comments := newPkg(`<w:p><w:commentRangeStart w:id="0"/><w:r><w:t>Commented.</w:t></w:r><w:commentRangeEnd w:id="0"/><w:r><w:commentReference w:id="0"/></w:r></w:p>`).
		withRels([2]string{"comments", "comments.xml"})
	comments["word/comments.xml"] = part("comments", `<w:comment w:id="0" w:author="X"><w:p><w:r><w:t>SECRET REVIEW</w:t></w:r></w:p></w:comment>`)

	strict := pkg{
		"_rels/.rels":   `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="r1" Type="http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument" Target="/word/main.xml"/></Relationships>`,
		"word/main.xml": documentXML(nsStrict, para("Strict text")),
	}
	byContentType := pkg{
		"[Content_Types].xml": `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/doc/body.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`,
		"doc/body.xml":        documentXML(nsW, para("Found by content type")),
	}
	fallback := pkg{"word/document.xml": documentXML(nsW, para("Fallback part"))}

	tests := []struct {
		name string
		p    pkg
		want string
	}{
		{"paragraphs", newPkg(para("Hello") + para("World") + `<w:p/>` + para("!")), "Hello\n\nWorld\n\n!"},
		{"runs join", newPkg(`<w:p><w:r><w:t>Hel</w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>lo</w:t></w:r></w:p>`), "Hello"},
		{"inline marks", newPkg(`<w:p><w:r><w:t>a</w:t><w:tab/><w:t>b</w:t><w:br/><w:t>c</w:t><w:cr/><w:t>d</w:t><w:noBreakHyphen/><w:t>e</w:t><w:softHyphen/><w:t>f</w:t><w:sym w:font="Wingdings" w:char="F04A"/><w:sym w:font="Arial" w:char="03A9"/></w:r></w:p>`),
			"a\tb\nc\nd-ef\u03a9"},
		{"tab stops are not tabs", newPkg(`<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr><w:r><w:t>x</w:t></w:r></w:p>`), "x"},
		{"lists", lists, "- apple\n  - pip\n- pear\n\nbetween\n\n1. one\n  1.a) sub a\n  1.b) sub b\n2. two\n4. four\n\nnot a list"},
		{"style list", styled, "- styled item"},
		{"table", newPkg(`<w:tbl><w:tblPr/><w:tblGrid><w:gridCol/></w:tblGrid><w:tr>` + cell(para("a")) + cell(para("b")) + `</w:tr><w:tr>` + cell(para("c")+para("c2")) + cell(`<w:p/>`) + `</w:tr></w:tbl>` + para("after")),
			"a\tb\nc c2\n\nafter"},
		{"merged cells once", newPkg(`<w:tbl><w:tr><w:tc><w:tcPr><w:gridSpan w:val="2"/></w:tcPr>` + para("wide") + `</w:tc></w:tr><w:tr><w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr>` + para("tall") + `</w:tc>` + cell(para("x")) + `</w:tr><w:tr><w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc>` + cell(para("y")) + `</w:tr></w:tbl>`),
			"wide\ntall\tx\n\ty"},
		{"nested table", newPkg(`<w:tbl><w:tr>` + cell(para("outer")+`<w:tbl><w:tr>`+cell(para("in1"))+cell(para("in2"))+`</w:tr></w:tbl>`) + cell(para("right")) + `</w:tr></w:tbl>`),
			"outer in1 in2\tright"},
		{"text box once", newPkg(`<w:p><w:r><w:t>Anchor</w:t></w:r><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wps:wsp><wps:txbx><w:txbxContent>` + para("Boxed") + `</w:txbxContent></wps:txbx></wps:wsp></w:drawing></mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox><w:txbxContent>` + para("Boxed") + `</w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>`),
			"Boxed\n\nAnchor"},
		{"content control and hyperlink", newPkg(`<w:sdt><w:sdtPr><w:alias w:val="Title"/></w:sdtPr><w:sdtContent>` + para("In control") + `</w:sdtContent></w:sdt><w:p><w:hyperlink r:id="rId9"><w:r><w:t>link text</w:t></w:r></w:hyperlink></w:p>`),
			"In control\n\nlink text"},
		{"tracked changes accepted", newPkg(`<w:p><w:r><w:t xml:space="preserve">Keep </w:t></w:r><w:ins w:id="1"><w:r><w:t>inserted</w:t></w:r></w:ins><w:del w:id="2"><w:r><w:delText>deleted</w:delText></w:r></w:del></w:p>` +
			`<w:p><w:moveFrom w:id="3"><w:r><w:t>moved away</w:t></w:r></w:moveFrom></w:p><w:p><w:moveTo w:id="4"><w:r><w:t>moved here</w:t></w:r></w:moveTo></w:p>`),
			"Keep inserted\n\nmoved here"},
		{"fields show results", newPkg(`<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGE \* MERGEFORMAT </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>7</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r><w:fldSimple w:instr="DATE"><w:r><w:t>today</w:t></w:r></w:fldSimple></w:p>`),
			"7today"},
		{"math", newPkg(`<w:p><w:r><w:t xml:space="preserve">Area: </w:t></w:r><m:oMath><m:r><m:t>A=π</m:t></m:r><m:sSup><m:e><m:r><m:t>r</m:t></m:r></m:e><m:sup><m:r><m:t>2</m:t></m:r></m:sup></m:sSup></m:oMath><w:r><w:t>.</w:t></w:r></w:p>`),
			"Area: A=π r 2 ."},
		{"comments left out", comments, "Commented."},
		{"notes", notes, "Body.[1] More.[2]\n\n[1] A footnote.\n\n[2] An endnote."},
		{"strict OOXML", strict, "Strict text"},
		{"main part by content type", byContentType, "Found by content type"},
		{"main part fallback", fallback, "Fallback part"},
		{"entities", newPkg(para("a &amp; b &lt;c&gt; &#x263A;")), "a & b <c> ☺"},
	}
	p := New()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc, err := parse(t, p, tc.p.zip(t), extract.Limits{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if doc.Text != tc.want {
				t.Errorf("text\n got %q\nwant %q", doc.Text, tc.want)
			}
		})
	}
}

func TestHeadersFooters(t *testing.T) {
	p := newPkg(para("Body")).withRels(
		[2]string{"header", "header1.xml"}, [2]string{"header", "header2.xml"}, [2]string{"header", "header3.xml"},
		[2]string{"footer", "footer1.xml"})
	p["word/header1.xml"] = part("hdr", para("Running title"))
	p["word/header2.xml"] = part("hdr", para("Running title"))
	p["word/header3.xml"] = part("hdr", para("First page"))
	p["word/footer1.xml"] = part("ftr", `<w:p><w:r><w:t xml:space="preserve">Page </w:t></w:r><w:fldSimple w:instr="PAGE"><w:r><w:t>1</w:t></w:r></w:fldSimple></w:p>`)
	b := p.zip(t)

	doc, err := parse(t, New(), b, extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Text != "Body" {
		t.Errorf("default: %q, want the body alone", doc.Text)
	}
	want := "Running title\n\nFirst page\n\nBody\n\nPage 1"
	doc, err = parse(t, NewWithOptions(Options{HeadersFooters: true}), b, extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Text != want {
		t.Errorf("Options.HeadersFooters: %q, want %q", doc.Text, want)
	}
	ex, err := extract.New(registryWith(New()), extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	xdoc, err := ex.Extract(t.Context(), extract.Input{R: bytes.NewReader(b), Size: int64(len(b))}, extract.Options{HeadersFooters: true})
	if err != nil {
		t.Fatal(err)
	}
	if xdoc.Text != want {
		t.Errorf("extract.Options.HeadersFooters: %q, want %q", xdoc.Text, want)
	}
}

func TestMetadata(t *testing.T) {
	p := newPkg(para("x"))
	p["docProps/core.xml"] = `<?xml version="1.0" encoding="UTF-8"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<dc:title>The Title</dc:title><dc:creator>Ada Lovelace</dc:creator><dc:language>en-GB</dc:language>
<dcterms:created xsi:type="dcterms:W3CDTF">2024-10-09T12:43:00Z</dcterms:created>
<dcterms:modified xsi:type="dcterms:W3CDTF">2024-10-15T11:34:05+02:00</dcterms:modified></cp:coreProperties>`
	doc, err := extractor(t, New(), extract.Config{}).Extract(t.Context(), extract.Input{R: strings.NewReader(string(p.zip(t))), Size: int64(len(p.zip(t)))}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	md := doc.Metadata
	if md.Title != "The Title" || md.Author != "Ada Lovelace" || md.Language != "en-GB" || md.Parser != "docx" || md.ParserVersion != version {
		t.Errorf("metadata %+v", md)
	}
	if md.Created == nil || md.Created.Format("2006-01-02 15:04") != "2024-10-09 12:43" {
		t.Errorf("created %v", md.Created)
	}
	if md.Modified == nil || md.Modified.UTC().Format("15:04:05") != "09:34:05" {
		t.Errorf("modified %v", md.Modified)
	}
}

func TestSniff(t *testing.T) {
	p := New()
	docx := newPkg(para("x")).zip(t)
	if got := p.Sniff(docx); got != MediaTypeDOCX {
		t.Errorf("docx: %q", got)
	}
	// [Content_Types].xml first, then a large entry that pushes every
	// "word/" name past the head: the content types decide.
	big := newPkg(para("x"))
	noise := make([]byte, 16<<10)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(noise)
	big["docProps/thumbnail.jpeg"] = string(noise)
	b := big.zip(t)
	if got := p.Sniff(b[:extract.SniffLen]); got != MediaTypeDOCX {
		t.Errorf("docx with word/ past the head: %q", got)
	}
	reg := extract.NewRegistry()
	reg.MustRegister("docx", p)
	if got := reg.Sniff(b[:extract.SniffLen], "x.bin"); got != MediaTypeDOCX {
		t.Errorf("registry: %q", got)
	}
	xlsx := pkg{"[Content_Types].xml": `<Types><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>`, "xl/workbook.xml": "<x/>"}
	for name, b := range map[string][]byte{"xlsx": xlsx.zip(t), "text": []byte("hello"), "empty": nil, "cfb": cfbFile(false)} {
		if got := p.Sniff(b); got != "" {
			t.Errorf("%s: %q, want none", name, got)
		}
	}
	if got := p.Sniff(cfbFile(true)); got != MediaTypeDOCX {
		t.Errorf("encrypted OOXML: %q", got)
	}
}

// cfbFile returns a minimal OLE compound file whose directory (sector 0)
// holds an "EncryptedPackage" entry when encrypted.
func cfbFile(encrypted bool) []byte {
	b := make([]byte, 1024)
	copy(b, cfbMagic)
	b[30] = 9 // 512-byte sectors
	name := "WordDocument"
	if encrypted {
		name = "EncryptedPackage"
	}
	copy(b[512:], utf16le(name))
	return b
}

func registryWith(p extract.Parser) *extract.Registry {
	r := extract.NewRegistry()
	r.MustRegister("docx", p)
	return r
}
