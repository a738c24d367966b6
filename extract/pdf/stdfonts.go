package pdf

import "strings"

// Glyph widths of the standard 14 fonts for the printable ASCII codes
// (32-126), in thousandths of the font size, from their Adobe font metrics.
// A PDF may use these fonts without /Widths; the interpreter then needs
// the real advances to tell word gaps from letter spacing (a default of
// 500 for every glyph puts false spaces inside words set in Times or
// Helvetica). Bold and italic faces use the regular face's widths: they
// are within a few percent, which is what the gap test needs.
var (
	helveticaWidths = [95]uint16{
		278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space - /
		556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
		278, 278, 584, 584, 584, 556, 1015, // : - @
		667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, // A-M
		722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, // N-Z
		278, 278, 278, 469, 556, 333, // [ - `
		556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, // a-m
		556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, // n-z
		334, 260, 334, 584, // { - ~
	}
	timesWidths = [95]uint16{
		250, 333, 408, 500, 500, 833, 778, 180, 333, 333, 500, 564, 250, 333, 250, 278,
		500, 500, 500, 500, 500, 500, 500, 500, 500, 500,
		278, 278, 564, 564, 564, 444, 921,
		722, 667, 667, 722, 611, 556, 722, 722, 333, 389, 722, 611, 889,
		722, 722, 556, 722, 667, 556, 611, 722, 722, 944, 722, 722, 611,
		333, 278, 333, 469, 500, 333,
		444, 500, 444, 500, 444, 333, 500, 500, 278, 278, 500, 278, 778,
		500, 500, 500, 500, 333, 389, 278, 500, 500, 722, 500, 500, 444,
		480, 200, 480, 541,
	}
)

// standardWidths returns the width table of a standard font named base
// (a subset prefix such as "ABCDEF+" and common aliases allowed), nil for
// other fonts. fixed is the width of every glyph of a monospaced face.
func standardWidths(base string) (table *[95]uint16, fixed float64) {
	if i := strings.IndexByte(base, '+'); i == 6 {
		base = base[i+1:]
	}
	b := strings.ToLower(base)
	switch {
	case strings.HasPrefix(b, "courier"):
		return nil, 600
	case strings.HasPrefix(b, "helvetica"), strings.HasPrefix(b, "arial"):
		return &helveticaWidths, 0
	case strings.HasPrefix(b, "times"):
		return &timesWidths, 0
	}
	return nil, 0
}

// symbolEncoding is the built-in encoding of the Symbol font for its
// letters: Latin codes draw Greek glyphs.
var symbolEncoding = map[byte]rune{
	'A': 'Α', 'B': 'Β', 'C': 'Χ', 'D': 'Δ', 'E': 'Ε', 'F': 'Φ', 'G': 'Γ', 'H': 'Η', 'I': 'Ι',
	'J': 'ϑ', 'K': 'Κ', 'L': 'Λ', 'M': 'Μ', 'N': 'Ν', 'O': 'Ο', 'P': 'Π', 'Q': 'Θ', 'R': 'Ρ',
	'S': 'Σ', 'T': 'Τ', 'U': 'Υ', 'V': 'ς', 'W': 'Ω', 'X': 'Ξ', 'Y': 'Ψ', 'Z': 'Ζ',
	'a': 'α', 'b': 'β', 'c': 'χ', 'd': 'δ', 'e': 'ε', 'f': 'φ', 'g': 'γ', 'h': 'η', 'i': 'ι',
	'j': 'ϕ', 'k': 'κ', 'l': 'λ', 'm': 'μ', 'n': 'ν', 'o': 'ο', 'p': 'π', 'q': 'θ', 'r': 'ρ',
	's': 'σ', 't': 'τ', 'u': 'υ', 'v': 'ϖ', 'w': 'ω', 'x': 'ξ', 'y': 'ψ', 'z': 'ζ',
	'"': '∀', '$': '∃', '\'': '∋', '*': '∗', '-': '−', '@': '≅', '^': '⊥', '`': '\u203E',
	0xA3: '≤', 0xA5: '∞', 0xB1: '±', 0xB3: '≥', 0xB4: '×', 0xB5: '∝', 0xB6: '∂', 0xB7: '•',
	0xB8: '÷', 0xB9: '≠', 0xBA: '≡', 0xBB: '≈', 0xC5: '⊕', 0xC6: '∅', 0xC7: '∩', 0xC8: '∪',
	0xCE: '∈', 0xCF: '∉', 0xD1: '∇', 0xD5: '∏', 0xD6: '√', 0xD7: '⋅', 0xD8: '¬', 0xD9: '∧',
	0xDA: '∨', 0xE5: '∑', 0xF2: '∫',
}

// symbolDecoder decodes codes of a Symbol font without its own encoding.
type symbolDecoder struct{}

func (symbolDecoder) Decode(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if r, ok := symbolEncoding[raw[i]]; ok {
			b.WriteRune(r)
		} else if raw[i] >= 0x20 && raw[i] < 0x7F {
			b.WriteByte(raw[i])
		} else {
			b.WriteRune('\uFFFD')
		}
	}
	return b.String()
}
