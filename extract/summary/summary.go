// Package summary writes deterministic extractive summaries: it ranks the
// sentences of a text by centrality (TextRank over sentence similarity) and
// returns the best ones in document order.
package summary

// Options tune a summary.
type Options struct {
	// MaxSentences is the most sentences returned (default 5).
	MaxSentences int
	// MaxChars bounds the summed length of the returned sentences in code
	// points (default 2000); at least one sentence is always returned when
	// the text has any.
	MaxChars int
}

// Sentence is one sentence of the input text.
type Sentence struct {
	// Text is the sentence with its inner whitespace collapsed.
	Text string
	// Start and End are offsets of the sentence in the input, in code points.
	Start, End int
}

// Summarize returns the most central sentences of text, in document order.
func Summarize(text string, opts Options) []Sentence {
	panic("not implemented yet")
}
