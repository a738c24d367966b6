package html

import (
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

func TestHeadings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		want      []extract.Heading
	}{
		{"levels", "<h1>One</h1><p>text</p><h2>Two <em>em</em>\n  wrapped</h2><h6>Six</h6><p>end</p>",
			[]extract.Heading{{Level: 1, Text: "One", Page: 1, Start: 0}, {Level: 2, Text: "Two em wrapped", Page: 1, Start: 11}, {Level: 6, Text: "Six", Page: 1, Start: 27}}},
		{"only main", "<nav><h2>Menu</h2></nav><main><h1>Article</h1><p>Body</p><h2>Part</h2></main><footer><h2>Foot</h2></footer>",
			[]extract.Heading{{Level: 1, Text: "Article", Page: 1, Start: 0}, {Level: 2, Text: "Part", Page: 1, Start: 15}}},
		{"only article", "<h2>Site</h2><article><h1>Post</h1>text</article>",
			[]extract.Heading{{Level: 1, Text: "Post", Page: 1, Start: 0}}},
		{"skipped", "<template><h1>no</h1></template><h3></h3><h3>  </h3><h3>Yes</h3>",
			[]extract.Heading{{Level: 3, Text: "Yes", Page: 1, Start: 0}}},
		{"unclosed", "<h2>Closed by the next<h3>Inner</h3><p>body</p><h4>Never closed<p>text",
			[]extract.Heading{{Level: 2, Text: "Closed by the next", Page: 1, Start: 0}, {Level: 3, Text: "Inner", Page: 1, Start: 20}}},
		{"decomposed accents", "<p>cafe\u0301 \u00e9te\u0301</p><h2>Re\u0301sume\u0301</h2>",
			[]extract.Heading{{Level: 2, Text: "Résumé", Page: 1, Start: 10}}},
		{"mismatched end tag", "<h1>Title</h2><p>x</p>", []extract.Heading{{Level: 1, Text: "Title", Page: 1, Start: 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := parse(t, []byte(tt.src), "text/html")
			if fmt.Sprintf("%+v", doc.Headings) != fmt.Sprintf("%+v", tt.want) {
				t.Errorf("headings = %+v\nwant       %+v\ntext %q", doc.Headings, tt.want, doc.Text)
			}
			checkHeadings(t, doc)
		})
	}
	long := "<h2>" + strings.Repeat("word ", 1000) + "</h2><h2>Short</h2>"
	if doc := parse(t, []byte(long), "text/html"); len(doc.Headings) != 1 || doc.Headings[0].Text != "Short" {
		t.Errorf("a 5000-byte heading: %+v", doc.Headings)
	}
}

// TestHeadingsCorpus: on real pages, every heading stands where it says
// after the Extractor's normalisation, and by_heading chunks carry paths.
func TestHeadingsCorpus(t *testing.T) {
	t.Parallel()
	dir := corpustest.Require(t)
	reg := extract.NewRegistry()
	reg.MustRegister("html", New())
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "files", "html-*.html"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no HTML files in the corpus: %v", err)
	}
	total := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := ex.Extract(context.Background(), extract.Input{R: strings.NewReader(string(b)), Size: int64(len(b)), Filename: filepath.Base(f)},
			extract.Options{Chunking: &extract.ChunkOptions{Strategy: extract.ChunkByHeading, MaxChars: 1500}})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		checkHeadings(t, doc)
		total += len(doc.Headings)
		if strings.Contains(f, "wiki_duck") {
			if len(doc.Headings) < 20 {
				t.Errorf("wiki_duck: %d headings", len(doc.Headings))
			}
			found := false
			for _, c := range doc.Chunks {
				if strings.Join(c.HeadingPath, " > ") == "Duck > Relationship with humans > Hunting" {
					found = true
				}
			}
			if !found {
				t.Errorf("wiki_duck: no chunk under Duck > Relationship with humans > Hunting")
			}
			if doc.Metadata.Language != "en" {
				t.Errorf("wiki_duck: language %q", doc.Metadata.Language)
			}
		}
	}
	t.Logf("%d headings in %d pages", total, len(files))
}

func FuzzHeadings(f *testing.F) {
	for _, s := range []string{"<h1>a</h1>b<h2>c\u0301</h2>", "<main><h2>x</h2></main><h3>y</h3>", "<article> <h1>t</h1></article>", "<h1><pre> p </pre></h1>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		doc, err := New().Parse(context.Background(), extract.Input{R: strings.NewReader(src), Size: int64(len(src)), MediaType: "text/html; charset=utf-8"})
		if err != nil {
			return
		}
		checkHeadings(t, doc)
	})
}
