package eml

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/html"
	"github.com/quarryhq/quarry/extract/txt"
)

// maxWarnings bounds the warnings of one message.
const maxWarnings = 20

// walker holds the state of one Parse call.
type walker struct {
	ctx      context.Context
	dec      *mime.WordDecoder
	maxChars int
	budget   int64 // decoded bytes still allowed (Limits.MaxUnpackedBytes)
	tooLarge bool
	parts    int
	chars    int // code points of body text kept
	full     bool
	charset  string // charset of the first text body
	warnings []extract.Warning
}

// attachment is one part listed, not extracted.
type attachment struct {
	name, mediaType string
	size            int64
}

// collector gathers the body text and attachments of one message or one
// branch of a multipart/alternative.
type collector struct {
	text        strings.Builder
	attachments []attachment
	chars       int
	plain, html bool // a text/plain or text/html body was kept
}

func (c *collector) add(s string) {
	if s == "" {
		return
	}
	if c.text.Len() > 0 {
		c.text.WriteString("\n\n")
	}
	c.text.WriteString(s)
}

func (c *collector) merge(o *collector) {
	c.add(o.text.String())
	c.attachments = append(c.attachments, o.attachments...)
	c.chars += o.chars
	c.plain = c.plain || o.plain
	c.html = c.html || o.html
}

func (w *walker) warn(code, msg string) {
	for _, x := range w.warnings {
		if x.Message == msg {
			return
		}
	}
	if len(w.warnings) < maxWarnings {
		w.warnings = append(w.warnings, extract.Warning{Code: code, Message: msg})
	}
}

// fatal returns the error that must end the walk, if any.
func (w *walker) fatal() error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if w.tooLarge {
		return errTooLarge
	}
	return nil
}

var errTooLarge = fmt.Errorf("eml: %w: the decoded parts exceed the unpacked size limit", extract.ErrTooLarge)

// message renders a message: its header block, its body, its attachments.
func (w *walker) message(h textproto.MIMEHeader, body io.Reader, depth int) (string, error) {
	var c collector
	if err := w.entity(&c, h, body, depth); err != nil {
		return "", err
	}
	var b strings.Builder
	for _, k := range []string{"From", "To", "Cc", "Date", "Subject"} {
		vs := h.Values(k)
		if len(vs) == 0 {
			continue
		}
		var v string
		switch k {
		case "Subject", "Date":
			v = w.decodeHeader(vs[0])
		default:
			v = w.addresses(vs)
		}
		if v == "" {
			continue
		}
		b.WriteString(k + ": " + v + "\n")
	}
	if t := strings.TrimSpace(c.text.String()); t != "" {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(t)
		b.WriteString("\n")
	}
	if len(c.attachments) > 0 {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString("Attachments:\n")
		for _, a := range c.attachments {
			fmt.Fprintf(&b, "- %s (%s, %d bytes)\n", a.name, a.mediaType, a.size)
		}
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

// entity reads one MIME entity (the message itself or a part) into c.
func (w *walker) entity(c *collector, h textproto.MIMEHeader, body io.Reader, depth int) error {
	if depth > MaxDepth {
		w.warn(extract.WarnEmbeddedSkipped, fmt.Sprintf("parts nested deeper than %d were skipped", MaxDepth))
		return nil
	}
	w.parts++
	if w.parts > MaxParts {
		return fmt.Errorf("eml: %w: more than %d MIME parts", extract.ErrTooLarge, MaxParts)
	}
	mt, params := contentType(h.Get("Content-Type"))
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	cte := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	name = w.decodeHeader(name)

	switch {
	case strings.HasPrefix(mt, "multipart/") && params["boundary"] != "":
		return w.multipart(c, mt, params["boundary"], body, depth)
	case mt == "message/rfc822" || mt == "message/global":
		return w.attached(c, name, mt, decode(body, cte), depth)
	case (mt == "text/plain" || mt == "text/html") && (disp == "inline" || disp == "" && name == ""):
		return w.text(c, mt, params, decode(body, cte))
	}
	n, err := io.Copy(io.Discard, w.count(decode(body, cte)))
	if err != nil {
		if ferr := w.fatal(); ferr != nil {
			return ferr
		}
		w.warn(extract.WarnTruncated, "an attachment could not be fully decoded: "+shortErr(err))
	}
	if name == "" {
		name = "unnamed"
	}
	c.attachments = append(c.attachments, attachment{name: name, mediaType: mt, size: n})
	return nil
}

// multipart reads the parts of a multipart entity.
func (w *walker) multipart(c *collector, mt, boundary string, body io.Reader, depth int) error {
	mr := multipart.NewReader(body, boundary)
	var alts []*collector
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			if ferr := w.fatal(); ferr != nil {
				return ferr
			}
			w.warn(extract.WarnTruncated, "a multipart entity ends early: "+shortErr(err))
			break
		}
		target := c
		if mt == "multipart/alternative" {
			target = &collector{}
			alts = append(alts, target)
		}
		if err := w.entity(target, p.Header, p, depth+1); err != nil {
			return err
		}
	}
	if len(alts) > 0 {
		best := pick(alts)
		c.merge(alts[best])
		for i, a := range alts {
			if i != best {
				w.chars -= a.chars
			}
		}
	}
	return nil
}

