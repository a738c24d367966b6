package summary

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// span is one sentence of a text: [startB, endB) in bytes and [start, end)
// in code points, trimmed of surrounding whitespace.
type span struct {
	startB, endB int
	start, end   int
}

// splitter walks a text once, left to right. Every look-behind and
// look-ahead is bounded, so splitting is linear in the text it reads.
type splitter struct {
	text  string
	limit int
	out   []span

	i, r      int // current position: byte, code point
	sb, sr    int // start of the current sentence: byte, code point
	lineStart int // byte offset of the current line

	spB, spR int // last whitespace inside the current sentence, spB < 0 when none
}

const (
	// maxRun bounds a run of terminal punctuation and closing quotes.
	maxRun = 16
	// maxLook bounds the whitespace skipped to find the next word.
	maxLook = 256
	// maxWordBack bounds the look-behind for an abbreviation.
	maxWordBack = 32
)

// splitSpans splits text into at most limit sentences that contain a
// letter or a digit.
func splitSpans(text string, limit int) []span {
	s := &splitter{text: text, limit: limit, spB: -1}
	if m := listMarker(text, skipHSpace(text, 0)); m > 0 {
		s.advance(m)
		s.sb, s.sr = s.i, s.r
	}
	for s.i < len(text) && len(s.out) < limit {
		c, w := utf8.DecodeRuneInString(text[s.i:])
		switch {
		case isNewline(c):
			s.newline(c, w)
		case c == '。' || c == '！' || c == '？' || c == '｡':
			j := s.i + w
			for n := 0; n < maxRun && j < len(text); n++ {
				d, dw := utf8.DecodeRuneInString(text[j:])
				if d != '。' && d != '！' && d != '？' && d != '｡' && !isCloser(d) {
					break
				}
				j += dw
			}
			s.advance(j)
			s.boundary()
		case isTerminal(c):
			s.terminal(c, w)
		default:
			s.advance(s.i + w)
		}
		if s.r-s.sr >= maxSentenceRunes {
			s.hardSplit()
		}
	}
	if len(s.out) < limit {
		s.boundary()
	}
	return s.out
}

// advance moves to byte offset j, counting code points and remembering
// the last whitespace for hard splits.
func (s *splitter) advance(j int) {
	for s.i < j {
		c, w := utf8.DecodeRuneInString(s.text[s.i:])
		if unicode.IsSpace(c) {
			s.spB, s.spR = s.i, s.r
		}
		s.i += w
		s.r++
	}
}

// boundary ends the current sentence at the current position.
func (s *splitter) boundary() { s.cut(s.i, s.r) }

// cut ends the current sentence at (b, rr) and starts the next one there.
func (s *splitter) cut(b, rr int) {
	seg := s.text[s.sb:b]
	body := strings.TrimLeftFunc(seg, unicode.IsSpace)
	lead := len(seg) - len(body)
	leadR := utf8.RuneCountInString(seg[:lead])
	trimmed := strings.TrimRightFunc(body, unicode.IsSpace)
	trailR := utf8.RuneCountInString(body[len(trimmed):])
	if hasWord(trimmed) && len(s.out) < s.limit {
		s.out = append(s.out, span{
			startB: s.sb + lead,
			endB:   s.sb + lead + len(trimmed),
			start:  s.sr + leadR,
			end:    rr - trailR,
		})
	}
	s.sb, s.sr = b, rr
	s.spB = -1
}

// hardSplit cuts an over-long sentence at its last space, or right here
// when there is no space in its second half.
func (s *splitter) hardSplit() {
	if s.spB > s.sb && s.spR-s.sr >= maxSentenceRunes/2 {
		b, rr := s.spB, s.spR
		s.cut(b, rr)
		return
	}
	s.boundary()
}

