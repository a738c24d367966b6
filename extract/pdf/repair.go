package pdf

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"

	"github.com/quarryhq/quarry/extract"
)

// Repair: a PDF whose cross-reference table is missing, broken or cut off
// (a truncated download, a hand-edited file, a buggy writer) is read the way
// pdftotext and mutool read it: the parser scans the file for "N G obj"
// headers, expands the object streams it finds, picks the trailer entries
// (/Root, /Info, /ID, /Encrypt) from the last trailer or cross-reference
// stream it can read, and appends a fresh cross-reference stream to the
// bytes the library sees. When the catalog or its page tree is lost, a new
// catalog and page tree list the page objects found, in object-number
// order. The file itself is never copied: the library reads the original
// bytes followed by the appended tail (see joinedReader).

// Bounds of a repair scan.
const (
	repairChunk      = 1 << 20 // bytes scanned per read
	repairOverlap    = 256     // bytes re-scanned across chunk borders
	repairPeek       = 4 << 10 // bytes of an object read to classify it
	maxRepairObjects = 1 << 22 // objects remembered (PDF's own limit is 8 388 607)
	maxRepairObjStm  = 64 << 20
)

var (
	reObjHeader = regexp.MustCompile(`(\d{1,10})[ \t\r\n\f\x00]+(\d{1,5})[ \t\r\n\f\x00]+obj\b`)
	reTrailer   = regexp.MustCompile(`trailer[ \t\r\n\f\x00]*<<`)
	reTypeName  = regexp.MustCompile(`/Type[ \t\r\n\f\x00]*/(Catalog|Pages|Page|ObjStm|XRef)\b`)
	reRef       = regexp.MustCompile(`^[ \t\r\n\f\x00]*(\d{1,10})[ \t\r\n\f\x00]+(\d{1,5})[ \t\r\n\f\x00]+R\b`)
	reInt       = regexp.MustCompile(`^[ \t\r\n\f\x00]*(\d{1,12})\b`)
)

// scannedObject is where an object was found.
type scannedObject struct {
	offset int64 // file offset of its header; for an object in a stream, the stream's
	gen    int
	stm    int // object stream holding it, or 0
	index  int // index in that stream
	kind   string
	pages  int // a catalog's /Pages object
	// fixed is the object rewritten with the true length of its stream,
	// when its /Length is wrong; nil otherwise.
	fixed []byte
}

type repairScan struct {
	objs     map[int]*scannedObject
	trailers [][]byte // trailer and xref-stream dictionaries, in file order
	objstms  []int
}

// repairTail scans r for objects and returns the bytes to append to it so
// that the library finds a cross-reference table describing them.
func repairTail(ctx context.Context, r io.ReaderAt, size int64) ([]byte, error) {
	s := &repairScan{objs: map[int]*scannedObject{}}
	if err := s.scan(ctx, r, size); err != nil {
		return nil, err
	}
	for _, num := range s.objstms {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.expand(r, size, num)
	}
	budget := int64(maxRepairObjStm)
	for num, o := range s.objs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if o.stm == 0 && budget > 0 {
			o.fixed = fixLength(r, size, num, o, &budget)
		}
	}
	if len(s.objs) == 0 {
		return nil, fmt.Errorf("%w: no objects found in the damaged file", extract.ErrMalformed)
	}
	return s.tail(size)
}

func (s *repairScan) scan(ctx context.Context, r io.ReaderAt, size int64) error {
	buf := make([]byte, repairChunk+repairOverlap)
	for start := int64(0); start < size; start += repairChunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-start)], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("pdf: repair: read: %w", err)
		}
		chunk := buf[:n]
		limit := min(repairChunk, n) // matches starting in the overlap belong to the next chunk
		for _, m := range reObjHeader.FindAllSubmatchIndex(chunk, -1) {
			if m[0] >= limit {
				break
			}
			if m[0] > 0 && isRegular(chunk[m[0]-1]) {
				continue // "12 0 obj" inside "/F12 0 obj" or a number run
			}
			num, _ := strconv.Atoi(string(chunk[m[2]:m[3]]))
			gen, _ := strconv.Atoi(string(chunk[m[4]:m[5]]))
			if num <= 0 || num >= maxRepairObjects {
				continue
			}
			off := start + int64(m[0])
			body := peek(r, size, chunk, start, start+int64(m[1]))
			kind := objectKind(body)
			if _, ok := s.objs[num]; !ok && len(s.objs) >= maxRepairObjects {
				continue
			}
			s.objs[num] = &scannedObject{offset: off, gen: gen, kind: kind, pages: catalogPages(kind, body)}
			switch kind {
			case "ObjStm":
				s.objstms = append(s.objstms, num)
			case "XRef":
				s.trailers = append(s.trailers, body)
			}
		}
		for _, m := range reTrailer.FindAllIndex(chunk, -1) {
			if m[0] >= limit {
				break
			}
			s.trailers = append(s.trailers, peek(r, size, chunk, start, start+int64(m[1])-2))
		}
	}
	return nil
}

