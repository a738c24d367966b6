package pptx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/extracttest"
)

var samplePages = []string{
	"Acme Results\n\nQuarterly review\n\nNotes:\nWelcome everyone.\nKeep it short.",
	"Highlights\n\nDraft\nconfidential\n\nRevenue up 12%\nCosts flat\n\nRegion\tQ1\tQ2\nNorth\t10\t12\nSouth\t\t9\n\nNotes:\nMention the new plant.",
	"Next steps\n\nfirst in group\n\nsecond in group\n\nChosen",
}

func pageTexts(doc *extract.Document) []string {
	var out []string
	for _, p := range doc.Pages {
		out = append(out, p.Text)
	}
	return out
}

func TestSample(t *testing.T) {
	doc, err := parse(t, New(), sampleDeck().zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pageTexts(doc); !slices.Equal(got, samplePages) {
		t.Fatalf("pages\n%q\nwant\n%q", got, samplePages)
	}
	for i, p := range doc.Pages {
		if p.Number != i+1 {
			t.Errorf("page %d numbered %d", i+1, p.Number)
		}
	}
	md := doc.Metadata
	if md.Title != "Deck Title" || md.Author != "Ada Lovelace" || md.Created == nil || md.Created.Day() != 1 || md.Modified == nil || md.Modified.Hour() != 10 || md.PageCount != 3 {
		t.Errorf("metadata %+v", md)
	}
	wantHeadings := []extract.Heading{{Level: 1, Text: "Acme Results", Page: 1}, {Level: 1, Text: "Highlights", Page: 2}, {Level: 1, Text: "Next steps", Page: 3}}
	if !slices.Equal(doc.Headings, wantHeadings) {
		t.Errorf("headings %+v", doc.Headings)
	}
	if len(doc.Warnings) != 0 {
		t.Errorf("warnings %v", doc.Warnings)
	}
	if strings.Contains(strings.Join(pageTexts(doc), ""), "HIDDEN") {
		t.Error("text of a merged cell came out")
	}
}

func TestOptions(t *testing.T) {
	b := sampleDeck().zip(t)
	doc, err := parse(t, NewWithOptions(Options{OmitNotes: true}), b, extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.Pages[0].Text; got != "Acme Results\n\nQuarterly review" {
		t.Errorf("without notes: %q", got)
	}
	doc, err = parse(t, NewWithOptions(Options{HeadersFooters: true}), b, extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := doc.Pages[2].Text, samplePages[2]+"\n\nCompany confidential\n\n3"; got != want {
		t.Errorf("with furniture: %q, want %q", got, want)
	}
	if got, want := doc.Pages[0].Text, "Acme Results\n\nQuarterly review\n\nNotes:\nWelcome everyone.\nKeep it short.\n\n1"; got != want {
		t.Errorf("notes with furniture: %q, want %q", got, want)
	}
	// Per document, through the Input.
	doc, err = New().Parse(t.Context(), extract.Input{R: bytes.NewReader(b), Size: int64(len(b)), HeadersFooters: true})
	if err != nil || !strings.Contains(doc.Pages[2].Text, "Company confidential") {
		t.Errorf("Input.HeadersFooters: %v %q", err, doc.Pages[2].Text)
	}
}

// The slide list decides the order, not part names nor relationship order.
func TestSlideOrder(t *testing.T) {
	p := deckPkg(slide{shapes: []string{sp(`type="title"`, "", "One")}}, slide{shapes: []string{sp(`type="title"`, "", "Two")}}, slide{shapes: []string{sp(`type="title"`, "", "Three")}})
	p["ppt/presentation.xml"] = strings.Replace(p["ppt/presentation.xml"],
		`<p:sldId id="256" r:id="rId1"/><p:sldId id="257" r:id="rId2"/><p:sldId id="258" r:id="rId3"/>`,
		`<p:sldId id="300" r:id="rId3"/><p:sldId id="301" r:id="rId1"/><p:sldId id="302" r:id="rId3"/><p:sldId id="303" r:id="rId2"/>`, 1)
	doc, err := parse(t, New(), p.zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// The repeated slide is read once; numbers follow the list.
	if got := pageTexts(doc); !slices.Equal(got, []string{"Three", "One", "Two"}) {
		t.Fatalf("pages %q", got)
	}
	if doc.Pages[2].Number != 3 {
		t.Errorf("numbers %+v", doc.Pages)
	}

	// No slide list: relationships in natural name order.
	p = deckPkg()
	var rels [][3]string
	for _, n := range []string{"10", "2", "1"} {
		rels = append(rels, [3]string{"r" + n, "slide", "slides/slide" + n + ".xml"})
		p["ppt/slides/slide"+n+".xml"] = slideXML("sld", sp("-", "", "s"+n))
	}
	p["ppt/_rels/presentation.xml.rels"] = relsXML(rels...)
	doc, err = parse(t, New(), p.zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pageTexts(doc); !slices.Equal(got, []string{"s1", "s2", "s10"}) {
		t.Fatalf("fallback pages %q", got)
	}
}

func TestMissingAndBrokenSlides(t *testing.T) {
	p := deckPkg(slide{shapes: []string{sp("-", "", "first")}}, slide{shapes: []string{sp("-", "", "second")}}, slide{shapes: []string{sp("-", "", "third")}})
	delete(p, "ppt/slides/slide2.xml")
	p["ppt/slides/slide3.xml"] = "<p:sld><p:cSld><p:spTree><p:sp>"
	doc, err := parse(t, New(), p.zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 1 || doc.Pages[0].Text != "first" || doc.Pages[0].Number != 1 {
		t.Fatalf("pages %+v", doc.Pages)
	}
	if len(doc.Warnings) != 2 || doc.Warnings[0].Code != extract.WarnPageFailed || doc.Warnings[0].Page != 2 || doc.Warnings[1].Page != 3 {
		t.Errorf("warnings %+v", doc.Warnings)
	}
	// All slides broken: the document is malformed.
	p["ppt/slides/slide1.xml"] = "<p:sld><oops"
	if _, err := parse(t, New(), p.zip(t), extract.Limits{}); !errors.Is(err, extract.ErrMalformed) {
		t.Fatalf("error %v", err)
	}
	// No slides at all is an empty presentation, not an error.
	doc, err = parse(t, New(), deckPkg().zip(t), extract.Limits{})
	if err != nil || len(doc.Pages) != 0 {
		t.Fatalf("empty deck: %v %+v", err, doc)
	}
}

func TestSmartArtAndFields(t *testing.T) {
	frame := `<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="5" name="Diagram"/><p:cNvGraphicFramePr/><p:nvPr/></p:nvGraphicFramePr><p:xfrm><a:off x="0" y="3000000"/><a:ext cx="1" cy="1"/></p:xfrm><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/diagram"><dgm:relIds xmlns:dgm="http://schemas.openxmlformats.org/drawingml/2006/diagram" r:dm="rIdD" r:lo="rIdL" r:qs="rIdQ" r:cs="rIdC"/></a:graphicData></a:graphic></p:graphicFrame>`
	field := `<p:sp><p:nvSpPr><p:cNvPr id="7" name="f"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr><p:spPr><a:xfrm><a:off x="0" y="100"/></a:xfrm></p:spPr><p:txBody><a:p><a:r><a:t>Page </a:t></a:r><a:fld id="{1}" type="slidenum"><a:rPr/><a:t>2</a:t></a:fld></a:p></p:txBody></p:sp>`
	p := deckPkg(slide{shapes: []string{frame, field}, extra: [][3]string{{"rIdD", "diagramData", "../diagrams/data1.xml"}}})
	p["ppt/diagrams/data1.xml"] = `<dgm:dataModel xmlns:dgm="http://schemas.openxmlformats.org/drawingml/2006/diagram" xmlns:a="` + nsA + `"><dgm:ptLst>` +
		`<dgm:pt modelId="0" type="doc"><dgm:prSet/><dgm:spPr/><dgm:t><a:bodyPr/><a:p><a:r><a:t>ROOT</a:t></a:r></a:p></dgm:t></dgm:pt>` +
		`<dgm:pt modelId="1"><dgm:prSet/><dgm:spPr/><dgm:t><a:bodyPr/><a:p><a:r><a:t>Plan</a:t></a:r></a:p></dgm:t></dgm:pt>` +
		`<dgm:pt modelId="2" type="parTrans"><dgm:t><a:p><a:r><a:t>EDGE</a:t></a:r></a:p></dgm:t></dgm:pt>` +
		`<dgm:pt modelId="3"><dgm:prSet/><dgm:t><a:bodyPr/><a:p><a:r><a:t>Build</a:t></a:r></a:p></dgm:t></dgm:pt>` +
		`</dgm:ptLst><dgm:cxnLst/></dgm:dataModel>`
	doc, err := parse(t, New(), p.zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := doc.Pages[0].Text, "Page 2\n\nPlan\nBuild"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
}

// Strict OOXML differs in namespaces and relationship types only.
func TestStrict(t *testing.T) {
	p := deckPkg(slide{shapes: []string{sp(`type="title"`, "", "Strict title")}})
	for name, data := range p {
		data = strings.ReplaceAll(data, relBase, "http://purl.oclc.org/ooxml/officeDocument/relationships/")
		data = strings.ReplaceAll(data, nsP, "http://purl.oclc.org/ooxml/presentationml/main")
		data = strings.ReplaceAll(data, nsA, "http://purl.oclc.org/ooxml/drawingml/main")
		p[name] = data
	}
	doc, err := parse(t, New(), p.zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Text != "" || len(doc.Pages) != 1 || doc.Pages[0].Text != "Strict title" {
		t.Fatalf("%+v", doc)
	}
}

func TestErrors(t *testing.T) {
	cfb := append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 600)...)
	enc := append(bytes.Clone(cfb), "E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k\x00a\x00g\x00e\x00"...) // UTF-16LE "EncryptedPackage"
	noMain := sampleDeck()
	delete(noMain, "ppt/presentation.xml")
	badPres := sampleDeck()
	badPres["ppt/presentation.xml"] = "<p:presentation><p:sldIdLst>"
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"not a zip", []byte("hello, not a zip at all"), extract.ErrMalformed},
		{"empty", nil, extract.ErrMalformed},
		{"legacy ppt", cfb, extract.ErrMalformed},
		{"encrypted", enc, extract.ErrEncrypted},
		{"no presentation", noMain.zip(t), extract.ErrMalformed},
		{"broken presentation", badPres.zip(t), extract.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parse(t, New(), tc.data, extract.Limits{}); !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	reg := extract.NewRegistry()
	reg.MustRegister("pptx", New())
	macro := sampleDeck()
	macro["[Content_Types].xml"] = strings.Replace(macro["[Content_Types].xml"], "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml", "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml", 1)
	show := sampleDeck()
	show["[Content_Types].xml"] = strings.Replace(show["[Content_Types].xml"], "presentationml.presentation.main+xml", "presentationml.slideshow.main+xml", 1)
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{sampleDeck().zip(t), MediaTypePPTX},
		{macro.zip(t), MediaTypePPTM},
		{show.zip(t), MediaTypePPSX},
	} {
		head := tc.data[:min(len(tc.data), extract.SniffLen)]
		if got := New().Sniff(head); got != tc.want {
			t.Errorf("Sniff = %q, want %q", got, tc.want)
		}
		if name, _, err := reg.Lookup(reg.Sniff(head, "")); err != nil || name != "pptx" {
			t.Errorf("Registry: %q %v", name, err)
		}
	}
	for _, h := range [][]byte{nil, []byte("PK\x03\x04"), []byte("%PDF-1.7"), (pkg{"word/document.xml": "<w/>"}).zip(t)} {
		if got := New().Sniff(h); got != "" {
			t.Errorf("Sniff(%.20q) = %q", h, got)
		}
	}
}

func TestLimits(t *testing.T) {
	b := sampleDeck().zip(t)
	for _, n := range []int{1, 5, 13, 14, 15, 40, 100} {
		doc, err := parse(t, New(), b, extract.Limits{MaxChars: n})
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for i, p := range doc.Pages {
			if i > 0 {
				total += 2
			}
			total += utf8.RuneCountInString(p.Text)
		}
		if total > n {
			t.Errorf("MaxChars %d: %d code points", n, total)
		}
		if len(doc.Warnings) == 0 || doc.Warnings[0].Code != extract.WarnTruncated {
			t.Errorf("MaxChars %d: warnings %v", n, doc.Warnings)
		}
	}
	doc, err := parse(t, New(), b, extract.Limits{MaxPages: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 2 || doc.Metadata.PageCount != 3 || len(doc.Warnings) != 1 || doc.Warnings[0].Code != extract.WarnTruncated {
		t.Errorf("MaxPages: %d pages, %+v, %v", len(doc.Pages), doc.Metadata, doc.Warnings)
	}
}

func TestNaturalCompare(t *testing.T) {
	names := []string{"s10", "s2", "s1", "s01", "a", "s", "t1"}
	slices.SortFunc(names, naturalCompare)
	if want := []string{"a", "s", "s1", "s01", "s2", "s10", "t1"}; !slices.Equal(names, want) {
		t.Errorf("%q, want %q", names, want)
	}
}

// seeds are the generated decks written to testdata/ for the fuzzer and the
// conformance suite of extract/standard.
func seeds(t testing.TB) map[string][]byte {
	smart := deckPkg(slide{shapes: []string{`<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="5" name="D"/><p:cNvGraphicFramePr/><p:nvPr/></p:nvGraphicFramePr><a:graphic><a:graphicData><dgm:relIds xmlns:dgm="http://schemas.openxmlformats.org/drawingml/2006/diagram" r:dm="rIdD"/></a:graphicData></a:graphic></p:graphicFrame>`},
		extra: [][3]string{{"rIdD", "diagramData", "../diagrams/data1.xml"}}})
	smart["ppt/diagrams/data1.xml"] = `<dgm:dataModel xmlns:dgm="d" xmlns:a="a"><dgm:ptLst><dgm:pt modelId="1"><dgm:t><a:p><a:r><a:t>Node</a:t></a:r></a:p></dgm:t></dgm:pt></dgm:ptLst></dgm:dataModel>`
	return map[string][]byte{
		"seed-sample.pptx":   sampleDeck().zip(t),
		"seed-smartart.pptx": smart.zip(t),
	}
}

// TestSeeds keeps testdata/ in step with seeds(); QUARRY_WRITE_SEEDS=1
// rewrites the files.
func TestSeeds(t *testing.T) {
	for name, b := range seeds(t) {
		path := filepath.Join("testdata", name)
		if os.Getenv("QUARRY_WRITE_SEEDS") != "" {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s is stale or missing (%v): run QUARRY_WRITE_SEEDS=1 go test -run TestSeeds", path, err)
		}
	}
}

func TestConformance(t *testing.T) {
	extracttest.Run(t, New(),
		extracttest.Case{Name: "sample", Input: sampleDeck().zip(t), WantContains: []string{"Acme Results", "North\t10\t12", "Notes:\nMention the new plant."}},
		extracttest.Case{Name: "pptm", Input: sampleDeck().zip(t), MediaType: MediaTypePPTM, WantContains: []string{"Next steps"}},
		extracttest.Case{Name: "garbage", Input: []byte("not a zip"), WantErr: extract.ErrMalformed},
	)
}

// Shapes whose vertical extents overlap read left to right: staggered
// boxes, and columns whose tops differ.
func TestReadingOrder(t *testing.T) {
	box := func(x, y, h int, text string) string {
		return `<p:sp><p:nvSpPr><p:cNvPr id="3" name="b"/><p:cNvSpPr txBox="1"/><p:nvPr/></p:nvSpPr><p:spPr><a:xfrm><a:off x="` + strconv.Itoa(x) + `" y="` + strconv.Itoa(y) + `"/><a:ext cx="100" cy="` + strconv.Itoa(h) + `"/></a:xfrm></p:spPr><p:txBody><a:p><a:r><a:t>` + text + `</a:t></a:r></a:p></p:txBody></p:sp>`
	}
	p := deckPkg(slide{shapes: []string{
		box(3000, 5000, 1000, "4"), box(2000, 4000, 1000, "3"), box(1000, 4500, 1000, "2"), box(0, 4000, 1000, "1"),
		box(0, 9000, 10, "6"), box(500, 8000, 10, "5"),
		sp(`type="title"`, "0,20000", "Title"),
	}})
	doc, err := parse(t, New(), p.zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := doc.Pages[0].Text, "Title\n\n1\n\n2\n\n3\n\n4\n\n5\n\n6"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
