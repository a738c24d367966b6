package chunk_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract/chunk"
)

func TestCountTokens(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		s    string
		want int
	}{
		{"", 0},
		{" \n\t ", 0},
		{"a", 1},
		{"the", 1},
		{"tokens", 1},
		{"chunking", 2},
		{"internationalization", 4},
		{"Hello, world!", 4}, // Hello , world !
		{"3.14159", 4},       // 3 . 141|59
		{"2024", 2},
		{"e\u0301te\u0301", 1}, // combining marks continue their run
		{"Привет", 2},
		{"Brüderlichkeit", 4}, // Br ü derlic|hkeit
		{"हिन्दी", 2},
		{"日本語の文章", 6},
		{"한국어", 3},
		{"東京2024年", 5}, // 東 京 202|4 年
		{"a.b", 3},
		{"🙂🙂", 2},
		{"state-of-the-art", 7},
		{"x\u0301", 1},
		{"\u0301x", 2}, // a mark after nothing is a token of its own
	} {
		if got := chunk.CountTokens(c.s); got != c.want {
			t.Errorf("CountTokens(%q) = %d, want %d", c.s, got, c.want)
		}
		if got := chunk.Count(c.s, chunk.Tokens); got != c.want {
			t.Errorf("Count(%q, Tokens) = %d, want %d", c.s, got, c.want)
		}
	}
	if got := chunk.Count("héllo wörld", chunk.Chars); got != 11 {
		t.Errorf("Count(Chars) = %d, want 11", got)
	}
	// English prose: about 1.4 tokens a word.
	prose := "Quarry turns documents into clean text. It reads PDF, Word, OpenDocument, HTML and Markdown, " +
		"detects the language, and splits the text into chunks that fit the context of a language model."
	words := len(strings.Fields(prose))
	if r := float64(chunk.CountTokens(prose)) / float64(words); r < 1.2 || r > 1.6 {
		t.Errorf("%.2f tokens a word on English prose, want about 1.4", r)
	}
}

// texts returns the spans' texts.
func texts(text string, spans []chunk.Span) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = text[s.StartByte:s.EndByte]
	}
	return out
}

func TestSplitFits(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"Hello world.", "  padded text \n\n", "x"} {
		got := texts(text, chunk.Split(text, chunk.Options{Max: 100}))
		if len(got) != 1 || got[0] != strings.TrimSpace(text) {
			t.Errorf("Split(%q) = %q, want the trimmed text", text, got)
		}
	}
	for _, text := range []string{"", "   ", "\n\n\t"} {
		if got := chunk.Split(text, chunk.Options{Max: 10}); len(got) != 0 {
			t.Errorf("Split(%q) = %v, want no spans", text, got)
		}
	}
}