// isRegular reports whether c is a PDF regular character (not white space
// or a delimiter).
func isRegular(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '\f', 0, '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return false
	}
	return true
}

// peek returns up to repairPeek bytes of the file from off, from chunk
// when it holds them.
func peek(r io.ReaderAt, size int64, chunk []byte, chunkStart, off int64) []byte {
	if rel := off - chunkStart; rel >= 0 && rel+repairPeek <= int64(len(chunk)) {
		return chunk[rel : rel+repairPeek]
	}
	b := make([]byte, min(repairPeek, max(0, size-off)))
	n, _ := r.ReadAt(b, off)
	return b[:n]
}

// objectKind classifies an object by the /Type of its dictionary, looking
// only before its stream data or its end.
func objectKind(body []byte) string {
	end := len(body)
	for _, kw := range []string{"stream", "endobj"} {
		if i := bytes.Index(body[:end], []byte(kw)); i >= 0 {
			end = i
		}
	}
	m := reTypeName.FindSubmatch(body[:end])
	if m == nil {
		return ""
	}
	return string(m[1])
}

// expand lists the objects of object stream num.
func (s *repairScan) expand(r io.ReaderAt, size int64, num int) {
	o := s.objs[num]
	if o == nil || o.stm != 0 {
		return
	}
	head := make([]byte, min(repairPeek, size-o.offset))
	n, _ := r.ReadAt(head, o.offset)
	head = head[:n]
	si := bytes.Index(head, []byte("stream"))
	if si < 0 {
		return
	}
	dict := head[:si]
	if f := dictValue(dict, "Filter"); f != nil && !bytes.Contains(f, []byte("FlateDecode")) {
		return
	}
	if dictValue(dict, "DecodeParms") != nil {
		return
	}
	count, ok1 := dictInt(dict, "N")
	first, ok2 := dictInt(dict, "First")
	if !ok1 || !ok2 || count <= 0 || count > 1<<16 || first <= 0 {
		return
	}
	dataStart := o.offset + int64(si) + int64(len("stream"))
	if b := head[si+len("stream"):]; len(b) > 0 && b[0] == '\r' {
		dataStart++
		b = b[1:]
		if len(b) > 0 && b[0] == '\n' {
			dataStart++
		}
	} else if len(b) > 0 && b[0] == '\n' {
		dataStart++
	}
	zr, err := zlib.NewReader(io.NewSectionReader(r, dataStart, size-dataStart))
	if err != nil {
		return
	}
	// A truncated stream still gives the objects before the cut.
	data, _ := io.ReadAll(io.LimitReader(zr, maxRepairObjStm))
	if first > len(data) {
		return
	}
	fields := bytes.Fields(data[:first])
	type entry struct{ num, off int }
	var entries []entry
	for i := 0; i+1 < len(fields) && len(entries) < count; i += 2 {
		a, err1 := strconv.Atoi(string(fields[i]))
		b, err2 := strconv.Atoi(string(fields[i+1]))
		if err1 != nil || err2 != nil || a <= 0 || a >= maxRepairObjects || b < 0 {
			break
		}
		entries = append(entries, entry{a, b})
	}
	for i, e := range entries {
		lo := first + e.off
		hi := len(data)
		if i+1 < len(entries) {
			hi = min(hi, first+entries[i+1].off)
		}
		if lo >= hi {
			continue
		}
		prev, seen := s.objs[e.num]
		if seen && prev.offset > o.offset {
			continue // defined again later in the file
		}
		if !seen && len(s.objs) >= maxRepairObjects {
			continue
		}
		kind := objectKind(data[lo:hi])
		s.objs[e.num] = &scannedObject{offset: o.offset, stm: num, index: i, kind: kind, pages: catalogPages(kind, data[lo:hi])}
	}
}

var reLength = regexp.MustCompile(`/Length[ \t\r\n\f\x00]+\d+(?:[ \t\r\n\f\x00]+\d+[ \t\r\n\f\x00]+R)?`)

