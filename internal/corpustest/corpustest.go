// Package corpustest runs extraction over the shared evaluation corpus
// (../shared/corpus beside the repository, or $QUARRY_CORPUS) and scores it
// with the corpus's own score.py. Tests skip cleanly where the corpus or
// python3 is absent.
package corpustest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
)

// Entry is one row of MANIFEST.tsv.
type Entry struct {
	ID     string
	Path   string // absolute path of the document
	Format string // pdf, docx, html, txt
	Tags   []string
}

// HasTag reports whether the entry carries tag.
func (e Entry) HasTag(tag string) bool {
	for _, t := range e.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// Dir returns the corpus directory, or "" when it is absent.
func Dir() string {
	if d := os.Getenv("QUARRY_CORPUS"); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	// internal/corpustest/corpustest.go -> module root -> ../shared/corpus
	d := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus")
	if _, err := os.Stat(filepath.Join(d, "MANIFEST.tsv")); err != nil {
		return ""
	}
	return d
}

// Require returns the corpus directory or skips the test.
func Require(tb testing.TB) string {
	tb.Helper()
	d := Dir()
	if d == "" {
		skipOrFail(tb, "corpus not found: put the shared corpus at ../shared/corpus or set QUARRY_CORPUS")
	}
	return d
}

// skipOrFail skips, or fails where QUARRY_REQUIRE_CORPUS=1 (CI) says the
// corpus must be there.
func skipOrFail(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("QUARRY_REQUIRE_CORPUS") == "1" {
		tb.Fatal(msg + " (QUARRY_REQUIRE_CORPUS=1)")
	}
	tb.Skip(msg)
}

// Manifest reads MANIFEST.tsv of dir, keeping the rows of the given formats
// (all rows when none are given).
func Manifest(dir string, formats ...string) ([]Entry, error) {
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var header []string
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if header == nil {
			header = cols
			continue
		}
		row := map[string]string{}
		for i, h := range header {
			if i < len(cols) {
				row[h] = cols[i]
			}
		}
		e := Entry{ID: row["id"], Path: filepath.Join(dir, row["file"]), Format: row["format"]}
		if row["tags"] != "" {
			e.Tags = strings.Split(row["tags"], ",")
		}
		if len(formats) > 0 && !contains(formats, e.Format) {
			continue
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Row is one file's score from score.py.
type Row struct {
	Name   string   `json:"name"`
	Format string   `json:"format"`
	F1     *float64 `json:"F1"`
	Edit   *float64 `json:"edit"`
	Chars  *float64 `json:"chars"`
}

// Result is the outcome of a corpus run.
type Result struct {
	Rows []Row
	// MeanF1 is the macro mean word F1 per format over scored files.
	MeanF1 map[string]float64
	// Failed maps entry ids to the extraction error.
	Failed map[string]error
	// Report is score.py's printed table.
	Report string
}

// ExtractFunc extracts one corpus file.
type ExtractFunc func(ctx context.Context, e Entry) (string, error)

// WithExtractor returns an ExtractFunc that runs ex on the file.
func WithExtractor(ex *extract.Extractor) ExtractFunc {
	return func(ctx context.Context, e Entry) (string, error) {
		f, err := os.Open(e.Path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return "", err
		}
		doc, err := ex.Extract(ctx, extract.Input{R: f, Size: st.Size(), Filename: filepath.Base(e.Path)}, extract.Options{})
		if err != nil {
			return "", err
		}
		return doc.Text, nil
	}
}

// Run extracts every corpus entry of the given formats with fn, then scores
// the output with score.py. It skips the test when the corpus or python3 is
// absent.
func Run(tb testing.TB, fn ExtractFunc, formats ...string) Result {
	tb.Helper()
	dir := Require(tb)
	py, err := exec.LookPath("python3")
	if err != nil {
		skipOrFail(tb, "python3 not found: score.py cannot run")
	}
	entries, err := Manifest(dir, formats...)
	if err != nil {
		tb.Fatalf("corpus manifest: %v", err)
	}
	out := tb.TempDir()
	res := Result{MeanF1: map[string]float64{}, Failed: map[string]error{}}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.ID)
		text, err := fn(context.Background(), e)
		if err != nil {
			res.Failed[e.ID] = err
			continue
		}
		if err := os.WriteFile(filepath.Join(out, e.ID+".txt"), []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	jsonPath := filepath.Join(tb.TempDir(), "scores.json")
	only := "^(" + strings.Join(quoteAll(ids), "|") + ")$"
	cmd := exec.Command(py, filepath.Join(dir, "score.py"), filepath.Join(dir, "expected"), out,
		"--manifest", filepath.Join(dir, "MANIFEST.tsv"), "--only", only, "--json", jsonPath)
	report, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("score.py: %v\n%s", err, report)
	}
	res.Report = string(report)
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		tb.Fatalf("score.py wrote no JSON: %v\n%s", err, report)
	}
	if err := json.Unmarshal(b, &res.Rows); err != nil {
		tb.Fatalf("score.py JSON: %v", err)
	}
	sum, n := map[string]float64{}, map[string]int{}
	for _, r := range res.Rows {
		if r.F1 == nil {
			continue
		}
		sum[r.Format] += *r.F1
		n[r.Format]++
	}
	for f, s := range sum {
		res.MeanF1[f] = s / float64(n[f])
	}
	return res
}

func quoteAll(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = regexp.QuoteMeta(id)
	}
	return out
}

// String formats the per-format means for a log line.
func (r Result) String() string {
	var b strings.Builder
	for f, v := range r.MeanF1 {
		fmt.Fprintf(&b, "%s=%.3f ", f, v)
	}
	return strings.TrimSpace(b.String())
}

// RequireMeanF1 extracts the corpus files of format with the parsers of
// reg, fails on any extraction error, and fails when the mean word F1 is
// under floor. It logs score.py's table. Skipped with -short.
func RequireMeanF1(t *testing.T, reg *extract.Registry, format string, floor float64) Result {
	t.Helper()
	if testing.Short() {
		t.Skip("corpus scoring skipped in -short mode")
	}
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	res := Run(t, WithExtractor(ex), format)
	t.Log("\n" + res.Report)
	for id, err := range res.Failed {
		t.Errorf("%s: %v", id, err)
	}
	if got := res.MeanF1[format]; got < floor {
		t.Errorf("mean word F1 on %s = %.3f, want >= %.2f", format, got, floor)
	}
	return res
}
