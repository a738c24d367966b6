package standard_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/docx"
	"github.com/quarryhq/quarry/extract/epub"
	"github.com/quarryhq/quarry/extract/extracttest"
	"github.com/quarryhq/quarry/extract/html"
	"github.com/quarryhq/quarry/extract/markdown"
	"github.com/quarryhq/quarry/extract/pdf"
	"github.com/quarryhq/quarry/extract/pptx"
	"github.com/quarryhq/quarry/extract/standard"
	"github.com/quarryhq/quarry/extract/txt"
	"github.com/quarryhq/quarry/extract/xlsx"
	"github.com/quarryhq/quarry/internal/corpustest"
	"github.com/quarryhq/quarry/internal/wordf1"
)

func TestNewRegistry(t *testing.T) {
	got := standard.NewRegistry().Parsers()
	want := []string{"csv", "docx", "eml", "epub", "html", "image", "json", "markdown", "odf", "pdf", "pptx", "rtf", "text", "xlsx", "xml"}
	if !slices.Equal(got, want) {
		t.Fatalf("parsers = %v, want %v", got, want)
	}
	// Register into a registry that already has one of them fails cleanly.
	r := extract.NewRegistry()
	r.MustRegister("text", txt.New())
	if err := standard.Register(r); err == nil {
		t.Fatal("registering the standard set twice succeeded")
	}
}

