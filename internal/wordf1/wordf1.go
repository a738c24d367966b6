// Package wordf1 scores extracted text against expected text at the word
// level, as the shared corpus's score.py does: the same normalisation, the
// same tokens and the same bag-of-words precision, recall and F1, so that
// `quarry eval` and score.py agree on a file's F1.
package wordf1

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// dropped are removed after NFKC: soft hyphen, zero-width characters, word
// joiner, BOM and bidi controls (score.py's _DROP).
func dropped(r rune) bool {
	switch {
	case r == 0x00AD, r >= 0x200B && r <= 0x200F, r == 0x2060, r == 0xFEFF,
		r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// Normalise applies score.py's normalisation: NFKC, the dropped controls
// removed, lower case (Python's full mapping: U+0130 becomes "i̇", a final
// capital sigma becomes ς), whitespace collapsed to single spaces and
// trimmed.
func Normalise(text string) string {
	text = norm.NFKC.String(text)
	rs := []rune(text)
	var b strings.Builder
	b.Grow(len(text))
	space := false
	for i, r := range rs {
		if dropped(r) {
			continue
		}
		if unicode.IsSpace(r) || isPySpaceExtra(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		switch {
		case r == 0x0130:
			b.WriteString("i\u0307")
		case r == 0x03A3 && finalSigma(rs, i):
			b.WriteRune('ς')
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// isPySpaceExtra reports the characters Python's str.isspace counts as
// whitespace that unicode.IsSpace does not (file/group/record/unit
// separators).
func isPySpaceExtra(r rune) bool { return r >= 0x1C && r <= 0x1F }

// finalSigma is Unicode's Final_Sigma condition, as Python's str.lower
// applies it: a cased letter before (skipping case-ignorable characters)
// and none after.
func finalSigma(rs []rune, i int) bool {
	before := false
	for j := i - 1; j >= 0; j-- {
		if caseIgnorable(rs[j]) {
			continue
		}
		before = cased(rs[j])
		break
	}
	if !before {
		return false
	}
	for j := i + 1; j < len(rs); j++ {
		if caseIgnorable(rs[j]) {
			continue
		}
		return !cased(rs[j])
	}
	return true
}

func cased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '^', '`', 0x00B7, 0x2018, 0x2019, 0x2024, 0x2027:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// isCJK reports the Hiragana, Katakana and Han ranges in which every
// character is a token of its own (score.py's _CJK).
func isCJK(r rune) bool {
	return r >= 0x3040 && r <= 0x30FF || r >= 0x3400 && r <= 0x4DBF || r >= 0x4E00 && r <= 0x9FFF ||
		r >= 0xF900 && r <= 0xFAFF || r >= 0x31F0 && r <= 0x31FF
}

// isWord matches Python's [^\W_]: alphabetic or numeric characters (not
// combining marks, not the underscore).
func isWord(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}

// Tokens splits normalised text into words: runs of letters and digits,
// with every Han or Kana character a token of its own.
func Tokens(normText string) []string {
	var out []string
	start := -1
	for i, r := range normText {
		cjk := isCJK(r)
		if !cjk && isWord(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, normText[start:i])
			start = -1
		}
		if cjk {
			out = append(out, string(r))
		}
	}
	if start >= 0 {
		out = append(out, normText[start:])
	}
	return out
}

// Result is the word-level score of one file.
type Result struct {
	P, R, F1  float64
	ExpWords  int // tokens of the expected text; 0 means not scored
	ProdWords int
	Overlap   int // multiset intersection size
}

// Scored reports whether the expected text had any tokens.
func (r Result) Scored() bool { return r.ExpWords > 0 }

// Compare scores produced text against expected text.
func Compare(expected, produced string) Result {
	te, tp := Tokens(Normalise(expected)), Tokens(Normalise(produced))
	res := Result{ExpWords: len(te), ProdWords: len(tp)}
	if len(te) == 0 {
		return res
	}
	counts := make(map[string]int, len(te))
	for _, t := range te {
		counts[t]++
	}
	for _, t := range tp {
		if counts[t] > 0 {
			counts[t]--
			res.Overlap++
		}
	}
	if len(tp) > 0 {
		res.P = float64(res.Overlap) / float64(len(tp))
	}
	res.R = float64(res.Overlap) / float64(len(te))
	if res.P+res.R > 0 {
		res.F1 = 2 * res.P * res.R / (res.P + res.R)
	}
	return res
}

// Score returns bag-of-words precision, recall and F1 of produced against
// expected, and the number of expected tokens. When expWords is 0 the file
// is not scored and p, r, f1 are 0.
func Score(expected, produced string) (p, r, f1 float64, expWords int) {
	res := Compare(expected, produced)
	return res.P, res.R, res.F1, res.ExpWords
}
