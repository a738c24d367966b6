package extract_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/corpustest"
)

// bookParser returns three pages with headings, as a paginated parser of a
// format with headings would.
func bookParser() *fakeParser {
	return &fakeParser{types: []string{"text/x-pages"}, parse: func(context.Context, extract.Input) (*extract.Document, error) {
		return &extract.Document{
			Pages: []extract.Page{
				{Text: "Chapter 1\n\nThe first chapter opens the book. It says little."},
				{Text: "Chapter 2\n\n2.1 Setup\n\nInstall the tool. Configure it.\n\n2.2 Use\n\nRun the tool."},
				{Text: "Appendix\n\nNotes and references."},
			},
			Headings: []extract.Heading{
				{Level: 1, Text: "Chapter 1", Page: 1, Start: 0},
				{Level: 1, Text: "Chapter 2", Page: 2, Start: 0},
				{Level: 2, Text: "2.1 Setup", Page: 2, Start: 11},
				{Level: 2, Text: "2.2 Use", Page: 2, Start: 55},
				{Level: 1, Text: "Appendix", Page: 3, Start: 0},
			},
		}, nil
	}}
}

func chunkRows(chunks []extract.Chunk) []string {
	var out []string
	for _, c := range chunks {
		out = append(out, c.Text+" | "+strings.Join(c.HeadingPath, " > "))
	}
	return out
}

func TestExtractChunksByHeading(t *testing.T) {
	t.Parallel()
	ex := newExtractor(t, bookParser(), extract.Config{})
	doc, err := ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{Chunking: &extract.ChunkOptions{Strategy: extract.ChunkByHeading}})
	if err != nil {
		t.Fatal(err)
	}
	runes := []rune(doc.Text)
	for _, h := range doc.Headings {
		if !strings.HasPrefix(string(runes[h.Start:]), h.Text) {
			t.Errorf("heading %q at %d: text there is %q", h.Text, h.Start, string(runes[h.Start:min(len(runes), h.Start+20)]))
		}
	}
	want := []string{
		"Chapter 1\n\nThe first chapter opens the book. It says little. | Chapter 1",
		"Chapter 2\n\n2.1 Setup\n\nInstall the tool. Configure it. | Chapter 2 > 2.1 Setup",
		"2.2 Use\n\nRun the tool. | Chapter 2 > 2.2 Use",
		"Appendix\n\nNotes and references. | Appendix",
	}
	if got := chunkRows(doc.Chunks); !slices.Equal(got, want) {
		t.Errorf("chunks\n%q\nwant\n%q", got, want)
	}
	for _, c := range doc.Chunks {
		if string(runes[c.Start:c.End]) != c.Text {
			t.Errorf("chunk %q is not text[%d:%d]", c.Text, c.Start, c.End)
		}
	}
	if p := doc.Chunks[1]; p.PageStart != 2 || p.PageEnd != 2 {
		t.Errorf("chunk 2 on pages %d-%d", p.PageStart, p.PageEnd)
	}
	// A fixed chunk over all of it spans the pages.
	doc, err = ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{Chunking: &extract.ChunkOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Chunks) != 1 || doc.Chunks[0].PageStart != 1 || doc.Chunks[0].PageEnd != 3 || doc.Chunks[0].Text != doc.Text {
		t.Errorf("fixed chunks %+v", doc.Chunks)
	}
}

func TestExtractHeadingsFollowPageSelection(t *testing.T) {
	t.Parallel()
	ex := newExtractor(t, bookParser(), extract.Config{})
	doc, err := ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{Pages: "2-3", MaxChars: 58,
		Chunking: &extract.ChunkOptions{Strategy: extract.ChunkByHeading}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range doc.Headings {
		got = append(got, h.Text)
	}
	// Chapter 1 is on a page left out; 2.2 Use and Appendix are past the cap.
	if want := []string{"Chapter 2", "2.1 Setup"}; !slices.Equal(got, want) {
		t.Errorf("headings %q, want %q (text %q)", got, want, doc.Text)
	}
	if doc.Headings[0].Start != 0 || doc.Headings[1].Start != 11 {
		t.Errorf("headings %+v", doc.Headings)
	}
}

func TestExtractChunksIndexTheSummary(t *testing.T) {
	t.Parallel()
	ex := newExtractor(t, bookParser(), extract.Config{})
	doc, err := ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{Mode: extract.ModeSummary, SummarySentences: 2,
		Chunking: &extract.ChunkOptions{Strategy: extract.ChunkByHeading, MaxChars: 40}})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Headings != nil {
		t.Errorf("a summary keeps headings of the whole text: %+v", doc.Headings)
	}
	runes := []rune(doc.Text)
	if len(doc.Chunks) == 0 {
		t.Fatal("no chunks")
	}
	for _, c := range doc.Chunks {
		if c.End > len(runes) || string(runes[c.Start:c.End]) != c.Text || len(c.HeadingPath) != 0 {
			t.Errorf("chunk %+v does not index the summary %q", c, doc.Text)
		}
	}
}

