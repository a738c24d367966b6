package summary

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// article is a short news-style text with one clear topic (a city's new
// bicycle lanes) and a few asides, for ranking tests.
const article = `City Opens Bicycle Lanes

The city council opened twelve kilometres of protected bicycle lanes downtown on Monday.
The bicycle lanes connect the train station with the university and the old harbour.
Mayor Ana Ruiz said the lanes would make cycling safer for commuters and students.
It rained for most of the morning.
Local cafés reported a quiet day.
Cycling groups had asked the council for protected lanes since 2019, after two cyclists were hurt on Harbour Street.
The council paid for the bicycle lanes with 4.5 million euros from the regional transport fund.
Some shop owners worry that the lanes remove parking spaces in front of their shops.
The council plans to count cyclists on the new lanes every month and publish the numbers.
A football match was postponed because of the weather.
If the counts rise, the council will extend the protected bicycle lanes to the northern districts next year.`

// reference is a hand-written three-sentence summary of article.
const reference = `The city council opened protected bicycle lanes downtown, connecting the station, the university and the harbour.
The lanes, paid with 4.5 million euros from the regional transport fund, answer years of requests from cycling groups.
The council will count cyclists every month and may extend the lanes to the northern districts.`

func TestSummarizeEmpty(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"", " ", "\n\n\t ", "-- ** --", "\u00a0\u3000"} {
		if got := Summarize(text, Options{}); got != nil {
			t.Errorf("Summarize(%q) = %v, want nil", text, got)
		}
	}
}

func TestSummarizeDeterministic(t *testing.T) {
	t.Parallel()
	want := Summarize(article, Options{MaxSentences: 3})
	for range 20 {
		if got := Summarize(article, Options{MaxSentences: 3}); !slices.Equal(got, want) {
			t.Fatalf("second run differs:\n%v\n%v", got, want)
		}
	}
}

func TestSummarizeDocumentOrderAndOffsets(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 3, 5, 8, 50} {
		got := Summarize(article, Options{MaxSentences: n})
		if len(got) != min(n, 12) {
			t.Errorf("MaxSentences %d: got %d sentences", n, len(got))
		}
		checkSentences(t, article, got)
	}
}

// checkSentences checks that the sentences are in document order, that
// their offsets slice the input, and that Text is that slice collapsed.
func checkSentences(t *testing.T, text string, got []Sentence) {
	t.Helper()
	runes := []rune(text)
	prev := 0
	for i, s := range got {
		if s.Start < prev || s.Start >= s.End || s.End > len(runes) {
			t.Fatalf("sentence %d %+v: offsets out of order or range (prev end %d, %d runes)", i, s, prev, len(runes))
		}
		prev = s.End
		if slice := collapse(string(runes[s.Start:s.End])); slice != s.Text {
			t.Fatalf("sentence %d: runes[%d:%d] = %q, Text = %q", i, s.Start, s.End, slice, s.Text)
		}
		if s.Text != strings.Join(strings.Fields(s.Text), " ") {
			t.Fatalf("sentence %d: whitespace not collapsed: %q", i, s.Text)
		}
	}
}

func TestSummarizeBounds(t *testing.T) {
	t.Parallel()
	t.Run("default MaxSentences", func(t *testing.T) {
		t.Parallel()
		if got := Summarize(article, Options{}); len(got) != defaultMaxSentences {
			t.Errorf("got %d sentences, want %d", len(got), defaultMaxSentences)
		}
	})
	t.Run("MaxChars", func(t *testing.T) {
		t.Parallel()
		for _, maxChars := range []int{100, 150, 200, 300, 1000} {
			got := Summarize(article, Options{MaxSentences: 10, MaxChars: maxChars})
			if len(got) == 0 {
				t.Fatalf("MaxChars %d: no sentence", maxChars)
			}
			total := 0
			for _, s := range got {
				total += utf8.RuneCountInString(s.Text)
			}
			if total > maxChars {
				t.Errorf("MaxChars %d: summed length %d", maxChars, total)
			}
			checkSentences(t, article, got)
		}
	})
	t.Run("at least one", func(t *testing.T) {
		t.Parallel()
		got := Summarize(article, Options{MaxChars: 5})
		if len(got) != 1 {
			t.Fatalf("got %d sentences, want 1 when none fits", len(got))
		}
		checkSentences(t, article, got)
	})
	t.Run("default MaxChars", func(t *testing.T) {
		t.Parallel()
		long := strings.Repeat("Every cat likes every dog and every bird sings about the cats today. ", 300)
		got := Summarize(long, Options{MaxSentences: 100})
		total := 0
		for _, s := range got {
			total += utf8.RuneCountInString(s.Text)
		}
		if total > defaultMaxChars || len(got) == 0 {
			t.Errorf("got %d sentences of %d code points, want at most %d", len(got), total, defaultMaxChars)
		}
	})
}

func TestSummarizeLeadFallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		opts Options
		want []string
	}{
		{"one sentence", "Only one sentence here.", Options{}, []string{"Only one sentence here."}},
		{"two sentences", "First one. Second one.", Options{MaxSentences: 1}, []string{"First one."}},
		{
			"no shared term",
			"Alpha beta gamma. Delta epsilon zeta. Eta theta iota. Kappa lambda mu.",
			Options{MaxSentences: 2},
			[]string{"Alpha beta gamma.", "Delta epsilon zeta."},
		},
		{
			"stop words only shared",
			"The cat is here. The dog is there. The fish was in it.",
			Options{MaxSentences: 1},
			[]string{"The cat is here."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, s := range Summarize(tt.text, tt.opts) {
				got = append(got, s.Text)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSummarizeRanksCentralSentences(t *testing.T) {
	t.Parallel()
	got := Summarize(article, Options{MaxSentences: 3})
	for _, s := range got {
		for _, aside := range []string{"rained", "cafés", "football", "City Opens"} {
			if strings.Contains(s.Text, aside) {
				t.Errorf("summary picked an aside: %q", s.Text)
			}
		}
	}
}

// TestSummarizeROUGE1 checks the summary against the hand-written reference
// with ROUGE-1 recall (unigram overlap on content words), and checks that it
// beats the worst three sentences of the article.
func TestSummarizeROUGE1(t *testing.T) {
	t.Parallel()
	var picked []string
	for _, s := range Summarize(article, Options{MaxSentences: 3}) {
		picked = append(picked, s.Text)
	}
	score := rouge1(strings.Join(picked, " "), reference)
	const asides = "It rained for most of the morning. Local cafés reported a quiet day. A football match was postponed because of the weather."
	baseline := rouge1(asides, reference)
	t.Logf("ROUGE-1 recall %.2f (asides %.2f): %q", score, baseline, picked)
	if score < 0.45 {
		t.Errorf("ROUGE-1 recall %.2f, want at least 0.45", score)
	}
	if score <= baseline {
		t.Errorf("ROUGE-1 recall %.2f does not beat the asides (%.2f)", score, baseline)
	}
}

// rouge1 is the ROUGE-1 recall of candidate against reference over
// stemmed content words, with clipped counts.
func rouge1(candidate, reference string) float64 {
	count := func(s string) map[string]int {
		m := map[string]int{}
		for _, w := range appendTerms(nil, s) {
			m[w]++
		}
		return m
	}
	c, r := count(candidate), count(reference)
	hit, total := 0, 0
	for w, n := range r {
		hit += min(n, c[w])
		total += n
	}
	if total == 0 {
		return 0
	}
	return float64(hit) / float64(total)
}

func TestSummarizeTiesByPosition(t *testing.T) {
	t.Parallel()
	// Every sentence is the same: scores tie, so the leading ones win.
	text := strings.Repeat("Cats chase mice. ", 10)
	got := Summarize(text, Options{MaxSentences: 3})
	want := []Sentence{{"Cats chase mice.", 0, 16}, {"Cats chase mice.", 17, 33}, {"Cats chase mice.", 34, 50}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestSummarizeMultiByte(t *testing.T) {
	t.Parallel()
	text := "東京は日本の首都です。東京の人口は多いです。大阪も大きな都市です。京都は古い都市です。東京タワーは有名です。"
	got := Summarize(text, Options{MaxSentences: 2})
	if len(got) != 2 {
		t.Fatalf("got %v, want 2 sentences", got)
	}
	checkSentences(t, text, got)
}

func TestSummarizeInvalidUTF8(t *testing.T) {
	t.Parallel()
	text := "Bad \xff bytes here. More \xfe bad bytes. Bytes again here."
	got := Summarize(text, Options{})
	if len(got) == 0 {
		t.Fatal("no sentence")
	}
	runes := []rune(text)
	for _, s := range got {
		if !utf8.ValidString(s.Text) {
			t.Errorf("invalid UTF-8 in %q", s.Text)
		}
		if collapse(string(runes[s.Start:s.End])) != s.Text {
			t.Errorf("offsets [%d:%d] do not slice %q", s.Start, s.End, s.Text)
		}
	}
}

// TestSummarizeLargeText checks that a 10 MiB text stays fast: only its
// first sentences are ranked.
func TestSummarizeLargeText(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("large input")
	}
	text := generate(10<<20, 1)
	start := time.Now()
	got := Summarize(text, Options{})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Summarize took %s on 10 MiB", d)
	}
	if len(got) != defaultMaxSentences {
		t.Errorf("got %d sentences", len(got))
	}
	// One sentence of 10 MiB without punctuation or space.
	got = Summarize(strings.Repeat("x", 10<<20), Options{})
	if len(got) == 0 {
		t.Fatal("no sentence")
	}
	total := 0
	for _, s := range got {
		n := utf8.RuneCountInString(s.Text)
		if n > maxSentenceRunes {
			t.Errorf("sentence of %d runes, want at most %d", n, maxSentenceRunes)
		}
		total += n
	}
	if total > defaultMaxChars {
		t.Errorf("summary of %d runes", total)
	}
}

// generate returns about size bytes of sentences drawn from a small
// vocabulary, deterministically from seed.
func generate(size int, seed uint64) string {
	words := strings.Fields(`market growth policy council bicycle river energy price school
		research hospital harbour train budget report climate water farmer museum festival
		election court village bridge company worker union software network ocean forest`)
	fill := strings.Fields(`the a of in and to with for on by`)
	rng := rand.New(rand.NewPCG(seed, seed))
	var b strings.Builder
	b.Grow(size + 200)
	for b.Len() < size {
		n := 6 + rng.IntN(14)
		for i := range n {
			w := words[rng.IntN(len(words))]
			if i%3 == 2 {
				w = fill[rng.IntN(len(fill))]
			}
			if i == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			}
			b.WriteString(w)
			if i < n-1 {
				b.WriteByte(' ')
			}
		}
		b.WriteString(". ")
		if rng.IntN(8) == 0 {
			b.WriteString("\n\n")
		}
	}
	return b.String()
}

func BenchmarkSummarize(b *testing.B) {
	for _, size := range []int{10 << 10, 1 << 20} {
		text := generate(size, 7)
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				Summarize(text, Options{})
			}
		})
	}
}

