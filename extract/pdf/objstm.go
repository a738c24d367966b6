package pdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"

	lpdf "github.com/ledongthuc/pdf"

	"github.com/quarryhq/quarry/extract"
)

// Object streams (PDF 32000-1 7.5.7) that the library would recurse on.
//
// A cross-reference stream can say that object N lives in object stream S
// (a type 2 entry). The library's resolve loads S first, by resolving it
// the same way: when S's own entry is type 2 again (S in S, or S in T in
// S), resolve calls itself without reading anything until the goroutine
// stack exceeds its limit, which is a fatal error of the runtime, not a
// panic: no recover catches it and no read guard sees it. The spec forbids
// the case outright (a stream, hence an object stream, shall not be stored
// in an object stream), so the parser refuses any table where a type 2
// entry names a container that is itself type 2, or that is beyond the
// table. After that, resolving an object takes at most two steps.
//
// The library resolves one reference while it opens the file, before the
// parser can look at the table: the trailer's /Encrypt. See openChecked.

// xrefView reads the library's cross-reference table (Reader.xref, a
// []struct{ptr objptr; inStream bool; stream objptr; offset int64}) through
// reflection. Reading unexported fields with Bool and Uint is allowed.
type xrefView struct {
	tbl      reflect.Value // the []xref
	inStream int           // field index of inStream in xref
	stream   int           // field index of stream in xref
	streamID int           // field index of id in objptr
}

// viewXref returns the cross-reference table of r; ok is false when the
// library's layout is not the expected one (TestXrefLayout notices).
func viewXref(r *lpdf.Reader) (x xrefView, ok bool) {
	if r == nil {
		return x, false
	}
	v := reflect.ValueOf(r).Elem()
	if v.Kind() != reflect.Struct {
		return x, false
	}
	tbl := v.FieldByName("xref")
	if !tbl.IsValid() || tbl.Kind() != reflect.Slice || tbl.Type().Elem().Kind() != reflect.Struct {
		return x, false
	}
	et := tbl.Type().Elem()
	in, ok1 := et.FieldByName("inStream")
	st, ok2 := et.FieldByName("stream")
	if !ok1 || !ok2 || len(in.Index) != 1 || len(st.Index) != 1 ||
		in.Type.Kind() != reflect.Bool || st.Type.Kind() != reflect.Struct {
		return x, false
	}
	id, ok3 := st.Type.FieldByName("id")
	if !ok3 || len(id.Index) != 1 || !isUint(id.Type.Kind()) {
		return x, false
	}
	return xrefView{tbl: tbl, inStream: in.Index[0], stream: st.Index[0], streamID: id.Index[0]}, true
}

func (x xrefView) len() int { return x.tbl.Len() }

// entry reports whether object i is stored in an object stream, and which.
func (x xrefView) entry(i int) (inStream bool, container uint64) {
	e := x.tbl.Index(i)
	return e.Field(x.inStream).Bool(), e.Field(x.stream).Field(x.streamID).Uint()
}

