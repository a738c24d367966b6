package pdf

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	lpdf "github.com/ledongthuc/pdf"

	"github.com/quarryhq/quarry/extract"
)

// matrix is a PDF transformation matrix [a b c d e f], applied to row
// vectors: [x y 1] × M.
type matrix [6]float64

var ident = matrix{1, 0, 0, 1, 0, 0}

// mul returns m × n (m applied first).
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2],
		m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2],
		m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4],
		m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

// translate returns translate(tx, ty) × m.
func (m matrix) translate(tx, ty float64) matrix {
	m[4], m[5] = tx*m[0]+ty*m[2]+m[4], tx*m[1]+ty*m[3]+m[5]
	return m
}

type gstate struct {
	ctm                 matrix
	tc, tw, th, tl, tfs float64
	font                *fontInfo
}

const maxGStack = 1024

// interpret runs the content stream (or array of streams) strm with the
// resources res and appends its text to b. It positions text the way the
// PDF text model does (text matrix, font size, glyph widths, character and
// word spacing, horizontal scaling) so that b can tell word gaps and line
// changes apart; it follows Form XObjects. It panics with *stop when a
// budget runs out and with *abort when the context ends.
func (e *extraction) interpret(b *textBuilder, strm, res lpdf.Value, ctm matrix, depth int, forms map[uint64]bool) {
	switch strm.Kind() {
	case lpdf.Stream:
		e.checkStream(strm, maxStreamBytes)
	case lpdf.Array:
		for i := range min(strm.Len(), 4096) {
			if s := strm.Index(i); s.Kind() == lpdf.Stream {
				e.checkStream(s, maxStreamBytes)
			}
		}
		if strm.Len() > 4096 {
			panic(fmt.Errorf("%w: /Contents array of %d streams", extract.ErrTooLarge, strm.Len()))
		}
	default:
		return // no content
	}

	g := gstate{ctm: ctm, th: 1}
	tm, tlm := ident, ident
	var stack []gstate
	overflow := 0
	fonts := map[string]*fontInfo{}
	var args []operand

	num := func(i int) float64 {
		if i < len(args) {
			return args[i].Float64()
		}
		return 0
	}
	mat := func() matrix {
		return matrix{num(0), num(1), num(2), num(3), num(4), num(5)}
	}
	nextLine := func() {
		tlm = tlm.translate(0, -g.tl)
		tm = tlm
	}
	show := func(raw string) {
		f := g.font
		if f == nil {
			f = defaultFont
		}
		adv := f.advance(raw, g.tfs, g.tc, g.tw, g.th)
		if text := f.decode(raw); text != "" {
			b.add(text, newSpan(tm.mul(g.ctm), adv, g.tfs, g.th))
		}
		tm = tm.translate(adv, 0)
	}

	newContentLexer(contentReader(strm)).run(func(op string, a []operand) {
		args = a
		n := len(args)
		e.ops++
		if e.ops&1023 == 0 {
			if err := e.ctx.Err(); err != nil {
				panic(&abort{err})
			}
		}
		if e.ops > maxOps {
			e.exhausted = true
			panic(&stop{fmt.Sprintf("the document has more than %d content operators; the rest was not read", maxOps)})
		}
		switch op {
		case "q":
			if len(stack) < maxGStack {
				stack = append(stack, g)
			} else {
				overflow++
			}
		case "Q":
			if overflow > 0 {
				overflow--
			} else if len(stack) > 0 {
				g = stack[len(stack)-1]
				stack = stack[:len(stack)-1]
			}
		case "cm":
			if n == 6 {
				g.ctm = mat().mul(g.ctm)
			}
		case "BT":
			tm, tlm = ident, ident
		case "Tc":
			g.tc = num(0)
		case "Tw":
			g.tw = num(0)
		case "Tz":
			g.th = num(0) / 100
		case "TL":
			g.tl = num(0)
		case "Tf":
			if n == 2 {
				name := args[0].str
				f, ok := fonts[name]
				if !ok {
					f = e.font(res, name)
					fonts[name] = f
				}
				g.font = f
				g.tfs = num(1)
			}
		case "Td":
			tlm = tlm.translate(num(0), num(1))
			tm = tlm
		case "TD":
			g.tl = -num(1)
			tlm = tlm.translate(num(0), num(1))
			tm = tlm
		case "Tm":
			if n == 6 {
				tm = mat()
				tlm = tm
			}
		case "T*":
			nextLine()
		case "Tj":
			if n >= 1 {
				show(args[n-1].str)
			}
		case "'":
			nextLine()
			if n >= 1 {
				show(args[n-1].str)
			}
		case "\"":
			if n == 3 {
				g.tw, g.tc = num(0), num(1)
			}
			nextLine()
			if n >= 1 {
				show(args[n-1].str)
			}
		case "TJ":
			if n >= 1 {
				for _, x := range args[n-1].arr {
					if x.kind == opString {
						show(x.str)
					} else {
						tm = tm.translate(-x.Float64()/1000*g.tfs*g.th, 0)
					}
				}
			}
		case "Do":
			if n == 1 && depth < maxFormDepth {
				e.form(b, res, args[0].str, g.ctm, depth, forms)
			}
		}
	})
}

