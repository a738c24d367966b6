// Package summary writes deterministic extractive summaries: it ranks the
// sentences of a text by centrality (TextRank over sentence similarity) and
// returns the best ones in document order.
//
// # Method
//
// [Summarize] works in four steps, none of which uses a library or a model:
//
//  1. Split the text into sentences (see Sentences below).
//  2. Turn each sentence into a set of terms: runs of Unicode letters and
//     digits, lower-cased, without a small list of English stop words, with
//     a crude suffix stripper ("parties" and "party" both become "party",
//     which is all the overlap measure needs). Han, Hiragana and Katakana,
//     which are written without spaces, become character bigrams.
//  3. Build the TextRank graph (Mihalcea and Tarau, 2004), whose edge
//     weights are given below.
//  4. Rank the sentences with weighted PageRank (damping 0.85, power
//     iteration until the scores, which sum to about 1, move by less than
//     1e-7 in L1 norm, at most 100 iterations), break ties by position,
//     and keep the best [Options.MaxSentences] sentences whose summed
//     length fits [Options.MaxChars], returned in document order.
//
// Two sentences a and b are linked with the weight
//
//	|terms(a) ∩ terms(b)| / (log(1+|a|) + log(1+|b|))
//
// where |a| is the number of terms of a. The original formula uses log|a|,
// which divides by zero for one-word sentences; the +1 keeps the ranking
// otherwise the same.
//
// TextRank was chosen over LexRank (TF-IDF cosine similarity with a
// threshold) because a summary sees one document only: IDF computed over
// the sentences of a single short text is noisy, and the cosine threshold is
// one more constant to tune per corpus. The overlap measure needs neither,
// works well with a crude stemmer, and is cheap to compute exactly on
// integer term IDs.
//
// When the text has fewer than three sentences, or no two sentences share a
// term (the graph has no edge, so centrality means nothing), the summary is
// the leading sentences ("lead" baseline), which is what a reader would
// skim anyway.
//
// # Sentences
//
// The splitter is rule-based:
//
//   - ".", "!", "?", "…" and runs of them ("?!", "...") end a sentence when
//     followed by whitespace and then anything but a lower-case letter, so
//     "3.14", "U.S." inside a word, "example.com" and `"Stop!" she said` stay
//     whole. Closing quotes and brackets after the punctuation belong to the
//     sentence.
//   - A single "." does not end a sentence after a known abbreviation
//     ("Dr.", "e.g.", "etc." before a lower-case word...), a dotted acronym
//     ("U.S.", "i.e.", "a.m.") or an initial ("J. R. R. Tolkien").
//   - The CJK full stops "。", "！" and "？" always end a sentence.
//   - A blank line always ends one, and so does a line break before a list
//     item ("- ", "* ", "• ", "1. ", "2) ", "a) ", "(iv) "); the list marker
//     is not part of the sentence. A single line break otherwise joins
//     hard-wrapped lines, except after a line that ends with ":" or looks
//     like a heading (a short line without final punctuation whose longer
//     words are all capitalised).
//   - A "sentence" longer than 1000 code points is cut at a space, so that a
//     text without punctuation still yields summary-sized pieces.
//
// Sentences without any letter or digit (rules such as "----") are dropped.
//
// # Bounds
//
// Only the first 2000 sentences are considered, and at most 64 distinct
// terms of each, so the O(n²) graph is built on a bounded set: a 10 MiB text
// costs little more than its first 2000 sentences (at most 2 million code
// points), and the splitter stops reading there.
package summary

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

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

// Defaults and bounds.
const (
	defaultMaxSentences = 5
	defaultMaxChars     = 2000

	// maxSentences is how many sentences of a text are considered.
	maxSentences = 2000
	// maxSentenceRunes is the longest sentence the splitter produces.
	maxSentenceRunes = 1000
	// maxTerms is how many distinct terms of a sentence the similarity
	// sees.
	maxTerms = 64
	// minGraphSentences is the fewest sentences ranked by TextRank; below
	// it the summary is the lead.
	minGraphSentences = 3

	damping   = 0.85
	maxIter   = 100
	tolerance = 1e-7
)

