package pdf

import (
	"fmt"
	"strings"
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

// TestColumnOrder: a producer that writes a two-column page across the
// columns, line by line, is read column by column, the title spanning
// both first; a page written column by column keeps its order.
func TestColumnOrder(t *testing.T) {
	var b strings.Builder
	b.WriteString("BT /F1 10 Tf 1 0 0 1 72 760 Tm (A title that spans both of the two columns of this page) Tj ET\n")
	for i := range 4 {
		y := 720 - 14*i
		fmt.Fprintf(&b, "BT /F1 10 Tf 1 0 0 1 72 %d Tm (left %d) Tj ET\n", y, i+1)
		fmt.Fprintf(&b, "BT /F1 10 Tf 1 0 0 1 320 %d Tm (right %d) Tj ET\n", y, i+1)
	}
	want := "A title that spans both of the two columns of this page\nleft 1\nleft 2\nleft 3\nleft 4\nright 1\nright 2\nright 3\nright 4"
	if got := parseContent(t, b.String()); got != want {
		t.Errorf("interleaved columns:\n%s\nwant\n%s", got, want)
	}

	b.Reset()
	for _, x := range []int{72, 320} {
		for i := range 4 {
			fmt.Fprintf(&b, "BT /F1 10 Tf 1 0 0 1 %d %d Tm (col%d line %d) Tj ET\n", x, 720-14*i, x, i+1)
		}
	}
	want = "col72 line 1\ncol72 line 2\ncol72 line 3\ncol72 line 4\ncol320 line 1\ncol320 line 2\ncol320 line 3\ncol320 line 4"
	if got := parseContent(t, b.String()); got != want {
		t.Errorf("column by column:\n%s\nwant\n%s", got, want)
	}

	// One column of prose: nothing moves.
	b.Reset()
	for i := range 8 {
		fmt.Fprintf(&b, "BT /F1 10 Tf 1 0 0 1 72 %d Tm (line %d of a single column of running text) Tj ET\n", 720-14*i, i+1)
	}
	got := parseContent(t, b.String())
	if !strings.HasPrefix(got, "line 1 of") || !strings.HasSuffix(got, "line 8 of a single column of running text") {
		t.Errorf("one column: %q", got)
	}
}
