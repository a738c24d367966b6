package assist_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"github.com/quarryhq/quarry/assist"
)

func extractiveService(t testing.TB, logs *bytes.Buffer, cfg assist.Config) *assist.Service {
	t.Helper()
	cfg.Provider = assist.Extractive{}
	if logs != nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := assist.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "rouge", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExtractiveDeterministic(t *testing.T) {
	t.Parallel()
	s := extractiveService(t, nil, assist.Config{})
	text := readDoc(t, "solar.txt")
	for _, task := range []assist.Task{
		{Kind: assist.Summarize, Text: text},
		{Kind: assist.Titles, Text: text},
		{Kind: assist.Ask, Text: text, Question: "Why do transformers have voltage problems?"},
	} {
		first, err := s.Do(t.Context(), task)
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			again, _ := s.Do(t.Context(), task)
			if !reflect.DeepEqual(first, again) {
				t.Fatalf("%s not deterministic:\n%+v\n%+v", task.Kind, first, again)
			}
		}
		if first.Provider != "extractive" || first.Output == "" || first.Usage.OutputTokens == 0 {
			t.Errorf("%s: %+v", task.Kind, first)
		}
		t.Logf("%s: %q", task.Kind, first.Output)
	}
}

func TestExtractiveTitles(t *testing.T) {
	t.Parallel()
	s := extractiveService(t, nil, assist.Config{})
	res, err := s.Do(t.Context(), assist.Task{Kind: assist.Titles, Text: readDoc(t, "bees.txt")})
	if err != nil {
		t.Fatal(err)
	}
	titles := strings.Split(res.Output, "\n")
	if len(titles) != 3 {
		t.Fatalf("titles %q, want 3", titles)
	}
	if !strings.Contains(strings.ToLower(res.Output), "waggle") {
		t.Errorf("titles %q miss the topic (waggle dance)", titles)
	}
}

func TestExtractiveAskCitations(t *testing.T) {
	t.Parallel()
	text := readDoc(t, "bees.txt")
	// A small budget forces passage selection, so citations must map back
	// through the selected passages.
	for _, budget := range []int{0, 400} {
		s := extractiveService(t, nil, assist.Config{MaxInputChars: budget, ChunkChars: 200})
		for _, tc := range []struct{ q, want string }{
			{"Who received the Nobel Prize for decoding the dance?", "nobel"},
			{"How do bees tell the distance to the food?", "distance"},
		} {
			res, err := s.Do(t.Context(), assist.Task{Kind: assist.Ask, Text: text, Question: tc.q})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Citations) == 0 {
				t.Fatalf("budget %d %q: no citations (output %q)", budget, tc.q, res.Output)
			}
			runes := []rune(text)
			found := false
			for _, c := range res.Citations {
				if c.Start < 0 || c.End > len(runes) || c.Start >= c.End {
					t.Fatalf("citation %+v out of range", c)
				}
				cited := string(runes[c.Start:c.End])
				if !strings.Contains(res.Output, strings.Join(strings.Fields(cited), " ")) {
					t.Errorf("cited %q not in output %q", cited, res.Output)
				}
				if strings.Contains(strings.ToLower(cited), tc.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("budget %d %q: citations %+v do not contain %q (output %q)", budget, tc.q, res.Citations, tc.want, res.Output)
			}
		}
	}
}

func TestExtractiveNeedsLLM(t *testing.T) {
	t.Parallel()
	s := extractiveService(t, nil, assist.Config{})
	for _, task := range []assist.Task{
		{Kind: assist.Rewrite, Text: "Some text.", Instruction: "shorter"},
		{Kind: assist.Translate, Text: "Some text.", Language: "fr"},
	} {
		if _, err := s.Do(t.Context(), task); !errors.Is(err, assist.ErrUnavailable) {
			t.Errorf("%s: err = %v, want ErrUnavailable", task.Kind, err)
		}
	}
}

// ROUGE (Lin, 2004): recall-oriented n-gram and longest-common-subsequence
// overlap between a candidate and a reference, here as F1 over lower-cased
// words.
func rougeWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func rougeN(cand, ref []string, n int) float64 {
	grams := func(w []string) map[string]int {
		m := map[string]int{}
		for i := 0; i+n <= len(w); i++ {
			m[strings.Join(w[i:i+n], " ")]++
		}
		return m
	}
	c, r := grams(cand), grams(ref)
	overlap, nc, nr := 0, 0, 0
	for g, k := range r {
		overlap += min(k, c[g])
		nr += k
	}
	for _, k := range c {
		nc += k
	}
	return f1(overlap, nc, nr)
}

func rougeL(cand, ref []string) float64 {
	prev := make([]int, len(ref)+1)
	cur := make([]int, len(ref)+1)
	for i := range cand {
		for j := range ref {
			if cand[i] == ref[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(cur[j], prev[j+1])
			}
		}
		prev, cur = cur, prev
	}
	return f1(prev[len(ref)], len(cand), len(ref))
}

func f1(overlap, nc, nr int) float64 {
	if overlap == 0 {
		return 0
	}
	p, r := float64(overlap)/float64(nc), float64(overlap)/float64(nr)
	return 2 * p * r / (p + r)
}

func TestROUGE(t *testing.T) {
	t.Parallel()
	if got := rougeL(rougeWords("a b c d"), rougeWords("a c d e")); got != 0.75 {
		t.Fatalf("rougeL self-check = %v", got)
	}
	s := extractiveService(t, nil, assist.Config{})
	var sum [3]float64
	docs := []string{"solar", "bees", "library"}
	for _, d := range docs {
		// Three sentences, like the references.
		p := assist.Extractive{MaxSentences: 3}
		svc, _ := assist.New(assist.Config{Provider: p})
		_ = s
		res, err := svc.Do(t.Context(), assist.Task{Kind: assist.Summarize, Text: readDoc(t, d+".txt")})
		if err != nil {
			t.Fatal(err)
		}
		c, r := rougeWords(res.Output), rougeWords(readDoc(t, d+".ref"))
		r1, r2, rl := rougeN(c, r, 1), rougeN(c, r, 2), rougeL(c, r)
		t.Logf("%-8s ROUGE-1 %.3f  ROUGE-2 %.3f  ROUGE-L %.3f", d, r1, r2, rl)
		sum[0] += r1
		sum[1] += r2
		sum[2] += rl
	}
	n := float64(len(docs))
	t.Logf("mean     ROUGE-1 %.3f  ROUGE-2 %.3f  ROUGE-L %.3f", sum[0]/n, sum[1]/n, sum[2]/n)
	if sum[0]/n < 0.40 || sum[1]/n < 0.15 || sum[2]/n < 0.30 {
		t.Errorf("ROUGE below floor (0.40 / 0.15 / 0.30)")
	}
}
