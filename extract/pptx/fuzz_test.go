package pptx

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
	files, _ := filepath.Glob(filepath.Join("testdata", "*.pptx"))
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
	extracttest.Fuzz(f, NewWithOptions(Options{HeadersFooters: true}), append(seeds, []byte("PK\x03\x04"))...)
}

// FuzzSlideXML fuzzes a slide part inside a well-formed package, where
// mutations reach the shape walker instead of breaking the ZIP checksums.
func FuzzSlideXML(f *testing.F) {
	deck := sampleDeck()
	f.Add(deck["ppt/slides/slide2.xml"])
	f.Add(deck["ppt/slides/slide3.xml"])
	f.Add(slideXML("sld", `<mc:AlternateContent><mc:Choice><p:grpSp><p:grpSp>`+sp("-", "1,2", "a\nb")+`</p:grpSp></p:grpSp></mc:Choice></mc:AlternateContent>`))
	f.Add(`<!DOCTYPE d [<!ENTITY e "x">]><d>&e;</d>`)
	const maxChars = 2048
	p := NewWithOptions(Options{HeadersFooters: true})
	f.Fuzz(func(t *testing.T, xml string) {
		d := sampleDeck()
		d["ppt/slides/slide2.xml"] = xml
		b := d.zip(t)
		doc, err := p.Parse(context.Background(), extract.Input{R: bytes.NewReader(b), Size: int64(len(b)), Limits: extract.Limits{MaxChars: maxChars}})
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
