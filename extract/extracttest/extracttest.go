// Package extracttest is a conformance suite for [extract.Parser]
// implementations: Quarry's own parsers and yours. It plays the part that
// testing/fstest.TestFS plays for fs.FS and riverdrivertest.Exercise for
// River drivers: one call runs every property the rest of Quarry relies on.
//
// # Running the suite against your parser
//
// Give [Run] your parser and a few sample documents with text you expect in
// them:
//
//	func TestConformance(t *testing.T) {
//		extracttest.Run(t, myformat.New(),
//			extracttest.Case{
//				Name:         "simple",
//				Input:        must(os.ReadFile("testdata/simple.myf")),
//				WantContains: []string{"Hello, world"},
//			},
//			extracttest.Case{
//				Name:    "locked",
//				Input:   must(os.ReadFile("testdata/locked.myf")),
//				WantErr: extract.ErrEncrypted,
//			},
//		)
//	}
//
// and fuzz it with the same properties:
//
//	func FuzzParse(f *testing.F) {
//		extracttest.Fuzz(f, myformat.New(), must(os.ReadFile("testdata/simple.myf")))
//	}
//
// Run the suite with the race detector (go test -race): the concurrency
// check only finds shared mutable state when the detector watches.
//
// # What is checked
//
// Each group below is a subtest of [Run] and a name prefix in the errors of
// [Check]:
//
//   - MediaTypes: MediaTypes() is non-empty, without duplicates, and each
//     entry is a valid lower-case media type without parameters.
//   - Register: the parser registers in a fresh [extract.Registry] and
//     every media type it lists looks up to it.
//   - Cases/<name>: each Case runs through the real [extract.Extractor]
//     and through Parse directly. The text must contain every
//     Case.WantContains substring, or the error must match Case.WantErr.
//   - Hostile/<name>: derivatives of each case input (empty, all zero
//     bytes, truncated to 1 byte, to half and to all but the last byte,
//     random bytes from a fixed seed, copies with a few flipped bits) go
//     to Parse directly.
//   - CancelledContext: Parse with an already-cancelled context returns
//     promptly, with an error or a result.
//   - MaxChars: with a cap of 100 code points the Extractor's text is at
//     most 100 code points.
//   - Concurrent: Parse of the first successful case from 8 goroutines at
//     once gives the same text every time.
//   - Sniffer and Version, for parsers that implement [extract.Sniffer] or
//     [extract.Versioner]: Sniff never panics and only names the parser's
//     own media types; Version is not empty.
//   - ReadAfterReturn: Parse did not read its input after it returned (the
//     Parser contract says it must not keep in).
//
// Every direct call of Parse must hold these properties, which [Fuzz]
// checks too: it does not panic (a panic is reported as a failure, not a
// crash), it returns within 10 seconds (a hang is reported, and later calls
// are skipped), an error wraps one of the sentinels of package extract
// ([extract.ErrMalformed], [extract.ErrEncrypted], [extract.ErrTooLarge],
// [extract.ErrUnsupportedFormat], [extract.ErrTimeout]) or a context error,
// a nil error comes with a non-nil Document, Document.Text and every page
// text are valid UTF-8, and page numbers, where the parser sets them, are
// positive and increasing.
//
// # Checking without *testing.T
//
// [Check] runs the same suite and returns the violations as errors, for
// tools and for tests that assert that a broken parser is caught.
package extracttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
)

// Case is one sample document for the suite.
type Case struct {
	// Name names the subtest; default "case<N>".
	Name string
	// Input is the document.
	Input []byte
	// Filename is an optional hint passed as Input.Filename.
	Filename string
	// MediaType is the media type the parser is called with; default: the
	// parser's first MediaTypes() entry.
	MediaType string
	// WantContains are substrings the extracted text must contain.
	WantContains []string
	// WantErr, if set, is the error the extraction must fail with
	// (errors.Is(err, WantErr)).
	WantErr error
}

// HangTimeout is how long one call of Parse may take before the suite
// reports a hang.
const HangTimeout = 10 * time.Second

// maxCharsCap is the output cap of the MaxChars check.
const maxCharsCap = 100

