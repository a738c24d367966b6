package extract

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/quarryhq/quarry/internal/runes"
	"io"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract/summary"
)

// Mode says what an extraction returns.
type Mode string

// Modes.
const (
	// ModeText returns the whole text.
	ModeText Mode = "text"
	// ModeSummary returns an extractive summary: the most central
	// sentences of the text, in document order.
	ModeSummary Mode = "summary"
)

// Options tune one extraction.
type Options struct {
	// Mode is ModeText (the default) or ModeSummary.
	Mode Mode
	// Password opens encrypted documents.
	Password string
	// Pages selects pages, as "1-3,7" (1-based, inclusive). Empty means all.
	Pages string
	// MaxChars caps the returned text in code points; it can only lower
	// the Extractor's own cap.
	MaxChars int
	// HeadersFooters includes page headers and footers, which parsers
	// leave out by default as page furniture.
	HeadersFooters bool
	// SummarySentences is how many sentences a summary keeps at most
	// (default 5).
	SummarySentences int
	// Chunking, when set, splits the returned text into chunks for
	// retrieval (Document.Chunks).
	Chunking *ChunkOptions
}

// OptionError reports an invalid option; Field names it.
type OptionError struct {
	Field  string
	Reason string
}

func (e *OptionError) Error() string { return "extract: option " + e.Field + ": " + e.Reason }

// Config configures an Extractor. The zero value is usable.
type Config struct {
	// Timeout bounds each extraction (default 30s).
	Timeout time.Duration
	// Limits bound what parsers may produce; zero fields take DefaultLimits.
	Limits Limits
	// Logger receives parser panics and timeouts. Default: discard.
	Logger *slog.Logger
	// OCR, when set, reads the pages that a parser returned without text
	// (scanned PDF pages, images) and pages whose text looks garbled as a
	// whole (fonts without a usable encoding), within the extraction's
	// deadline. Nil leaves them as they are, with a no_text_layer or
	// suspected_garbled_text warning.
	OCR OCR
}

// DefaultTimeout is the extraction deadline when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Extractor runs parsers of a Registry under a deadline, an output cap and a
// panic guard, and turns their output into a well-formed Document.
//
// Parsers run in-process: a parser that ignores its context keeps running in
// the background after the deadline has answered ErrTimeout.
type Extractor struct {
	reg *Registry
	cfg Config
}

// New returns an Extractor over reg.
func New(reg *Registry, cfg Config) (*Extractor, error) {
	if reg == nil {
		return nil, errors.New("extract: New: nil registry")
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("extract: Config.Timeout must not be negative")
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.Limits = cfg.Limits.WithDefaults()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Extractor{reg: reg, cfg: cfg}, nil
}

// Registry returns the registry the Extractor reads parsers from.
func (e *Extractor) Registry() *Registry { return e.reg }

// OCR returns the OCR engine of Config.OCR, or nil when there is none.
func (e *Extractor) OCR() OCR { return e.cfg.OCR }

// Limits returns the limits the Extractor applies.
func (e *Extractor) Limits() Limits { return e.cfg.Limits }

// Sniff reads the head of r and returns its media type.
func (e *Extractor) Sniff(ctx context.Context, r io.ReaderAt, size int64, filename string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	head := make([]byte, max(0, min(size, SniffLen)))
	n, err := r.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("extract: sniff: %w", err)
	}
	return e.reg.Sniff(head[:n], filename), nil
}

