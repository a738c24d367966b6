package pptx

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

// bombPkg returns the sample deck whose slide 1 is a raw DEFLATE stream of
// mib MiB of 'A' under a header declaring declared bytes.
func bombPkg(t testing.TB, mib int, declared uint64) []byte {
	t.Helper()
	return ziptest.Bomb(t, ziptest.Files(sampleDeck()), "ppt/slides/slide1.xml", mib, declared, "[Content_Types].xml")
}

// T10: the declared size alone refuses the document, before inflating.
func TestHonestBomb(t *testing.T) {
	b := bombPkg(t, 16, 1<<30) // 16 MiB of data; the header declares 1 GiB
	start := time.Now()
	_, err := parse(t, New(), b, extract.Limits{})
	wantErr(t, err, extract.ErrTooLarge)
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

// T11: a header declaring 4 KiB over 16 MiB of data: the slide fails,
// the rest of the deck does not.
func TestLyingHeader(t *testing.T) {
	b := bombPkg(t, 16, 4096)
	start := time.Now()
	doc, err := parse(t, New(), b, extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 2 || doc.Warnings[0].Code != extract.WarnPageFailed || doc.Warnings[0].Page != 1 {
		t.Errorf("pages %d, warnings %v", len(doc.Pages), doc.Warnings)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

// T12a: more entries than the limit.
func TestEntryFlood(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range sampleDeck() {
		w, _ := zw.Create(name)
		_, _ = w.Write([]byte(data))
	}
	for i := range 10001 {
		if _, err := zw.CreateRaw(&zip.FileHeader{Name: "ppt/media/f" + strconv.Itoa(i), Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
	}
	_ = zw.Close()
	_, err := parse(t, New(), buf.Bytes(), extract.Limits{})
	wantErr(t, err, extract.ErrTooLarge)
	_, err = parse(t, New(), sampleDeck().zip(t), extract.Limits{MaxArchiveEntries: 5})
	wantErr(t, err, extract.ErrTooLarge)
}

// The unpacked budget covers every part read, slides and notes alike.
func TestUnpackedBudget(t *testing.T) {
	p := sampleDeck()
	p["ppt/slides/slide3.xml"] = slideXML("sld", sp("-", "", strings.Repeat("word ", 1<<17)))
	_, err := parse(t, New(), p.zip(t), extract.Limits{MaxUnpackedBytes: 256 << 10})
	wantErr(t, err, extract.ErrTooLarge)
}

// T14: zip-slip names and a symlink are ignored, with a warning.
func TestZipSlip(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range deckPkg(slide{shapes: []string{sp("-", "", "Safe text")}}) {
		w, _ := zw.Create(name)
		_, _ = w.Write([]byte(data))
	}
	for _, n := range []string{"../../../../tmp/pwned", "/etc/cron.d/x", `C:\x`} {
		w, _ := zw.Create(n)
		_, _ = w.Write([]byte("pwned"))
	}
	h := &zip.FileHeader{Name: "ppt/slides/slide2.xml"}
	h.SetMode(fs.ModeSymlink | 0o777)
	w, _ := zw.CreateHeader(h)
	_, _ = w.Write([]byte("/etc/passwd"))
	_ = zw.Close()
	doc, err := parse(t, New(), buf.Bytes(), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 1 || doc.Pages[0].Text != "Safe text" {
		t.Errorf("pages %+v", doc.Pages)
	}
	if len(doc.Warnings) != 1 || doc.Warnings[0].Code != extract.WarnEmbeddedSkipped {
		t.Errorf("warnings %v, want one embedded_skipped", doc.Warnings)
	}
}

// T15, T16: DTD entities are never expanded nor fetched.
func TestEntities(t *testing.T) {
	var dtd strings.Builder
	dtd.WriteString(`<?xml version="1.0"?><!DOCTYPE p:sld [<!ENTITY lol "lol"><!ENTITY xxe SYSTEM "file:///etc/passwd">`)
	for i := 1; i <= 9; i++ {
		prev := "lol"
		if i > 1 {
			prev = "lol" + strconv.Itoa(i-1)
		}
		dtd.WriteString(`<!ENTITY lol` + strconv.Itoa(i) + ` "` + strings.Repeat("&"+prev+";", 10) + `">`)
	}
	dtd.WriteString(`]>`)
	for _, ref := range []string{"&lol9;", "&xxe;"} {
		p := sampleDeck()
		p["ppt/slides/slide1.xml"] = dtd.String() + strings.TrimPrefix(slideXML("sld", sp("-", "", ref)), `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`)
		start := time.Now()
		doc, err := parse(t, New(), p.zip(t), extract.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(pageTexts(doc), "\n")
		if strings.Contains(text, "lollol") || strings.Contains(text, "root:") {
			t.Fatalf("entity expanded: %.80q", text)
		}
		if doc.Warnings[0].Code != extract.WarnPageFailed || doc.Warnings[0].Page != 1 {
			t.Errorf("warnings %v", doc.Warnings)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v", d)
		}
	}
}

// Deep nesting is refused at 10 000 levels: the slide fails, and a deep
// presentation part fails the document.
func TestDeepNesting(t *testing.T) {
	deep := strings.Repeat("<p:grpSp>", 10010) + strings.Repeat("</p:grpSp>", 10010)
	p := sampleDeck()
	p["ppt/slides/slide2.xml"] = slideXML("sld", deep)
	doc, err := parse(t, New(), p.zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 2 || doc.Warnings[0].Page != 2 {
		t.Errorf("pages %d, warnings %v", len(doc.Pages), doc.Warnings)
	}
	// Just under the cap, groups within groups are read.
	p["ppt/slides/slide2.xml"] = slideXML("sld", strings.Repeat("<p:grpSp>", 9000)+sp("-", "", "deep")+strings.Repeat("</p:grpSp>", 9000))
	doc, err = parse(t, New(), p.zip(t), extract.Limits{})
	if err != nil || doc.Pages[1].Text != "deep\n\nNotes:\nMention the new plant." {
		t.Fatalf("%v %q", err, doc.Pages[1].Text)
	}
	p["ppt/presentation.xml"] = "<p:presentation>" + strings.Repeat("<x>", 10010)
	_, err = parse(t, New(), p.zip(t), extract.Limits{})
	wantErr(t, err, extract.ErrMalformed)
}

// Relationships that loop or point at the wrong parts cost nothing and
// never recurse.
func TestOddRelationships(t *testing.T) {
	p := deckPkg(slide{shapes: []string{sp(`idx="1"`, "", "body"), sp("-", "0,0", "top")}}, slide{shapes: []string{sp("-", "", "two")}})
	// Slide 1: its layout is itself, its notes are itself, and a diagram
	// points at the presentation.
	p["ppt/slides/_rels/slide1.xml.rels"] = relsXML([3]string{"rId1", "slideLayout", "slide1.xml"}, [3]string{"rId2", "notesSlide", "slide1.xml"}, [3]string{"rId3", "diagramData", "../presentation.xml"})
	// Slide 2: layout and master point at each other.
	p["ppt/slides/_rels/slide2.xml.rels"] = relsXML([3]string{"rId1", "slideLayout", "../slideLayouts/slideLayout1.xml"})
	p["ppt/slideLayouts/_rels/slideLayout1.xml.rels"] = relsXML([3]string{"rId1", "slideMaster", "../slideLayouts/slideLayout1.xml"})
	// The presentation lists itself, an external target, a missing part
	// and a relationship of another type.
	p["ppt/_rels/presentation.xml.rels"] = relsXML([3]string{"rId1", "slide", "slides/slide1.xml"}, [3]string{"rId2", "slide", "slides/slide2.xml"},
		[3]string{"rIdSelf", "slide", "presentation.xml"}, [3]string{"rIdGone", "slide", "slides/gone.xml"}, [3]string{"rIdT", "theme", "slides/slide1.xml"}) +
		``
	p["ppt/presentation.xml"] = strings.Replace(p["ppt/presentation.xml"], `</p:sldIdLst>`,
		`<p:sldId id="900" r:id="rIdSelf"/><p:sldId id="901" r:id="rIdGone"/><p:sldId id="902" r:id="rIdT"/><p:sldId id="903" r:id="rIdNone"/></p:sldIdLst>`, 1)
	doc, err := parse(t, New(), p.zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pageTexts(doc); len(got) != 2 || got[0] != "top\n\nbody" || got[1] != "two" {
		t.Fatalf("pages %q", got)
	}
	if len(doc.Warnings) != 4 {
		t.Errorf("warnings %v", doc.Warnings)
	}
	for _, w := range doc.Warnings {
		if w.Code != extract.WarnPageFailed || w.Page < 3 || w.Page > 6 {
			t.Errorf("warning %+v", w)
		}
	}
}

// A presentation listing one slide part tens of thousands of times reads
// it once; a deck of many slides stops at MaxPages.
func TestSlideFlood(t *testing.T) {
	p := deckPkg(slide{shapes: []string{sp("-", "", strings.Repeat("x", 1000))}})
	var ids strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&ids, `<p:sldId id="%d" r:id="rId1"/>`, 256+i)
	}
	p["ppt/presentation.xml"] = strings.Replace(p["ppt/presentation.xml"], `<p:sldId id="256" r:id="rId1"/>`, ids.String(), 1)
	b := p.zip(t)
	start := time.Now()
	doc, err := parse(t, New(), b, extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 1 || time.Since(start) > 10*time.Second {
		t.Fatalf("%d pages in %v", len(doc.Pages), time.Since(start))
	}

	var slides []slide
	for i := range 30 {
		slides = append(slides, slide{shapes: []string{sp("-", "", "s"+strconv.Itoa(i))}})
	}
	doc, err = parse(t, New(), deckPkg(slides...).zip(t), extract.Limits{MaxPages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 10 || doc.Warnings[0].Code != extract.WarnTruncated {
		t.Fatalf("%d pages, %v", len(doc.Pages), doc.Warnings)
	}
}

// A small deck whose text is huge stops at the output cap.
func TestOutputCap(t *testing.T) {
	var slides []slide
	for range 10 {
		slides = append(slides, slide{shapes: []string{sp("-", "", strings.Repeat("lorem ipsum ", 10000))}})
	}
	b := deckPkg(slides...).zip(t)
	doc, err := parse(t, New(), b, extract.Limits{MaxChars: 100000})
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
	b := sampleDeck().zip(t)
	if _, err := New().Parse(ctx, extract.Input{R: bytes.NewReader(b), Size: int64(len(b))}); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
}