// concurrency is how many goroutines the Concurrent check runs.
const concurrency = 8

// conformanceName is the name the suite registers the parser under.
const conformanceName = "conformance"

// Run runs the conformance suite against p with the given sample
// documents, each group of checks as a subtest of t. See the package
// documentation for the list of checks.
func Run(t *testing.T, p extract.Parser, cases ...Case) {
	t.Helper()
	c := newChecker(p, cases, HangTimeout)
	for _, g := range c.groups() {
		runGroup(t, g)
	}
}

func runGroup(t *testing.T, g group) {
	t.Helper()
	t.Run(g.name, func(t *testing.T) {
		t.Helper()
		if g.run != nil {
			for _, err := range g.run() {
				t.Error(err)
			}
		}
		for _, sub := range g.sub {
			runGroup(t, sub)
		}
	})
}

// Check runs the conformance suite against p and returns every violation,
// each prefixed with the name of its check ("Hostile/simple: ..."). It
// returns nil when p passes.
func Check(p extract.Parser, cases ...Case) []error {
	return newChecker(p, cases, HangTimeout).check()
}

func (c *checker) check() []error {
	var errs []error
	var walk func(prefix string, g group)
	walk = func(prefix string, g group) {
		name := prefix + g.name
		if g.run != nil {
			for _, err := range g.run() {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
		for _, sub := range g.sub {
			walk(name+"/", sub)
		}
	}
	for _, g := range c.groups() {
		walk("", g)
	}
	return errs
}

// Fuzz fuzzes p with the properties every call of Parse must hold (see the
// package documentation), from the given seed documents. Call it from a
// FuzzXxx function of the parser's package:
//
//	func FuzzParse(f *testing.F) { extracttest.Fuzz(f, New(), seeds...) }
//
// Each input is parsed as the parser's first media type.
func Fuzz(f *testing.F, p extract.Parser, seeds ...[]byte) {
	f.Helper()
	types := p.MediaTypes()
	if len(types) == 0 {
		f.Fatal("extracttest: MediaTypes() is empty")
	}
	for _, s := range seeds {
		f.Add(s)
	}
	c := newChecker(p, nil, HangTimeout)
	c.noTrack = true
	f.Fuzz(func(t *testing.T, data []byte) {
		in := c.input(data, types[0], "")
		out := c.call(context.Background(), in)
		if errs := out.problems(); len(errs) > 0 {
			for _, err := range errs {
				t.Error(err)
			}
			t.FailNow()
		}
	})
}

// group is one subtest: a check, sub-groups, or both.
type group struct {
	name string
	run  func() []error
	sub  []group
}

// checker runs the suite against one parser.
type checker struct {
	p       extract.Parser
	cases   []Case
	timeout time.Duration

	hung    atomic.Bool // a call hung: later calls are skipped
	noTrack bool        // do not keep readers for ReadAfterReturn (fuzzing)
	mu      sync.Mutex
	readers []*trackingReader
}

func newChecker(p extract.Parser, cases []Case, timeout time.Duration) *checker {
	cases = slices.Clone(cases)
	for i := range cases {
		if cases[i].Name == "" {
			cases[i].Name = fmt.Sprintf("case%d", i)
		}
	}
	return &checker{p: p, cases: cases, timeout: timeout}
}

func (c *checker) groups() []group {
	if c.p == nil {
		return []group{{name: "Parser", run: func() []error { return []error{errors.New("parser is nil")} }}}
	}
	types := c.mediaTypes()
	gs := []group{
		{name: "MediaTypes", run: func() []error { return checkMediaTypes(types) }},
	}
	if len(types) == 0 {
		return gs // nothing else can run
	}
	gs = append(gs, group{name: "Register", run: c.checkRegister})
	cases := group{name: "Cases"}
	hostile := group{name: "Hostile"}
	for _, k := range c.cases {
		cases.sub = append(cases.sub, group{name: k.Name, run: func() []error { return c.checkCase(k) }})
		hostile.sub = append(hostile.sub, group{name: k.Name, run: func() []error { return c.checkHostile(k) }})
	}
	if len(c.cases) > 0 {
		gs = append(gs, cases, hostile)
	}
	gs = append(gs,
		group{name: "CancelledContext", run: c.checkCancelled},
		group{name: "MaxChars", run: c.checkMaxChars},
		group{name: "Concurrent", run: c.checkConcurrent},
	)
	if _, ok := c.p.(extract.Sniffer); ok {
		gs = append(gs, group{name: "Sniffer", run: c.checkSniffer})
	}
	if _, ok := c.p.(extract.Versioner); ok {
		gs = append(gs, group{name: "Version", run: c.checkVersion})
	}
	gs = append(gs, group{name: "ReadAfterReturn", run: c.checkReadAfterReturn})
	return gs
}

// mediaTypes calls MediaTypes, containing a panic.
func (c *checker) mediaTypes() (types []string) {
	defer func() {
		if recover() != nil {
			types = nil
		}
	}()
	return c.p.MediaTypes()
}

func checkMediaTypes(types []string) []error {
	if len(types) == 0 {
		return []error{errors.New("MediaTypes() is empty (or panics)")}
	}
	var errs []error
	seen := map[string]bool{}
	for _, t := range types {
		mt, params, err := mime.ParseMediaType(t)
		main, sub, ok := strings.Cut(t, "/")
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("media type %q is invalid: %v", t, err))
		case len(params) > 0:
			errs = append(errs, fmt.Errorf("media type %q has parameters; list the bare type", t))
		case mt != t:
			errs = append(errs, fmt.Errorf("media type %q is not in canonical lower-case form %q", t, mt))
		case !ok || main == "" || sub == "":
			errs = append(errs, fmt.Errorf("media type %q is not type/subtype", t))
		case seen[t]:
			errs = append(errs, fmt.Errorf("media type %q is listed twice", t))
		}
		seen[t] = true
	}
	return errs
}