// fixLength checks that the stream of object o ends where its direct
// /Length says (a writer that got it wrong leaves the library reading a
// cut or overlong stream); when it does not, it returns the object
// rewritten with the length up to its "endstream", charging the copied
// bytes to budget.
func fixLength(r io.ReaderAt, size int64, num int, o *scannedObject, budget *int64) []byte {
	head := make([]byte, min(repairPeek, size-o.offset))
	n, _ := r.ReadAt(head, o.offset)
	head = head[:n]
	hdr := reObjHeader.FindIndex(head)
	si := bytes.Index(head, []byte("stream"))
	if hdr == nil || hdr[0] != 0 || si < 0 || bytes.Contains(head[:si], []byte("endobj")) {
		return nil
	}
	dict := head[hdr[1]:si]
	length, ok := dictInt(dict, "Length")
	if !ok {
		return nil
	}
	dataStart := o.offset + int64(si) + int64(len("stream"))
	if b := head[si+len("stream"):]; len(b) > 0 && b[0] == '\r' {
		dataStart++
		if len(b) > 1 && b[1] == '\n' {
			dataStart++
		}
	} else if len(b) > 0 && b[0] == '\n' {
		dataStart++
	}
	after := make([]byte, 16)
	k, _ := r.ReadAt(after, dataStart+int64(length))
	if bytes.HasPrefix(bytes.TrimLeft(after[:k], " \t\r\n\f\x00"), []byte("endstream")) {
		return nil // the length is right
	}
	// Find the real end.
	end := int64(-1)
	buf := make([]byte, 64<<10)
	for off := dataStart; off < size && off-dataStart < *budget; off += int64(len(buf) - 16) {
		m, _ := r.ReadAt(buf, off)
		if i := bytes.Index(buf[:m], []byte("endstream")); i >= 0 {
			end = off + int64(i)
			break
		}
		if m < len(buf) {
			break
		}
	}
	if end < 0 {
		return nil
	}
	data := make([]byte, end-dataStart)
	if m, _ := r.ReadAt(data, dataStart); m < len(data) {
		return nil
	}
	data = bytes.TrimRight(data, "\r\n")
	*budget -= int64(len(data))
	fixedDict := reLength.ReplaceAll(dict, fmt.Appendf(nil, "/Length %d", len(data)))
	out := fmt.Appendf(nil, "%d %d obj", num, o.gen)
	out = append(out, fixedDict...)
	out = append(out, "stream\n"...)
	out = append(out, data...)
	return append(out, "\nendstream\nendobj\n"...)
}

// dictValue returns the raw value of key in the PDF dictionary text d (a
// reference, a dictionary, an array, a name or a number), nil when absent.
func dictValue(d []byte, key string) []byte {
	re := regexp.MustCompile(`/` + regexp.QuoteMeta(key) + `[ \t\r\n\f\x00]*`)
	for _, m := range re.FindAllIndex(d, -1) {
		if m[1] < len(d) && isRegular(d[m[1]-1]) && isRegular(d[m[1]]) && m[1]-m[0] == len(key)+1 {
			continue // a longer name such as /Rootx
		}
		rest := d[m[1]:]
		if ref := reRef.Find(rest); ref != nil {
			return bytes.TrimSpace(ref)
		}
		if len(rest) == 0 {
			return nil
		}
		switch rest[0] {
		case '<', '[':
			if v := balanced(rest); v != nil {
				return v
			}
			return nil
		case '/':
			i := 1
			for i < len(rest) && isRegular(rest[i]) {
				i++
			}
			return rest[:i]
		}
		i := 0
		for i < len(rest) && isRegular(rest[i]) {
			i++
		}
		if i == 0 {
			return nil
		}
		return rest[:i]
	}
	return nil
}

// balanced returns the dictionary, array or hex string at the start of b,
// or nil when it does not end within b.
func balanced(b []byte) []byte {
	depth := 0
	inString := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString > 0 {
			switch c {
			case '\\':
				i++
			case '(':
				inString++
			case ')':
				inString--
			}
			continue
		}
		switch c {
		case '(':
			inString = 1
		case '<', '[':
			depth++
		case '>', ']':
			depth--
			if depth == 0 {
				return b[:i+1]
			}
		}
	}
	return nil
}

func dictInt(d []byte, key string) (int, bool) {
	v := dictValue(d, key)
	if v == nil {
		return 0, false
	}
	m := reInt.FindSubmatch(v)
	if m == nil || reRef.Match(v) {
		return 0, false
	}
	n, err := strconv.Atoi(string(m[1]))
	return n, err == nil
}

