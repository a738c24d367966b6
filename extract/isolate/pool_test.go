//go:build linux

package isolate_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/isolate"
)

// consumer is what a consumer such as sources needs (it declares its own):
// the in-process Extractor and the Pool both provide it.
type consumer interface {
	Extract(ctx context.Context, in extract.Input, opts extract.Options) (*extract.Document, error)
	Registry() *extract.Registry
	Limits() extract.Limits
}

var (
	_ consumer = (*isolate.Pool)(nil)
	_ consumer = (*extract.Extractor)(nil)
)

func TestConfigValidation(t *testing.T) {
	ex := reference(t)
	dir := t.TempDir()
	file := dir + "/file"
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  isolate.Config
		want string
	}{
		{isolate.Config{}, "Config.Extractor"},
		{isolate.Config{Extractor: ex, Executable: dir + "/missing"}, "Config.Executable"},
		{isolate.Config{Extractor: ex, Executable: file}, "Config.Executable"},
		{isolate.Config{Extractor: ex, Env: []string{"NOEQUALS"}}, "Config.Env[0]"},
		{isolate.Config{Extractor: ex, Workers: -1}, "Config.Workers"},
		{isolate.Config{Extractor: ex, MaxDocsPerWorker: -1}, "Config.MaxDocsPerWorker"},
		{isolate.Config{Extractor: ex, Timeout: -time.Second}, "Config.Timeout"},
		{isolate.Config{Extractor: ex, StartTimeout: -time.Second}, "Config.StartTimeout"},
		{isolate.Config{Extractor: ex, MemoryLimit: 1 << 20}, "Config.MemoryLimit"},
		{isolate.Config{Extractor: ex, MaxOutputBytes: -1}, "Config.MaxOutputBytes"},
		{isolate.Config{Extractor: ex, TempDir: dir + "/missing"}, "Config.TempDir"},
		{isolate.Config{Extractor: ex, TempDir: file}, "Config.TempDir"},
	} {
		p, err := isolate.New(tc.cfg)
		if err == nil {
			p.Close(context.Background())
			t.Errorf("New(%+v) succeeded", tc.cfg)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New: %v, want an error naming %s", err, tc.want)
		}
	}
}

// A program that does not call RunWorkerIfChild is refused by New, fast,
// with a hint.
func TestWorkerWithoutHook(t *testing.T) {
	before := childPIDs(t)
	for _, tc := range []struct {
		name string
		cfg  isolate.Config
		want string
	}{
		{"exits", isolate.Config{Executable: "/bin/true"}, "exited before its handshake"},
		{"keeps running", isolate.Config{Executable: "/bin/sleep", Args: []string{"60"}, StartTimeout: 300 * time.Millisecond}, "did not answer its handshake within 300ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Extractor = reference(t)
			start := time.Now()
			p, err := isolate.New(tc.cfg)
			if err == nil {
				p.Close(context.Background())
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "RunWorkerIfChild") {
				t.Errorf("New: %v, want %q and a hint", err, tc.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("New took %v", d)
			}
		})
	}
	checkNoChildren(t, before)
}

// An error building the worker's Extractor is New's error. Config.Env
// reaches the worker.
func TestWorkerBuildError(t *testing.T) {
	before := childPIDs(t)
	p, err := isolate.New(isolate.Config{Extractor: reference(t), Workers: 2, Env: []string{"ISOLATE_TEST_FAIL=no parsers today"}})
	if err == nil {
		p.Close(context.Background())
		t.Fatal("New succeeded")
	}
	if !strings.Contains(err.Error(), "no parsers today") {
		t.Errorf("New: %v", err)
	}
	checkNoChildren(t, before)
}

func TestRegistryLimitsSniff(t *testing.T) {
	ex := reference(t)
	p, _ := newPool(t, isolate.Config{Extractor: ex})
	if p.Registry() != ex.Registry() || p.Limits() != ex.Limits() {
		t.Error("Registry or Limits are not the parent Extractor's")
	}
	data := "%PDF-1.4\n%%EOF\n"
	got, err := p.Sniff(context.Background(), strings.NewReader(data), int64(len(data)), "x.docx")
	if err != nil || got != "application/pdf" {
		t.Errorf("Sniff = %q, %v", got, err)
	}
}