func (c *checker) checkRegister() []error {
	reg := extract.NewRegistry()
	if err := reg.Register(conformanceName, c.p); err != nil {
		return []error{fmt.Errorf("register: %w", err)}
	}
	var errs []error
	for _, t := range c.mediaTypes() {
		name, _, err := reg.Lookup(t)
		if err != nil || name != conformanceName {
			errs = append(errs, fmt.Errorf("Lookup(%q) = %q, %v; want the registered parser", t, name, err))
		}
	}
	return errs
}

// extractor returns an Extractor over a fresh Registry holding only p.
func (c *checker) extractor(limits extract.Limits) (*extract.Extractor, error) {
	reg := extract.NewRegistry()
	if err := reg.Register(conformanceName, c.p); err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	return extract.New(reg, extract.Config{Timeout: c.timeout, Limits: limits})
}

func (c *checker) mediaTypeOf(k Case) string {
	if k.MediaType != "" {
		return k.MediaType
	}
	return c.mediaTypes()[0]
}

func (c *checker) checkCase(k Case) []error {
	var errs []error
	if c.hung.Load() {
		return nil
	}
	// Through the Extractor, as the CLI and the server run parsers.
	ex, err := c.extractor(extract.Limits{})
	if err != nil {
		return []error{err}
	}
	in := extract.Input{
		R:         bytes.NewReader(k.Input),
		Size:      int64(len(k.Input)),
		MediaType: c.mediaTypeOf(k),
		Filename:  k.Filename,
	}
	doc, err := ex.Extract(context.Background(), in, extract.Options{})
	errs = append(errs, wantResult("extract", k, docText(doc), err)...)
	if errors.Is(err, extract.ErrTimeout) {
		c.hung.Store(true)
		return errs
	}

	// Directly, as a parser's own tests and the fuzzer do.
	out := c.call(context.Background(), c.input(k.Input, c.mediaTypeOf(k), k.Filename))
	if out.skipped {
		return errs
	}
	errs = append(errs, out.problems()...)
	if out.panicked || out.hung {
		return errs
	}
	if len(k.Input) > 0 || k.WantErr == nil {
		// The Extractor refuses an empty input itself, so an empty
		// case's WantErr need not hold for the parser.
		errs = append(errs, wantResult("parse", k, cleanText(docText(out.doc)), out.err)...)
	}
	return errs
}

