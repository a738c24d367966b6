package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/wordf1"
	"github.com/quarryhq/quarry/server"
)

// evalFile is one corpus document's outcome.
type evalFile struct {
	ID        string   `json:"id"`
	Format    string   `json:"format"`
	Pages     int      `json:"pages,omitempty"`
	Seconds   float64  `json:"seconds"`
	Code      string   `json:"error,omitempty"`   // error code when extraction failed
	Message   string   `json:"message,omitempty"` // its message
	ExpWords  int      `json:"exp_words"`
	ProdWords int      `json:"prod_words"`
	P         *float64 `json:"p"`  // nil: not scored
	R         *float64 `json:"r"`  // nil: not scored
	F1        *float64 `json:"f1"` // nil: not scored
	// Baseline is the same file through the --baseline tool.
	Baseline *baselineRun `json:"baseline,omitempty"`
}

// baselineRun is a file's outcome through a reference tool (pdftotext).
type baselineRun struct {
	Seconds float64  `json:"seconds"`
	Error   string   `json:"error,omitempty"`
	F1      *float64 `json:"f1"`
}

// evalSummary aggregates the files of one format (or all of them).
type evalSummary struct {
	Format      string   `json:"format"`
	Files       int      `json:"files"`
	Scored      int      `json:"scored"`
	Failed      int      `json:"failed"`
	MeanF1      *float64 `json:"mean_f1"` // macro mean over scored files; nil when none
	Pages       int      `json:"pages"`   // pages of the extracted files whose page count is known
	Seconds     float64  `json:"seconds"` // extraction time of those files
	PagesPerSec *float64 `json:"pages_per_sec"`
	// The --baseline tool on the same files, when it ran.
	BaselineMeanF1      *float64 `json:"baseline_mean_f1,omitempty"`
	BaselinePagesPerSec *float64 `json:"baseline_pages_per_sec,omitempty"`
	baselinePages       int
	baselineSeconds     float64
	baselineScored      int
	baselineSum         float64
}

// evalReport is the whole output of `quarry eval`.
type evalReport struct {
	Corpus   string        `json:"corpus"`
	Formats  []evalSummary `json:"formats"`
	Overall  evalSummary   `json:"overall"`
	Failures []evalFile    `json:"failures"`
	Worst    []evalFile    `json:"worst"` // the ten lowest F1 among scored files
	Files    []evalFile    `json:"files"`
	Baseline string        `json:"baseline,omitempty"`
}

const evalUsage = "usage: quarry eval --corpus DIR [--format pdf,docx] [--baseline pdftotext] [--json]"

