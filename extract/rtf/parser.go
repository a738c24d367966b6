package rtf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
)

// dest is where the text of a group goes.
type dest uint8

const (
	destBody     dest = iota
	destDrop          // not text: tables, pictures, field instructions...
	destFontTbl       // dropped, but font definitions are read
	destInfo          // dropped, but \title, \author and dates are read
	destTitle         // Metadata.Title
	destAuthor        // Metadata.Author
	destFootnote      // a footnote, appended after the body
	destHeader        // a page header, kept only with Input.HeadersFooters
	destFooter        // a page footer, kept only with Input.HeadersFooters
)

// group is the state a group inherits from its parent and may change for
// itself.
type group struct {
	dest     dest
	font     int // -1: the default font (\deff)
	uc       int // bytes of fallback after \uN
	hidden   bool
	deleted  bool
	star     bool   // \* seen: the next control word is an optional destination
	unskip   string // child destination that takes text again (object -> result)
	hostDest dest   // the dest that child gets back
	date     int    // 1 in \creatim, 2 in \revtim
	sink     *sink
}

// font is one entry of the font table.
type font struct{ charset, cpg int }

// maxFonts bounds the font table.
const maxFonts = 4096

// maxWord bounds the letters of a control word kept (RTF says 32).
const maxWord = 32

// parser holds the state of one Parse call.
type parser struct {
	r        *bufio.Reader
	maxChars int
	hf       bool // keep headers and footers

	stack      []group
	cp         int // document code page (\ansicpgN)
	deff       int
	fonts      map[int]font
	defFont    int // font being defined in the font table
	pend       []byte
	skip       int  // fallback bytes still to skip after \uN
	hi         rune // pending high surrogate from \uN
	dates      [2][6]int
	count      int
	full       bool
	word       []byte
	done       bool
	unbalanced bool

	body, title, author sink
	headers, footers    []string
	footnotes           []string
}

func newParser(r *bufio.Reader, maxChars int, hf bool) *parser {
	p := &parser{r: r, maxChars: maxChars, hf: hf, cp: 1252, fonts: map[int]font{}, word: make([]byte, 0, maxWord)}
	p.title.limit, p.author.limit = 4096, 4096
	return p
}

// sink collects the text of one destination, with the line and cell breaks
// owed before its next text.
type sink struct {
	b     strings.Builder
	kind  dest
	nl    int // line breaks owed
	tabs  int // cell separators owed
	limit int // bytes kept at most, 0 for no limit
}

func (s *sink) brk(n int) {
	if s.b.Len() == 0 {
		return
	}
	s.nl = max(s.nl, n)
}

func (s *sink) line() {
	if s.b.Len() == 0 {
		return
	}
	s.nl = min(s.nl+1, 2)
}

func (s *sink) cell() {
	s.nl = 0
	s.tabs++
}

func (s *sink) row() {
	s.tabs = 0
	s.nl = 1
	if s.b.Len() == 0 {
		s.nl = 0
	}
}

// write appends text, after the breaks owed, and returns the code points
// written.
func (s *sink) write(t string) int {
	if s.limit > 0 && s.b.Len() >= s.limit {
		return 0
	}
	n := 0
	if s.b.Len() > 0 || s.tabs > 0 {
		for range s.nl {
			s.b.WriteByte('\n')
		}
		n += s.nl
	}
	for range s.tabs {
		s.b.WriteByte('\t')
	}
	n += s.tabs
	s.nl, s.tabs = 0, 0
	s.b.WriteString(t)
	return n + utf8.RuneCountInString(t)
}

// String returns the text with trailing spaces of lines removed.
func (s *sink) String() string {
	lines := strings.Split(s.b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \u00a0")
	}
	return strings.Join(lines, "\n")
}

// run reads the document up to the end of its root group.
func (p *parser) run() error {
	for !p.done && !p.full {
		c, err := p.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("rtf: read: %w", err)
		}
		switch c {
		case '{':
			p.flush()
			p.skip = 0
			if len(p.stack) >= MaxDepth {
				return fmt.Errorf("rtf: %w: groups nested deeper than %d", extract.ErrMalformed, MaxDepth)
			}
			if len(p.stack) == 0 {
				p.stack = append(p.stack, group{font: -1, uc: 1})
				p.body.kind = destBody
				p.stack[0].sink = &p.body
			} else {
				g := p.stack[len(p.stack)-1]
				g.star = false
				p.stack = append(p.stack, g)
			}
		case '}':
			p.flush()
			p.skip = 0
			p.pop()
		case '\\':
			if err := p.control(); err != nil {
				return err
			}
		case '\r', '\n', 0:
		default:
			if len(p.stack) == 0 {
				continue
			}
			if p.skip > 0 {
				p.skip--
				continue
			}
			if c == '\t' {
				p.emit("\t")
				continue
			}
			if c < 0x20 {
				continue
			}
			p.byteOut(c)
		}
	}
	p.flush()
	if len(p.stack) > 0 && !p.full {
		p.unbalanced = true
		for len(p.stack) > 0 {
			p.pop()
		}
	}
	return nil
}

