package wordf1

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/standard"
	"github.com/quarryhq/quarry/internal/corpustest"
)

func TestNormaliseAndTokens(t *testing.T) {
	cases := []struct {
		in   string
		norm string
		toks []string
	}{
		{"", "", nil},
		{"  Hello,\n\tWORLD!  ", "hello, world!", []string{"hello", "world"}},
		{"snake_case x2 3.14", "snake_case x2 3.14", []string{"snake", "case", "x2", "3", "14"}},
		{"\ufb01ne o\ufb03ce", "fine office", []string{"fine", "office"}},               // NFKC folds ligatures
		{"co\u00adop\u200bera\u200dtion\ufeff", "cooperation", []string{"cooperation"}}, // dropped controls
		{"\u202bשלום\u202c", "שלום", []string{"שלום"}},
		{"日本語テキスト", "日本語テキスト", []string{"日", "本", "語", "テ", "キ", "ス", "ト"}},
		{"abc漢字def", "abc漢字def", []string{"abc", "漢", "字", "def"}},
		{"ΟΔΟΣ Σ", "οδος σ", []string{"οδος", "σ"}},              // final sigma only after a cased letter
		{"İstanbul", "i\u0307stanbul", []string{"i", "stanbul"}}, // full lower-case mapping; marks split words as in Python
		{"Ⅻ ①", "xii 1", []string{"xii", "1"}},
		{"**bold** | cell |", "**bold** | cell |", []string{"bold", "cell"}},
	}
	for _, c := range cases {
		if got := Normalise(c.in); got != c.norm {
			t.Errorf("Normalise(%q) = %q, want %q", c.in, got, c.norm)
		}
		if got := Tokens(Normalise(c.in)); !reflect.DeepEqual(got, c.toks) {
			t.Errorf("Tokens(%q) = %q, want %q", c.in, got, c.toks)
		}
	}
}

