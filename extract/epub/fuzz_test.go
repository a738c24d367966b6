package epub

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
	files, _ := filepath.Glob(filepath.Join("testdata", "*.epub"))
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
	extracttest.Fuzz(f, New(), append(seeds, []byte("PK\x03\x04"))...)
}

// FuzzPackage fuzzes the container and the package document inside a
// well-formed archive, where mutations reach the spine walk instead of
// breaking the ZIP checksums.
func FuzzPackage(f *testing.F) {
	b := sampleBook()
	f.Add(b["META-INF/container.xml"], b["OEBPS/content.opf"])
	f.Add(`<container><rootfiles><rootfile full-path="../../OEBPS/content.opf"/></rootfiles></container>`,
		opfXML("", [][4]string{{"a", "text/ch2.xhtml", "application/xhtml+xml", ""}, {"a", "x", "y", ""}}, `<itemref idref="a"/><itemref idref="a"/>`))
	f.Add(`<!DOCTYPE d [<!ENTITY e "x">]><d>&e;</d>`, `<package><spine><itemref idref="%"/></spine></package>`)
	const maxChars = 2048
	p := New()
	f.Fuzz(func(t *testing.T, container, opf string) {
		bk := sampleBook()
		bk["META-INF/container.xml"] = container
		bk["OEBPS/content.opf"] = opf
		data := bk.zip(t)
		doc, err := p.Parse(context.Background(), extract.Input{R: bytes.NewReader(data), Size: int64(len(data)), Limits: extract.Limits{MaxChars: maxChars}})
		if err != nil {
			if !errors.Is(err, extract.ErrMalformed) && !errors.Is(err, extract.ErrTooLarge) && !errors.Is(err, extract.ErrEncrypted) {
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
			if pg.Number != i+1 {
				t.Fatalf("page %d numbered %d", i+1, pg.Number)
			}
		}
		if n > maxChars {
			t.Fatalf("text of %d code points, cap %d", n, maxChars)
		}
	})
}
