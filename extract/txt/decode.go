package txt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Decoded is the result of [Decode].
type Decoded struct {
	// Text is the decoded text in NFC, valid UTF-8.
	Text string
	// Charset names the encoding the input was decoded from, in lower
	// case: "utf-8", "utf-16le", "windows-1251", "shift_jis"...
	Charset string
	// Invalid reports that the input held byte sequences invalid in
	// Charset, replaced with U+FFFD.
	Invalid bool
}

// Decode reads the whole of r (size bytes), detects its character encoding
// (see the package documentation; mediaType is the sniffed media type, whose
// charset parameter counts as a declaration) and returns its text in NFC.
//
// maxChars > 0 bounds the work: Decode stops after maxChars+1 code points,
// one more than the cap, so that the caller can tell the text was cut.
// Errors wrap ctx's error or an extract sentinel.
func Decode(ctx context.Context, r io.ReaderAt, size int64, mediaType string, maxChars int) (Decoded, error) {
	det, err := detect(ctx, r, size, mediaType, maxChars)
	if err != nil {
		return Decoded{}, err
	}
	rd := norm.NFC.Reader(det.reader(ctx, r, size))
	limit := -1
	if maxChars > 0 {
		limit = maxChars + 1
	}
	text, err := readRunes(rd, limit)
	if err != nil {
		return Decoded{}, err
	}
	return Decoded{Text: text, Charset: det.name, Invalid: det.invalid}, nil
}

// NewReader detects the character encoding of r as [Decode] does and
// returns a stream of its text in UTF-8 (not normalised), with the charset
// name. The stream fails with ctx's error once ctx is done.
func NewReader(ctx context.Context, r io.ReaderAt, size int64, mediaType string) (io.Reader, string, error) {
	det, err := detect(ctx, r, size, mediaType, 0)
	if err != nil {
		return nil, "", err
	}
	return det.reader(ctx, r, size), det.name, nil
}

// Lookup returns the encoding for a charset label ("latin1", "cp1251",
// "utf-32be"...) and its canonical lower-case name, or nil and "" when the
// label is unknown. Labels follow the WHATWG Encoding standard, plus UTF-32.
func Lookup(label string) (encoding.Encoding, string) {
	l := strings.ToLower(strings.TrimSpace(label))
	switch l {
	case "utf-8", "utf8", "unicode-1-1-utf-8":
		return unicode.UTF8, "utf-8"
	case "utf-16le", "utf-16", "unicode", "ucs-2", "csunicode", "iso-10646-ucs-2", "unicodefeff":
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), "utf-16le"
	case "utf-16be", "unicodefffe":
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), "utf-16be"
	case "utf-32le", "utf-32", "ucs-4":
		return utf32.UTF32(utf32.LittleEndian, utf32.IgnoreBOM), "utf-32le"
	case "utf-32be":
		return utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM), "utf-32be"
	}
	e, err := htmlindex.Get(l)
	if err != nil || e == nil {
		return nil, ""
	}
	name, err := htmlindex.Name(e)
	if err != nil {
		return nil, ""
	}
	if name == "replacement" {
		return nil, ""
	}
	return e, strings.ToLower(name)
}

// detection is the outcome of the encoding detection.
type detection struct {
	enc     encoding.Encoding
	name    string
	skip    int64 // length of the byte-order mark
	invalid bool
}

func (d detection) reader(ctx context.Context, r io.ReaderAt, size int64) io.Reader {
	rd := extract.ContextReader(ctx, io.NewSectionReader(r, d.skip, size-d.skip))
	return transform.NewReader(rd, d.enc.NewDecoder())
}

// weakCharsets are the charset parameters content sniffers emit as a guess
// for any text that is not UTF-8; they do not count as declarations.
var weakCharsets = map[string]bool{
	"iso-8859-1": true, "latin1": true, "iso_8859-1": true, "l1": true,
	"windows-1252": true, "cp1252": true, "us-ascii": true, "ascii": true,
	"utf-8": true, "utf8": true,
}

const (
	headLen   = 8 << 10
	chunkLen  = 64 << 10
	sampleLen = 1 << 20
)

