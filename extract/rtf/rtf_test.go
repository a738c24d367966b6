package rtf

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
)

func parse(t *testing.T, src string, in extract.Input) (*extract.Document, error) {
	t.Helper()
	in.R, in.Size = strings.NewReader(src), int64(len(src))
	if in.MediaType == "" {
		in.MediaType = "application/rtf"
	}
	return New().Parse(context.Background(), in)
}

func mustParse(t *testing.T, src string) *extract.Document {
	t.Helper()
	doc, err := parse(t, src, extract.Input{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return doc
}

const header = `{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fswiss\fcharset0 Arial;}{\f1\froman\fcharset204 Times New Roman Cyr;}{\f2\fnil\fcharset128 MS Mincho;}{\f3\fnil\fcharset2 Symbol;}}` +
	`{\colortbl;\red255\green0\blue0;}{\stylesheet{\s0 Normal;}}` + "\n"

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, want string
	}{
		{"plain", header + `\pard Hello, world.\par Second paragraph.\par}`, "Hello, world.\n\nSecond paragraph."},
		{"line and tab", header + `a\line b\tab c\par}`, "a\nb\tc"},
		{"unicode escapes", header + `caf\u233?, \uc2\u8364\'80\'80 and \uc0\u8212 x\uc1\u-4064?\par}`, "café, € and —x\uf020"},
		{"unicode in group keeps uc", header + `{\uc2 \u8364??}\u8364?\par}`, "€€"},
		{"surrogate pair", header + `\u-10179?\u-8704?\par}`, "😀"},
		{"cp1252 hex", header + `\'93quoted\'94 na\'efve \'80 \'e9t\'e9\par}`, "\u201cquoted\u201d naïve € été"},
		{"ansicpg1251", `{\rtf1\ansi\ansicpg1251 \'cf\'f0\'e8\'e2\'e5\'f2\par}`, "Привет"},
		{"font charset cyrillic", header + `{\f1 \'cf\'f0\'e8\'e2\'e5\'f2} ok\par}`, "Привет ok"},
		{"font charset shift_jis", header + `{\f2 \'93\'fa\'96\'7b\'8c\'ea}\par}`, "日本語"},
		{"symbol bullet", header + `{\listtext\f3 \'b7\tab}Item\par}`, "•\tItem"},
		{"escaped specials", header + `\{braces\} and \\backslash\~nbsp\-soft\_hard\par}`, "{braces} and \\backslash\u00a0nbspsoft-hard"},
		{"special words", header + `\ldblquote q\rdblquote  \lquote s\rquote  a\emdash b\endash c \bullet\par}`, "\u201cq\u201d \u2018s\u2019 a\u2014b\u2013c \u2022"},
		{"table", header + `\trowd\cellx1000\cellx2000\cellx3000\pard\intbl Name\cell Age\cell City\cell\row` +
			`\trowd\cellx1000\cellx2000\cellx3000\pard\intbl Ann\cell 31\cell\cell\row\pard After\par}`, "Name\tAge\tCity\nAnn\t31\nAfter"},
		{"empty first cell", header + `\pard\intbl\cell b\cell\row}`, "b"},
		{"field keeps result", header + `See {\field{\*\fldinst{HYPERLINK "http://example.com"}}{\fldrslt{\ul example site}}} now.\par}`, "See example site now."},
		{"field unstarred fldinst", header + `{\field{\fldinst PAGE }{\fldrslt 3}}\par}`, "3"},
		{"starred destinations skipped", header + `{\*\generator Riched20;}{\*\unknown secret}{\*\bkmkstart b}x{\*\bkmkend b}\par}`, "x"},
		{"info not in text", header + `{\info{\title The Title}{\author Ann Lee}{\subject subj}{\creatim\yr2024\mo3\dy5\hr10\min30}}Body\par}`, "Body"},
		{"pict skipped", header + `a{\pict\pngblip\picw10\pich10 89504e470d0a1a0a0000}b\par}`, "ab"},
		{"bin skipped", header + `a{\pict\bin6 }{x\'}}b\par}`, "ab"},
		{"object result kept", header + `{\object\objemb{\*\objclass Excel}{\*\objdata 0102}{\result{\pict 00}Result text}}\par}`, "Result text"},
		{"header footer skipped", header + `{\header\pard Page header\par}{\footer\pard Footer \chpgn\par}Body\par}`, "Body"},
		{"footnote after body", header + `Text{\super\chftn}{\footnote\pard\plain{\super\chftn} The note.}more.\par End.\par}`, "Textmore.\n\nEnd.\n\nThe note."},
		{"hidden and deleted", header + `a{\v hidden}b{\deleted gone}c{\v0 d}\par}`, "abcd"},
		{"upr uses unicode", header + `{\upr{ansi}{\*\ud{\u20320?\u22909?}}}\par}`, "你好"},
		{"shape text", header + `{\shp{\*\shpinst{\sp{\sn fillColor}{\sv 0}}{\shptxt Box text\par}}{\shprslt dup}}\par}`, "Box text"},
		{"crlf is par", header + "a\\\r\nb}", "a\n\nb"},
		{"unbalanced", header + `Open {\b bold`, "Open bold"},
		{"trailing garbage", header + `x}` + "\x00\x00 more}", "x"},
		{"mac", `{\rtf1\mac \'8e\'8f}`, "éè"},
		{"bom and space", "\xEF\xBB\xBF \r\n" + `{\rtf1 ok}`, "ok"},
		{"long control word", header + `\` + strings.Repeat("a", 100) + `123 x}`, "x"},
		{"huge param", header + `\u99999999999999999999? \fs-99999999999999 y}`, "\uFFFD y"},
		{"nested table", header + `\intbl a\nestcell b\nestcell\nestrow x\cell\row}`, "a\tb\nx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := mustParse(t, tt.src)
			if doc.Text != tt.want {
				t.Errorf("text = %q\nwant   %q", doc.Text, tt.want)
			}
			if strings.Contains(doc.Text, "Arial") || strings.Contains(doc.Text, "Normal") {
				t.Errorf("table leaked into the text: %q", doc.Text)
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	doc := mustParse(t, header+`{\info{\title The \'93Title\'94}{\author Ann  Lee}{\creatim\yr2024\mo3\dy5\hr10\min30}{\revtim\yr2025\mo1\dy2\hr3\min4\sec5}}Body\par}`)
	if doc.Metadata.Title != "The \u201cTitle\u201d" || doc.Metadata.Author != "Ann Lee" {
		t.Errorf("metadata = %+v", doc.Metadata)
	}
	if want := time.Date(2024, 3, 5, 10, 30, 0, 0, time.UTC); doc.Metadata.Created == nil || !doc.Metadata.Created.Equal(want) {
		t.Errorf("created = %v, want %v", doc.Metadata.Created, want)
	}
	if want := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC); doc.Metadata.Modified == nil || !doc.Metadata.Modified.Equal(want) {
		t.Errorf("modified = %v, want %v", doc.Metadata.Modified, want)
	}
	bad := mustParse(t, header+`{\info{\creatim\yr2024\mo13\dy5}}x}`)
	if bad.Metadata.Created != nil {
		t.Errorf("invalid date accepted: %v", bad.Metadata.Created)
	}
}

