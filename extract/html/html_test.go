package html

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
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
		{"paragraphs", "<html><head><title>T</title></head><body><h1>Head</h1><p>One <b>bold</b>\n   word.</p><p>Two</p></body></html>", "Head\n\nOne bold word.\n\nTwo", "T"},
		{"script style dropped", "<p>a</p><script>var x = '<p>no</p>';</script><style>p{}</style><noscript>ns</noscript><template><p>tpl</p></template><svg><text>svg</text></svg><iframe src=x>fr</iframe><object>obj</object><p>b</p>", "a\n\nb", ""},
		{"head dropped but title", "<head><title>Page &amp; co</title><meta name=author content=' Ann  Lee '><style>x</style>head text</head><body>body</body>", "body", "Page & co"},
		{"title from h1", "<body><h1>First <i>one</i></h1><h1>Second</h1></body>", "First one\n\nSecond", "First one"},
		{"entities", "<p>&lt;tag&gt; &amp; &eacute;&#233;&#x41; &nbsp;x &unknown;</p>", "<tag> & ééA \u00a0x &unknown;", ""},
		{"inline does not break words", "<p>H<sub>2</sub>O and wo<span>rd</span></p>", "H2O and word", ""},
		{"breaks", "<div>a<br>b</div><ul><li>one</li><li>two</li></ul>", "a\nb\n\none\ntwo", ""},
		{"table", "<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td> 2 </td></tr></table>", "A\tB\n1\t2", ""},
		{"pre", "<pre>  x\n    y</pre><p>z   w</p>", "  x\n    y\n\nz w", ""},
		{"img alt", "<p>see <img src='http://127.0.0.1:1/i' alt='a duck'> here</p>", "see a duck here", ""},
		{"main preferred", "<header>site</header><nav>menu</nav><main><p>content</p></main><footer>foot</footer>", "content", ""},
		{"two mains use body", "<main>a</main><main>b</main>", "a\nb", ""},
		{"single article", "<nav>menu</nav><article>story</article>", "story", ""},
		{"no main keeps nav", "<nav>menu</nav><p>text</p><footer>foot</footer>", "menu\n\ntext\n\nfoot", ""},
		{"xxe inert", "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><p>a &e; b</p>", "]>\n\na &e; b", ""},
		{"billion laughs inert", `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><p>&lol2;</p>`, "]>\n\n&lol2;", ""},
		{"active content ignored", `<link rel=stylesheet href="http://127.0.0.1:9/c"><meta http-equiv=refresh content="0;url=file:///etc/passwd"><p>ok</p>`, "ok", ""},
		{"comments", "<p>a<!-- hidden -->b</p>", "ab", ""},
		{"empty", "", "", ""},
		{"unclosed head", "<head><title>t</title><body><p>x</p>", "x", "t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := parse(t, []byte(tt.src), "text/html")
			if doc.Text != tt.want {
				t.Errorf("text = %q\nwant   %q", doc.Text, tt.want)
			}
			if doc.Metadata.Title != tt.title {
				t.Errorf("title = %q, want %q", doc.Metadata.Title, tt.title)
			}
			if strings.Contains(doc.Text, "root:") || strings.Contains(doc.Text, "lollol") {
				t.Errorf("entity expanded: %q", doc.Text)
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	doc := parse(t, []byte(`<html lang="de"><head><meta name="Author" content="Ann Lee"><title> A  title </title></head><body>x</body></html>`), "")
	if doc.Metadata.Author != "Ann Lee" || doc.Metadata.Title != "A title" || doc.Metadata.Language != "de" {
		t.Fatalf("metadata = %+v", doc.Metadata)
	}
}

func TestCharsets(t *testing.T) {
	t.Parallel()
	ru := "Все люди рождаются свободными"
	cp := func(s string) []byte { b, _ := charmap.Windows1251.NewEncoder().Bytes([]byte(s)); return b }
	sj, _ := japanese.ShiftJIS.NewEncoder().Bytes([]byte("<p>日本語のテキスト</p>"))
	u16, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte("<p>" + ru + "</p>"))
	tests := []struct {
		name    string
		src     []byte
		mt      string
		want    string
		charset string
	}{
		{"meta charset", append([]byte(`<meta charset="windows-1251"><p>`), cp(ru)...), "text/html; charset=iso-8859-1", ru, "windows-1251"},
		{"meta http-equiv", append([]byte(`<meta http-equiv="Content-Type" content="text/html; charset=koi8-r"><p>`), []byte("\xf7\xd3\xc5")...), "text/html", "Все", "koi8-r"},
		{"declared in media type", sj, "text/html; charset=shift_jis", "日本語のテキスト", "shift_jis"},
		{"detected without meta", append([]byte("<p>"), cp(ru)...), "text/html; charset=iso-8859-1", ru, "windows-1251"},
		{"utf-16 bom", u16, "text/html; charset=utf-16le", ru, "utf-16le"},
		{"utf-8 bom", []byte("\xEF\xBB\xBF<p>été</p>"), "text/html", "été", "utf-8"},
		{"latin-1", []byte("<p>caf\xe9</p>"), "text/html", "café", "windows-1252"},
		{"nfc", []byte("<p>Cafe\u0301</p>"), "text/html", "Café", "utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := parse(t, tt.src, tt.mt)
			if doc.Text != tt.want || doc.Metadata.Charset != tt.charset {
				t.Errorf("got %q (%s), want %q (%s)", doc.Text, doc.Metadata.Charset, tt.want, tt.charset)
			}
		})
	}
}

func TestNestedDivBomb(t *testing.T) {
	t.Parallel()
	src := []byte(strings.Repeat("<div>", 100000) + "deep" + strings.Repeat("</div>", 100000))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	doc := parse(t, src, "text/html")
	runtime.ReadMemStats(&after)
	if doc.Text != "deep" {
		t.Fatalf("text = %.50q", doc.Text)
	}
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 64<<20 {
		t.Errorf("heap grew by %d bytes", grown)
	}
}

func TestBigScript(t *testing.T) {
	t.Parallel()
	src := []byte("<p>before</p><script>" + strings.Repeat("x", 2<<20) + "</script><p>after</p>")
	doc := parse(t, src, "text/html")
	if doc.Text != "before\n\nafter" {
		t.Fatalf("text = %.80q", doc.Text)
	}
}

func TestMaxChars(t *testing.T) {
	t.Parallel()
	src := []byte(strings.Repeat("<p>word</p>", 100000))
	doc, err := New().Parse(context.Background(), extract.Input{R: bytes.NewReader(src), Size: int64(len(src)), Limits: extract.Limits{MaxChars: 20}})
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(doc.Text); n != 21 {
		t.Fatalf("got %d runes: %q", n, doc.Text)
	}
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src := []byte(strings.Repeat("<p>word</p>", 10000))
	if _, err := New().Parse(ctx, extract.Input{R: bytes.NewReader(src), Size: int64(len(src))}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}
