package xlsx

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
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

// bombPkg returns the sample workbook whose first sheet is a raw DEFLATE
// stream of mib MiB of 'A' under a header declaring declared bytes.
func bombPkg(t testing.TB, mib int, declared uint64) []byte {
	t.Helper()
	return ziptest.Bomb(t, ziptest.Files(sampleBook()), "xl/worksheets/sheet1.xml", mib, declared, "[Content_Types].xml")
}

// T10: the declared size alone refuses the document, before inflating.
func TestHonestBomb(t *testing.T) {
	b := bombPkg(t, 16, 1<<30)
	start := time.Now()
	_, err := parse(t, New(), b, extract.Limits{})
	wantErr(t, err, extract.ErrTooLarge)
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

// T11: a header declaring 4 KiB over 16 MiB of data: the sheet fails, the
// rest of the workbook does not.
func TestLyingHeader(t *testing.T) {
	b := bombPkg(t, 16, 4096)
	start := time.Now()
	doc, err := parse(t, New(), b, extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 1 || doc.Pages[0].Text != sampleNotes || doc.Warnings[0].Code != extract.WarnPageFailed {
		t.Errorf("pages %q, warnings %v", pageTexts(doc), doc.Warnings)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

// T12a: more entries than the limit.
func TestEntryFlood(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range sampleBook() {
		w, _ := zw.Create(name)
		_, _ = w.Write([]byte(data))
	}
	for i := range 10001 {
		if _, err := zw.CreateRaw(&zip.FileHeader{Name: "xl/media/f" + strconv.Itoa(i), Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
	}
	_ = zw.Close()
	_, err := parse(t, New(), buf.Bytes(), extract.Limits{})
	wantErr(t, err, extract.ErrTooLarge)
	_, err = parse(t, New(), sampleBook().zip(t), extract.Limits{MaxArchiveEntries: 5})
	wantErr(t, err, extract.ErrTooLarge)
}

// The unpacked budget covers every part read.
func TestUnpackedBudget(t *testing.T) {
	p := sampleBook()
	p["xl/worksheets/sheet4.xml"] = sheetXML(strings.Repeat(`<row><c t="inlineStr"><is><t>word</t></is></c></row>`, 1<<13))
	_, err := parse(t, New(), p.zip(t), extract.Limits{MaxUnpackedBytes: 256 << 10})
	wantErr(t, err, extract.ErrTooLarge)
}

// T14: zip-slip names and a symlink are ignored, with a warning.
func TestZipSlip(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range sampleBook() {
		if name == "xl/worksheets/sheet4.xml" {
			continue
		}
		w, _ := zw.Create(name)
		_, _ = w.Write([]byte(data))
	}
	for _, n := range []string{"../../../../tmp/pwned", "/etc/cron.d/x", `C:\x`} {
		w, _ := zw.Create(n)
		_, _ = w.Write([]byte("pwned"))
	}
	h := &zip.FileHeader{Name: "xl/worksheets/sheet4.xml"}
	h.SetMode(fs.ModeSymlink | 0o777)
	w, _ := zw.CreateHeader(h)
	_, _ = w.Write([]byte("/etc/passwd"))
	_ = zw.Close()
	doc, err := parse(t, New(), buf.Bytes(), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pageTexts(doc); len(got) != 1 || got[0] != sampleSales {
		t.Errorf("pages %q", got)
	}
	codes := []string{}
	for _, w := range doc.Warnings {
		codes = append(codes, w.Code)
	}
	if strings.Join(codes, ",") != extract.WarnPageFailed+","+extract.WarnEmbeddedSkipped {
		t.Errorf("warnings %v", doc.Warnings)
	}
}

// T15, T16: DTD entities are never expanded nor fetched, in a sheet, the
// shared strings or the styles.
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
		for _, part := range []string{"xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/styles.xml"} {
			p := sampleBook()
			switch part {
			case "xl/worksheets/sheet1.xml":
				p[part] = dtd.String() + `<worksheet><sheetData><row><c t="inlineStr"><is><t>` + ref + `</t></is></c></row></sheetData></worksheet>`
			case "xl/sharedStrings.xml":
				p[part] = dtd.String() + `<sst><si><t>` + ref + `</t></si></sst>`
			default:
				p[part] = dtd.String() + `<styleSheet><numFmts><numFmt numFmtId="164" formatCode="` + ref + `"/></numFmts></styleSheet>`
			}
			start := time.Now()
			doc, err := parse(t, New(), p.zip(t), extract.Limits{})
			if err != nil {
				wantErr(t, err, extract.ErrMalformed)
			} else if text := strings.Join(pageTexts(doc), "\n"); strings.Contains(text, "lollol") || strings.Contains(text, "root:") {
				t.Fatalf("%s: entity expanded: %.80q", part, text)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
		}
	}
}

// Deep nesting is refused at 10 000 levels.
func TestDeepNesting(t *testing.T) {
	deep := strings.Repeat("<x>", 10010) + strings.Repeat("</x>", 10010)
	p := sampleBook()
	p["xl/worksheets/sheet4.xml"] = sheetXML(`<row><c><v>1</v>` + deep + `</c></row>`)
	doc, err := parse(t, New(), p.zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 1 || doc.Warnings[0].Code != extract.WarnPageFailed {
		t.Errorf("pages %d, warnings %v", len(doc.Pages), doc.Warnings)
	}
	// In the styles: values come unformatted.
	p = sampleBook()
	p["xl/styles.xml"] = `<styleSheet>` + deep + `</styleSheet>`
	doc, err = parse(t, New(), p.zip(t), extract.Limits{})
	if err != nil || !strings.Contains(doc.Pages[0].Text, "North East\t1234.5") {
		t.Fatalf("%v %q", err, pageTexts(doc))
	}
	// In the shared strings or the workbook: the document fails.
	for _, part := range []string{"xl/sharedStrings.xml", "xl/workbook.xml"} {
		p = sampleBook()
		p[part] = `<x>` + deep + `</x>`
		_, err = parse(t, New(), p.zip(t), extract.Limits{})
		wantErr(t, err, extract.ErrMalformed)
	}
}

// Rows and columns far into the sheet, and row numbers past Excel's last,
// cost nothing: empty rows are never iterated.
func TestFarCells(t *testing.T) {
	var rows strings.Builder
	rows.WriteString(`<row r="1"><c r="A1"><v>1</v></c></row>`)
	rows.WriteString(`<row r="1048576"><c r="XFD1048576"><v>2</v></c><c r="XFE1048576"><v>3</v></c></row>`)
	rows.WriteString(`<row r="99999999"><c r="A99999999"><v>4</v></c></row>`)
	var sheets []sheetDef
	for i := range 50 {
		sheets = append(sheets, sheetDef{name: "S" + strconv.Itoa(i), rows: rows.String()})
	}
	b := bookPkg(nil, sheets...).zip(t)
	start := time.Now()
	doc, err := parse(t, New(), b, extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	want := "S0\n1\n" + strings.Repeat("\t", 16383) + "2\n4"
	if len(doc.Pages) != 50 || doc.Pages[0].Text != want {
		t.Fatalf("%d pages, %.40q", len(doc.Pages), doc.Pages[0].Text)
	}
}

// A cell value amplified by many references to one long shared string, or
// hidden by its format, stops at the work cap quickly.
func TestAmplification(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	var rows strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&rows, `<row r="%d"><c r="XFD%d" t="s" s="6"><v>0</v></c></row>`, i+1, i+1)
	}
	b := bookPkg([]string{`<t>` + long + `</t>`}, sheetDef{name: "Amp", rows: rows.String()}).zip(t)
	start := time.Now()
	doc, err := parse(t, New(), b, extract.Limits{MaxChars: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	if len(doc.Warnings) != 1 || doc.Warnings[0].Code != extract.WarnTruncated {
		t.Errorf("warnings %v", doc.Warnings)
	}
}

// The cell and shared-string caps.
func TestCaps(t *testing.T) {
	b := sampleBook().zip(t)
	p := &Parser{caps: caps{cells: 3, sharedStrings: maxSharedStrings, work: baseWork}}
	doc, err := parse(t, p, b, extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pageTexts(doc); len(got) != 1 || got[0] != "Sales\nRegion\tRevenue\tDate" || doc.Warnings[0].Code != extract.WarnTruncated {
		t.Errorf("pages %q, warnings %v", got, doc.Warnings)
	}
	p = &Parser{caps: caps{cells: maxCells, sharedStrings: 4, work: baseWork}}
	_, err = parse(t, p, b, extract.Limits{})
	wantErr(t, err, extract.ErrTooLarge)
}

// Styles with more number formats than the cap are left out.
func TestStylesCap(t *testing.T) {
	var fmts strings.Builder
	for i := range maxNumFmts + 1 {
		fmt.Fprintf(&fmts, `<numFmt numFmtId="%d" formatCode="0.0%%"/>`, 200+i)
	}
	p := sampleBook()
	p["xl/styles.xml"] = strings.Replace(stylesXML, `<numFmt numFmtId="164"`, fmts.String()+`<numFmt numFmtId="164"`, 1)
	doc, err := parse(t, New(), p.zip(t), extract.Limits{})
	if err != nil || !strings.Contains(doc.Pages[0].Text, "North East\t1234.5\t45306") {
		t.Fatalf("%v %q", err, pageTexts(doc))
	}
}

// Excelize is configured never to write temporary files, even for a part
// over its default 16 MiB in-memory limit.
func TestNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	rb := newRebuilder(t.Context(), nil, 0, defaultCaps)
	w, err := rb.create("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatal(err)
	}
	// The rows come first; the padding after them is never parsed.
	big := strings.Repeat("y", 17<<20)
	fmt.Fprintf(w, `<worksheet xmlns="%s"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>%s</t></is></c></row></sheetData><!-- %s --></worksheet>`, nsMain, big[:2000], big)
	if err := rb.frame(1, false, false); err != nil {
		t.Fatal(err)
	}
	pkg, err := rb.finish()
	if err != nil {
		t.Fatal(err)
	}
	pages, full, err := read(t.Context(), pkg, []sheetRef{{name: "Big", page: 1}}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 1 || len(pages[0].Text) != 1000 || !full {
		t.Fatalf("%d pages, full %v", len(pages), full)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("temporary files: %v", entries)
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
	if _, err := New().Parse(ctx, extract.Input{R: bytes.NewReader(b), Size: int64(len(b))}); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
}
