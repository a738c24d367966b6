package summary

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// sentences returns the collapsed texts of the sentences of text.
func sentences(text string) []string {
	var out []string
	for _, sp := range splitSpans(text, maxSentences) {
		out = append(out, collapse(text[sp.startB:sp.endB]))
	}
	return out
}

func TestSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"empty", "", nil},
		{"blank", " \n\t\n ", nil},
		{"punctuation only", "---\n\n***", nil},
		{"one", "Hello world.", []string{"Hello world."}},
		{"no final punctuation", "Hello world", []string{"Hello world"}},
		{"three kinds", "It rained. Did it? Yes! Fine.", []string{"It rained.", "Did it?", "Yes!", "Fine."}},
		{"abbreviation title", "Dr. Smith arrived late. He sat down.", []string{"Dr. Smith arrived late.", "He sat down."}},
		{"abbreviation mr mrs", "Mr. and Mrs. Jones left. They waved.", []string{"Mr. and Mrs. Jones left.", "They waved."}},
		{"e.g.", "Use a tool, e.g. a hammer. Then stop.", []string{"Use a tool, e.g. a hammer.", "Then stop."}},
		{"i.e. before capital", "One city, i.e. Paris, was chosen. It won.", []string{"One city, i.e. Paris, was chosen.", "It won."}},
		{"U.S.", "The U.S. economy grew. Markets rose.", []string{"The U.S. economy grew.", "Markets rose."}},
		{"U.S. before capital", "He moved to the U.S. President Lee spoke.", []string{"He moved to the U.S. President Lee spoke."}},
		{"etc before lower", "Apples, pears, etc. are fruit. Carrots are not.", []string{"Apples, pears, etc. are fruit.", "Carrots are not."}},
		{"decimal", "Pi is about 3.14 today. It was 2.5 yesterday.", []string{"Pi is about 3.14 today.", "It was 2.5 yesterday."}},
		{"decimal at end", "The rate rose to 4.5. Then it fell.", []string{"The rate rose to 4.5.", "Then it fell."}},
		{"number at end", "It happened in 2020. Nobody knew.", []string{"It happened in 2020.", "Nobody knew."}},
		{"initials", "J. R. R. Tolkien wrote it. John F. Kennedy read it.", []string{"J. R. R. Tolkien wrote it.", "John F. Kennedy read it."}},
		{"pronoun I", "So did I. Then we left.", []string{"So did I.", "Then we left."}},
		{"no. before number", "See No. 5 in the list. No. They refused.", []string{"See No. 5 in the list.", "No.", "They refused."}},
		{"ellipsis upper", "Wait... What happened? Nothing.", []string{"Wait...", "What happened?", "Nothing."}},
		{"ellipsis lower", "I think... maybe not.", []string{"I think... maybe not."}},
		{"unicode ellipsis", "Well… Then go.", []string{"Well…", "Then go."}},
		{"interrobang", "Really?! Yes.", []string{"Really?!", "Yes."}},
		{"quote closes", `"Stop!" She ran. "Why?" he asked. Done.`, []string{`"Stop!"`, `She ran.`, `"Why?" he asked.`, `Done.`}},
		{"curly quotes", "He said “go.” Then left.", []string{"He said “go.”", "Then left."}},
		{"bracket", "It works (mostly.) Then fails.", []string{"It works (mostly.)", "Then fails."}},
		{"url", "Visit example.com today. Or not.", []string{"Visit example.com today.", "Or not."}},
		{"url at end", "Visit www.example.com. Then rest.", []string{"Visit www.example.com.", "Then rest."}},
		{"cjk", "今天天气很好。我们去公园吧！你来吗？好的", []string{"今天天气很好。", "我们去公园吧！", "你来吗？", "好的"}},
		{"cjk quote", "他说：「走吧。」然后离开了。", []string{"他说：「走吧。」", "然后离开了。"}},
		{"japanese", "これはペンです。あれは本です。", []string{"これはペンです。", "あれは本です。"}},
		{"blank line", "First paragraph without stop\n\nsecond paragraph", []string{"First paragraph without stop", "second paragraph"}},
		{"blank line with spaces", "One\n  \t\nTwo", []string{"One", "Two"}},
		{"crlf blank line", "One\r\n\r\nTwo", []string{"One", "Two"}},
		{"form feed", "Page one\fPage two", []string{"Page one", "Page two"}},
		{"wrapped line", "The committee met on a rainy day and\ndecided to adjourn early. Everyone left.", []string{"The committee met on a rainy day and decided to adjourn early.", "Everyone left."}},
		{"wrapped before capital", "The report was written by members of the\nFederal Reserve in the spring. It is long.", []string{"The report was written by members of the Federal Reserve in the spring.", "It is long."}},
		{"heading", "Quarterly Results\nRevenue grew by a lot. Costs fell.", []string{"Quarterly Results", "Revenue grew by a lot.", "Costs fell."}},
		{"heading number", "1 Introduction\nThis paper studies cats.", []string{"1 Introduction", "This paper studies cats."}},
		{"colon", "You need the following:\nA hammer and nails", []string{"You need the following:", "A hammer and nails"}},
		{"dash list", "Items:\n- apples\n- pears\n  - small ones", []string{"Items:", "apples", "pears", "small ones"}},
		{"bullet list", "• first item\n• second item", []string{"first item", "second item"}},
		{"numbered list", "Steps\n1. open the box\n2) take the thing\n(3) close it", []string{"Steps", "open the box", "take the thing", "close it"}},
		{"letter list", "a) red\nb) green\niv. blue", []string{"red", "green", "blue"}},
		{"not a list", "-5 degrees today\n3.14 is pi", []string{"-5 degrees today 3.14 is pi"}},
		{"marker at start", "- only item", []string{"only item"}},
		{"whitespace collapse", "Lots   of\t\tspace   here.", []string{"Lots of space here."}},
		{"trailing spaces", "  Hi there.   ", []string{"Hi there."}},
		{"lower after stop", "the end. and more", []string{"the end. and more"}},
		{"digit after stop", "Chapter ends. 42 people came.", []string{"Chapter ends.", "42 people came."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := sentences(tt.text)
			if !slices.Equal(got, tt.want) {
				t.Errorf("split(%q)\n got %q\nwant %q", tt.text, got, tt.want)
			}
			checkSpans(t, tt.text, splitSpans(tt.text, maxSentences))
		})
	}
}