// pick chooses the branch of a multipart/alternative to keep: the first
// with a text/plain body, else the first with a text/html body, else the
// first with anything in it.
func pick(alts []*collector) int {
	for i, a := range alts {
		if a.plain {
			return i
		}
	}
	for i, a := range alts {
		if a.html {
			return i
		}
	}
	for i, a := range alts {
		if a.text.Len() > 0 || len(a.attachments) > 0 {
			return i
		}
	}
	return 0
}

// attached reads a message/rfc822 part and adds it as quoted text.
func (w *walker) attached(c *collector, name, mt string, body io.Reader, depth int) error {
	br := bufio.NewReader(body)
	h, err := readHeader(br)
	if err != nil {
		if ferr := w.fatal(); ferr != nil {
			return ferr
		}
		n, _ := io.Copy(io.Discard, w.count(br))
		if name == "" {
			name = "unnamed"
		}
		c.attachments = append(c.attachments, attachment{name: name, mediaType: mt, size: n})
		return w.fatal()
	}
	text, err := w.message(h, br, depth+1)
	if err != nil {
		return err
	}
	c.add(quote(text))
	return nil
}

// quote prefixes every line with "> ".
func quote(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l == "" {
			lines[i] = ">"
		} else {
			lines[i] = "> " + l
		}
	}
	return strings.Join(lines, "\n")
}

// text reads a text/plain or text/html body.
func (w *walker) text(c *collector, mt string, params map[string]string, body io.Reader) error {
	r := w.count(body)
	left := w.maxChars - w.chars
	var data []byte
	var err error
	if left > 0 {
		data, err = io.ReadAll(io.LimitReader(r, 4*int64(left)+4))
	}
	if err == nil {
		var n int64
		n, err = io.Copy(io.Discard, r)
		if n > 0 {
			w.full = true
		}
	}
	if err != nil {
		if ferr := w.fatal(); ferr != nil {
			return ferr
		}
		w.warn(extract.WarnTruncated, "a text part could not be fully decoded: "+shortErr(err))
	}
	if left <= 0 {
		return nil
	}
	cs := strings.ToLower(params["charset"])
	mediaType := mt
	if cs != "" {
		mediaType += "; charset=" + cs
	}
	var text, used string
	if mt == "text/html" {
		doc, err := html.New().Parse(w.ctx, extract.Input{R: bytes.NewReader(data), Size: int64(len(data)),
			MediaType: mediaType, Limits: extract.Limits{MaxChars: left}})
		if err != nil {
			if ferr := w.fatal(); ferr != nil {
				return ferr
			}
			w.warn(extract.WarnPageFailed, "an HTML body could not be read: "+shortErr(err))
			return nil
		}
		text, used = doc.Text, doc.Metadata.Charset
	} else {
		d, err := txt.Decode(w.ctx, bytes.NewReader(data), int64(len(data)), mediaType, left)
		if err != nil {
			if ferr := w.fatal(); ferr != nil {
				return ferr
			}
			w.warn(extract.WarnPageFailed, "a text body could not be decoded: "+shortErr(err))
			return nil
		}
		text, used = d.Text, d.Charset
		if d.Invalid {
			w.warn(extract.WarnInvalidUTF8, "invalid "+d.Charset+" sequences were replaced with U+FFFD")
		}
		text = strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(text)
		if strings.EqualFold(params["format"], "flowed") {
			text = unflow(text, strings.EqualFold(params["delsp"], "yes"))
		}
	}
	text = strings.TrimSpace(strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(text))
	if text == "" {
		return nil
	}
	if w.charset == "" {
		w.charset = used
	}
	n := utf8.RuneCountInString(text)
	if n > left {
		w.full = true
	}
	w.chars += n
	c.chars += n
	c.add(text)
	if mt == "text/html" {
		c.html = true
	} else {
		c.plain = true
	}
	return nil
}