func (p *parser) top() *group { return &p.stack[len(p.stack)-1] }

// pop closes the current group.
func (p *parser) pop() {
	if len(p.stack) == 0 {
		return
	}
	g := p.stack[len(p.stack)-1]
	p.stack = p.stack[:len(p.stack)-1]
	if len(p.stack) == 0 {
		p.done = true
		return
	}
	parent := p.top()
	if g.sink != nil && g.sink != parent.sink && g.sink != &p.body && g.sink != &p.title && g.sink != &p.author {
		t := strings.TrimSpace(g.sink.String())
		if t != "" {
			switch g.sink.kind {
			case destFootnote:
				p.footnotes = append(p.footnotes, t)
			case destHeader:
				p.headers = appendOnce(p.headers, t)
			case destFooter:
				p.footers = appendOnce(p.footers, t)
			}
		}
	}
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// out returns the sink the current group's text goes to, nil to drop it.
func (p *parser) out() *sink {
	if len(p.stack) == 0 {
		return nil
	}
	g := p.top()
	if g.hidden || g.deleted {
		return nil
	}
	switch g.dest {
	case destBody, destFootnote, destHeader, destFooter:
		return g.sink
	case destTitle:
		return &p.title
	case destAuthor:
		return &p.author
	}
	return nil
}

// byteOut queues one byte of text in the document's code page.
func (p *parser) byteOut(c byte) {
	if p.out() == nil {
		return
	}
	p.pend = append(p.pend, c)
	// Flush long runs at a space, which is never the second byte of a
	// double-byte character.
	if (len(p.pend) >= 4096 && c == ' ') || len(p.pend) >= 64<<10 {
		p.flush()
	}
}

// flush decodes the queued bytes into the current sink.
func (p *parser) flush() {
	if len(p.pend) == 0 {
		return
	}
	b := p.pend
	p.pend = p.pend[:0]
	if p.hi != 0 {
		p.hi = 0
		p.write("\uFFFD")
	}
	p.write(decode(b, p.codepage()))
}

// write appends decoded text to the current sink.
func (p *parser) write(t string) {
	s := p.out()
	if s == nil || t == "" {
		return
	}
	if left := p.maxChars - p.count + 1; len(t) > left && utf8.RuneCountInString(t) > left {
		t = string([]rune(t)[:max(left, 0)])
	}
	p.count += s.write(t)
	if p.count > p.maxChars {
		p.full = true
	}
}

// emit writes text that is not in the code page (\uN, \tab, \emdash...).
func (p *parser) emit(t string) {
	p.flush()
	if p.hi != 0 {
		p.hi = 0
		p.write("\uFFFD")
	}
	p.write(t)
}

// codepage returns the code page of the current font.
func (p *parser) codepage() int {
	f := p.top().font
	if f < 0 {
		f = p.deff
	}
	if fi, ok := p.fonts[f]; ok {
		if fi.cpg > 0 {
			return fi.cpg
		}
		if fi.charset == 2 {
			return cpSymbol
		}
		if cp := charsetCodepage(fi.charset); cp > 0 {
			return cp
		}
	}
	return p.cp
}

// control reads and acts on one control word or control symbol; the
// backslash has been read.
func (p *parser) control() error {
	c, err := p.r.ReadByte()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("rtf: read: %w", err)
	}
	if !isLetter(c) {
		return p.symbol(c)
	}
	p.word = append(p.word[:0], c)
	for {
		b, err := p.r.Peek(1)
		if err != nil || !isLetter(b[0]) {
			break
		}
		if len(p.word) < maxWord {
			p.word = append(p.word, b[0])
		}
		_, _ = p.r.ReadByte()
	}
	param, hasParam := 0, false
	if b, _ := p.r.Peek(2); len(b) > 0 && isDigit(b[0]) || len(b) == 2 && b[0] == '-' && isDigit(b[1]) {
		neg := false
		if b[0] == '-' {
			neg = true
			_, _ = p.r.ReadByte()
		}
		hasParam = true
		for {
			d, err := p.r.Peek(1)
			if err != nil || !isDigit(d[0]) {
				break
			}
			if param < 1<<31 {
				param = param*10 + int(d[0]-'0')
			}
			_, _ = p.r.ReadByte()
		}
		param = min(param, 1<<31)
		if neg {
			param = -param
		}
	}
	if b, err := p.r.Peek(1); err == nil && b[0] == ' ' {
		_, _ = p.r.ReadByte()
	}
	if len(p.stack) == 0 {
		return nil
	}
	if string(p.word) == "bin" {
		// \binN: N bytes of binary data follow, never text.
		p.flush()
		if hasParam && param > 0 {
			if _, err := p.r.Discard(param); err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("rtf: read: %w", err)
			}
		}
		if p.skip > 0 {
			p.skip--
		}
		return nil
	}
	if p.skip > 0 {
		p.skip--
		return nil
	}
	p.flush()
	p.word1(string(p.word), param, hasParam)
	return nil
}

