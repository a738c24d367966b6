package xlsx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/extracttest"
	"github.com/xuri/excelize/v2"
)

func TestSample(t *testing.T) {
	doc, err := parse(t, New(), sampleBook().zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{sampleSales, sampleNotes}
	if got := pageTexts(doc); !slices.Equal(got, want) {
		t.Fatalf("pages\n%q\nwant\n%q", got, want)
	}
	if doc.Pages[0].Number != 1 || doc.Pages[1].Number != 2 {
		t.Errorf("numbers %+v", doc.Pages)
	}
	md := doc.Metadata
	if md.Title != "Budget 2024" || md.Author != "Grace Hopper" || md.Created == nil || md.Created.Day() != 5 || md.Modified == nil || md.Modified.Minute() != 15 || md.PageCount != 2 {
		t.Errorf("metadata %+v", md)
	}
	wantHeadings := []extract.Heading{{Level: 1, Text: "Sales", Page: 1}, {Level: 1, Text: "Notes & more", Page: 2}}
	if !slices.Equal(doc.Headings, wantHeadings) {
		t.Errorf("headings %+v", doc.Headings)
	}
	if len(doc.Warnings) != 0 {
		t.Errorf("warnings %v", doc.Warnings)
	}
	for _, bad := range []string{"PHONETIC", "secret", "42", "NOW", "B2+B3"} {
		if strings.Contains(strings.Join(pageTexts(doc), "\n"), bad) {
			t.Errorf("text contains %q", bad)
		}
	}
}

func TestHiddenSheets(t *testing.T) {
	doc, err := parse(t, NewWithOptions(Options{HiddenSheets: true}), sampleBook().zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pageTexts(doc), []string{sampleSales, "Lookup\nsecret", sampleNotes}; !slices.Equal(got, want) {
		t.Fatalf("pages %q", got)
	}
}

// Dates count from 1904 when the workbook says so.
func TestDate1904(t *testing.T) {
	p := bookPkg(nil, sheetDef{name: "D", rows: `<row r="1"><c r="A1" s="1"><v>45306</v></c></row>`})
	p["xl/workbook.xml"] = strings.Replace(p["xl/workbook.xml"], `<workbookPr `, `<workbookPr date1904="1" `, 1)
	doc, err := parse(t, New(), p.zip(t), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Pages[0].Text != "D\n2028-01-16" {
		t.Fatalf("%q", doc.Pages[0].Text)
	}
}

// A workbook written by excelize itself, as users' tools write them.
func TestExcelizeWritten(t *testing.T) {
	b := excelizeBook(t)
	doc, err := parse(t, New(), b, extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Orders\nItem\tQty\tShipped\nWidget\t3\t2024-03-01\nGadget\t12\t2024-03-09", "Summary\nTotal\t15"}
	if got := pageTexts(doc); !slices.Equal(got, want) {
		t.Fatalf("pages %q, want %q", got, want)
	}
}

func excelizeBook(t testing.TB) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetSheetName("Sheet1", "Orders"))
	must(f.SetSheetRow("Orders", "A1", &[]any{"Item", "Qty", "Shipped"}))
	must(f.SetSheetRow("Orders", "A2", &[]any{"Widget", 3, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}))
	must(f.SetSheetRow("Orders", "A3", &[]any{"Gadget", 12, time.Date(2024, 3, 9, 0, 0, 0, 0, time.UTC)}))
	date, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	must(err)
	must(f.SetCellStyle("Orders", "C2", "C3", date))
	if _, err := f.NewSheet("Summary"); err != nil {
		t.Fatal(err)
	}
	must(f.SetCellValue("Summary", "A1", "Total"))
	must(f.SetCellFormula("Summary", "B1", "SUM(Orders!B2:B3)"))
	// Excel stores the formula's result; excelize leaves it to be
	// calculated, so store it as Excel would.
	v, err := f.CalcCellValue("Summary", "B1")
	must(err)
	must(f.SetCellValue("Summary", "B1", 15))
	if v != "15" {
		t.Fatalf("calc %q", v)
	}
	buf, err := f.WriteToBuffer()
	must(err)
	return buf.Bytes()
}

func TestOddWorkbooks(t *testing.T) {
	t.Run("missing sheet part", func(t *testing.T) {
		p := sampleBook()
		delete(p, "xl/worksheets/sheet1.xml")
		doc, err := parse(t, New(), p.zip(t), extract.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if got := pageTexts(doc); !slices.Equal(got, []string{sampleNotes}) || doc.Pages[0].Number != 1 {
			t.Fatalf("pages %q", got)
		}
		if len(doc.Warnings) != 1 || doc.Warnings[0].Code != extract.WarnPageFailed {
			t.Errorf("warnings %v", doc.Warnings)
		}
	})
	t.Run("broken sheet", func(t *testing.T) {
		p := sampleBook()
		p["xl/worksheets/sheet4.xml"] = `<worksheet><sheetData><row><c><v>1</v></row>`
		doc, err := parse(t, New(), p.zip(t), extract.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if got := pageTexts(doc); !slices.Equal(got, []string{sampleSales}) {
			t.Fatalf("pages %q", got)
		}
		if len(doc.Warnings) != 1 || doc.Warnings[0].Code != extract.WarnPageFailed {
			t.Errorf("warnings %v", doc.Warnings)
		}
		p["xl/worksheets/sheet1.xml"] = "<worksheet"
		if _, err := parse(t, New(), p.zip(t), extract.Limits{}); !errors.Is(err, extract.ErrMalformed) {
			t.Fatalf("all sheets broken: %v", err)
		}
	})
	t.Run("duplicate sheets", func(t *testing.T) {
		p := sampleBook()
		p["xl/workbook.xml"] = strings.Replace(p["xl/workbook.xml"], `</sheets>`, `<sheet name="SALES" sheetId="9" r:id="rId4"/><sheet name="Again" sheetId="10" r:id="rId1"/><sheet name="Nowhere" sheetId="11" r:id="rId99"/></sheets>`, 1)
		doc, err := parse(t, New(), p.zip(t), extract.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if got := pageTexts(doc); !slices.Equal(got, []string{sampleSales, sampleNotes}) {
			t.Fatalf("pages %q", got)
		}
	})
	t.Run("no styles, no shared strings", func(t *testing.T) {
		p := sampleBook()
		delete(p, "xl/styles.xml")
		delete(p, "xl/sharedStrings.xml")
		doc, err := parse(t, New(), p.zip(t), extract.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := doc.Pages[0].Text, "Sales\n\t1234.5\t45306\t0.125\n\t-20\t45307.5\t45308.25\n\t1214.5\tTRUE\t#DIV/0!\n\t\tab\t42\n0.1\t1E+20"; got != want {
			t.Fatalf("%q\nwant %q", got, want)
		}
	})
	t.Run("styles over the caps", func(t *testing.T) {
		p := sampleBook()
		p["xl/styles.xml"] = strings.Replace(stylesXML, `formatCode="0.0%"`, `formatCode="`+strings.Repeat("0", maxFormatCode+1)+`"`, 1)
		doc, err := parse(t, New(), p.zip(t), extract.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(doc.Pages[0].Text, "North East\t1234.5\t45306\t0.125") {
			t.Fatalf("%q", doc.Pages[0].Text)
		}
	})
	t.Run("empty workbook", func(t *testing.T) {
		doc, err := parse(t, New(), bookPkg(nil).zip(t), extract.Limits{})
		if err != nil || len(doc.Pages) != 0 {
			t.Fatalf("%v %+v", err, doc)
		}
	})
}

func TestErrors(t *testing.T) {
	cfb := append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 600)...)
	enc := append(bytes.Clone(cfb), "E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k\x00a\x00g\x00e\x00"...) // UTF-16LE "EncryptedPackage"
	noMain := sampleBook()
	delete(noMain, "xl/workbook.xml")
	badWB := sampleBook()
	badWB["xl/workbook.xml"] = "<workbook><sheets>"
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"not a zip", []byte("hello, not a zip at all"), extract.ErrMalformed},
		{"empty", nil, extract.ErrMalformed},
		{"legacy xls", cfb, extract.ErrMalformed},
		{"encrypted", enc, extract.ErrEncrypted},
		{"no workbook", noMain.zip(t), extract.ErrMalformed},
		{"broken workbook", badWB.zip(t), extract.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parse(t, New(), tc.data, extract.Limits{}); !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	reg := extract.NewRegistry()
	reg.MustRegister("xlsx", New())
	macro := sampleBook()
	macro["[Content_Types].xml"] = strings.Replace(macro["[Content_Types].xml"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", "application/vnd.ms-excel.sheet.macroEnabled.main+xml", 1)
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{sampleBook().zip(t), MediaTypeXLSX},
		{macro.zip(t), MediaTypeXLSM},
		{excelizeBook(t), MediaTypeXLSX},
	} {
		head := tc.data[:min(len(tc.data), extract.SniffLen)]
		if got := New().Sniff(head); got != tc.want {
			t.Errorf("Sniff = %q, want %q", got, tc.want)
		}
		if name, _, err := reg.Lookup(reg.Sniff(head, "")); err != nil || name != "xlsx" {
			t.Errorf("Registry: %q %v", name, err)
		}
	}
	for _, h := range [][]byte{nil, []byte("PK\x03\x04"), []byte("%PDF-1.7"), (pkg{"word/document.xml": "<w/>"}).zip(t)} {
		if got := New().Sniff(h); got != "" {
			t.Errorf("Sniff(%.20q) = %q", h, got)
		}
	}
}

func TestLimits(t *testing.T) {
	b := sampleBook().zip(t)
	for _, n := range []int{1, 5, 6, 7, 30, 100, 150} {
		doc, err := parse(t, New(), b, extract.Limits{MaxChars: n})
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for i, p := range doc.Pages {
			if i > 0 {
				total += 2
			}
			total += len([]rune(p.Text))
		}
		if total > n {
			t.Errorf("MaxChars %d: %d code points", n, total)
		}
		if len(doc.Warnings) == 0 || doc.Warnings[0].Code != extract.WarnTruncated {
			t.Errorf("MaxChars %d: warnings %v", n, doc.Warnings)
		}
	}
	doc, err := parse(t, New(), b, extract.Limits{MaxPages: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 1 || doc.Metadata.PageCount != 2 || len(doc.Warnings) != 1 || doc.Warnings[0].Code != extract.WarnTruncated {
		t.Errorf("MaxPages: %d pages, %+v, %v", len(doc.Pages), doc.Metadata, doc.Warnings)
	}
}

func TestColumns(t *testing.T) {
	for ref, want := range map[string]int{"A1": 1, "Z9": 26, "AA1": 27, "XFD1048576": 16384, "xfe1": 16385, "ZZZZZZ1": 16385, "1": 0, "": 0, "$B$2": 0} {
		if got := column(ref); got != want {
			t.Errorf("column(%q) = %d, want %d", ref, got, want)
		}
	}
	for col, want := range map[int]string{1: "A", 26: "Z", 27: "AA", 702: "ZZ", 703: "AAA", 16384: "XFD"} {
		if got := columnName(col); got != want {
			t.Errorf("columnName(%d) = %q, want %q", col, got, want)
		}
	}
}

// seeds are the generated workbooks written to testdata/ for the fuzzer
// and the conformance suite of extract/standard.
func seeds(t testing.TB) map[string][]byte {
	return map[string][]byte{
		"seed-sample.xlsx":   sampleBook().zip(t),
		"seed-excelize.xlsx": excelizeBook(t),
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
		if err != nil {
			t.Fatalf("%s: %v: run QUARRY_WRITE_SEEDS=1 go test -run TestSeeds", path, err)
		}
		// excelize stamps the time into what it writes: compare the text.
		want, err1 := parse(t, New(), b, extract.Limits{})
		have, err2 := parse(t, New(), got, extract.Limits{})
		if err1 != nil || err2 != nil || !slices.Equal(pageTexts(want), pageTexts(have)) {
			t.Errorf("%s is stale (%v, %v): run QUARRY_WRITE_SEEDS=1 go test -run TestSeeds", path, err1, err2)
		}
	}
}

func TestConformance(t *testing.T) {
	extracttest.Run(t, New(),
		extracttest.Case{Name: "sample", Input: sampleBook().zip(t), WantContains: []string{"Sales\nRegion\tRevenue", "North East\t1,234.50 EUR\t2024-01-15", "rich text"}},
		extracttest.Case{Name: "excelize", Input: excelizeBook(t), MediaType: MediaTypeXLSM, WantContains: []string{"Gadget\t12\t2024-03-09"}},
		extracttest.Case{Name: "garbage", Input: []byte("not a zip"), WantErr: extract.ErrMalformed},
	)
}

func TestIsDateFormat(t *testing.T) {
	for code, want := range map[string]bool{
		"yyyy-mm-dd": true, "d mmmm yyyy": true, "h:mm AM/PM": true, "[h]:mm:ss": true, "[mm]": true, "mm:ss.0": true,
		"General": false, "0.00": false, "#,##0;[Red]-#,##0": false, `0.00 "days"`: false, `#,##0 \d`: false, "0.0%": false,
		"@": false, "_(* #,##0_)": false, `[$-409]d-mmm`: true, `[$€-x-euro2] #,##0.00`: false, `"unclosed`: false, "[Blue": false,
	} {
		if got := isDateFormat(code); got != want {
			t.Errorf("isDateFormat(%q) = %v, want %v", code, got, want)
		}
	}
}
