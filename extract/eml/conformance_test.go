package eml_test

import (
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/eml"
	"github.com/quarryhq/quarry/extract/extracttest"
	"github.com/quarryhq/quarry/extract/txt"
)

const sample = "From: Alice <alice@example.com>\r\n" +
	"To: Bob <bob@example.com>\r\n" +
	"Subject: =?UTF-8?Q?Caf=C3=A9?= meeting\r\n" +
	"Date: Mon, 2 Jan 2006 15:04:05 -0700\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: multipart/alternative; boundary=\"b2\"\r\n" +
	"\r\n" +
	"--b2\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"See you at the caf=C3=A9.\r\n" +
	"--b2\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"\r\n" +
	"<p>See you at the café.</p>\r\n" +
	"--b2--\r\n" +
	"--b1\r\n" +
	"Content-Type: application/pdf\r\n" +
	"Content-Disposition: attachment; filename=\"agenda.pdf\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"JVBERi0xLjQK\r\n" +
	"--b1--\r\n"

func TestConformance(t *testing.T) {
	extracttest.Run(t, eml.New(),
		extracttest.Case{Name: "multipart", Input: []byte(sample), Filename: "meeting.eml",
			WantContains: []string{"Subject: Café meeting", "See you at the café.", "Attachments:\n- agenda.pdf (application/pdf, 9 bytes)"}},
		extracttest.Case{Name: "plain", Input: []byte("From: a@example.com\nSubject: hi\n\nHello there."), WantContains: []string{"Hello there."}},
		extracttest.Case{Name: "not mail", Input: []byte("just some text\nwithout headers\n"), WantErr: extract.ErrMalformed},
	)
}

// TestRegistrySniff: with the text parser registered too, as in a standard
// registry, messages the generic sniffer knows come out as message/rfc822.
func TestRegistrySniff(t *testing.T) {
	reg := extract.NewRegistry()
	reg.MustRegister("eml", eml.New())
	reg.MustRegister("txt", txt.New())
	for _, head := range []string{
		sample,
		"Received: from mx.example.com by mail.example.com\n\tfor <b@example.com>; Mon, 2 Jan 2006 15:04:05 -0700\nFrom: a@example.com\nSubject: x\n\nbody",
		"Return-Path: <a@example.com>\nDelivered-To: b@example.com\nMessage-ID: <1@x>\n\nbody",
	} {
		got := reg.Sniff([]byte(head), "")
		if extract.BaseType(got) != "message/rfc822" {
			t.Errorf("Sniff(%.30q) = %q, want message/rfc822", head, got)
			continue
		}
		if name, _, err := reg.Lookup(got); err != nil || name != "eml" {
			t.Errorf("Lookup(%q) = %q, %v", got, name, err)
		}
	}
	// Plain text stays text.
	if got := reg.Sniff([]byte("Dear Bob,\n\nSubject: our meeting\n"), ""); extract.BaseType(got) != "text/plain" {
		t.Errorf("plain text sniffed as %q", got)
	}
}

// TestRegistrySniffer: messages the generic sniffer misses (MIME-Version or
// an X- field first, binary bytes) are found by the parser's Sniffer when no
// text parser claims them first; the Registry asks Sniffers only then.
func TestRegistrySniffer(t *testing.T) {
	reg := extract.NewRegistry()
	reg.MustRegister("eml", eml.New())
	for _, head := range []string{
		"MIME-Version: 1.0\r\nFrom: a@example.com\r\nSubject: s\r\n\r\nbody",
		"X-Mozilla-Status: 0001\nX-Mozilla-Status2: 00000000\nFrom: a@example.com\nSubject: s\n\nbody",
		"MIME-Version: 1.0\nFrom: a@example.com\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n\x00\x01\x02\x03" + strings.Repeat("\x00", 64),
	} {
		if got := reg.Sniff([]byte(head), ""); got != "message/rfc822" {
			t.Errorf("Sniff(%.30q) = %q, want message/rfc822", head, got)
		}
	}
}