// symbol acts on the control symbol \c.
func (p *parser) symbol(c byte) error {
	if len(p.stack) == 0 {
		return nil
	}
	if c == '\'' {
		var v byte
		n := 0
		for n < 2 {
			b, err := p.r.Peek(1)
			if err != nil || !isHex(b[0]) {
				break
			}
			v = v<<4 | unhex(b[0])
			_, _ = p.r.ReadByte()
			n++
		}
		if p.skip > 0 {
			p.skip--
			return nil
		}
		if n > 0 {
			p.byteOut(v)
		}
		return nil
	}
	if c == '\r' || c == '\n' {
		if p.skip > 0 {
			return nil // a line end is no character of fallback text
		}
		p.flush()
		if s := p.out(); s != nil {
			s.brk(2)
		}
		return nil
	}
	if p.skip > 0 {
		p.skip--
		return nil
	}
	switch c {
	case '\\', '{', '}':
		p.byteOut(c)
	case '~':
		p.emit("\u00a0")
	case '_':
		p.emit("-")
	case '*':
		p.flush()
		p.top().star = true
	}
	return nil
}

// specials are control words that stand for one character.
var specials = map[string]string{
	"emdash": "\u2014", "endash": "\u2013", "bullet": "\u2022", "lquote": "\u2018",
	"rquote": "\u2019", "ldblquote": "\u201c", "rdblquote": "\u201d", "emspace": " ",
	"enspace": " ", "qmspace": " ", "tab": "\t",
}

// dropped are destinations whose content is not text.
var dropped = map[string]bool{
	"colortbl": true, "stylesheet": true, "pict": true, "fldinst": true, "xe": true, "tc": true,
	"tcn": true, "txe": true, "template": true, "pn": true, "pntxta": true, "pntxtb": true,
	"sp": true, "sn": true, "sv": true, "shprslt": true, "nonshppict": true, "themedata": true,
	"datastore": true, "listtable": true, "listoverridetable": true, "revtbl": true, "rsidtbl": true,
	"generator": true, "xmlnstbl": true, "mmathPr": true, "latentstyles": true, "private": true,
	"bkmkstart": true, "bkmkend": true, "objdata": true, "objclass": true, "objname": true,
	"filetbl": true, "pgdsctbl": true, "protusertbl": true, "userprops": true, "docvar": true,
	"ftnsep": true, "ftnsepc": true, "aftnsep": true, "aftnsepc": true, "ftncn": true, "aftncn": true,
	"annotation": true, "atnid": true, "atnauthor": true, "atrfstart": true, "atrfend": true,
	"atndate": true, "printim": true, "buptim": true, "comment": true, "doccomm": true,
	"subject": true, "keywords": true, "operator": true, "company": true, "manager": true,
	"category": true, "hlinkbase": true, "falt": true, "panose": true, "fname": true,
	"passwordhash": true, "wgrffmtfilter": true, "listpicture": true, "blipuid": true,
	"fontemb": true, "fontfile": true, "htmltag": true,
	"mhtmltag": true, "pxe": true, "rxe": true, "ffdeftext": true, "ffname": true,
	"ffformat": true, "ffhelptext": true, "ffstattext": true, "ffentrymcr": true, "ffexitmcr": true,
	"nesttableprops": true, "nonesttables": true, "background": true, "do": true,
}

// keptStarred are \* destinations that hold text.
var keptStarred = map[string]bool{"shpinst": true, "ud": true}

