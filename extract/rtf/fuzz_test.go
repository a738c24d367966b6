package rtf

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
)

// FuzzParse: Parse never panics, fails only with a sentinel of extract and
// returns valid UTF-8 bounded by the output cap.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "{\\rtf", "{\\rtf1 x}", header + `a\par b\line c\tab d}`,
		header + `\u-10179?\u-8704?\uc0\u233\uc3\u8364\'80\'80\'80}`,
		header + `{\f2 \'93\'fa\'96}\'}`, header + `{\field{\*\fldinst x}{\fldrslt y}}`,
		header + `\trowd\intbl a\cell b\cell\row\nestcell\nestrow`, header + `{\info{\title t}{\author a}{\creatim\yr2024\mo1\dy1}}`,
		header + `{\pict\bin99999999 abc}`, header + `{\object{\result r}}{\upr{a}{\*\ud{b}}}`,
		header + `{\header h}{\footer f}{\footnote n}`, `{\rtf1 {{{{{{{{{{`, `{\rtf1 }}}}}} x`,
		`{\rtf1\ansicpg932 \'82\'a0\'82}`, `{\rtf1\ansicpg65001 \'e2\'82}`, `{\rtf1\` + "\xff\xfe",
		`{\rtf1\*\*\*\*{\*}}`, `{\rtf1\u-32768\u32767\u65535\u-1}`,
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, hf bool) {
		for _, maxChars := range []int{0, 5} {
			in := extract.Input{R: bytes.NewReader(data), Size: int64(len(data)), HeadersFooters: hf, Limits: extract.Limits{MaxChars: maxChars}}
			doc, err := New().Parse(context.Background(), in)
			if err != nil {
				if !errors.Is(err, extract.ErrMalformed) {
					t.Fatalf("error wraps no sentinel: %v", err)
				}
				continue
			}
			if !utf8.ValidString(doc.Text) || !utf8.ValidString(doc.Metadata.Title) || !utf8.ValidString(doc.Metadata.Author) {
				t.Fatalf("invalid UTF-8 output %q", doc.Text)
			}
			if maxChars > 0 && utf8.RuneCountInString(doc.Text) > 2*maxChars+16 {
				t.Fatalf("%d runes over the cap", utf8.RuneCountInString(doc.Text))
			}
		}
	})
}