func readSeed(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConformance runs the published conformance suite against every
// built-in parser, as a user would against theirs.
func TestConformance(t *testing.T) {
	seeds := func(dir, ext string) []string {
		m, _ := filepath.Glob(filepath.Join("..", dir, "testdata", "*."+ext))
		return m
	}
	t.Run("text", func(t *testing.T) {
		extracttest.Run(t, txt.New(),
			extracttest.Case{Name: "utf8", Input: []byte("Hello, wörld.\nSecond line."), WantContains: []string{"Hello, wörld."}},
			extracttest.Case{Name: "utf16", Input: append([]byte{0xff, 0xfe}, utf16le("Grüße")...), WantContains: []string{"Grüße"}},
		)
	})
	t.Run("markdown", func(t *testing.T) {
		extracttest.Run(t, markdown.New(),
			extracttest.Case{Name: "doc", Input: []byte("# Title\n\nSome *emphasis* and a [link](http://x).\n\n- one\n- two\n"), WantContains: []string{"Title", "Some emphasis and a link.", "two"}},
		)
	})
	t.Run("html", func(t *testing.T) {
		extracttest.Run(t, html.New(),
			extracttest.Case{Name: "page", Input: []byte("<!doctype html><title>T</title><body><p>Para one.</p><script>x()</script><p>Para two.</p>"), WantContains: []string{"Para one.", "Para two."}},
		)
	})
	t.Run("docx", func(t *testing.T) {
		var cases []extracttest.Case
		for _, p := range seeds("docx", "docx") {
			cases = append(cases, extracttest.Case{Name: filepath.Base(p), Input: readSeed(t, p)})
		}
		if len(cases) == 0 {
			t.Fatal("no docx seeds in extract/docx/testdata")
		}
		extracttest.Run(t, docx.New(), cases...)
	})
	for _, c := range []struct {
		name   string
		parser extract.Parser
	}{{"pptx", pptx.New()}, {"xlsx", xlsx.New()}, {"epub", epub.New()}} {
		t.Run(c.name, func(t *testing.T) {
			var cases []extracttest.Case
			for _, p := range seeds(c.name, c.name) {
				cases = append(cases, extracttest.Case{Name: filepath.Base(p), Input: readSeed(t, p)})
			}
			if len(cases) == 0 {
				t.Fatalf("no %s seeds in extract/%s/testdata", c.name, c.name)
			}
			extracttest.Run(t, c.parser, cases...)
		})
	}
	t.Run("pdf", func(t *testing.T) {
		var cases []extracttest.Case
		for _, p := range seeds("pdf", "pdf") {
			if bytes.Contains([]byte(filepath.Base(p)), []byte("hello")) {
				cases = append(cases, extracttest.Case{Name: filepath.Base(p), Input: readSeed(t, p)})
			}
		}
		if len(cases) == 0 {
			t.Skip("no hello-world pdf seed found in extract/pdf/testdata")
		}
		extracttest.Run(t, pdf.New(), cases...)
	})
}

func utf16le(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

// TestCorpus extracts every corpus file through the standard registry, as
// the server does, and scores it with the corpus's score.py. Targets of
// issue 2: no crash, hang or panic on any file; DOCX >= 0.95, HTML >= 0.85,
// text >= 0.95; PDF reported (and held above its current floor).
func TestCorpus(t *testing.T) {
	ex, err := extract.New(standard.NewRegistry(), extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := corpustest.Manifest(corpustest.Require(t))
	tags := map[string]corpustest.Entry{}
	for _, e := range entries {
		tags[e.ID] = e
	}
	res := corpustest.Run(t, corpustest.WithExtractor(ex))
	t.Logf("score.py:\n%s", res.Report)
	for id, err := range res.Failed {
		e := tags[id]
		switch {
		case e.HasTag("encrypted-needs-password"):
			if !errors.Is(err, extract.ErrEncrypted) {
				t.Errorf("%s: err = %v, want ErrEncrypted", id, err)
			}
		case e.Format == "pdf" && errors.Is(err, extract.ErrMalformed):
			// Broken cross-reference tables and truncated files are
			// refused cleanly today; repairing them is the next PDF
			// milestone. A clean error is what this issue asks.
			t.Logf("%s: refused: %v", id, err)
		default:
			t.Errorf("%s: %v", id, err)
		}
	}
	floors := map[string]float64{"txt": 0.95, "html": 0.85, "docx": 0.95, "pdf": 0.86}
	for format, floor := range floors {
		got, ok := res.MeanF1[format]
		if !ok {
			t.Errorf("%s: no scored files", format)
			continue
		}
		t.Logf("%s mean word F1 = %.3f (floor %.2f)", format, got, floor)
		if got < floor {
			t.Errorf("%s mean word F1 = %.3f, below %.2f", format, got, floor)
		}
	}
}

// BenchmarkExtract measures extraction throughput per format over the
// corpus files of that format (b.SetBytes: MB/s is input bytes).
func BenchmarkExtract(b *testing.B) {
	dir := corpustest.Require(b)
	ex, err := extract.New(standard.NewRegistry(), extract.Config{})
	if err != nil {
		b.Fatal(err)
	}
	entries, err := corpustest.Manifest(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, format := range []string{"txt", "html", "docx", "pdf"} {
		var files [][]byte
		var total int64
		for _, e := range entries {
			if e.Format != format || e.HasTag("encrypted-needs-password") || e.HasTag("malformed") {
				continue
			}
			data, err := os.ReadFile(e.Path)
			if err != nil {
				b.Fatal(err)
			}
			files = append(files, data)
			total += int64(len(data))
		}
		b.Run(format, func(b *testing.B) {
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				for _, data := range files {
					_, err := ex.Extract(context.Background(), extract.Input{R: bytes.NewReader(data), Size: int64(len(data))}, extract.Options{})
					if err != nil && !errors.Is(err, extract.ErrMalformed) {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// TestSniffTextFormats: formats the generic sniffer reports as plain text
// reach their own parser through its Sniffer, with every parser registered.
func TestSniffTextFormats(t *testing.T) {
	reg := standard.NewRegistry()
	cases := []struct {
		name, head, filename, want string
	}{
		{"mail starting with MIME-Version", "MIME-Version: 1.0\r\nFrom: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n", "", "message/rfc822"},
		{"mail starting with an X- header", "X-Mailer: x\r\nFrom: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nbody\r\n", "", "message/rfc822"},
		{"rtf with a byte-order mark", "\ufeff{\\rtf1\\ansi Hello}", "", "application/rtf"},
		{"semicolon csv by name", "a;b\n1;2\n", "x.csv", "text/csv"},
	}
	for _, c := range cases {
		if got := extract.BaseType(reg.Sniff([]byte(c.head), c.filename)); got != c.want {
			t.Errorf("%s: Sniff = %s, want %s", c.name, got, c.want)
		}
	}
	// Prose with a comma per line sniffs as CSV, yet comes out as prose.
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	prose := "From the river to the sea, the delta grows slowly.\nSubject matter aside, it is prose and nothing else.\n"
	doc, err := ex.Extract(t.Context(), extract.Input{R: strings.NewReader(prose), Size: int64(len(prose))}, extract.Options{})
	if err != nil || strings.TrimSpace(doc.Text) != strings.TrimSpace(prose) {
		t.Fatalf("prose: %v %q", err, doc.Text)
	}
}

// repoCorpus is the corpus kept in the repository (testdata/corpus), laid
// out like the shared one: MANIFEST.tsv, files/, expected/.
const repoCorpus = "../../testdata/corpus"

// parserOf names the parser each corpus format must reach by sniffing.
var parserOf = map[string]string{
	"pptx": "pptx", "xlsx": "xlsx", "epub": "epub",
	"odf": "odf", "rtf": "rtf", "csv": "csv", "eml": "eml", "json": "json", "xml": "xml",
}

// TestRepoCorpus extracts every file of the in-repository corpus through
// the standard registry, sniffing its type from its content alone, and
// requires a mean word F1 of at least 0.95 per format (as quarry eval
// scores it), with at least two files of each of the formats that have
// no shared-corpus files.
func TestRepoCorpus(t *testing.T) {
	entries, err := wordf1.ReadManifest(repoCorpus)
	if err != nil {
		t.Fatal(err)
	}
	reg := standard.NewRegistry()
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sum, n := map[string]float64{}, map[string]int{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(repoCorpus, filepath.FromSlash(e.File)))
		if err != nil {
			t.Fatal(err)
		}
		exp, err := os.ReadFile(filepath.Join(repoCorpus, "expected", e.ID+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		if want, ok := parserOf[e.Format]; ok {
			mt := reg.Sniff(data[:min(len(data), extract.SniffLen)], "")
			if name, _, err := reg.Lookup(mt); err != nil || name != want {
				t.Errorf("%s: sniffed %q, parser %q (%v), want %q", e.ID, mt, name, err, want)
			}
		}
		doc, err := ex.Extract(t.Context(), extract.Input{R: bytes.NewReader(data), Size: int64(len(data)), Filename: path.Base(e.File)}, extract.Options{})
		if err != nil {
			t.Errorf("%s: %v", e.ID, err)
			continue
		}
		if e.Pages > 0 && doc.Metadata.PageCount != e.Pages {
			t.Errorf("%s: %d pages, manifest says %d", e.ID, doc.Metadata.PageCount, e.Pages)
		}
		r := wordf1.Compare(string(exp), doc.Text)
		t.Logf("%-30s F1 %.3f  P %.3f  R %.3f  %d/%d words", e.ID, r.F1, r.P, r.R, r.ProdWords, r.ExpWords)
		sum[e.Format] += r.F1
		n[e.Format]++
	}
	for format := range parserOf {
		if n[format] < 2 {
			t.Errorf("%s: %d corpus files, want at least 2", format, n[format])
		}
	}
	for format, total := range sum {
		mean := total / float64(n[format])
		t.Logf("%s: mean word F1 %.3f over %d files", format, mean, n[format])
		if mean < 0.95 {
			t.Errorf("%s: mean word F1 %.3f, below 0.95", format, mean)
		}
	}
}

// TestSniffContainers: ZIP-based formats reach their parser from their
// content, whatever the order of their entries.
func TestSniffContainers(t *testing.T) {
	reg := standard.NewRegistry()
	for _, c := range []struct{ seed, want string }{
		{"../pptx/testdata/seed-sample.pptx", "pptx"},
		{"../xlsx/testdata/seed-sample.xlsx", "xlsx"},
		{"../xlsx/testdata/seed-excelize.xlsx", "xlsx"},
		{"../epub/testdata/seed-sample.epub", "epub"},
		{"../docx/testdata/seed-lists.docx", "docx"},
	} {
		data := readSeed(t, c.seed)
		mt := reg.Sniff(data[:min(len(data), extract.SniffLen)], "")
		if name, _, err := reg.Lookup(mt); err != nil || name != c.want {
			t.Errorf("%s: sniffed %q, parser %q (%v), want %q", c.seed, mt, name, err, c.want)
		}
	}
}
