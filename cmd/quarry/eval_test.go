package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/internal/corpustest"
)

// writeCorpus lays out a tiny corpus: files/, expected/ and MANIFEST.tsv.
func writeCorpus(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "files"), 0o755)
	os.MkdirAll(filepath.Join(dir, "expected"), 0o755)
	files := map[string][2]string{ // id -> file content, expected text
		"txt-good":  {"The quick brown fox jumps over the lazy dog.\n", "The quick brown fox jumps over the lazy dog."},
		"txt-half":  {"alpha beta\n", "alpha beta gamma delta"},
		"md-notes":  {"# Notes\n\nSome *emphasis* and a [link](http://example.org).\n", "Notes\nSome emphasis and a link."},
		"html-page": {"<html><head><title>T</title></head><body><h1>Heading</h1><p>Hello <b>world</b>.</p></body></html>", "Heading\nHello world."},
	}
	ext := map[string]string{"txt-good": ".txt", "txt-half": ".txt", "md-notes": ".md", "html-page": ".html"}
	manifest := "id\tfile\tformat\tbytes\tpages\ttags\n"
	for _, id := range []string{"txt-good", "txt-half", "md-notes", "html-page"} {
		name := "files/" + id + ext[id]
		os.WriteFile(filepath.Join(dir, name), []byte(files[id][0]), 0o644)
		os.WriteFile(filepath.Join(dir, "expected", id+".txt"), []byte(files[id][1]), 0o644)
		format := strings.TrimPrefix(ext[id], ".")
		manifest += id + "\t" + name + "\t" + format + "\t0\t\t\n"
	}
	// A PDF that is not one: it fails with an error code, and is not scored
	// because its expected text has no words.
	os.WriteFile(filepath.Join(dir, "files", "pdf-broken.pdf"), []byte("%PDF-1.4 garbage"), 0o644)
	os.WriteFile(filepath.Join(dir, "expected", "pdf-broken.txt"), []byte("\n"), 0o644)
	manifest += "pdf-broken\tfiles/pdf-broken.pdf\tpdf\t16\t1\tmalformed\n"
	os.WriteFile(filepath.Join(dir, "MANIFEST.tsv"), []byte(manifest), 0o644)
	return dir
}

func runEval(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"eval"}, args...), strings.NewReader(""), &stdout, &stderr, env(nil))
	return code, stdout.String(), stderr.String()
}

func TestEvalTinyCorpus(t *testing.T) {
	dir := writeCorpus(t)

	code, out, errOut := runEval(t, "--corpus", dir, "--json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	byFormat := map[string]evalSummary{}
	for _, s := range rep.Formats {
		byFormat[s.Format] = s
	}
	if s := byFormat["txt"]; s.Files != 2 || s.Scored != 2 || s.Failed != 0 || s.MeanF1 == nil ||
		*s.MeanF1 < 0.83 || *s.MeanF1 > 0.84 { // (1 + 2/3) / 2
		t.Errorf("txt summary = %+v", s)
	}
	for _, f := range []string{"md", "html"} {
		if s := byFormat[f]; s.Files != 1 || s.Scored != 1 || s.MeanF1 == nil || *s.MeanF1 < 0.99 {
			t.Errorf("%s summary = %+v", f, s)
		}
	}
	if s := byFormat["pdf"]; s.Files != 1 || s.Failed != 1 || s.Scored != 0 || s.MeanF1 != nil || s.PagesPerSec != nil {
		t.Errorf("pdf summary = %+v", s)
	}
	if o := rep.Overall; o.Files != 5 || o.Scored != 4 || o.Failed != 1 {
		t.Errorf("overall = %+v", o)
	}
	if len(rep.Failures) != 1 || rep.Failures[0].ID != "pdf-broken" || rep.Failures[0].Code == "" {
		t.Errorf("failures = %+v", rep.Failures)
	}
	if len(rep.Worst) != 4 || rep.Worst[0].ID != "txt-half" {
		t.Errorf("worst = %+v", rep.Worst)
	}

	code, out, errOut = runEval(t, "--corpus", dir)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	for _, want := range []string{"format", "pages/s", "txt", "0.833", "failures (1):", "pdf-broken: " + rep.Failures[0].Code, "lowest word F1:", "txt-half"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = runEval(t, "--corpus", dir, "--format", "md,html", "--json")
	rep = evalReport{}
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil || rep.Overall.Files != 2 || len(rep.Formats) != 2 {
		t.Errorf("--format md,html: exit %d, %v, %+v", code, err, rep.Overall)
	}
}

func TestEvalUsageErrors(t *testing.T) {
	dir := writeCorpus(t)
	for _, args := range [][]string{
		{},                                   // no --corpus
		{"--corpus", dir, "extra"},           // stray argument
		{"--corpus", dir, "--format", "xls"}, // no such format
		{"--corpus", t.TempDir()},            // no MANIFEST.tsv
		{"--bogus"},
	} {
		if code, _, errOut := runEval(t, args...); code != 2 {
			t.Errorf("eval %q: exit %d, want 2 (stderr %s)", args, code, errOut)
		}
	}
}

func TestEvalSharedCorpusTxt(t *testing.T) {
	if testing.Short() {
		t.Skip("corpus run skipped in -short mode")
	}
	dir := corpustest.Require(t)
	code, out, errOut := runEval(t, "--corpus", dir, "--format", "txt", "--json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	if len(rep.Formats) != 1 || rep.Formats[0].Format != "txt" || rep.Formats[0].Files == 0 {
		t.Fatalf("formats = %+v", rep.Formats)
	}
	s := rep.Formats[0]
	if s.MeanF1 == nil || *s.MeanF1 < 0.95 {
		t.Errorf("txt summary = %+v, want mean F1 >= 0.95", s)
	}
	t.Logf("txt: %d files, %d scored, %d failed, mean F1 %.3f", s.Files, s.Scored, s.Failed, *s.MeanF1)
}

// TestEvalBaselinePdftotext runs pdftotext on the same corpus PDFs in the
// same run, as docs/benchmarks.md reports.
func TestEvalBaselinePdftotext(t *testing.T) {
	if testing.Short() {
		t.Skip("corpus run skipped in -short mode")
	}
	dir := corpustest.Require(t)
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("QUARRY_REQUIRE_TOOLS") == "1" {
			t.Fatal("pdftotext is not installed (poppler-utils) and QUARRY_REQUIRE_TOOLS=1")
		}
		t.Skip("pdftotext is not installed (Debian: poppler-utils)")
	}
	code, out, errOut := runEval(t, "--corpus", dir, "--format", "pdf", "--baseline", "pdftotext", "--json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("JSON: %v", err)
	}
	s := rep.Overall
	if s.BaselineMeanF1 == nil || *s.BaselineMeanF1 < 0.5 || s.BaselinePagesPerSec == nil || s.MeanF1 == nil || s.PagesPerSec == nil {
		t.Fatalf("overall = %+v", s)
	}
	for _, f := range rep.Files {
		if f.Baseline == nil {
			t.Errorf("%s: no baseline run", f.ID)
		}
	}
	t.Logf("quarry F1 %.3f at %.0f pages/s; pdftotext F1 %.3f at %.0f pages/s",
		*s.MeanF1, *s.PagesPerSec, *s.BaselineMeanF1, *s.BaselinePagesPerSec)

	if code, _, _ := runEval(t, "--corpus", dir, "--baseline", "mutool"); code != 2 {
		t.Errorf("--baseline mutool: exit %d, want 2", code)
	}
}
