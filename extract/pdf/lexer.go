package pdf

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
)

// The content-stream lexer. The library's Interpret is a PostScript
// interpreter: it does not know inline images (BI ... ID <binary> EI), so
// the binary data of an inline image - a logo in a page header - throws its
// tokenizer off and an unbalanced "(" in the pixels swallows the rest of
// the page. It also gives names such as "def" or "begin" PostScript
// meaning. Content streams are read by this lexer instead (PDF 32000-1
// 7.2, 7.8.2, 8.9.7); the library still inflates the streams.

// operand is one operand of a content-stream operator.
type operand struct {
	kind byte // opNumber, opString, opName, opArray, opOther
	num  float64
	str  string    // string bytes, or name
	arr  []operand // array items
}

const (
	opOther = iota
	opNumber
	opString
	opName
	opArray
)

func (o operand) Float64() float64 {
	if o.kind == opNumber {
		return o.num
	}
	return 0
}

// Bounds of the lexer.
const (
	maxOperands    = 4096     // operands kept before an operator; more are dropped
	maxArrayItems  = 1 << 16  // items kept in one array
	maxNesting     = 64       // arrays and dictionaries within each other
	maxStringBytes = 1 << 20  // bytes kept of one string
	maxInlineImage = 64 << 20 // bytes of inline image data skipped before giving up
)

type contentLexer struct {
	r    *bufio.Reader
	args []operand
	buf  []byte
}

func newContentLexer(r io.Reader) *contentLexer {
	return &contentLexer{r: bufio.NewReaderSize(r, 32<<10)}
}

// run calls do for each operator with its operands, until the stream ends.
// The operands slice is reused after do returns.
func (l *contentLexer) run(do func(op string, args []operand)) {
	for {
		o, op, ok := l.next(0)
		if !ok {
			return
		}
		if op == "" {
			if len(l.args) < maxOperands {
				l.args = append(l.args, o)
			}
			continue
		}
		if op == "]" || op == ">>" {
			continue // a stray closing token
		}
		if op == "BI" {
			l.skipInlineImage()
			l.args = l.args[:0]
			continue
		}
		do(op, l.args)
		l.args = l.args[:0]
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// skipSpace skips white space and comments; false at the end.
func (l *contentLexer) skipSpace() bool {
	for {
		c, err := l.r.ReadByte()
		if err != nil {
			return false
		}
		if isSpace(c) {
			continue
		}
		if c == '%' {
			for {
				c, err := l.r.ReadByte()
				if err != nil {
					return false
				}
				if c == '\n' || c == '\r' {
					break
				}
			}
			continue
		}
		_ = l.r.UnreadByte()
		return true
	}
}

// next reads one token: an operand (op == "") or an operator. ok is false
// at the end of the stream. A closing "]" or ">>" comes back as the
// operator "]" or ">>".
func (l *contentLexer) next(depth int) (o operand, op string, ok bool) {
	if !l.skipSpace() {
		return o, "", false
	}
	c, _ := l.r.ReadByte()
	switch c {
	case '(':
		return operand{kind: opString, str: l.literal()}, "", true
	case '<':
		if n, _ := l.r.Peek(1); len(n) == 1 && n[0] == '<' {
			_, _ = l.r.ReadByte()
			l.skipComposite(depth, ">>")
			return operand{kind: opOther}, "", true
		}
		return operand{kind: opString, str: l.hex()}, "", true
	case '>':
		if n, _ := l.r.Peek(1); len(n) == 1 && n[0] == '>' {
			_, _ = l.r.ReadByte()
		}
		return o, ">>", true
	case '[':
		a := operand{kind: opArray}
		for {
			if depth >= maxNesting {
				l.skipComposite(depth, "]")
				return a, "", true
			}
			item, iop, ok := l.next(depth + 1)
			if !ok || iop == "]" {
				return a, "", true
			}
			if iop != "" {
				continue // an operator inside an array: ignore it
			}
			if len(a.arr) < maxArrayItems {
				a.arr = append(a.arr, item)
			}
		}
	case ']':
		return o, "]", true
	case '{', '}':
		return operand{kind: opOther}, "", true
	case ')':
		return operand{kind: opOther}, "", true
	case '/':
		return operand{kind: opName, str: l.name()}, "", true
	}
	_ = l.r.UnreadByte()
	tok := l.regular()
	if len(tok) == 0 {
		_, _ = l.r.ReadByte() // cannot happen; never loop
		return operand{kind: opOther}, "", true
	}
	if c := tok[0]; c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9') {
		if f, err := strconv.ParseFloat(string(tok), 64); err == nil {
			return operand{kind: opNumber, num: f}, "", true
		}
		if f, ok := sloppyNumber(tok); ok {
			return operand{kind: opNumber, num: f}, "", true
		}
	}
	switch string(tok) {
	case "true", "false", "null":
		return operand{kind: opOther}, "", true
	}
	return o, string(tok), true
}

// sloppyNumber reads numbers such as "--5" or "1.2.3" the way readers
// tolerate them: the longest valid prefix after redundant signs.
func sloppyNumber(tok []byte) (float64, bool) {
	neg := false
	for len(tok) > 0 && (tok[0] == '-' || tok[0] == '+') {
		neg = neg != (tok[0] == '-')
		tok = tok[1:]
	}
	end := 0
	dot := false
	for end < len(tok) && (tok[end] >= '0' && tok[end] <= '9' || tok[end] == '.' && !dot) {
		dot = dot || tok[end] == '.'
		end++
	}
	if end == 0 {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(tok[:end]), 64)
	if err != nil {
		return 0, false
	}
	if neg {
		f = -f
	}
	return f, true
}

// regular reads a run of regular characters.
func (l *contentLexer) regular() []byte {
	l.buf = l.buf[:0]
	for {
		c, err := l.r.ReadByte()
		if err != nil {
			return l.buf
		}
		if isSpace(c) || isDelim(c) {
			_ = l.r.UnreadByte()
			return l.buf
		}
		if len(l.buf) < 256 {
			l.buf = append(l.buf, c)
		}
	}
}

func (l *contentLexer) name() string {
	tok := l.regular()
	if bytes.IndexByte(tok, '#') < 0 {
		return string(tok)
	}
	var b []byte
	for i := 0; i < len(tok); i++ {
		if tok[i] == '#' && i+2 < len(tok) {
			if v, err := strconv.ParseUint(string(tok[i+1:i+3]), 16, 8); err == nil {
				b = append(b, byte(v))
				i += 2
				continue
			}
		}
		b = append(b, tok[i])
	}
	return string(b)
}

// literal reads a (string) after its "(".
func (l *contentLexer) literal() string {
	var b []byte
	depth := 1
	put := func(c byte) {
		if len(b) < maxStringBytes {
			b = append(b, c)
		}
	}
	for {
		c, err := l.r.ReadByte()
		if err != nil {
			return string(b)
		}
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return string(b)
			}
		case '\r':
			// An end of line in a string is a newline, whatever it was.
			if n, _ := l.r.Peek(1); len(n) == 1 && n[0] == '\n' {
				_, _ = l.r.ReadByte()
			}
			c = '\n'
		case '\\':
			e, err := l.r.ReadByte()
			if err != nil {
				return string(b)
			}
			switch e {
			case 'n':
				put('\n')
			case 'r':
				put('\r')
			case 't':
				put('\t')
			case 'b':
				put('\b')
			case 'f':
				put('\f')
			case '\r':
				if n, _ := l.r.Peek(1); len(n) == 1 && n[0] == '\n' {
					_, _ = l.r.ReadByte()
				}
			case '\n':
				// A line continuation.
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for range 2 {
						n, _ := l.r.Peek(1)
						if len(n) == 0 || n[0] < '0' || n[0] > '7' {
							break
						}
						_, _ = l.r.ReadByte()
						v = v*8 + int(n[0]-'0')
					}
					put(byte(v))
				} else {
					put(e)
				}
			}
			continue
		}
		put(c)
	}
}

