package ooxml

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/safezip"
)

// pkg is a package under construction: part name -> content.
type pkg map[string]string

func (p pkg) zip(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, body := range p {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func (p pkg) open(t *testing.T) *safezip.Reader {
	t.Helper()
	b := p.zip(t)
	zr, err := safezip.Open(bytes.NewReader(b), int64(len(b)), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

const relNS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"

// deep is well-formed XML nested past [safezip.MaxXMLDepth].
var deep = strings.Repeat("<a>", safezip.MaxXMLDepth+1) + strings.Repeat("</a>", safezip.MaxXMLDepth+1)

func TestRelsFor(t *testing.T) {
	for part, want := range map[string]string{
		"":                  "_rels/.rels",
		"word/document.xml": "word/_rels/document.xml.rels",
		"ppt/slides/s1.xml": "ppt/slides/_rels/s1.xml.rels",
		"top.xml":           "_rels/top.xml.rels",
	} {
		if got := RelsFor(part); got != want {
			t.Errorf("RelsFor(%q) = %q, want %q", part, got, want)
		}
	}
}

func TestReadRels(t *testing.T) {
	for _, tc := range []struct {
		name, part, rels string
		max              int64
		want             []Rel
		err              error
	}{
		{name: "missing", part: "", want: nil},
		{
			name: "package", part: "",
			rels: `<Relationships><Relationship Id="rId1" Type="` + relNS + `officeDocument" Target="word/document.xml"/></Relationships>`,
			want: []Rel{{ID: "rId1", Type: relNS + "officeDocument", Target: "word/document.xml"}},
		},
		{
			name: "relative, rooted, climbing, external, empty", part: "ppt/slides/slide1.xml",
			rels: `<Relationships>
				<Relationship Id="a" Type="t/slideLayout" Target="../slideLayouts/l1.xml"/>
				<Relationship Id="b" Type="t/image" Target="/ppt/media/i.png"/>
				<Relationship Id="c" Type="t/x" Target="../../../../etc/passwd"/>
				<Relationship Id="d" Type="t/hyperlink" Target="http://example.com" TargetMode="external"/>
				<Relationship Id="e" Type="t/x" Target=""/>
			</Relationships>`,
			want: []Rel{
				{ID: "a", Type: "t/slideLayout", Target: "ppt/slideLayouts/l1.xml"},
				{ID: "b", Type: "t/image", Target: "ppt/media/i.png"},
				{ID: "c", Type: "t/x", Target: "etc/passwd"},
			},
		},
		{
			name: "malformed keeps what was read", part: "",
			rels: `<Relationships><Relationship Id="a" Type="t/x" Target="x.xml"/><Relationship`,
			want: []Rel{{ID: "a", Type: "t/x", Target: "x.xml"}}, err: extract.ErrMalformed,
		},
		{name: "too deep", part: "", rels: deep, err: extract.ErrMalformed},
		{
			name: "over the cap", part: "", max: 10,
			rels: `<Relationships><Relationship Id="a" Type="t/x" Target="x.xml"/></Relationships>`,
			err:  extract.ErrTooLarge,
		},
		{
			name: "no cap", part: "", max: 0,
			rels: `<Relationships><Relationship Id="a" Type="t/x" Target="x.xml"/></Relationships>`,
			want: []Rel{{ID: "a", Type: "t/x", Target: "x.xml"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := pkg{"x.xml": "<x/>"}
			if tc.rels != "" {
				p[RelsFor(tc.part)] = tc.rels
			}
			got, err := ReadRels(context.Background(), p.open(t), tc.part, tc.max)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if !equalRels(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func equalRels(a, b []Rel) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadRelsCancelled(t *testing.T) {
	var b strings.Builder
	b.WriteString("<Relationships>")
	for range 5000 {
		b.WriteString(`<Relationship Id="a" Type="t/x" Target="x.xml"/>`)
	}
	b.WriteString("</Relationships>")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ReadRels(ctx, pkg{"_rels/.rels": b.String()}.open(t), "", 0)
	if !errors.Is(err, context.Canceled) || !IsFatal(err) {
		t.Fatalf("error %v, want a fatal context.Canceled", err)
	}
}

func TestRelLookup(t *testing.T) {
	rels := []Rel{
		{ID: "rId1", Type: "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument", Target: "a.xml"},
		{ID: "rId2", Type: relNS + "styles", Target: "s.xml"},
		{ID: "rId3", Type: relNS + "stylesWithEffects", Target: "e.xml"},
		{ID: "rId4", Type: relNS + "styles", Target: "s2.xml"},
	}
	for _, tc := range []struct {
		suffix, want string
		ok           bool
	}{
		{"officeDocument", "a.xml", true}, // strict namespace
		{"styles", "s.xml", true},         // the first of two
		{"stylesWithEffects", "e.xml", true},
		{"Effects", "", false}, // whole last element only
		{"numbering", "", false},
	} {
		if r, ok := RelOfType(rels, tc.suffix); ok != tc.ok || r.Target != tc.want {
			t.Errorf("RelOfType(%q) = %+v %v", tc.suffix, r, ok)
		}
	}
	for _, tc := range []struct {
		id, want string
		ok       bool
	}{{"rId3", "e.xml", true}, {"rId9", "", false}, {"", "", false}} {
		if r, ok := RelByID(rels, tc.id); ok != tc.ok || r.Target != tc.want {
			t.Errorf("RelByID(%q) = %+v %v", tc.id, r, ok)
		}
	}
}

func TestRelAttr(t *testing.T) {
	se := xml.StartElement{Attr: []xml.Attr{
		{Name: xml.Name{Local: "id"}, Value: "256"},
		{Name: xml.Name{Space: relNS, Local: "id"}, Value: "rId7"},
	}}
	if got := RelAttr(se, "id"); got != "rId7" {
		t.Errorf("RelAttr(id) = %q", got)
	}
	if got := RelAttr(se, "dm"); got != "" {
		t.Errorf("RelAttr(dm) = %q", got)
	}
}

var testTypes = []MainType{
	{ContentType: "application/x-main.macroEnabled+xml", MediaType: "type/macro"},
	{ContentType: "application/x-main+xml", MediaType: "type/plain"},
}

func contentTypes(part, ct string) string {
	return `<Types><Default Extension="xml" ContentType="application/xml"/><Override PartName="/` + part + `" ContentType="` + ct + `"/></Types>`
}

func TestMainPart(t *testing.T) {
	officeDoc := []Rel{{Type: relNS + "officeDocument", Target: "doc/main.xml"}}
	for _, tc := range []struct {
		name    string
		p       pkg
		rels    []Rel
		max     int64
		want    string
		wantErr error
	}{
		{name: "relationship", p: pkg{"doc/main.xml": "<m/>", "fallback.xml": "<f/>"}, rels: officeDoc, want: "doc/main.xml"},
		{name: "dangling relationship, fallback", p: pkg{"fallback.xml": "<f/>"}, rels: officeDoc, want: "fallback.xml"},
		{
			name: "override, case-insensitive",
			p:    pkg{"[Content_Types].xml": contentTypes("other/m.xml", "APPLICATION/X-MAIN.MACROENABLED+XML"), "other/m.xml": "<m/>", "fallback.xml": "<f/>"},
			want: "other/m.xml",
		},
		{
			name: "override of a missing part",
			p:    pkg{"[Content_Types].xml": contentTypes("gone.xml", "application/x-main+xml"), "fallback.xml": "<f/>"},
			want: "fallback.xml",
		},
		{
			name: "other content type",
			p:    pkg{"[Content_Types].xml": contentTypes("other/m.xml", "application/x-other+xml"), "other/m.xml": "<m/>"},
			want: "",
		},
		{
			name: "content types over the cap", max: 10,
			p:    pkg{"[Content_Types].xml": contentTypes("other/m.xml", "application/x-main+xml"), "other/m.xml": "<m/>", "fallback.xml": "<f/>"},
			want: "fallback.xml",
		},
		{
			name: "malformed content types",
			p:    pkg{"[Content_Types].xml": "<Types><Override", "fallback.xml": "<f/>"},
			want: "fallback.xml",
		},
		{name: "too deep content types", p: pkg{"[Content_Types].xml": deep, "fallback.xml": "<f/>"}, want: "fallback.xml"},
		{name: "empty package", p: pkg{"x.bin": ""}, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MainPart(context.Background(), tc.p.open(t), tc.rels, testTypes, "fallback.xml", tc.max)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("error %v", err)
			}
			if got != tc.want {
				t.Fatalf("MainPart = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMainPartCancelled(t *testing.T) {
	var b strings.Builder
	b.WriteString("<Types>")
	for range 5000 {
		b.WriteString(`<Default Extension="x" ContentType="a/b"/>`)
	}
	b.WriteString("</Types>")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := MainPart(ctx, pkg{"[Content_Types].xml": b.String()}.open(t), nil, testTypes, "f.xml", 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

const core = `<?xml version="1.0" encoding="UTF-8"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/">
  <dc:title> Annual report </dc:title>
  <dc:creator>Ada</dc:creator>
  <dc:language>en-GB</dc:language>
  <dcterms:created>2024-03-01T10:20:30Z</dcterms:created>
  <dcterms:modified>2024-03-02</dcterms:modified>
</cp:coreProperties>`

func TestReadCore(t *testing.T) {
	created := time.Date(2024, 3, 1, 10, 20, 30, 0, time.UTC)
	modified := time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)
	full := extract.Metadata{Title: "Annual report", Author: "Ada", Language: "en-GB", Created: &created, Modified: &modified}
	for _, tc := range []struct {
		name string
		p    pkg
		rels []Rel
		max  int64
		want extract.Metadata
		err  error
	}{
		{name: "default part", p: pkg{"docProps/core.xml": core}, want: full},
		{name: "relationship", p: pkg{"meta/c.xml": core}, rels: []Rel{{Type: relNS + "metadata/core-properties", Target: "meta/c.xml"}}, want: full},
		{name: "missing", p: pkg{"x.xml": "<x/>"}},
		{name: "over the cap", p: pkg{"docProps/core.xml": core}, max: 100},
		{name: "bad dates", p: pkg{"docProps/core.xml": `<c><created>yesterday</created><title>T</title></c>`}, want: extract.Metadata{Title: "T"}},
		{name: "long value cut", p: pkg{"docProps/core.xml": "<c><title>" + strings.Repeat("xxxx<!---->", 5000) + "</title></c>"}, want: extract.Metadata{Title: strings.Repeat("x", 4096)}},
		{name: "malformed keeps what was read", p: pkg{"docProps/core.xml": `<c><title>T</title><creator>`}, want: extract.Metadata{Title: "T"}, err: extract.ErrMalformed},
		{name: "too deep", p: pkg{"docProps/core.xml": deep}, err: extract.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var md extract.Metadata
			err := ReadCore(context.Background(), tc.p.open(t), tc.rels, &md, tc.max)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if md.Title != tc.want.Title || md.Author != tc.want.Author || md.Language != tc.want.Language ||
				!sameTime(md.Created, tc.want.Created) || !sameTime(md.Modified, tc.want.Modified) {
				t.Fatalf("got %.200q, want %.200q", fmt.Sprint(md), fmt.Sprint(tc.want))
			}
		})
	}
}

func sameTime(a, b *time.Time) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(*b))
}

func TestParseW3CDTF(t *testing.T) {
	east := time.FixedZone("", 2*3600)
	for _, tc := range []struct {
		in   string
		want *time.Time
	}{
		{"2024-03-01T10:20:30Z", ptr(time.Date(2024, 3, 1, 10, 20, 30, 0, time.UTC))},
		{"2024-03-01T10:20:30.25+02:00", ptr(time.Date(2024, 3, 1, 10, 20, 30, 250e6, east))},
		{"2024-03-01T10:20:30", ptr(time.Date(2024, 3, 1, 10, 20, 30, 0, time.UTC))},
		{"2024-03-01T10:20+02:00", ptr(time.Date(2024, 3, 1, 10, 20, 0, 0, east))},
		{"2024-03-01", ptr(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))},
		{"", nil},
		{"2024", nil},
		{"2024-13-01", nil},
		{"1 March 2024", nil},
	} {
		if got := ParseW3CDTF(tc.in); !sameTime(got, tc.want) {
			t.Errorf("ParseW3CDTF(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func ptr(t time.Time) *time.Time { return &t }

func TestIsFatal(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{extract.ErrMalformed, false},
		{fs.ErrNotExist, false},
		{extract.ErrTooLarge, true},
		{extract.ErrEncrypted, true},
		{context.Canceled, true},
		{errors.New("disk"), true},
	} {
		if got := IsFatal(tc.err); got != tc.want {
			t.Errorf("IsFatal(%v) = %v", tc.err, got)
		}
	}
}

func TestCheckCFB(t *testing.T) {
	cfb := append(bytes.Clone(cfbMagic), make([]byte, 600)...)
	enc := append(bytes.Clone(cfb), encryptedPackage...)
	late := append(append(bytes.Clone(cfb), make([]byte, 64<<10)...), encryptedPackage...)
	for _, tc := range []struct {
		name string
		data []byte
		want error
		msg  string
	}{
		{"zip", []byte("PK\x03\x04rest"), nil, ""},
		{"short", []byte{0xD0, 0xCF}, nil, ""},
		{"legacy", cfb, extract.ErrMalformed, "pptx: malformed document: an OLE compound file (legacy .ppt), not an OOXML package"},
		{"encrypted", enc, extract.ErrEncrypted, "pptx: encrypted document: the package is encrypted (password-protected OOXML)"},
		{"stream past 64 KiB", late, extract.ErrMalformed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckCFB(extract.Input{R: bytes.NewReader(tc.data), Size: int64(len(tc.data))}, "pptx", ".ppt")
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Fatalf("message %q, want %q", err, tc.msg)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	macro := pkg{"[Content_Types].xml": contentTypes("m/main.xml", "application/x-main.macroenabled+xml"), "m/main.xml": "<m/>"}
	plain := pkg{"[Content_Types].xml": contentTypes("m/main.xml", "application/x-main+xml"), "m/main.xml": "<m/>"}
	dirOnly := pkg{"m/main.xml": "<m/>"}
	other := pkg{"[Content_Types].xml": contentTypes("o.xml", "application/x-other+xml"), "o.xml": "<o/>"}
	for _, tc := range []struct {
		name string
		head []byte
		want string
	}{
		{"macro", macro.zip(t), "type/macro"},
		{"plain", plain.zip(t), "type/plain"},
		{"directory", dirOnly.zip(t), "type/dir"},
		{"other", other.zip(t), ""},
		{"nil", nil, ""},
		{"bare signature", []byte("PK\x03\x04"), ""},
		{"truncated header", append([]byte("PK\x03\x04"), make([]byte, 20)...), ""},
		{"pdf", []byte("%PDF-1.7"), ""},
	} {
		if got := Sniff(tc.head, "m/", "type/dir", testTypes); got != tc.want {
			t.Errorf("%s: Sniff = %q, want %q", tc.name, got, tc.want)
		}
	}
	// Cut inside the compressed [Content_Types].xml: no panic.
	b := macro.zip(t)
	for n := range len(b) {
		Sniff(b[:n], "m/", "type/dir", testTypes)
	}
}
