package lang_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/abadojack/whatlanggo"

	"github.com/quarryhq/quarry/extract/lang"
	"github.com/quarryhq/quarry/internal/corpustest"
)

func TestDetectRefusesWhatItCannotTell(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"",
		"OK",
		"Hello",
		"Hello World",
		"12345 678 90",
		"3.14159 2.71828 1.41421 1.73205 2.23606 0.57721",
		" \n\t ",
		"— • … ‰ § ¶ © ® ™",
		// Mixed scripts: no one language.
		"Hello world, good morning. Привет мир, доброе утро. 你好世界早上好。 مرحبا بالعالم صباح الخير",
		// A few words repeated: trigram detectors mistake these for French.
		"Section 1 Paragraph 1.1 Paragraph 1.2 Section 1.1 Paragraph 1.1.1 Paragraph 1.1.2 Section 2 Paragraph 2.1",
		"Hello World Hello World Hello World Hello World Hello World",
	} {
		if got := lang.Detect(s); got != "" {
			t.Errorf("Detect(%q) = %q, want \"\"", s, got)
		}
	}
}

func TestDetectSentences(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ text, want string }{
		{"The quick brown fox jumps over the lazy dog while the farmer watches from the porch.", "en"},
		{"Der schnelle braune Fuchs springt über den faulen Hund, während der Bauer von der Veranda zusieht.", "de"},
		{"Le renard brun rapide saute par-dessus le chien paresseux pendant que le fermier regarde depuis le porche.", "fr"},
		{"Все люди рождаются свободными и равными в своем достоинстве и правах. Они наделены разумом и совестью.", "ru"},
		{"すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。", "ja"},
		// Full-width Latin folds to ASCII before detection.
		{"Ｔｈｅ ｑｕｉｃｋ ｂｒｏｗｎ ｆｏｘ ｊｕｍｐｓ ｏｖｅｒ ｔｈｅ ｌａｚｙ ｄｏｇ ｗｈｉｌｅ ｔｈｅ ｆａｒｍｅｒ ｗａｔｃｈｅｓ.", "en"},
	} {
		if got := lang.Detect(c.text); got != c.want {
			t.Errorf("Detect(%.40q...) = %q, want %q", c.text, got, c.want)
		}
	}
}

func TestCode(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		l    whatlanggo.Lang
		want string
	}{
		{whatlanggo.Eng, "en"}, {whatlanggo.Deu, "de"}, {whatlanggo.Arb, "ar"}, {whatlanggo.Jpn, "ja"},
		{whatlanggo.Cmn, "zh"}, {whatlanggo.Pes, "fa"}, {whatlanggo.Ydd, "yi"}, {whatlanggo.Bho, "bho"},
		{whatlanggo.Ceb, "ceb"}, {whatlanggo.Azj, "az"}, {whatlanggo.Nob, "nb"}, {whatlanggo.Lang(-1), ""},
	} {
		if got := lang.Code(c.l); got != c.want {
			t.Errorf("Code(%v) = %q, want %q", c.l, got, c.want)
		}
	}
}