// newline handles a line break at the current position: a blank line and a
// line break before a list item always end the sentence, a line break
// after a heading-like line too; other line breaks join wrapped lines.
func (s *splitter) newline(c rune, w int) {
	text := s.text
	if c == '\r' && s.i+w < len(text) && text[s.i+w] == '\n' {
		s.advance(s.i + w) // the '\n' decides
		return
	}
	j := s.i + w
	k := skipHSpace(text, j)
	line := text[max(s.lineStart, s.sb):s.i]
	s.lineStart = j
	switch {
	case c == '\f' || c == '\u2029' || k >= len(text) || isNewline(firstRune(text[k:])):
		s.boundary()
		s.advance(j)
	case listMarker(text, k) > 0:
		s.boundary()
		s.advance(listMarker(text, k))
		s.sb, s.sr = s.i, s.r
	case headingBreak(line, firstRune(text[k:])):
		s.boundary()
		s.advance(j)
	default:
		s.advance(j)
	}
}

// terminal handles ".", "!", "?" or "…" at the current position.
func (s *splitter) terminal(c rune, w int) {
	text := s.text
	at := s.i
	j := at + w
	single := c == '.'
	n := 0
	for ; n < maxRun && j < len(text); n++ {
		d, dw := utf8.DecodeRuneInString(text[j:])
		if !isTerminal(d) {
			break
		}
		single = false
		j += dw
	}
	for ; n < maxRun && j < len(text); n++ {
		d, dw := utf8.DecodeRuneInString(text[j:])
		if !isCloser(d) {
			break
		}
		j += dw
	}
	if j >= len(text) {
		s.advance(j)
		s.boundary()
		return
	}
	if d := firstRune(text[j:]); !unicode.IsSpace(d) {
		// "3.14", "U.S.A", "example.com", "?!x": inside a token.
		s.advance(j)
		return
	}
	next := nextWordRune(text, j)
	end := true
	switch {
	case next == 0:
		// End of text, or a long gap.
	case unicode.IsLower(next):
		end = false
	case single && abbreviationBefore(text[max(s.sb, at-maxWordBack):at], next):
		end = false
	}
	s.advance(j)
	if end {
		s.boundary()
	}
}

// abbreviationBefore reports whether the word at the end of before, which
// a "." follows, is an abbreviation, a dotted acronym or an initial, so
// that the "." does not end the sentence. before holds at most maxWordBack
// bytes; next is the first rune of the following word.
func abbreviationBefore(before string, next rune) bool {
	k := len(before)
	for k > 0 {
		c, w := utf8.DecodeLastRuneInString(before[:k])
		if !unicode.IsLetter(c) && c != '.' {
			break
		}
		k -= w
	}
	if len(before)-k > maxWordBack/2 {
		return false // too long for an abbreviation, maybe cut by the bound
	}
	if k > 0 {
		if c, _ := utf8.DecodeLastRuneInString(before[:k]); unicode.IsDigit(c) {
			return false
		}
	}
	word := strings.TrimLeft(before[k:], ".")
	if word == "" {
		return false
	}
	if strings.Contains(word, ".") {
		// "U.S", "e.g", "i.e", "a.m", "Ph.D": short dotted segments.
		for seg := range strings.SplitSeq(word, ".") {
			if utf8.RuneCountInString(seg) > 2 {
				return false
			}
		}
		return true
	}
	if r, n := utf8.DecodeRuneInString(word); n == len(word) && unicode.IsUpper(r) && r != 'I' {
		return true // an initial: "J. R. R. Tolkien"
	}
	switch abbreviations[strings.ToLower(word)] {
	case abbrAlways:
		return true
	case abbrBeforeNumber:
		return unicode.IsDigit(next)
	}
	return false
}

const (
	abbrAlways       = 1 // never ends a sentence
	abbrBeforeNumber = 2 // does not end one before a number ("No. 5")
)

// abbreviations that a capitalised word often follows. Abbreviations that
// rather precede a lower-case word ("etc.", "approx.") need no entry: a
// lower-case word never starts a sentence.
var abbreviations = func() map[string]int {
	m := map[string]int{}
	for w := range strings.FieldsSeq(`mr mrs ms messrs dr prof rev hon st mt ft capt col lt sgt gen
		gov sen rep pres supt cmdr adm maj jan feb mar apr jun jul aug sep sept oct nov dec vs cf viz`) {
		m[w] = abbrAlways
	}
	for w := range strings.FieldsSeq(`no nos fig figs eq eqs vol vols pp p ch sec art`) {
		m[w] = abbrBeforeNumber
	}
	return m
}()