// contentReader reads a content stream, or the streams of an array one
// after the other, separated by white space.
func contentReader(strm lpdf.Value) io.Reader {
	if strm.Kind() != lpdf.Array {
		return strm.Reader()
	}
	var rs []io.Reader
	for i := range min(strm.Len(), 4096) {
		if s := strm.Index(i); s.Kind() == lpdf.Stream {
			rs = append(rs, s.Reader(), strings.NewReader("\n"))
		}
	}
	return io.MultiReader(rs...)
}

// form interprets the Form XObject called name in res.
func (e *extraction) form(b *textBuilder, res lpdf.Value, name string, ctm matrix, depth int, forms map[uint64]bool) {
	xo := res.Key("XObject").Key(name)
	if xo.Kind() != lpdf.Stream || xo.Key("Subtype").Name() != "Form" {
		return
	}
	id, ok := objID(xo)
	if ok {
		if forms == nil {
			forms = map[uint64]bool{}
		}
		if forms[id] {
			return // a form that draws itself
		}
		forms[id] = true
		defer delete(forms, id)
	}
	fres := xo.Key("Resources")
	if fres.Kind() != lpdf.Dict {
		fres = res
	}
	m := ident
	if mv := xo.Key("Matrix"); mv.Kind() == lpdf.Array && mv.Len() == 6 {
		for i := range 6 {
			m[i] = mv.Index(i).Float64()
		}
	}
	e.interpret(b, xo, fres, m.mul(ctm), depth+1, forms)
}

// checkStream inflates stream v once into io.Discard to learn its size
// before the library interprets it (the library inflates without a cap).
// Beyond limit it panics with ErrTooLarge; beyond the document's
// MaxUnpackedBytes it stops the extraction. Sizes are remembered per
// object, so a stream drawn many times is inflated twice at most.
func (e *extraction) checkStream(v lpdf.Value, limit int64) bool {
	id, hasID := objID(v)
	if hasID {
		if n, ok := e.streams[id]; ok {
			return n <= limit
		}
	}
	n, _ := io.Copy(io.Discard, io.LimitReader(v.Reader(), limit+1))
	if hasID {
		e.streams[id] = n
	}
	if n > limit {
		panic(fmt.Errorf("%w: a stream inflates to more than %d MiB", extract.ErrTooLarge, limit>>20))
	}
	e.unpack += n
	if e.unpack > e.lim.MaxUnpackedBytes {
		e.exhausted = true
		panic(&stop{fmt.Sprintf("the document's streams inflate to more than %d MiB; the rest was not read", e.lim.MaxUnpackedBytes>>20)})
	}
	return true
}

// span is a piece of text drawn in one go, in device space.
type span struct {
	dx, dy float64 // unit vector of the text direction
	u0, u1 float64 // start and end along the direction
	v      float64 // position across the direction (the baseline)
	size   float64 // font size in device space
}

func newSpan(m matrix, adv, tfs, th float64) span {
	ax, ay := m[0], m[1]
	l := math.Hypot(ax, ay)
	var s span
	if l > 0 && !math.IsInf(l, 0) && !math.IsNaN(l) {
		s.dx, s.dy = ax/l, ay/l
	} else {
		s.dx, s.dy, l = 1, 0, 0
	}
	ox, oy := m[4], m[5]
	s.u0 = ox*s.dx + oy*s.dy
	s.u1 = s.u0 + adv*l
	s.v = -ox*s.dy + oy*s.dx
	s.size = math.Abs(tfs) * math.Hypot(m[2], m[3])
	if th != 0 && s.size == 0 {
		s.size = math.Abs(tfs*th) * l
	}
	return s
}

