package pdf

import (
	"fmt"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract"
)

func parseContent(t *testing.T, content string) string {
	t.Helper()
	doc, err := parseWithin(t, buildPDF(onePage(content), "/Root 1 0 R"), extract.Input{}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return allText(doc)
}

// TestStandardFontWidths: Helvetica without /Widths, a word drawn in two
// pieces placed with the real glyph widths ("mini" is 1.554 em at 1000
// units per em, so "mum" starts 37.296 pt later at 24 pt): no false
// space. With every glyph taken as 500 units the gap would look negative
// and the next word's real space would look like none.
func TestStandardFontWidths(t *testing.T) {
	// m 833 + i 222 + n 556 + i 222 = 1833 units = 43.992 pt at 24 pt.
	content := "BT /F1 24 Tf 72 720 Td (mini) Tj 43.992 0 Td (mum) Tj ET"
	if got := parseContent(t, content); got != "minimum" {
		t.Errorf("text = %q, want %q", got, "minimum")
	}
	// A real space gap (0.278 em) between two words still is one.
	content = "BT /F1 24 Tf 72 720 Td (mini) Tj 50.664 0 Td (mum) Tj ET"
	if got := parseContent(t, content); got != "mini mum" {
		t.Errorf("text = %q, want %q", got, "mini mum")
	}
	for base, want := range map[string]bool{"Helvetica": true, "ABCDEF+Arial-BoldMT": true, "Times-Italic": true, "Courier": false, "Garamond": false} {
		table, fixed := standardWidths(base)
		if (table != nil) != want {
			t.Errorf("standardWidths(%q) table = %v", base, table != nil)
		}
		if base == "Courier" && fixed != 600 {
			t.Errorf("Courier fixed width %v", fixed)
		}
	}
}

// TestHyphenation: a word split at a line end with a hyphen is joined when
// the next line goes on in lower case (the break moves after the word); a
// hyphen before a capital, a digit or a dash line stays.
func TestHyphenation(t *testing.T) {
	line := func(a, b string) string {
		return fmt.Sprintf("BT /F1 12 Tf 72 720 Td (%s) Tj 0 -14 Td (%s) Tj ET", a, b)
	}
	for _, c := range []struct{ a, b, want string }{
		{"an inter-", "preter is fast", "an interpreter\nis fast"},
		{"an inter-", "preter", "an interpreter"},
		{"Anglo-", "Saxon", "Anglo-\nSaxon"},
		{"pages 3-", "7 only", "pages 3-\n7 only"},
		{"-", "item", "-\nitem"},
	} {
		if got := parseContent(t, line(c.a, c.b)); got != c.want {
			t.Errorf("%q / %q: text %q, want %q", c.a, c.b, got, c.want)
		}
	}
	for in, want := range map[string]string{"inter-": "-", "soft\u00ad": "\u00ad", "x\u2010": "\u2010", "3-": "", "-": "", "word": ""} {
		if got := lineEndHyphen(in); got != want {
			t.Errorf("lineEndHyphen(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSymbolFont: the Symbol font without an /Encoding draws Greek from
// Latin codes.
func TestSymbolFont(t *testing.T) {
	if got := (symbolDecoder{}).Decode("abg D=1"); got != "αβγ Δ=1" {
		t.Errorf("Decode = %q", got)
	}
}
