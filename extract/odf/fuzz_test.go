package odf

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/extracttest"
)

// FuzzParse: Parse never panics, fails only with a sentinel of extract and
// keeps the other properties of the conformance suite.
func FuzzParse(f *testing.F) {
	extracttest.Fuzz(f, New(), odtPkg(f), odsPkg(f), odpPkg(f), []byte("PK\x03\x04"))
}

// FuzzContent fuzzes content.xml inside a well-formed package, where
// mutations reach the walker instead of breaking the ZIP checksums.
func FuzzContent(f *testing.F) {
	f.Add(content("text", odtBody))
	f.Add(content("presentation", `<draw:page><draw:frame><draw:text-box><text:p>x</text:p></draw:text-box></draw:frame></draw:page>`))
	f.Add(content("spreadsheet", `<table:table><table:table-row><table:table-cell table:number-columns-repeated="3"><text:p>a</text:p></table:table-cell></table:table-row></table:table>`))
	const maxChars = 2048
	p := New()
	f.Fuzz(func(t *testing.T, xml string) {
		b := pkgZip(t, MediaTypeODT, entry{"content.xml", xml})
		doc, err := p.Parse(context.Background(), extract.Input{R: bytes.NewReader(b), Size: int64(len(b)), Limits: extract.Limits{MaxChars: maxChars}})
		if err != nil {
			if !errors.Is(err, extract.ErrMalformed) && !errors.Is(err, extract.ErrTooLarge) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if n := utf8.RuneCountInString(doc.Text); n > maxChars {
			t.Fatalf("text of %d code points, cap %d", n, maxChars)
		}
	})
}
