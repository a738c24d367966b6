package pdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"

	lpdf "github.com/ledongthuc/pdf"

	"github.com/quarryhq/quarry/extract"
)

// Version is the version of this parser, reported as
// metadata.parser_version.
const Version = "0.1.0 (ledongthuc/pdf 20260907135840-6c8c28e0e8a0)"

// MediaType is the media type the parser reads.
const MediaType = "application/pdf"

// Bounds of this package (our choices; see doc.go).
const (
	// maxStreamBytes caps the decompressed size of one content stream,
	// Form XObject or ToUnicode CMap (RELIABILITY.md T20: 64 MiB).
	maxStreamBytes = 64 << 20
	// maxCMapBytes caps the decompressed size of a ToUnicode CMap.
	maxCMapBytes = 4 << 20
	// maxTreeDepth caps the depth of the page tree and of nested Form
	// XObjects.
	maxTreeDepth = 64
	maxFormDepth = 12
	// maxOps caps the content-stream operators interpreted per document.
	maxOps = 50_000_000
	// readBudgetFactor and readBudgetMin bound the bytes the library may
	// read from the file: it caches nothing and re-reads an object every
	// time it is resolved, so the budget is a multiple of the file size.
	readBudgetFactor = 400
	readBudgetMin    = 1 << 30
	maxReadBudget    = 64 << 30
)

// Parser extracts the text of PDF documents with github.com/ledongthuc/pdf.
// It is safe for concurrent use; the zero value is ready to use.
type Parser struct{}

var (
	_ extract.Parser    = (*Parser)(nil)
	_ extract.Versioner = (*Parser)(nil)
)

// New returns a PDF parser.
func New() *Parser { return &Parser{} }

// MediaTypes reports ["application/pdf"].
func (*Parser) MediaTypes() []string { return []string{MediaType} }

// Version reports the parser version.
func (*Parser) Version() string { return Version }

// Parse extracts the pages, text and metadata of a PDF. See the package
// documentation for what it bounds and what it cannot.
func (p *Parser) Parse(ctx context.Context, in extract.Input) (doc *extract.Document, err error) {
	if in.R == nil || in.Size <= 0 {
		return nil, fmt.Errorf("%w: the document is empty", extract.ErrMalformed)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lim := in.Limits.WithDefaults()
	defer func() {
		if v := recover(); v != nil {
			doc, err = nil, panicError(v, "")
		}
	}()
	doc, err = p.readOrRepair(ctx, in, lim)
	if errors.Is(err, errAES256) {
		data, derr := decryptAES256(ctx, in.R, in.Size, in.Password)
		if derr != nil {
			return nil, derr
		}
		in.R, in.Size, in.Password = bytes.NewReader(data), int64(len(data)), ""
		doc, err = p.readOrRepair(ctx, in, lim)
		if err == nil {
			doc.Warnings = slices.DeleteFunc(doc.Warnings, func(w extract.Warning) bool { return w.Code == extract.WarnRepaired })
		}
	}
	return doc, err
}

// readOrRepair reads the document, repairing it when it is damaged.
func (p *Parser) readOrRepair(ctx context.Context, in extract.Input, lim extract.Limits) (doc *extract.Document, err error) {
	doc, err = p.read(ctx, in, lim, nil)
	var d *damagedError
	if !errors.As(err, &d) {
		return doc, err
	}
	// A damaged cross-reference table, a cut-off file or a lost catalog:
	// rebuild the table by scanning for objects, as pdftotext and mutool
	// do, and read again.
	tail, rerr := repairTail(ctx, in.R, in.Size)
	if rerr != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("%w (repair failed: %v)", d.err, rerr)
	}
	doc, err = p.read(ctx, in, lim, tail)
	if errors.As(err, &d) {
		return nil, d.err
	}
	return doc, err
}

// damagedError marks the failures that a repair may get around.
type damagedError struct{ err error }

func (d *damagedError) Error() string { return d.err.Error() }
func (d *damagedError) Unwrap() error { return d.err }