// evalCmd extracts every file of a corpus (DIR/MANIFEST.tsv, DIR/files,
// DIR/expected/<id>.txt) and scores it with word F1, as the corpus's
// score.py does. Exit status 0 even when files fail: it is a measurement.
func evalCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fset := flag.NewFlagSet("quarry eval", flag.ContinueOnError)
	fset.SetOutput(stderr)
	corpus := fset.String("corpus", "", "corpus directory holding MANIFEST.tsv, files/ and expected/")
	formats := fset.String("format", "", "comma-separated formats to run (default: all)")
	asJSON := fset.Bool("json", false, "print one JSON object instead of tables")
	baseline := fset.String("baseline", "", "also run this reference tool on the same files and score it (pdftotext: PDFs only, from poppler-utils)")
	cfg, rest, err := loadConfig(fset, args, getenv)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintln(stderr, "quarry eval:", err)
		return 2
	}
	if *corpus == "" || len(rest) > 0 {
		fmt.Fprintln(stderr, evalUsage)
		return 2
	}
	entries, err := wordf1.ReadManifest(*corpus)
	if err != nil {
		fmt.Fprintln(stderr, "quarry eval:", err)
		if errors.Is(err, fs.ErrNotExist) {
			return 2
		}
		return 1
	}
	if *formats != "" {
		want := map[string]bool{}
		for f := range strings.SplitSeq(*formats, ",") {
			if f = strings.ToLower(strings.TrimSpace(f)); f != "" {
				want[f] = true
			}
		}
		entries = slices.DeleteFunc(entries, func(e wordf1.Entry) bool { return !want[e.Format] })
		if len(entries) == 0 {
			fmt.Fprintf(stderr, "quarry eval: no corpus files of format %s\n", *formats)
			return 2
		}
	}
	log := slog.New(slog.DiscardHandler)
	if cfg.LogLevel == "debug" {
		log = newLogger(cfg, stderr)
	}
	ex, err := newExtractor(cfg, log, nil)
	if err != nil {
		fmt.Fprintln(stderr, "quarry eval:", err)
		return 1
	}
	var pdftotext string
	switch *baseline {
	case "":
	case "pdftotext":
		if pdftotext, err = exec.LookPath("pdftotext"); err != nil {
			fmt.Fprintln(stderr, "quarry eval: --baseline pdftotext: pdftotext is not installed (Debian: poppler-utils)")
			return 2
		}
	default:
		fmt.Fprintf(stderr, "quarry eval: --baseline %q: only pdftotext is supported\n", *baseline)
		return 2
	}
	rep := evalReport{Corpus: *corpus, Failures: []evalFile{}, Worst: []evalFile{}, Baseline: *baseline}
	for _, e := range entries {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "quarry eval:", ctx.Err())
			return 1
		}
		f := evalOne(ctx, ex, *corpus, e)
		if pdftotext != "" && e.Format == "pdf" {
			f.Baseline = runPdftotext(ctx, pdftotext, *corpus, e)
		}
		rep.Files = append(rep.Files, f)
	}
	rep.summarise()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		return 0
	}
	rep.print(stdout)
	return 0
}

// evalOne extracts and scores one entry. A failed extraction scores as
// empty output (F1 0 where the expected text has words), as score.py
// counts a missing file; an entry without expected text, or whose
// expected text has no words, is not scored.
func evalOne(ctx context.Context, ex *extract.Extractor, dir string, e wordf1.Entry) evalFile {
	r := evalFile{ID: e.ID, Format: e.Format, Pages: e.Pages}
	start := time.Now()
	doc, err := extractFile(ctx, ex, filepath.Join(dir, filepath.FromSlash(e.File)), extract.Options{})
	r.Seconds = time.Since(start).Seconds()
	text := ""
	if err != nil {
		code, msg := server.ErrorCode(err)
		if code == server.CodeInternal {
			msg = err.Error()
		}
		r.Code, r.Message = string(code), msg
	} else {
		text = doc.Text
	}
	exp, err := os.ReadFile(filepath.Join(dir, "expected", e.ID+".txt"))
	if err != nil {
		return r
	}
	s := wordf1.Compare(strings.ToValidUTF8(string(exp), "\uFFFD"), text)
	r.ExpWords, r.ProdWords = s.ExpWords, s.ProdWords
	if s.Scored() {
		r.P, r.R, r.F1 = &s.P, &s.R, &s.F1
	}
	return r
}

// runPdftotext extracts e with pdftotext (reading order, UTF-8) and scores
// its text like Quarry's; the time includes starting the process, as a
// user running it would pay.
func runPdftotext(ctx context.Context, bin, dir string, e wordf1.Entry) *baselineRun {
	b := &baselineRun{}
	start := time.Now()
	cmd := exec.CommandContext(ctx, bin, "-q", "-enc", "UTF-8", filepath.Join(dir, filepath.FromSlash(e.File)), "-")
	out, err := cmd.Output()
	b.Seconds = time.Since(start).Seconds()
	if err != nil {
		b.Error = err.Error()
		out = nil
	}
	exp, rerr := os.ReadFile(filepath.Join(dir, "expected", e.ID+".txt"))
	if rerr != nil {
		return b
	}
	if s := wordf1.Compare(strings.ToValidUTF8(string(exp), "\uFFFD"), strings.ToValidUTF8(string(out), "\uFFFD")); s.Scored() {
		b.F1 = &s.F1
	}
	return b
}

