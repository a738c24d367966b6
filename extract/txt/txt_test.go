package txt

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
)

const (
	french   = "Tous les êtres humains naissent libres et égaux en dignité et en droits. Ils sont doués de raison et de conscience et doivent agir les uns envers les autres dans un esprit de fraternité."
	german   = "Alle Menschen sind frei und gleich an Würde und Rechten geboren. Sie sind mit Vernunft und Gewissen begabt und sollen einander im Geist der Brüderlichkeit begegnen."
	russian  = "Все люди рождаются свободными и равными в своем достоинстве и правах. Они наделены разумом и совестью и должны поступать в отношении друг друга в духе братства."
	greek    = "Όλοι οι άνθρωποι γεννιούνται ελεύθεροι και ίσοι στην αξιοπρέπεια και τα δικαιώματα. Είναι προικισμένοι με λογική και συνείδηση, και οφείλουν να συμπεριφέρονται μεταξύ τους με πνεύμα αδελφοσύνης."
	polish   = "Wszyscy ludzie rodzą się wolni i równi pod względem swej godności i swych praw. Są oni obdarzeni rozumem i sumieniem i powinni postępować wobec innych w duchu braterstwa."
	japan    = "すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。人間は、理性と良心とを授けられており、互いに同胞の精神をもって行動しなければならない。"
	chinese  = "人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心，并应以兄弟关系的精神相对待。"
	tchinese = "人人生而自由，在尊嚴和權利上一律平等。他們賦有理性和良心，並應以兄弟關係的精神相對待。"
	korean_  = "모든 인간은 태어날 때부터 자유로우며 그 존엄과 권리에 있어 동등하다. 인간은 천부적으로 이성과 양심을 부여받았으며 서로 형제애의 정신으로 행동하여야 한다."
)

func enc(t *testing.T, e encoding.Encoding, s string) []byte {
	t.Helper()
	b, err := e.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}

func parse(t *testing.T, data []byte, mediaType string) (*extract.Document, error) {
	t.Helper()
	in := extract.Input{R: bytes.NewReader(data), Size: int64(len(data)), MediaType: mediaType}
	return New().Parse(context.Background(), in)
}

