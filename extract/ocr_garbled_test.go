package extract_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/corpustest"
)

// garbledReferences are expected texts of the corpus that are themselves
// garbled: their reference is pdftotext's (or mutool's) output of a PDF
// whose fonts map glyphs to control codes (TAMReview uses glyph index
// fonts without ToUnicode: "\x03" for a space, "\x87" for "e"). The
// heuristic must fire on them.
var garbledReferences = map[string]bool{
	"pdf-pdfjs-TAMReview.txt":    true,
	"pdf-trunc-TAMReview-50.txt": true,
}

// TestGarbledCorpus runs the heuristic over the corpus's expected texts:
// English, German, French, Russian (cp1251), Japanese (Shift_JIS and
// vertical), Arabic (right-to-left PDFs), code, formulas, tables drawn with
// dashes and tables of contents with dot leaders. It must not fire on any
// whole text, nor on any page-sized (1 500 code points) window of the PDF
// texts - pages are what it judges.
func TestGarbledCorpus(t *testing.T) {
	dir := corpustest.Require(t)
	files, err := filepath.Glob(filepath.Join(dir, "expected", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no expected texts in %s: %v", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		text := string(b)
		why, _ := extract.GarbledReason(text)
		if garbledReferences[name] {
			if why == "" {
				t.Errorf("%s: the garbled reference was not caught", name)
			}
			continue
		}
		if why != "" {
			t.Errorf("%s: judged garbled (%s)", name, why)
		}
		if !strings.HasPrefix(name, "pdf-") {
			continue
		}
		const window = 1500
		rs := []rune(text)
		for i := 0; i < len(rs); i += window / 2 {
			chunk := string(rs[i:min(len(rs), i+window)])
			if why, _ := extract.GarbledReason(chunk); why != "" {
				t.Errorf("%s: the window at code point %d judged garbled (%s): %.120q", name, i, why, chunk)
				break
			}
		}
	}
}

// TestGarbledSamples checks the heuristic on hand-made texts, real and
// garbled, each long enough to be judged.
func TestGarbledSamples(t *testing.T) {
	english := strings.Repeat("The quick brown fox jumps over the lazy dog, and the dog sleeps on. ", 6)
	russian := strings.Repeat("Все люди рождаются свободными и равными в своем достоинстве и правах. ", 5)
	french := strings.Repeat("L'été dernier, nous sommes allés à la mer où il faisait très beau. ", 5)
	// UTF-8 bytes read as Windows-1252.
	mojibakeFr, _ := charmap.Windows1252.NewDecoder().String(french)
	mojibakeRu, _ := charmap.Windows1252.NewDecoder().String(russian)

	rng := rand.New(rand.NewPCG(1, 2))
	randomBytes := make([]byte, 600)
	for i := range randomBytes {
		randomBytes[i] = byte(rng.IntN(256))
	}
	randomLatin1, _ := charmap.ISO8859_1.NewDecoder().Bytes(randomBytes)
	var randomBMP strings.Builder
	for range 400 {
		randomBMP.WriteRune(rune(0x100 + rng.IntN(0xD000)))
		if rng.IntN(6) == 0 {
			randomBMP.WriteByte(' ')
		}
	}
	// Glyph indices of a font without ToUnicode read as code points: low
	// indices are control codes, as in the corpus's TAMReview.
	var glyphs strings.Builder
	for _, r := range english {
		if r == ' ' {
			glyphs.WriteRune(3)
		} else {
			glyphs.WriteRune(r - 29)
		}
	}
	// Higher glyph indices land in other scripts, mixing within words.
	var shifted strings.Builder
	for _, w := range strings.Fields(english) {
		for i, r := range w {
			if i%2 == 1 {
				r += 0x3D0 // into Cyrillic
			}
			shifted.WriteRune(r)
		}
		shifted.WriteByte(' ')
	}
	// ASCII soup: glyph codes of a symbol font read as ASCII.
	soup := strings.Repeat("#$%&'()*+,-./ :;<=>?@[\\]^_`{|}~ !\"#$ A1 ", 8)

	good := map[string]string{
		"english":    english,
		"russian":    russian,
		"french":     french,
		"japanese":   strings.Repeat("すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。", 4),
		"arabic":     strings.Repeat("يولد جميع الناس أحرارًا متساوين في الكرامة والحقوق. ", 5),
		"greek":      strings.Repeat("Όλοι οι άνθρωποι γεννιούνται ελεύθεροι και ίσοι στην αξιοπρέπεια. ", 5),
		"vietnamese": strings.Repeat("Tất cả mọi người sinh ra đều được tự do và bình đẳng về nhân phẩm. ", 5),
		"mixed":      strings.Repeat("Der Begriff «Ökonomie» (griech. οἰκονομία) heißt auf Russisch экономика. ", 5),
		"code":       strings.Repeat("func f(x int) (int, error) { if x < 0 { return 0, errors.New(\"neg\") }; return x * 2, nil }\n", 5),
		"formula":    strings.Repeat("E = mc² ; ∫₀^∞ e^{-x²} dx = √π/2 ; ∑ᵢ aᵢ·bᵢ ≤ ‖a‖‖b‖ ; α + β = γ\n", 6),
		"table":      strings.Repeat("| 2019 | 1 234,56 | 12,5 % | +3 |\n|------|----------|--------|----|\n", 8),
		"toc":        strings.Repeat("1.2 Installation . . . . . . . . . . . . . . . . . . . . . 17\n", 10),
		"dingbats":   strings.Repeat("✦ ✧ ★ ✩ ✪ ✫ ✬ ✭ ✮ ✯ ❚ ❘ ❙ ♠ ♣ ♥ ♦ → ← ↔ ", 10),
		"bullets":    strings.Repeat("\uf0b7 an item in a list set in Symbol\n", 10),
		"short junk": "\x01\x02\x03",
	}
	bad := map[string]string{
		"replacement characters": strings.Repeat("\uFFFD\uFFFD\uFFFD \uFFFD\uFFFD ab ", 20),
		"private use":            strings.Repeat("\ue001\ue002\ue003 \ue004\ue005 ab ", 20),
		"glyph indices":          glyphs.String(),
		"random bytes":           string(randomLatin1),
		"random code points":     randomBMP.String(),
		"utf-8 as cp1252 (fr)":   mojibakeFr,
		"utf-8 as cp1252 (ru)":   mojibakeRu,
		"mixed scripts":          shifted.String(),
		"ascii soup":             soup,
	}
	for name, text := range good {
		if why, _ := extract.GarbledReason(text); why != "" {
			t.Errorf("%s: judged garbled (%s): %.80q", name, why, text)
		}
	}
	for name, text := range bad {
		if why, whole := extract.GarbledReason(text); why == "" || !whole {
			t.Errorf("%s: not judged garbled as a whole (%q): %.80q", name, why, text)
		}
	}
	// A page with a figure in a font without a Unicode map: garbled in
	// part (15% of the characters), which warns but is no case for OCR.
	part := english + strings.Repeat("\uFFFD", len([]rune(english))*15/85)
	if why, whole := extract.GarbledReason(part); why == "" || whole {
		t.Errorf("garbled in part: %q, whole %v", why, whole)
	}
}
