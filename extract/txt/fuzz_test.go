package txt

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

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "hello", "\xEF\xBB\xBFbom", "\xFF\xFEh\x00i\x00", "\xFE\xFF\x00h\x00i", "\xFF\xFE\x00\x00h\x00\x00\x00",
		"T\x00h\x00i\x00s\x00 \x00i\x00s\x00 \x00a\x00 \x00t\x00e\x00s\x00t\x00",
		"\xcf\xf0\xe8\xe2\xe5\xf2, \xec\xe8\xf0", "\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd", "caf\xe9", "a\xff\xfe\xfd",
		"\xd8\x00", "\x00\x00\xfe\xff\x00\x00\x00h",
	} {
		f.Add([]byte(s), "")
	}
	f.Add([]byte("caf\xe9"), "text/plain; charset=utf-16be")
	f.Add([]byte("abc"), "text/plain; charset=bogus")
	if files, _ := filepath.Glob("testdata/*"); files != nil {
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b, "")
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, mediaType string) {
		p := New()
		_ = p.Sniff(data)
		for _, maxChars := range []int{0, 7} {
			in := extract.Input{R: bytes.NewReader(data), Size: int64(len(data)), MediaType: mediaType, Limits: extract.Limits{MaxChars: maxChars}}
			doc, err := p.Parse(context.Background(), in)
			if err != nil {
				if !errors.Is(err, extract.ErrMalformed) && !errors.Is(err, extract.ErrTooLarge) {
					t.Fatalf("error wraps no sentinel: %v", err)
				}
				continue
			}
			if !utf8.ValidString(doc.Text) {
				t.Fatalf("invalid UTF-8 output %q", doc.Text)
			}
			if maxChars > 0 && utf8.RuneCountInString(doc.Text) > maxChars+1 {
				t.Fatalf("%d runes over the cap %d", utf8.RuneCountInString(doc.Text), maxChars)
			}
		}
	})
}
