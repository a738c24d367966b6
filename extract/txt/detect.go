package txt

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// candidate is one legacy encoding detectLegacy weighs.
type candidate struct {
	name string
	enc  encoding.Encoding
	// multi: non-ASCII characters take two bytes (one for half-width
	// katakana).
	multi bool
	// japanese: kana count as evidence (elsewhere they are neutral, since
	// Chinese and Korean character sets hold kana at the same codes).
	japanese bool
	// common reports whether a non-ASCII character is in the part of the
	// character set everyday text uses; nil means all of it.
	common func(enc []byte) bool
}

// candidates in order of preference: the first of equal scores wins.
var candidates = []candidate{
	{name: "windows-1252", enc: charmap.Windows1252},
	{name: "windows-1251", enc: charmap.Windows1251},
	{name: "windows-1250", enc: charmap.Windows1250},
	{name: "koi8-r", enc: charmap.KOI8R},
	{name: "windows-1253", enc: charmap.Windows1253},
	{name: "shift_jis", enc: japanese.ShiftJIS, multi: true, japanese: true},
	{name: "euc-kr", enc: korean.EUCKR, multi: true, common: func(b []byte) bool {
		// KS X 1001 proper, not the rare syllables of the UHC extension.
		return len(b) == 2 && b[0] >= 0xA1 && b[1] >= 0xA1
	}},
	{name: "gbk", enc: simplifiedchinese.GBK, multi: true, common: func(b []byte) bool {
		// GB2312: symbols in rows A1-A9, hanzi in rows B0-F7.
		return len(b) == 2 && b[1] >= 0xA1 && (b[0] >= 0xA1 && b[0] <= 0xA9 || b[0] >= 0xB0 && b[0] <= 0xF7)
	}},
	{name: "euc-jp", enc: japanese.EUCJP, multi: true, japanese: true},
	{name: "big5", enc: traditionalchinese.Big5, multi: true, common: func(b []byte) bool {
		// Symbols in A1-A3, frequent characters in A440-C67E.
		return len(b) == 2 && b[0] >= 0xA1 && b[0] <= 0xC6
	}},
}

// detectLegacy returns the name of the legacy encoding under which sample
// reads most like text.
func detectLegacy(sample []byte) string {
	best, bestScore := candidates[0].name, 0.0
	for i, c := range candidates {
		text, err := c.enc.NewDecoder().Bytes(sample)
		if err != nil {
			continue
		}
		s := scoreText(text, c)
		if i == 0 || s > bestScore {
			best, bestScore = c.name, s
		}
	}
	return best
}

// script classes of letters.
const (
	scNone = iota
	scASCII
	scLatin
	scCyrillic
	scGreek
	scHebrew
	scArabic
	scHan
	scKana
	scHalfKana
	scHangul
	scOther
)

func scriptOf(r rune) int {
	switch {
	case r < utf8.RuneSelf:
		return scASCII
	case r >= 0xFF61 && r <= 0xFF9F:
		return scHalfKana
	case unicode.Is(unicode.Latin, r):
		return scLatin
	case unicode.Is(unicode.Cyrillic, r):
		return scCyrillic
	case unicode.Is(unicode.Greek, r):
		return scGreek
	case unicode.Is(unicode.Hebrew, r):
		return scHebrew
	case unicode.Is(unicode.Arabic, r):
		return scArabic
	case unicode.Is(unicode.Han, r):
		return scHan
	case unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r), r == 0x30FC:
		return scKana
	case unicode.Is(unicode.Hangul, r):
		return scHangul
	}
	return scOther
}

// scoreText rates how much text, decoded with c, looks like natural text,
// in units of source bytes: positive for non-ASCII letters in plausible
// words, negative for invalid sequences, control characters, private-use
// characters and implausible words (mixed scripts, a lower-case letter
// followed by a capital, a Latin word made of accented letters only).
func scoreText(text []byte, c candidate) float64 {
	var (
		score float64
		word  []rune
		enc   = c.enc.NewEncoder()
		cache = map[rune]bool{}
		buf   [8]byte
	)
	weight := func(r rune) float64 {
		if c.multi && r >= 0x100 && (r < 0xFF61 || r > 0xFF9F) {
			return 2
		}
		return 1
	}
	common := func(r rune) bool {
		if c.common == nil {
			return true
		}
		v, ok := cache[r]
		if !ok {
			n := utf8.EncodeRune(buf[:], r)
			b, err := enc.Bytes(buf[:n])
			v = err == nil && c.common(b)
			cache[r] = v
		}
		return v
	}
	flush := func() {
		if len(word) == 0 {
			return
		}
		score += scoreWord(word, c, weight, common)
		word = word[:0]
	}
	for len(text) > 0 {
		r, size := utf8.DecodeRune(text)
		text = text[size:]
		switch {
		case unicode.IsLetter(r) || (len(word) > 0 && unicode.Is(unicode.Mn, r)):
			word = append(word, r)
			continue
		case r < utf8.RuneSelf:
			if r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f' || r == 0x7F {
				score -= 3
			}
		case r == utf8.RuneError, unicode.IsControl(r):
			score -= 3 * weight(r)
		case unicode.Is(unicode.Co, r), !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z):
			score -= 2 * weight(r)
		}
		flush()
	}
	flush()
	return score
}

func scoreWord(word []rune, c candidate, weight func(rune) float64, common func(rune) bool) float64 {
	var (
		scripts  [scOther + 1]int
		nonASCII float64
		good     float64
		caseFlip bool
		prevLow  bool
	)
	for _, r := range word {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		s := scriptOf(r)
		scripts[s]++
		if unicode.IsUpper(r) && prevLow {
			caseFlip = true
		}
		prevLow = unicode.IsLower(r)
		if s == scASCII {
			continue
		}
		w := weight(r)
		nonASCII += w
		switch s {
		case scKana:
			if c.japanese {
				good += w
			}
		case scHalfKana, scOther:
			good -= w
		case scHan, scHangul:
			if common(r) {
				good += w
			}
		default:
			good += w
		}
	}
	if nonASCII == 0 {
		return 0
	}
	// Scripts that may share a word: ASCII letters with Latin; Han with
	// kana.
	distinct := 0
	for s, n := range scripts {
		if n == 0 || s == scASCII && scripts[scLatin] > 0 || s == scKana && scripts[scHan] > 0 {
			continue
		}
		distinct++
	}
	switch {
	case distinct > 1, caseFlip:
		return -nonASCII
	case scripts[scLatin] >= 3 && scripts[scASCII] == 0:
		return -nonASCII
	}
	return good
}