func TestSplitPrefersStrongBoundaries(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		text string
		max  int
		want []string
	}{
		{
			name: "paragraphs",
			text: "First paragraph here.\n\nSecond one is here.\n\nThird one.",
			max:  45,
			want: []string{"First paragraph here.\n\nSecond one is here.", "Third one."},
		},
		{
			name: "paragraph over a later sentence",
			text: "Alpha beta gamma delta epsilon.\n\nZeta eta. Theta iota kappa lambda.",
			max:  50,
			want: []string{"Alpha beta gamma delta epsilon.", "Zeta eta. Theta iota kappa lambda."},
		},
		{
			name: "sentences",
			text: "One two three four. Five six seven eight. Nine ten eleven twelve.",
			max:  45,
			want: []string{"One two three four. Five six seven eight.", "Nine ten eleven twelve."},
		},
		{
			name: "abbreviation is no sentence end",
			text: "See e.g. the manual for details of the setup of the thing. More text follows here.",
			max:  60,
			want: []string{"See e.g. the manual for details of the setup of the thing.", "More text follows here."},
		},
		{
			name: "lines",
			text: "row one a b c\nrow two d e f\nrow three g h i",
			max:  30,
			want: []string{"row one a b c\nrow two d e f", "row three g h i"},
		},
		{
			name: "words",
			text: "alpha beta gamma delta epsilon zeta eta theta",
			max:  20,
			want: []string{"alpha beta gamma", "delta epsilon zeta", "eta theta"},
		},
		{
			name: "a word longer than the cap",
			text: "short supercalifragilisticexpialidocious end",
			max:  10,
			want: []string{"short", "supercalif", "ragilistic", "expialidoc", "ious end"},
		},
		{
			name: "closing quote after a full stop",
			text: "He said \"stop.\" Then he left the room quietly. And so on.",
			max:  48,
			want: []string{"He said \"stop.\" Then he left the room quietly.", "And so on."},
		},
		{
			name: "CJK without spaces",
			text: "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。",
			max:  17,
			want: []string{"吾輩は猫である。名前はまだ無い。", "どこで生れたかとんと見当がつかぬ。"},
		},
		{
			name: "CJK punctuation stays with its sentence",
			text: "「こんにちは」と彼は言った。",
			max:  8,
			want: []string{"「こんにちは」と", "彼は言った。"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := texts(c.text, chunk.Split(c.text, chunk.Options{Max: c.max}))
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", c.want) {
				t.Errorf("Split(max %d) =\n%q\nwant\n%q", c.max, got, c.want)
			}
			checkSpans(t, c.text, chunk.Options{Max: c.max}, chunk.Split(c.text, chunk.Options{Max: c.max}))
		})
	}
}

func TestSplitTokens(t *testing.T) {
	t.Parallel()
	text := "The splitter counts tokens the same way CountTokens does. Each chunk stays under the cap."
	o := chunk.Options{Unit: chunk.Tokens, Max: 12}
	spans := chunk.Split(text, o)
	if len(spans) < 2 {
		t.Fatalf("%d spans, want several", len(spans))
	}
	checkSpans(t, text, o, spans)
	// A long word is cut at token boundaries: every six ASCII letters.
	long := strings.Repeat("abcd", 10)
	got := texts(long, chunk.Split(long, chunk.Options{Unit: chunk.Tokens, Max: 3}))
	for i, s := range got {
		if want := 18; i < len(got)-1 && len(s) != want {
			t.Errorf("piece %d = %q, want %d letters", i, s, want)
		}
	}
	if strings.Join(got, "") != long {
		t.Errorf("pieces %q do not make the word", got)
	}
}

func TestSplitOverlap(t *testing.T) {
	t.Parallel()
	text := "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
	o := chunk.Options{Max: 30, Overlap: 10}
	spans := chunk.Split(text, o)
	got := texts(text, spans)
	want := []string{"one two three four five six", "five six seven eight nine ten", "nine ten eleven twelve", "twelve thirteen fourteen", "fourteen fifteen"}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	checkSpans(t, text, o, spans)
	// Overlap above half the cap is lowered to half the cap.
	big := chunk.Split(text, chunk.Options{Max: 30, Overlap: 29})
	checkSpans(t, text, chunk.Options{Max: 30, Overlap: 15}, big)
	// No overlap into a word cut at the cap: pieces repeat nothing.
	word := "x" + strings.Repeat("y", 40) + " tail words here"
	checkSpans(t, word, chunk.Options{Max: 10, Overlap: 5}, chunk.Split(word, chunk.Options{Max: 10, Overlap: 5}))
}

func TestEachStops(t *testing.T) {
	t.Parallel()
	n := 0
	chunk.Each(strings.Repeat("word ", 1000), chunk.Options{Max: 20}, func(chunk.Span) bool {
		n++
		return n < 3
	})
	if n != 3 {
		t.Fatalf("yield called %d times after returning false, want 3", n)
	}
}

