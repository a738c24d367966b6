package pdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
)

// parseWithin calls Parse directly (not through the Extractor, to prove
// containment) in a goroutine under a deadline. A panic escaping Parse or a
// Parse that outlives the deadline by more than a grace period fails.
func parseWithin(tb testing.TB, data []byte, in extract.Input, d time.Duration) (*extract.Document, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	in.R, in.Size = bytes.NewReader(data), int64(len(data))
	type result struct {
		doc   *extract.Document
		err   error
		panic string
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- result{panic: fmt.Sprintf("%v\n%s", v, debug.Stack())}
			}
		}()
		doc, err := New().Parse(ctx, in)
		done <- result{doc: doc, err: err}
	}()
	select {
	case r := <-done:
		if r.panic != "" {
			tb.Fatalf("panic escaped Parse: %s", r.panic)
		}
		if r.err == nil && r.doc == nil {
			tb.Fatal("Parse returned neither a document nor an error")
		}
		if r.err != nil && errors.Is(r.err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w (%v)", extract.ErrTimeout, r.err)
		}
		return r.doc, r.err
	case <-time.After(d + 2*time.Second):
		tb.Fatalf("Parse did not return within %v of its deadline", d)
		return nil, nil
	}
}

func allText(doc *extract.Document) string {
	var parts []string
	for _, p := range doc.Pages {
		parts = append(parts, p.Text)
	}
	return strings.Join(parts, "\n\n")
}

