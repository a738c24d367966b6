package eml

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
)

// FuzzParse: Parse never panics, fails only with a sentinel of extract and
// returns valid UTF-8; the sniffer never panics and names only its type.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", simple, mixed, crlf(mixed), "From: a\n\nb", "From x\nFrom: a\n\nb",
		"From: a\nContent-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: message/rfc822\n\nFrom: b\nContent-Type: multipart/alternative; boundary=n\n\n--n\nContent-Type: text/html\n\n<p>x\n--n--\n--m--",
		"Subject: =?UTF-8?B?w6k=?= =?x-unknown?Q?a?= =?ISO-2022-JP?B?GyRCJEIbKEI=?=\nFrom: =?utf-8?q?=FF?= <a@b>\n\nx",
		"From: a\nContent-Transfer-Encoding: base64\nContent-Type: text/plain; charset=utf-16le\n\n//5oAGkA",
		"From: a\nContent-Transfer-Encoding: quoted-printable\n\n=ZZ=\n=4",
		"From: a\nContent-Type: text/plain; format=flowed; delsp=yes\n\na \nb",
		"From: a\nContent-Disposition: attachment; filename*0*=UTF-8''a%C3; filename*1=b\nContent-Type: x/y\n\nzz",
		"MIME-Version: 1.0\nFrom: a\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, lim := range []extract.Limits{{}, {MaxChars: 5, MaxUnpackedBytes: 64}} {
			in := extract.Input{R: bytes.NewReader(data), Size: int64(len(data)), Limits: lim}
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
		}
		if got := New().Sniff(data); got != "" && got != "message/rfc822" {
			t.Fatalf("Sniff = %q", got)
		}
	})
}