// word1 acts on one control word.
func (p *parser) word1(w string, param int, hasParam bool) {
	g := p.top()
	if g.star {
		g.star = false
		switch {
		case w == "ud" && g.unskip == "ud":
			g.dest, g.unskip = g.hostDest, ""
			return
		case keptStarred[w] && w != "ud":
			g.unskip = ""
			return
		case w == "footnote" || w == "header" || w == "footer" || w == "info":
			// handled below
		default:
			g.dest, g.unskip = destDrop, ""
			return
		}
	}
	if t, ok := specials[w]; ok {
		p.emit(t)
		return
	}
	if dropped[w] {
		g.dest, g.unskip = destDrop, ""
		return
	}
	on := !hasParam || param != 0
	switch w {
	case "mac":
		p.cp = 10000
	case "pc":
		p.cp = 437
	case "pca":
		p.cp = 850
	case "ansicpg":
		if hasParam && param > 0 {
			p.cp = param
		}
	case "deff":
		p.deff = param
	case "f":
		if g.dest == destFontTbl {
			p.defFont = param
			if _, ok := p.fonts[param]; !ok && len(p.fonts) < maxFonts {
				p.fonts[param] = font{}
			}
		} else {
			g.font = param
		}
	case "fcharset":
		if fi, ok := p.fonts[p.defFont]; ok && g.dest == destFontTbl {
			fi.charset = param
			p.fonts[p.defFont] = fi
		}
	case "cpg":
		if fi, ok := p.fonts[p.defFont]; ok && g.dest == destFontTbl {
			fi.cpg = param
			p.fonts[p.defFont] = fi
		}
	case "uc":
		g.uc = max(0, min(param, 16))
	case "u":
		p.unicode(param)
		p.skip = g.uc
	case "par", "sect", "page":
		if s := p.out(); s != nil {
			s.brk(2)
		}
	case "line":
		if s := p.out(); s != nil {
			s.line()
		}
	case "cell", "nestcell":
		if s := p.out(); s != nil {
			s.cell()
		}
	case "row", "nestrow":
		if s := p.out(); s != nil {
			s.row()
		}
	case "v":
		g.hidden = on
	case "deleted":
		g.deleted = on
	case "plain":
		g.hidden, g.deleted = false, false
	case "fonttbl":
		g.dest, g.unskip = destFontTbl, ""
	case "info":
		g.dest, g.unskip = destInfo, ""
	case "title":
		g.dest, g.unskip = destTitle, ""
	case "author":
		g.dest, g.unskip = destAuthor, ""
	case "creatim", "revtim":
		g.dest, g.unskip = destDrop, ""
		g.date = 1
		if w == "revtim" {
			g.date = 2
		}
	case "yr", "mo", "dy", "hr", "min", "sec":
		if g.date > 0 {
			i := slices.Index([]string{"yr", "mo", "dy", "hr", "min", "sec"}, w)
			p.dates[g.date-1][i] = param
		}
	case "header", "headerl", "headerr", "headerf", "footer", "footerl", "footerr", "footerf":
		g.unskip = ""
		if !p.hf {
			g.dest = destDrop
			return
		}
		g.dest = destHeader
		if strings.HasPrefix(w, "footer") {
			g.dest = destFooter
		}
		g.sink = &sink{kind: g.dest}
	case "footnote":
		g.dest, g.unskip = destFootnote, ""
		g.sink = &sink{kind: destFootnote}
	case "object":
		g.hostDest, g.unskip, g.dest = g.dest, "result", destDrop
	case "upr":
		g.hostDest, g.unskip, g.dest = g.dest, "ud", destDrop
	case "result":
		if g.unskip == "result" {
			g.dest, g.unskip = g.hostDest, ""
		}
	}
}

// unicode writes the character \uN stands for.
func (p *parser) unicode(n int) {
	if n < 0 {
		n += 65536
	}
	if n < 0 || n > 0xFFFF {
		p.emit("\uFFFD")
		return
	}
	r := rune(n)
	switch {
	case utf16.IsSurrogate(r) && r < 0xDC00:
		p.flush()
		if p.hi != 0 {
			p.write("\uFFFD")
		}
		p.hi = r
		return
	case utf16.IsSurrogate(r):
		p.flush()
		if p.hi != 0 {
			c := utf16.DecodeRune(p.hi, r)
			p.hi = 0
			p.write(string(c))
			return
		}
		p.write("\uFFFD")
		return
	case r == 0:
		return
	}
	p.emit(string(r))
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isHex(c byte) bool    { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