// Extract reads in (sniffing its type when in.MediaType is empty) with the
// parser registered for it and returns the Document.
func (e *Extractor) Extract(ctx context.Context, in Input, opts Options) (*Document, error) {
	mode := cmp.Or(opts.Mode, ModeText)
	if mode != ModeText && mode != ModeSummary {
		return nil, &OptionError{Field: "mode", Reason: "must be text or summary"}
	}
	pages, err := ParsePageRanges(opts.Pages)
	if err != nil {
		return nil, err
	}
	if opts.MaxChars < 0 {
		return nil, &OptionError{Field: "max_chars", Reason: "must not be negative"}
	}
	if err := validateChunking(opts.Chunking); err != nil {
		return nil, err
	}
	if in.R == nil {
		return nil, errors.New("extract: Input.R is nil")
	}
	if in.Size == 0 {
		return nil, fmt.Errorf("%w: the document is empty", ErrMalformed)
	}
	if in.Size < 0 {
		return nil, errors.New("extract: Input.Size is negative")
	}
	if in.MediaType == "" {
		if in.MediaType, err = e.Sniff(ctx, in.R, in.Size, in.Filename); err != nil {
			return nil, err
		}
	}
	name, p, err := e.reg.Lookup(in.MediaType)
	if err != nil {
		return nil, err
	}
	in.Password = cmp.Or(opts.Password, in.Password)
	in.HeadersFooters = in.HeadersFooters || opts.HeadersFooters
	in.Limits = e.cfg.Limits.lowered(in.Limits)
	if opts.MaxChars > 0 && opts.MaxChars < in.Limits.MaxChars {
		in.Limits.MaxChars = opts.MaxChars
	}

	// One deadline for the whole extraction: parsing, then OCR.
	timeout := e.cfg.Timeout
	if x, ok := p.(ExternalTool); ok && x.ToolTimeout() > 0 {
		timeout = x.ToolTimeout()
	}
	deadline := time.Now().Add(timeout)
	doc, err := e.run(ctx, name, p, in, timeout)
	if err != nil {
		return nil, err
	}
	if err := e.recognize(ctx, in, pages, doc, deadline); err != nil {
		return nil, err
	}
	normalize(doc, pages, in.Limits.MaxChars)
	placeHeadings(doc)
	clampSegments(doc)
	if doc.Metadata.Language == "" {
		doc.Metadata.Language = detectLanguage(doc.Text)
	}
	doc.Metadata.Parser = name
	// Times are UTC everywhere in Quarry (RFC 3339, as the contract says);
	// documents carry their own zone offsets.
	for _, t := range []**time.Time{&doc.Metadata.Created, &doc.Metadata.Modified} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	if v, ok := p.(Versioner); ok && doc.Metadata.ParserVersion == "" {
		doc.Metadata.ParserVersion = v.Version()
	}
	if doc.Metadata.Charset == "" {
		doc.Metadata.Charset = MediaTypeParam(in.MediaType, "charset")
	}
	if mode == ModeSummary {
		summarize(doc, cmp.Or(opts.SummarySentences, 5), in.Limits.MaxChars)
		doc.Headings = nil // they index the whole text, not the summary
		doc.Segments = nil
	}
	if opts.Chunking != nil {
		if doc.Chunks, err = chunkDocument(doc, *opts.Chunking); err != nil {
			return nil, err
		}
	}
	return doc, nil
}

// run calls the parser in its own goroutine so that a deadline answers even
// when the parser does not watch ctx, and so that a panic becomes an error.
func (e *Extractor) run(ctx context.Context, name string, p Parser, in Input, timeout time.Duration) (*Document, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		doc *Document
		err error
	}
	done := make(chan result, 1) // buffered: a late parser never blocks
	go func() {
		defer func() {
			if v := recover(); v != nil {
				e.cfg.Logger.Error("parser panicked", "parser", name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				done <- result{err: fmt.Errorf("%w: parser %s failed on this input", ErrMalformed, name)}
			}
		}()
		doc, err := p.Parse(ctx, in)
		done <- result{doc, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			if errors.Is(r.err, context.DeadlineExceeded) && ctx.Err() != nil {
				return nil, fmt.Errorf("%w after %s", ErrTimeout, timeout)
			}
			return nil, r.err
		}
		if r.doc == nil {
			return nil, fmt.Errorf("%w: parser %s returned no document", ErrMalformed, name)
		}
		return r.doc, nil
	case <-ctx.Done():
		if _, ok := p.(ExternalTool); ok {
			// Its tools die with ctx; waiting for it to return lets
			// it remove their temp files before the caller hears.
			select {
			case <-done:
			case <-time.After(externalGrace):
			}
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			e.cfg.Logger.Warn("extraction timed out", "parser", name, "timeout", timeout)
			return nil, fmt.Errorf("%w after %s", ErrTimeout, timeout)
		}
		return nil, ctx.Err()
	}
}

// externalGrace is how long an ExternalTool parser gets to return after
// its context ended.
const externalGrace = 5 * time.Second

// pageSep separates pages in Document.Text.
const pageSep = "\n\n"

