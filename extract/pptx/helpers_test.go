package pptx

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/ziptest"
)

const (
	nsP     = "http://schemas.openxmlformats.org/presentationml/2006/main"
	nsA     = "http://schemas.openxmlformats.org/drawingml/2006/main"
	nsR     = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	relBase = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
)

// pkg is a package under construction: part name -> content.
type pkg map[string]string

func (p pkg) zip(t testing.TB) []byte {
	t.Helper()
	return ziptest.Build(t, ziptest.Files(p), "[Content_Types].xml") // first, as Office writes it
}

// relsXML builds a relationships part; each rel is {id, type suffix, target}.
func relsXML(rels ...[3]string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`)
	for _, r := range rels {
		typ := relBase + r[1]
		if r[1] == "core-properties" {
			typ = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
		}
		fmt.Fprintf(&b, `<Relationship Id="%s" Type="%s" Target="%s"/>`, r[0], typ, r[2])
	}
	b.WriteString(`</Relationships>`)
	return b.String()
}

// sp is a text shape; ph is `type="title"`-like attributes of p:ph ("" for
// none, "-" for a shape that is not a placeholder); off is "x,y" or "".
func sp(ph, off string, paras ...string) string {
	var b strings.Builder
	b.WriteString(`<p:sp><p:nvSpPr><p:cNvPr id="2" name="s"/><p:cNvSpPr/><p:nvPr>`)
	if ph != "-" {
		b.WriteString(`<p:ph ` + ph + `/>`)
	}
	b.WriteString(`</p:nvPr></p:nvSpPr><p:spPr>`)
	if off != "" {
		x, y, _ := strings.Cut(off, ",")
		b.WriteString(`<a:xfrm><a:off x="` + x + `" y="` + y + `"/><a:ext cx="100" cy="100"/></a:xfrm>`)
	}
	b.WriteString(`</p:spPr><p:txBody><a:bodyPr/><a:lstStyle/>`)
	for _, p := range paras {
		b.WriteString(`<a:p><a:pPr lvl="0"/>`)
		for i, line := range strings.Split(p, "\n") {
			if i > 0 {
				b.WriteString(`<a:br><a:rPr lang="en-US"/></a:br>`)
			}
			b.WriteString(`<a:r><a:rPr lang="en-US" dirty="0"/><a:t>` + line + `</a:t></a:r>`)
		}
		b.WriteString(`<a:endParaRPr lang="en-US"/></a:p>`)
	}
	b.WriteString(`</p:txBody></p:sp>`)
	return b.String()
}

// tbl is a graphic frame holding a table; rows are tab-separated cells, a
// cell "<h>" is merged into its left neighbour.
func tbl(off string, rows ...string) string {
	x, y, _ := strings.Cut(off, ",")
	var b strings.Builder
	b.WriteString(`<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="4" name="Table"/><p:cNvGraphicFramePr><a:graphicFrameLocks noGrp="1"/></p:cNvGraphicFramePr><p:nvPr/></p:nvGraphicFramePr>`)
	b.WriteString(`<p:xfrm><a:off x="` + x + `" y="` + y + `"/><a:ext cx="100" cy="100"/></p:xfrm>`)
	b.WriteString(`<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/table"><a:tbl><a:tblPr firstRow="1"/><a:tblGrid><a:gridCol w="100"/></a:tblGrid>`)
	for _, r := range rows {
		b.WriteString(`<a:tr h="100">`)
		for _, c := range strings.Split(r, "\t") {
			if c == "<h>" {
				b.WriteString(`<a:tc hMerge="1"><a:txBody><a:bodyPr/><a:p><a:r><a:t>HIDDEN</a:t></a:r></a:p></a:txBody></a:tc>`)
				continue
			}
			b.WriteString(`<a:tc><a:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:rPr lang="en-US"/><a:t>` + c + `</a:t></a:r></a:p></a:txBody><a:tcPr/></a:tc>`)
		}
		b.WriteString(`</a:tr>`)
	}
	b.WriteString(`</a:tbl></a:graphicData></a:graphic></p:graphicFrame>`)
	return b.String()
}

// slideXML wraps shapes in p:sld/p:cSld/p:spTree (root is "sld", "notes",
// "sldLayout" or "sldMaster").
func slideXML(root string, shapes ...string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:` + root + ` xmlns:a="` + nsA + `" xmlns:r="` + nsR + `" xmlns:p="` + nsP + `" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">` +
		`<p:cSld><p:spTree><p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/><a:chOff x="0" y="0"/><a:chExt cx="0" cy="0"/></a:xfrm></p:grpSpPr>` +
		strings.Join(shapes, "") + `</p:spTree></p:cSld><p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:` + root + `>`
}

// slide is one slide of a deck under construction.
type slide struct {
	shapes []string
	notes  []string // shapes of its notes page
	extra  [][3]string
}