// checkSpans checks that spans are in range, increasing, and that byte and
// code point offsets agree.
func checkSpans(t *testing.T, text string, spans []span) {
	t.Helper()
	runes := []rune(text)
	prevEnd := 0
	for i, sp := range spans {
		if sp.start < prevEnd || sp.start >= sp.end || sp.end > len(runes) {
			t.Fatalf("span %d = %+v out of order or range (prev end %d, %d runes)", i, sp, prevEnd, len(runes))
		}
		if got, want := string(runes[sp.start:sp.end]), strings.ToValidUTF8(text[sp.startB:sp.endB], "\uFFFD"); got != strings.ToValidUTF8(want, "\uFFFD") && utf8.ValidString(text) {
			t.Fatalf("span %d: runes %q != bytes %q", i, got, want)
		}
		prevEnd = sp.end
	}
}

func TestSplitHardCut(t *testing.T) {
	t.Parallel()
	text := strings.Repeat("word ", 1000) // 5000 runes, no punctuation
	spans := splitSpans(text, maxSentences)
	if len(spans) < 5 {
		t.Fatalf("got %d spans, want at least 5", len(spans))
	}
	for _, sp := range spans {
		if n := sp.end - sp.start; n > maxSentenceRunes {
			t.Errorf("span of %d runes, want at most %d", n, maxSentenceRunes)
		}
		if s := text[sp.startB:sp.endB]; strings.HasPrefix(s, "ord") || strings.HasSuffix(s, "wor") {
			t.Errorf("span cut inside a word: %q...", s[:10])
		}
	}
	checkSpans(t, text, spans)

	// No space at all: cut anyway.
	text = strings.Repeat("x", 2500)
	spans = splitSpans(text, maxSentences)
	if len(spans) != 3 {
		t.Fatalf("got %d spans, want 3", len(spans))
	}
	checkSpans(t, text, spans)
}

func TestSplitLimit(t *testing.T) {
	t.Parallel()
	text := strings.Repeat("A sentence here. ", 100)
	if got := len(splitSpans(text, 10)); got != 10 {
		t.Errorf("got %d spans, want 10", got)
	}
}

func TestSplitMultiByteOffsets(t *testing.T) {
	t.Parallel()
	text := "Ça va? Très bien. 日本語のテキスト。Ünïcödé ends"
	spans := splitSpans(text, maxSentences)
	checkSpans(t, text, spans)
	runes := []rune(text)
	var got []string
	for _, sp := range spans {
		got = append(got, string(runes[sp.start:sp.end]))
	}
	want := []string{"Ça va?", "Très bien.", "日本語のテキスト。", "Ünïcödé ends"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTerms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"The cats are running quickly", []string{"cat", "runn", "quick"}},
		{"Parties and party", []string{"party", "party"}},
		{"It's 42, x!", []string{"42"}},
		{"東京都", []string{"東京", "京都"}},
		{"猫 cat", []string{"猫", "cat"}},
		{"classes glasses", []string{"class", "glass"}},
	}
	for _, tt := range tests {
		if got := appendTerms(nil, tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("terms(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
