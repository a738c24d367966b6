// Package safezip reads untrusted ZIP archives under limits. Every ZIP-based
// document format of Quarry (DOCX today; XLSX, PPTX, ODT and EPUB later)
// opens its package through it, so the archive defences of RELIABILITY.md
// (tests T10–T14) live in one place:
//
//   - the entry count is read from the end-of-central-directory record and
//     checked before the central directory is parsed (T12a);
//   - the summed declared uncompressed size and each entry's declared
//     compression ratio are checked before anything is inflated (T10, T12b);
//   - entries whose local data overlap another's are refused (T12b);
//   - symlinks and unsafe names (absolute, "..", backslashes, drive letters)
//     are left out of the listing, so callers never see them (T14);
//   - an opened entry reads at most its declared size and at most what is
//     left of the archive's unpacked budget, so a lying header stops with
//     [extract.ErrMalformed] and a budget overrun with [extract.ErrTooLarge]
//     (T11).
//
// Nothing is ever written to disk: names are only used to look parts up.
package safezip

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/quarryhq/quarry/extract"
)

// MinRatioSize is the declared uncompressed size from which the per-entry
// compression ratio is checked. Small, very repetitive parts (an empty
// table of 2 000 identical cells) legitimately compress better than 100:1;
// they cannot hurt, and the summed-size budget still counts them.
const MinRatioSize = 1 << 20

// Reader is an opened archive. Its methods are safe for concurrent use.
type Reader struct {
	files   []*File
	byName  map[string]*File
	byFold  map[string]*File
	skipped []string
	budget  atomic.Int64 // unpacked bytes still allowed
	lim     extract.Limits
}

// File is one entry of the archive with a safe name.
type File struct {
	// Name is the entry's name, as stored (forward slashes, relative).
	Name string
	// Size is the declared uncompressed size.
	Size int64
	// CompressedSize is the declared compressed size.
	CompressedSize int64

	zf *zip.File
	r  *Reader
}

// Open opens the archive of size bytes read from r under lim. Zero fields of
// lim take the values of [extract.DefaultLimits()]; only MaxArchiveEntries,
// MaxUnpackedBytes and MaxCompressionRatio are used.
//
// Errors wrap [extract.ErrMalformed] when r is not a ZIP archive and
// [extract.ErrTooLarge] when a limit is exceeded.
func Open(r io.ReaderAt, size int64, lim extract.Limits) (*Reader, error) {
	lim = lim.WithDefaults()
	if r == nil || size <= 0 {
		return nil, fmt.Errorf("safezip: %w: empty archive", extract.ErrMalformed)
	}
	if n, ok := declaredEntries(r, size); ok && n > uint64(lim.MaxArchiveEntries) {
		return nil, fmt.Errorf("safezip: %w: the archive declares %d entries, over the limit of %d", extract.ErrTooLarge, n, lim.MaxArchiveEntries)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, fmt.Errorf("safezip: %w: not a readable ZIP archive: %v", extract.ErrMalformed, err)
	}
	if len(zr.File) > lim.MaxArchiveEntries {
		return nil, fmt.Errorf("safezip: %w: the archive has %d entries, over the limit of %d", extract.ErrTooLarge, len(zr.File), lim.MaxArchiveEntries)
	}
	var total uint64
	for _, f := range zr.File {
		u, c := f.UncompressedSize64, f.CompressedSize64
		total += min(u, 1<<62) // saturate: declared sizes are attacker data
		if total > uint64(lim.MaxUnpackedBytes) {
			return nil, fmt.Errorf("safezip: %w: entries declare over %d unpacked bytes", extract.ErrTooLarge, lim.MaxUnpackedBytes)
		}
		if u >= MinRatioSize && (c == 0 || u/c > uint64(lim.MaxCompressionRatio)) {
			return nil, fmt.Errorf("safezip: %w: entry %q declares a compression ratio over %d", extract.ErrTooLarge, f.Name, lim.MaxCompressionRatio)
		}
	}
	if err := checkOverlap(zr.File, size); err != nil {
		return nil, err
	}
	sr := &Reader{byName: map[string]*File{}, byFold: map[string]*File{}, lim: lim}
	sr.budget.Store(lim.MaxUnpackedBytes)
	for _, f := range zr.File {
		if !safeName(f.Name) || f.Mode()&fs.ModeSymlink != 0 || f.Mode().IsDir() {
			if !strings.HasSuffix(f.Name, "/") {
				sr.skipped = append(sr.skipped, f.Name)
			}
			continue
		}
		sf := &File{Name: f.Name, Size: int64(f.UncompressedSize64), CompressedSize: int64(f.CompressedSize64), zf: f, r: sr}
		if _, dup := sr.byName[f.Name]; dup {
			continue // the first entry of a name wins
		}
		sr.files = append(sr.files, sf)
		sr.byName[f.Name] = sf
		if _, dup := sr.byFold[strings.ToLower(f.Name)]; !dup {
			sr.byFold[strings.ToLower(f.Name)] = sf
		}
	}
	return sr, nil
}