func TestHeadersFooters(t *testing.T) {
	t.Parallel()
	src := header + `{\headerl\pard Running head\par}{\headerr\pard Running head\par}{\footer\pard Foot\par}Body\par}`
	doc, err := parse(t, src, extract.Input{HeadersFooters: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Running head\n\nBody\n\nFoot"; doc.Text != want {
		t.Errorf("text = %q, want %q", doc.Text, want)
	}
}

func TestNotRTF(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"", "hello", "{\\rt", "{\\RTF1 x}", "<html>{\\rtf1}</html>", "\x00{\\rtf1 x}"} {
		if _, err := parse(t, src, extract.Input{}); !errors.Is(err, extract.ErrMalformed) {
			t.Errorf("%q: err = %v, want ErrMalformed", src, err)
		}
	}
}

func TestDepthBomb(t *testing.T) {
	t.Parallel()
	for _, n := range []int{MaxDepth + 1, 1 << 20} {
		src := `{\rtf1 ` + strings.Repeat("{", n) + "x" + strings.Repeat("}", n) + "}"
		start := time.Now()
		_, err := parse(t, src, extract.Input{})
		if !errors.Is(err, extract.ErrMalformed) {
			t.Fatalf("depth %d: err = %v, want ErrMalformed", n, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("depth %d took %v", n, d)
		}
	}
	// Just under the cap is read.
	n := MaxDepth - 1
	doc := mustParse(t, `{\rtf1 `+strings.Repeat("{", n)+"deep"+strings.Repeat("}", n)+"}")
	if doc.Text != "deep" {
		t.Errorf("text = %q", doc.Text)
	}
	// Unclosed groups, no closing at all, are tolerated.
	doc = mustParse(t, `{\rtf1 `+strings.Repeat("{a", 5000))
	if doc.Text != strings.Repeat("a", 5000) {
		t.Errorf("unclosed: %d bytes", len(doc.Text))
	}
}

func TestMaxChars(t *testing.T) {
	t.Parallel()
	src := header + strings.Repeat(`word \par `, 100000) + "}"
	doc, err := parse(t, src, extract.Input{Limits: extract.Limits{MaxChars: 20}})
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(doc.Text); n > 30 {
		t.Fatalf("got %d runes", n)
	}
	if len(doc.Warnings) == 0 || doc.Warnings[0].Code != extract.WarnTruncated {
		t.Errorf("warnings = %+v", doc.Warnings)
	}
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src := []byte(header + strings.Repeat(`word \par `, 100000) + "}")
	_, err := New().Parse(ctx, extract.Input{R: bytes.NewReader(src), Size: int64(len(src))})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestSniff(t *testing.T) {
	t.Parallel()
	p := New()
	for head, want := range map[string]string{
		`{\rtf1 x}`:                          "application/rtf",
		"\xEF\xBB\xBF{\\rtf1 x}":             "application/rtf",
		"\r\n {\\rtf1 x}":                    "application/rtf",
		"{\\rtf":                             "application/rtf",
		"":                                   "",
		"{\\rt":                              "",
		"hello {\\rtf1}":                     "",
		"%PDF-1.7":                           "",
		strings.Repeat(" ", 300) + `{\rtf1}`: "",
	} {
		if got := p.Sniff([]byte(head)); got != want {
			t.Errorf("Sniff(%.20q) = %q, want %q", head, got, want)
		}
	}
}
