package xlsx

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/ziptest"
)

const relBase = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"

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

// sheetXML wraps rows (the XML of row elements) in a worksheet.
func sheetXML(rows string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><dimension ref="A1:D9"/><sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/><cols><col min="1" max="1" width="12" customWidth="1"/></cols><sheetData>` +
		rows + `</sheetData><mergeCells count="1"><mergeCell ref="A9:B9"/></mergeCells><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>`
}

// sheetDef is one sheet of a workbook under construction.
type sheetDef struct {
	name, state string
	rows        string // row elements; "" for a chart sheet when chart is set
	chart       bool
}

// stylesXML: cellXfs 0 general, 1 builtin 14 (short date), 2 custom
// "0.0%", 3 custom "#,##0.00 \"EUR\"", 4 custom "yyyy-mm-dd hh:mm", 5
// builtin 22 (date and time), 6 custom ";;;" (hidden).
const stylesXML = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
	`<numFmts count="4"><numFmt numFmtId="164" formatCode="0.0%"/><numFmt numFmtId="165" formatCode="#,##0.00 &quot;EUR&quot;"/><numFmt numFmtId="166" formatCode="yyyy-mm-dd hh:mm"/><numFmt numFmtId="167" formatCode=";;;"/></numFmts>` +
	`<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
	`<cellXfs count="7"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="167" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>` +
	`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>`

// bookPkg builds a workbook of the given sheets with the shared strings
// sst, the styles above and core properties.
func bookPkg(sst []string, sheets ...sheetDef) pkg {
	p := pkg{}
	var wb, ct strings.Builder
	ct.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>`)
	wb.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><fileVersion appName="xl"/><workbookPr defaultThemeVersion="124226"/><bookViews><workbookView xWindow="0" yWindow="0"/></bookViews><sheets>`)
	rels := [][3]string{{"rIdS", "sharedStrings", "sharedStrings.xml"}, {"rIdT", "styles", "styles.xml"}}
	for i, s := range sheets {
		n := fmt.Sprint(i + 1)
		state := ""
		if s.state != "" {
			state = ` state="` + s.state + `"`
		}
		fmt.Fprintf(&wb, `<sheet name="%s" sheetId="%s"%s r:id="rId%s"/>`, s.name, n, state, n)
		if s.chart {
			rels = append(rels, [3]string{"rId" + n, "chartsheet", "chartsheets/sheet" + n + ".xml"})
			p["xl/chartsheets/sheet"+n+".xml"] = `<chartsheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetPr/><sheetViews><sheetView workbookViewId="0"/></sheetViews></chartsheet>`
			continue
		}
		rels = append(rels, [3]string{"rId" + n, "worksheet", "worksheets/sheet" + n + ".xml"})
		p["xl/worksheets/sheet"+n+".xml"] = sheetXML(s.rows)
	}
	wb.WriteString(`</sheets><definedNames><definedName name="x">Sales!$A$1</definedName></definedNames><calcPr calcId="191029"/></workbook>`)
	var ss strings.Builder
	fmt.Fprintf(&ss, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">`, len(sst), len(sst))
	for _, s := range sst {
		ss.WriteString(`<si>` + s + `</si>`)
	}
	ss.WriteString(`</sst>`)
	p["[Content_Types].xml"] = ct.String()
	p["_rels/.rels"] = relsXML([3]string{"rId1", "officeDocument", "xl/workbook.xml"}, [3]string{"rId2", "core-properties", "docProps/core.xml"})
	p["xl/workbook.xml"] = wb.String()
	p["xl/_rels/workbook.xml.rels"] = relsXML(rels...)
	p["xl/sharedStrings.xml"] = ss.String()
	p["xl/styles.xml"] = stylesXML
	p["docProps/core.xml"] = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>Budget 2024</dc:title><dc:creator>Grace Hopper</dc:creator><dcterms:created xsi:type="dcterms:W3CDTF">2024-01-05T08:00:00Z</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">2024-02-06T09:15:00Z</dcterms:modified></cp:coreProperties>`
	return p
}

// sampleSST are the shared strings of the sample workbook.
var sampleSST = []string{
	`<t>Region</t>`, `<t>Revenue</t>`, `<t>Date</t>`,
	`<r><rPr><b/></rPr><t>North</t></r><r><t xml:space="preserve"> East</t></r>`,
	`<t>South</t><rPh sb="0" eb="1"><t>PHONETIC</t></rPh>`,
	`<t>Line one
line two</t>`,
	`<t>secret</t>`, `<t>Total</t>`, `<t></t>`,
}

// sampleBook is a workbook of four sheets: Sales (strings, numbers, dates,
// formats, a formula, booleans, errors, empty styled cells, a gap row),
// a hidden sheet, a chart sheet and Notes (inline strings, 1-column gap).
func sampleBook() pkg {
	sales := `<row r="1" spans="1:4"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" s="2"/></row>` +
		`<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" s="3"><v>1234.5</v></c><c r="C2" s="1"><v>45306</v></c><c r="D2" s="2"><v>0.125</v></c></row>` +
		`<row r="3"><c r="A3" t="s"><v>4</v></c><c r="B3" s="3"><v>-20</v></c><c r="C3" s="4"><v>45307.5</v></c><c r="D3" s="5"><v>45308.25</v></c></row>` +
		`<row r="4" hidden="1"><c r="A4" t="s"><v>5</v></c><c r="B4"><f>B2+B3</f><v>1214.5</v></c><c r="C4" t="b"><v>1</v></c><c r="D4" t="e"><v>#DIV/0!</v></c></row>` +
		`<row r="5"><c r="A5" s="3"/><c r="B5" s="3"/><c r="C5" t="s"><v>8</v></c><c r="D5"><f>NOW()</f></c></row>` +
		`<row r="7"><c r="A7" t="s"><v>7</v></c><c r="C7" t="str"><f>"a"&amp;"b"</f><v>ab</v></c><c r="D7" s="6"><v>42</v></c></row>` +
		`<row r="9"><c r="A9"><v>0.1</v></c><c r="B9"><v>1E+20</v></c></row>`
	notes := `<row r="1"><c r="A1" t="inlineStr"><is><t>Inline note</t></is></c><c r="C1" t="inlineStr"><is><r><t>rich</t></r><r><t xml:space="preserve"> text</t></r><rPh><t>X</t></rPh></is></c></row>` +
		`<row r="2"><c t="inlineStr"><is><t>tab	inside</t></is></c><c><v>7</v></c></row>`
	return bookPkg(sampleSST,
		sheetDef{name: "Sales", rows: sales},
		sheetDef{name: "Lookup", state: "hidden", rows: `<row r="1"><c r="A1" t="s"><v>6</v></c></row>`},
		sheetDef{name: "Chart1", chart: true},
		sheetDef{name: "Notes &amp; more", rows: notes},
	)
}

var sampleSales = "Sales\n" +
	"Region\tRevenue\tDate\n" +
	"North East\t1,234.50 EUR\t2024-01-15\t12.5%\n" +
	"South\t-20.00 EUR\t2024-01-16 12:00\t2024-01-17 06:00\n" +
	"Line one line two\t1214.5\tTRUE\t#DIV/0!\n" +
	"Total\t\tab\n" +
	"0.1\t1E+20"

var sampleNotes = "Notes & more\nInline note\t\trich text\ntab inside\t7"

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
