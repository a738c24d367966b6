package extract

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract/chunk"
)

// docFrom builds a Document the way the Extractor does: pages split at
// form feeds, headings from lines starting with '#' (their level the
// number of '#'), placed after normalize.
func docFrom(text string, maxChars int) *Document {
	doc := &Document{}
	for i, pt := range strings.Split(text, "\f") {
		doc.Pages = append(doc.Pages, Page{Number: i + 1, Text: pt})
		offset := 0
		for line := range strings.SplitAfterSeq(pt, "\n") {
			if t := strings.TrimRight(line, "\n"); strings.HasPrefix(t, "#") {
				level := len(t) - len(strings.TrimLeft(t, "#"))
				doc.Headings = append(doc.Headings, Heading{Level: level, Text: t, Page: i + 1, Start: offset})
			}
			offset += utf8.RuneCountInString(line)
		}
	}
	normalize(doc, nil, maxChars)
	placeHeadings(doc)
	return doc
}

func mustChunk(t testing.TB, doc *Document, o ChunkOptions) []Chunk {
	t.Helper()
	chunks, err := chunkDocument(doc, o)
	if err != nil {
		t.Fatalf("chunkDocument(%+v): %v", o, err)
	}
	return chunks
}

var chunkIDPattern = regexp.MustCompile(`^chk_[0-9a-f]{16}$`)

// checkChunks checks what every chunk list promises: exact text and
// offsets, ids, pages, heading paths never nil, order, caps (unless the
// chunk is one piece of a word longer than the cap), overlap within a
// segment, and every non-space character of the text covered.
func checkChunks(t testing.TB, doc *Document, o ChunkOptions, chunks []Chunk) {
	t.Helper()
	o = o.withDefaults()
	runes := []rune(doc.Text)
	covered := 0
	for k, c := range chunks {
		if c.Start < 0 || c.End > len(runes) || c.Start >= c.End {
			t.Fatalf("chunk %d [%d,%d) out of range (text %d)", k, c.Start, c.End, len(runes))
		}
		if want := string(runes[c.Start:c.End]); c.Text != want {
			t.Fatalf("chunk %d text %q, want text[%d:%d] = %q", k, c.Text, c.Start, c.End, want)
		}
		if !chunkIDPattern.MatchString(c.ID) || c.ID != new(idHasher).id(c.Text, c.Start) {
			t.Errorf("chunk %d id %q", k, c.ID)
		}
		if c.HeadingPath == nil {
			t.Errorf("chunk %d: nil heading path", k)
		}
		if c.PageStart > c.PageEnd || pageOf(doc.Pages, c.Start) != c.PageStart || pageOf(doc.Pages, c.End-1) != c.PageEnd {
			t.Errorf("chunk %d [%d,%d): pages %d-%d", k, c.Start, c.End, c.PageStart, c.PageEnd)
		}
		if o.Strategy == ChunkByPage && c.PageStart != c.PageEnd {
			t.Errorf("by_page chunk %d spans pages %d-%d", k, c.PageStart, c.PageEnd)
		}
		first, _ := utf8.DecodeRuneInString(c.Text)
		last, _ := utf8.DecodeLastRuneInString(c.Text)
		if unicode.IsSpace(first) || unicode.IsSpace(last) {
			t.Errorf("chunk %d %q starts or ends with white space", k, c.Text)
		}
		split := o.split()
		if n := chunk.Count(c.Text, split.Unit); n > split.Max && strings.ContainsFunc(c.Text, unicode.IsSpace) {
			t.Errorf("chunk %d: size %d over the cap %d: %q", k, n, split.Max, c.Text)
		}
		if k > 0 {
			p := chunks[k-1]
			if c.Start <= p.Start || c.End < p.End && c.Start < p.End {
				t.Fatalf("chunk %d [%d,%d) out of order after [%d,%d)", k, c.Start, c.End, p.Start, p.End)
			}
			if c.Start < p.End {
				if n := chunk.Count(string(runes[c.Start:p.End]), split.Unit); n > o.Overlap {
					t.Errorf("chunk %d repeats %d units of the last, over the overlap %d", k, n, o.Overlap)
				}
			}
		}
		if covered < c.Start {
			if gap := string(runes[covered:c.Start]); strings.TrimFunc(gap, unicode.IsSpace) != "" {
				t.Fatalf("chunk %d: %q before it is in no chunk", k, gap)
			}
		}
		covered = max(covered, c.End)
	}
	if rest := string(runes[covered:]); strings.TrimFunc(rest, unicode.IsSpace) != "" {
		t.Fatalf("the end of the text %q is in no chunk", rest)
	}
}