// checkSpans checks the properties Split promises: spans in order, exact
// offsets in bytes and code points, no white space at either end, sizes
// under the cap unless a single word is longer, overlaps within the
// overlap, and every non-space character covered.
func checkSpans(t *testing.T, text string, o chunk.Options, spans []chunk.Span) {
	t.Helper()
	runeAt := make([]int, 0, len(text)+1) // byte offset of each code point
	for i := range text {
		runeAt = append(runeAt, i)
	}
	runeAt = append(runeAt, len(text))
	covered := 0 // code points up to here are covered or white space
	prevStart, prevEnd := -1, -1
	for k, s := range spans {
		if s.Start < 0 || s.End > len(runeAt)-1 || s.Start >= s.End {
			t.Fatalf("span %d %+v out of range", k, s)
		}
		if runeAt[s.Start] != s.StartByte || runeAt[s.End] != s.EndByte {
			t.Fatalf("span %d %+v: byte and code point offsets disagree", k, s)
		}
		piece := text[s.StartByte:s.EndByte]
		first, _ := utf8.DecodeRuneInString(piece)
		lastR, _ := utf8.DecodeLastRuneInString(piece)
		if unicode.IsSpace(first) || unicode.IsSpace(lastR) {
			t.Errorf("span %d %q starts or ends with white space", k, piece)
		}
		if s.Start <= prevStart || s.End < prevEnd {
			t.Fatalf("span %d %+v out of order after [%d,%d)", k, s, prevStart, prevEnd)
		}
		if n := chunk.Count(piece, o.Unit); n > max(o.Max, 1) {
			t.Errorf("span %d %q: size %d over the cap %d", k, piece, n, o.Max)
		}
		if prevEnd > s.Start {
			ov := text[s.StartByte:runeAt[prevEnd]]
			if n := chunk.Count(ov, o.Unit); n > o.Overlap {
				t.Errorf("span %d repeats %q (%d), over the overlap %d", k, ov, n, o.Overlap)
			}
		}
		if covered < s.Start {
			if gap := text[runeAt[covered]:s.StartByte]; strings.TrimFunc(gap, unicode.IsSpace) != "" {
				t.Fatalf("span %d: %q before it is not covered", k, gap)
			}
		}
		covered = max(covered, s.End)
		prevStart, prevEnd = s.Start, s.End
	}
	if rest := text[runeAt[covered]:]; strings.TrimFunc(rest, unicode.IsSpace) != "" {
		t.Fatalf("the end of the text %q is not covered", rest)
	}
}

// randomText builds text from a mix of words, CJK runs, punctuation, long
// words and all kinds of white space.
func randomText(r *rand.Rand, n int) string {
	parts := []string{"the", "a", "chunk", "of", "text", "Quarry", "extracts.", "Hello,", "world!", "(brackets)",
		"\"quoted.\"", "e.g.", "3.14", "日本語の", "文章です。", "한국어", "العربية", "naïve", "e\u0301", "🙂",
		strings.Repeat("x", 70), "—", "…", "state-of-the-art"}
	spaces := []string{" ", " ", " ", "\n", "\n\n", "\t", "\u00a0", "\u3000", "", "\n \n"}
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(parts[r.IntN(len(parts))])
		b.WriteString(spaces[r.IntN(len(spaces))])
	}
	return b.String()
}

func TestSplitProperties(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		text := randomText(r, r.IntN(3000))
		o := chunk.Options{Unit: chunk.Unit(r.IntN(2)), Max: 1 + r.IntN(200)}
		if r.IntN(2) == 0 {
			o.Overlap = r.IntN(o.Max/2 + 1)
		}
		spans := chunk.Split(text, o)
		checkSpans(t, text, o, spans)
		again := chunk.Split(text, o)
		if fmt.Sprint(again) != fmt.Sprint(spans) {
			t.Fatalf("case %d: Split is not deterministic", i)
		}
		if t.Failed() {
			t.Fatalf("case %d: options %+v, text %q", i, o, text)
		}
	}
}