// unflow joins the soft line breaks of format=flowed text (RFC 3676).
func unflow(s string, delsp bool) string {
	lines := strings.Split(s, "\n")
	var b strings.Builder
	for i, l := range lines {
		l = strings.TrimPrefix(l, " ") // space-stuffing
		soft := strings.HasSuffix(l, " ") && l != "-- " && i < len(lines)-1
		if soft && delsp {
			l = l[:len(l)-1]
		}
		b.WriteString(l)
		if !soft && i < len(lines)-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// contentType parses a Content-Type value; an absent or invalid one means
// text/plain (RFC 2045).
func contentType(v string) (string, map[string]string) {
	mt, params, err := mime.ParseMediaType(v)
	if mt == "" || err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		return "text/plain", map[string]string{}
	}
	if params == nil {
		// A bad parameter drops them all; recover the boundary.
		params = map[string]string{}
		if b := rawParam(v, "boundary"); b != "" {
			params["boundary"] = b
		}
	}
	return mt, params
}

// rawParam finds key=value in a header value the mime package refused.
func rawParam(v, key string) string {
	lower := strings.ToLower(v)
	i := strings.Index(lower, key+"=")
	if i < 0 {
		return ""
	}
	rest := v[i+len(key)+1:]
	if strings.HasPrefix(rest, `"`) {
		if j := strings.IndexByte(rest[1:], '"'); j >= 0 {
			return rest[1 : j+1]
		}
		return ""
	}
	if j := strings.IndexAny(rest, "; \t"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// decode undoes a Content-Transfer-Encoding.
func decode(r io.Reader, cte string) io.Reader {
	switch cte {
	case "base64":
		return base64.NewDecoder(base64.RawStdEncoding, &b64filter{r: r})
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

// b64filter passes only the characters of the base64 alphabet, so that
// line breaks, stray spaces and padding do not stop the decoder.
type b64filter struct{ r io.Reader }

func (f *b64filter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		k := 0
		for _, c := range p[:n] {
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' {
				p[k] = c
				k++
			}
		}
		if k > 0 || err != nil {
			return k, err
		}
	}
}

// count charges what r yields to the unpacked-bytes budget.
func (w *walker) count(r io.Reader) io.Reader { return &budgetReader{r: r, w: w} }

type budgetReader struct {
	r io.Reader
	w *walker
}

func (b *budgetReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.w.budget -= int64(n)
	if b.w.budget < 0 {
		b.w.tooLarge = true
		return n, errTooLarge
	}
	return n, err
}

// shortErr is an error message cut to a sane length for a warning.
func shortErr(err error) string {
	s := strings.ToValidUTF8(err.Error(), "?")
	if len(s) > 120 {
		s = strings.ToValidUTF8(s[:120], "") + "..."
	}
	return s
}