func TestScore(t *testing.T) {
	cases := []struct {
		exp, prod string
		p, r, f1  float64
		expWords  int
	}{
		{"a b c d", "a b c d", 1, 1, 1, 4},
		{"a b c d", "", 0, 0, 0, 4},
		{"a b c d", "a b", 1, 0.5, 2.0 / 3, 4},
		{"a a b", "a b b", 2.0 / 3, 2.0 / 3, 2.0 / 3, 3}, // multiset, not set
		{"The cat", "the CAT.", 1, 1, 1, 2},
		{"  ...  ", "anything", 0, 0, 0, 0}, // no expected tokens: not scored
		{"a b", "c d", 0, 0, 0, 2},
	}
	for _, c := range cases {
		p, r, f1, n := Score(c.exp, c.prod)
		if n != c.expWords || !near(p, c.p) || !near(r, c.r) || !near(f1, c.f1) {
			t.Errorf("Score(%q, %q) = %.4f %.4f %.4f %d, want %.4f %.4f %.4f %d",
				c.exp, c.prod, p, r, f1, n, c.p, c.r, c.f1, c.expWords)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestReadManifest(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "MANIFEST.tsv"), []byte("id\tfile\tformat\tbytes\tpages\ttags\n"+
		"a\tfiles/a.pdf\tpdf\t10\t3\tscanned,two-column\n\nb\tfiles/b.txt\t\t5\t\t\n"), 0o644)
	got, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{ID: "a", File: "files/a.pdf", Format: "pdf", Pages: 3, Tags: []string{"scanned", "two-column"}},
		{ID: "b", File: "files/b.txt", Format: "txt"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ReadManifest = %+v, want %+v", got, want)
	}
	os.WriteFile(filepath.Join(dir, "MANIFEST.tsv"), []byte("name\tpath\n"), 0o644)
	if _, err := ReadManifest(dir); err == nil {
		t.Fatal("manifest without an id column: want an error")
	}
}

// scorePy runs the corpus's score.py over expected/produced pairs and
// returns its F1 per name (nil where not scored).
func scorePy(t *testing.T, corpus string, pairs map[string][2]string) map[string]*float64 {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: score.py cannot run")
	}
	expDir, prodDir := t.TempDir(), t.TempDir()
	for name, p := range pairs {
		os.WriteFile(filepath.Join(expDir, name+".txt"), []byte(p[0]), 0o644)
		os.WriteFile(filepath.Join(prodDir, name+".txt"), []byte(p[1]), 0o644)
	}
	jsonPath := filepath.Join(t.TempDir(), "scores.json")
	out, err := exec.Command(py, filepath.Join(corpus, "score.py"), expDir, prodDir, "--json", jsonPath).CombinedOutput()
	if err != nil {
		t.Fatalf("score.py: %v\n%s", err, out)
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatalf("score.py wrote no JSON: %v\n%s", err, out)
	}
	var rows []struct {
		Name string   `json:"name"`
		F1   *float64 `json:"F1"`
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	res := map[string]*float64{}
	for _, r := range rows {
		res[r.Name] = r.F1
	}
	return res
}

func compareWithPy(t *testing.T, corpus string, pairs map[string][2]string) {
	t.Helper()
	py := scorePy(t, corpus, pairs)
	for name, p := range pairs {
		_, _, f1, n := Score(p[0], p[1])
		want, ok := py[name]
		switch {
		case !ok:
			t.Errorf("%s: score.py gave no row", name)
		case want == nil:
			if n != 0 {
				t.Errorf("%s: score.py did not score it, wordf1 found %d expected words", name, n)
			}
		case n == 0:
			t.Errorf("%s: score.py F1 %.4f, wordf1 did not score it", name, *want)
		case math.Abs(*want-f1) > 0.001:
			t.Errorf("%s: F1 score.py %.4f, wordf1 %.4f", name, *want, f1)
		default:
			t.Logf("%s: F1 %.4f (score.py %.4f)", name, f1, *want)
		}
	}
}

// TestAgreesWithScorePyOnEdgeCases scores tricky text with both scorers.
func TestAgreesWithScorePyOnEdgeCases(t *testing.T) {
	corpus := corpustest.Dir()
	if corpus == "" {
		t.Skip("corpus not found: score.py is not available")
	}
	compareWithPy(t, corpus, map[string][2]string{
		"greek":    {"ΟΔΟΣ ΚΑΙ ΛΟΓΟΣ. Σ Α'Σ", "οδος και λογοσ σ α'σ"},
		"turkish":  {"İSTANBUL İzmir", "istanbul izmir"},
		"marks":    {"हिन्दी भाषा naïve cafe\u0301", "हिन्दी naive café"},
		"cjk":      {"日本語のテキスト、です。", "日本語 テキスト です"},
		"ligature": {"\ufb01nal o\ufb03ce", "final office"},
		"controls": {"co\u00adop\u2060er\u200eation", "cooperation"},
		"empty":    {" --- ", "text"},
		"numbers":  {"Ⅻ ① ² ٣ 3.14 snake_case", "xii 1 2 3 3 14 snake case"},
		"seps":     {"a\x1cb\x1fc", "a b c"},
	})
}

// TestAgreesWithScorePyOnCorpus extracts files of each format with the
// standard extractor and requires wordf1 to give score.py's F1.
func TestAgreesWithScorePyOnCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("corpus scoring skipped in -short mode")
	}
	corpus := corpustest.Dir()
	if corpus == "" {
		t.Skip("corpus not found: put the shared corpus at ../shared/corpus or set QUARRY_CORPUS")
	}
	entries, err := ReadManifest(corpus)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := extract.New(standard.NewRegistry(), extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"pdf-docling-multi_page": true, "pdf-docling-right_to_left_01": true,
		"docx-pandoc-german_styled_lists": true, "html-docling-wiki_duck": true,
		"txt-udhr-shiftjis": true, "txt-udhr-cp1251": true,
	}
	pairs := map[string][2]string{}
	for _, e := range entries {
		if !want[e.ID] {
			continue
		}
		exp, err := os.ReadFile(filepath.Join(corpus, "expected", e.ID+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		text := extractText(t, ex, filepath.Join(corpus, e.File))
		pairs[e.ID] = [2]string{strings.ToValidUTF8(string(exp), "\ufffd"), text}
	}
	if len(pairs) != len(want) {
		t.Fatalf("found %d of the %d chosen corpus files", len(pairs), len(want))
	}
	compareWithPy(t, corpus, pairs)
}

func extractText(t *testing.T, ex *extract.Extractor, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ex.Extract(context.Background(), extract.Input{R: f, Size: st.Size(), Filename: filepath.Base(path)}, extract.Options{})
	if err != nil {
		t.Logf("%s: %v (scored as empty output)", filepath.Base(path), err)
		return ""
	}
	return doc.Text
}