func TestHelloWorld(t *testing.T) {
	doc, err := parseWithin(t, helloPDF(), extract.Input{}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 1 || doc.Pages[0].Number != 1 {
		t.Fatalf("pages = %+v", doc.Pages)
	}
	if got, want := doc.Pages[0].Text, "Hello World\nSecond line"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	m := doc.Metadata
	if m.Title != "Hello (test)" || m.Author != "Jörg W" || m.PageCount != 1 || m.Language != "en-GB" {
		t.Errorf("metadata = %+v", m)
	}
	if m.Created == nil || !m.Created.Equal(time.Date(2024, 1, 31, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("created = %v", m.Created)
	}
	if m.Modified == nil || m.Modified.Year() != 2024 {
		t.Errorf("modified = %v", m.Modified)
	}
	if len(doc.Warnings) != 0 {
		t.Errorf("warnings = %+v", doc.Warnings)
	}
}

func TestThroughExtractor(t *testing.T) {
	ex := newExtractor(t)
	data := helloPDF()
	doc, err := ex.Extract(t.Context(), extract.Input{R: bytes.NewReader(data), Size: int64(len(data))}, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Metadata.Parser != "pdf" || doc.Metadata.ParserVersion != Version || !strings.Contains(doc.Text, "Hello World") {
		t.Errorf("doc = %+v", doc)
	}
}

func TestInterface(t *testing.T) {
	p := New()
	if got := p.MediaTypes(); len(got) != 1 || got[0] != "application/pdf" {
		t.Errorf("MediaTypes = %v", got)
	}
	if p.Version() == "" {
		t.Error("empty Version")
	}
}

// T18: /Count 2147483647 on a one-page document.
func TestT18CountLie(t *testing.T) {
	start := time.Now()
	doc, err := parseWithin(t, countLie(), extract.Input{}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 1 || doc.Metadata.PageCount != 1 {
		t.Errorf("pages = %d, page count = %d, want 1", len(doc.Pages), doc.Metadata.PageCount)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

// T18: the page cap holds even when the tree really has more pages.
func TestPageCap(t *testing.T) {
	objs := onePage(helloContent)
	var kids []string
	for i := range 10 {
		kids = append(kids, fmt.Sprintf("%d 0 R", 7+i))
		objs = append(objs, "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>")
	}
	objs[1] = "<< /Type /Pages /Kids [" + strings.Join(kids, " ") + "] /Count 10 >>"
	doc, err := parseWithin(t, buildPDF(objs, "/Root 1 0 R"), extract.Input{Limits: extract.Limits{MaxPages: 3}}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 3 || doc.Metadata.PageCount != 10 || !hasWarning(doc, extract.WarnTruncated, 0) {
		t.Errorf("pages = %d, count = %d, warnings = %+v", len(doc.Pages), doc.Metadata.PageCount, doc.Warnings)
	}
}

// T19: cyclic page trees are refused before the library's Page() could
// loop on them.
func TestT19CyclicKids(t *testing.T) {
	for name, data := range map[string][]byte{"self": cyclicKids(), "two-nodes": cyclicKidsDeep()} {
		t.Run(name, func(t *testing.T) {
			_, err := parseWithin(t, data, extract.Input{}, 5*time.Second)
			if !errors.Is(err, extract.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

// A cyclic /Parent chain (resource inheritance) does not hang.
func TestCyclicParent(t *testing.T) {
	doc, err := parseWithin(t, cyclicParent(), extract.Input{}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// No resources: the text is drawn without a font.
	if !strings.Contains(allText(doc), "Hello") {
		t.Errorf("text = %q", allText(doc))
	}
}

// T20: a FlateDecode bomb under the per-stream cap is cut at MaxChars.
func TestT20BombOutputCapped(t *testing.T) {
	data := flateBomb(8 << 20) // 8 MiB of operators from a few KiB
	t.Logf("bomb: %d bytes", len(data))
	const maxChars = 10000
	start := time.Now()
	doc, err := parseWithin(t, data, extract.Input{Limits: extract.Limits{MaxChars: maxChars}}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	n := utf8.RuneCountInString(allText(doc))
	if n > maxChars+100 {
		t.Errorf("text of %d code points, cap %d", n, maxChars)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// T20: a stream that inflates past the 64 MiB per-stream cap is refused
// without interpreting it.
func TestT20BombOverStreamCap(t *testing.T) {
	if testing.Short() {
		t.Skip("inflates 64 MiB")
	}
	data := flateBomb(maxStreamBytes + 1<<20)
	t.Logf("bomb: %d bytes -> %d MiB", len(data), (maxStreamBytes+1<<20)>>20)
	_, err := parseWithin(t, data, extract.Input{}, 20*time.Second)
	if !errors.Is(err, extract.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

// T21: malformed documents give ErrMalformed or ErrEncrypted, never a
// panic.
func TestT21Malformed(t *testing.T) {
	cases := map[string]struct {
		data []byte
		want error
	}{
		"zero bytes":       {nil, extract.ErrMalformed},
		"garbage":          {[]byte("this is not a PDF at all, just text\n"), extract.ErrMalformed},
		"header only":      {[]byte("%PDF-1.4\n"), extract.ErrMalformed},
		"binary garbage":   {bytes.Repeat([]byte{0xff, 0x00, 0x25}, 1000), extract.ErrMalformed},
		"unknown filter":   {unknownFilter(), extract.ErrMalformed},
		"short AES string": {shortAES(), extract.ErrMalformed},
		"self font":        {selfFont(), nil},
		"self form":        {selfForm(), nil},
		"broken cmap":      {brokenCMap(), nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var doc *extract.Document
			var err error
			if len(c.data) == 0 {
				doc, err = New().Parse(t.Context(), extract.Input{R: bytes.NewReader(nil), Size: 0})
			} else {
				doc, err = parseWithin(t, c.data, extract.Input{}, 5*time.Second)
			}
			if c.want == nil {
				if err != nil {
					t.Fatalf("err = %v, want a document", err)
				}
				t.Logf("text %q warnings %+v", allText(doc), doc.Warnings)
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			t.Logf("err: %v", err)
		})
	}
}

func TestSelfFormReadsOnce(t *testing.T) {
	doc, err := parseWithin(t, selfForm(), extract.Input{}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := allText(doc); strings.Count(got, "form") != 1 || !strings.Contains(got, "after") {
		t.Errorf("text = %q", got)
	}
}

func TestOneBadPage(t *testing.T) {
	doc, err := parseWithin(t, twoPagesOneBad(), extract.Input{}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) != 2 || doc.Pages[1].Text != "Page two" {
		t.Fatalf("pages = %+v", doc.Pages)
	}
	if !hasWarning(doc, extract.WarnPageFailed, 1) {
		t.Errorf("warnings = %+v, want page_failed on page 1", doc.Warnings)
	}
}

func TestNoTextLayer(t *testing.T) {
	doc, err := parseWithin(t, scanned(), extract.Input{}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !hasWarning(doc, extract.WarnNoTextLayer, 1) {
		t.Errorf("warnings = %+v", doc.Warnings)
	}
}

func TestEncryption(t *testing.T) {
	data := encryptedRC4("secret")
	if _, err := parseWithin(t, data, extract.Input{}, 5*time.Second); !errors.Is(err, extract.ErrEncrypted) {
		t.Errorf("no password: err = %v, want ErrEncrypted", err)
	}
	if _, err := parseWithin(t, data, extract.Input{Password: "wrong"}, 5*time.Second); !errors.Is(err, extract.ErrEncrypted) {
		t.Errorf("wrong password: err = %v, want ErrEncrypted", err)
	}
	doc, err := parseWithin(t, data, extract.Input{Password: "secret"}, 5*time.Second)
	if err != nil || !strings.Contains(allText(doc), "Hello World") {
		t.Errorf("right password: doc %v err %v", doc, err)
	}
	doc, err = parseWithin(t, encryptedRC4(""), extract.Input{}, 5*time.Second)
	if err != nil || !strings.Contains(allText(doc), "Hello World") {
		t.Errorf("empty user password: doc %v err %v", doc, err)
	}
	// An AES-256 dictionary whose O and U entries are too short.
	_, err = parseWithin(t, aes256(), extract.Input{}, 5*time.Second)
	if !errors.Is(err, extract.ErrMalformed) {
		t.Errorf("bogus AES-256 dictionary: err = %v, want ErrMalformed", err)
	}
}

// TestAES256 reads documents encrypted by qpdf with AES-256 (revision 6,
// revision 5, with object streams, with an empty user password): the
// right password (user or owner) opens them, text and metadata strings
// included; none or a wrong one is ErrEncrypted.
func TestAES256(t *testing.T) {
	want := "Hello World\nSecond line"
	for _, name := range []string{"r6-user", "r5-user", "r6-objstm", "r6-owner-only"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "aes256", name+".pdf"))
			if err != nil {
				t.Fatal(err)
			}
			passwords := []string{"secret", "owner"}
			if name == "r6-owner-only" {
				passwords = []string{"", "owner", "anything"} // the empty user password opens it
			} else {
				for _, pw := range []string{"", "wrong", "Secret"} {
					_, err := parseWithin(t, data, extract.Input{Password: pw}, 10*time.Second)
					if !errors.Is(err, extract.ErrEncrypted) {
						t.Errorf("password %q: err = %v, want ErrEncrypted", pw, err)
					}
				}
			}
			for _, pw := range passwords {
				doc, err := parseWithin(t, data, extract.Input{Password: pw}, 10*time.Second)
				if err != nil {
					t.Fatalf("password %q: %v", pw, err)
				}
				if got := allText(doc); got != want {
					t.Errorf("password %q: text %q, want %q", pw, got, want)
				}
				if doc.Metadata.Title != "Hello (test)" {
					t.Errorf("password %q: title %q (metadata strings are encrypted too)", pw, doc.Metadata.Title)
				}
				if len(doc.Warnings) != 0 {
					t.Errorf("password %q: warnings %+v", pw, doc.Warnings)
				}
			}
		})
	}
}

// TestHash2BTerminates: the revision 6 password hash ends for any password
// and gives a 256-bit key. Its values are checked end to end by TestAES256
// against files qpdf encrypted.
func TestHash2BTerminates(t *testing.T) {
	for _, pw := range []string{"", "secret", strings.Repeat("x", 127)} {
		if k := hash2B(6, []byte(pw), []byte("saltsalt"), make([]byte, 48)); len(k) != 32 {
			t.Errorf("hash2B(%q) = %d bytes", pw, len(k))
		}
		if k := hash2B(5, []byte(pw), []byte("saltsalt"), nil); len(k) != 32 {
			t.Errorf("R5 hash(%q) = %d bytes", pw, len(k))
		}
	}
}

func TestHeaderAndTrailingGarbage(t *testing.T) {
	h := helloPDF()
	v2 := append([]byte("%PDF-2.0 "), h[9:]...)
	garbage := append(bytes.Clone(h), bytes.Repeat([]byte("junk after the end\n"), 50)...)
	for name, data := range map[string][]byte{"pdf-2.0": v2, "trailing garbage": garbage} {
		doc, err := parseWithin(t, data, extract.Input{}, 5*time.Second)
		if err != nil || !strings.Contains(allText(doc), "Hello World") {
			t.Errorf("%s: doc %v err %v", name, doc, err)
		}
	}
}

func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := helloPDF()
	_, err := New().Parse(ctx, extract.Input{R: bytes.NewReader(data), Size: int64(len(data))})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestParseDate(t *testing.T) {
	for in, want := range map[string]string{
		"D:20240131120000+01'00'": "2024-01-31T12:00:00+01:00",
		"D:20240131120000-05'30":  "2024-01-31T12:00:00-05:30",
		"D:20240131120000Z":       "2024-01-31T12:00:00Z",
		"D:2024":                  "2024-01-01T00:00:00Z",
		"20240131":                "2024-01-31T00:00:00Z",
		"D:20241301":              "",
		"D:20240230":              "",
		"yesterday":               "",
	} {
		got, ok := parseDate(in)
		s := ""
		if ok {
			s = got.Format(time.RFC3339)
		}
		if s != want {
			t.Errorf("parseDate(%q) = %q, want %q", in, s, want)
		}
	}
}

func TestTextString(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                       "plain",
		"\xfe\xff\x00A\x00\xe9":       "Aé",
		"\xef\xbb\xbfcaf\xc3\xa9":     "café",
		"\x8dquoted\x8e \x80 caf\xe9": "“quoted” • café",
	} {
		if got := textString(in); got != want {
			t.Errorf("textString(%q) = %q, want %q", in, got, want)
		}
	}
}

func hasWarning(doc *extract.Document, code string, page int) bool {
	for _, w := range doc.Warnings {
		if w.Code == code && w.Page == page {
			return true
		}
	}
	return false
}

// TestWriteTestdata rewrites testdata/*.pdf from the fixtures when
// QUARRY_WRITE_TESTDATA=1.
func TestWriteTestdata(t *testing.T) {
	if os.Getenv("QUARRY_WRITE_TESTDATA") != "1" {
		t.Skip("set QUARRY_WRITE_TESTDATA=1 to rewrite testdata")
	}
	fx := fixtures()
	names := make([]string, 0, len(fx))
	for n := range fx {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join("testdata", n+".pdf"), fx[n], 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRepair: a damaged file is read by rebuilding its cross-reference
// table from a scan of its objects, with a "repaired" warning; what is
// lost stays lost, and nothing else is made up.
func TestRepair(t *testing.T) {
	cases := map[string]struct {
		data []byte
		want string
	}{
		"truncated":       {truncated(), ""},
		"missing %%EOF":   {missingEOF(), "Hello World\nSecond line"},
		"startxref past":  {startxrefPastEOF(), "Hello World\nSecond line"},
		"root not a dict": {rootNotDict(), "Hello World\nSecond line"},
		"root missing":    {rootMissing(), "Hello World\nSecond line"},
		"no xref at all":  {noXref(), "Hello World\nSecond line"},
		"objstm, cut":     {objStmCut(), "Hello World\nSecond line"},
		"wrong /Length":   {wrongLength(), "Hello World\nSecond line"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			doc, err := parseWithin(t, c.data, extract.Input{}, 5*time.Second)
			if c.want == "" {
				// Cut before the content stream: the page is there,
				// its text is not.
				if err != nil && !errors.Is(err, extract.ErrMalformed) {
					t.Fatalf("err = %v, want a document or ErrMalformed", err)
				}
				if err == nil && !hasWarning(doc, extract.WarnRepaired, 0) {
					t.Errorf("no repaired warning: %+v", doc.Warnings)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := allText(doc); got != c.want {
				t.Errorf("text = %q, want %q", got, c.want)
			}
			if !hasWarning(doc, extract.WarnRepaired, 0) {
				t.Errorf("no repaired warning: %+v", doc.Warnings)
			}
		})
	}
	// An intact file is not repaired.
	doc, err := parseWithin(t, helloPDF(), extract.Input{}, 5*time.Second)
	if err != nil || hasWarning(doc, extract.WarnRepaired, 0) {
		t.Fatalf("intact file: err %v, warnings %+v", err, doc.Warnings)
	}
}

// TestLogicalOrder: right-to-left lines drawn in visual order come back in
// logical order, with numbers and Latin words inside them kept readable.
func TestLogicalOrder(t *testing.T) {
	for visual, want := range map[string]string{
		"":                     "",
		"Hello World":          "Hello World",
		"ﺔﻴﺑﺮﻌﻟا طﻮﻄﳋا":        "اﳋﻄﻮط اﻟﻌﺮﺑﻴﺔ",
		"1403 / 10 / 04 خيرات": "تاريخ 04 / 10 / 1403",
		"PDF لیاف":             "فایل PDF",
		"see םולש here":        "see שלום here",
		"(ב) א":                "א (ב)",
	} {
		if got := logicalOrder(visual); got != want {
			t.Errorf("logicalOrder(%q) = %q, want %q", visual, got, want)
		}
	}
}