// Files returns the entries with safe names, in central-directory order.
// Directories, symlinks and entries with unsafe names are left out.
func (r *Reader) Files() []*File { return slices.Clone(r.files) }

// Skipped returns the names of the entries left out as symlinks or unsafe
// names.
func (r *Reader) Skipped() []string { return slices.Clone(r.skipped) }

// Remaining returns how many unpacked bytes may still be read.
func (r *Reader) Remaining() int64 { return max(r.budget.Load(), 0) }

// Lookup returns the entry called name, or nil. A leading "/" is ignored
// and, as OOXML part names are case-insensitive, a name that matches no
// entry exactly is matched without regard to case.
func (r *Reader) Lookup(name string) *File {
	name = strings.TrimPrefix(name, "/")
	if f := r.byName[name]; f != nil {
		return f
	}
	return r.byFold[strings.ToLower(name)]
}

// Open opens the entry called name (see [Reader.Lookup]). A missing entry
// gives an error wrapping [fs.ErrNotExist].
func (r *Reader) Open(name string) (io.ReadCloser, error) {
	f := r.Lookup(name)
	if f == nil {
		return nil, fmt.Errorf("safezip: %s: %w", name, fs.ErrNotExist)
	}
	return f.Open()
}

// ReadFile reads the entry called name whole. It refuses an entry declaring
// more than max bytes (max <= 0 means no cap beyond the archive budget)
// with an error wrapping [extract.ErrTooLarge].
func (r *Reader) ReadFile(name string, max int64) ([]byte, error) {
	f := r.Lookup(name)
	if f == nil {
		return nil, fmt.Errorf("safezip: %s: %w", name, fs.ErrNotExist)
	}
	if max > 0 && f.Size > max {
		return nil, fmt.Errorf("safezip: %w: entry %q declares %d bytes, over the cap of %d", extract.ErrTooLarge, f.Name, f.Size, max)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	buf := bytes.NewBuffer(make([]byte, 0, min(f.Size, 1<<20)+1))
	if _, err := buf.ReadFrom(rc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Open returns a reader of the entry's uncompressed bytes. It stops with an
// error wrapping [extract.ErrMalformed] when the entry inflates past its
// declared size or fails its checksum, and with [extract.ErrTooLarge] when
// the archive's unpacked budget runs out. Encrypted entries give
// [extract.ErrEncrypted].
func (f *File) Open() (io.ReadCloser, error) {
	if f.zf.Flags&0x1 != 0 || f.zf.Method == 99 { // traditional PKWARE or WinZip AES encryption
		return nil, fmt.Errorf("safezip: %w: entry %q is encrypted", extract.ErrEncrypted, f.Name)
	}
	if f.Size > f.r.Remaining() {
		return nil, fmt.Errorf("safezip: %w: entry %q needs %d bytes, %d left of the unpacked budget", extract.ErrTooLarge, f.Name, f.Size, f.r.Remaining())
	}
	rc, err := f.zf.Open()
	if err != nil {
		if errors.Is(err, zip.ErrAlgorithm) {
			return nil, fmt.Errorf("safezip: %w: entry %q uses unsupported compression method %d", extract.ErrMalformed, f.Name, f.zf.Method)
		}
		return nil, fmt.Errorf("safezip: %w: entry %q: %v", extract.ErrMalformed, f.Name, err)
	}
	return &entryReader{f: f, rc: rc}, nil
}

// entryReader caps an entry at its declared size and charges what it reads
// to the archive budget.
type entryReader struct {
	f    *File
	rc   io.ReadCloser
	read int64
	err  error
}

func (e *entryReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	// Ask for one byte past the declared size so that a lying header is
	// noticed here even if the decompressor does not notice it.
	if rest := e.f.Size + 1 - e.read; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := e.rc.Read(p)
	e.read += int64(n)
	if e.read > e.f.Size {
		e.err = fmt.Errorf("safezip: %w: entry %q inflates past its declared %d bytes", extract.ErrMalformed, e.f.Name, e.f.Size)
		return 0, e.err
	}
	if e.f.r.budget.Add(-int64(n)) < 0 {
		e.err = fmt.Errorf("safezip: %w: the archive unpacks to more than %d bytes", extract.ErrTooLarge, e.f.r.lim.MaxUnpackedBytes)
		return 0, e.err
	}
	switch {
	case err == nil || err == io.EOF:
		if err == io.EOF && e.read < e.f.Size {
			e.err = fmt.Errorf("safezip: %w: entry %q ends before its declared %d bytes", extract.ErrMalformed, e.f.Name, e.f.Size)
			return n, e.err
		}
		return n, err
	default:
		e.err = fmt.Errorf("safezip: %w: entry %q: %v", extract.ErrMalformed, e.f.Name, err)
		return n, e.err
	}
}

func (e *entryReader) Close() error { return e.rc.Close() }

// safeName reports whether name is a clean relative path: no absolute path,
// no ".." element, no backslash, no drive letter, no NUL.
func safeName(name string) bool {
	if name == "" || strings.ContainsAny(name, "\\\x00") || strings.HasPrefix(name, "/") {
		return false
	}
	if len(name) >= 2 && name[1] == ':' {
		return false
	}
	for elem := range strings.SplitSeq(name, "/") {
		if elem == ".." {
			return false
		}
	}
	return true
}

// checkOverlap refuses entries whose data lie inside another entry's data,
// the trick of overlapping-entry bombs. It uses the data offsets of the
// local headers and the declared compressed sizes.
func checkOverlap(files []*zip.File, size int64) error {
	type span struct{ start, end int64 }
	spans := make([]span, 0, len(files))
	for _, f := range files {
		off, err := f.DataOffset()
		if err != nil {
			continue // unreadable local header: Open will fail on it
		}
		c := int64(min(f.CompressedSize64, uint64(size)))
		spans = append(spans, span{off, off + c})
	}
	slices.SortFunc(spans, func(a, b span) int {
		switch {
		case a.start < b.start:
			return -1
		case a.start > b.start:
			return 1
		}
		return 0
	})
	for i := 1; i < len(spans); i++ {
		if spans[i].start < spans[i-1].end || spans[i].start == spans[i-1].start {
			return fmt.Errorf("safezip: %w: entries overlap in the archive", extract.ErrMalformed)
		}
	}
	return nil
}

// declaredEntries reads the entry count from the end-of-central-directory
// record (or its ZIP64 form) without parsing the directory.
func declaredEntries(r io.ReaderAt, size int64) (uint64, bool) {
	const eocdLen = 22
	n := min(size, 65535+eocdLen)
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, size-n); err != nil && err != io.EOF {
		return 0, false
	}
	i := bytes.LastIndex(buf, []byte("PK\x05\x06"))
	if i < 0 || len(buf)-i < eocdLen {
		return 0, false
	}
	count := uint64(binary.LittleEndian.Uint16(buf[i+10:]))
	// ZIP64: a locator sits just before the record.
	if j := i - 20; j >= 0 && string(buf[j:j+4]) == "PK\x06\x07" {
		off := binary.LittleEndian.Uint64(buf[j+8:])
		if off < uint64(size) {
			rec := make([]byte, 56)
			if _, err := r.ReadAt(rec, int64(off)); err == nil && string(rec[:4]) == "PK\x06\x06" {
				count = max(count, binary.LittleEndian.Uint64(rec[32:]))
			}
		}
	}
	return count, true
}