// Summarize returns the most central sentences of text, in document order.
// It returns nil when text has no sentence (it is empty, blank, or holds no
// letter or digit). The result is deterministic: the same text and options
// always give the same sentences.
//
// The result holds at most opts.MaxSentences sentences whose summed length
// is at most opts.MaxChars code points: sentences are taken best first,
// skipping those that would overflow the budget. When no sentence fits at
// all, the result is the best sentence alone, however long (at most 1000
// code points, see the splitter).
func Summarize(text string, opts Options) []Sentence {
	maxN := opts.MaxSentences
	if maxN <= 0 {
		maxN = defaultMaxSentences
	}
	maxChars := opts.MaxChars
	if maxChars <= 0 {
		maxChars = defaultMaxChars
	}
	spans := splitSpans(text, maxSentences)
	if len(spans) == 0 {
		return nil
	}
	order := rank(text, spans)
	picked := make([]int, 0, min(maxN, len(spans)))
	texts := make(map[int]string, maxN)
	total := 0
	for _, i := range order {
		if len(picked) == maxN {
			break
		}
		s := collapse(text[spans[i].startB:spans[i].endB])
		n := utf8.RuneCountInString(s)
		if total+n > maxChars {
			continue
		}
		picked = append(picked, i)
		texts[i] = s
		total += n
	}
	if len(picked) == 0 {
		// Every sentence alone is over the budget: the contract still
		// promises one, the best.
		i := order[0]
		picked = append(picked, i)
		texts[i] = collapse(text[spans[i].startB:spans[i].endB])
	}
	slices.Sort(picked)
	out := make([]Sentence, len(picked))
	for k, i := range picked {
		out[k] = Sentence{Text: texts[i], Start: spans[i].start, End: spans[i].end}
	}
	return out
}

