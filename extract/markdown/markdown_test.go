package markdown

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

func parse(t *testing.T, src []byte, mediaType string) *extract.Document {
	t.Helper()
	doc, err := New().Parse(context.Background(), extract.Input{R: bytes.NewReader(src), Size: int64(len(src)), MediaType: mediaType})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return doc
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, want, title string
	}{
		{"headings and paragraphs", "# Title *here*\n\nSome **bold** and _em_ text\nwrapped.\n\n## Sub\n\nEnd.", "Title here\n\nSome bold and em text wrapped.\n\nSub\n\nEnd.", "Title here"},
		{"setext title", "Big Title\n=========\n\ntext", "Big Title\n\ntext", "Big Title"},
		{"title is the first h1", "## Intro\n\n# Real\n\n# Second", "Intro\n\nReal\n\nSecond", "Real"},
		{"lists", "Items:\n\n- one\n- two\n  - nested\n1. first\n2. second\n", "Items:\n\none\ntwo\nnested\n\nfirst\nsecond", ""},
		{"loose list", "- a\n\n- b\n", "a\nb", ""},
		{"links and images", "See [the site](http://x.test/) and ![a duck](d.png) <http://auto.test> www.example.com", "See the site and a duck http://auto.test www.example.com", ""},
		{"code", "Use `go test`:\n\n```go\nfunc main() {\n\tx := 1\n}\n```\n\n    indented code\n", "Use go test:\n\nfunc main() {\n\tx := 1\n}\n\nindented code", ""},
		{"escapes and entities", "1\\. not a list \\*x\\* &amp; &copy; &#65;", "1. not a list *x* & © A", ""},
		{"blockquote", "> quoted\n> text\n\nafter", "quoted text\n\nafter", ""},
		{"table", "| a | b |\n|---|---|\n| 1 | 2 |\n", "a\tb\n1\t2", ""},
		{"strikethrough and tasks", "- [x] done ~~old~~\n- [ ] todo", "done old\ntodo", ""},
		{"html", "<div>\n<p>Hello <b>html</b></p>\n<script>alert(1)</script>\n</div>\n\ninline <span>tag</span> text", "Hello html\n\ninline tag text", ""},
		{"thematic break", "a\n\n---\n\nb", "a\n\nb", ""},
		{"empty", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := parse(t, []byte(tt.src), "text/markdown")
			if doc.Text != tt.want {
				t.Errorf("text = %q\nwant   %q", doc.Text, tt.want)
			}
			if doc.Metadata.Title != tt.title {
				t.Errorf("title = %q, want %q", doc.Metadata.Title, tt.title)
			}
		})
	}
}

func TestCharsets(t *testing.T) {
	t.Parallel()
	u16, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte("# Überschrift\n\nText"))
	cp, _ := charmap.Windows1251.NewEncoder().Bytes([]byte("# Заголовок\n\nВсе люди рождаются свободными"))
	for _, tt := range []struct {
		name    string
		src     []byte
		mt      string
		title   string
		charset string
	}{
		{"utf-16 bom", u16, "text/markdown", "Überschrift", "utf-16le"},
		{"cp1251 detected", cp, "text/markdown; charset=iso-8859-1", "Заголовок", "windows-1251"},
		{"nfc", []byte("# Cafe\u0301"), "", "Café", "utf-8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := parse(t, tt.src, tt.mt)
			if doc.Metadata.Title != tt.title || doc.Metadata.Charset != tt.charset {
				t.Errorf("title %q charset %q, want %q %q", doc.Metadata.Title, doc.Metadata.Charset, tt.title, tt.charset)
			}
		})
	}
}

func TestDeepNesting(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		strings.Repeat(">", 2000) + " deep",
		strings.Repeat("- ", 1000) + "deep",
		strings.Repeat("[", 10000) + "deep" + strings.Repeat("]", 10000),
		strings.Repeat("*", 10000) + "deep",
	} {
		doc := parse(t, []byte(src), "text/markdown")
		if !strings.Contains(doc.Text, "deep") {
			t.Errorf("lost the text of %.20q...: %.60q", src, doc.Text)
		}
	}
}

func TestMaxChars(t *testing.T) {
	t.Parallel()
	src := []byte(strings.Repeat("**word** ", 100000))
	doc, err := New().Parse(context.Background(), extract.Input{R: bytes.NewReader(src), Size: int64(len(src)), Limits: extract.Limits{MaxChars: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len([]rune(doc.Text)); n > 201 || n <= 100 {
		t.Fatalf("got %d runes", n)
	}
}
