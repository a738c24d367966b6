package extracttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
)

// linesParser is a small well-behaved parser: UTF-8 text whose pages are
// separated by form feeds. "LOCKED" at the start means encrypted.
type linesParser struct{}

func (linesParser) MediaTypes() []string { return []string{"text/x-lines", "application/x-lines"} }

func (linesParser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(in.Reader(), 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", extract.ErrMalformed, err)
	}
	if bytes.HasPrefix(data, []byte("LOCKED")) {
		return nil, fmt.Errorf("lines: %w", extract.ErrEncrypted)
	}
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return nil, fmt.Errorf("lines: %w: not text", extract.ErrMalformed)
	}
	doc := &extract.Document{}
	for i, p := range strings.Split(string(data), "\f") {
		doc.Pages = append(doc.Pages, extract.Page{Number: i + 1, Text: p})
	}
	return doc, nil
}

func (linesParser) Sniff(head []byte) string {
	if bytes.HasPrefix(head, []byte("LINES\n")) {
		return "text/x-lines"
	}
	return ""
}

func (linesParser) Version() string { return "1.0" }

var linesCases = []Case{
	{Name: "two pages", Input: []byte("LINES\nHello, world.\fSecond page here, with more text than fits in one hundred code points of a capped extraction, so the cap bites."), WantContains: []string{"Hello, world.", "Second page"}},
	{Name: "unicode", Input: []byte("LINES\nÇa va? 日本語"), Filename: "x.lines", MediaType: "application/x-lines", WantContains: []string{"日本語"}},
	{Name: "locked", Input: []byte("LOCKED\nsecret"), WantErr: extract.ErrEncrypted},
	{Name: "empty", Input: nil, WantErr: extract.ErrMalformed},
}

func TestRunGoodParser(t *testing.T) {
	t.Parallel()
	Run(t, linesParser{}, linesCases...)
}

func TestCheckGoodParser(t *testing.T) {
	t.Parallel()
	if errs := Check(linesParser{}, linesCases...); errs != nil {
		t.Fatalf("Check found problems in a good parser: %v", errs)
	}
}

func TestCheckGoodParserNoCases(t *testing.T) {
	t.Parallel()
	if errs := Check(linesParser{}); errs != nil {
		t.Fatalf("Check found problems in a good parser: %v", errs)
	}
}

// funcParser is a parser made of a function, for broken parsers.
type funcParser struct {
	types []string
	parse func(ctx context.Context, in extract.Input) (*extract.Document, error)
}

func (p funcParser) MediaTypes() []string { return p.types }
func (p funcParser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	return p.parse(ctx, in)
}

// readAll reads the whole input of a test parser.
func readAll(in extract.Input) []byte {
	data, _ := io.ReadAll(in.Reader())
	return data
}

func textDoc(s string) *extract.Document { return &extract.Document{Text: s} }

type sniffingParser struct{ funcParser }

func (sniffingParser) Sniff(head []byte) string {
	if len(head) > 0 && head[0] == 'L' {
		return "application/pdf" // not its own type
	}
	if len(head) > 3 {
		_ = head[3] // fine
	}
	return ""
}

type versionedParser struct{ funcParser }

func (versionedParser) Version() string { return " " }

