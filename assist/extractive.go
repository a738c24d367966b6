package assist

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract/chunk"
	"github.com/quarryhq/quarry/extract/summary"
)

// Extractive is the built-in offline provider. It is deterministic and
// quotes the source rather than writing: summaries are the most central
// sentences (package extract/summary), titles are key phrases, answers are
// the sentences that best match the question, with citations. It cannot
// rewrite or translate: those tasks fail with an error wrapping
// ErrUnavailable. The zero value is ready to use.
type Extractive struct {
	// MaxSentences bounds summaries and answers (default 5 and 3).
	MaxSentences int
}

// ExtractiveModel is the model name the extractive provider reports.
const ExtractiveModel = "textrank-bm25"

// Complete implements Provider.
func (e Extractive) Complete(ctx context.Context, req Request) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	resp := &Response{Provider: "extractive", Model: ExtractiveModel}
	switch req.Task {
	case Summarize:
		n := cmpOr(e.MaxSentences, 5)
		limit := 2000
		if req.MaxOutputChars > 0 {
			limit = min(limit, req.MaxOutputChars)
		}
		sents := summary.Summarize(req.Text, summary.Options{MaxSentences: n, MaxChars: limit})
		resp.Output, resp.Citations = joinSentences(&req, sents)
	case Titles:
		resp.Output = strings.Join(keyTitles(req.Text, 3), "\n")
	case Ask:
		resp.Output, resp.Citations = answer(&req, cmpOr(e.MaxSentences, 3))
	case Rewrite, Translate:
		return nil, fmt.Errorf("%w: task %s needs an LLM (configure QUARRY_LLM_URL)", ErrUnavailable, req.Task)
	default:
		return nil, &ValidationError{Field: "task", Reason: fmt.Sprintf("unknown task %q", req.Task)}
	}
	resp.Usage = Usage{InputTokens: chunk.CountTokens(req.Text) + chunk.CountTokens(req.Question), OutputTokens: chunk.CountTokens(resp.Output)}
	return resp, nil
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func joinSentences(req *Request, sents []summary.Sentence) (string, []Citation) {
	texts := make([]string, len(sents))
	cites := make([]Citation, len(sents))
	for i, s := range sents {
		texts[i] = s.Text
		cites[i] = Citation{Start: req.SourceOffset(s.Start), End: req.SourceOffset(s.End)}
	}
	return strings.Join(texts, " "), cites
}

// answer returns the n sentences of req.Text that best match the question
// (BM25 over the sentences), in document order.
func answer(req *Request, n int) (string, []Citation) {
	all := summary.Summarize(req.Text, summary.Options{MaxSentences: 1 << 20, MaxChars: utf8.RuneCountInString(req.Text) + 1})
	docs := make([][]string, len(all))
	for i, s := range all {
		docs[i] = terms(s.Text)
	}
	scores := bm25(docs, terms(req.Question))
	idx := make([]int, len(all))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	var pick []summary.Sentence
	var best float64
	for _, i := range idx {
		if len(pick) == n || scores[i] <= 0 {
			break
		}
		if len(pick) == 0 {
			best = scores[i]
		} else if scores[i] < best/3 {
			// Far weaker than the best match: noise, not support.
			break
		}
		pick = append(pick, all[i])
	}
	if len(pick) == 0 {
		return "The document does not appear to answer this question.", nil
	}
	sort.Slice(pick, func(a, b int) bool { return pick[a].Start < pick[b].Start })
	return joinSentences(req, pick)
}

// keyTitles returns up to n titles made of the text's key phrases, found the
// RAKE way (Rose et al., 2010): candidate phrases are runs of content words
// between stop words and punctuation. A phrase scores the mean frequency of
// its words, boosted when it repeats and when it has two or three words.
func keyTitles(text string, n int) []string {
	type cand struct {
		words []string // as written
		key   string
		first int
		score float64
		count int
	}
	var phrases [][]string
	var cur []string
	flush := func() {
		if len(cur) > 0 && len(cur) <= 4 {
			phrases = append(phrases, cur)
		}
		cur = nil
	}
	word := strings.Builder{}
	endWord := func() {
		if word.Len() == 0 {
			return
		}
		w := word.String()
		word.Reset()
		lw := strings.ToLower(w)
		if stopwords[lw] || utf8.RuneCountInString(w) < 2 || isNumber(w) {
			flush()
			return
		}
		cur = append(cur, w)
	}
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' || r == '-':
			word.WriteRune(r)
		case r == ' ' || r == '\t':
			endWord()
		default:
			endWord()
			flush()
		}
	}
	endWord()
	flush()

	freq := map[string]float64{}
	for _, p := range phrases {
		for _, w := range p {
			freq[stem(strings.ToLower(w))]++
		}
	}
	byKey := map[string]*cand{}
	var cands []*cand
	for i, p := range phrases {
		keys := make([]string, len(p))
		for j, w := range p {
			keys[j] = stem(strings.ToLower(w))
		}
		key := strings.Join(keys, " ")
		c := byKey[key]
		if c == nil {
			c = &cand{words: p, key: key, first: i}
			// Mean word frequency: words the text keeps repeating are its
			// topic (plain RAKE's degree/frequency favours long one-off
			// phrases).
			for _, k := range keys {
				c.score += freq[k]
			}
			c.score /= float64(len(keys))
			byKey[key] = c
			cands = append(cands, c)
		}
		c.count++
	}
	for _, c := range cands {
		// Repeated phrases are the topic; single rare words are not titles.
		c.score *= 1 + 0.5*float64(c.count-1)
		switch len(c.words) {
		case 1:
			c.score *= 0.5
		case 2, 3:
			c.score *= 1.5
		}
	}
	sort.SliceStable(cands, func(a, b int) bool {
		if cands[a].score != cands[b].score {
			return cands[a].score > cands[b].score
		}
		return cands[a].first < cands[b].first
	})
	var out []string
	seen := map[string]bool{}
	for _, c := range cands {
		if len(out) == n {
			break
		}
		t := titleCase(c.words)
		if seen[strings.ToLower(t)] {
			continue
		}
		seen[strings.ToLower(t)] = true
		out = append(out, t)
	}
	// Pair the two best phrases into one more specific title when there is
	// room for it, e.g. "Solar Panels and Grid Storage".
	if len(out) >= 2 && len(out) < n+1 && n >= 3 {
		pair := out[0] + " and " + out[1]
		if len(out) == n {
			out[n-1] = pair
		} else {
			out = append(out, pair)
		}
	}
	return out
}

func isNumber(w string) bool {
	for _, r := range w {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

func titleCase(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		r, size := utf8.DecodeRuneInString(w)
		if unicode.IsLower(r) {
			w = string(unicode.ToUpper(r)) + w[size:]
		}
		out[i] = w
	}
	return strings.Join(out, " ")
}