// rank returns the indexes of spans, best first. It falls back to document
// order (the lead) when the text is too short or the graph has no edge.
func rank(text string, spans []span) []int {
	order := make([]int, len(spans))
	for i := range order {
		order[i] = i
	}
	if len(spans) < minGraphSentences {
		return order
	}
	terms := termSets(text, spans)
	scores := textRank(terms)
	if scores == nil {
		return order
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(scores[b], scores[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return order
}

// termSet is the sorted distinct term IDs of a sentence and its term count.
type termSet struct {
	ids []int32
	n   int
}

// termSets tokenizes every span. Term IDs are handed out in order of first
// appearance, so they do not depend on map iteration order.
func termSets(text string, spans []span) []termSet {
	vocab := map[string]int32{}
	sets := make([]termSet, len(spans))
	var buf []string
	for k, sp := range spans {
		buf = appendTerms(buf[:0], text[sp.startB:sp.endB])
		ids := make([]int32, 0, min(len(buf), maxTerms))
		seen := 0
		for _, t := range buf {
			id, ok := vocab[t]
			if !ok {
				id = int32(len(vocab))
				vocab[t] = id
			}
			if !slices.Contains(ids, id) {
				if seen == maxTerms {
					continue
				}
				ids = append(ids, id)
				seen++
			}
		}
		slices.Sort(ids)
		sets[k] = termSet{ids: ids, n: min(len(buf), 4*maxTerms)}
	}
	return sets
}

// textRank scores the sentences by weighted PageRank over the overlap
// graph. It returns nil when the graph has no edge.
//
// The graph is held as the packed upper triangle of its symmetric weight
// matrix in float32: 8 MB for the 2000 sentences considered at most, and a
// cache-friendly loop for the power iteration, which on real text is as
// fast as a sparse matrix (texts are dense in shared terms once the graph
// is large) and needs no edge list.
func textRank(sets []termSet) []float64 {
	n := len(sets)
	logLen := make([]float64, n)
	maxID := int32(-1)
	for i, s := range sets {
		logLen[i] = math.Log1p(float64(s.n))
		if len(s.ids) > 0 {
			maxID = max(maxID, s.ids[len(s.ids)-1])
		}
	}
	// mark[id] == i+1 when sentence i has term id.
	mark := make([]int32, maxID+1)
	tri := make([]float32, n*(n-1)/2)
	out := make([]float64, n) // summed edge weight of each node
	edges := 0
	for i := range n {
		for _, id := range sets[i].ids {
			mark[id] = int32(i + 1)
		}
		row := tri[rowOffset(n, i):]
		for j := i + 1; j < n; j++ {
			c := 0
			for _, id := range sets[j].ids {
				if mark[id] == int32(i+1) {
					c++
				}
			}
			if c == 0 {
				continue
			}
			w := float32(float64(c) / (logLen[i] + logLen[j]))
			row[j-i-1] = w
			out[i] += float64(w)
			out[j] += float64(w)
			edges++
		}
	}
	if edges == 0 {
		return nil
	}

	score := make([]float64, n)
	next := make([]float64, n)
	share := make([]float64, n)
	for i := range score {
		score[i] = 1 / float64(n)
	}
	base := (1 - damping) / float64(n)
	for range maxIter {
		for j := range n {
			share[j] = 0
			if out[j] > 0 {
				share[j] = score[j] / out[j]
			}
			next[j] = 0
		}
		for i := range n {
			row := tri[rowOffset(n, i) : rowOffset(n, i)+n-i-1]
			si := share[i]
			sum := 0.0
			for k, w := range row {
				if w != 0 {
					j := i + 1 + k
					sum += float64(w) * share[j]
					next[j] += float64(w) * si
				}
			}
			next[i] += sum
		}
		delta := 0.0
		for i := range n {
			next[i] = base + damping*next[i]
			delta += math.Abs(next[i] - score[i])
		}
		score, next = next, score
		if delta < tolerance {
			break
		}
	}
	return score
}

// rowOffset is where row i of the packed upper triangle (without the
// diagonal) of an n×n matrix starts.
func rowOffset(n, i int) int { return i*n - i*(i+1)/2 }

// collapse replaces every run of whitespace with one space and trims the
// ends. Invalid UTF-8 becomes U+FFFD.
func collapse(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Join(strings.Fields(s), " ")
}

// appendTerms appends the terms of s to dst.
func appendTerms(dst []string, s string) []string {
	var word []rune
	flush := func() {
		if len(word) == 0 {
			return
		}
		w := strings.ToLower(string(word))
		word = word[:0]
		if stopWords[w] || utf8.RuneCountInString(w) < 2 && !isDigitString(w) {
			return
		}
		dst = append(dst, stem(w))
	}
	var prevCJK rune // previous rune of a CJK run, 0 outside one
	cjkRun := 0
	endCJK := func() {
		if cjkRun == 1 {
			dst = append(dst, string(prevCJK))
		}
		prevCJK, cjkRun = 0, 0
	}
	for _, c := range s {
		switch {
		case isCJK(c):
			flush()
			if prevCJK != 0 {
				dst = append(dst, string([]rune{prevCJK, c}))
			}
			prevCJK = c
			cjkRun++
		case unicode.IsLetter(c) || unicode.IsDigit(c) || unicode.Is(unicode.Mn, c) && len(word) > 0:
			endCJK()
			word = append(word, c)
		default:
			endCJK()
			flush()
		}
		if len(dst) >= 4*maxTerms {
			return dst
		}
	}
	endCJK()
	flush()
	return dst
}

func isDigitString(s string) bool {
	for _, c := range s {
		if !unicode.IsDigit(c) {
			return false
		}
	}
	return s != ""
}

func isCJK(c rune) bool {
	return unicode.Is(unicode.Han, c) || unicode.Is(unicode.Hiragana, c) || unicode.Is(unicode.Katakana, c)
}

// stem strips a few common English suffixes. It is deliberately crude: it
// only has to map inflections of one word onto one term.
func stem(w string) string {
	n := len(w)
	switch {
	case n > 4 && strings.HasSuffix(w, "ies"):
		return w[:n-3] + "y"
	case n > 4 && strings.HasSuffix(w, "sses"):
		return w[:n-2]
	case n > 5 && strings.HasSuffix(w, "ing"):
		return w[:n-3]
	case n > 4 && strings.HasSuffix(w, "ed"):
		return w[:n-2]
	case n > 4 && strings.HasSuffix(w, "ly"):
		return w[:n-2]
	case n > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us"):
		return w[:n-1]
	}
	return w
}

// stopWords are frequent English words that carry no topic.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for w := range strings.FieldsSeq(`a about above after again against all also am an and any are as at
		be because been before being below between both but by can could did do does doing down during
		each few for from further had has have having he her here hers herself him himself his how i if in
		into is it its itself just me more most my myself no nor not of off on once only or other our ours
		ourselves out over own same she should so some such than that the their theirs them themselves then
		there these they this those through to too under until up very was we were what when where which
		while who whom why will with would you your yours yourself yourselves said says may might must
		shall one two new like well`) {
		m[w] = true
	}
	return m
}()
