package odf

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
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

func parseODT(t *testing.T, body string, lim extract.Limits) *extract.Document {
	t.Helper()
	b := pkgZip(t, MediaTypeODT, entry{"META-INF/manifest.xml", manifestXML}, entry{"content.xml", content("text", body)})
	doc, err := New().Parse(context.Background(), extract.Input{R: bytes.NewReader(b), Size: int64(len(b)), MediaType: MediaTypeODT, Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	checkHeadings(t, doc)
	return doc
}

func TestHeadings(t *testing.T) {
	t.Parallel()
	body := `<text:h text:outline-level="1">Première partie</text:h>` +
		`<text:p>Intro <text:span>text</text:span>.</text:p>` +
		`<text:h text:outline-level="2">  Spaced<text:s text:c="2"/>heading </text:h>` +
		`<text:h>No level</text:h>` +
		`<text:h text:outline-level="9">Deep</text:h>` +
		`<text:list><text:list-item><text:h text:outline-level="2">Numbered</text:h></text:list-item></text:list>` +
		`<table:table><table:table-row><table:table-cell><text:h text:outline-level="1">In a cell</text:h></table:table-cell></table:table-row></table:table>` +
		`<text:h text:outline-level="3"></text:h>` +
		`<text:p>Body<text:note text:id="n1"><text:note-body><text:h text:outline-level="1">In a note</text:h></text:note-body></text:note></text:p>` +
		`<text:h text:outline-level="3">Last</text:h>`
	doc := parseODT(t, body, extract.Limits{})
	var got []string
	for _, h := range doc.Headings {
		got = append(got, fmt.Sprintf("%d %s", h.Level, h.Text))
	}
	want := []string{"1 Première partie", "2 Spaced  heading", "1 No level", "6 Deep", "2 Numbered", "3 Last"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("headings %q\nwant     %q\ntext %q", got, want, doc.Text)
	}
	// The walk stops at the cap: the headings after it are not there.
	cut := parseODT(t, body, extract.Limits{MaxChars: 20})
	if len(cut.Headings) != 1 || cut.Headings[0].Text != "Première partie" {
		t.Errorf("headings under a 20-character cap: %+v in %q", cut.Headings, cut.Text)
	}
}

func TestHeadingsNotInPresentations(t *testing.T) {
	t.Parallel()
	b := odpPkg(t)
	doc, err := New().Parse(context.Background(), extract.Input{R: bytes.NewReader(b), Size: int64(len(b)), MediaType: MediaTypeODP})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Headings) != 0 {
		t.Errorf("headings in a presentation: %+v", doc.Headings)
	}
	odt := parseODT(t, odtBody, extract.Limits{})
	if len(odt.Headings) != 1 || odt.Headings[0].Text != "Heading One" {
		t.Errorf("headings %+v", odt.Headings)
	}
}

// TestHeadingsChunks: through the Extractor, by_heading chunks follow the
// outline.
func TestHeadingsChunks(t *testing.T) {
	t.Parallel()
	body := `<text:h text:outline-level="1">Chapter 2</text:h><text:h text:outline-level="2">2.1 Setup</text:h><text:p>Install it.</text:p>` +
		`<text:h text:outline-level="2">2.2 Use</text:h><text:p>Run it.</text:p>`
	b := pkgZip(t, MediaTypeODT, entry{"content.xml", content("text", body)})
	reg := extract.NewRegistry()
	reg.MustRegister("odf", New())
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ex.Extract(context.Background(), extract.Input{R: bytes.NewReader(b), Size: int64(len(b))},
		extract.Options{Chunking: &extract.ChunkOptions{Strategy: extract.ChunkByHeading}})
	if err != nil {
		t.Fatal(err)
	}
	checkHeadings(t, doc)
	var got []string
	for _, c := range doc.Chunks {
		got = append(got, c.Text+" | "+strings.Join(c.HeadingPath, " > "))
	}
	want := []string{"Chapter 2\n\n2.1 Setup\n\nInstall it. | Chapter 2 > 2.1 Setup", "2.2 Use\n\nRun it. | Chapter 2 > 2.2 Use"}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Errorf("chunks %q\nwant   %q", got, want)
	}
}