func FuzzSummarize(f *testing.F) {
	f.Add(article, 3, 0)
	f.Add("Dr. Smith. U.S. 3.14... “Yes!” she said.\n\n- item\n1. two", 5, 100)
	f.Add("今天天气很好。我们去公园吧！", 1, 1)
	f.Add("\xff\xfe. \r\n\r\n a) b", 2, 10)
	f.Add("", 0, 0)
	f.Fuzz(func(t *testing.T, text string, maxSentences, maxChars int) {
		maxSentences %= 50
		got := Summarize(text, Options{MaxSentences: maxSentences, MaxChars: maxChars})
		n := utf8.RuneCountInString(text)
		prev := 0
		limit := maxSentences
		if limit <= 0 {
			limit = defaultMaxSentences
		}
		if len(got) > limit {
			t.Fatalf("%d sentences, want at most %d", len(got), limit)
		}
		for i, s := range got {
			if s.Start < prev || s.Start >= s.End || s.End > n {
				t.Fatalf("sentence %d %+v: offsets out of order or range (prev %d, len %d)", i, s, prev, n)
			}
			if s.Text == "" || !utf8.ValidString(s.Text) {
				t.Fatalf("sentence %d: bad text %q", i, s.Text)
			}
			prev = s.End
		}
		if strings.TrimSpace(text) == "" && got != nil {
			t.Fatalf("blank text gave %v", got)
		}
	})
}