// udhrBlocks reads the "UDHR in Unicode" article 1 collection of the corpus:
// blocks of a language name line and the article's text.
func udhrBlocks(t *testing.T) map[string]string {
	t.Helper()
	dir := corpustest.Require(t)
	b, err := os.ReadFile(filepath.Join(dir, "expected", "txt-unstructured-udhr.txt"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for block := range strings.SplitSeq(string(b), "\n\n") {
		if name, body, ok := strings.Cut(strings.TrimSpace(block), "\n"); ok {
			out[name] = body
		}
	}
	return out
}

// TestDetectUDHR: article 1 of the Universal Declaration of Human Rights,
// one short paragraph per language, from the corpus.
func TestDetectUDHR(t *testing.T) {
	t.Parallel()
	blocks := udhrBlocks(t)
	for name, want := range map[string]string{
		"Arabic, Standard": "ar", "Chinese, Mandarin (Simplified)": "zh", "Dutch": "nl", "English": "en",
		"Farsi, Western": "fa", "French": "fr", "German, Standard (1996)": "de", "German, Standard (1901)": "de",
		"Greek (monotonic)": "el", "Hebrew": "he", "Hindi": "hi", "Italian": "it", "Japanese": "ja",
		"Korean": "ko", "Polish": "pl", "Portuguese (Portugal)": "pt", "Russian": "ru", "Spanish": "es",
		"Swedish": "sv", "Thai": "th", "Turkish": "tr", "Ukrainian": "uk",
	} {
		body, ok := blocks[name]
		if !ok {
			t.Errorf("the UDHR file has no %q block", name)
			continue
		}
		if got := lang.Detect(body); got != want {
			t.Errorf("%s: Detect = %q, want %q\n%s", name, got, want, body)
		}
	}
}

// TestDetectCorpus runs Detect over the expected texts of real documents.
func TestDetectCorpus(t *testing.T) {
	t.Parallel()
	dir := corpustest.Require(t)
	read := func(id string) string {
		b, err := os.ReadFile(filepath.Join(dir, "expected", id+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for id, want := range map[string]string{
		"docx-docling-word_sample":       "en",
		"docx-pandoc-notes":              "en",
		"html-docling-wiki_duck":         "en", // starts with a table of contents and 136 language names
		"pdf-pdfjs-tracemonkey":          "en",
		"pdf-pdfjs-freeculture":          "en", // 352 pages: four windows only
		"pdf-docling-redp5110_sampled":   "en",
		"txt-unstructured-norwich":       "en",
		"txt-unstructured-utf16le":       "en",
		"pdf-docling-right_to_left_01":   "ar", // right-to-left Arabic
		"pdf-docling-right_to_left_02":   "ar",
		"pdf-docling-right_to_left_03":   "fa", // Persian: the Arabic script with پ and گ
		"pdf-docling-normal_4pages":      "ko",
		"pdf-pdfminer-identity-cmap":     "pl",
		"pdf-pdfjs-bug1815476":           "es",
		"docx-docling-unit_test_headers": "", // "Section 1.1 Paragraph 1.1.1" repeated
		"pdf-pdfminer-simple1":           "", // "Hello World" repeated
		"pdf-pdfjs-ArabicCIDTrueType":    "", // one three-word title, four times
	} {
		if got := lang.Detect(read(id)); got != want {
			t.Errorf("%s: Detect = %q, want %q", id, got, want)
		}
	}
	// The re-encoded UDHR files hold romanised minority languages of
	// China (Bizisa, Klau, Muzzi...), not Japanese or Russian: their
	// encoding says nothing of their language.
	for _, id := range []string{"txt-udhr-shiftjis", "txt-udhr-cp1251", "txt-udhr-latin1"} {
		if got := lang.Detect(read(id)); got == "ja" || got == "ru" {
			t.Errorf("%s: Detect = %q, guessed from the encoding", id, got)
		}
	}
}

// TestDetectWindows: the windows vote, so a document whose start is in
// another language than the rest gets the language of most windows, and
// one whose windows all disagree gets none.
func TestDetectWindows(t *testing.T) {
	t.Parallel()
	blocks := udhrBlocks(t)
	fill := func(s string, n int) string {
		var b strings.Builder
		for b.Len() < n {
			b.WriteString(s)
			b.WriteString("\n\n")
		}
		return b.String()
	}
	en, de, fr := blocks["English"], blocks["German, Standard (1996)"], blocks["French"]
	w := lang.Windows * lang.WindowBytes
	if got := lang.Detect(fill(en, w/4) + fill(de, 3*w)); got != "de" {
		t.Errorf("English head, German body: %q, want de", got)
	}
	if got := lang.Detect(fill(en, w) + fill(de, w) + fill(fr, w)); got != "" {
		t.Errorf("a third each of English, German and French: %q, want \"\"", got)
	}
}

// TestDetectBounded: the work does not grow with the text.
func TestDetectBounded(t *testing.T) {
	huge := strings.Repeat("Quarry reads documents of every size and keeps its work bounded. ", 1<<18) // 16 MiB
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	lang.Detect(huge)
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("Detect on 16 MiB allocated %d bytes, want it flat (< 4 MiB)", alloc)
	}
}

func TestDetectDeterministic(t *testing.T) {
	t.Parallel()
	s := "Le renard brun rapide saute par-dessus le chien paresseux pendant que le fermier regarde depuis le porche."
	want := lang.Detect(s)
	for range 50 {
		if got := lang.Detect(s); got != want {
			t.Fatalf("Detect changed its answer: %q then %q", want, got)
		}
	}
}

func BenchmarkDetect(b *testing.B) {
	para := "The quick brown fox jumps over the lazy dog while the farmer watches from the porch. "
	for _, size := range []int{200, 8 << 10, 10 << 20} {
		text := strings.Repeat(para, size/len(para)+1)[:size]
		b.Run(byteSize(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				lang.Detect(text)
			}
		})
	}
}

func byteSize(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