func detect(ctx context.Context, r io.ReaderAt, size int64, mediaType string, maxChars int) (detection, error) {
	if size < 0 {
		return detection{}, fmt.Errorf("txt: %w: negative size", extract.ErrMalformed)
	}
	head := make([]byte, min(size, headLen))
	if _, err := readFull(r, head, 0); err != nil {
		return detection{}, err
	}
	if name, n := bomCharset(head); name != "" {
		enc, name := Lookup(name)
		return detection{enc: enc, name: name, skip: int64(n)}, nil
	}
	if cs := extract.MediaTypeParam(mediaType, "charset"); cs != "" && !weakCharsets[strings.ToLower(cs)] {
		if enc, name := Lookup(cs); enc != nil {
			return detection{enc: enc, name: name}, nil
		}
	}
	if cs := sniffNUL(head); cs != "" {
		enc, name := Lookup(cs)
		return detection{enc: enc, name: name}, nil
	}
	// UTF-8: validate the whole input, or the part the output cap needs.
	limit := size
	if maxChars > 0 && int64(maxChars)*utf8.UTFMax+utf8.UTFMax < limit {
		limit = int64(maxChars)*utf8.UTFMax + utf8.UTFMax
	}
	v, err := validateUTF8(ctx, r, limit)
	if err != nil {
		return detection{}, err
	}
	if v.invalid == 0 || v.multi >= 4*v.invalid {
		enc, name := Lookup("utf-8")
		return detection{enc: enc, name: name, invalid: v.invalid > 0}, nil
	}
	// A legacy encoding: score the candidates on a sample that starts a
	// little before the first invalid byte.
	start := max(0, v.firstInvalid-chunkLen)
	sample := make([]byte, min(size-start, sampleLen))
	if _, err := readFull(r, sample, start); err != nil {
		return detection{}, err
	}
	if start > 0 {
		if i := bytes.IndexByte(sample, '\n'); i >= 0 {
			sample = sample[i+1:]
		}
	}
	name := detectLegacy(sample)
	enc, name := Lookup(name)
	return detection{enc: enc, name: name}, nil
}

// bomCharset returns the charset a byte-order mark at the start of head
// announces, and the mark's length.
func bomCharset(head []byte) (string, int) {
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE, 0, 0}):
		return "utf-32le", 4
	case bytes.HasPrefix(head, []byte{0, 0, 0xFE, 0xFF}):
		return "utf-32be", 4
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		return "utf-8", 3
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return "utf-16le", 2
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return "utf-16be", 2
	}
	return "", 0
}

// SniffCharset recognises UTF-16 and UTF-32 in head, the first bytes of a
// document: by a byte-order mark, or without one by the pattern of NUL
// bytes. It returns "utf-16le", "utf-16be", "utf-32le", "utf-32be" or "".
// It does not allocate.
func SniffCharset(head []byte) string {
	if name, _ := bomCharset(head); name != "" && name != "utf-8" {
		return name
	}
	return sniffNUL(head)
}

// minUnits is how many code units of evidence sniffNUL needs at least.
const minUnits = 8

// sniffNUL recognises UTF-16 and UTF-32 without a byte-order mark: every
// code unit must be a valid text character (no C0 control but tab, line
// feed, form feed and carriage return, no NUL, no unpaired surrogate, no
// non-character), and at least half of them must lie in the Latin-1 range,
// so that zero bytes alternate in a strict pattern.
func sniffNUL(head []byte) string {
	if len(head) >= 4*minUnits {
		if utf32Text(head, true) {
			return "utf-32le"
		}
		if utf32Text(head, false) {
			return "utf-32be"
		}
	}
	if len(head) >= 2*minUnits {
		if utf16Text(head, true) {
			return "utf-16le"
		}
		if utf16Text(head, false) {
			return "utf-16be"
		}
	}
	return ""
}

func textRune(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == '\f':
		return true
	case r < 0x20 || r == 0x7F:
		return false
	case r >= 0x80 && r < 0xA0: // C1 controls
		return false
	case r >= 0xD800 && r < 0xE000:
		return false
	case r&0xFFFE == 0xFFFE, r >= 0xFDD0 && r <= 0xFDEF:
		return false
	case r > utf8.MaxRune:
		return false
	}
	return true
}