// hex reads a <hex string> after its "<".
func (l *contentLexer) hex() string {
	var b []byte
	hi, have := byte(0), false
	for {
		c, err := l.r.ReadByte()
		if err != nil || c == '>' {
			break
		}
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			continue // white space, or junk
		}
		if have {
			if len(b) < maxStringBytes {
				b = append(b, hi<<4|v)
			}
			have = false
		} else {
			hi, have = v, true
		}
	}
	if have && len(b) < maxStringBytes {
		b = append(b, hi<<4)
	}
	return string(b)
}

// skipComposite skips the rest of a dictionary or array up to its
// closing token.
func (l *contentLexer) skipComposite(depth int, closing string) {
	for {
		_, op, ok := l.next(depth + 1)
		if !ok || op == closing {
			return
		}
	}
}

// skipInlineImage skips from after "BI" to after "EI": the parameters up to
// "ID", one white-space byte, then the data up to an "EI" that stands
// alone between white space (the usual heuristic: the data's length is
// not recorded).
func (l *contentLexer) skipInlineImage() {
	for {
		_, op, ok := l.next(0)
		if !ok {
			return
		}
		if op == "ID" {
			break
		}
		if op == "EI" {
			return
		}
	}
	_, _ = l.r.ReadByte() // the white space after ID
	var prev2, prev1 byte = ' ', ' '
	for n := 0; n < maxInlineImage; n++ {
		c, err := l.r.ReadByte()
		if err != nil {
			return
		}
		if prev1 == 'I' && prev2 == 'E' && c != 0 && (isSpace(c) || isDelim(c)) {
			_ = l.r.UnreadByte()
			return
		}
		if c == 'E' && !isSpace(prev1) {
			c = 'e' // "E" of "EI" must follow white space
		}
		prev2, prev1 = prev1, c
	}
}
