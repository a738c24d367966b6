package assist

import (
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract/chunk"
)

const passageSep = "\n\n"

// ground cuts text into passages of at most chunkChars code points and keeps
// those that fit budget: for Ask the best matches of the question (BM25),
// for the other tasks the leading ones. It reports whether text was cut.
func ground(text string, kind Kind, question string, budget, chunkChars int) (Request, bool) {
	if n := utf8.RuneCountInString(text); n <= budget {
		return Request{Text: text, Passages: []Passage{{Start: 0, End: n, Text: text}}}, false
	}
	spans := chunk.Split(text, chunk.Options{Unit: chunk.Chars, Max: chunkChars})
	ps := make([]Passage, len(spans))
	for i, s := range spans {
		ps[i] = Passage{Start: s.Start, End: s.End, Text: text[s.StartByte:s.EndByte]}
	}
	order := make([]int, len(ps))
	for i := range order {
		order[i] = i
	}
	if kind == Ask {
		docs := make([][]string, len(ps))
		for i, p := range ps {
			docs[i] = terms(p.Text)
		}
		scores := bm25(docs, terms(question))
		sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
	}
	sepLen := utf8.RuneCountInString(passageSep)
	var keep []int
	used := 0
	for _, i := range order {
		n := ps[i].End - ps[i].Start
		if len(keep) > 0 {
			n += sepLen
		}
		if used+n > budget {
			if kind != Ask {
				break
			}
			continue
		}
		used += n
		keep = append(keep, i)
	}
	if len(keep) == 0 && len(ps) > 0 {
		// A single chunk larger than the budget (budget < chunkChars): cut it.
		p := ps[order[0]]
		r := []rune(p.Text)[:budget]
		p.Text, p.End = string(r), p.Start+budget
		return Request{Text: p.Text, Passages: []Passage{p}}, true
	}
	sort.Ints(keep)
	out := make([]Passage, len(keep))
	texts := make([]string, len(keep))
	for k, i := range keep {
		out[k] = ps[i]
		texts[k] = ps[i].Text
	}
	return Request{Text: strings.Join(texts, passageSep), Passages: out}, true
}

// stopwords are English function words ignored when matching terms.
var stopwords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an and are as at be been but by can could did do does for from had has have
how i if in into is it its may might must no not of on or our shall should so such than that the their them
then there these they this those to was we were what when where which while who whom why will with would
you your about after all also any before between both each more most other over same some very`) {
		m[w] = true
	}
	return m
}()

// terms returns the lower-cased words of s (runs of letters and digits)
// without stop words, with a plural "s" stripped: what matching needs.
func terms(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if stopwords[w] {
			continue
		}
		out = append(out, stem(w))
	}
	return out
}

func stem(w string) string {
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		return w[:len(w)-3] + "y"
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us"):
		return w[:len(w)-1]
	}
	return w
}

// bm25 scores each document (a list of terms) against the query terms with
// Okapi BM25 (k1 1.2, b 0.75), IDF computed over docs.
func bm25(docs [][]string, query []string) []float64 {
	const k1, b = 1.2, 0.75
	scores := make([]float64, len(docs))
	if len(docs) == 0 || len(query) == 0 {
		return scores
	}
	q := map[string]bool{}
	for _, t := range query {
		q[t] = true
	}
	df := map[string]int{}
	tfs := make([]map[string]int, len(docs))
	total := 0
	for i, d := range docs {
		tf := map[string]int{}
		for _, t := range d {
			if q[t] {
				tf[t]++
			}
		}
		for t := range tf {
			df[t]++
		}
		tfs[i] = tf
		total += len(d)
	}
	avg := max(float64(total)/float64(len(docs)), 1)
	n := float64(len(docs))
	for i, tf := range tfs {
		dl := float64(len(docs[i]))
		for t := range q {
			f := float64(tf[t])
			if f == 0 {
				continue
			}
			idf := math.Log(1 + (n-float64(df[t])+0.5)/(float64(df[t])+0.5))
			scores[i] += idf * f * (k1 + 1) / (f + k1*(1-b+b*dl/avg))
		}
	}
	return scores
}
