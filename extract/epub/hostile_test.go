package epub

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/ziptest"
)

func wantErr(t *testing.T, err, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v, want %v", err, sentinel)
	}
}

// bombBook returns the sample book whose first chapter is a raw DEFLATE
// stream of mib MiB of 'A' under a header declaring declared bytes.
func bombBook(t testing.TB, mib int, declared uint64) []byte {
	t.Helper()
	return ziptest.Bomb(t, ziptest.Files(sampleBook()), "OEBPS/text/chapter 1.xhtml", mib, declared, "mimetype")
}

// T10: the declared size alone refuses the document, before inflating.
func TestHonestBomb(t *testing.T) {
	b := bombBook(t, 16, 1<<30)
	start := time.Now()
	_, err := parse(t, New(), b, extract.Limits{})
	wantErr(t, err, extract.ErrTooLarge)
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

// T11: a header declaring 4 KiB over 16 MiB of data: the chapter fails,
// the rest of the book does not.
func TestLyingHeader(t *testing.T) {
	b := bombBook(t, 16, 4096)
	start := time.Now()
	doc, err := parse(t, New(), b, extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pageTexts(doc); len(got) != 2 || got[0] != samplePages[1] {
		t.Errorf("pages %q", got)
	}
	if len(doc.Warnings) != 1 || doc.Warnings[0].Message != "1 spine items could not be read" {
		t.Errorf("warnings %v", doc.Warnings)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

// T12a: more entries than the limit.
func TestEntryFlood(t *testing.T) {
	z := sampleBook().zip(t)
	zr, _ := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		_ = zw.Copy(f)
	}
	for i := range 10001 {
		if _, err := zw.CreateRaw(&zip.FileHeader{Name: "OEBPS/images/f" + strconv.Itoa(i), Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
	}
	_ = zw.Close()
	_, err := parse(t, New(), buf.Bytes(), extract.Limits{})
	wantErr(t, err, extract.ErrTooLarge)
}

// The unpacked budget covers every chapter read.
func TestUnpackedBudget(t *testing.T) {
	b := sampleBook()
	b["OEBPS/text/ch2.xhtml"] = xhtml("big", "<p>"+strings.Repeat("word ", 1<<17)+"</p>")
	_, err := parse(t, New(), b.zip(t), extract.Limits{MaxUnpackedBytes: 256 << 10})
	wantErr(t, err, extract.ErrTooLarge)
}

// T14: zip-slip names and a symlink are ignored, with a warning; a spine
// item naming them finds nothing.
func TestZipSlip(t *testing.T) {
	b := sampleBook()
	b["OEBPS/content.opf"] = opfXML(sampleMeta, [][4]string{{"ch1", "text/chapter%201.xhtml", "application/xhtml+xml", ""}, {"link", "text/link.xhtml", "application/xhtml+xml", ""}},
		`<itemref idref="ch1"/>`, `<itemref idref="link"/>`)
	z := b.zip(t)
	zr, _ := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		_ = zw.Copy(f)
	}
	for _, n := range []string{"../../../../tmp/pwned", "/etc/cron.d/x", `C:\x`} {
		w, _ := zw.Create(n)
		_, _ = w.Write([]byte("pwned"))
	}
	h := &zip.FileHeader{Name: "OEBPS/text/link.xhtml"}
	h.SetMode(fs.ModeSymlink | 0o777)
	w, _ := zw.CreateHeader(h)
	_, _ = w.Write([]byte("/etc/passwd"))
	_ = zw.Close()
	doc, err := parse(t, New(), buf.Bytes(), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pageTexts(doc); len(got) != 1 || got[0] != samplePages[0] {
		t.Errorf("pages %q", got)
	}
	if len(doc.Warnings) != 2 || doc.Warnings[0].Message != "1 spine items are missing from the archive" || doc.Warnings[1].Code != extract.WarnEmbeddedSkipped {
		t.Errorf("warnings %v", doc.Warnings)
	}
}

// T15, T16: entities declared in a DTD are never expanded nor fetched, in
// the package document or in a chapter.
func TestEntities(t *testing.T) {
	var dtd strings.Builder
	dtd.WriteString(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY lol "lol"><!ENTITY xxe SYSTEM "file:///etc/passwd">`)
	for i := 1; i <= 9; i++ {
		prev := "lol"
		if i > 1 {
			prev = "lol" + strconv.Itoa(i-1)
		}
		dtd.WriteString(`<!ENTITY lol` + strconv.Itoa(i) + ` "` + strings.Repeat("&"+prev+";", 10) + `">`)
	}
	dtd.WriteString(`]>`)
	for _, ref := range []string{"&lol9;", "&xxe;"} {
		b := sampleBook()
		b["OEBPS/text/ch2.xhtml"] = dtd.String() + `<html><body><p>` + ref + `</p></body></html>`
		doc, err := parse(t, New(), b.zip(t), extract.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if text := strings.Join(pageTexts(doc), "\n"); strings.Contains(text, "lollol") || strings.Contains(text, "root:") {
			t.Fatalf("entity expanded: %.80q", text)
		}
		b = sampleBook()
		b["OEBPS/content.opf"] = dtd.String() + opfXML(`<dc:title>`+ref+`</dc:title>`, nil)
		_, err = parse(t, New(), b.zip(t), extract.Limits{})
		wantErr(t, err, extract.ErrMalformed)
	}
}

// Deep nesting: refused in the package document; a chapter of 60 000
// nested divs is read (the HTML tokenizer keeps no stack).
func TestDeepNesting(t *testing.T) {
	b := sampleBook()
	b["OEBPS/content.opf"] = `<package>` + strings.Repeat("<x>", 10010) + strings.Repeat("</x>", 10010) + `</package>`
	_, err := parse(t, New(), b.zip(t), extract.Limits{})
	wantErr(t, err, extract.ErrMalformed)

	b = sampleBook()
	b["OEBPS/text/ch2.xhtml"] = xhtml("deep", strings.Repeat("<div>", 60000)+"deep text"+strings.Repeat("</div>", 60000))
	start := time.Now()
	doc, err := parse(t, New(), b.zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 3 || doc.Pages[1].Text != "deep text" {
		t.Fatalf("%q", pageTexts(doc))
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}

// A spine listing one document twenty thousand times reads it once;
// many documents stop at MaxPages; a cyclic or self-referring container
// costs nothing.
func TestSpineFlood(t *testing.T) {
	b := sampleBook()
	b["OEBPS/content.opf"] = opfXML(sampleMeta, [][4]string{{"ch1", "text/chapter%201.xhtml", "application/xhtml+xml", ""}}, strings.Repeat(`<itemref idref="ch1"/>`, 20000))
	start := time.Now()
	doc, err := parse(t, New(), b.zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 1 {
		t.Fatalf("%d pages", len(doc.Pages))
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}

	b = sampleBook()
	var items [][4]string
	var spine []string
	for i := range 50 {
		id := "c" + strconv.Itoa(i)
		items = append(items, [4]string{id, id + ".xhtml", "application/xhtml+xml", ""})
		spine = append(spine, `<itemref idref="`+id+`"/>`)
		b["OEBPS/"+id+".xhtml"] = xhtml(id, "<p>chapter "+id+"</p>")
	}
	b["OEBPS/content.opf"] = opfXML(sampleMeta, items, spine...)
	doc, err = parse(t, New(), b.zip(t), extract.Limits{MaxPages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 10 || doc.Warnings[0].Code != extract.WarnTruncated {
		t.Fatalf("%d pages %v", len(doc.Pages), doc.Warnings)
	}

	// The container names itself, then the package document; the package
	// document lists itself and the container in its spine.
	b = sampleBook()
	b["META-INF/container.xml"] = `<container><rootfiles><rootfile full-path="META-INF/container.xml" media-type="text/xml"/><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>`
	b["OEBPS/content.opf"] = opfXML(sampleMeta, [][4]string{{"self", "content.opf", "application/xml", ""}, {"cont", "../META-INF/container.xml", "application/xhtml+xml", ""}, {"ch1", "text/chapter%201.xhtml", "application/xhtml+xml", ""}},
		`<itemref idref="self"/><itemref idref="cont"/><itemref idref="ch1"/>`)
	doc, err = parse(t, New(), b.zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 1 || doc.Pages[0].Text != samplePages[0] {
		t.Fatalf("%q", pageTexts(doc))
	}
}

// A small book whose text is huge stops at the output cap.
func TestOutputCap(t *testing.T) {
	b := sampleBook()
	for _, n := range []string{"OEBPS/text/chapter 1.xhtml", "OEBPS/text/ch2.xhtml"} {
		b[n] = xhtml("x", "<p>"+strings.Repeat("lorem ipsum ", 50000)+"</p>")
	}
	doc, err := parse(t, New(), b.zip(t), extract.Limits{MaxChars: 100000})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 1 || len(doc.Pages[0].Text) != 100000 || doc.Warnings[0].Code != extract.WarnTruncated {
		t.Fatalf("%d pages, %d bytes, %v", len(doc.Pages), len(doc.Pages[0].Text), doc.Warnings)
	}
}

func TestNotAZip(t *testing.T) {
	for _, b := range [][]byte{[]byte("PK\x03\x04garbage"), []byte("PK\x05\x06" + strings.Repeat("\x00", 18)), bytes.Repeat([]byte{0xff}, 4096)} {
		_, err := parse(t, New(), b, extract.Limits{})
		wantErr(t, err, extract.ErrMalformed)
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := sampleBook().zip(t)
	_, err := New().Parse(ctx, extract.Input{R: bytes.NewReader(b), Size: int64(len(b))})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", fmt.Sprint(err))
	}
}
