package markdown

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "# T\n\ntext", "- a\n  - b\n", "| a | b |\n|---|---|\n| 1 | 2 |", "```\ncode\n```", "<div><script>x</script>t</div>",
		"[l](u) ![i](s) <http://a>", "> > q", "&amp; &#x41; \\*", "\xFF\xFE#\x00 \x00T\x00", "caf\xe9 *x*", "- [ ] t\n- [x] u",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, maxChars := range []int{0, 5} {
			in := extract.Input{R: bytes.NewReader(data), Size: int64(len(data)), MediaType: "text/markdown", Limits: extract.Limits{MaxChars: maxChars}}
			doc, err := New().Parse(context.Background(), in)
			if err != nil {
				if !errors.Is(err, extract.ErrMalformed) && !errors.Is(err, extract.ErrTooLarge) {
					t.Fatalf("error wraps no sentinel: %v", err)
				}
				continue
			}
			if !utf8.ValidString(doc.Text) || !utf8.ValidString(doc.Metadata.Title) {
				t.Fatalf("invalid UTF-8 output %q", doc.Text)
			}
		}
	})
}
