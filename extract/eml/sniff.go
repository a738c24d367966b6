package eml

import (
	"bytes"

	"github.com/quarryhq/quarry/extract"
)

// knownHeaders are header fields of mail messages; keyHeaders are those a
// message has and other "Name: value" text seldom starts with.
var (
	knownHeaders = [][]byte{
		[]byte("from"), []byte("to"), []byte("cc"), []byte("bcc"), []byte("date"), []byte("subject"),
		[]byte("received"), []byte("mime-version"), []byte("message-id"), []byte("return-path"),
		[]byte("delivered-to"), []byte("reply-to"), []byte("sender"), []byte("content-type"),
		[]byte("content-transfer-encoding"), []byte("in-reply-to"), []byte("references"),
		[]byte("x-mailer"), []byte("user-agent"), []byte("dkim-signature"), []byte("authentication-results"),
		[]byte("received-spf"), []byte("thread-topic"), []byte("thread-index"), []byte("list-id"),
		[]byte("x-original-to"), []byte("arc-seal"), []byte("importance"),
	}
	keyHeaders = [][]byte{
		[]byte("from"), []byte("received"), []byte("mime-version"), []byte("message-id"),
		[]byte("return-path"), []byte("delivered-to"), []byte("subject"),
	}
)

// Sniff recognises a mail message that the generic sniffer misses (one
// that starts with a header it does not know, such as MIME-Version or an
// X- field, or that holds binary bytes). It is conservative: every line up
// to the first empty line must be a header field or a folded continuation,
// with at least two known mail headers, one of them From, Received,
// MIME-Version, Message-ID, Return-Path, Delivered-To or Subject; the empty
// line that ends the header must be in head, unless head is a full
// [extract.SniffLen] bytes long and at least four known headers came first.
func (*Parser) Sniff(head []byte) string {
	known, key := 0, false
	rest := head
	first := true
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break // the line is cut off by the end of head
		}
		line := rest[:i]
		rest = rest[i+1:]
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			if known >= 2 && key {
				return "message/rfc822"
			}
			return ""
		}
		if line[0] == ' ' || line[0] == '\t' {
			if first {
				return ""
			}
			continue
		}
		first = false
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return ""
		}
		name := line[:colon]
		for _, c := range name {
			if c <= ' ' || c > '~' {
				return ""
			}
		}
		for _, k := range knownHeaders {
			if bytes.EqualFold(name, k) {
				known++
				break
			}
		}
		for _, k := range keyHeaders {
			if bytes.EqualFold(name, k) {
				key = true
				break
			}
		}
	}
	if len(head) >= extract.SniffLen && known >= 4 && key {
		return "message/rfc822"
	}
	return ""
}
