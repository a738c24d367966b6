package xmltext_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/extracttest"
	"github.com/quarryhq/quarry/extract/txt"
	"github.com/quarryhq/quarry/extract/xmltext"
)

func parse(data, mediaType string, maxChars int) (*extract.Document, error) {
	in := extract.Input{R: strings.NewReader(data), Size: int64(len(data)), MediaType: mediaType,
		Limits: extract.Limits{MaxChars: maxChars}}
	return xmltext.New().Parse(context.Background(), in)
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, title, charset string
	}{
		{"records", `<?xml version="1.0"?>
<people>
  <person id="1"><name>Ada Lovelace</name><born>1815</born></person>
  <person id="2"><name>Grace   Hopper</name><born>1906</born></person>
</people>`, "Ada Lovelace\n1815\nGrace Hopper\n1906\n", "", "utf-8"},
		{"mixed content", `<doc><p>See <b>this</b> and <i>that</i>.</p><p>Next <a href="x">link</a><b>bold</b></p></doc>`,
			"See this and that.\nNext linkbold\n", "", "utf-8"},
		{"no space between inline elements", `<p>un<b>break</b>able</p>`, "unbreakable\n", "", "utf-8"},
		{"cdata and entities", `<r><c><![CDATA[a < b && c]]></c><e>&lt;tag&gt; &amp; &#233;&#x20AC;</e></r>`, "a < b && c\n<tag> & é€\n", "", "utf-8"},
		{"whitespace collapsed", "<r>\n  <t>  one\n\t two  </t>\n</r>", "one two\n", "", "utf-8"},
		{"comments and PIs skipped", `<?xml version="1.0"?><!-- c --><r><?pi x?><a>x<!-- y -->z</a></r>`, "xz\n", "", "utf-8"},
		{"attributes skipped", `<r a="attr"><b c="d"/>text</r>`, "text\n", "", "utf-8"},
		{"title", `<article><title>  My
   Title </title><para>Body text.</para></article>`, "My Title\nBody text.\n", "My Title", "utf-8"},
		{"namespaced title, first wins", `<feed xmlns="http://www.w3.org/2005/Atom"><title>Feed</title><entry><title>Entry</title></entry></feed>`,
			"Feed\nEntry\n", "Feed", "utf-8"},
		{"rss", `<?xml version="1.0"?><rss version="2.0"><channel><title>News</title><item><title>One</title><description>First &amp; best</description></item></channel></rss>`,
			"News\nOne\nFirst & best\n", "News", "utf-8"},
		{"latin1 declared", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r>caf\xe9 cr\xe8me</r>", "café crème\n", "", "iso-8859-1"},
		{"windows-1251 declared", "<?xml version='1.0' encoding='windows-1251'?><r>\xcf\xf0\xe8\xe2\xe5\xf2</r>", "Привет\n", "", "windows-1251"},
		{"utf-16le with bom", "\xFF\xFE" + utf16le(`<?xml version="1.0" encoding="UTF-16"?><r>hé</r>`), "hé\n", "", "utf-16le"},
		{"utf-8 bom", "\xEF\xBB\xBF<r>x</r>", "x\n", "", "utf-8"},
		{"undeclared legacy", "<r>S\xe8te, caf\xe9 cr\xe8me et th\xe9</r>", "Sète, café crème et thé\n", "", "windows-1252"},
		{"unknown declared charset: detected", "<?xml version=\"1.0\" encoding=\"bogus\"?><r>x</r>", "x\n", "", "utf-8"},
		{"nfc", "<r>e\u0301</r>", "\u00e9\n", "", "utf-8"},
		{"empty root", `<r/>`, "", "", "utf-8"},
		{"external dtd not fetched", `<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:1/x.dtd"><r>ok</r>`, "ok\n", "", "utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := parse(tt.in, "text/xml", 0)
			if err != nil {
				t.Fatal(err)
			}
			if doc.Text != tt.want {
				t.Errorf("text = %q, want %q", doc.Text, tt.want)
			}
			if doc.Metadata.Title != tt.title {
				t.Errorf("title = %q, want %q", doc.Metadata.Title, tt.title)
			}
			if doc.Metadata.Charset != tt.charset {
				t.Errorf("charset = %q, want %q", doc.Metadata.Charset, tt.charset)
			}
		})
	}
}

