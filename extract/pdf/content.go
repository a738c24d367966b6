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
	out   []outLine // the lines written, in content order
	sep   string    // separator before the next line written: "\n", or "" to join it
	n     int       // code points written or buffered
	limit int       // stop after this many code points
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

// outLine is a line of text as written, with where it lies on the page.
type outLine struct {
	text       string
	join       bool    // goes on from the previous line (a hyphenated word)
	sameLine   bool    // a segment on the previous segment's line, after a wide gap
	x0, x1     float64 // extent along the writing direction
	v          float64 // baseline
	horizontal bool    // written left to right, upright
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
				b.sep = ""
				b.line = append(b.line, piece{s, sp})
				b.breakAfterWord = true
				b.n += utf8.RuneCountInString(s) + 1
				if b.n >= b.limit {
					panic(&stop{})
				}
				return
			}
			b.out[len(b.out)-1].text += b.hyphen
			b.hyphen = ""
		}
		b.sep = "\n"
		b.n++
	}
	b.line = append(b.line, piece{s, sp})
	b.rtl = b.rtl || hasRTL(s)
	b.n += utf8.RuneCountInString(s) + 1
	if b.n >= b.limit {
		panic(&stop{})
	}
}

// flush writes the buffered line. A left-to-right line is written as
// segments split where a gap is wider than columnGap font sizes, so that
// columnOrder can tell columns apart; they print joined by a space.
func (b *textBuilder) flush() {
	if len(b.line) == 0 {
		return
	}
	line := b.line
	if b.rtl {
		// Visual order: by position along the writing direction.
		slices.SortStableFunc(line, func(x, y piece) int { return cmp.Compare(x.sp.u0, y.sp.u0) })
	}
	type segment struct {
		pieces []piece
		text   string
	}
	var segs []segment
	var lb strings.Builder
	start := 0
	for i, p := range line {
		if i > 0 {
			prev := line[i-1].sp
			if !b.rtl && p.sp.u0-prev.u1 > columnGap*max(prev.size, p.sp.size, 1) {
				segs = append(segs, segment{line[start:i], lb.String()})
				lb.Reset()
				start = i
			} else if sep := b.separator(prev, p.sp); sep != "" && !endsSpace(lb.String()) && !startsSpace(p.text) {
				lb.WriteString(" ")
			}
		}
		lb.WriteString(p.text)
	}
	segs = append(segs, segment{line[start:], lb.String()})
	if b.rtl {
		segs[0].text = logicalOrder(segs[0].text)
	}
	if b.breakAfterWord {
		if i := strings.IndexByte(segs[0].text, ' '); i > 0 {
			segs[0].text = segs[0].text[:i] + "\n" + segs[0].text[i+1:]
		}
		b.breakAfterWord = false
	}
	last := &segs[len(segs)-1]
	if h := lineEndHyphen(last.text); h != "" && !b.rtl {
		last.text = last.text[:len(last.text)-len(h)]
		b.hyphen = h
	}
	for k, sg := range segs {
		ol := outLine{text: sg.text, join: k == 0 && len(b.out) > 0 && b.sep == "", sameLine: k > 0,
			x0: math.Inf(1), x1: math.Inf(-1), v: sg.pieces[0].sp.v, horizontal: true}
		for _, p := range sg.pieces {
			ol.x0, ol.x1 = min(ol.x0, p.sp.u0), max(ol.x1, p.sp.u1)
			ol.horizontal = ol.horizontal && p.sp.dx > 0.99
		}
		b.out = append(b.out, ol)
	}
	b.sep = "\n"
	b.line, b.rtl = b.line[:0], false
}

