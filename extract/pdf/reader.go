package pdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/quarryhq/quarry/extract"
)

// abort is what the guards panic with to unwind out of the library: the
// context ended or a budget ran out. Parse's recover turns it back into an
// error. It must implement error: NewReaderEncrypted recovers panics itself
// and hands back the panic value when it is an error.
type abort struct{ err error }

func (a *abort) Error() string { return a.err.Error() }
func (a *abort) Unwrap() error { return a.err }

// guardedReader is the io.ReaderAt the library reads through. Every object
// the library resolves, and every chunk of compressed stream data it
// inflates, is read here (the library caches nothing), so this is the one
// place where a loop inside the library can be interrupted: when ctx is done
// or the read budget is spent, ReadAt panics with *abort.
//
// It also presents the document as [0, size) only (dropping trailing
// garbage after %%EOF) and overlays a patched header (and, while
// openChecked checks /Encrypt, patched names).
type guardedReader struct {
	r      io.ReaderAt
	size   int64
	ctx    context.Context
	header []byte // bytes overlaid at offset 0; nil for none
	// patches are more overlays, sorted by offset and disjoint (the
	// /Encrypt pre-check of openChecked); nil for none.
	patches []patch
	read    int64 // bytes handed to the library so far
	budget  int64 // maximum of read
}

func (g *guardedReader) ReadAt(p []byte, off int64) (int, error) {
	if err := g.ctx.Err(); err != nil {
		panic(&abort{err})
	}
	if off < 0 {
		return 0, errors.New("pdf: negative offset")
	}
	if off >= g.size {
		return 0, io.EOF
	}
	g.read += int64(len(p))
	if g.read > g.budget {
		panic(&abort{fmt.Errorf("%w: the PDF needed more than %d MiB of reads (object graph too large or cyclic)", extract.ErrTooLarge, g.budget>>20)})
	}
	var eof error
	if rest := g.size - off; int64(len(p)) > rest {
		p = p[:rest]
		eof = io.EOF
	}
	n, err := g.r.ReadAt(p, off)
	if off < int64(len(g.header)) {
		copy(p[:n], g.header[off:])
	}
	for _, pt := range g.patches {
		if pt.off >= off+int64(n) {
			break
		}
		if end := pt.off + int64(len(pt.b)); end > off {
			lo, hi := max(pt.off, off), min(end, off+int64(n))
			copy(p[lo-off:hi-off], pt.b[lo-pt.off:])
		}
	}
	if err == nil {
		err = eof
	}
	return n, err
}

// prepare checks that the input starts like a PDF and works around two
// refusals of the library that cost nothing to avoid:
//   - it accepts only "%PDF-1.[0-7]" followed by an end of line, so PDF 2.0
//     files and headers followed by a space or a comment on the same line
//     are refused; the returned header overlays bytes 5..8 to please it
//     (nothing reads the header line itself);
//   - it looks for %%EOF only in the last 100 bytes, so a file with trailing
//     garbage (mail gateways, download managers) is refused; the returned
//     size cuts the file just after its last %%EOF.
//
// It returns ErrMalformed for input that is not a PDF at all.
func prepare(r io.ReaderAt, size int64) (newSize int64, header []byte, err error) {
	head := make([]byte, min(size, 1024))
	n, rerr := r.ReadAt(head, 0)
	if rerr != nil && !errors.Is(rerr, io.EOF) {
		return 0, nil, fmt.Errorf("pdf: read: %w", rerr)
	}
	head = head[:n]
	if !bytes.HasPrefix(head, []byte("%PDF-")) {
		if bytes.Contains(head, []byte("%PDF-")) {
			return 0, nil, fmt.Errorf("%w: data before the %%PDF- header is not supported", extract.ErrMalformed)
		}
		return 0, nil, fmt.Errorf("%w: not a PDF (no %%PDF- header)", extract.ErrMalformed)
	}
	if len(head) < 10 {
		return 0, nil, fmt.Errorf("%w: the PDF is truncated (%d bytes)", extract.ErrMalformed, size)
	}
	h := patchHeader(head)
	newSize, err = findEOF(r, size)
	return newSize, h, err
}

// errNoEOF: the file has no %%EOF near its end (truncated or damaged).
var errNoEOF = fmt.Errorf("%w: no %%%%EOF marker at the end: the file is truncated or damaged", extract.ErrMalformed)

// patchHeader returns the header overlay that makes the library accept
// head's version line, nil when none is needed.
func patchHeader(head []byte) []byte {
	h := bytes.Clone(head[:10])
	if h[5] != '1' || h[6] != '.' || h[7] < '0' || h[7] > '7' {
		copy(h[5:8], "1.7")
	}
	if h[8] != '\r' && h[8] != '\n' {
		h[8] = '\n'
	}
	if bytes.Equal(h, head[:10]) {
		return nil
	}
	return h
}

// findEOF returns the size of the file cut just after its last %%EOF.
func findEOF(r io.ReaderAt, size int64) (int64, error) {
	// Find the last %%EOF within the last 64 KiB.
	const tail = 64 << 10
	start := max(0, size-tail)
	buf := make([]byte, size-start)
	n, rerr := r.ReadAt(buf, start)
	if rerr != nil && !errors.Is(rerr, io.EOF) {
		return 0, fmt.Errorf("pdf: read: %w", rerr)
	}
	buf = buf[:n]
	i := bytes.LastIndex(buf, []byte("%%EOF"))
	if i < 0 {
		return size, errNoEOF
	}
	return start + int64(i) + 5, nil
}
