package docx

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
)

// seeds are the small generated packages written to testdata/ (run with
// QUARRY_WRITE_SEEDS=1 to rewrite them) and fed to FuzzParse.
func seeds(t testing.TB) map[string][]byte {
	lists := newPkg(listPara("1", "0", "apple")+listPara("2", "1", "sub")+`<w:p><w:pPr><w:pStyle w:val="L"/></w:pPr><w:r><w:t>styled</w:t></w:r></w:p>`).
		withRels([2]string{"numbering", "numbering.xml"}, [2]string{"styles", "styles.xml"})
	lists["word/numbering.xml"] = part("numbering", numberingXML)
	lists["word/styles.xml"] = part("styles", `<w:style w:type="paragraph" w:styleId="L"><w:pPr><w:numPr><w:numId w:val="2"/></w:numPr></w:pPr></w:style>`)

	notes := newPkg(`<w:p><w:r><w:t>Body</w:t></w:r><w:r><w:footnoteReference w:id="1"/></w:r><w:r><w:endnoteReference w:id="1"/></w:r></w:p>`).
		withRels([2]string{"footnotes", "footnotes.xml"}, [2]string{"endnotes", "endnotes.xml"}, [2]string{"header", "header1.xml"})
	notes["word/footnotes.xml"] = part("footnotes", `<w:footnote w:type="separator" w:id="0"><w:p/></w:footnote><w:footnote w:id="1">`+para("Foot")+`</w:footnote>`)
	notes["word/endnotes.xml"] = part("endnotes", `<w:endnote w:id="1">`+para("End")+`</w:endnote>`)
	notes["word/header1.xml"] = part("hdr", para("Head"))

	tables := newPkg(`<w:tbl><w:tr>` + cell(para("a")+`<w:tbl><w:tr>`+cell(para("in"))+`</w:tr></w:tbl>`) + `<w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr>` + para("b") + `</w:tc></w:tr><w:tr>` + cell(`<w:p/>`) + `<w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc></w:tr></w:tbl>`)

	mixed := newPkg(`<w:p><w:r><w:t>x</w:t><w:tab/><w:br/><w:sym w:char="03A9"/></w:r><w:ins><w:r><w:t>ins</w:t></w:r></w:ins><w:del><w:r><w:delText>del</w:delText></w:r></w:del>` +
		`<w:r><mc:AlternateContent><mc:Choice><w:txbxContent>` + para("box") + `</w:txbxContent></mc:Choice><mc:Fallback><w:txbxContent>` + para("box") + `</w:txbxContent></mc:Fallback></mc:AlternateContent></w:r>` +
		`<m:oMath><m:sSup><m:e><m:r><m:t>r</m:t></m:r></m:e><m:sup><m:r><m:t>2</m:t></m:r></m:sup></m:sSup></m:oMath></w:p>`)
	mixed["docProps/core.xml"] = `<cp:coreProperties xmlns:cp="c" xmlns:dc="d" xmlns:dcterms="t"><dc:title>T</dc:title><dcterms:created>2024-01-02T03:04:05Z</dcterms:created></cp:coreProperties>`

	strict := pkg{
		"_rels/.rels":       `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="r1" Type="http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument" Target="word/document.xml"/></Relationships>`,
		"word/document.xml": documentXML(nsStrict, para("Strict")),
	}
	return map[string][]byte{
		"seed-lists.docx":  lists.zip(t),
		"seed-notes.docx":  notes.zip(t),
		"seed-tables.docx": tables.zip(t),
		"seed-mixed.docx":  mixed.zip(t),
		"seed-strict.docx": strict.zip(t),
	}
}

func TestWriteSeeds(t *testing.T) {
	if os.Getenv("QUARRY_WRITE_SEEDS") == "" {
		t.Skip("set QUARRY_WRITE_SEEDS=1 to rewrite testdata/seed-*.docx")
	}
	for name, b := range seeds(t) {
		if err := os.WriteFile(filepath.Join("testdata", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzParse: Parse never panics, fails only with a sentinel of extract and
// returns text bounded by the output cap.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.docx"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(cfbFile(true))
	f.Add([]byte("PK\x03\x04"))
	const maxChars = 4096
	lim := extract.Limits{MaxChars: maxChars, MaxArchiveEntries: 64, MaxUnpackedBytes: 8 << 20, MaxCompressionRatio: 100}
	p := NewWithOptions(Options{HeadersFooters: true})
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := p.Parse(context.Background(), extract.Input{R: bytes.NewReader(b), Size: int64(len(b)), Limits: lim})
		if err != nil {
			if !errors.Is(err, extract.ErrMalformed) && !errors.Is(err, extract.ErrTooLarge) && !errors.Is(err, extract.ErrEncrypted) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if doc == nil {
			t.Fatal("nil document without an error")
		}
		if n := utf8.RuneCountInString(doc.Text); n > maxChars {
			t.Fatalf("text of %d code points, cap %d", n, maxChars)
		}
	})
}

// FuzzDocumentXML fuzzes the main part inside a well-formed package, where
// mutations reach the XML walker instead of breaking the ZIP checksums.
func FuzzDocumentXML(f *testing.F) {
	f.Add(documentXML(nsW, para("Hello")+listPara("1", "0", "item")))
	f.Add(documentXML(nsW, `<w:tbl><w:tr>`+cell(para("a")+`<w:tbl><w:tr>`+cell(para("b"))+`</w:tr></w:tbl>`)+`</w:tr></w:tbl>`))
	f.Add(documentXML(nsW, `<w:p><w:r><mc:AlternateContent><mc:Choice><w:txbxContent>`+para("x")+`</w:txbxContent></mc:Choice><mc:Fallback/></mc:AlternateContent></w:r><w:r><w:footnoteReference w:id="1"/></w:r></w:p>`))
	f.Add(documentXML(nsW, `<w:p><w:del><w:r><w:delText>d</w:delText></w:r></w:del><m:oMath><m:r><m:t>x</m:t></m:r></m:oMath><w:sym w:char="F0FF"/></w:p>`))
	f.Add(`<!DOCTYPE d [<!ENTITY e "x">]><d>&e;</d>`)
	const maxChars = 2048
	p := NewWithOptions(Options{HeadersFooters: true})
	f.Fuzz(func(t *testing.T, xml string) {
		pk := newPkg("").withRels([2]string{"numbering", "numbering.xml"}, [2]string{"footnotes", "footnotes.xml"})
		pk["word/document.xml"] = xml
		pk["word/numbering.xml"] = part("numbering", numberingXML)
		pk["word/footnotes.xml"] = part("footnotes", `<w:footnote w:id="1">`+para("note")+`</w:footnote>`)
		b := pk.zip(t)
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