// Every kind of input, every mode: the pool's Document is the in-process
// Extractor's, byte for byte in JSON.
func TestSameAsInProcess(t *testing.T) {
	p, _ := newPool(t, isolate.Config{Workers: 2})
	ref := reference(t)
	ctx := context.Background()
	files := []string{"pdf-docling-multi_page.pdf", "docx-docling-word_sample.docx", "html-docling-wiki_duck.html"}
	type blob struct{ *os.File } // a blob store's handle: embeds the file
	for _, name := range files {
		path := corpusPath(t, name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		inputs := map[string]extract.Input{
			"os.File": fileInput(t, path),
			"bytes":   {R: strings.NewReader(string(data)), Size: int64(len(data)), Filename: name},
		}
		wrapped := fileInput(t, path)
		wrapped.R = blob{wrapped.R.(*os.File)}
		inputs["wrapper"] = wrapped
		for kind, in := range inputs {
			t.Run(name+"/"+kind, func(t *testing.T) {
				want, err := ref.Extract(ctx, in, extract.Options{})
				if err != nil {
					t.Fatal(err)
				}
				got, err := p.Extract(ctx, in, extract.Options{})
				if err != nil {
					t.Fatal(err)
				}
				sameDocument(t, got, want)
			})
		}
		for i, opts := range []extract.Options{
			{Mode: extract.ModeSummary, SummarySentences: 3},
			{Pages: "1", MaxChars: 300, HeadersFooters: true},
			{Chunking: &extract.ChunkOptions{Strategy: "by_page", MaxChars: 500}},
		} {
			t.Run(fmt.Sprintf("%s/options%d", name, i), func(t *testing.T) {
				in := inputs["os.File"]
				in.Limits = extract.Limits{MaxChars: 5000}
				want, werr := ref.Extract(ctx, in, opts)
				got, gerr := p.Extract(ctx, in, opts)
				if werr != nil || gerr != nil {
					sameError(t, gerr, werr)
					return
				}
				sameDocument(t, got, want)
			})
		}
	}
}

// An in-memory document over 256 KiB goes through Config.TempDir (checked
// empty afterwards by newPool).
func TestLargeInMemoryInput(t *testing.T) {
	p, _ := newPool(t, isolate.Config{})
	text := strings.Repeat("Line of a long plain text document.\n", 60_000)
	in := bytesInput("", text)
	want, err := reference(t).Extract(context.Background(), in, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Extract(context.Background(), in, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameDocument(t, got, want)
}

// upper is a reader that embeds a file but does not read it as it is:
// the pool must extract what upper reads, not the file.
type upper struct{ *os.File }

func (u upper) ReadAt(p []byte, off int64) (int, error) {
	n, err := u.File.ReadAt(p, off)
	copy(p, strings.ToUpper(string(p[:n])))
	return n, err
}

func TestWrapperThatTransforms(t *testing.T) {
	p, _ := newPool(t, isolate.Config{})
	path := t.TempDir() + "/note.txt"
	if err := os.WriteFile(path, []byte("quiet words in lower case\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := fileInput(t, path)
	in.R = upper{in.R.(*os.File)}
	doc, err := p.Extract(context.Background(), in, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Text != "QUIET WORDS IN LOWER CASE\n" {
		t.Errorf("text %q: the pool read the file, not the reader", doc.Text)
	}
}

// Errors keep their message and identity across the process boundary.
func TestErrorsSameAsInProcess(t *testing.T) {
	p, _ := newPool(t, isolate.Config{})
	ref := reference(t)
	ctx := context.Background()
	truncated, err := os.ReadFile(corpusPath(t, "pdf-docling-multi_page.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	truncated = truncated[:len(truncated)/3]
	for _, tc := range []struct {
		name string
		in   extract.Input
		opts extract.Options
	}{
		{"malformed", bytesInput("application/x-error; kinds=malformed", "x"), extract.Options{}},
		{"encrypted", bytesInput("application/x-error; kinds=encrypted", "x"), extract.Options{}},
		{"too large", bytesInput("application/x-error; kinds=too_large", "x"), extract.Options{}},
		{"timeout", bytesInput("application/x-error; kinds=timeout", "x"), extract.Options{}},
		{"several", bytesInput("application/x-error; kinds=malformed+encrypted+option", "x"), extract.Options{}},
		{"plain", bytesInput("application/x-error; kinds=none", "x"), extract.Options{}},
		{"unsupported", bytesInput("application/x-nothing", "x"), extract.Options{}},
		{"unsupported sniffed", extract.Input{R: strings.NewReader("\x00\x01\x02binary"), Size: 9}, extract.Options{}},
		{"empty", bytesInput("text/plain", ""), extract.Options{}},
		{"option pages", bytesInput("text/plain", "x"), extract.Options{Pages: "seven"}},
		{"option mode", bytesInput("text/plain", "x"), extract.Options{Mode: "poem"}},
		{"option max_chars", bytesInput("text/plain", "x"), extract.Options{MaxChars: -1}},
		{"truncated pdf", extract.Input{R: strings.NewReader(string(truncated)), Size: int64(len(truncated))}, extract.Options{}},
		{"encrypted pdf", fileInput(t, corpusPath(t, "pdf-pdfminer-rc4-128.pdf")), extract.Options{Password: "wrong"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, werr := ref.Extract(ctx, tc.in, tc.opts)
			got, gerr := p.Extract(ctx, tc.in, tc.opts)
			if werr == nil {
				if gerr != nil {
					t.Fatalf("pool: %v; in-process succeeded", gerr)
				}
				sameDocument(t, got, want)
				return
			}
			sameError(t, gerr, werr)
		})
	}
	stillWorks(t, p)
}

// The hostile parsers end in the right error, and the pool replaces the
// worker and keeps answering correctly.
func TestHostileParsers(t *testing.T) {
	p, rec := newPool(t, isolate.Config{Timeout: 3 * time.Second, MemoryLimit: 256 << 20})
	for _, tc := range []struct {
		mediaType string
		is        error
		contains  string
		counter   func(isolate.Stats) uint64
	}{
		{"application/x-hang", extract.ErrTimeout, "timed out after 3s", func(s isolate.Stats) uint64 { return s.Timeouts }},
		{"application/x-freeze", extract.ErrTimeout, "timed out after 3s", func(s isolate.Stats) uint64 { return s.Timeouts }},
		{"application/x-exit", extract.ErrMalformed, "the parser process died: exit status 3", func(s isolate.Stats) uint64 { return s.Crashes }},
		{"application/x-panic-goroutine", extract.ErrMalformed, "the parser process died: exit status 2", func(s isolate.Stats) uint64 { return s.Crashes }},
		{"application/x-oom", extract.ErrMalformed, oomMessage, func(s isolate.Stats) uint64 { return s.Crashes }},
	} {
		t.Run(strings.TrimPrefix(tc.mediaType, "application/"), func(t *testing.T) {
			before := p.Stats()
			start := time.Now()
			doc, err := p.Extract(context.Background(), bytesInput(tc.mediaType, "x"), extract.Options{})
			elapsed := time.Since(start)
			if !errors.Is(err, tc.is) || !strings.Contains(fmt.Sprint(err), tc.contains) {
				t.Fatalf("Extract = %v, %v; want %v containing %q", doc, err, tc.is, tc.contains)
			}
			if elapsed > 3*time.Second+5*time.Second {
				t.Errorf("took %v", elapsed)
			}
			after := p.Stats()
			if tc.counter(after) != tc.counter(before)+1 {
				t.Errorf("counter went from %d to %d", tc.counter(before), tc.counter(after))
			}
			stillWorks(t, p)
			if s := p.Stats(); s.WorkerStarts != before.WorkerStarts+1 {
				t.Errorf("WorkerStarts %d, want %d (one replacement)", s.WorkerStarts, before.WorkerStarts+1)
			}
		})
	}
	if rec.count("isolate: worker killed at the deadline") != 1 {
		t.Errorf("want the frozen worker killed by the pool")
	}
	if rec.count("isolate: parser process died") != 3 {
		t.Errorf("want 3 crash records, got:\n%s", strings.Join(rec.lines, "\n"))
	}
}

// A result over MaxOutputBytes is ErrTooLarge; the worker survives it.
// Under the default cap the flood is truncated by the worker's Extractor.
func TestOutputFlood(t *testing.T) {
	in := bytesInput("application/x-flood; mib=200", "x")
	t.Run("over the cap", func(t *testing.T) {
		p, _ := newPool(t, isolate.Config{MaxOutputBytes: 1 << 20, MemoryLimit: 2 << 30})
		_, err := p.Extract(context.Background(), in, extract.Options{})
		if !errors.Is(err, extract.ErrTooLarge) || !strings.Contains(err.Error(), "over the cap of 1048576") {
			t.Fatalf("Extract: %v", err)
		}
		if s := p.Stats(); s.OutputCapHits != 1 || s.Crashes != 0 || s.WorkerStarts != 1 {
			t.Errorf("stats %+v", s)
		}
		stillWorks(t, p)
	})
	t.Run("default cap", func(t *testing.T) {
		p, _ := newPool(t, isolate.Config{MemoryLimit: 2 << 30})
		doc, err := p.Extract(context.Background(), in, extract.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(doc.Text) != extract.DefaultLimits().MaxChars || len(doc.Warnings) != 1 || doc.Warnings[0].Code != extract.WarnTruncated {
			t.Errorf("got %d chars, warnings %v", len(doc.Text), doc.Warnings)
		}
	})
}

// A parser that writes to the protocol socket cannot make the parent read
// a huge frame or accept a forged answer.
func TestForgedResponses(t *testing.T) {
	p, _ := newPool(t, isolate.Config{MaxOutputBytes: 1 << 20})
	_, err := p.Extract(context.Background(), bytesInput("application/x-liar; huge=1", "x"), extract.Options{})
	if !errors.Is(err, extract.ErrTooLarge) || !strings.Contains(err.Error(), "1073741824 bytes, over the cap of 1048576") {
		t.Errorf("announced 1 GiB: %v", err)
	}
	_, err = p.Extract(context.Background(), bytesInput("application/x-liar", "x"), extract.Options{})
	if !errors.Is(err, extract.ErrMalformed) || !strings.Contains(err.Error(), "broke the protocol") {
		t.Errorf("forged frame: %v", err)
	}
	stillWorks(t, p)
	if s := p.Stats(); s.OutputCapHits != 1 || s.Crashes != 1 || s.WorkerStarts != 3 {
		t.Errorf("stats %+v", s)
	}
}

// The worker runs under the limits of the Config.
func TestWorkerLimits(t *testing.T) {
	const limit = 512 << 20
	p, _ := newPool(t, isolate.Config{MemoryLimit: limit})
	doc, err := p.Extract(context.Background(), bytesInput("application/x-limits", "x"), extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var as uint64
	var core, nnp int
	var gomemlimit string
	if _, err := fmt.Sscanf(doc.Text, "as=%d core=%d nnp=%d gomemlimit=%s", &as, &core, &nnp, &gomemlimit); err != nil {
		t.Fatalf("%q: %v", doc.Text, err)
	}
	if core != 0 || nnp != 1 || gomemlimit != strconv.Itoa(limit/10*8) {
		t.Errorf("limits %q", doc.Text)
	}
	if as == ^uint64(0) || as < limit || as > 8<<30 {
		t.Errorf("RLIMIT_AS %d: want the address space at start plus %d", as, limit)
	}
}

// A parser writing to stdout neither corrupts the protocol nor floods the
// log.
func TestWorkerOutputIsBounded(t *testing.T) {
	p, rec := newPool(t, isolate.Config{})
	doc, err := p.Extract(context.Background(), bytesInput("application/x-stdout", "x"), extract.Options{})
	if err != nil || doc.Text != "quiet" {
		t.Fatalf("Extract = %v, %v", doc, err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := rec.count("isolate: worker output pid="); n != 200 {
		t.Errorf("%d output records, want 200", n)
	}
	if rec.count("isolate: worker output dropped") != 1 || rec.count("lines=4800") != 1 {
		t.Errorf("no record of the 4800 dropped lines")
	}
}

func TestRecycle(t *testing.T) {
	p, _ := newPool(t, isolate.Config{MaxDocsPerWorker: 2})
	var pids []string
	for range 5 {
		doc, err := p.Extract(context.Background(), bytesInput("application/x-pid", "x"), extract.Options{})
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, doc.Text)
	}
	if pids[0] != pids[1] || pids[1] == pids[2] || pids[2] != pids[3] || pids[3] == pids[4] || pids[0] == pids[4] {
		t.Errorf("worker PIDs %v, want a new worker every 2 documents", pids)
	}
	if s := p.Stats(); s.Recycles != 2 || s.WorkerStarts != 3 || s.Documents != 5 || s.Crashes != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestConcurrent(t *testing.T) {
	p, _ := newPool(t, isolate.Config{Workers: 2, MaxDocsPerWorker: 3})
	ref := reference(t)
	ctx := context.Background()
	pdf := fileInput(t, corpusPath(t, "pdf-docling-multi_page.pdf"))
	docx := fileInput(t, corpusPath(t, "docx-docling-word_sample.docx"))
	text := bytesInput("", "Plain text, sniffed by the worker.\n")
	var wants []*extract.Document
	for _, in := range []extract.Input{pdf, docx, text} {
		want, err := ref.Extract(ctx, in, extract.Options{})
		if err != nil {
			t.Fatal(err)
		}
		wants = append(wants, want)
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 3 {
				k := (g + i) % 3
				in := []extract.Input{pdf, docx, text}[k]
				if k == 2 { // a reader of its own: strings.Reader is not safe to share
					in = bytesInput("", "Plain text, sniffed by the worker.\n")
				}
				got, err := p.Extract(ctx, in, extract.Options{})
				if err != nil {
					t.Error(err)
					return
				}
				sameDocument(t, got, wants[k])
			}
		})
	}
	wg.Wait()
	if s := p.Stats(); s.Documents != 18 || s.Busy != 0 || s.Waiting != 0 || s.Crashes != 0 || s.Recycles < 5 {
		t.Errorf("stats %+v", s)
	}
}

// With every worker busy, Extract waits its turn.
func TestQueue(t *testing.T) {
	p, _ := newPool(t, isolate.Config{Workers: 1})
	var wg sync.WaitGroup
	start := time.Now()
	for range 3 {
		wg.Go(func() {
			doc, err := p.Extract(context.Background(), bytesInput("application/x-slow; ms=300", "x"), extract.Options{})
			if err != nil || doc.Text != "slow" {
				t.Errorf("Extract = %v, %v", doc, err)
			}
		})
	}
	waitFor(t, "two callers to wait", func() bool { return p.Stats().Waiting == 2 })
	wg.Wait()
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("3 documents of 300ms on one worker took %v", d)
	}
}

func TestCancel(t *testing.T) {
	p, _ := newPool(t, isolate.Config{Workers: 1})
	t.Run("while parsing", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(300*time.Millisecond, cancel)
		start := time.Now()
		_, err := p.Extract(ctx, bytesInput("application/x-slow; ms=60000", "x"), extract.Options{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Extract: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
		if s := p.Stats(); s.Canceled != 1 {
			t.Errorf("stats %+v", s)
		}
		stillWorks(t, p)
	})
	t.Run("deadline while parsing", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err := p.Extract(ctx, bytesInput("application/x-slow; ms=60000", "x"), extract.Options{})
		if !errors.Is(err, extract.ErrTimeout) || !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("Extract: %v", err)
		}
	})
	t.Run("while waiting", func(t *testing.T) {
		done := make(chan error, 1)
		go func() {
			_, err := p.Extract(context.Background(), bytesInput("application/x-slow; ms=1000", "x"), extract.Options{})
			done <- err
		}()
		waitFor(t, "the worker to be busy", func() bool { return p.Stats().Busy == 1 })
		docs := p.Stats().Documents
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := p.Extract(ctx, bytesInput("application/x-pid", "x"), extract.Options{})
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, extract.ErrTimeout) {
			t.Errorf("Extract while queued: %v, want the context's error alone", err)
		}
		if err := <-done; err != nil {
			t.Errorf("the running extraction: %v", err)
		}
		if s := p.Stats(); s.Documents != docs {
			t.Errorf("the cancelled document reached a worker: %+v", s)
		}
	})
	t.Run("already done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := p.Extract(ctx, bytesInput("text/plain", "x"), extract.Options{}); !errors.Is(err, context.Canceled) {
			t.Errorf("Extract: %v", err)
		}
	})
}

func TestClose(t *testing.T) {
	t.Run("lets work finish", func(t *testing.T) {
		p, _ := newPool(t, isolate.Config{Workers: 1})
		done := make(chan error, 1)
		go func() {
			doc, err := p.Extract(context.Background(), bytesInput("application/x-slow; ms=500", "x"), extract.Options{})
			if err == nil && doc.Text != "slow" {
				err = fmt.Errorf("text %q", doc.Text)
			}
			done <- err
		}()
		waitFor(t, "the worker to be busy", func() bool { return p.Stats().Busy == 1 })
		if err := p.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Errorf("the running extraction: %v", err)
		}
		if _, err := p.Extract(context.Background(), bytesInput("text/plain", "x"), extract.Options{}); !errors.Is(err, isolate.ErrClosed) {
			t.Errorf("Extract after Close: %v", err)
		}
		if err := p.Close(context.Background()); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
	t.Run("kills what does not finish", func(t *testing.T) {
		before := childPIDs(t)
		p, _ := newPool(t, isolate.Config{Workers: 2})
		errs := make(chan error, 3)
		for range 3 { // two busy, one waiting
			go func() {
				_, err := p.Extract(context.Background(), bytesInput("application/x-slow; ms=60000", "x"), extract.Options{})
				errs <- err
			}()
		}
		waitFor(t, "two busy workers and one caller waiting", func() bool {
			s := p.Stats()
			return s.Busy == 2 && s.Waiting == 1
		})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := p.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Close took %v", d)
		}
		for range 3 {
			if err := <-errs; !errors.Is(err, isolate.ErrClosed) {
				t.Errorf("Extract: %v, want ErrClosed", err)
			}
		}
		checkNoChildren(t, before)
	})
}