func TestCheckCatchesBrokenParsers(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	good := linesParser{}
	var calls atomic.Int64
	var kept struct {
		sync.Mutex
		r io.ReaderAt
	}

	tests := []struct {
		name   string
		p      extract.Parser
		cases  []Case
		want   []string // substrings that some error must contain
		notGot []string // substrings no error may contain
	}{
		{
			name: "panics on short input",
			p: funcParser{[]string{"text/x-lines"}, func(_ context.Context, in extract.Input) (*extract.Document, error) {
				data := readAll(in)
				_ = data[10] // index out of range on short input
				return textDoc(string(data)), nil
			}},
			want: []string{"Hostile/two pages: empty: parse panicked", "Hostile/two pages: truncated to 1 bytes: parse panicked"},
		},
		{
			name: "panics on every input",
			p: funcParser{[]string{"text/x-lines"}, func(context.Context, extract.Input) (*extract.Document, error) {
				panic("boom")
			}},
			want: []string{"Cases/two pages: extract: malformed document", "Cases/two pages: parse panicked: boom", "Concurrent: goroutine 7: parse panicked"},
		},
		{
			name: "hangs on NUL bytes ignoring ctx",
			p: funcParser{[]string{"text/x-lines"}, func(_ context.Context, in extract.Input) (*extract.Document, error) {
				data := readAll(in)
				if bytes.IndexByte(data, 0) >= 0 {
					<-release
				}
				return textDoc(strings.ToValidUTF8(string(data), "")), nil
			}},
			want: []string{"Hostile/two pages: zeros: parse did not return within"},
		},
		{
			name: "hangs on a cancelled context",
			p: funcParser{[]string{"text/x-lines"}, func(ctx context.Context, in extract.Input) (*extract.Document, error) {
				if ctx.Err() != nil {
					<-release
				}
				return good.Parse(ctx, in)
			}},
			want: []string{"CancelledContext: parse with a cancelled context did not return"},
		},
		{
			name: "returns invalid UTF-8",
			p: funcParser{[]string{"text/x-lines"}, func(_ context.Context, in extract.Input) (*extract.Document, error) {
				return textDoc(string(readAll(in))), nil
			}},
			want: []string{"Hostile/two pages: random bytes: Document.Text is not valid UTF-8"},
		},
		{
			name: "returns invalid UTF-8 in pages",
			p: funcParser{[]string{"text/x-lines"}, func(_ context.Context, in extract.Input) (*extract.Document, error) {
				return &extract.Document{Pages: []extract.Page{{Text: "ok"}, {Text: "\xff" + string(readAll(in))}}}, nil
			}},
			want: []string{"Cases/two pages: page 2: text is not valid UTF-8"},
		},
		{
			name: "returns a bare error",
			p: funcParser{[]string{"text/x-lines"}, func(_ context.Context, in extract.Input) (*extract.Document, error) {
				if in.Size < 20 {
					return nil, errors.New("too short")
				}
				return good.Parse(context.Background(), in)
			}},
			want: []string{`Hostile/two pages: empty: parse error "too short" wraps none of the extract sentinels`},
		},
		{
			name: "returns nil, nil",
			p: funcParser{[]string{"text/x-lines"}, func(context.Context, extract.Input) (*extract.Document, error) {
				return nil, nil
			}},
			want: []string{"Cases/two pages: extract: malformed document", "parse returned a nil Document and a nil error"},
		},
		{
			name: "bad media types",
			p:    funcParser{[]string{"Text/Plain", "text/plain; charset=utf-8", "text", "text/plain", "text/plain"}, good.Parse},
			want: []string{
				`MediaTypes: media type "Text/Plain" is not in canonical lower-case form`,
				`MediaTypes: media type "text/plain; charset=utf-8" has parameters`,
				`MediaTypes: media type "text" is not type/subtype`,
				`MediaTypes: media type "text/plain" is listed twice`,
			},
		},
		{
			name: "no media types",
			p:    funcParser{nil, good.Parse},
			want: []string{"MediaTypes: MediaTypes() is empty"},
		},
		{
			name: "nondeterministic",
			p: funcParser{[]string{"text/x-lines"}, func(ctx context.Context, in extract.Input) (*extract.Document, error) {
				doc, err := good.Parse(ctx, in)
				if err == nil {
					doc.Pages[0].Text += fmt.Sprint(calls.Add(1))
				}
				return doc, err
			}},
			want: []string{"Concurrent: goroutine", "got a different text than goroutine 0"},
		},
		{
			name: "wrong text",
			p: funcParser{[]string{"text/x-lines"}, func(context.Context, extract.Input) (*extract.Document, error) {
				return textDoc("nothing useful"), nil
			}},
			want: []string{`Cases/two pages: extract: text does not contain "Hello, world."`, `Cases/two pages: parse: text does not contain "Second page"`, `Cases/locked: extract: got no error, want encrypted document`},
		},
		{
			name: "wrong error",
			p: funcParser{[]string{"text/x-lines"}, func(context.Context, extract.Input) (*extract.Document, error) {
				return nil, extract.ErrTooLarge
			}},
			want: []string{`Cases/locked: extract: got error document too large, want encrypted document`, `Cases/two pages: extract: document too large`},
		},
		{
			name: "bad page numbers",
			p: funcParser{[]string{"text/x-lines"}, func(context.Context, extract.Input) (*extract.Document, error) {
				return &extract.Document{Pages: []extract.Page{{Number: 2, Text: "b"}, {Number: 1, Text: "a"}, {Text: "c"}}}, nil
			}},
			want: []string{"page 2: number 1 after 2", "1 pages have a number and 1 have none"},
		},
		{
			name: "keeps its input",
			p: funcParser{[]string{"text/x-lines"}, func(ctx context.Context, in extract.Input) (*extract.Document, error) {
				kept.Lock()
				prev := kept.r
				kept.r = in.R
				kept.Unlock()
				if prev != nil {
					_, _ = prev.ReadAt(make([]byte, 1), 0)
				}
				return good.Parse(ctx, in)
			}},
			want: []string{"ReadAfterReturn: parse read its input after it returned"},
		},
		{
			name: "sniffs a foreign type",
			p:    sniffingParser{funcParser{[]string{"text/x-lines"}, good.Parse}},
			want: []string{`Sniffer: Sniff("LINES\nHello, world.`, `which is not one of MediaTypes()`},
		},
		{
			name: "empty version",
			p:    versionedParser{funcParser{[]string{"text/x-lines"}, good.Parse}},
			want: []string{"Version: Version() is empty"},
		},
		{
			name: "already registered type in case",
			p:    good,
			cases: []Case{
				{Name: "unknown type", Input: []byte("LINES\nx"), MediaType: "image/png", WantContains: []string{"x"}},
			},
			want: []string{"Cases/unknown type: extract: unsupported format"},
		},
		{
			name: "nil parser",
			p:    nil,
			want: []string{"Parser: parser is nil"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cases := tt.cases
			if cases == nil {
				cases = linesCases
			}
			c := newChecker(tt.p, cases, 300*time.Millisecond)
			errs := c.check()
			if len(errs) == 0 {
				t.Fatal("Check found no problem")
			}
			var all strings.Builder
			for _, err := range errs {
				all.WriteString(err.Error())
				all.WriteByte('\n')
			}
			for _, w := range tt.want {
				if !strings.Contains(all.String(), w) {
					t.Errorf("no error contains %q; errors:\n%s", w, all.String())
				}
			}
		})
	}
}