// Spacing heuristics, as fractions of the font size.
const (
	wordGap   = 0.15 // a gap wider than this is a space
	lineShift = 0.5  // a baseline move larger than this is a new line
	backJump  = 1.0  // moving back more than this on a line is a space
)

// textBuilder joins spans into text: a space where the gap between spans
// is wider than a fraction of the font size, a newline where the baseline
// changes. It keeps content-stream order for left-to-right lines; a line
// that holds right-to-left script (Arabic, Hebrew...) is put in visual
// order by position and then turned into logical order (see logicalOrder),
// since PDF producers draw such text left to right, glyph by glyph.
type textBuilder struct {
	sb    strings.Builder
	n     int // code points written or buffered
	limit int // stop after this many code points
	line  []piece
	rtl   bool // the buffered line holds right-to-left script
	// hyphen is a line-end hyphen held back until the next line shows
	// whether it splits a word ("inter-" + "preter": joined) or not.
	hyphen string
	// breakAfterWord: the buffered line began with the end of a word
	// split at the previous line end; its line break goes after that word.
	breakAfterWord bool
}

// piece is text drawn in one go.
type piece struct {
	text string
	sp   span
}

func (b *textBuilder) add(s string, sp span) {
	if len(b.line) > 0 && b.separator(b.line[len(b.line)-1].sp, sp) == "\n" {
		b.flush()
		if b.hyphen != "" {
			r, _ := utf8.DecodeRuneInString(s)
			if unicode.IsLower(r) {
				// A word split at the line end: joined, without the
				// hyphen, and the line break moves after the word.
				b.hyphen = ""
				b.line = append(b.line, piece{s, sp})
				b.breakAfterWord = true
				b.n += utf8.RuneCountInString(s) + 1
				if b.n >= b.limit {
					panic(&stop{})
				}
				return
			}
			b.sb.WriteString(b.hyphen)
			b.hyphen = ""
		}
		b.sb.WriteString("\n")
		b.n++
	}
	b.line = append(b.line, piece{s, sp})
	b.rtl = b.rtl || hasRTL(s)
	b.n += utf8.RuneCountInString(s) + 1
	if b.n >= b.limit {
		panic(&stop{})
	}
}

// flush writes the buffered line.
func (b *textBuilder) flush() {
	if len(b.line) == 0 {
		return
	}
	line := b.line
	if b.rtl {
		// Visual order: by position along the writing direction.
		slices.SortStableFunc(line, func(x, y piece) int { return cmp.Compare(x.sp.u0, y.sp.u0) })
	}
	var lb strings.Builder
	for i, p := range line {
		if i > 0 {
			if sep := b.separator(line[i-1].sp, p.sp); sep != "" && !endsSpace(lb.String()) && !startsSpace(p.text) {
				lb.WriteString(" ")
			}
		}
		lb.WriteString(p.text)
	}
	text := lb.String()
	if b.rtl {
		text = logicalOrder(text)
	}
	if b.breakAfterWord {
		if i := strings.IndexByte(text, ' '); i > 0 {
			text = text[:i] + "\n" + text[i+1:]
		}
		b.breakAfterWord = false
	}
	if h := lineEndHyphen(text); h != "" && !b.rtl {
		text = text[:len(text)-len(h)]
		b.hyphen = h
	}
	b.sb.WriteString(text)
	b.line, b.rtl = b.line[:0], false
}

// lineEndHyphen returns the hyphen ending text when it follows a letter
// (a word that may go on at the next line), "" otherwise. A soft hyphen
// counts too.
func lineEndHyphen(text string) string {
	r, n := utf8.DecodeLastRuneInString(text)
	if r != '-' && r != '\u00AD' && r != '\u2010' {
		return ""
	}
	if p, _ := utf8.DecodeLastRuneInString(text[:len(text)-n]); !unicode.IsLetter(p) {
		return ""
	}
	return text[len(text)-n:]
}

func (b *textBuilder) separator(p, sp span) string {
	if p.dx*sp.dx+p.dy*sp.dy < 0.99 {
		return "\n"
	}
	size := max(p.size, sp.size)
	if size <= 0 || math.IsNaN(size) || math.IsInf(size, 0) {
		size = 1
	}
	if math.Abs(sp.v-p.v) > lineShift*size {
		return "\n"
	}
	gap := sp.u0 - p.u1
	if gap > wordGap*size || gap < -backJump*size {
		return " "
	}
	return ""
}