func (rep *evalReport) summarise() {
	byFormat := map[string]*evalSummary{}
	var order []string
	var all evalSummary
	all.Format = "all"
	sums := map[string]float64{}
	for _, f := range rep.Files {
		s := byFormat[f.Format]
		if s == nil {
			s = &evalSummary{Format: f.Format}
			byFormat[f.Format] = s
			order = append(order, f.Format)
		}
		for _, s := range []*evalSummary{s, &all} {
			s.Files++
			if f.Code != "" {
				s.Failed++
			} else if f.Pages > 0 {
				s.Pages += f.Pages
				s.Seconds += f.Seconds
			}
			if f.F1 != nil {
				s.Scored++
				sums[s.Format] += *f.F1
			}
			if bl := f.Baseline; bl != nil {
				if bl.Error == "" && f.Pages > 0 {
					s.baselinePages += f.Pages
					s.baselineSeconds += bl.Seconds
				}
				if bl.F1 != nil {
					s.baselineScored++
					s.baselineSum += *bl.F1
				}
			}
		}
		if f.Code != "" {
			rep.Failures = append(rep.Failures, f)
		}
		if f.F1 != nil {
			rep.Worst = append(rep.Worst, f)
		}
	}
	finish := func(s *evalSummary) {
		if s.Scored > 0 {
			m := sums[s.Format] / float64(s.Scored)
			s.MeanF1 = &m
		}
		if s.Pages > 0 && s.Seconds > 0 {
			v := float64(s.Pages) / s.Seconds
			s.PagesPerSec = &v
		}
		if s.baselineScored > 0 {
			m := s.baselineSum / float64(s.baselineScored)
			s.BaselineMeanF1 = &m
		}
		if s.baselinePages > 0 && s.baselineSeconds > 0 {
			v := float64(s.baselinePages) / s.baselineSeconds
			s.BaselinePagesPerSec = &v
		}
	}
	slices.Sort(order)
	for _, name := range order {
		finish(byFormat[name])
		rep.Formats = append(rep.Formats, *byFormat[name])
	}
	finish(&all)
	rep.Overall = all
	slices.SortStableFunc(rep.Worst, func(a, b evalFile) int {
		return cmp.Or(cmp.Compare(*a.F1, *b.F1), cmp.Compare(a.ID, b.ID))
	})
	if len(rep.Worst) > 10 {
		rep.Worst = rep.Worst[:10]
	}
}

func (rep *evalReport) print(w io.Writer) {
	opt := func(v *float64, format string) string {
		if v == nil {
			return "n/a"
		}
		return fmt.Sprintf(format, *v)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if rep.Baseline == "" {
		fmt.Fprintln(tw, "format\tfiles\tscored\tfailed\tword F1\tpages/s\t")
	} else {
		fmt.Fprintf(tw, "format\tfiles\tscored\tfailed\tword F1\tpages/s\t%s F1\t%s pages/s\t\n", rep.Baseline, rep.Baseline)
	}
	for _, s := range append(slices.Clone(rep.Formats), rep.Overall) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t", s.Format, s.Files, s.Scored, s.Failed,
			opt(s.MeanF1, "%.3f"), opt(s.PagesPerSec, "%.1f"))
		if rep.Baseline != "" {
			fmt.Fprintf(tw, "%s\t%s\t", opt(s.BaselineMeanF1, "%.3f"), opt(s.BaselinePagesPerSec, "%.1f"))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	if len(rep.Failures) > 0 {
		fmt.Fprintf(w, "\nfailures (%d):\n", len(rep.Failures))
		for _, f := range rep.Failures {
			fmt.Fprintf(w, "  %s: %s: %s\n", f.ID, f.Code, f.Message)
		}
	}
	if len(rep.Worst) > 0 {
		fmt.Fprintf(w, "\nlowest word F1:\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, f := range rep.Worst {
			fmt.Fprintf(tw, "  %s\t%.3f\tP %.3f\tR %.3f\t%d/%d words", f.ID, *f.F1, *f.P, *f.R, f.ProdWords, f.ExpWords)
			if f.Baseline != nil && f.Baseline.F1 != nil {
				fmt.Fprintf(tw, "\t%s %.3f", rep.Baseline, *f.Baseline.F1)
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
}
