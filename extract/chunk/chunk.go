// Package chunk splits text into pieces of bounded size for retrieval
// (RAG), at the strongest boundary it can find: a paragraph, then a
// sentence, then a line, then a word. A word is cut only when it alone is
// longer than the cap.
//
// Sizes are counted in code points ([Chars]) or in approximate tokens
// ([Tokens]). The token count is a deterministic approximation of the
// sub-word tokenizers of language models, without their vocabularies. A
// word is cut into runs of one class, and
//
//   - a run of ASCII letters counts one token per 6 letters, rounded up
//     ("the" 1, "chunking" 2, "internationalization" 4);
//   - a run of digits counts one token per 3 digits ("2024" 2);
//   - a run of other letters (accented, Cyrillic, Arabic, Devanagari...)
//     counts one token per 3 letters ("Привет" 2, "Brüderlichkeit" 4:
//     "Br", "ü", "derlichkeit");
//   - combining marks continue the run they follow;
//   - each Han, Hiragana, Katakana or Hangul character counts one token;
//   - each other character that is not white space (punctuation, symbols,
//     emoji) counts one token;
//   - white space counts nothing.
//
// On English prose it gives 1.4 to 1.6 tokens per word, about 4 characters
// per token: a little more than the tokenizers of current models count, so
// a chunk under a token cap stays under the model's own limit. Texts in
// other scripts are more approximate.
//
// The splitter reads its text once, left to right, and keeps only the atoms
// (words) of the chunk it is building: memory is bounded by the cap, not by
// the text.
package chunk

import (
	"unicode"
	"unicode/utf8"
)

// Unit is what a cap counts.
type Unit uint8

// Units.
const (
	// Chars counts code points, white space included.
	Chars Unit = iota
	// Tokens counts approximate tokens (see the package documentation).
	Tokens
)

// Options tune [Split].
type Options struct {
	// Unit is what Max and Overlap count.
	Unit Unit
	// Max caps a chunk; values below 1 count as 1.
	Max int
	// Overlap is how much of the end of a chunk the next chunk repeats,
	// starting at a word boundary. It is at most Max/2; larger values are
	// lowered to Max/2.
	Overlap int
}

// Span is one chunk of a text: [Start, End) in code points and
// [StartByte, EndByte) in bytes. A span starts and ends with a character
// that is not white space.
type Span struct {
	Start, End         int
	StartByte, EndByte int
}

// Boundary levels between two atoms, weakest first.
const (
	levelMidWord   = -1 // inside a word longer than the cap
	levelWord      = 0  // white space, or between two CJK characters
	levelLine      = 1  // one line break
	levelSentence  = 2  // after a sentence's final punctuation
	levelParagraph = 3  // a blank line
	levelEnd       = 4  // the end of the text
)

// Count returns the size of s in unit u.
func Count(s string, u Unit) int {
	if u == Chars {
		return utf8.RuneCountInString(s)
	}
	return CountTokens(s)
}

// CountTokens returns the approximate token count of s.
func CountTokens(s string) int {
	var tc tokenCounter
	n := 0
	for _, c := range s {
		if unicode.IsSpace(c) {
			tc.reset()
			continue
		}
		if tc.starts(c) {
			n++
		}
	}
	return n
}

// tokenCounter finds where tokens start.
type tokenCounter struct {
	class tokenClass // of the current run
	run   int        // code points of the current run
}

type tokenClass uint8

const (
	classNone   tokenClass = iota // no run: after white space or a one-token character
	classASCII                    // ASCII letters, 6 a token
	classDigits                   // digits, 3 a token
	classOther                    // other letters, 3 a token
)

func (tc *tokenCounter) reset() { tc.class = classNone }

// starts reports whether c starts a token, and consumes it.
func (tc *tokenCounter) starts(c rune) bool {
	var class tokenClass
	switch {
	case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		class = classASCII
	case '0' <= c && c <= '9':
		class = classDigits
	case c < utf8.RuneSelf || isWide(c):
		tc.class = classNone
		return true
	case unicode.IsMark(c) && tc.class != classNone:
		class = tc.class
	case unicode.IsDigit(c):
		class = classDigits
	case unicode.IsLetter(c) || unicode.IsMark(c):
		class = classOther
	default:
		tc.class = classNone
		return true
	}
	if class != tc.class {
		tc.class, tc.run = class, 1
		return true
	}
	per := 3
	if class == classASCII {
		per = 6
	}
	s := tc.run%per == 0
	tc.run++
	return s
}