// checkHeadings: every heading stands in the text where Start says.
func checkHeadings(t testing.TB, doc *Document) {
	t.Helper()
	runes := []rune(doc.Text)
	for i, h := range doc.Headings {
		if h.Start < 0 || h.Start > len(runes) || !strings.HasPrefix(string(runes[h.Start:]), h.Text) {
			t.Fatalf("heading %d %q at %d is not in the text", i, h.Text, h.Start)
		}
		if h.Level < 1 || h.Level > 6 {
			t.Fatalf("heading %d level %d", i, h.Level)
		}
		if i > 0 && h.Start <= doc.Headings[i-1].Start {
			t.Fatalf("headings out of order at %d", i)
		}
	}
}

func TestChunkDocumentHeadingPaths(t *testing.T) {
	t.Parallel()
	text := "Preface text.\n\n# Book\n\n## Chapter 1\n\nOne.\n\n## Chapter 2\n\n### 2.1 Setup\n\nInstall it.\n\n### 2.2 Use\n\nRun it.\n\n# Appendix\n\nMore."
	doc := docFrom(text, 1<<20)
	checkHeadings(t, doc)
	if len(doc.Headings) != 6 {
		t.Fatalf("headings = %+v", doc.Headings)
	}
	o := ChunkOptions{Strategy: ChunkByHeading, MaxChars: 1000}
	chunks := mustChunk(t, doc, o)
	checkChunks(t, doc, o, chunks)
	type row struct {
		text string
		path []string
	}
	var got []row
	for _, c := range chunks {
		got = append(got, row{c.Text, c.HeadingPath})
	}
	want := []row{
		{"Preface text.", []string{}},
		// "# Book" alone goes with its first subsection.
		{"# Book\n\n## Chapter 1\n\nOne.", []string{"# Book", "## Chapter 1"}},
		{"## Chapter 2\n\n### 2.1 Setup\n\nInstall it.", []string{"# Book", "## Chapter 2", "### 2.1 Setup"}},
		{"### 2.2 Use\n\nRun it.", []string{"# Book", "## Chapter 2", "### 2.2 Use"}},
		{"# Appendix\n\nMore.", []string{"# Appendix"}},
	}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Errorf("by_heading chunks\n%q\nwant\n%q", got, want)
	}
	// Fixed chunks know their headings too.
	o = ChunkOptions{MaxChars: 30}
	chunks = mustChunk(t, doc, o)
	checkChunks(t, doc, o, chunks)
	for _, c := range chunks {
		if strings.Contains(c.Text, "Install it.") && !slices.Contains(c.HeadingPath, "### 2.1 Setup") {
			t.Errorf("fixed chunk %q: path %q", c.Text, c.HeadingPath)
		}
	}
}

func TestChunkDocumentByPage(t *testing.T) {
	t.Parallel()
	doc := docFrom("Page one text.\fPage two is longer. It has two sentences.\f \f"+strings.Repeat("word ", 30), 1<<20)
	o := ChunkOptions{Strategy: ChunkByPage, MaxChars: 36, Overlap: 10}
	chunks := mustChunk(t, doc, o)
	checkChunks(t, doc, o, chunks)
	var got []string
	for _, c := range chunks {
		got = append(got, fmt.Sprintf("%d:%s", c.PageStart, c.Text))
	}
	want := []string{
		"1:Page one text.",
		"2:Page two is longer.",
		"2:is longer. It has two sentences.", // the overlap: at most 10, from a word boundary
		// 30 words: 7 a chunk, the last 2 repeated.
		"4:word word word word word word word",
		"4:word word word word word word word",
		"4:word word word word word word word",
		"4:word word word word word word word",
		"4:word word word word word word word",
		"4:word word word word word",
	}
	if !slices.Equal(got, want) {
		t.Errorf("by_page chunks\n%q\nwant\n%q", got, want)
	}
}

