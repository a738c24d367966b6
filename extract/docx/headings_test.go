package docx

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/corpustest"
)

// checkHeadings: every heading stands in the text where Start says.
func checkHeadings(t *testing.T, doc *extract.Document) {
	t.Helper()
	runes := []rune(doc.Text)
	for _, h := range doc.Headings {
		if h.Start < 0 || h.Start > len(runes) || !strings.HasPrefix(string(runes[h.Start:]), h.Text) {
			t.Errorf("heading %q at %d: the text there is %q", h.Text, h.Start, string(runes[min(max(h.Start, 0), len(runes)):]))
		}
	}
}

// styledPara is a paragraph of one run with paragraph properties pPr.
func styledPara(pPr, text string) string {
	return `<w:p><w:pPr>` + pPr + `</w:pPr><w:r><w:t xml:space="preserve">` + text + `</w:t></w:r></w:p>`
}

func style(id string) string { return `<w:pStyle w:val="` + id + `"/>` }

const headingStyles = `<w:style w:type="paragraph" w:styleId="Titre"><w:name w:val="Title"/></w:style>` +
	`<w:style w:type="paragraph" w:styleId="berschrift1"><w:name w:val="heading 1"/><w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style>` +
	`<w:style w:type="paragraph" w:styleId="H2"><w:name w:val="heading 2"/></w:style>` +
	`<w:style w:type="paragraph" w:styleId="MyHead"><w:name w:val="My Head"/><w:basedOn w:val="H2"/></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Quote"><w:name w:val="Quote"/></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Heading3"><w:name w:val="Not a heading after all"/></w:style>`

func TestHeadings(t *testing.T) {
	t.Parallel()
	body := styledPara(style("Titre"), "The Title") +
		para("Intro paragraph.") +
		styledPara(style("berschrift1"), "Erstes Kapitel") +
		styledPara(style("MyHead"), "Custom based on heading 2") +
		styledPara(style("Quote"), "A quote") +
		styledPara(`<w:outlineLvl w:val="3"/>`, "  Direct outline level") +
		styledPara(style("berschrift1")+`<w:outlineLvl w:val="9"/>`, "Body text by its own level") +
		styledPara(style("Heading3"), "Heading3 by id, but its name says no") +
		`<w:tbl><w:tr><w:tc>` + styledPara(style("berschrift1"), "In a table") + `</w:tc></w:tr></w:tbl>` +
		styledPara(style("berschrift1"), "   ") +
		styledPara(style("H2"), "Last")
	p := newPkg(body).withRels([2]string{"styles", "styles.xml"})
	p["word/styles.xml"] = part("styles", headingStyles)
	doc, err := parse(t, New(), p.zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	checkHeadings(t, doc)
	var got []string
	for _, h := range doc.Headings {
		got = append(got, fmt.Sprintf("%d %s", h.Level, h.Text))
	}
	want := []string{"1 The Title", "1 Erstes Kapitel", "2 Custom based on heading 2", "4 Direct outline level", "2 Last"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("headings %q\nwant     %q\ntext %q", got, want, doc.Text)
	}
}

func TestHeadingsWithoutStylesPart(t *testing.T) {
	t.Parallel()
	p := newPkg(styledPara(style("Title"), "T") + para("x") + styledPara(style("Heading2"), "Two") + styledPara(style("Heading12"), "no") + styledPara(style("Normal"), "n"))
	doc, err := parse(t, New(), p.zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	checkHeadings(t, doc)
	if fmt.Sprintf("%+v", doc.Headings) != fmt.Sprintf("%+v", []extract.Heading{{Level: 1, Text: "T", Page: 1, Start: 0}, {Level: 2, Text: "Two", Page: 1, Start: 6}}) {
		t.Errorf("headings %+v in %q", doc.Headings, doc.Text)
	}
}

// TestHeadingsAfterHeadersAndCut: offsets count the page headers put
// before the body, and headings past the output cap are dropped.
func TestHeadingsAfterHeadersAndCut(t *testing.T) {
	t.Parallel()
	p := newPkg(styledPara(style("Heading1"), "Überblick") + para("Text.") + styledPara(style("Heading1"), "Zweites Kapitel")).
		withRels([2]string{"header", "header1.xml"})
	p["word/header1.xml"] = part("hdr", para("Running title ✓"))
	b := p.zip(t)
	doc, err := parse(t, NewWithOptions(Options{HeadersFooters: true}), b, extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	checkHeadings(t, doc)
	if len(doc.Headings) != 2 || doc.Headings[0].Start != 17 {
		t.Errorf("headings %+v in %q", doc.Headings, doc.Text)
	}
	doc, err = parse(t, New(), b, extract.Limits{MaxChars: 20})
	if err != nil {
		t.Fatal(err)
	}
	checkHeadings(t, doc)
	if len(doc.Headings) != 1 || doc.Headings[0].Text != "Überblick" {
		t.Errorf("headings under the cap: %+v in %q", doc.Headings, doc.Text)
	}
}

// TestHeadingsCorpus: on real documents, every heading stands where it
// says after the Extractor's normalisation; by_heading chunks carry paths.
func TestHeadingsCorpus(t *testing.T) {
	t.Parallel()
	dir := corpustest.Require(t)
	ex := extractor(t, New(), extract.Config{})
	files, err := filepath.Glob(filepath.Join(dir, "files", "docx-*.docx"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no DOCX files in the corpus: %v", err)
	}
	counts := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := ex.Extract(context.Background(), extract.Input{R: bytes.NewReader(b), Size: int64(len(b)), Filename: filepath.Base(f)},
			extract.Options{Chunking: &extract.ChunkOptions{Strategy: extract.ChunkByHeading, MaxChars: 500}})
		if err != nil {
			continue // the corpus has documents this parser refuses; TestCorpus covers them
		}
		checkHeadings(t, doc)
		name := strings.TrimSuffix(filepath.Base(f), ".docx")
		counts[name] = len(doc.Headings)
		if name == "docx-docling-unit_test_headers" {
			var paths []string
			for _, c := range doc.Chunks {
				paths = append(paths, strings.Join(c.HeadingPath, " > "))
			}
			if !strings.Contains(strings.Join(paths, "\n"), "Section 1 > Section 1.2 > Section 1.2.3") {
				t.Errorf("unit_test_headers: chunk paths\n%s", strings.Join(paths, "\n"))
			}
		}
	}
	for _, name := range []string{"docx-docling-unit_test_headers", "docx-docling-word_sample", "docx-pandoc-headers"} {
		if counts[name] == 0 {
			t.Errorf("%s: no headings", name)
		}
	}
	t.Logf("headings per document: %v", counts)
}

func FuzzHeadings(f *testing.F) {
	styled := newPkg(styledPara(style("Heading1"), "A") + para("b") + styledPara(`<w:outlineLvl w:val="1"/>`, " C ")).withRels([2]string{"styles", "styles.xml"})
	styled["word/styles.xml"] = part("styles", headingStyles)
	f.Add(styled.zip(f))
	f.Add(newPkg(styledPara(style("Title"), "T") + `<w:tbl><w:tr><w:tc>` + styledPara(style("Heading2"), "cell") + `</w:tc></w:tr></w:tbl>`).zip(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, lim := range []extract.Limits{{}, {MaxChars: 7}} {
			doc, err := parse(t, New(), b, lim)
			if err != nil {
				return
			}
			checkHeadings(t, doc)
		}
	})
}