// deckPkg builds a presentation of the given slides, with a layout whose
// title and body placeholders have positions, a master, and core
// properties.
func deckPkg(slides ...slide) pkg {
	p := pkg{}
	var ct strings.Builder
	ct.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>`)
	ct.WriteString(`<Override PartName="/ppt/presentation.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"/>`)
	presRels := [][3]string{{"rIdM", "slideMaster", "slideMasters/slideMaster1.xml"}}
	var ids strings.Builder
	for i, s := range slides {
		n := fmt.Sprint(i + 1)
		presRels = append(presRels, [3]string{"rId" + n, "slide", "slides/slide" + n + ".xml"})
		fmt.Fprintf(&ids, `<p:sldId id="%d" r:id="rId%s"/>`, 256+i, n)
		ct.WriteString(`<Override PartName="/ppt/slides/slide` + n + `.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.slide+xml"/>`)
		p["ppt/slides/slide"+n+".xml"] = slideXML("sld", s.shapes...)
		rels := [][3]string{{"rId1", "slideLayout", "../slideLayouts/slideLayout1.xml"}}
		if len(s.notes) > 0 {
			rels = append(rels, [3]string{"rId2", "notesSlide", "../notesSlides/notesSlide" + n + ".xml"})
			p["ppt/notesSlides/notesSlide"+n+".xml"] = slideXML("notes", s.notes...)
			p["ppt/notesSlides/_rels/notesSlide"+n+".xml.rels"] = relsXML([3]string{"rId1", "slide", "../slides/slide" + n + ".xml"})
		}
		rels = append(rels, s.extra...)
		p["ppt/slides/_rels/slide"+n+".xml.rels"] = relsXML(rels...)
	}
	ct.WriteString(`</Types>`)
	p["[Content_Types].xml"] = ct.String()
	p["_rels/.rels"] = relsXML([3]string{"rId1", "officeDocument", "ppt/presentation.xml"}, [3]string{"rId2", "core-properties", "docProps/core.xml"})
	p["ppt/presentation.xml"] = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:presentation xmlns:a="` + nsA + `" xmlns:r="` + nsR + `" xmlns:p="` + nsP + `"><p:sldMasterIdLst><p:sldMasterId id="2147483648" r:id="rIdM"/></p:sldMasterIdLst><p:sldIdLst>` + ids.String() + `</p:sldIdLst><p:sldSz cx="9144000" cy="6858000"/><p:notesSz cx="6858000" cy="9144000"/></p:presentation>`
	p["ppt/_rels/presentation.xml.rels"] = relsXML(presRels...)
	p["ppt/slideLayouts/slideLayout1.xml"] = slideXML("sldLayout", sp(`type="title"`, "457200,274638", "Click to edit title"), sp(`idx="1"`, "457200,1600200", "Click to edit text"))
	p["ppt/slideLayouts/_rels/slideLayout1.xml.rels"] = relsXML([3]string{"rId1", "slideMaster", "../slideMasters/slideMaster1.xml"})
	p["ppt/slideMasters/slideMaster1.xml"] = slideXML("sldMaster", sp(`type="title"`, "457200,274638", "Master title"), sp(`type="body" idx="1"`, "457200,1600200", "Master text"), sp(`type="ftr" idx="3"`, "3124200,6356350", ""))
	p["ppt/slideMasters/_rels/slideMaster1.xml.rels"] = relsXML([3]string{"rId1", "slideLayout", "../slideLayouts/slideLayout1.xml"})
	p["docProps/core.xml"] = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>Deck Title</dc:title><dc:creator>Ada Lovelace</dc:creator><dcterms:created xsi:type="dcterms:W3CDTF">2024-03-01T09:00:00Z</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">2024-03-02T10:30:00Z</dcterms:modified></cp:coreProperties>`
	return p
}

// sampleDeck is a three-slide deck: a title slide, a slide with a body,
// a text box placed above it and a table, and a slide with a group and
// furniture; notes on the first two.
func sampleDeck() pkg {
	return deckPkg(
		slide{
			shapes: []string{sp(`type="subTitle" idx="1"`, "", "Quarterly review"), sp(`type="ctrTitle"`, "", "Acme Results")},
			notes:  []string{sp(`type="sldImg"`, "", ""), sp(`type="body" idx="1"`, "", "Welcome everyone.", "Keep it short."), sp(`type="sldNum" idx="5"`, "", "1")},
		},
		slide{
			shapes: []string{
				sp(`idx="1"`, "", "Revenue up 12%", "Costs flat"),
				sp(`type="title"`, "", "Highlights"),
				tbl("457200,4000000", "Region\tQ1\tQ2", "North\t10\t12", "South\t<h>\t9"),
				sp("-", "6000000,900000", "Draft\nconfidential"),
			},
			notes: []string{sp(`type="body" idx="1"`, "", "Mention the new plant.")},
		},
		slide{
			shapes: []string{
				sp(`type="title"`, "", "Next steps"),
				`<p:grpSp><p:nvGrpSpPr><p:cNvPr id="9" name="g"/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr><a:xfrm><a:off x="100" y="2000000"/><a:ext cx="1" cy="1"/><a:chOff x="0" y="0"/><a:chExt cx="1" cy="1"/></a:xfrm></p:grpSpPr>` +
					sp("-", "0,500", "second in group") + sp("-", "0,100", "first in group") + `</p:grpSp>`,
				sp(`type="ftr" idx="3"`, "", "Company confidential"),
				sp(`type="sldNum" idx="4"`, "", "3"),
				`<mc:AlternateContent><mc:Choice Requires="p14">` + sp("-", "100,5000000", "Chosen") + `</mc:Choice><mc:Fallback>` + sp("-", "100,5000000", "Chosen") + `</mc:Fallback></mc:AlternateContent>`,
			},
		},
	)
}

func parse(t testing.TB, p *Parser, b []byte, lim extract.Limits) (*extract.Document, error) {
	t.Helper()
	return p.Parse(context.Background(), extract.Input{R: bytes.NewReader(b), Size: int64(len(b)), Limits: lim})
}