// TestSplitNeverCutsAWordThatFits: with a cap above the longest word, every
// span boundary falls at white space or between CJK characters.
func TestSplitNeverCutsAWordThatFits(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		text := randomText(r, 2000)
		o := chunk.Options{Max: 80 + r.IntN(100), Overlap: r.IntN(30)}
		for _, s := range chunk.Split(text, o) {
			for _, edge := range []struct{ before, after string }{
				{text[:s.StartByte], text[s.StartByte:]},
				{text[:s.EndByte], text[s.EndByte:]},
			} {
				b, _ := utf8.DecodeLastRuneInString(edge.before)
				a, _ := utf8.DecodeRuneInString(edge.after)
				if edge.before == "" || edge.after == "" || unicode.IsSpace(a) || unicode.IsSpace(b) {
					continue
				}
				if isCJK(a) || isCJK(b) {
					continue
				}
				// The word around the cut: allowed only when longer than the cap.
				word := []rune(strings.TrimLeftFunc(edge.before[max(0, strings.LastIndexFunc(edge.before, breaks)):], breaks))
				word = append(word, []rune(edge.after[:max(0, indexOr(edge.after, breaks))])...)
				if len(word) <= o.Max {
					t.Fatalf("span %+v cuts the word %q (%d <= cap %d)", s, string(word), len(word), o.Max)
				}
			}
		}
	}
}

func isCJK(c rune) bool { return unicode.In(c, unicode.Han, unicode.Hiragana, unicode.Katakana) }

func breaks(c rune) bool { return unicode.IsSpace(c) || isCJK(c) }

func indexOr(s string, f func(rune) bool) int {
	if i := strings.IndexFunc(s, f); i >= 0 {
		return i
	}
	return len(s)
}

// TestEachMemoryBounded: the splitter keeps the atoms of one chunk, not of
// the text.
func TestEachMemoryBounded(t *testing.T) {
	text := strings.Repeat("word ", 2<<20) // 10 MiB, 2 Mi atoms
	allocs := testing.AllocsPerRun(1, func() {
		chunk.Each(text, chunk.Options{Max: 2000, Overlap: 200}, func(chunk.Span) bool { return true })
	})
	if allocs > 100 {
		t.Errorf("%v allocations to split 10 MiB, want a handful (the atom buffer only)", allocs)
	}
}

func FuzzSplit(f *testing.F) {
	f.Add("Hello world. This is a test.\n\nNew paragraph here.", 10, 3, false)
	f.Add("日本語の文章です。次の文。", 4, 1, true)
	f.Add(strings.Repeat("y", 50)+" z", 7, 2, false)
	f.Add("a\u0301\u0302 b\u00a0c\u3000d", 1, 0, true)
	f.Fuzz(func(t *testing.T, text string, maxSize, overlap int, tokens bool) {
		if !utf8.ValidString(text) || len(text) > 1<<16 {
			t.Skip()
		}
		o := chunk.Options{Max: 1 + abs(maxSize)%500, Overlap: abs(overlap) % 300}
		if tokens {
			o.Unit = chunk.Tokens
		}
		spans := chunk.Split(text, o)
		o.Overlap = min(o.Overlap, o.Max/2)
		checkSpans(t, text, o, spans)
	})
}

func abs(n int) int {
	if n < 0 {
		return -(n + 1)
	}
	return n
}

func BenchmarkSplit(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	text := randomText(r, 10<<20)
	for _, o := range []chunk.Options{{Max: 2000}, {Max: 2000, Overlap: 200}, {Unit: chunk.Tokens, Max: 512, Overlap: 64}} {
		b.Run(fmt.Sprintf("unit=%d,max=%d,overlap=%d", o.Unit, o.Max, o.Overlap), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				chunk.Each(text, o, func(chunk.Span) bool { return true })
			}
		})
	}
}
