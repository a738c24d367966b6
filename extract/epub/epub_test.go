package epub

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/extracttest"
)

func TestSample(t *testing.T) {
	doc, err := parse(t, New(), sampleBook().zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pageTexts(doc); !slices.Equal(got, samplePages) {
		t.Fatalf("pages\n%q\nwant\n%q", got, samplePages)
	}
	for i, p := range doc.Pages {
		if p.Number != i+1 {
			t.Errorf("page %d numbered %d", i+1, p.Number)
		}
	}
	md := doc.Metadata
	if md.Title != "The Lighthouse Keeper" || md.Author != "Mary Shelley, Percy Shelley" || md.Language != "en-GB" ||
		md.Created == nil || md.Created.Year() != 1818 || md.Modified == nil || md.Modified.Day() != 6 {
		t.Errorf("metadata %+v", md)
	}
	if len(doc.Warnings) != 0 {
		t.Errorf("warnings %v", doc.Warnings)
	}
	// The HTML parser's headings, placed on their pages.
	for _, h := range doc.Headings {
		if h.Page < 1 || h.Page > len(doc.Pages) || !strings.HasPrefix(string([]rune(doc.Pages[h.Page-1].Text)[h.Start:]), h.Text) {
			t.Errorf("heading %+v does not start where it says", h)
		}
	}
	for _, bad := range []string{"NAVONLY", "DUPLICATE", "SVGTEXT", "alert", "serif", "Cover"} {
		if strings.Contains(strings.Join(pageTexts(doc), "\n"), bad) {
			t.Errorf("text contains %q", bad)
		}
	}
}

// An EPUB 2 package document, at the root, with an NCX and no container
// names: the first .opf is used, and the chapter title fills in the
// missing dc:title.
func TestEPUB2(t *testing.T) {
	b := book{
		"mimetype": MediaTypeEPUB,
		"book.opf": strings.Replace(opfXML(`<dc:creator opf:role="aut" xmlns:opf="http://www.idpf.org/2007/opf">Anon</dc:creator><dc:date opf:event="publication" xmlns:opf="http://www.idpf.org/2007/opf">1999</dc:date>`,
			[][4]string{{"ncx", "toc.ncx", "application/x-dtbncx+xml", ""}, {"c1", "c1.html", "application/xhtml+xml", ""}}, `<itemref idref="c1"/>`), `version="3.0"`, `version="2.0"`, 1),
		"toc.ncx": `<ncx><navMap><navPoint><navLabel><text>NCXONLY</text></navLabel></navPoint></navMap></ncx>`,
		"c1.html": `<html><head><title>Only Chapter</title></head><body><p>Hello &amp; welcome&mdash;twice.</p></body></html>`,
	}
	doc, err := parse(t, New(), b.zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pageTexts(doc); !slices.Equal(got, []string{"Hello & welcome—twice."}) {
		t.Fatalf("pages %q", got)
	}
	if md := doc.Metadata; md.Title != "Only Chapter" || md.Author != "Anon" || md.Created == nil || md.Created.Year() != 1999 {
		t.Errorf("metadata %+v", md)
	}
}

// Spine items that are missing, outside the archive, remote, unlisted or
// broken are skipped with one warning per reason; duplicate manifest ids
// keep their first item.
func TestOddSpine(t *testing.T) {
	b := sampleBook()
	items := [][4]string{
		{"ch1", "text/chapter%201.xhtml", "application/xhtml+xml", ""},
		{"gone", "text/gone.xhtml", "application/xhtml+xml", ""},
		{"up", "../../etc/passwd", "application/xhtml+xml", ""},
		{"up2", "../../outside.xhtml", "application/xhtml+xml", ""},
		{"web", "http://127.0.0.1:9/x.xhtml", "application/xhtml+xml", ""},
		{"abs", "/OEBPS/text/ch2.xhtml", "application/xhtml+xml", ""},
		{"ch1", "text/notes.xhtml", "application/xhtml+xml", ""},
	}
	b["OEBPS/content.opf"] = opfXML(sampleMeta, items,
		`<itemref idref="ch1"/>`, `<itemref idref="gone"/>`, `<itemref idref="up"/>`, `<itemref idref="up2"/>`, `<itemref idref="web"/>`,
		`<itemref idref="nothing"/>`, `<itemref idref="abs"/>`, `<itemref/>`)
	b["outside.xhtml"] = xhtml("x", "<p>OUTSIDE</p>")
	doc, err := parse(t, New(), b.zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pageTexts(doc); !slices.Equal(got, []string{samplePages[0], samplePages[1]}) {
		t.Fatalf("pages %q", got)
	}
	var msgs []string
	for _, w := range doc.Warnings {
		if w.Code != extract.WarnPageFailed {
			t.Errorf("warning %+v", w)
		}
		msgs = append(msgs, w.Message)
	}
	want := []string{"2 spine items refer to no manifest item", "2 spine items point outside the publication", "1 spine items are remote resources, never fetched", "1 spine items are missing from the archive"}
	if !slices.Equal(msgs, want) {
		t.Errorf("warnings %q\nwant %q", msgs, want)
	}
}

func TestEncrypted(t *testing.T) {
	enc := func(algorithm string, uris ...string) string {
		var s strings.Builder
		s.WriteString(`<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" xmlns:enc="http://www.w3.org/2001/04/xmlenc#">`)
		for _, u := range uris {
			s.WriteString(`<enc:EncryptedData><enc:EncryptionMethod Algorithm="` + algorithm + `"/><enc:CipherData><enc:CipherReference URI="` + u + `"/></enc:CipherData></enc:EncryptedData>`)
		}
		s.WriteString(`</encryption>`)
		return s.String()
	}
	b := sampleBook()
	b["META-INF/encryption.xml"] = enc("http://www.w3.org/2001/04/xmlenc#aes128-cbc", "OEBPS/text/chapter%201.xhtml", "OEBPS/text/ch2.xhtml", "OEBPS/text/notes.xhtml", "OEBPS/cover.xhtml")
	if _, err := parse(t, New(), b.zip(t), extract.Limits{}); !errors.Is(err, extract.ErrEncrypted) {
		t.Fatalf("all encrypted: %v", err)
	}
	// Part encrypted: the rest is read, with a warning.
	b["META-INF/encryption.xml"] = enc("http://www.w3.org/2001/04/xmlenc#aes128-cbc", "OEBPS/text/ch2.xhtml")
	doc, err := parse(t, New(), b.zip(t), extract.Limits{})
	if err != nil || len(doc.Pages) != 2 || len(doc.Warnings) != 1 {
		t.Fatalf("%v %q %v", err, pageTexts(doc), doc.Warnings)
	}
	// Font obfuscation leaves content readable.
	b["META-INF/encryption.xml"] = enc("http://www.idpf.org/2008/embedding", "OEBPS/text/ch2.xhtml")
	doc, err = parse(t, New(), b.zip(t), extract.Limits{})
	if err != nil || len(doc.Pages) != 3 {
		t.Fatalf("%v %q", err, pageTexts(doc))
	}
}

func TestErrors(t *testing.T) {
	noOPF := sampleBook()
	delete(noOPF, "OEBPS/content.opf")
	badOPF := sampleBook()
	badOPF["OEBPS/content.opf"] = `<package><manifest><item id="a"`
	odt := book{"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": "<x/>"}
	allBad := badCRC(t, book{"mimetype": MediaTypeEPUB, "META-INF/container.xml": containerXML,
		"OEBPS/content.opf": opfXML("", [][4]string{{"a", "a.xhtml", "application/xhtml+xml", ""}}, `<itemref idref="a"/>`)},
		"OEBPS/a.xhtml", xhtml("A", "<p>text</p>"))
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"not a zip", []byte("hello, not a zip at all"), extract.ErrMalformed},
		{"empty", nil, extract.ErrMalformed},
		{"no package document", noOPF.zip(t), extract.ErrMalformed},
		{"broken package document", badOPF.zip(t), extract.ErrMalformed},
		{"other type", odt.zip(t), extract.ErrUnsupportedFormat},
		{"no readable chapter", allBad, extract.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parse(t, New(), tc.data, extract.Limits{}); !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
	// An empty spine is an empty book, not an error.
	empty := sampleBook()
	empty["OEBPS/content.opf"] = opfXML(sampleMeta, nil)
	doc, err := parse(t, New(), empty.zip(t), extract.Limits{})
	if err != nil || len(doc.Pages) != 0 || doc.Metadata.Title == "" {
		t.Fatalf("%v %+v", err, doc)
	}
}

// badCRC returns b with one more entry, name, whose checksum is wrong.
func badCRC(t *testing.T, b book, name, data string) []byte {
	t.Helper()
	z := b.zip(t)
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Store, CRC32: 1234,
		CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte(data))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSniff(t *testing.T) {
	reg := extract.NewRegistry()
	reg.MustRegister("epub", New())
	// No mimetype entry: found by its container.
	noMime := sampleBook()
	delete(noMime, "mimetype")
	for _, b := range [][]byte{sampleBook().zip(t), noMime.zip(t)} {
		head := b[:min(len(b), extract.SniffLen)]
		if got := New().Sniff(head); got != MediaTypeEPUB {
			t.Errorf("Sniff = %q", got)
		}
		if name, _, err := reg.Lookup(reg.Sniff(head, "")); err != nil || name != "epub" {
			t.Errorf("Registry: %q %v", name, err)
		}
	}
	for _, h := range [][]byte{nil, []byte("PK\x03\x04"), []byte("%PDF-1.7"), book{"mimetype": "application/vnd.oasis.opendocument.text", "META-INF/container.xml": ""}.zip(t), book{"word/document.xml": "<w/>"}.zip(t)} {
		if got := New().Sniff(h); got != "" {
			t.Errorf("Sniff(%.20q) = %q", h, got)
		}
	}
}

func TestLimits(t *testing.T) {
	b := sampleBook().zip(t)
	for _, n := range []int{1, 11, 12, 13, 60, 100} {
		doc, err := parse(t, New(), b, extract.Limits{MaxChars: n})
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for i, p := range doc.Pages {
			if i > 0 {
				total += 2
			}
			total += utf8.RuneCountInString(p.Text)
		}
		if total > n {
			t.Errorf("MaxChars %d: %d code points", n, total)
		}
		if len(doc.Warnings) == 0 || doc.Warnings[0].Code != extract.WarnTruncated {
			t.Errorf("MaxChars %d: warnings %v", n, doc.Warnings)
		}
	}
	doc, err := parse(t, New(), b, extract.Limits{MaxPages: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 2 || len(doc.Warnings) != 1 || doc.Warnings[0].Code != extract.WarnTruncated {
		t.Errorf("MaxPages: %d pages, %v", len(doc.Pages), doc.Warnings)
	}
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct{ base, href, name, why string }{
		{"OEBPS", "text/a.xhtml", "OEBPS/text/a.xhtml", ""},
		{"OEBPS", "a%20b.xhtml#frag", "OEBPS/a b.xhtml", ""},
		{"OEBPS", "../a.xhtml", "a.xhtml", ""},
		{"OEBPS", "../../a.xhtml", "", "outside"},
		{".", "../a.xhtml", "", "outside"},
		{".", "", "", "outside"},
		{"OEBPS", "/x/a.xhtml", "x/a.xhtml", ""},
		{"OEBPS", "https://example.com/a.xhtml", "", "remote"},
		{"OEBPS", "//example.com/a.xhtml", "", "remote"},
		{"OEBPS", "file:///etc/passwd", "", "remote"},
	} {
		name, why := resolve(tc.base, tc.href)
		if name != tc.name || why != tc.why {
			t.Errorf("resolve(%q, %q) = %q, %q; want %q, %q", tc.base, tc.href, name, why, tc.name, tc.why)
		}
	}
}

// seeds are the generated books written to testdata/ for the fuzzer and
// the conformance suite of extract/standard.
func seeds(t testing.TB) map[string][]byte {
	epub2 := book{"mimetype": MediaTypeEPUB, "META-INF/container.xml": strings.Replace(containerXML, "OEBPS/content.opf", "content.opf", 1),
		"content.opf": opfXML(`<dc:title>T</dc:title>`, [][4]string{{"a", "a.html", "application/xhtml+xml", ""}}, `<itemref idref="a"/>`),
		"a.html":      `<html><body><h1>Heading</h1><p>Para</p></body></html>`}
	return map[string][]byte{
		"seed-sample.epub": sampleBook().zip(t),
		"seed-small.epub":  epub2.zip(t),
	}
}

// TestSeeds keeps testdata/ in step with seeds(); QUARRY_WRITE_SEEDS=1
// rewrites the files.
func TestSeeds(t *testing.T) {
	for name, b := range seeds(t) {
		path := filepath.Join("testdata", name)
		if os.Getenv("QUARRY_WRITE_SEEDS") != "" {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s is stale or missing (%v): run QUARRY_WRITE_SEEDS=1 go test -run TestSeeds", path, err)
		}
	}
}

func TestConformance(t *testing.T) {
	extracttest.Run(t, New(),
		extracttest.Case{Name: "sample", Input: sampleBook().zip(t), WantContains: []string{"Chapter One", "stormy night", "Ship\tYear", "whale oil"}},
		extracttest.Case{Name: "garbage", Input: []byte("not a zip"), WantErr: extract.ErrMalformed},
	)
}