func TestParseEncodings(t *testing.T) {
	t.Parallel()
	u16le := unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
	u16be := unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
	u32le := utf32.UTF32(utf32.LittleEndian, utf32.IgnoreBOM)
	u32be := utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM)
	tests := []struct {
		name      string
		data      func(t *testing.T) []byte
		mediaType string
		want      string
		charset   string
		invalid   bool
	}{
		{"utf-8", func(*testing.T) []byte { return []byte(french) }, "text/plain; charset=utf-8", french, "utf-8", false},
		{"utf-8 no media type", func(*testing.T) []byte { return []byte(russian) }, "", russian, "utf-8", false},
		{"utf-8 bom", func(*testing.T) []byte { return append([]byte("\xEF\xBB\xBF"), german...) }, "", german, "utf-8", false},
		{"utf-16le bom", func(t *testing.T) []byte { return append([]byte{0xFF, 0xFE}, enc(t, u16le, russian)...) }, "", russian, "utf-16le", false},
		{"utf-16be bom", func(t *testing.T) []byte { return append([]byte{0xFE, 0xFF}, enc(t, u16be, japan)...) }, "", japan, "utf-16be", false},
		{"utf-32le bom", func(t *testing.T) []byte { return append([]byte{0xFF, 0xFE, 0, 0}, enc(t, u32le, greek)...) }, "", greek, "utf-32le", false},
		{"utf-32be bom", func(t *testing.T) []byte { return append([]byte{0, 0, 0xFE, 0xFF}, enc(t, u32be, french)...) }, "", french, "utf-32be", false},
		{"utf-16le no bom", func(t *testing.T) []byte { return enc(t, u16le, german) }, "", german, "utf-16le", false},
		{"utf-16be no bom", func(t *testing.T) []byte { return enc(t, u16be, french) }, "", french, "utf-16be", false},
		{"utf-32le no bom", func(t *testing.T) []byte { return enc(t, u32le, german) }, "", german, "utf-32le", false},
		{"utf-32be no bom", func(t *testing.T) []byte { return enc(t, u32be, german) }, "", german, "utf-32be", false},
		{"utf-16le declared", func(t *testing.T) []byte { return enc(t, u16le, japan) }, "text/plain; charset=utf-16le", japan, "utf-16le", false},
		{"latin-1", func(t *testing.T) []byte { return enc(t, charmap.ISO8859_1, french) }, "text/plain; charset=iso-8859-1", french, "windows-1252", false},
		{"windows-1252 german", func(t *testing.T) []byte { return enc(t, charmap.Windows1252, german+" – „Zitat“") }, "text/plain", german + " – „Zitat“", "windows-1252", false},
		{"cp1251 sniffed as latin-1", func(t *testing.T) []byte { return enc(t, charmap.Windows1251, russian) }, "text/plain; charset=iso-8859-1", russian, "windows-1251", false},
		{"cp1251", func(t *testing.T) []byte { return enc(t, charmap.Windows1251, russian) }, "", russian, "windows-1251", false},
		{"koi8-r", func(t *testing.T) []byte { return enc(t, charmap.KOI8R, russian) }, "", russian, "koi8-r", false},
		{"windows-1253", func(t *testing.T) []byte { return enc(t, charmap.Windows1253, greek) }, "", greek, "windows-1253", false},
		{"windows-1250", func(t *testing.T) []byte { return enc(t, charmap.Windows1250, polish) }, "", polish, "windows-1250", false},
		{"shift_jis", func(t *testing.T) []byte { return enc(t, japanese.ShiftJIS, japan) }, "text/plain", japan, "shift_jis", false},
		{"euc-jp", func(t *testing.T) []byte { return enc(t, japanese.EUCJP, japan) }, "", japan, "euc-jp", false},
		{"gbk", func(t *testing.T) []byte { return enc(t, simplifiedchinese.GBK, chinese) }, "", chinese, "gbk", false},
		{"big5", func(t *testing.T) []byte { return enc(t, traditionalchinese.Big5, tchinese) }, "", tchinese, "big5", false},
		{"euc-kr", func(t *testing.T) []byte { return enc(t, korean.EUCKR, korean_) }, "", korean_, "euc-kr", false},
		{"declared cp1251", func(t *testing.T) []byte { return enc(t, charmap.Windows1251, russian) }, "text/plain; charset=cp1251", russian, "windows-1251", false},
		{"declared shift_jis", func(t *testing.T) []byte { return enc(t, japanese.ShiftJIS, japan) }, "text/plain; charset=Shift_JIS", japan, "shift_jis", false},
		{"ascii", func(*testing.T) []byte { return []byte("plain ascii\r\nline two\n") }, "", "plain ascii\r\nline two\n", "utf-8", false},
		{
			"invalid utf-8 deep in the file",
			func(*testing.T) []byte { return []byte(strings.Repeat(russian+"\n", 2000) + "bad \xff\xfe byte") },
			"text/plain; charset=utf-8",
			strings.Repeat(russian+"\n", 2000) + "bad \uFFFD\uFFFD byte", "utf-8", true,
		},
		{
			"latin-1 after a long ascii head",
			func(t *testing.T) []byte {
				return append([]byte(strings.Repeat("ascii only line\n", 5000)), enc(t, charmap.Windows1252, french)...)
			},
			"text/plain; charset=utf-8",
			strings.Repeat("ascii only line\n", 5000) + french, "windows-1252", false,
		},
		{"nfc", func(*testing.T) []byte { return []byte("Cafe\u0301 re\u0301sume\u0301") }, "", "Café résumé", "utf-8", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := parse(t, tt.data(t), tt.mediaType)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if doc.Text != tt.want {
				t.Errorf("text = %.200q\nwant   %.200q", doc.Text, tt.want)
			}
			if doc.Metadata.Charset != tt.charset {
				t.Errorf("charset = %q, want %q", doc.Metadata.Charset, tt.charset)
			}
			gotInvalid := len(doc.Warnings) > 0 && doc.Warnings[0].Code == extract.WarnInvalidUTF8
			if gotInvalid != tt.invalid {
				t.Errorf("invalid warning = %v, want %v (%v)", gotInvalid, tt.invalid, doc.Warnings)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	t.Parallel()
	u16le := unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
	u16be := unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
	u32le := utf32.UTF32(utf32.LittleEndian, utf32.IgnoreBOM)
	tests := []struct {
		name string
		head func(t *testing.T) []byte
		want string
	}{
		{"utf-16le", func(t *testing.T) []byte { return enc(t, u16le, german) }, "text/plain; charset=utf-16le"},
		{"utf-16be", func(t *testing.T) []byte { return enc(t, u16be, french) }, "text/plain; charset=utf-16be"},
		{"utf-16le cut mid-unit", func(t *testing.T) []byte { b := enc(t, u16le, german); return b[:len(b)-1] }, "text/plain; charset=utf-16le"},
		{"utf-32le", func(t *testing.T) []byte { return enc(t, u32le, german) }, "text/plain; charset=utf-32le"},
		{"utf-32le bom", func(t *testing.T) []byte { return append([]byte{0xFF, 0xFE, 0, 0}, enc(t, u32le, "hi")...) }, "text/plain; charset=utf-32le"},
		{"utf-16 cyrillic", func(t *testing.T) []byte { return enc(t, u16le, russian) }, ""},
		{"short", func(t *testing.T) []byte { return enc(t, u16le, "hi") }, ""},
		{"utf-8", func(*testing.T) []byte { return []byte(french) }, ""},
		{"pdf", func(*testing.T) []byte {
			return []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
		}, ""},
		{"zip", func(*testing.T) []byte {
			return []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00\x00\x00!\x00[Content_Types].xml")
		}, ""},
		{"png", func(*testing.T) []byte {
			return []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa")
		}, ""},
		{"zeros", func(*testing.T) []byte { return make([]byte, 256) }, ""},
		{"int16 samples", func(*testing.T) []byte {
			b := make([]byte, 512)
			for i := range b {
				if i%2 == 0 {
					b[i] = byte(i)
				}
			}
			return b
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := New().Sniff(tt.head(t)); got != tt.want {
				t.Errorf("Sniff = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRegistrySniffsUTF16(t *testing.T) {
	t.Parallel()
	reg := extract.NewRegistry()
	reg.MustRegister("txt", New())
	data := enc(t, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), german)
	if got := reg.Sniff(data, "x.txt"); got != "text/plain; charset=utf-16le" {
		t.Fatalf("Sniff = %q", got)
	}
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ex.Extract(context.Background(), extract.Input{R: bytes.NewReader(data), Size: int64(len(data))}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Text != german || doc.Metadata.Charset != "utf-16le" || doc.Metadata.ParserVersion != Version {
		t.Fatalf("got %q charset %q version %q", doc.Text, doc.Metadata.Charset, doc.Metadata.ParserVersion)
	}
}

func TestMaxChars(t *testing.T) {
	t.Parallel()
	data := []byte(strings.Repeat("äbc", 100000))
	in := extract.Input{R: bytes.NewReader(data), Size: int64(len(data)), Limits: extract.Limits{MaxChars: 10}}
	doc, err := New().Parse(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(doc.Text); n != 11 {
		t.Fatalf("got %d runes (%q), want 11", n, doc.Text)
	}
	// Through the Extractor the cut is exact and warned about.
	reg := extract.NewRegistry()
	reg.MustRegister("txt", New())
	ex, _ := extract.New(reg, extract.Config{Limits: extract.Limits{MaxChars: 10}})
	d, err := ex.Extract(context.Background(), extract.Input{R: bytes.NewReader(data), Size: int64(len(data))}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Text != "äbcäbcäbcä" || len(d.Warnings) != 1 || d.Warnings[0].Code != extract.WarnTruncated {
		t.Fatalf("got %q %v", d.Text, d.Warnings)
	}
}

func TestEmptyAndCancelled(t *testing.T) {
	t.Parallel()
	doc, err := parse(t, nil, "")
	if err != nil || doc.Text != "" {
		t.Fatalf("empty: %v %q", err, doc.Text)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := []byte(strings.Repeat("x", 1<<20))
	_, err = New().Parse(ctx, extract.Input{R: bytes.NewReader(data), Size: int64(len(data))})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	_, err = New().Parse(context.Background(), extract.Input{R: bytes.NewReader(data), Size: int64(len(data)) + 10})
	if !errors.Is(err, extract.ErrMalformed) {
		t.Fatalf("short input: %v", err)
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	for label, want := range map[string]string{
		"latin1": "windows-1252", "CP1251": "windows-1251", "sjis": "shift_jis", "UTF-32": "utf-32le",
		"utf-16": "utf-16le", "gb2312": "gbk", "x-unknown": "", "replacement": "",
	} {
		if _, got := Lookup(label); got != want {
			t.Errorf("Lookup(%q) = %q, want %q", label, got, want)
		}
	}
}
