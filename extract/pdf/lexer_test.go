package pdf

import (
	"strings"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract"
)

func lex(src string) (ops []string, strs []string) {
	newContentLexer(strings.NewReader(src)).run(func(op string, args []operand) {
		ops = append(ops, op)
		for _, a := range args {
			switch a.kind {
			case opString:
				strs = append(strs, a.str)
			case opArray:
				for _, x := range a.arr {
					if x.kind == opString {
						strs = append(strs, x.str)
					}
				}
			}
		}
	})
	return ops, strs
}

func TestContentLexer(t *testing.T) {
	for _, c := range []struct {
		src  string
		ops  string
		strs string
	}{
		{"BT /F1 12 Tf (Hello) Tj ET", "BT Tf Tj ET", "Hello"},
		{`(a\(b\)c \\ \101\1012 \
d) Tj`, "Tj", `a(b)c \ AA2 d`},
		{"(nested (parens) ok) Tj", "Tj", "nested (parens) ok"},
		{"<48 65 6c6c 6f> Tj <414> Tj", "Tj Tj", "Hello|A@"},
		{"[(A) -120 (B)] TJ", "TJ", "A|B"},
		{"% comment (not a string\n(x) Tj", "Tj", "x"},
		{"/Span <</MCID 3 /Alt (alt)>> BDC (y) Tj EMC", "BDC Tj EMC", "y"},
		// An inline image whose data holds "(" and "EI" inside words.
		{"q BI /W 4 /H 1 /BPC 8 /CS /G ID \x00(\xffEIx)( EIEIO\nEI Q (after) Tj", "q Q Tj", "after"},
		{"/A#20B 1 0 0 1 --5 0.5.5 cm", "cm", ""},
		{"1 2 3 ] >> } ) (ok) Tj", "Tj", "ok"},
		{"(unterminated", "", ""},
		{"BI /W 1 ID \x01\x02", "", ""},
	} {
		ops, strs := lex(c.src)
		if got := strings.Join(ops, " "); got != c.ops {
			t.Errorf("%q: ops %q, want %q", c.src, got, c.ops)
		}
		if got := strings.Join(strs, "|"); got != c.strs {
			t.Errorf("%q: strings %q, want %q", c.src, got, c.strs)
		}
	}
}

// TestInlineImageKeepsText: text after an inline image whose data holds an
// unbalanced "(" is read (the library's PostScript tokenizer lost it).
func TestInlineImageKeepsText(t *testing.T) {
	content := "q 10 0 0 10 0 700 cm BI /W 3 /H 1 /BPC 8 /CS /G ID \x28\xff\x28 EI Q " + helloContent
	doc, err := parseWithin(t, buildPDF(onePage(content), "/Root 1 0 R"), extract.Input{}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := allText(doc), "Hello World\nSecond line"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
}

func FuzzContentLexer(f *testing.F) {
	for _, s := range []string{"BT /F1 12 Tf (Hello) Tj ET", "[(A) -120 (B)] TJ", "BI /W 1 ID x EI", "<<>> <4", "(\\", "[[[[", "/#"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		newContentLexer(strings.NewReader(string(data))).run(func(op string, args []operand) {
			n++
			if len(args) > maxOperands {
				t.Fatalf("%d operands", len(args))
			}
		})
		if n > len(data) {
			t.Fatalf("%d operators from %d bytes", n, len(data))
		}
	})
}