// checkObjectStreams returns ErrMalformed when an object is said to be in
// an object stream that is itself in an object stream, or that is beyond
// the table. When reflection does not find the table it checks nothing.
func checkObjectStreams(ctx context.Context, r *lpdf.Reader) error {
	x, ok := viewXref(r)
	if !ok {
		return nil
	}
	n := x.len()
	for i := range n {
		if i&0xffff == 0xffff {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		in, c := x.entry(i)
		if !in {
			continue
		}
		if c >= uint64(n) {
			return fmt.Errorf("%w: object %d is said to be in object stream %d, beyond the cross-reference table (%d entries)", extract.ErrMalformed, i, c, n)
		}
		if nested, cc := x.entry(int(c)); nested {
			return fmt.Errorf("%w: object %d is said to be in object stream %d, which is itself said to be in object stream %d (object streams cannot be nested)", extract.ErrMalformed, i, c, cc)
		}
	}
	return nil
}

// The /Encrypt pre-check.
//
// NewReaderEncrypted reads the cross-reference table and then, when the
// trailer has /Encrypt, resolves it: an /Encrypt reference to an object in
// a self-contained object stream overflows the stack inside
// NewReaderEncrypted. So, for a file whose last cross-reference section is
// a stream and whose trailer dictionary mentions /Encrypt, the file is
// first opened with every /Encrypt name of that dictionary overwritten by
// a name of the same length (an overlay of the guarded reader, the file is
// untouched): the library reads the same table without resolving
// anything, the table is checked, and only then is the file opened for
// real. Opening twice costs one more read of the cross-reference section
// and happens only for encrypted files with a cross-reference stream.
//
// The overlay covers the dictionary that starts at the startxref offset
// (located as the library locates it), lexed as the library lexes strings
// and comments, and it must end before the first occurrence of "stream"
// after that offset, so before any stream data: the cross-reference data
// the library reads is byte for byte the same in both opens. Every name in
// the dictionary that decodes (#xx escapes included) to Encrypt is
// overwritten, inside strings and comments too. A dictionary that does not
// end before the first "stream" (a string holding the word) is refused
// when /Encrypt may be in it. If the first open still sees an /Encrypt key
// (the library delimited the dictionary otherwise), the file is refused
// rather than opened unchecked.

const (
	eofChunk        = 100     // the library looks for startxref in the last 100 bytes
	maxTrailerBytes = 1 << 20 // bytes scanned for /Encrypt from startxref
)

// patch is bytes overlaid at off by the guarded reader.
type patch struct {
	off int64
	b   []byte
}

// openChecked opens the document and refuses nested object streams before
// the library can recurse on them.
func openChecked(g *guardedReader, size int64, password string) (*lpdf.Reader, error) {
	patches, err := encryptPatches(g, size)
	if err != nil {
		return nil, err
	}
	if len(patches) > 0 {
		g.patches = patches
		r, err := lpdf.NewReaderEncrypted(g, size, nil)
		g.patches = nil
		if err != nil {
			return nil, openError(err, password)
		}
		for _, k := range r.Trailer().Keys() {
			if k == "Encrypt" {
				return nil, fmt.Errorf("%w: the /Encrypt entry of the cross-reference stream could not be checked before opening", extract.ErrMalformed)
			}
		}
		if err := checkObjectStreams(g.ctx, r); err != nil {
			return nil, err
		}
	}
	r, err := open(g, size, password)
	if err != nil {
		return nil, err
	}
	if err := checkObjectStreams(g.ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// encryptPatches returns the overlays that hide /Encrypt from the library
// (see above): nil when the last cross-reference section is not a stream
// or its dictionary does not mention /Encrypt, ErrMalformed when the
// dictionary cannot be delimited before the first "stream" (so that
// /Encrypt could be hidden without touching stream data) while it may
// mention /Encrypt.
func encryptPatches(g *guardedReader, size int64) ([]patch, error) {
	off, ok := startxref(g, size)
	if !ok {
		return nil, nil // the library does not find it either and refuses the file
	}
	// Read from off to the first "stream", at most maxTrailerBytes.
	var w []byte
	cut := -1
	for int64(len(w)) < maxTrailerBytes && off+int64(len(w)) < size {
		chunk := make([]byte, min(16<<10, size-off-int64(len(w))))
		n, err := g.ReadAt(chunk, off+int64(len(w)))
		w = append(w, chunk[:n]...)
		if cut = bytes.Index(w, []byte("stream")); cut >= 0 || n == 0 || err != nil && !errors.Is(err, io.EOF) {
			break
		}
	}
	if isTableStart(w) {
		return nil, nil // a classic table: every entry is an offset
	}
	span := w
	if cut >= 0 {
		span = w[:cut]
	}
	if end := dictEnd(span); end >= 0 {
		return encryptNames(span[:end], off), nil
	}
	// The dictionary does not end before the first "stream" (a string
	// holds the word) or within maxTrailerBytes.
	if len(encryptNames(w, off)) > 0 || cut < 0 && off+int64(len(w)) < size {
		return nil, fmt.Errorf("%w: the dictionary of the cross-reference stream could not be delimited to check its /Encrypt entry", extract.ErrMalformed)
	}
	return nil, nil
}

// encryptNames returns an overlay for every name in w (at file offset off)
// that decodes to Encrypt, including inside strings and comments: the
// overlay, X repeated, keeps the length and the lexical structure.
func encryptNames(w []byte, off int64) []patch {
	var patches []patch
	for i := 0; i < len(w); i++ {
		if w[i] != '/' {
			continue
		}
		j, name := i+1, make([]byte, 0, 16)
		for j < len(w) && !isPDFSpace(w[j]) && !isPDFDelim(w[j]) && len(name) <= len("Encrypt") {
			if w[j] == '#' && j+2 < len(w) {
				x, err := strconv.ParseUint(string(w[j+1:j+3]), 16, 8)
				if err != nil {
					break
				}
				name = append(name, byte(x))
				j += 3
				continue
			}
			name = append(name, w[j])
			j++
		}
		if string(name) == "Encrypt" && (j == len(w) || isPDFSpace(w[j]) || isPDFDelim(w[j])) {
			patches = append(patches, patch{off: off + int64(i) + 1, b: bytes.Repeat([]byte{'X'}, j-i-1)})
		}
		i = j - 1
	}
	return patches
}

// dictEnd returns the index just after the ">>" closing the first
// dictionary of w, or -1, lexing strings and comments as the library does.
func dictEnd(w []byte) int {
	depth := 0
	for i := 0; i < len(w); i++ {
		switch c := w[i]; {
		case c == '%':
			for i < len(w) && w[i] != '\r' && w[i] != '\n' {
				i++
			}
		case c == '(':
			nest := 1
			for i++; i < len(w) && nest > 0; i++ {
				switch w[i] {
				case '\\':
					i++
				case '(':
					nest++
				case ')':
					nest--
				}
			}
			i--
		case c == '<' && i+1 < len(w) && w[i+1] == '<':
			depth++
			i++
		case c == '<':
			for i < len(w) && w[i] != '>' {
				i++
			}
		case c == '>' && i+1 < len(w) && w[i+1] == '>':
			depth--
			i++
			if depth <= 0 {
				return i + 1
			}
		}
	}
	return -1
}

// startxref locates the last cross-reference section as the library does:
// a "startxref" line in the last 100 bytes, after trimming trailing white
// space, followed by an integer.
func startxref(g *guardedReader, size int64) (int64, bool) {
	if size < eofChunk {
		return 0, false
	}
	buf := make([]byte, eofChunk)
	if n, _ := g.ReadAt(buf, size-eofChunk); n < eofChunk {
		return 0, false
	}
	buf = bytes.TrimRight(buf, "\r\n\t ")
	if !bytes.HasSuffix(buf, []byte("%%EOF")) {
		return 0, false
	}
	i := findLastLine(buf, "startxref")
	if i < 0 {
		return 0, false
	}
	rest := skipSpaceAndComments(buf[i+len("startxref"):])
	j := 0
	for j < len(rest) && !isPDFSpace(rest[j]) && !isPDFDelim(rest[j]) {
		j++
	}
	off, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	if err != nil || off < 0 || off >= size {
		return 0, false
	}
	return off, true
}

// findLastLine is the library's: the last s in buf with an end of line on
// both sides.
func findLastLine(buf []byte, s string) int {
	bs := []byte(s)
	end := len(buf)
	for {
		i := bytes.LastIndex(buf[:end], bs)
		if i <= 0 || i+len(bs) >= len(buf) {
			return -1
		}
		if (buf[i-1] == '\n' || buf[i-1] == '\r') && (buf[i+len(bs)] == '\n' || buf[i+len(bs)] == '\r') {
			return i
		}
		end = i
	}
}

// isTableStart reports whether w starts with the keyword xref.
func isTableStart(w []byte) bool {
	w = skipSpaceAndComments(w)
	return bytes.HasPrefix(w, []byte("xref")) && (len(w) == 4 || isPDFSpace(w[4]) || isPDFDelim(w[4]))
}

func skipSpaceAndComments(b []byte) []byte {
	for len(b) > 0 {
		switch {
		case isPDFSpace(b[0]):
			b = b[1:]
		case b[0] == '%':
			i := bytes.IndexAny(b, "\r\n")
			if i < 0 {
				return nil
			}
			b = b[i:]
		default:
			return b
		}
	}
	return b
}

// isPDFSpace and isPDFDelim are the library's white-space and delimiter
// characters.
func isPDFSpace(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\f', '\r', ' ':
		return true
	}
	return false
}

func isPDFDelim(c byte) bool {
	switch c {
	case '<', '>', '(', ')', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}
