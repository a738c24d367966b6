package html

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "<p>x</p>", "<html><head><title>t</title><meta name=author content=a></head><body><main>m</main></body></html>",
		"<meta charset=shift_jis><p>\x93\xfa\x96\x7b</p>", "<meta http-equiv=content-type content='text/html;charset=koi8-r'>\xf7",
		"\xFF\xFE<\x00p\x00>\x00", "<table><tr><td>a<td>b</table>", "<pre>\n a\n</pre>", "<script>x", "<svg><p>y</svg>z",
		"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>&e;", strings.Repeat("<div>", 500) + "deep",
		"<title>unterminated", "<img alt='a b'><br/><hr>", "&#0;&#xD800;&#x110000;&", "<p>caf\xe9</p>",
	} {
		f.Add([]byte(s), "text/html")
	}
	f.Add([]byte("<p>x</p>"), "text/html; charset=utf-16be")
	f.Add([]byte("<p>x</p>"), "text/html; charset=bogus")
	f.Fuzz(func(t *testing.T, data []byte, mediaType string) {
		for _, maxChars := range []int{0, 5} {
			in := extract.Input{R: bytes.NewReader(data), Size: int64(len(data)), MediaType: mediaType, Limits: extract.Limits{MaxChars: maxChars}}
			doc, err := New().Parse(context.Background(), in)
			if err != nil {
				if !errors.Is(err, extract.ErrMalformed) && !errors.Is(err, extract.ErrTooLarge) {
					t.Fatalf("error wraps no sentinel: %v", err)
				}
				continue
			}
			if !utf8.ValidString(doc.Text) || !utf8.ValidString(doc.Metadata.Title) || !utf8.ValidString(doc.Metadata.Author) {
				t.Fatalf("invalid UTF-8 output %q", doc.Text)
			}
			if maxChars > 0 && utf8.RuneCountInString(doc.Text) > maxChars+1 {
				t.Fatalf("%d runes over the cap", utf8.RuneCountInString(doc.Text))
			}
		}
	})
}