// read opens and reads the document; with a repair tail, the document is
// read as the input followed by tail.
func (p *Parser) read(ctx context.Context, in extract.Input, lim extract.Limits, tail []byte) (*extract.Document, error) {
	budget := min(max(in.Size*readBudgetFactor, readBudgetMin), maxReadBudget)
	size, header, err := prepare(in.R, in.Size)
	var r io.ReaderAt = in.R
	if tail != nil {
		if errors.Is(err, errNoEOF) {
			err = nil
		}
		r = &joinedReader{a: in.R, na: in.Size, b: tail}
		size = in.Size + int64(len(tail))
	}
	if errors.Is(err, errNoEOF) {
		return nil, &damagedError{err}
	}
	if err != nil {
		return nil, err
	}
	g := &guardedReader{r: r, size: size, ctx: ctx, header: header, budget: budget}
	lr, err := openChecked(g, size, in.Password)
	if err != nil {
		if errors.Is(err, extract.ErrMalformed) && tail == nil {
			return nil, &damagedError{err}
		}
		return nil, err
	}
	e := &extraction{ctx: ctx, r: lr, lim: lim, fonts: map[fontKey]*fontInfo{}, streams: map[uint64]int64{}, repaired: tail != nil}
	doc, err := e.run()
	if errors.Is(err, errNoCatalog) && tail == nil {
		return nil, &damagedError{err}
	}
	return doc, err
}

// open opens the document, mapping the library's errors to the sentinels.
// Parse calls it through openChecked (objstm.go).
func open(g *guardedReader, size int64, password string) (*lpdf.Reader, error) {
	tried := false
	r, err := lpdf.NewReaderEncrypted(g, size, func() string {
		if tried {
			return ""
		}
		tried = true
		return password
	})
	if err == nil {
		return r, nil
	}
	return nil, openError(err, password)
}

// openError maps an error of NewReaderEncrypted to the sentinels.
func openError(err error, password string) error {
	var a *abort
	if errors.As(err, &a) {
		return a.err
	}
	msg := err.Error()
	switch {
	case errors.Is(err, lpdf.ErrInvalidPassword) && password == "":
		return fmt.Errorf("%w: the PDF needs a password", extract.ErrEncrypted)
	case errors.Is(err, lpdf.ErrInvalidPassword):
		return fmt.Errorf("%w: the password is wrong", extract.ErrEncrypted)
	case strings.Contains(msg, "256-bit encryption key"), strings.Contains(msg, "encryption version V=5"):
		return fmt.Errorf("%w: AES-256 (%w)", extract.ErrEncrypted, errAES256)
	case strings.Contains(msg, "-bit encryption key") && !strings.Contains(msg, " 0-bit"),
		strings.HasPrefix(msg, "unsupported PDF: encryption"):
		// /Length 256, V=5 and R=5/6 are AES-256; other filters are
		// public-key security handlers.
		return fmt.Errorf("%w: unsupported encryption (RC4, AES-128 and AES-256 with the standard security handler are supported)", extract.ErrEncrypted)
	}
	// The library says "malformed PDF file: ..." itself; the sentinel
	// already says "malformed document".
	for _, prefix := range []string{"malformed PDF file: ", "malformed PDF: "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return fmt.Errorf("%w: %s", extract.ErrMalformed, clip(msg))
}

// panicError turns a recovered panic into an error: a guard's abort keeps
// its own error (context or budget), anything else means the library could
// not read the document.
func panicError(v any, where string) error {
	if a, ok := v.(*abort); ok {
		return a.err
	}
	if e, ok := v.(error); ok {
		var a *abort
		if errors.As(e, &a) {
			return a.err
		}
	}
	if where != "" {
		where += ": "
	}
	if e, ok := v.(error); ok {
		for _, sentinel := range []error{extract.ErrTooLarge, extract.ErrMalformed, extract.ErrEncrypted} {
			if errors.Is(e, sentinel) {
				return fmt.Errorf("%s%w", where, e)
			}
		}
	}
	var re runtime.Error
	if e, ok := v.(error); ok && errors.As(e, &re) {
		return fmt.Errorf("%w: %sthe PDF reader failed on this input (%s)", extract.ErrMalformed, where, clip(re.Error()))
	}
	return fmt.Errorf("%w: %s%s", extract.ErrMalformed, where, clip(fmt.Sprint(v)))
}

// clip shortens library messages, which may print whole dictionaries.
func clip(s string) string {
	const n = 160
	if len(s) > n {
		s = s[:n] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}