// wantResult checks a result against the expectations of k.
func wantResult(via string, k Case, text string, err error) []error {
	if k.WantErr != nil {
		switch {
		case err == nil:
			return []error{fmt.Errorf("%s: got no error, want %v", via, k.WantErr)}
		case !errors.Is(err, k.WantErr):
			return []error{fmt.Errorf("%s: got error %v, want %v", via, err, k.WantErr)}
		}
		return nil
	}
	if err != nil {
		return []error{fmt.Errorf("%s: %w", via, err)}
	}
	var errs []error
	for _, w := range k.WantContains {
		if !strings.Contains(text, w) {
			errs = append(errs, fmt.Errorf("%s: text does not contain %q; text starts %q", via, w, head(text, 200)))
		}
	}
	return errs
}

// derivative is a hostile input built from a case input.
type derivative struct {
	name string
	data []byte
}

// derivatives returns the hostile derivatives of data, deterministically.
func derivatives(data []byte) []derivative {
	rng := rand.New(rand.NewPCG(uint64(len(data)), 0x5eed))
	ds := []derivative{
		{"empty", []byte{}},
		{"zeros", make([]byte, len(data))},
	}
	for _, n := range []int{1, len(data) / 2, len(data) - 1} {
		if n > 0 && n < len(data) {
			ds = append(ds, derivative{fmt.Sprintf("truncated to %d bytes", n), data[:n:n]})
		}
	}
	random := make([]byte, min(max(len(data), 16), 64<<10))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	ds = append(ds, derivative{"random bytes", random})
	if len(data) > 0 {
		for i := range 4 {
			flipped := bytes.Clone(data)
			for range max(1, len(data)/200) {
				flipped[rng.IntN(len(flipped))] ^= 1 << rng.IntN(8)
			}
			ds = append(ds, derivative{fmt.Sprintf("bit flips #%d", i+1), flipped})
		}
		// The head kept, the rest random: the parser gets past its
		// magic number and into its structure.
		if len(data) >= 16 {
			mixed := bytes.Clone(data)
			for i := len(data) / 4; i < len(mixed); i++ {
				mixed[i] = byte(rng.Uint32())
			}
			ds = append(ds, derivative{"random after head", mixed})
		}
	}
	// Drop duplicates (an input of one byte truncated...).
	seen := map[string]bool{}
	out := ds[:0]
	for _, d := range ds {
		if seen[string(d.data)] {
			continue
		}
		seen[string(d.data)] = true
		out = append(out, d)
	}
	return out
}

func (c *checker) checkHostile(k Case) []error {
	var errs []error
	for _, d := range derivatives(k.Input) {
		out := c.call(context.Background(), c.input(d.data, c.mediaTypeOf(k), k.Filename))
		if out.skipped {
			break
		}
		for _, err := range out.problems() {
			errs = append(errs, fmt.Errorf("%s: %w", d.name, err))
		}
	}
	return errs
}

