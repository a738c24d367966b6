package xlsx

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/extracttest"
)

// FuzzParse: Parse never panics, fails only with a sentinel of extract and
// keeps the other properties of the conformance suite.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.xlsx"))
	var seeds [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	if len(seeds) == 0 {
		f.Fatal("no seeds in testdata/")
	}
	extracttest.Fuzz(f, NewWithOptions(Options{HiddenSheets: true}), append(seeds, []byte("PK\x03\x04"))...)
}

// FuzzParts fuzzes a worksheet, the shared strings and the styles inside a
// well-formed package, where mutations reach the rewrite and excelize
// instead of breaking the ZIP checksums.
func FuzzParts(f *testing.F) {
	book := sampleBook()
	f.Add(book["xl/worksheets/sheet1.xml"], book["xl/sharedStrings.xml"], book["xl/styles.xml"])
	f.Add(book["xl/worksheets/sheet4.xml"], `<sst><si><t>a</t></si><si><r><t>b</t></r><rPh><t>c</t></rPh></si></sst>`, `<styleSheet><numFmts><numFmt numFmtId="164" formatCode="[$-409]dddd, mmmm dd, yyyy;@"/></numFmts><cellXfs><xf numFmtId="164"/><xf numFmtId="164"/></cellXfs></styleSheet>`)
	f.Add(`<worksheet><sheetData><row r="3"><c r="XFD3" s="1" t="n"><v>1e308</v></c><c r="B3" t="d"><v>2024-01-01T10:00:00</v></c></row></sheetData></worksheet>`, ``, `<!DOCTYPE d [<!ENTITY e "x">]><d>&e;</d>`)
	const maxChars = 2048
	p := NewWithOptions(Options{HiddenSheets: true})
	f.Fuzz(func(t *testing.T, sheet, sst, styles string) {
		b := sampleBook()
		b["xl/worksheets/sheet1.xml"] = sheet
		b["xl/sharedStrings.xml"] = sst
		b["xl/styles.xml"] = styles
		data := b.zip(t)
		doc, err := p.Parse(context.Background(), extract.Input{R: bytes.NewReader(data), Size: int64(len(data)), Limits: extract.Limits{MaxChars: maxChars}})
		if err != nil {
			if !errors.Is(err, extract.ErrMalformed) && !errors.Is(err, extract.ErrTooLarge) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		n := 0
		for i, pg := range doc.Pages {
			if i > 0 {
				n += 2
			}
			n += utf8.RuneCountInString(pg.Text)
			if !utf8.ValidString(pg.Text) {
				t.Fatalf("invalid UTF-8 on page %d", pg.Number)
			}
		}
		if n > maxChars {
			t.Fatalf("text of %d code points, cap %d", n, maxChars)
		}
	})
}