// columnGap: a gap wider than this many font sizes within a line may be a
// gutter between columns.
const columnGap = 1.5

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
		b.out[len(b.out)-1].text += b.hyphen
		b.hyphen = ""
	}
	units, moved := columnOrder(b.out)
	var sb strings.Builder
	for _, u := range units {
		for _, l := range u {
			if moved && !l.join && strings.TrimSpace(l.text) == "" {
				continue // blank segments carry no order
			}
			switch {
			case sb.Len() == 0, l.join:
			case l.sameLine && !moved:
				if !endsSpace(sb.String()) && !startsSpace(l.text) {
					sb.WriteString(" ")
				}
			default:
				sb.WriteString("\n")
			}
			sb.WriteString(l.text)
		}
	}
	return sb.String()
}

// Column detection, as fractions of the text's width.
const (
	fullWidth   = 0.6  // a line wider than this spans the columns (a title)
	minGutter   = 0.02 // the least empty gap between two columns
	gutterLo    = 0.2  // a gutter lies between these, across the text
	gutterHi    = 0.8
	minColLines = 3 // lines each column needs
)

// columnOrder returns the lines grouped into units (a line with the lines
// joined to it) in reading order. Content-stream order is kept, unless
// the page's upright lines fall into two columns around an empty gutter
// and the content stream interleaves them (a producer that writes across
// the columns line by line): then, between lines that span both columns,
// the left column's lines come before the right column's, and moved is
// true.
func columnOrder(lines []outLine) (units [][]outLine, moved bool) {
	for _, l := range lines {
		if l.join && len(units) > 0 {
			units[len(units)-1] = append(units[len(units)-1], l)
			continue
		}
		units = append(units, []outLine{l})
	}
	if len(units) < 2*minColLines {
		return units, false
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, u := range units {
		if !u[0].horizontal {
			return units, false
		}
		lo, hi = min(lo, u[0].x0), max(hi, u[0].x1)
	}
	width := hi - lo
	if !(width > 0) || math.IsInf(width, 0) {
		return units, false
	}
	// The widest empty gap in the middle of the text, over the lines
	// that do not span it.
	type span struct{ a, b float64 }
	var spans []span
	for _, u := range units {
		if l := u[0]; l.x1-l.x0 <= fullWidth*width {
			spans = append(spans, span{l.x0, l.x1})
		}
	}
	slices.SortFunc(spans, func(x, y span) int { return cmp.Compare(x.a, y.a) })
	gutter, best := math.NaN(), 0.0
	reach := math.Inf(-1)
	for i, sp := range spans {
		if i > 0 && sp.a-reach > best {
			mid := (sp.a + reach) / 2
			if mid > lo+gutterLo*width && mid < lo+gutterHi*width {
				gutter, best = mid, sp.a-reach
			}
		}
		reach = max(reach, sp.b)
	}
	if math.IsNaN(gutter) || best < minGutter*width {
		return units, false
	}
	side := func(u []outLine) int { // 0 left, 1 right, 2 spanning
		switch l := u[0]; {
		case l.x1 <= gutter:
			return 0
		case l.x0 >= gutter:
			return 1
		}
		return 2
	}
	var left, right, switches int
	prev := -1
	for _, u := range units {
		s := side(u)
		switch s {
		case 0:
			left++
		case 1:
			right++
		}
		if s != 2 && prev != -1 && s != prev {
			switches++
		}
		if s != 2 {
			prev = s
		}
	}
	// Column by column already (one switch per band between spanning
	// lines at most), or not two real columns: keep the stream's order.
	spanning := left + right - len(units)
	if left < minColLines || right < minColLines || switches <= 1+2*(-spanning) {
		return units, false
	}
	out := make([][]outLine, 0, len(units))
	for start := 0; start < len(units); {
		end := start
		for end < len(units) && side(units[end]) != 2 {
			end++
		}
		band := units[start:end]
		for _, want := range []int{0, 1} {
			for _, u := range band {
				if side(u) == want {
					out = append(out, u)
				}
			}
		}
		if end < len(units) {
			out = append(out, units[end]) // a spanning line
			end++
		}
		start = end
	}
	return out, true
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