func (c *checker) checkCancelled() []error {
	data := []byte("cancelled")
	mt := c.mediaTypes()[0]
	if k, ok := c.firstGood(); ok {
		data, mt = k.Input, c.mediaTypeOf(k)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := c.call(ctx, c.input(data, mt, ""))
	if out.hung {
		return []error{fmt.Errorf("parse with a cancelled context did not return within %s", c.timeout)}
	}
	return out.problems()
}

// firstGood returns the first case expected to succeed with a non-empty
// input.
func (c *checker) firstGood() (Case, bool) {
	for _, k := range c.cases {
		if k.WantErr == nil && len(k.Input) > 0 {
			return k, true
		}
	}
	return Case{}, false
}

func (c *checker) checkMaxChars() []error {
	k, ok := c.firstGood()
	if !ok || c.hung.Load() {
		return nil
	}
	ex, err := c.extractor(extract.Limits{MaxChars: maxCharsCap})
	if err != nil {
		return []error{err}
	}
	in := extract.Input{
		R:         bytes.NewReader(k.Input),
		Size:      int64(len(k.Input)),
		MediaType: c.mediaTypeOf(k),
		Filename:  k.Filename,
		Limits:    extract.Limits{MaxChars: maxCharsCap},
	}
	doc, err := ex.Extract(context.Background(), in, extract.Options{})
	if err != nil {
		return []error{fmt.Errorf("extract with MaxChars %d: %w", maxCharsCap, err)}
	}
	var errs []error
	if n := utf8.RuneCountInString(doc.Text); n > maxCharsCap {
		errs = append(errs, fmt.Errorf("extract with MaxChars %d returned %d code points", maxCharsCap, n))
	}
	for _, pg := range doc.Pages {
		if n := utf8.RuneCountInString(pg.Text); n > maxCharsCap {
			errs = append(errs, fmt.Errorf("extract with MaxChars %d returned page %d of %d code points", maxCharsCap, pg.Number, n))
		}
	}
	return errs
}

func (c *checker) checkConcurrent() []error {
	k, ok := c.firstGood()
	if !ok || c.hung.Load() {
		return nil
	}
	r := bytes.NewReader(k.Input) // shared: ReadAt may be called in parallel
	outs := make([]outcome, concurrency)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Go(func() {
			in := c.input(k.Input, c.mediaTypeOf(k), k.Filename)
			in.R = r
			outs[i] = c.call(context.Background(), in)
		})
	}
	wg.Wait()
	var errs []error
	for i, out := range outs {
		if out.skipped {
			continue
		}
		problems := out.problems()
		if len(problems) == 0 && out.err != nil {
			problems = []error{fmt.Errorf("parse: %w", out.err)}
		}
		for _, err := range problems {
			errs = append(errs, fmt.Errorf("goroutine %d: %w", i, err))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	want := docText(outs[0].doc)
	for i, out := range outs[1:] {
		if got := docText(out.doc); got != want {
			errs = append(errs, fmt.Errorf("goroutine %d got a different text than goroutine 0: %q, want %q", i+1, head(got, 80), head(want, 80)))
		}
	}
	return errs
}

func (c *checker) checkSniffer() []error {
	s := c.p.(extract.Sniffer)
	own := c.mediaTypes()
	var errs []error
	heads := [][]byte{nil, {}}
	for _, k := range c.cases {
		heads = append(heads, k.Input)
		for _, d := range derivatives(k.Input) {
			heads = append(heads, d.data)
		}
	}
	for _, h := range heads {
		h = h[:min(len(h), extract.SniffLen)]
		got, panicked := func() (got string, panicked any) {
			defer func() { panicked = recover() }()
			return s.Sniff(h), nil
		}()
		switch {
		case panicked != nil:
			errs = append(errs, fmt.Errorf("Sniff(%q) panicked: %v", head(string(h), 40), panicked))
		case got != "" && !slices.Contains(own, extract.BaseType(got)):
			errs = append(errs, fmt.Errorf("Sniff(%q) = %q, which is not one of MediaTypes() %q", head(string(h), 40), got, own))
		}
	}
	return errs
}

func (c *checker) checkVersion() []error {
	if v := c.p.(extract.Versioner).Version(); strings.TrimSpace(v) == "" {
		return []error{errors.New("Version() is empty")}
	}
	return nil
}

func (c *checker) checkReadAfterReturn() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.readers {
		if r.late.Load() {
			return []error{errors.New("parse read its input after it returned; Parse must not keep Input.R")}
		}
	}
	return nil
}

// input builds the Input of a direct call.
func (c *checker) input(data []byte, mediaType, filename string) extract.Input {
	return extract.Input{
		R:         bytes.NewReader(data),
		Size:      int64(len(data)),
		MediaType: mediaType,
		Filename:  filename,
		Limits:    extract.DefaultLimits(),
	}
}

// outcome is the result of one direct call of Parse.
type outcome struct {
	doc      *extract.Document
	err      error
	panicked bool
	panicVal any
	hung     bool
	timeout  time.Duration
	skipped  bool // an earlier call hung: this one was not made
}

// call runs p.Parse in its own goroutine, with a recover and a hang timer.
func (c *checker) call(ctx context.Context, in extract.Input) outcome {
	if c.hung.Load() {
		return outcome{skipped: true}
	}
	tr := &trackingReader{r: in.R}
	in.R = tr
	if !c.noTrack {
		c.mu.Lock()
		c.readers = append(c.readers, tr)
		c.mu.Unlock()
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- outcome{panicked: true, panicVal: v}
			}
		}()
		doc, err := c.p.Parse(ctx, in)
		done <- outcome{doc: doc, err: err}
	}()
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	select {
	case out := <-done:
		tr.closed.Store(true)
		return out
	case <-timer.C:
		c.hung.Store(true)
		return outcome{hung: true, timeout: c.timeout}
	}
}