func utf16le(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteByte(byte(r))
		b.WriteByte(byte(r >> 8))
	}
	return b.String()
}

func TestMalformed(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", "   ", "not xml", "<r>", "<r><a></r>", "</r>", "<r>&undefined;</r>", "<r>\x01</r>",
	} {
		if doc, err := parse(in, "text/xml", 0); !errors.Is(err, extract.ErrMalformed) {
			t.Errorf("Parse(%q): err = %v (doc %+v), want ErrMalformed", in, err, doc)
		}
	}
}

// TestBillionLaughs checks that DTD entities are never expanded.
func TestBillionLaughs(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">`)
	b.WriteString(`<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">`)
	for i := 2; i <= 9; i++ {
		fmt.Fprintf(&b, `<!ENTITY lol%d "%s">`, i, strings.Repeat(fmt.Sprintf("&lol%d;", i-1), 10))
	}
	b.WriteString(`]><lolz>&lol9;</lolz>`)
	start := time.Now()
	doc, err := parse(b.String(), "text/xml", 0)
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %s", d)
	}
	if !errors.Is(err, extract.ErrMalformed) {
		t.Fatalf("err = %v (text %d bytes), want ErrMalformed: the entity must stay undefined", err, len(doc.Text))
	}
}

// TestXXE checks that external entities are neither read from disk nor
// fetched over the network.
func TestXXE(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, `<!ENTITY canary "CANARY-FETCHED">`)
	}))
	defer srv.Close()
	inputs := []string{
		`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><r>&xxe;</r>`,
		`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "` + srv.URL + `/entity">]><r>&xxe;</r>`,
		`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "` + srv.URL + `/param"> %p;]><r>&canary;</r>`,
		`<?xml version="1.0"?><!DOCTYPE r SYSTEM "` + srv.URL + `/dtd"><r>&canary;</r>`,
		`<?xml version="1.0"?><!DOCTYPE r PUBLIC "-//X//EN" "` + srv.URL + `/public"><r>plain</r>`,
		`<?xml version="1.0"?><?xml-stylesheet href="` + srv.URL + `/xsl"?><r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="` + srv.URL + `/xi"/>ok</r>`,
	}
	for i, in := range inputs {
		doc, err := parse(in, "application/xml", 0)
		if err == nil && (strings.Contains(doc.Text, "root:") || strings.Contains(doc.Text, "CANARY")) {
			t.Errorf("input %d: external content leaked: %q", i, doc.Text)
		}
		if err != nil && !errors.Is(err, extract.ErrMalformed) {
			t.Errorf("input %d: err = %v, want ErrMalformed or a result", i, err)
		}
		if i < 4 && !errors.Is(err, extract.ErrMalformed) {
			t.Errorf("input %d: err = %v, want ErrMalformed for an undefined entity", i, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the canary server saw %d requests, want 0", n)
	}
}

func TestDepth(t *testing.T) {
	t.Parallel()
	ok := strings.Repeat("<a>", xmltext.MaxDepth) + "x" + strings.Repeat("</a>", xmltext.MaxDepth)
	if doc, err := parse(ok, "text/xml", 0); err != nil || doc.Text != "x\n" {
		t.Errorf("depth %d: %v", xmltext.MaxDepth, err)
	}
	deep := strings.Repeat("<a>", xmltext.MaxDepth+1) + strings.Repeat("</a>", xmltext.MaxDepth+1)
	if _, err := parse(deep, "text/xml", 0); !errors.Is(err, extract.ErrMalformed) {
		t.Errorf("depth %d: err = %v, want ErrMalformed", xmltext.MaxDepth+1, err)
	}
	bomb := strings.Repeat("<a>", 16<<20/3)
	start := time.Now()
	if _, err := parse(bomb, "text/xml", 0); !errors.Is(err, extract.ErrMalformed) {
		t.Errorf("bomb: err = %v, want ErrMalformed", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("bomb took %s", d)
	}
}

func TestMaxChars(t *testing.T) {
	t.Parallel()
	src := "<r>" + strings.Repeat("<w>word</w>", 10000) + "<broken"
	doc, err := parse(src, "text/xml", 50)
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(doc.Text); n < 50 || n > 100 {
		t.Errorf("text of %d code points for a cap of 50", n)
	}
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := `<r>x</r>`
	_, err := xmltext.New().Parse(ctx, extract.Input{R: strings.NewReader(data), Size: int64(len(data)), MediaType: "text/xml"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestNilInput(t *testing.T) {
	t.Parallel()
	if _, err := xmltext.New().Parse(context.Background(), extract.Input{}); !errors.Is(err, extract.ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
}

// TestRegistry checks what the generic sniffer makes of XML when the
// parser is registered next to the plain-text parser.
func TestRegistry(t *testing.T) {
	t.Parallel()
	reg := extract.NewRegistry()
	reg.MustRegister("xml", xmltext.New())
	reg.MustRegister("text", txt.New())
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, in, wantType, wantParser, wantText string
	}{
		{"declared", "a.xml", `<?xml version="1.0"?><r><a>one</a><b>two</b></r>`, "text/xml", "xml", "one\ntwo"},
		{"latin1", "b.xml", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r>caf\xe9</r>", "text/xml", "xml", "café"},
		{"rss child type", "", `<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>`, "application/rss+xml", "xml", "T"},
		// Without a declaration the content sniffs as plain text; the .xml
		// name refines that generic type (it never overrides a specific one).
		{"undeclared", "c.xml", `<r><a>one</a></r>`, "application/xml", "xml", "one"},
		{"undeclared without a name", "", `<r><a>one</a></r>`, "text/plain", "text", `<r><a>one</a></r>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := reg.Sniff([]byte(tt.in), tt.file)
			if extract.BaseType(got) != tt.wantType {
				t.Errorf("Sniff = %q, want %s", got, tt.wantType)
			}
			doc, err := ex.Extract(context.Background(), extract.Input{R: strings.NewReader(tt.in), Size: int64(len(tt.in)), Filename: tt.file}, extract.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if doc.Metadata.Parser != tt.wantParser {
				t.Errorf("parser = %q, want %q", doc.Metadata.Parser, tt.wantParser)
			}
			if strings.TrimSpace(doc.Text) != tt.wantText {
				t.Errorf("text = %q, want %q", doc.Text, tt.wantText)
			}
		})
	}
}

var samples = [][]byte{
	[]byte(`<?xml version="1.0" encoding="UTF-8"?>
<catalog><title>Books</title>
  <book id="b1"><author>Gambardella, Matthew</author><name>XML Developer's Guide</name><price>44.95</price></book>
  <book id="b2"><author>Ralls, Kim</author><name>Midnight Rain</name><description>A former architect battles <em>corporate</em> zombies.</description></book>
</catalog>`),
	[]byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<menu><item>Cr\xe8me br\xfbl\xe9e</item><item>Caf\xe9</item></menu>"),
	[]byte(`<svg xmlns="http://www.w3.org/2000/svg"><text x="1">Label</text></svg>`),
}

func TestConformance(t *testing.T) {
	extracttest.Run(t, xmltext.New(),
		extracttest.Case{Name: "catalog", Input: samples[0], Filename: "books.xml", WantContains: []string{"Gambardella, Matthew", "battles corporate zombies."}},
		extracttest.Case{Name: "latin1", Input: samples[1], MediaType: "text/xml", WantContains: []string{"Crème brûlée\nCafé"}},
		extracttest.Case{Name: "svg", Input: samples[2], WantContains: []string{"Label"}},
		extracttest.Case{Name: "unclosed", Input: []byte(`<r><a>x</r>`), WantErr: extract.ErrMalformed},
		extracttest.Case{Name: "bomb", Input: []byte(strings.Repeat("<a>", 1<<20)), WantErr: extract.ErrMalformed},
	)
}