func utf16Text(b []byte, le bool) bool {
	n := len(b) / 2
	latin := 0
	for i := 0; i < n; i++ {
		var u rune
		if le {
			u = rune(b[2*i]) | rune(b[2*i+1])<<8
		} else {
			u = rune(b[2*i])<<8 | rune(b[2*i+1])
		}
		switch {
		case u >= 0xD800 && u < 0xDC00: // high surrogate: needs a low one
			if i+1 >= n {
				return i+1 >= minUnits && 2*latin >= i // cut at the end of head
			}
			var v rune
			if le {
				v = rune(b[2*i+2]) | rune(b[2*i+3])<<8
			} else {
				v = rune(b[2*i+2])<<8 | rune(b[2*i+3])
			}
			if v < 0xDC00 || v >= 0xE000 {
				return false
			}
			i++
			continue
		case !textRune(u):
			return false
		case u < 0x100:
			latin++
		}
	}
	return 2*latin >= n
}

func utf32Text(b []byte, le bool) bool {
	n := len(b) / 4
	latin := 0
	for i := 0; i < n; i++ {
		c := b[4*i : 4*i+4]
		var u rune
		if le {
			u = rune(c[0]) | rune(c[1])<<8 | rune(c[2])<<16 | rune(c[3])<<24
		} else {
			u = rune(c[3]) | rune(c[2])<<8 | rune(c[1])<<16 | rune(c[0])<<24
		}
		if u < 0 || !textRune(u) {
			return false
		}
		if u < 0x100 {
			latin++
		}
	}
	return 2*latin >= n
}

type utf8Stats struct {
	invalid, multi int
	firstInvalid   int64
}

// validateUTF8 counts the invalid bytes and valid multi-byte sequences of the
// first limit bytes of r, reading them in chunks.
func validateUTF8(ctx context.Context, r io.ReaderAt, limit int64) (utf8Stats, error) {
	st := utf8Stats{firstInvalid: -1}
	buf := make([]byte, min(limit, chunkLen)+utf8.UTFMax)
	var off int64
	carry := 0
	for off < limit {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		n, err := readFull(r, buf[carry:carry+int(min(limit-off, chunkLen))], off)
		if err != nil {
			return st, err
		}
		off += int64(n)
		b := buf[:carry+n]
		base := off - int64(len(b))
		atEnd := off >= limit
		i := 0
		for i < len(b) {
			c := b[i]
			if c < utf8.RuneSelf {
				i++
				continue
			}
			if !atEnd && !utf8.FullRune(b[i:]) {
				break
			}
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size <= 1 {
				if st.invalid == 0 {
					st.firstInvalid = base + int64(i)
				}
				st.invalid++
			} else {
				st.multi++
			}
			i += max(size, 1)
		}
		carry = copy(buf, b[i:])
	}
	return st, nil
}

// readFull reads len(p) bytes at off; a short input is an error.
func readFull(r io.ReaderAt, p []byte, off int64) (int, error) {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return n, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return n, fmt.Errorf("txt: %w: input shorter than its size", extract.ErrMalformed)
	}
	return n, fmt.Errorf("txt: read: %w", err)
}

// readRunes reads rd to its end, or to limit code points when limit >= 0.
func readRunes(rd io.Reader, limit int) (string, error) {
	var b strings.Builder
	buf := make([]byte, chunkLen)
	carry, count := 0, 0
	for {
		n, err := rd.Read(buf[carry:])
		chunk := buf[:carry+n]
		// Keep an incomplete rune at the end for the next read.
		end := len(chunk)
		if err == nil {
			for k := 1; k < utf8.UTFMax && k <= end; k++ {
				if utf8.RuneStart(chunk[end-k]) {
					if !utf8.FullRune(chunk[end-k:]) {
						end -= k
					}
					break
				}
			}
		}
		if limit >= 0 {
			c := utf8.RuneCount(chunk[:end])
			if count+c >= limit {
				cut, seen := 0, count
				for cut < end && seen < limit {
					_, size := utf8.DecodeRune(chunk[cut:end])
					cut += size
					seen++
				}
				b.Write(chunk[:cut])
				return b.String(), nil
			}
			count += c
		}
		b.Write(chunk[:end])
		carry = copy(buf, chunk[end:])
		if err != nil {
			if errors.Is(err, io.EOF) {
				b.Write(buf[:carry])
				return b.String(), nil
			}
			return "", err
		}
	}
}