// isWide reports the characters that are one token each.
func isWide(c rune) bool {
	return c >= 0x1100 && unicode.In(c, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// isCJK reports the characters of scripts that do not space their words:
// a line may break before or after any of them.
func isCJK(c rune) bool {
	return c >= 0x2E80 && unicode.In(c, unicode.Han, unicode.Hiragana, unicode.Katakana)
}

// noBreakBefore reports the characters that do not start a chunk in
// CJK text: closing and final punctuation, full stops and commas, the
// prolonged sound mark and iteration marks, combining marks.
func noBreakBefore(c rune) bool {
	return unicode.In(c, unicode.Pe, unicode.Pf, unicode.Po, unicode.Lm, unicode.Mn, unicode.Me, unicode.Mc)
}

// noBreakAfter reports the characters that do not end a chunk in CJK text:
// opening and initial punctuation.
func noBreakAfter(c rune) bool { return unicode.In(c, unicode.Ps, unicode.Pi) }

// isTerminal reports sentence-final punctuation.
func isTerminal(c rune) bool {
	switch c {
	case '.', '!', '?', '…', '。', '！', '？', '｡', '‼', '⁇', '⁈', '⁉', '؟', '۔', '।', '॥', '።', '፧':
		return true
	}
	return false
}

// isCloser reports what may follow a sentence's final punctuation:
// closing quotes and brackets.
func isCloser(c rune) bool {
	if c < utf8.RuneSelf {
		return c == '"' || c == '\'' || c == ')' || c == ']' || c == '}'
	}
	return unicode.In(c, unicode.Pe, unicode.Pf)
}

// newlines returns how many line breaks white space c counts for.
func newlines(c rune) int {
	switch c {
	case '\n', '\v', '\u0085', '\u2028':
		return 1
	case '\f', '\u2029':
		return 2
	}
	return 0
}

// atom is a word: the text between two break opportunities, or a piece of
// a word longer than the cap.
type atom struct {
	rs, re int  // code points
	bs, be int  // bytes
	tok    int  // tokens of the atom
	cum    int  // tokens from the start of the text through this atom
	lvl    int8 // level of the boundary before the atom
}

// scanner cuts a text into atoms, left to right.
type scanner struct {
	text string
	unit Unit
	max  int

	i, r     int  // position: byte, code point
	cut      bool // the last atom stopped at the cap inside a word
	sentence bool // the last atom ends a sentence
	cjk      bool // the last atom stopped at a CJK break
}

// next returns the next atom; ok is false at the end of the text.
func (s *scanner) next() (a atom, ok bool) {
	lvl := levelWord
	switch {
	case s.cut:
		lvl = levelMidWord
	case s.cjk:
		// No white space: a CJK break.
	default:
		nl := 0
		for s.i < len(s.text) {
			c, w := utf8.DecodeRuneInString(s.text[s.i:])
			if !unicode.IsSpace(c) {
				break
			}
			nl += newlines(c)
			s.i += w
			s.r++
		}
		switch {
		case nl >= 2:
			lvl = levelParagraph
		case nl == 1:
			lvl = levelLine
		}
	}
	if s.i >= len(s.text) {
		return atom{}, false
	}
	if s.sentence && lvl < levelSentence && lvl >= levelWord {
		if c, _ := utf8.DecodeRuneInString(s.text[s.i:]); !unicode.IsLower(c) {
			lvl = levelSentence
		}
	}
	a = atom{rs: s.r, bs: s.i, lvl: int8(lvl)}
	s.cut, s.cjk, s.sentence = false, false, false
	var tc tokenCounter
	last := rune(-1) // the last character that is not a closer
	prev := rune(-1)
	for s.i < len(s.text) {
		c, w := utf8.DecodeRuneInString(s.text[s.i:])
		if unicode.IsSpace(c) {
			break
		}
		if prev >= 0 && (isCJK(prev) || isCJK(c)) && !noBreakBefore(c) && !noBreakAfter(prev) {
			s.cjk = true
			break
		}
		// Stop at the cap, never with an empty atom.
		probe := tc
		starts := probe.starts(c)
		if prev >= 0 {
			if s.unit == Chars && s.r-a.rs >= s.max || s.unit == Tokens && starts && a.tok >= s.max {
				s.cut = true
				break
			}
		}
		tc = probe
		if starts {
			a.tok++
		}
		if !isCloser(c) {
			last = c
		}
		prev = c
		s.i += w
		s.r++
	}
	a.re, a.be = s.r, s.i
	s.sentence = !s.cut && isTerminal(last)
	return a, true
}

// splitter holds the atoms of the chunk being built: atoms[k] is atom
// number base+k of the text.
type splitter struct {
	sc    scanner
	atoms []atom
	base  int
	eof   bool
	cum   int
}

// get returns atom i, reading on as needed; ok is false past the end.
func (sp *splitter) get(i int) (atom, bool) {
	for i-sp.base >= len(sp.atoms) && !sp.eof {
		a, ok := sp.sc.next()
		if !ok {
			sp.eof = true
			break
		}
		sp.cum += a.tok
		a.cum = sp.cum
		sp.atoms = append(sp.atoms, a)
	}
	if i-sp.base < len(sp.atoms) {
		return sp.atoms[i-sp.base], true
	}
	return atom{}, false
}

// drop forgets the atoms before i.
func (sp *splitter) drop(i int) {
	k := i - sp.base
	if k < 1024 || 2*k < len(sp.atoms) {
		return
	}
	n := copy(sp.atoms, sp.atoms[k:])
	sp.atoms = sp.atoms[:n]
	sp.base = i
}

// size returns the size of atoms [i, j), j > i, both read.
func (sp *splitter) size(i, j int) int {
	a, b := sp.atoms[i-sp.base], sp.atoms[j-1-sp.base]
	if sp.sc.unit == Chars {
		return b.re - a.rs
	}
	return b.cum - a.cum + a.tok
}

// level returns the level of the boundary before atom i: levelEnd past the
// last atom.
func (sp *splitter) level(i int) int {
	a, ok := sp.get(i)
	if !ok {
		return levelEnd
	}
	return int(a.lvl)
}

// Split cuts text into spans of at most o.Max units, in order. Every
// character of text that is not white space lies in at least one span;
// spans overlap only by o.Overlap at most.
//
// Each chunk ends at the strongest boundary (paragraph, sentence, line,
// word) among those that fill at least half of the room the overlap left,
// the furthest one among equals; when no boundary does, at the last word
// that fits. The next chunk repeats the longest tail of the last one that
// starts at a word boundary and holds at most o.Overlap units, and that
// still leaves room for the next word.
func Split(text string, o Options) []Span {
	var out []Span
	Each(text, o, func(s Span) bool {
		out = append(out, s)
		return true
	})
	return out
}

// Each is [Split] calling yield for every span, in order, until yield
// returns false.
func Each(text string, o Options, yield func(Span) bool) {
	var z Splitter
	z.Each(text, o, yield)
}

// A Splitter splits texts as [Each] does, keeping its buffer from one text
// to the next: for many small texts (the pages or sections of a document).
// The zero value is ready to use. A Splitter is not safe for concurrent
// use.
type Splitter struct {
	atoms []atom
}

// Each is [Each] with z's buffer.
func (z *Splitter) Each(text string, o Options, yield func(Span) bool) {
	maxSize := max(o.Max, 1)
	overlap := min(max(o.Overlap, 0), maxSize/2)
	sp := &splitter{sc: scanner{text: text, unit: o.Unit, max: maxSize}, atoms: z.atoms[:0]}
	defer func() { z.atoms = sp.atoms[:0] }()
	st, pos := 0, 0 // the chunk's first atom; its first new atom
	for {
		if _, ok := sp.get(pos); !ok {
			return
		}
		// Shorten the overlap until the next atom fits after it.
		for st < pos && sp.size(st, pos+1) > maxSize {
			st++
			for st < pos && sp.level(st) == levelMidWord {
				st++
			}
		}
		room := maxSize
		if st < pos {
			room -= sp.size(st, pos)
		}
		threshold := maxSize - room + room/2
		best, bestLevel, last := -1, levelMidWord-1, pos+1
		for e := pos + 1; ; e++ {
			if sp.size(st, e) > maxSize {
				break
			}
			last = e
			lvl := sp.level(e) // reads atom e
			if sp.size(st, e) >= threshold && lvl >= bestLevel {
				best, bestLevel = e, lvl
			}
			if lvl == levelEnd {
				break
			}
		}
		end := best
		if end < 0 {
			end = last
		}
		a, b := sp.atoms[st-sp.base], sp.atoms[end-1-sp.base]
		if !yield(Span{Start: a.rs, End: b.re, StartByte: a.bs, EndByte: b.be}) {
			return
		}
		if sp.level(end) == levelEnd {
			return
		}
		prevStart := st
		pos, st = end, end
		if overlap > 0 {
			for s := end - 1; s > prevStart && sp.size(s, end) <= overlap; s-- {
				if sp.level(s) != levelMidWord {
					st = s
				}
			}
		}
		sp.drop(st)
	}
}
