package jsontext_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/extracttest"
	"github.com/quarryhq/quarry/extract/jsontext"
	"github.com/quarryhq/quarry/extract/txt"
)

func parse(data, mediaType string, maxChars int) (*extract.Document, error) {
	in := extract.Input{R: strings.NewReader(data), Size: int64(len(data)), MediaType: mediaType,
		Limits: extract.Limits{MaxChars: maxChars}}
	return jsontext.New().Parse(context.Background(), in)
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, title string
	}{
		{"object", `{"title":"Quarry","stars":42,"open":true,"license":null}`, "title: Quarry\nstars: 42\nopen: true\n", "Quarry"},
		{"nested", `{"authors":[{"name":"Ada"},{"name":"Grace","born":1906}],"meta":{"tags":["a","b","search"]}}`,
			"authors[0].name: Ada\nauthors[1].name: Grace\nauthors[1].born: 1906\nmeta.tags[0]: a\nmeta.tags[1]: b\nmeta.tags[2]: search\n", ""},
		{"root array", `[1, "two", [3.5e2], {"k": false}]`, "[0]: 1\n[1]: two\n[2][0]: 3.5e2\n[3].k: false\n", ""},
		{"root string", `"hello world"`, "hello world\n", ""},
		{"root number", ` -0.5 `, "-0.5\n", ""},
		{"empty containers and values", `{"a":{},"b":[],"c":"","d":null,"e":[null,""]}`, "", ""},
		{"escapes", `{"s":"caf\u00e9 \ud83d\ude00 \"q\" a\\b","multi":"line1\nline2"}`, "s: café 😀 \"q\" a\\b\nmulti: line1\nline2\n", ""},
		{"control characters in keys", "{\"a\\nb\":1,\"t\\tk\":2}", "a b: 1\nt k: 2\n", ""},
		{"dotted keys stay as written", `{"a.b":{"c d":"x"}}`, "a.b.c d: x\n", ""},
		{"ndjson", "{\"id\":1,\"msg\":\"first\"}\n{\"id\":2,\"msg\":\"second\"}\n", "id: 1\nmsg: first\n\nid: 2\nmsg: second\n", ""},
		{"concatenated", `{"a":1}{"b":2} 3`, "a: 1\n\nb: 2\n\n3\n", ""},
		{"title only from the first root object", `{"x":{"title":"inner"}}`, "x.title: inner\n", ""},
		{"title collapsed", `{"title":"  A\n  B "}`, "title:   A\n  B \n", "A B"},
		{"nfc", `{"k":"e\u0301"}`, "k: \u00e9\n", ""},
		{"utf-8 bom", "\xEF\xBB\xBF{\"k\":\"v\"}", "k: v\n", ""},
		{"utf-16le bom", "\xFF\xFE{\x00\"\x00k\x00\"\x00:\x00\"\x00v\x00\"\x00}\x00", "k: v\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := parse(tt.in, "application/json", 0)
			if err != nil {
				t.Fatal(err)
			}
			if doc.Text != tt.want {
				t.Errorf("text = %q, want %q", doc.Text, tt.want)
			}
			if doc.Metadata.Title != tt.title {
				t.Errorf("title = %q, want %q", doc.Metadata.Title, tt.title)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", "   \n", "abc", `{"a":}`, `{"a":1`, `[1 2]`, `{"a" 1}`, `{"a":1} x`, `[1,]`, `{1:2}`, `"unterminated`, `}`, `]`, `[}`,
		"{\"a\":1}\n{\"b\":\n", `nul`,
	} {
		if _, err := parse(in, "application/json", 0); !errors.Is(err, extract.ErrMalformed) {
			t.Errorf("Parse(%q): err = %v, want ErrMalformed", in, err)
		}
	}
}

func TestDepth(t *testing.T) {
	t.Parallel()
	ok := strings.Repeat("[", jsontext.MaxDepth) + "1" + strings.Repeat("]", jsontext.MaxDepth)
	if _, err := parse(ok, "application/json", 0); err != nil {
		t.Errorf("depth %d: %v", jsontext.MaxDepth, err)
	}
	deep := strings.Repeat("[", jsontext.MaxDepth+1) + strings.Repeat("]", jsontext.MaxDepth+1)
	if _, err := parse(deep, "application/json", 0); !errors.Is(err, extract.ErrMalformed) {
		t.Errorf("depth %d: err = %v, want ErrMalformed", jsontext.MaxDepth+1, err)
	}
	// A JSON bomb: 16 MiB of brackets fails as soon as the cap is reached.
	bomb := strings.Repeat(`{"a":[`, 16<<20/6)
	start := time.Now()
	if _, err := parse(bomb, "application/json", 0); !errors.Is(err, extract.ErrMalformed) {
		t.Errorf("bomb: err = %v, want ErrMalformed", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("bomb took %s", d)
	}
}

func TestMaxChars(t *testing.T) {
	t.Parallel()
	// The parser stops once the output passes the cap: the broken tail is
	// never read.
	src := "[" + strings.Repeat(`"abcdefghij",`, 10000) + `oops`
	doc, err := parse(src, "application/json", 50)
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
	data := `{"a":1}`
	_, err := jsontext.New().Parse(ctx, extract.Input{R: strings.NewReader(data), Size: int64(len(data)), MediaType: "application/json"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestNilInput(t *testing.T) {
	t.Parallel()
	if _, err := jsontext.New().Parse(context.Background(), extract.Input{}); !errors.Is(err, extract.ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
}

// TestRegistry checks what the generic sniffer makes of JSON when the
// parser is registered next to the plain-text parser.
func TestRegistry(t *testing.T) {
	t.Parallel()
	reg := extract.NewRegistry()
	reg.MustRegister("json", jsontext.New())
	reg.MustRegister("text", txt.New())
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, in, wantType, wantParser, wantText string
	}{
		{"object", "a.json", `{"name":"Ada","langs":["en","fr"]}`, "application/json", "json", "name: Ada\nlangs[0]: en\nlangs[1]: fr"},
		{"array", "", `[{"id":1},{"id":2}]`, "application/json", "json", "[0].id: 1\n[1].id: 2"},
		{"ndjson", "log.ndjson", "{\"a\":1}\n{\"a\":2}\n", "application/x-ndjson", "json", "a: 1\n\na: 2"},
		{"geojson", "", `{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"name":"here"}}`, "application/geo+json", "json", ""},
		// A lone string is plain text to the sniffer.
		{"string", "s.json", `"just a string"`, "application/json", "json", "just a string"}, // the .json name refines plain text
		{"string without a name", "", `"just a string"`, "text/plain", "text", `"just a string"`},
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
			if tt.wantText != "" && strings.TrimSpace(doc.Text) != tt.wantText {
				t.Errorf("text = %q, want %q", doc.Text, tt.wantText)
			}
		})
	}
}

var samples = [][]byte{
	[]byte(`{"title":"Report","sections":[{"heading":"Intro","body":"Quarry extracts text."},{"heading":"End","pages":3}]}`),
	[]byte("{\"level\":\"info\",\"msg\":\"started\"}\n{\"level\":\"warn\",\"msg\":\"slow disk\",\"ms\":1200}\n"),
	[]byte(`{"@context":"https://schema.org","@type":"Person","name":"Zoë","knows":[{"name":"Élise"}]}`),
	[]byte(`[true,false,null,-1.5e10,"\u0041\ud83d\ude00"]`),
}

func TestConformance(t *testing.T) {
	extracttest.Run(t, jsontext.New(),
		extracttest.Case{Name: "object", Input: samples[0], Filename: "r.json", WantContains: []string{"title: Report", "sections[0].body: Quarry extracts text.", "sections[1].pages: 3"}},
		extracttest.Case{Name: "ndjson", Input: samples[1], MediaType: "application/x-ndjson", WantContains: []string{"msg: started", "msg: slow disk"}},
		extracttest.Case{Name: "ld+json", Input: samples[2], MediaType: "application/ld+json", WantContains: []string{"name: Zoë", "knows[0].name: Élise"}},
		extracttest.Case{Name: "scalars", Input: samples[3], WantContains: []string{"[0]: true", "[3]: -1.5e10", "A😀"}},
		extracttest.Case{Name: "invalid", Input: []byte(`{"a":`), WantErr: extract.ErrMalformed},
		extracttest.Case{Name: "bomb", Input: []byte(strings.Repeat("[", 1<<20)), WantErr: extract.ErrMalformed},
	)
}