func (b *textBuilder) String() string {
	b.flush()
	if b.hyphen != "" {
		b.sb.WriteString(b.hyphen)
		b.hyphen = ""
	}
	return b.sb.String()
}

// hasRTL reports whether s holds a right-to-left letter.
func hasRTL(s string) bool {
	for _, r := range s {
		if r >= 0x0590 && isRTL(r) {
			return true
		}
	}
	return false
}

func isRTL(r rune) bool {
	return unicode.In(r, unicode.Hebrew, unicode.Arabic, unicode.Syriac, unicode.Thaana, unicode.Nko)
}

// bidi classes of logicalOrder.
const (
	bidiNeutral = iota
	bidiLTR     // letters of left-to-right scripts
	bidiRTL     // letters of right-to-left scripts
	bidiDigit   // European and Arabic-Indic digits
)

func bidiClass(r rune) int {
	switch {
	case unicode.IsDigit(r):
		return bidiDigit
	case isRTL(r) && (unicode.IsLetter(r) || unicode.IsMark(r)):
		return bidiRTL
	case unicode.IsLetter(r):
		return bidiLTR
	}
	return bidiNeutral
}

// logicalOrder turns one line of text in visual (left-to-right drawing)
// order into logical order, undoing what the Unicode bidirectional
// algorithm did for display, in its common cases. On a line whose letters
// are mostly right-to-left, the line is reversed, brackets are mirrored,
// and the left-to-right runs (Latin words with the spaces and digits
// between them; numbers, with separators such as "/" or "." directly
// between digits) are reversed back. On a mostly left-to-right line, only
// the right-to-left runs (with the neutrals between their letters) are
// reversed in place.
func logicalOrder(visual string) string {
	rs := []rune(visual)
	var nl, nr int
	for _, r := range rs {
		switch bidiClass(r) {
		case bidiLTR:
			nl++
		case bidiRTL:
			nr++
		}
	}
	if nr <= nl {
		// Left-to-right line: reverse the right-to-left runs.
		for i := 0; i < len(rs); {
			if bidiClass(rs[i]) != bidiRTL {
				i++
				continue
			}
			end := i
			for j := i + 1; j < len(rs); j++ {
				if c := bidiClass(rs[j]); c == bidiRTL {
					end = j
				} else if c != bidiNeutral {
					break
				}
			}
			reverseMirrored(rs[i : end+1])
			i = end + 1
		}
		return string(rs)
	}
	reverseMirrored(rs)
	for i := 0; i < len(rs); {
		end := i
		switch bidiClass(rs[i]) {
		case bidiLTR:
			// A Latin run takes the neutrals and digits up to its last
			// letter or digit.
			for j := i + 1; j < len(rs); j++ {
				if c := bidiClass(rs[j]); c == bidiLTR || c == bidiDigit {
					end = j
				} else if c != bidiNeutral {
					break
				}
			}
		case bidiDigit:
			// A number: digits, and single separators between digits.
			for j := i + 1; j < len(rs); j++ {
				if bidiClass(rs[j]) == bidiDigit {
					end = j
				} else if j+1 < len(rs) && strings.ContainsRune(".,:/-", rs[j]) && bidiClass(rs[j+1]) == bidiDigit {
					continue
				} else {
					break
				}
			}
		default:
			i++
			continue
		}
		reverseMirrored(rs[i : end+1])
		i = end + 1
	}
	return string(rs)
}

// reverseMirrored reverses rs and swaps paired brackets, which bidi
// display draws mirrored in right-to-left runs.
func reverseMirrored(rs []rune) {
	slices.Reverse(rs)
	for i, r := range rs {
		switch r {
		case '(':
			rs[i] = ')'
		case ')':
			rs[i] = '('
		case '[':
			rs[i] = ']'
		case ']':
			rs[i] = '['
		case '{':
			rs[i] = '}'
		case '}':
			rs[i] = '{'
		case '<':
			rs[i] = '>'
		case '>':
			rs[i] = '<'
		case '«':
			rs[i] = '»'
		case '»':
			rs[i] = '«'
		}
	}
}

func endsSpace(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r == ' ' || r == '\n' || r == '\t' || r == '\r'
}

func startsSpace(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return r == ' ' || r == '\n' || r == '\t' || r == '\r'
}