func TestChunkDocumentWithoutHeadingsFallsBack(t *testing.T) {
	t.Parallel()
	doc := docFrom("Plain text without any heading. "+strings.Repeat("More words here. ", 20), 1<<20)
	a := mustChunk(t, doc, ChunkOptions{Strategy: ChunkByHeading, MaxChars: 100})
	b := mustChunk(t, doc, ChunkOptions{Strategy: ChunkFixed, MaxChars: 100})
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("by_heading without headings differs from fixed")
	}
}

func TestChunkDocumentEmpty(t *testing.T) {
	t.Parallel()
	doc := docFrom(" \n\n ", 1<<20)
	chunks := mustChunk(t, doc, ChunkOptions{})
	if chunks == nil || len(chunks) != 0 {
		t.Fatalf("chunks = %#v, want empty and not nil", chunks)
	}
	doc.Chunks = chunks
	b, _ := json.Marshal(doc)
	if !strings.Contains(string(b), `"chunks":[]`) {
		t.Errorf("JSON %s lacks \"chunks\":[]", b)
	}
	b, _ = json.Marshal(&Document{})
	if strings.Contains(string(b), "chunks") {
		t.Errorf("JSON %s has chunks nobody asked for", b)
	}
	one := mustChunk(t, docFrom("word", 10), ChunkOptions{})
	b, _ = json.Marshal(one)
	if !strings.Contains(string(b), `"heading_path":[]`) {
		t.Errorf("JSON %s: heading_path is not []", b)
	}
}

func TestChunkDocumentTooManyChunks(t *testing.T) {
	t.Parallel()
	doc := docFrom(strings.Repeat("a ", MaxChunks+1), 1<<22)
	_, err := chunkDocument(doc, ChunkOptions{MaxChars: 1})
	if oe, ok := err.(*OptionError); !ok || oe.Field != "chunking.max_chars" {
		t.Fatalf("err = %v, want an OptionError on chunking.max_chars", err)
	}
	heads := docFrom(strings.Repeat("# h\n", MaxChunks+1), 1<<22)
	if _, err := chunkDocument(heads, ChunkOptions{Strategy: ChunkByHeading, MaxTokens: 100}); err == nil || !strings.Contains(err.Error(), "max_tokens") {
		t.Fatalf("by_heading over MaxChunks sections: err = %v", err)
	}
}

func TestChunkDocumentDeterministicIDs(t *testing.T) {
	t.Parallel()
	text := strings.Repeat("Same sentence again. ", 50)
	a := mustChunk(t, docFrom(text, 1<<20), ChunkOptions{MaxChars: 100})
	b := mustChunk(t, docFrom(text, 1<<20), ChunkOptions{MaxChars: 100})
	seen := map[string]bool{}
	for i := range a {
		if a[i].ID != b[i].ID {
			t.Fatalf("chunk %d: ids %s and %s", i, a[i].ID, b[i].ID)
		}
		if seen[a[i].ID] {
			t.Fatalf("chunk %d: id %s repeats (same text, other offset)", i, a[i].ID)
		}
		seen[a[i].ID] = true
	}
}

