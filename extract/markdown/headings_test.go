package markdown

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

func TestHeadings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		want      []extract.Heading
	}{
		{"atx levels", "# One\n\ntext\n\n## Two *em*\n\n###### Six ######\n\n####### not a heading",
			[]extract.Heading{{Level: 1, Text: "One", Page: 1, Start: 0}, {Level: 2, Text: "Two em", Page: 1, Start: 11}, {Level: 6, Text: "Six", Page: 1, Start: 19}}},
		{"setext", "Über Title\n==========\n\nSub title\nover two lines\n---\n\nbody",
			[]extract.Heading{{Level: 1, Text: "Über Title", Page: 1, Start: 0}, {Level: 2, Text: "Sub title over two lines", Page: 1, Start: 12}}},
		{"code and links", "Intro 日本語.\n\n## Use `go test` with [links](http://x.test)\n",
			[]extract.Heading{{Level: 2, Text: "Use go test with links", Page: 1, Start: 12}}},
		{"empty heading", "#\n\ntext\n\n## \n\n## Real", []extract.Heading{{Level: 2, Text: "Real", Page: 1, Start: 6}}},
		{"not in code", "```\n# comment\n```\n\n    # indented\n", []extract.Heading{}},
		{"in a blockquote", "> # Quoted\n> body", []extract.Heading{{Level: 1, Text: "Quoted", Page: 1, Start: 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := parse(t, []byte(tt.src), "text/markdown")
			if fmt.Sprintf("%+v", doc.Headings) != fmt.Sprintf("%+v", tt.want) {
				t.Errorf("headings = %+v\nwant       %+v\ntext %q", doc.Headings, tt.want, doc.Text)
			}
			checkHeadings(t, doc)
		})
	}
}

// TestHeadingsThroughExtractor: headings survive the Extractor's
// normalisation (CRLF line ends, a byte-order mark) and the output cap, and
// by_heading chunks follow them.
func TestHeadingsThroughExtractor(t *testing.T) {
	t.Parallel()
	reg := extract.NewRegistry()
	reg.MustRegister("markdown", New())
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	src := "\uFEFF# Guide\r\n\r\nIntro text.\r\n\r\n## Install\r\n\r\nRun the installer.\r\n\r\n### Linux\r\n\r\nUse the package.\r\n\r\n## Use\r\n\r\nStart it.\r\n"
	run := func(opts extract.Options) *extract.Document {
		doc, err := ex.Extract(context.Background(), extract.Input{R: strings.NewReader(src), Size: int64(len(src)), MediaType: "text/markdown"}, opts)
		if err != nil {
			t.Fatal(err)
		}
		checkHeadings(t, doc)
		return doc
	}
	doc := run(extract.Options{Chunking: &extract.ChunkOptions{Strategy: extract.ChunkByHeading}})
	if len(doc.Headings) != 4 {
		t.Fatalf("headings %+v", doc.Headings)
	}
	var paths []string
	for _, c := range doc.Chunks {
		paths = append(paths, strings.Join(c.HeadingPath, " > "))
	}
	if want := []string{"Guide", "Guide > Install", "Guide > Install > Linux", "Guide > Use"}; fmt.Sprint(paths) != fmt.Sprint(want) {
		t.Errorf("chunk paths %q, want %q", paths, want)
	}
	if doc.Metadata.Language != "" && doc.Metadata.Language != "en" {
		t.Errorf("language %q", doc.Metadata.Language)
	}
	cut := run(extract.Options{MaxChars: 40})
	if len(cut.Headings) != 2 {
		t.Errorf("headings under a 40-character cap: %+v in %q", cut.Headings, cut.Text)
	}
}

func FuzzHeadings(f *testing.F) {
	f.Add("# a\n\nb\n\nc\n=\n\n## *d* `e`")
	f.Add("> # q\n- # in list\n\n| # | t |\n|---|---|\n")
	f.Fuzz(func(t *testing.T, src string) {
		doc, err := New().Parse(context.Background(), extract.Input{R: bytes.NewReader([]byte(src)), Size: int64(len(src)), MediaType: "text/markdown"})
		if err != nil {
			return
		}
		checkHeadings(t, doc)
	})
}