// TestCheckHangSkipsLaterCalls checks that one hang costs one timeout, not
// one per call.
func TestCheckHangSkipsLaterCalls(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	p := funcParser{[]string{"text/x-lines"}, func(context.Context, extract.Input) (*extract.Document, error) {
		<-release
		return nil, nil
	}}
	start := time.Now()
	errs := newChecker(p, linesCases, 200*time.Millisecond).check()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Check took %s on a hanging parser", d)
	}
	hangs := 0
	for _, err := range errs {
		if strings.Contains(err.Error(), "timed out") || strings.Contains(err.Error(), "did not return") {
			hangs++
		}
	}
	if hangs == 0 || hangs > 2 {
		t.Errorf("got %d hang reports, want 1 or 2: %v", hangs, errs)
	}
}

func TestDerivatives(t *testing.T) {
	t.Parallel()
	data := []byte("%PDF-1.7 a document of some length, long enough to flip")
	a, b := derivatives(data), derivatives(data)
	if len(a) != len(b) {
		t.Fatal("derivatives are not deterministic")
	}
	names := map[string]bool{}
	for i := range a {
		if a[i].name != b[i].name || !bytes.Equal(a[i].data, b[i].data) {
			t.Fatalf("derivative %d differs between runs", i)
		}
		if names[a[i].name] {
			t.Errorf("duplicate name %q", a[i].name)
		}
		names[a[i].name] = true
		if bytes.Equal(a[i].data, data) {
			t.Errorf("derivative %q equals the input", a[i].name)
		}
	}
	for _, w := range []string{"empty", "zeros", "truncated to 1 bytes", "truncated to 27 bytes", "truncated to 54 bytes", "random bytes", "bit flips #1", "random after head"} {
		if !names[w] {
			t.Errorf("no derivative %q; have %v", w, names)
		}
	}
	if len(derivatives(nil)) != 2 { // empty and random
		t.Errorf("derivatives(nil) = %d, want 2", len(derivatives(nil)))
	}
}

func FuzzLinesParser(f *testing.F) {
	Fuzz(f, linesParser{}, []byte("LINES\nHello\fWorld"), []byte("LOCKED"))
}
