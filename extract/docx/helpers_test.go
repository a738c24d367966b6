package docx

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/ziptest"
)

const (
	nsW      = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
	nsStrict = "http://purl.oclc.org/ooxml/wordprocessingml/main"
	nsRel    = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	relBase  = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
)

// pkg is a DOCX package under construction: part name -> content.
type pkg map[string]string

// newPkg returns a minimal transitional package whose body is body
// (WordprocessingML inside w:body, prefix w:).
func newPkg(body string) pkg {
	return pkg{
		"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
</Types>`,
		"_rels/.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="` + relBase + `officeDocument" Target="word/document.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>
</Relationships>`,
		"word/document.xml": documentXML(nsW, body),
	}
}

func documentXML(ns, body string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="` + ns + `" xmlns:r="` + nsRel + `"
 xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"
 xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"
 xmlns:v="urn:schemas-microsoft-com:vml"
 xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math"><w:body>` + body + `</w:body></w:document>`
}

// withRels adds word/_rels/document.xml.rels with the given relationships
// (type suffix -> target).
func (p pkg) withRels(rels ...[2]string) pkg {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`)
	for i, r := range rels {
		b.WriteString(`<Relationship Id="rId` + string(rune('a'+i)) + `" Type="` + relBase + r[0] + `" Target="` + r[1] + `"/>`)
	}
	b.WriteString(`</Relationships>`)
	p["word/_rels/document.xml.rels"] = b.String()
	return p
}

// part returns a part wrapping inner in root (prefix w:).
func part(root, inner string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><w:` + root + ` xmlns:w="` + nsW + `">` + inner + `</w:` + root + `>`
}

// zip returns the package as DOCX bytes, [Content_Types].xml first.
func (p pkg) zip(t testing.TB) []byte {
	t.Helper()
	return ziptest.Build(t, ziptest.Files(p), "[Content_Types].xml")
}

// para is a paragraph of one run of text.
func para(text string) string {
	return `<w:p><w:r><w:t xml:space="preserve">` + text + `</w:t></w:r></w:p>`
}

// parse runs the parser on b with lim.
func parse(t testing.TB, p *Parser, b []byte, lim extract.Limits) (*extract.Document, error) {
	t.Helper()
	return p.Parse(context.Background(), extract.Input{R: bytes.NewReader(b), Size: int64(len(b)), MediaType: MediaTypeDOCX, Limits: lim})
}

// extractor returns an Extractor with the DOCX parser under cfg.
func extractor(t testing.TB, p *Parser, cfg extract.Config) *extract.Extractor {
	t.Helper()
	reg := extract.NewRegistry()
	reg.MustRegister("docx", p)
	ex, err := extract.New(reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}