// headingBreak reports whether a line break after line (the current
// sentence's part of the line) ends the sentence although line has no final
// punctuation: line ends with ":" or looks like a heading. next is the
// first rune of the next line.
func headingBreak(line string, next rune) bool {
	line = strings.TrimSpace(line)
	if line == "" || unicode.IsLower(next) {
		return false
	}
	last, _ := utf8.DecodeLastRuneInString(line)
	if last == ':' {
		return true
	}
	if isTerminal(last) || isCloser(last) || last == ',' || last == ';' || last == '-' || last == '(' {
		return false
	}
	if len(line) > 120 {
		return false
	}
	words := strings.Fields(line)
	if len(words) > 12 {
		return false
	}
	for i, w := range words {
		r := firstRune(w)
		if i > 0 && utf8.RuneCountInString(w) < 4 {
			continue
		}
		if !unicode.IsUpper(r) && !unicode.IsDigit(r) && !unicode.IsTitle(r) {
			return false
		}
	}
	return true
}

// listMarker returns the byte offset after the list marker at k and the
// spaces that follow it, or 0 when no list item starts at k.
func listMarker(text string, k int) int {
	if k >= len(text) {
		return 0
	}
	c, w := utf8.DecodeRuneInString(text[k:])
	switch c {
	case '-', '*', '+', '•', '◦', '▪', '▫', '‣', '·', '–', '—', '○', '●', '■', '□', '►', '▸', '✓', '✔':
		if j := k + w; j < len(text) && (text[j] == ' ' || text[j] == '\t') {
			return skipHSpace(text, j)
		}
		return 0
	}
	j := k
	paren := c == '('
	if paren {
		j++
	}
	start := j
	for j < len(text) && j-start < 4 && isASCIIAlnum(text[j]) {
		j++
	}
	tok := text[start:j]
	if tok == "" || j >= len(text) {
		return 0
	}
	digits := strings.Trim(tok, "0123456789") == ""
	roman := strings.Trim(tok, "ivx") == ""
	letter := len(tok) == 1
	switch {
	case paren && text[j] == ')':
		if !digits && !roman && !letter {
			return 0
		}
	case !paren && text[j] == ')':
		if !(digits && len(tok) <= 3) && !roman && !letter {
			return 0
		}
	case !paren && text[j] == '.':
		if !(digits && len(tok) <= 3) && !roman && !(letter && tok[0] >= 'a' && tok[0] <= 'z') {
			return 0
		}
	default:
		return 0
	}
	j++
	if j < len(text) && (text[j] == ' ' || text[j] == '\t') {
		return skipHSpace(text, j)
	}
	return 0
}

func isASCIIAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// nextWordRune returns the first non-space rune at or after j, or 0 at the
// end of the text or after more than maxLook bytes of whitespace.
func nextWordRune(text string, j int) rune {
	for k := j; k < len(text) && k-j <= maxLook; {
		c, w := utf8.DecodeRuneInString(text[k:])
		if !unicode.IsSpace(c) {
			return c
		}
		k += w
	}
	return 0
}

// skipHSpace returns the offset of the first rune at or after j that is not
// horizontal whitespace.
func skipHSpace(text string, j int) int {
	for j < len(text) {
		c, w := utf8.DecodeRuneInString(text[j:])
		if !unicode.IsSpace(c) || isNewline(c) {
			break
		}
		j += w
	}
	return j
}

func firstRune(s string) rune {
	c, _ := utf8.DecodeRuneInString(s)
	return c
}

func isNewline(c rune) bool {
	switch c {
	case '\n', '\r', '\f', '\v', '\u0085', '\u2028', '\u2029':
		return true
	}
	return false
}

func isTerminal(c rune) bool {
	switch c {
	case '.', '!', '?', '…', '‼', '⁇', '⁈', '⁉':
		return true
	}
	return false
}

func isCloser(c rune) bool {
	switch c {
	case '"', '\'', '”', '’', '»', '›', ')', ']', '}', '」', '』', '）', '】', '〕', '〉', '》', '］':
		return true
	}
	return false
}

// hasWord reports whether s holds a letter or a digit.
func hasWord(s string) bool {
	return strings.IndexFunc(s, func(c rune) bool { return unicode.IsLetter(c) || unicode.IsDigit(c) }) >= 0
}
