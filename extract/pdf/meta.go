package pdf

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	lpdf "github.com/ledongthuc/pdf"
)

// metadata reads /Info and the catalog's /Lang. A broken /Info costs the
// metadata, never the document.
func (e *extraction) metadata(root lpdf.Value) {
	defer func() {
		if v := recover(); v != nil {
			if a, ok := v.(*abort); ok {
				panic(a)
			}
		}
	}()
	m := &e.doc.Metadata
	m.Language = cleanMeta(textString(root.Key("Lang").RawString()))
	info := e.r.Trailer().Key("Info")
	if info.Kind() != lpdf.Dict {
		return
	}
	m.Title = cleanMeta(textString(info.Key("Title").RawString()))
	m.Author = cleanMeta(textString(info.Key("Author").RawString()))
	if t, ok := parseDate(textString(info.Key("CreationDate").RawString())); ok {
		m.Created = &t
	}
	if t, ok := parseDate(textString(info.Key("ModDate").RawString())); ok {
		m.Modified = &t
	}
}

// cleanMeta drops control characters, collapses whitespace and caps the
// length of a metadata value.
func cleanMeta(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 1000 {
		s = string([]rune(s)[:1000])
	}
	return s
}

// textString decodes a PDF text string (PDF 32000-1 7.9.2.2): UTF-16BE
// with a byte-order mark, UTF-8 with a byte-order mark (PDF 2.0), else
// PDFDocEncoding.
func textString(s string) string {
	switch {
	case strings.HasPrefix(s, "\xfe\xff"):
		return decodeUTF16(s[2:], false)
	case strings.HasPrefix(s, "\xff\xfe"): // not standard, seen in the wild
		return decodeUTF16(s[2:], true)
	case strings.HasPrefix(s, "\xef\xbb\xbf"):
		return strings.ToValidUTF8(s[3:], "\uFFFD")
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteRune(pdfDocRune(s[i]))
	}
	return b.String()
}

func decodeUTF16(s string, little bool) string {
	u := make([]uint16, 0, len(s)/2)
	for i := 0; i+1 < len(s); i += 2 {
		if little {
			u = append(u, uint16(s[i+1])<<8|uint16(s[i]))
		} else {
			u = append(u, uint16(s[i])<<8|uint16(s[i+1]))
		}
	}
	return string(utf16.Decode(u))
}

// pdfDocHigh maps PDFDocEncoding 0x80..0xA0 (PDF 32000-1 Table D.2).
var pdfDocHigh = [...]rune{
	0x2022, 0x2020, 0x2021, 0x2026, 0x2014, 0x2013, 0x0192, 0x2044,
	0x2039, 0x203a, 0x2212, 0x2030, 0x201e, 0x201c, 0x201d, 0x2018,
	0x2019, 0x201a, 0x2122, 0xfb01, 0xfb02, 0x0141, 0x0152, 0x0160,
	0x0178, 0x017d, 0x0131, 0x0142, 0x0153, 0x0161, 0x017e, 0xfffd,
	0x20ac,
}

// pdfDocLow maps PDFDocEncoding 0x18..0x1F.
var pdfDocLow = [...]rune{0x02d8, 0x02c7, 0x02c6, 0x02d9, 0x02dd, 0x02db, 0x02da, 0x02dc}

func pdfDocRune(c byte) rune {
	switch {
	case c >= 0x18 && c <= 0x1f:
		return pdfDocLow[c-0x18]
	case c >= 0x80 && c <= 0xa0:
		return pdfDocHigh[c-0x80]
	case c == 0xad:
		return 0xfffd
	}
	return rune(c) // ASCII and Latin-1
}

// parseDate parses a PDF date, "D:YYYYMMDDHHmmSSOHH'mm'" (PDF 32000-1
// 7.9.4). Everything after the year is optional; "D:" is optional; the
// offset may be Z, +HH'mm', +HH'mm or +HHmm. A date without an offset is
// taken as UTC.
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "D:")
	digits := 0
	for digits < len(s) && digits < 14 && s[digits] >= '0' && s[digits] <= '9' {
		digits++
	}
	if digits < 4 || digits%2 != 0 {
		return time.Time{}, false
	}
	field := func(from, to, def int) int {
		if digits < to {
			return def
		}
		n, _ := strconv.Atoi(s[from:to])
		return n
	}
	year, month, day := field(0, 4, 0), field(4, 6, 1), field(6, 8, 1)
	hour, minute, sec := field(8, 10, 0), field(10, 12, 0), field(12, 14, 0)
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	loc := time.UTC
	rest := s[digits:]
	if rest != "" && (rest[0] == '+' || rest[0] == '-') {
		sign := 1
		if rest[0] == '-' {
			sign = -1
		}
		off := strings.NewReplacer("'", "").Replace(rest[1:])
		if len(off) >= 2 {
			oh, err1 := strconv.Atoi(off[:2])
			om := 0
			var err2 error
			if len(off) >= 4 {
				om, err2 = strconv.Atoi(off[2:4])
			}
			if err1 == nil && err2 == nil && oh <= 23 && om <= 59 {
				loc = time.FixedZone("", sign*(oh*3600+om*60))
			}
		}
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, loc)
	if t.Day() != day { // 31 February and the like
		return time.Time{}, false
	}
	return t, true
}