func TestPlaceHeadings(t *testing.T) {
	t.Parallel()
	t.Run("pages left out or cut", func(t *testing.T) {
		doc := &Document{
			Pages: []Page{{Text: "Intro\n\nbody"}, {Text: "Two\n\nbody"}, {Text: "Three\n\nmore body text"}},
			Headings: []Heading{
				{Level: 1, Text: "Intro", Page: 1, Start: 0},
				{Level: 1, Text: "Two", Page: 2, Start: 0},
				{Level: 2, Text: "body", Page: 2, Start: 5},
				{Level: 1, Text: "Three", Page: 3, Start: 0},
			},
		}
		shared := slices.Clone(doc.Headings)
		normalize(doc, map[int]bool{2: true, 3: true}, 14) // page 1 left out; page 3 cut after "Thr"
		placeHeadings(doc)
		checkHeadings(t, doc)
		want := []Heading{{Level: 1, Text: "Two", Page: 2, Start: 0}, {Level: 2, Text: "body", Page: 2, Start: 5}}
		if !slices.Equal(doc.Headings, want) {
			t.Errorf("headings %+v, want %+v (text %q)", doc.Headings, want, doc.Text)
		}
		if shared[1].Start != 0 {
			t.Errorf("the parser's headings were changed")
		}
	})
	t.Run("text cleaned before the heading", func(t *testing.T) {
		doc := &Document{Text: "line\r\nline\r\n\r\nHeading\r\nbody\x00 \xff\xfe Second\n", Headings: []Heading{
			{Level: 1, Text: "Heading", Start: 14},
			{Level: 2, Text: "Second", Start: 32},
			{Level: 2, Text: "Nowhere", Start: 30},
		}}
		normalize(doc, nil, 1<<20)
		placeHeadings(doc)
		checkHeadings(t, doc)
		if len(doc.Headings) != 2 || doc.Headings[0].Start != 11 || doc.Headings[0].Page != 1 {
			t.Errorf("headings %+v in %q", doc.Headings, doc.Text)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		doc := &Document{Text: "Alpha\n\nBeta", Headings: []Heading{
			{Level: 9, Text: " Beta ", Start: 7},
			{Level: 0, Text: "Alpha", Start: 0},
			{Level: 1, Text: "", Start: 3},
			{Level: 1, Text: "Alpha", Start: -4},
			{Level: 1, Text: "Beta", Page: 7, Start: 7},
		}}
		normalize(doc, nil, 1<<20)
		placeHeadings(doc)
		checkHeadings(t, doc)
		want := []Heading{{Level: 1, Text: "Alpha", Page: 1, Start: 0}, {Level: 6, Text: "Beta", Page: 1, Start: 7}}
		if !slices.Equal(doc.Headings, want) {
			t.Errorf("headings %+v, want %+v", doc.Headings, want)
		}
	})
}

// randomDoc builds pages of words, sentences, CJK, headings and white
// space.
func randomDoc(r *rand.Rand, n int) string {
	parts := []string{"the", "quick", "brown", "fox.", "Jumps!", "over", "e.g.", "lazy", "dog?", "日本語の文章です。",
		"naïve", "🙂", "3.14", strings.Repeat("long", 30), "(aside)", "\"quoted.\""}
	seps := []string{" ", " ", " ", "\n", "\n\n", "\t", "", "\f", "\r\n"}
	var b strings.Builder
	for b.Len() < n {
		if r.IntN(12) == 0 {
			b.WriteString("\n" + strings.Repeat("#", 1+r.IntN(4)) + " Heading " + fmt.Sprint(r.IntN(100)) + "\n")
		}
		b.WriteString(parts[r.IntN(len(parts))])
		b.WriteString(seps[r.IntN(len(seps))])
	}
	return b.String()
}

func TestChunkDocumentProperties(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	strategies := []string{"", ChunkFixed, ChunkByPage, ChunkByHeading}
	for i := range 300 {
		doc := docFrom(randomDoc(r, r.IntN(4000)), 1+r.IntN(5000))
		checkHeadings(t, doc)
		o := ChunkOptions{Strategy: strategies[r.IntN(len(strategies))]}
		if r.IntN(2) == 0 {
			o.MaxChars = 1 + r.IntN(300)
		} else {
			o.MaxTokens = 1 + r.IntN(80)
		}
		o.Overlap = r.IntN(o.withDefaults().size()/2 + 1)
		if err := o.Validate(); err != nil {
			t.Fatalf("case %d: %+v: %v", i, o, err)
		}
		chunks := mustChunk(t, doc, o)
		checkChunks(t, doc, o, chunks)
		if again := mustChunk(t, doc, o); fmt.Sprint(again) != fmt.Sprint(chunks) {
			t.Fatalf("case %d: not deterministic", i)
		}
		if t.Failed() {
			t.Fatalf("case %d: %+v on %q", i, o, doc.Text)
		}
	}
}

// FuzzChunk chunks documents built from arbitrary text (pages at form
// feeds, headings at lines starting with '#') with arbitrary options, and
// checks the properties of checkChunks. Seeds are in
// testdata/fuzz/FuzzChunk.
func FuzzChunk(f *testing.F) {
	f.Add("# Title\n\nSome text. More text.\f## Page two\n\nbody", uint8(3), 20, 5, false, 1000)
	f.Add("word", uint8(0), 1, 0, true, 10)
	f.Fuzz(func(t *testing.T, text string, strategy uint8, maxSize, overlap int, tokens bool, maxChars int) {
		if len(text) > 1<<16 {
			t.Skip()
		}
		doc := docFrom(text, 1+abs(maxChars)%(1<<17))
		checkHeadings(t, doc)
		o := ChunkOptions{Strategy: []string{"", ChunkFixed, ChunkByPage, ChunkByHeading}[strategy%4]}
		size := 1 + abs(maxSize)%2000
		if tokens {
			o.MaxTokens = size
		} else {
			o.MaxChars = size
		}
		o.Overlap = abs(overlap) % (size/2 + 1)
		if err := o.Validate(); err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		checkChunks(t, doc, o, mustChunk(t, doc, o))
	})
}

func abs(n int) int {
	if n < 0 {
		return -(n + 1)
	}
	return n
}

func TestChunkOptionsValidate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		o     ChunkOptions
		field string
	}{
		{ChunkOptions{}, ""},
		{ChunkOptions{Strategy: ChunkByHeading, MaxTokens: 512, Overlap: 256}, ""},
		{ChunkOptions{Strategy: ChunkByPage, MaxChars: MaxChunkSize}, ""},
		{ChunkOptions{Overlap: DefaultChunkMaxChars / 2}, ""},
		{ChunkOptions{Strategy: "sentences"}, "chunking.strategy"},
		{ChunkOptions{Strategy: "FIXED"}, "chunking.strategy"},
		{ChunkOptions{MaxChars: -1}, "chunking.max_chars"},
		{ChunkOptions{MaxChars: MaxChunkSize + 1}, "chunking.max_chars"},
		{ChunkOptions{MaxTokens: -5}, "chunking.max_tokens"},
		{ChunkOptions{MaxTokens: MaxChunkSize + 1}, "chunking.max_tokens"},
		{ChunkOptions{MaxChars: 100, MaxTokens: 100}, "chunking.max_tokens"},
		{ChunkOptions{Overlap: -1}, "chunking.overlap"},
		{ChunkOptions{MaxChars: 100, Overlap: 51}, "chunking.overlap"},
		{ChunkOptions{MaxChars: 100, Overlap: 100}, "chunking.overlap"},
		{ChunkOptions{MaxTokens: 10, Overlap: 6}, "chunking.overlap"},
		{ChunkOptions{Overlap: DefaultChunkMaxChars/2 + 1}, "chunking.overlap"},
	} {
		err := c.o.Validate()
		if c.field == "" {
			if err != nil {
				t.Errorf("%+v: %v", c.o, err)
			}
			continue
		}
		oe, ok := err.(*OptionError)
		if !ok || oe.Field != c.field {
			t.Errorf("%+v: err = %v, want an OptionError on %s", c.o, err, c.field)
		}
	}
}

func BenchmarkChunkDocument(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	doc := docFrom(randomDoc(r, 10<<20), 20<<20)
	b.Logf("%d headings, %d pages", len(doc.Headings), len(doc.Pages))
	for _, o := range []ChunkOptions{{}, {MaxTokens: 512, Overlap: 64}, {Strategy: ChunkByPage}, {Strategy: ChunkByHeading, Overlap: 200}} {
		b.Run(fmt.Sprintf("%s-%d-%d-%d", o.withDefaults().Strategy, o.MaxChars, o.MaxTokens, o.Overlap), func(b *testing.B) {
			b.SetBytes(int64(len(doc.Text)))
			b.ReportAllocs()
			for b.Loop() {
				mustChunk(b, doc, o)
			}
		})
	}
}
