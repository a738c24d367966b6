package eml

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
)

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func parse(t *testing.T, src string, lim extract.Limits) (*extract.Document, error) {
	t.Helper()
	return New().Parse(context.Background(), extract.Input{R: strings.NewReader(src), Size: int64(len(src)),
		MediaType: "message/rfc822", Limits: lim})
}

func mustParse(t *testing.T, src string) *extract.Document {
	t.Helper()
	doc, err := parse(t, src, extract.Limits{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return doc
}

const simple = `From: Alice Example <alice@example.com>
To: Bob <bob@example.com>, carol@example.com
Cc: "Dave, Jr." <dave@example.com>
Date: Mon, 2 Jan 2006 15:04:05 -0700
Subject: Quarterly report
Message-ID: <1@example.com>

Hi Bob,

the report is attached.
`

var pdf = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("%PDF-1.4 data "), 20)) // 280 bytes

func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	return b.String() + s
}

var mixed = `From: Alice <alice@example.com>
To: bob@example.com
Subject: Files
Date: Tue, 3 Jan 2006 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

This is a multi-part message in MIME format.
--outer
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Plain body: caf=C3=A9 and a soft=
 break.
--alt
Content-Type: text/html; charset=utf-8

<html><body><p>HTML body that must not appear</p></body></html>
--alt--

--outer
Content-Type: application/pdf; name="ignored.pdf"
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

` + wrap(pdf, 76) + `
--outer
Content-Type: text/plain; name="notes.txt"
Content-Disposition: attachment

not extracted
--outer
Content-Type: image/png
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--outer--
`

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		want      []string // substrings, in order
		not       []string
	}{
		{"simple", simple, []string{"From: Alice Example <alice@example.com>\nTo: Bob <bob@example.com>, carol@example.com\nCc: Dave, Jr. <dave@example.com>\nDate: Mon, 2 Jan 2006 15:04:05 -0700\nSubject: Quarterly report\n\nHi Bob,\n\nthe report is attached."}, []string{"Message-ID", "Attachments"}},
		{"crlf", crlf(simple), []string{"Subject: Quarterly report\n\nHi Bob,\n\nthe report is attached."}, []string{"\r"}},
		{"mixed", mixed, []string{
			"Subject: Files\n\nPlain body: café and a soft break.\n\nAttachments:\n",
			"- report.pdf (application/pdf, 280 bytes)\n",
			"- notes.txt (text/plain, 13 bytes)\n",
			"- unnamed (image/png, 8 bytes)",
		}, []string{"HTML body", "not extracted", "multi-part message"}},
		{"html only alternative", `From: a@example.com
Subject: H
Content-Type: multipart/alternative; boundary=b

--b
Content-Type: text/html; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

<html><head><style>p{}</style></head><body><p>Caf=E9 <b>au</b> lait</p><script>x()</script></body></html>
--b--
`, []string{"Subject: H\n\nCafé au lait"}, []string{"p{}", "x()"}},
		{"html body", "From: a@example.com\nContent-Type: text/html\n\n<p>One</p><p>Two</p>", []string{"One\n\nTwo"}, []string{"<p>"}},
		{"encoded words", `From: =?ISO-8859-1?Q?Andr=E9?= Pirard <pirard@example.be>
To: =?UTF-8?B?0JjQstCw0L0=?= <ivan@example.ru>
Subject: =?ISO-8859-1?Q?Caf=E9_cr=E8me?= and =?UTF-8?B?5pel5pys6Kqe?=
 =?UTF-8?Q?_=E2=82=AC?=

x`, []string{"From: André Pirard <pirard@example.be>\nTo: Иван <ivan@example.ru>\nSubject: Café crème and 日本語 €"}, nil},
		{"encoded word other charsets", "From: x@example.com\nSubject: =?koi8-r?B?8NLJ18XU?= =?windows-1252?Q?=93q=94?=\n\nb", []string{"Subject: Привет“q”"}, nil},
		{"raw latin-1 header", "From: Ren\xe9 <r@example.com>\nSubject: \xe9t\xe9\n\nb", []string{"From: René <r@example.com>\nSubject: été"}, nil},
		{"raw utf-8 header", "From: Zoë <z@example.com>\nSubject: Grüße\n\nb", []string{"From: Zoë <z@example.com>\nSubject: Grüße"}, nil},
		{"qp utf-8 body", "From: a@example.com\nSubject: q\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\nGr=C3=BC=C3=9Fe =E2=80=94 line one=\n continues\r\n=3D sign", []string{"Grüße — line one continues\n= sign"}, nil},
		{"base64 body", "From: a@example.com\nContent-Transfer-Encoding: BASE64\nContent-Type: text/plain; charset=utf-8\n\n" + wrap(base64.StdEncoding.EncodeToString([]byte("Base64 body, ünïcode.")), 8), []string{"Base64 body, ünïcode."}, nil},
		{"latin-1 body", "From: a@example.com\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\ncaf\xe9", []string{"café"}, nil},
		{"format flowed", "From: a@example.com\nContent-Type: text/plain; format=flowed; delsp=no\n\nThis is a \nflowed line.\n>quoted\n-- \nsig", []string{"This is a flowed line.\n>quoted\n-- \nsig"}, nil},
		{"nested message", `From: Bob <bob@example.com>
To: carol@example.com
Subject: Fwd: Quarterly report
Content-Type: multipart/mixed; boundary=fw

--fw
Content-Type: text/plain

See below.
--fw
Content-Type: message/rfc822
Content-Disposition: attachment; filename="original.eml"

` + mixed + `
--fw--
`, []string{
			"Subject: Fwd: Quarterly report\n\nSee below.\n\n> From: Alice <alice@example.com>\n> To: bob@example.com\n",
			"> Date: Tue, 3 Jan 2006 10:00:00 +0000\n> Subject: Files\n>\n> Plain body: café and a soft break.\n>\n> Attachments:\n> - report.pdf (application/pdf, 280 bytes)",
		}, []string{"original.eml", "HTML body"}},
		{"alternative with related html", `From: a@example.com
Content-Type: multipart/alternative; boundary=a

--a
Content-Type: multipart/related; boundary=r

--r
Content-Type: text/html

<p>Rich</p>
--r
Content-Type: image/png; name=logo.png
Content-ID: <logo>

PNG
--r--
--a
Content-Type: text/plain

Plain wins
--a--
`, []string{"Plain wins"}, []string{"Rich", "logo.png"}},
		{"rfc2231 filename", "From: a@example.com\nContent-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.docx\n\nxyz\n--m\nContent-Type: application/zip; name=\"=?UTF-8?Q?caf=C3=A9.zip?=\"\n\nzz\n--m--\n",
			[]string{"- résumé.docx (application/octet-stream, 3 bytes)\n- café.zip (application/zip, 2 bytes)"}, nil},
		{"mbox from line", "From alice@example.com Mon Jan  2 15:04:05 2006\nFrom: alice@example.com\nSubject: s\n\nbody", []string{"From: alice@example.com\nSubject: s\n\nbody"}, nil},
		{"headers only", "From: a@example.com\nSubject: no body", []string{"From: a@example.com\nSubject: no body"}, nil},
		{"truncated multipart", "From: a@example.com\nContent-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain\n\nkept text", []string{"kept text"}, nil},
		{"bad content type params", "From: a@example.com\nContent-Type: multipart/mixed; boundary=m; bogus\n\n--m\n\nfirst\n--m--\n", []string{"first"}, nil},
		{"invalid content type", "From: a@example.com\nContent-Type: ???\n\nplain anyway", []string{"plain anyway"}, nil},
		{"broken base64", "From: a@example.com\nContent-Transfer-Encoding: base64\n\nSGVsbG8gd29ybGQ!!!\n  =\nx", []string{"Hello world"}, nil},
		{"group address", "From: a@example.com\nTo: undisclosed-recipients:;\n\nb", []string{"To: undisclosed-recipients:;"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := mustParse(t, tt.src)
			at := 0
			for _, w := range tt.want {
				i := strings.Index(doc.Text[at:], w)
				if i < 0 {
					t.Errorf("text lacks %q (after offset %d)\ntext: %q", w, at, doc.Text)
					break
				}
				at += i + len(w)
			}
			for _, n := range tt.not {
				if strings.Contains(doc.Text, n) {
					t.Errorf("text contains %q\ntext: %q", n, doc.Text)
				}
			}
			if !utf8.ValidString(doc.Text) {
				t.Errorf("invalid UTF-8: %q", doc.Text)
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	doc := mustParse(t, "From: =?UTF-8?Q?Zo=C3=AB?= <z@example.com>\nSubject: =?ISO-8859-1?Q?R=E9sum=E9?=\nDate: Mon, 2 Jan 2006 15:04:05 -0700\nContent-Type: text/plain; charset=windows-1251\n\n\xcf\xf0\xe8\xe2\xe5\xf2")
	m := doc.Metadata
	if m.Title != "Résumé" || m.Author != "Zoë <z@example.com>" {
		t.Errorf("metadata = %+v", m)
	}
	if want := time.Date(2006, 1, 2, 22, 4, 5, 0, time.UTC); m.Created == nil || !m.Created.Equal(want) || m.Created.Location() != time.UTC {
		t.Errorf("created = %v, want %v", m.Created, want)
	}
	if m.Charset != "windows-1251" || !strings.HasSuffix(doc.Text, "Привет") {
		t.Errorf("charset %q, text %q", m.Charset, doc.Text)
	}
	if doc := mustParse(t, "From: a@example.com\nDate: not a date\n\nx"); doc.Metadata.Created != nil {
		t.Errorf("bad date parsed: %v", doc.Metadata.Created)
	}
}

func TestMalformed(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"", "\n\nbody only", "not a header line\n\nx", "\x00\x01\x02", " continuation first\n\n"} {
		if _, err := parse(t, src, extract.Limits{}); !errors.Is(err, extract.ErrMalformed) {
			t.Errorf("%q: err = %v, want ErrMalformed", src, err)
		}
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	t.Run("parts", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("From: a@example.com\nContent-Type: multipart/mixed; boundary=m\n\n")
		for range MaxParts + 5 {
			b.WriteString("--m\nContent-Type: application/octet-stream\n\nx\n")
		}
		b.WriteString("--m--\n")
		if _, err := parse(t, b.String(), extract.Limits{}); !errors.Is(err, extract.ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
	t.Run("unpacked bytes", func(t *testing.T) {
		src := "From: a@example.com\nContent-Type: application/zip\nContent-Transfer-Encoding: base64\n\n" + wrap(base64.StdEncoding.EncodeToString(make([]byte, 4096)), 76)
		if _, err := parse(t, src, extract.Limits{MaxUnpackedBytes: 1000}); !errors.Is(err, extract.ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
		doc, err := parse(t, src, extract.Limits{MaxUnpackedBytes: 5000})
		if err != nil || !strings.Contains(doc.Text, "- unnamed (application/zip, 4096 bytes)") {
			t.Fatalf("err = %v, text %q", err, doc.Text)
		}
	})
	t.Run("depth", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("From: a@example.com\n")
		for i := range 40 {
			b.WriteString("Content-Type: message/rfc822\n\nFrom: level" + strings.Repeat("x", i%3) + "@example.com\n")
		}
		b.WriteString("\ndeepest")
		doc, err := parse(t, b.String(), extract.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(doc.Text, "deepest") || len(doc.Warnings) == 0 || doc.Warnings[0].Code != extract.WarnEmbeddedSkipped {
			t.Errorf("warnings %+v, text %q", doc.Warnings, doc.Text)
		}
	})
	t.Run("max chars", func(t *testing.T) {
		src := "From: a@example.com\n\n" + strings.Repeat("word ", 100000)
		doc, err := parse(t, src, extract.Limits{MaxChars: 50})
		if err != nil {
			t.Fatal(err)
		}
		if n := utf8.RuneCountInString(doc.Text); n > 200 {
			t.Errorf("%d runes", n)
		}
		if len(doc.Warnings) == 0 || doc.Warnings[len(doc.Warnings)-1].Code != extract.WarnTruncated {
			t.Errorf("warnings = %+v", doc.Warnings)
		}
	})
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src := []byte(mixed)
	if _, err := New().Parse(ctx, extract.Input{R: bytes.NewReader(src), Size: int64(len(src))}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestSniff(t *testing.T) {
	t.Parallel()
	long := "MIME-Version: 1.0\nFrom: a@example.com\nSubject: s\nDate: Mon, 2 Jan 2006 15:04:05 -0700\n" + strings.Repeat("X-Filler: "+strings.Repeat("y", 60)+"\n", 200)
	for _, tt := range []struct {
		head, want string
	}{
		{"MIME-Version: 1.0\r\nFrom: a@example.com\r\n\r\nbody", "message/rfc822"},
		{"X-Mozilla-Status: 0001\nReceived: from x\n\tby y\nSubject: hi\n\nb", "message/rfc822"},
		{simple, "message/rfc822"},
		{long[:extract.SniffLen], "message/rfc822"},
		{long[:4000], ""}, // no separator in a short head
		{"Subject: only one\n\nbody", ""},
		{"Date: x\nTo: y\n\nno key header", ""},
		{"From: a\nSubject: b", ""},
		{"Hello world\nFrom: a\nSubject: b\n\n", ""},
		{"Bad Name: x\nFrom: a\nSubject: b\n\n", ""},
		{" folded: x\nFrom: a\nSubject: b\n\n", ""},
		{"HTTP/1.1 200 OK\nDate: x\nContent-Type: text/html\n\n", ""},
		{"", ""},
	} {
		if got := New().Sniff([]byte(tt.head)); got != tt.want {
			t.Errorf("Sniff(%.30q) = %q, want %q", tt.head, got, tt.want)
		}
	}
}
