// Package lang detects the natural language of a text, for
// metadata.language.
//
// [Detect] reads at most three windows of 2 KiB spread over the text (its
// start, a third, two thirds), so time and memory stay flat on a text of
// any size and a cover page, a table of contents or a list of languages at
// the start does not decide alone. Each window is
// folded with NFKC (Arabic presentation forms, full-width Latin,
// ligatures) and given to github.com/abadojack/whatlanggo, a trigram
// detector of 84 languages whose confidence is only meaningful on short
// samples, hence the windows. The windows then vote; two that agree
// decide, and the third is not read.
//
// Detect answers "" rather than guess: when the text holds too few
// letters or too few distinct words, when no one script dominates a window, when the detector is not
// confident, or when the windows disagree.
//
// Codes are BCP 47 primary language subtags: the ISO 639-1 code where the
// language has one ("en", "de", "ar", "ja", "zh", "fa"), the ISO 639-3 code
// otherwise ("ceb", "ilo").
package lang

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/abadojack/whatlanggo"
	"golang.org/x/text/unicode/norm"
)

const (
	// WindowBytes is the size of one sample window.
	WindowBytes = 2 << 10
	// Windows is the most windows Detect examines.
	Windows = 3
	// MinLetters is the fewest letters a window must hold to vote.
	// Shorter texts ("OK", a title, a number) have no reliable language.
	MinLetters = 20
	// minShare is the share of a window's letters that the script of
	// the detected language must hold: below it the window mixes
	// scripts and no one language describes it.
	minShare = 0.6
	// minWords is the fewest distinct words a window must hold to vote.
	minWords = 5
	// wordSlack bounds how far a window edge moves to fall between
	// words.
	wordSlack = 64
)

// Detect returns the language of text as a BCP 47 primary subtag, or ""
// when it cannot tell reliably.
func Detect(text string) string {
	var codes [Windows]string
	examined, reliable := 0, 0
	for _, w := range samples(text) {
		code, ok := detectWindow(w)
		if !ok {
			continue
		}
		examined++
		if code == "" {
			continue
		}
		codes[reliable] = code
		reliable++
		if 2*count(codes[:reliable], code) > Windows {
			return code // a majority of all windows: the rest cannot change it
		}
	}
	// The winner needs a strict majority of the confident windows, and
	// confident windows must be at least half of those examined.
	if reliable == 0 || 2*reliable < examined {
		return ""
	}
	for _, c := range codes[:reliable] {
		if 2*count(codes[:reliable], c) > reliable {
			return c
		}
	}
	return ""
}

func count(codes []string, c string) int {
	n := 0
	for _, d := range codes {
		if d == c {
			n++
		}
	}
	return n
}

// detectWindow returns the language of one window; ok is false when the
// window has too few letters to vote, and code "" when it votes for no
// language.
func detectWindow(w string) (code string, ok bool) {
	w = norm.NFKC.String(w)
	letters := 0
	for _, r := range w {
		if unicode.IsLetter(r) {
			letters++
		}
	}
	if letters < MinLetters || !varied(w) {
		return "", false
	}
	info := whatlanggo.Detect(w)
	if info.Lang < 0 || info.Script == nil || !info.IsReliable() {
		return "", true
	}
	code = Code(info.Lang)
	if code == "" || float64(scriptLetters(w, info))/float64(letters) < minShare {
		return "", true
	}
	return code, true
}

// varied reports whether w holds at least minWords distinct words (runs
// of two or more letters, case folded; each Han or kana character counts
// as a word of its own, those scripts not spacing their words): the
// detector takes a text that repeats a few words ("Section 1 Paragraph
// 1.1 ...", "Hello World") for whichever language shares their trigrams.
func varied(w string) bool {
	seen := make(map[string]bool, minWords)
	for i := 0; i < len(w); {
		r, n := utf8.DecodeRuneInString(w[i:])
		switch {
		case !unicode.IsLetter(r):
			i += n
			continue
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana):
			seen[w[i:i+n]] = true
			i += n
		default:
			j, count := i, 0
			for j < len(w) {
				r, n := utf8.DecodeRuneInString(w[j:])
				if !unicode.IsLetter(r) && !unicode.IsMark(r) || unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) {
					break
				}
				j += n
				count++
			}
			if count >= 2 {
				seen[strings.ToLower(w[i:j])] = true
			}
			i = j
		}
		if len(seen) >= minWords {
			return true
		}
	}
	return false
}

// samples returns the windows of text: consecutive ones when the text is
// short, else windows starting at 0, 1/3 and 2/3 of it. Window edges
// fall between words where white space is near.
func samples(text string) []string {
	var out []string
	if len(text) <= Windows*WindowBytes {
		for start := 0; start < len(text) && len(out) < Windows; {
			w := window(text, start, start == 0)
			if w == "" {
				break
			}
			out = append(out, w)
			start += len(w)
		}
		return out
	}
	for i := range Windows {
		out = append(out, window(text, i*(len(text)/Windows), i == 0))
	}
	return out
}

// window returns about WindowBytes of text from byte offset start, moved
// forward past a cut word unless atStart, and cut at a code point boundary
// and, when near, at white space.
func window(text string, start int, atStart bool) string {
	for start < len(text) && !utf8.RuneStart(text[start]) {
		start++
	}
	if !atStart {
		for j := start; j < len(text) && j < start+wordSlack; j++ {
			if isSpace(text[j]) {
				start = j + 1
				break
			}
		}
	}
	end := start + WindowBytes
	if end >= len(text) {
		return text[start:]
	}
	for end > start && !utf8.RuneStart(text[end]) {
		end--
	}
	for j := end; j > start && j > end-wordSlack; j-- {
		if isSpace(text[j]) {
			return text[start:j]
		}
	}
	return text[start:end]
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// scriptLetters counts the letters of s written in the script of the
// detected language: Han and kana together for Japanese, Hangul and Hanja
// for Korean.
func scriptLetters(s string, info whatlanggo.Info) int {
	in := func(r rune) bool { return unicode.Is(info.Script, r) }
	switch info.Lang {
	case whatlanggo.Jpn:
		in = func(r rune) bool {
			return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) || r == 'ー'
		}
	case whatlanggo.Kor:
		in = func(r rune) bool { return unicode.In(r, unicode.Hangul, unicode.Han) }
	}
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) && in(r) {
			n++
		}
	}
	return n
}

// iso6391Fixes replaces whatlanggo's ISO 639-1 answer where it has none or
// a deprecated one: Iranian Persian is "fa", Eastern Yiddish "yi", and the
// collective "bh" (Bihari) is deprecated in favour of "bho".
var iso6391Fixes = map[whatlanggo.Lang]string{
	whatlanggo.Pes: "fa",
	whatlanggo.Ydd: "yi",
	whatlanggo.Bho: "bho",
}

// Code returns the BCP 47 primary subtag of a whatlanggo language: its ISO
// 639-1 code where one exists, else its ISO 639-3 code; "" for an unknown
// language.
func Code(l whatlanggo.Lang) string {
	if c, ok := iso6391Fixes[l]; ok {
		return c
	}
	if c := l.Iso6391(); c != "" {
		return c
	}
	return l.Iso6393()
}