func refNum(v []byte) int {
	m := reRef.FindSubmatch(v)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// tail writes the appended bytes: a new catalog and page tree when needed,
// and a cross-reference stream for every object found.
func (s *repairScan) tail(size int64) ([]byte, error) {
	var root, info, id, encrypt []byte
	for i := len(s.trailers) - 1; i >= 0; i-- {
		t := s.trailers[i]
		if end := bytes.Index(t, []byte("stream")); end >= 0 {
			t = t[:end]
		}
		rv := dictValue(t, "Root")
		if !s.usableCatalog(refNum(rv)) {
			continue
		}
		root, info, id, encrypt = rv, dictValue(t, "Info"), dictValue(t, "ID"), dictValue(t, "Encrypt")
		break
	}
	maxNum := 0
	for num := range s.objs {
		maxNum = max(maxNum, num)
	}
	if root == nil {
		root = s.findCatalog()
	}

	var b bytes.Buffer
	b.WriteString("\n")
	extra := map[int]int64{} // objects written here, by number
	if root == nil {
		// No usable catalog: list the pages found.
		var pages []int
		for num, o := range s.objs {
			if o.kind == "Page" {
				pages = append(pages, num)
			}
		}
		if len(pages) == 0 {
			return nil, fmt.Errorf("%w: the damaged file has no pages left", extract.ErrMalformed)
		}
		slices.Sort(pages)
		catalog, tree := maxNum+1, maxNum+2
		maxNum += 2
		extra[catalog] = size + int64(b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n<< /Type /Catalog /Pages %d 0 R >>\nendobj\n", catalog, tree)
		extra[tree] = size + int64(b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n<< /Type /Pages /Count %d /Kids [", tree, len(pages))
		for _, p := range pages {
			fmt.Fprintf(&b, "%d %d R ", p, s.objs[p].gen)
		}
		b.WriteString("] >>\nendobj\n")
		root = fmt.Appendf(nil, "%d 0 R", catalog)
	}

	var fixed []int
	for num, o := range s.objs {
		if o.fixed != nil {
			fixed = append(fixed, num)
		}
	}
	slices.Sort(fixed)
	for _, num := range fixed {
		extra[num] = size + int64(b.Len())
		b.Write(s.objs[num].fixed)
	}

	xrefNum := maxNum + 1
	xrefOff := size + int64(b.Len())
	var data bytes.Buffer
	entry := func(typ byte, f2 int64, f3 int) {
		data.WriteByte(typ)
		for i := 7; i >= 0; i-- {
			data.WriteByte(byte(f2 >> (8 * i)))
		}
		for i := 3; i >= 0; i-- {
			data.WriteByte(byte(f3 >> (8 * i)))
		}
	}
	for num := 0; num <= xrefNum; num++ {
		if off, ok := extra[num]; ok {
			gen := 0
			if o := s.objs[num]; o != nil && o.fixed != nil {
				gen = o.gen
			}
			entry(1, off, gen)
			continue
		}
		if num == xrefNum {
			entry(1, xrefOff, 0)
			continue
		}
		o := s.objs[num]
		switch {
		case o == nil:
			entry(0, 0, 0)
		case o.stm != 0:
			entry(2, int64(o.stm), o.index)
		default:
			entry(1, o.offset, o.gen)
		}
	}
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /XRef /Size %d /W [1 8 4] /Length %d /Root %s", xrefNum, xrefNum+1, data.Len(), root)
	for _, kv := range []struct {
		k string
		v []byte
	}{{"Info", info}, {"ID", id}, {"Encrypt", encrypt}} {
		if kv.v != nil {
			fmt.Fprintf(&b, " /%s %s", kv.k, kv.v)
		}
	}
	b.WriteString(" >>\nstream\n")
	b.Write(data.Bytes())
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", xrefOff)
	return b.Bytes(), nil
}

// findCatalog returns a reference to the last usable catalog found by
// the scan, nil when there is none.
func (s *repairScan) findCatalog() []byte {
	best := 0
	for num := range s.objs {
		if num > best && s.usableCatalog(num) {
			best = num
		}
	}
	if best == 0 {
		return nil
	}
	return fmt.Appendf(nil, "%d %d R", best, s.objs[best].gen)
}

// usableCatalog reports whether object num is a catalog whose page tree
// root was found.
func (s *repairScan) usableCatalog(num int) bool {
	o := s.objs[num]
	if o == nil || o.kind != "Catalog" {
		return false
	}
	p := s.objs[o.pages]
	return p != nil && p.kind == "Pages"
}

func catalogPages(kind string, body []byte) int {
	if kind != "Catalog" {
		return 0
	}
	end := len(body)
	if i := bytes.Index(body, []byte("endobj")); i >= 0 {
		end = i
	}
	return refNum(dictValue(body[:end], "Pages"))
}

// joinedReader reads a followed by b, as one file of size na+len(b).
type joinedReader struct {
	a  io.ReaderAt
	na int64
	b  []byte
}

func (j *joinedReader) ReadAt(p []byte, off int64) (int, error) {
	total := j.na + int64(len(j.b))
	if off >= total {
		return 0, io.EOF
	}
	n := 0
	if off < j.na {
		k := min(int64(len(p)), j.na-off)
		m, err := j.a.ReadAt(p[:k], off)
		n += m
		if m < int(k) {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
		off += int64(m)
	}
	if n < len(p) && off >= j.na {
		n += copy(p[n:], j.b[off-j.na:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
