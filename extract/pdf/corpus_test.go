package pdf

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/corpustest"
)

// minCorpusF1 is the floor of the mean word F1 over the corpus PDFs, just
// under what this parser reaches, so that a regression fails.
const minCorpusF1 = 0.86

func newExtractor(tb testing.TB) *extract.Extractor {
	tb.Helper()
	reg := extract.NewRegistry()
	reg.MustRegister("pdf", New())
	ex, err := extract.New(reg, extract.Config{Timeout: 60 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	return ex
}

func TestCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("corpus run skipped in -short mode")
	}
	dir := corpustest.Require(t)
	entries, err := corpustest.Manifest(dir, "pdf")
	if err != nil {
		t.Fatal(err)
	}
	res := corpustest.Run(t, corpustest.WithExtractor(newExtractor(t)), "pdf")
	t.Logf("score.py report:\n%s", res.Report)

	rows := map[string]corpustest.Row{}
	for _, r := range res.Rows {
		rows[r.Name] = r
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	sort.Strings(ids)
	var b strings.Builder
	for _, id := range ids {
		if err := res.Failed[id]; err != nil {
			b.WriteString(id + ": error: " + err.Error() + "\n")
			continue
		}
		if r, ok := rows[id]; ok && r.F1 != nil {
			b.WriteString(id + ": F1 " + ftoa(*r.F1) + "\n")
		} else {
			b.WriteString(id + ": n/a\n")
		}
	}
	t.Logf("per file:\n%s", b.String())

	for _, e := range entries {
		err := res.Failed[e.ID]
		switch {
		case e.HasTag("encrypted-needs-password"):
			if !errors.Is(err, extract.ErrEncrypted) {
				t.Errorf("%s: err = %v, want ErrEncrypted", e.ID, err)
			}
		case err == nil:
		case errors.Is(err, extract.ErrMalformed) || errors.Is(err, extract.ErrEncrypted):
			t.Logf("%s: refused: %v", e.ID, err)
		default:
			t.Errorf("%s: unexpected error %v", e.ID, err)
		}
	}
	mean := res.MeanF1["pdf"]
	t.Logf("mean word F1 (pdf) = %.3f (GetPlainText baseline 0.44, pdftotext 0.87)", mean)
	if mean < minCorpusF1 {
		t.Errorf("mean word F1 %.3f under the floor %.3f", mean, minCorpusF1)
	}
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) }

// BenchmarkCorpusPDF extracts every corpus PDF and reports pages per second.
func BenchmarkCorpusPDF(b *testing.B) {
	dir := corpustest.Require(b)
	entries, err := corpustest.Manifest(dir, "pdf")
	if err != nil {
		b.Fatal(err)
	}
	type file struct {
		name string
		data []byte
	}
	var files []file
	for _, e := range entries {
		data, err := os.ReadFile(e.Path)
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, file{filepath.Base(e.Path), data})
	}
	ex := newExtractor(b)
	pages := 0
	b.ResetTimer()
	for b.Loop() {
		for _, f := range files {
			doc, err := ex.Extract(b.Context(), extract.Input{R: strings.NewReader(string(f.data)), Size: int64(len(f.data)), Filename: f.name}, extract.Options{})
			if err == nil {
				pages += len(doc.Pages)
			}
		}
	}
	b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
}