func TestExtractChunkingOptionErrors(t *testing.T) {
	t.Parallel()
	called := false
	p := &fakeParser{types: []string{"text/plain"}, parse: func(context.Context, extract.Input) (*extract.Document, error) {
		called = true
		return &extract.Document{Text: "text"}, nil
	}}
	ex := newExtractor(t, p, extract.Config{})
	for _, c := range []struct {
		o     extract.ChunkOptions
		field string
	}{
		{extract.ChunkOptions{Strategy: "paragraphs"}, "chunking.strategy"},
		{extract.ChunkOptions{MaxChars: -1}, "chunking.max_chars"},
		{extract.ChunkOptions{MaxChars: 200000}, "chunking.max_chars"},
		{extract.ChunkOptions{MaxChars: 10, MaxTokens: 10}, "chunking.max_tokens"},
		{extract.ChunkOptions{MaxTokens: 100, Overlap: 60}, "chunking.overlap"},
		{extract.ChunkOptions{Overlap: -3}, "chunking.overlap"},
	} {
		_, err := ex.Extract(context.Background(), input("text", "text/plain"), extract.Options{Chunking: &c.o})
		var oe *extract.OptionError
		if !errors.As(err, &oe) || oe.Field != c.field {
			t.Errorf("%+v: err = %v, want an OptionError on %s", c.o, err, c.field)
		}
	}
	if called {
		t.Error("the parser ran despite invalid options")
	}
}

func TestExtractChunksJSON(t *testing.T) {
	t.Parallel()
	ex := newExtractor(t, newFake("text/plain"), extract.Config{})
	for _, c := range []struct {
		text     string
		chunking *extract.ChunkOptions
		want     string
		absent   string
	}{
		{"Some words.", &extract.ChunkOptions{}, `"heading_path":[]`, ""},
		{" \n ", &extract.ChunkOptions{}, `"chunks":[]`, ""},
		{"Some words.", nil, "", `"chunks"`},
	} {
		doc, err := ex.Extract(context.Background(), input(c.text, "text/plain"), extract.Options{Chunking: c.chunking})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if c.want != "" && !strings.Contains(string(b), c.want) || c.absent != "" && strings.Contains(string(b), c.absent) {
			t.Errorf("%q %+v: JSON %s", c.text, c.chunking, b)
		}
		var back extract.Document
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if c.chunking != nil && (back.Chunks == nil || len(back.Chunks) != len(doc.Chunks)) {
			t.Errorf("chunks lost in a JSON round trip: %s", b)
		}
	}
}

func TestExtractLanguage(t *testing.T) {
	t.Parallel()
	de := "Alle Menschen sind frei und gleich an Würde und Rechten geboren. Sie sind mit Vernunft und Gewissen begabt und sollen einander im Geist der Brüderlichkeit begegnen."
	ex := newExtractor(t, newFake("text/plain"), extract.Config{})
	doc, err := ex.Extract(context.Background(), input(de, "text/plain"), extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Metadata.Language != "de" {
		t.Errorf("language %q, want de", doc.Metadata.Language)
	}
	doc, err = ex.Extract(context.Background(), input("OK", "text/plain"), extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Metadata.Language != "" {
		t.Errorf("language of \"OK\" = %q, want none", doc.Metadata.Language)
	}
	// A language the document declares wins.
	declared := &fakeParser{types: []string{"text/x-declared"}, parse: func(context.Context, extract.Input) (*extract.Document, error) {
		return &extract.Document{Text: de, Metadata: extract.Metadata{Language: "de-CH"}}, nil
	}}
	doc, err = newExtractor(t, declared, extract.Config{}).Extract(context.Background(), input("x", "text/x-declared"), extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Metadata.Language != "de-CH" {
		t.Errorf("language %q, want the declared de-CH", doc.Metadata.Language)
	}
}

// BenchmarkExtractChunks extracts a real book, the 352 pages of Free
// Culture (its expected text in the corpus, pages at form feeds), without
// and with chunking: the cost of chunking and language detection over the
// rest of an extraction.
func BenchmarkExtractChunks(b *testing.B) {
	dir := corpustest.Require(b)
	raw, err := os.ReadFile(filepath.Join(dir, "expected", "pdf-pdfjs-freeculture.txt"))
	if err != nil {
		b.Fatal(err)
	}
	pages := strings.Split(string(raw), "\f")
	p := &fakeParser{types: []string{"text/x-pages"}, parse: func(context.Context, extract.Input) (*extract.Document, error) {
		doc := &extract.Document{}
		for _, t := range pages {
			doc.Pages = append(doc.Pages, extract.Page{Text: t})
		}
		return doc, nil
	}}
	reg := extract.NewRegistry()
	reg.MustRegister("fake", p)
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		b.Fatal(err)
	}
	for _, o := range []*extract.ChunkOptions{nil, {}, {MaxTokens: 512, Overlap: 64}, {Strategy: extract.ChunkByPage}} {
		name := "none"
		if o != nil {
			name = fmt.Sprintf("%s-%d-%d-%d", cmp.Or(o.Strategy, extract.ChunkFixed), o.MaxChars, o.MaxTokens, o.Overlap)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				doc, err := ex.Extract(context.Background(), input("x", "text/x-pages"), extract.Options{Chunking: o})
				if err != nil {
					b.Fatal(err)
				}
				if o != nil && len(doc.Chunks) == 0 {
					b.Fatal("no chunks")
				}
			}
		})
	}
}