// problems returns the violations of the contract in one outcome of Parse.
func (o outcome) problems() []error {
	switch {
	case o.skipped:
		return nil
	case o.panicked:
		return []error{fmt.Errorf("parse panicked: %v", o.panicVal)}
	case o.hung:
		return []error{fmt.Errorf("parse did not return within %s (later calls are skipped)", o.timeout)}
	case o.err != nil:
		if !wrapsSentinel(o.err) {
			return []error{fmt.Errorf("parse error %q wraps none of the extract sentinels (ErrMalformed, ErrEncrypted, ErrTooLarge, ErrUnsupportedFormat, ErrTimeout) nor a context error", o.err)}
		}
		return nil
	case o.doc == nil:
		return []error{errors.New("parse returned a nil Document and a nil error")}
	}
	return checkDocument(o.doc)
}

// checkDocument checks the Document a parser returned.
func checkDocument(doc *extract.Document) []error {
	var errs []error
	if !utf8.ValidString(doc.Text) {
		errs = append(errs, fmt.Errorf("Document.Text is not valid UTF-8: %q", head(doc.Text, 80)))
	}
	numbered, unnumbered, prev := 0, 0, 0
	for i, pg := range doc.Pages {
		if !utf8.ValidString(pg.Text) {
			errs = append(errs, fmt.Errorf("page %d: text is not valid UTF-8: %q", i+1, head(pg.Text, 80)))
		}
		switch {
		case pg.Number == 0:
			unnumbered++
		case pg.Number < 0:
			errs = append(errs, fmt.Errorf("page %d: negative number %d", i+1, pg.Number))
		case pg.Number <= prev:
			errs = append(errs, fmt.Errorf("page %d: number %d after %d; numbers must be unique and increasing", i+1, pg.Number, prev))
		default:
			numbered++
			prev = pg.Number
		}
	}
	if numbered > 0 && unnumbered > 0 {
		errs = append(errs, fmt.Errorf("%d pages have a number and %d have none; number all pages or none", numbered, unnumbered))
	}
	if doc.Metadata.PageCount < 0 {
		errs = append(errs, fmt.Errorf("Metadata.PageCount is negative: %d", doc.Metadata.PageCount))
	}
	return errs
}

// sentinels are the errors a parser may wrap.
var sentinels = []error{
	extract.ErrMalformed, extract.ErrEncrypted, extract.ErrTooLarge,
	extract.ErrUnsupportedFormat, extract.ErrTimeout,
	context.Canceled, context.DeadlineExceeded,
}

func wrapsSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// docText is the text of a document as the Extractor would build it.
func docText(doc *extract.Document) string {
	if doc == nil {
		return ""
	}
	if len(doc.Pages) == 0 {
		return doc.Text
	}
	texts := make([]string, len(doc.Pages))
	for i, pg := range doc.Pages {
		texts[i] = pg.Text
	}
	return strings.Join(texts, "\n\n")
}

// cleanText normalises line ends and drops NULs as the Extractor does, so
// that WantContains means the same for both paths.
func cleanText(s string) string {
	return strings.NewReplacer("\r\n", "\n", "\r", "\n", "\x00", "").Replace(strings.ToValidUTF8(s, "\uFFFD"))
}

func head(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}

// trackingReader notices reads after the call it was given to returned.
type trackingReader struct {
	r      io.ReaderAt
	closed atomic.Bool
	late   atomic.Bool
}

func (t *trackingReader) ReadAt(p []byte, off int64) (int, error) {
	if t.closed.Load() {
		t.late.Store(true)
		return 0, errors.New("extracttest: read after Parse returned")
	}
	return t.r.ReadAt(p, off)
}