// normalize makes a parser's output well-formed: valid UTF-8 without NULs,
// "\n" line ends, the page selection applied, the output cap applied, and
// Text and page offsets consistent.
func normalize(doc *Document, selected map[int]bool, maxChars int) {
	if len(doc.Pages) == 0 {
		doc.Pages = []Page{{Number: 1, Text: doc.Text}}
	}
	if doc.Metadata.PageCount == 0 {
		doc.Metadata.PageCount = len(doc.Pages)
	}
	invalid := false
	// A fresh slice: the parser's may be shared (a cached Document).
	kept := make([]Page, 0, len(doc.Pages))
	for i, pg := range doc.Pages {
		if pg.Number == 0 {
			pg.Number = i + 1
		}
		if selected != nil && !selected[pg.Number] {
			continue
		}
		if !utf8.ValidString(pg.Text) {
			invalid = true
		}
		pg.Text = cleanText(pg.Text)
		kept = append(kept, pg)
	}
	if invalid {
		doc.Warnings = append(doc.Warnings, Warning{Code: WarnInvalidUTF8, Message: "invalid UTF-8 sequences were replaced with U+FFFD"})
	}
	var b strings.Builder
	offset := 0 // in code points
	truncated := false
	out := make([]Page, 0, len(kept))
	for i, pg := range kept {
		if i > 0 {
			// Stop before a separator that would leave no room for
			// any of the next page's text.
			if rest := maxChars - offset - len(pageSep); rest < 0 || rest == 0 && pg.Text != "" {
				truncated = true
				break
			}
			b.WriteString(pageSep)
			offset += len(pageSep)
		}
		n := utf8.RuneCountInString(pg.Text)
		if offset+n > maxChars {
			pg.Text = runes.Cut(pg.Text, maxChars-offset)
			n = utf8.RuneCountInString(pg.Text)
			truncated = true
		}
		b.WriteString(pg.Text)
		pg.Start, pg.End = offset, offset+n
		offset += n
		out = append(out, pg)
		if truncated {
			break
		}
	}
	if truncated {
		doc.Warnings = append(doc.Warnings, Warning{Code: WarnTruncated, Message: "the text was cut at " + strconv.Itoa(maxChars) + " characters"})
	}
	doc.Text = b.String()
	doc.Pages = out
	if doc.Warnings == nil {
		doc.Warnings = []Warning{}
	}
}

// clampSegments keeps the segments that index text still there after
// page selection and the output cap: a segment past the end goes, one
// across it is shortened. Segments index a one-page document's text (see
// Document.Segments); for any other shape they are dropped.
func clampSegments(doc *Document) {
	if len(doc.Segments) == 0 {
		return
	}
	if len(doc.Pages) != 1 || doc.Pages[0].Start != 0 {
		doc.Segments = nil
		return
	}
	text := []rune(doc.Text)
	out := make([]Segment, 0, len(doc.Segments))
	for _, s := range doc.Segments {
		if s.Start < 0 || s.End < s.Start || s.Start >= len(text) {
			continue
		}
		if s.End > len(text) {
			s.End = len(text)
		}
		s.Text = string(text[s.Start:s.End])
		out = append(out, s)
	}
	doc.Segments = out
}

// cleanText replaces invalid UTF-8, drops NUL and turns CRLF and CR into LF.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.ContainsAny(s, "\r\x00") {
		s = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\x00", "").Replace(s)
	}
	return s
}

// summarize replaces the text of doc with its extractive summary. The pages
// keep their numbers and hold the summary sentences that came from them, so
// a summary still cites its pages.
func summarize(doc *Document, sentences, maxChars int) {
	var pages []Page
	picked := summary.Summarize(doc.Text, summary.Options{MaxSentences: sentences, MaxChars: min(maxChars, summaryMaxChars)})
	var b strings.Builder
	offset := 0
	pageIdx := 0
	for _, s := range picked {
		for pageIdx < len(doc.Pages)-1 && s.Start >= doc.Pages[pageIdx].End {
			pageIdx++
		}
		num := doc.Pages[pageIdx].Number
		if len(pages) == 0 || pages[len(pages)-1].Number != num {
			if len(pages) > 0 {
				b.WriteString(pageSep)
				offset += len(pageSep)
			}
			pages = append(pages, Page{Number: num, Start: offset, End: offset})
		} else {
			b.WriteString(" ")
			offset++
		}
		b.WriteString(s.Text)
		offset += utf8.RuneCountInString(s.Text)
		last := &pages[len(pages)-1]
		last.End = offset
	}
	text := b.String()
	runes := []rune(text)
	for i := range pages {
		pages[i].Text = string(runes[pages[i].Start:pages[i].End])
	}
	if pages == nil {
		pages = []Page{}
	}
	doc.Text = text
	doc.Pages = pages
}

// summaryMaxChars is the longest summary, in code points, before the
// output cap lowers it.
const summaryMaxChars = 2000

// ParsePageRanges parses a page selection such as "1-3,7". An empty string
// selects every page (nil map).
func ParsePageRanges(s string) (map[int]bool, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	bad := func(reason string) error { return &OptionError{Field: "pages", Reason: reason} }
	sel := map[int]bool{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil || a < 1 {
			return nil, bad("want page numbers or ranges such as 1-3,7")
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil || b < a {
				return nil, bad("want page numbers or ranges such as 1-3,7")
			}
		}
		if b-a > 100000 || len(sel) > 100000 {
			return nil, bad("selects too many pages")
		}
		for n := a; ; n++ { // not n <= b: b may be math.MaxInt
			sel[n] = true
			if n == b {
				break
			}
		}
	}
	return sel, nil
}
