package safezip

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract"
)

type entry struct {
	name string
	data []byte
	mode fs.FileMode
}

// zipOf builds an archive of deflated entries.
func zipOf(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if len(e.data) == 0 {
			h.Method = zip.Store // a deflater per entry makes floods slow
		}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawZip builds an archive of one entry whose header says what h says,
// whatever data holds (data is stored as given, already compressed).
func rawZip(t testing.TB, h *zip.FileHeader, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var (
	bombOnce sync.Once
	bombData []byte
	bombCRC  uint32
)

// gibOfA returns a raw DEFLATE stream of 1 GiB of 'A' (about 1.3 MB) and
// its CRC-32. It compresses 1 MiB twice and repeats the second, steady-state
// segment: every back-reference in it points into a window of 'A's.
func gibOfA() ([]byte, uint32) {
	bombOnce.Do(func() {
		const chunks = 1024
		chunk := bytes.Repeat([]byte("A"), 1<<20)
		var out, seg bytes.Buffer
		fw, _ := flate.NewWriter(&seg, flate.BestSpeed)
		_, _ = fw.Write(chunk)
		_ = fw.Flush()
		out.Write(seg.Bytes())
		seg.Reset()
		_, _ = fw.Write(chunk)
		_ = fw.Flush()
		mid := bytes.Clone(seg.Bytes())
		seg.Reset()
		_ = fw.Close()
		for range chunks - 1 {
			out.Write(mid)
		}
		out.Write(seg.Bytes())
		crc := uint32(0)
		for range chunks {
			crc = crc32.Update(crc, crc32.IEEETable, chunk)
		}
		bombData, bombCRC = out.Bytes(), crc
	})
	return bombData, bombCRC
}

func open(t testing.TB, b []byte, lim extract.Limits) (*Reader, error) {
	t.Helper()
	return Open(bytes.NewReader(b), int64(len(b)), lim)
}

// allocDuring returns the bytes allocated by fn.
func allocDuring(fn func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	fn()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func TestOpenReadsEntries(t *testing.T) {
	b := zipOf(t, entry{name: "a.xml", data: []byte("<a>hello</a>")}, entry{name: "Dir/B.xml", data: []byte("b")})
	zr, err := open(t, b, extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(zr.Files()); n != 2 {
		t.Fatalf("Files: %d entries, want 2", n)
	}
	got, err := zr.ReadFile("a.xml", 0)
	if err != nil || string(got) != "<a>hello</a>" {
		t.Fatalf("ReadFile = %q, %v", got, err)
	}
	if zr.Lookup("/dir/b.xml") == nil {
		t.Error("Lookup is not case-insensitive or does not ignore a leading slash")
	}
	if _, err := zr.Open("missing.xml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want fs.ErrNotExist", err)
	}
	if _, err := zr.ReadFile("a.xml", 4); !errors.Is(err, extract.ErrTooLarge) {
		t.Errorf("ReadFile over its cap = %v, want ErrTooLarge", err)
	}
	if rem := zr.Remaining(); rem != extract.DefaultLimits().MaxUnpackedBytes-12 {
		t.Errorf("Remaining = %d, want the budget less the 12 bytes read", rem)
	}
}

func TestOpenRefusesNonZip(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("this is not a zip archive, just some words of text"),
		"truncated": zipOf(t, entry{name: "a", data: []byte("abc")})[:40],
		"pdf":       []byte("%PDF-1.7\n%%EOF\n"),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := open(t, b, extract.Limits{}); !errors.Is(err, extract.ErrMalformed) {
				t.Fatalf("Open = %v, want ErrMalformed", err)
			}
		})
	}
}

// T10: ~1 GiB declared, honestly, by one entry: refused before inflating.
func TestHonestBomb(t *testing.T) {
	data, crc := gibOfA()
	b := rawZip(t, &zip.FileHeader{Name: "word/document.xml", Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(len(data)), UncompressedSize64: 1 << 30}, data)
	start := time.Now()
	var err error
	alloc := allocDuring(func() { _, err = open(t, b, extract.Limits{}) })
	if !errors.Is(err, extract.ErrTooLarge) {
		t.Fatalf("Open = %v, want ErrTooLarge", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusal took %v", d)
	}
	if alloc > 10<<20 {
		t.Errorf("Open allocated %d bytes", alloc)
	}
	// Within the size budget, the ratio alone refuses it.
	if _, err := open(t, b, extract.Limits{MaxUnpackedBytes: 2 << 30}); !errors.Is(err, extract.ErrTooLarge) {
		t.Fatalf("Open with a 2 GiB budget = %v, want ErrTooLarge from the ratio", err)
	}
}

// T11: the header declares 4 KiB, the data inflate to 1 GiB: reading stops
// at 4 KiB with ErrMalformed.
func TestLyingHeader(t *testing.T) {
	data, crc := gibOfA()
	b := rawZip(t, &zip.FileHeader{Name: "word/document.xml", Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(len(data)), UncompressedSize64: 4096}, data)
	zr, err := open(t, b, extract.Limits{})
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	start := time.Now()
	var n int64
	alloc := allocDuring(func() {
		var rc io.ReadCloser
		if rc, err = zr.Open("word/document.xml"); err != nil {
			return
		}
		defer rc.Close()
		n, err = io.Copy(io.Discard, rc)
	})
	if !errors.Is(err, extract.ErrMalformed) {
		t.Fatalf("read = %d bytes, %v; want ErrMalformed", n, err)
	}
	if n > 4096 {
		t.Errorf("read %d bytes past the declared 4096", n)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
	if alloc > 10<<20 {
		t.Errorf("reading allocated %d bytes", alloc)
	}
	if _, err := zr.ReadFile("word/document.xml", 0); !errors.Is(err, extract.ErrMalformed) {
		t.Errorf("ReadFile = %v, want ErrMalformed", err)
	}
}

// A stored entry shorter than its header says is malformed too.
func TestShortEntry(t *testing.T) {
	b := rawZip(t, &zip.FileHeader{Name: "a", Method: zip.Store, CompressedSize64: 3, UncompressedSize64: 3, CRC32: crc32.ChecksumIEEE([]byte("xyz"))}, []byte("abc"))
	zr, err := open(t, b, extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zr.ReadFile("a", 0); !errors.Is(err, extract.ErrMalformed) {
		t.Errorf("checksum mismatch: %v, want ErrMalformed", err)
	}
}

// T12a: 10 001 entries, one over the default cap.
func TestEntryFlood(t *testing.T) {
	var entries []entry
	for i := range 10001 {
		entries = append(entries, entry{name: "f" + strconv.Itoa(i)})
	}
	b := zipOf(t, entries...)
	start := time.Now()
	if _, err := open(t, b, extract.Limits{}); !errors.Is(err, extract.ErrTooLarge) {
		t.Fatalf("Open = %v, want ErrTooLarge", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
	if _, err := open(t, zipOf(t, entries[:10000]...), extract.Limits{}); err != nil {
		t.Errorf("10 000 entries: %v", err)
	}
}

// The ZIP64 end record carries counts over 65 535; the 16-bit count of the
// plain record is then 0xFFFF.
func TestEntryFloodZip64(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 70 000-entry archive")
	}
	entries := make([]entry, 70000)
	for i := range entries {
		entries[i] = entry{name: strconv.Itoa(i)}
	}
	b := zipOf(t, entries...)
	alloc := allocDuring(func() {
		if _, err := open(t, b, extract.Limits{MaxArchiveEntries: 100}); !errors.Is(err, extract.ErrTooLarge) {
			t.Fatalf("Open = %v, want ErrTooLarge", err)
		}
	})
	if alloc > 1<<20 {
		t.Errorf("the entry count was not checked before reading the directory: %d bytes allocated", alloc)
	}
}

// overlapZip hand-writes an archive of one local entry and n central
// directory records that all point at it, each declaring declared bytes.
func overlapZip(n int, declared uint32) []byte {
	payload := bytes.Repeat([]byte("A"), int(declared))
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	_, _ = fw.Write(payload)
	_ = fw.Close()
	crc := crc32.ChecksumIEEE(payload)
	name := []byte("word/document.xml")
	le := binary.LittleEndian
	var b bytes.Buffer
	lh := make([]byte, 30)
	le.PutUint32(lh[0:], 0x04034b50)
	le.PutUint16(lh[4:], 20)
	le.PutUint16(lh[8:], 8)
	le.PutUint32(lh[14:], crc)
	le.PutUint32(lh[18:], uint32(comp.Len()))
	le.PutUint32(lh[22:], declared)
	le.PutUint16(lh[26:], uint16(len(name)))
	b.Write(lh)
	b.Write(name)
	b.Write(comp.Bytes())
	cdStart := b.Len()
	for i := range n {
		nm := []byte("word/part" + strconv.Itoa(i) + ".xml")
		cd := make([]byte, 46)
		le.PutUint32(cd[0:], 0x02014b50)
		le.PutUint16(cd[4:], 20)
		le.PutUint16(cd[6:], 20)
		le.PutUint16(cd[10:], 8)
		le.PutUint32(cd[16:], crc)
		le.PutUint32(cd[20:], uint32(comp.Len()))
		le.PutUint32(cd[24:], declared)
		le.PutUint16(cd[28:], uint16(len(nm)))
		le.PutUint32(cd[42:], 0) // every record: the same local header
		b.Write(cd)
		b.Write(nm)
	}
	cdLen := b.Len() - cdStart
	eocd := make([]byte, 22)
	le.PutUint32(eocd[0:], 0x06054b50)
	le.PutUint16(eocd[8:], uint16(n))
	le.PutUint16(eocd[10:], uint16(n))
	le.PutUint32(eocd[12:], uint32(cdLen))
	le.PutUint32(eocd[16:], uint32(cdStart))
	b.Write(eocd)
	return b.Bytes()
}

// T12b: 1 000 central-directory records over one local entry, each
// declaring 1 MiB: refused on the summed declared size; with small entries
// under the budget, refused as overlapping.
func TestOverlappingEntries(t *testing.T) {
	start := time.Now()
	if _, err := open(t, overlapZip(1000, 1<<20), extract.Limits{}); !errors.Is(err, extract.ErrTooLarge) {
		t.Fatalf("1000 x 1 MiB: Open = %v, want ErrTooLarge", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
	if _, err := open(t, overlapZip(100, 1<<10), extract.Limits{}); !errors.Is(err, extract.ErrMalformed) {
		t.Fatalf("100 x 1 KiB: Open = %v, want ErrMalformed (overlap)", err)
	}
	if _, err := open(t, overlapZip(1, 1<<10), extract.Limits{}); err != nil {
		t.Fatalf("a single hand-written entry: %v", err)
	}
}

func TestRatio(t *testing.T) {
	big := bytes.Repeat([]byte("A"), 2<<20) // 2 MiB compressing about 1000:1
	if _, err := open(t, zipOf(t, entry{name: "big", data: big}), extract.Limits{}); !errors.Is(err, extract.ErrTooLarge) {
		t.Errorf("2 MiB at ~1000:1: %v, want ErrTooLarge", err)
	}
	small := bytes.Repeat([]byte("A"), 100<<10)
	if _, err := open(t, zipOf(t, entry{name: "small", data: small}), extract.Limits{}); err != nil {
		t.Errorf("100 KiB at ~1000:1 is under MinRatioSize: %v", err)
	}
}

func TestBudget(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 40<<10) // 640 KiB
	b := zipOf(t, entry{name: "a", data: data}, entry{name: "b", data: data})
	if _, err := open(t, b, extract.Limits{MaxUnpackedBytes: 1 << 20}); !errors.Is(err, extract.ErrTooLarge) {
		t.Fatalf("1.25 MiB declared, 1 MiB budget: %v, want ErrTooLarge", err)
	}
	zr, err := open(t, zipOf(t, entry{name: "a", data: data}), extract.Limits{MaxUnpackedBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zr.ReadFile("a", 0); err != nil {
		t.Fatal(err)
	}
	// Reading the same entry again would pass the budget.
	if _, err := zr.ReadFile("a", 0); !errors.Is(err, extract.ErrTooLarge) {
		t.Fatalf("second read: %v, want ErrTooLarge", err)
	}
}

// T14: unsafe names and symlinks are never listed nor opened.
func TestUnsafeNames(t *testing.T) {
	bad := []string{"../../../../tmp/pwned", "/etc/cron.d/x", `C:\x`, "C:/x", `word\..\..\x`, "a/../../b"}
	var entries []entry
	for _, n := range bad {
		entries = append(entries, entry{name: n, data: []byte("pwned")})
	}
	entries = append(entries, entry{name: "link", data: []byte("/etc/passwd"), mode: fs.ModeSymlink | 0o777})
	entries = append(entries, entry{name: "word/document.xml", data: []byte("<ok/>")})
	zr, err := open(t, zipOf(t, entries...), extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if fs := zr.Files(); len(fs) != 1 || fs[0].Name != "word/document.xml" {
		t.Errorf("Files = %v, want only word/document.xml", fs)
	}
	if got := len(zr.Skipped()); got != len(bad)+1 {
		t.Errorf("Skipped = %q, want %d names", zr.Skipped(), len(bad)+1)
	}
	for _, n := range append(bad, "link") {
		if zr.Lookup(n) != nil {
			t.Errorf("Lookup(%q) found an unsafe entry", n)
		}
	}
	if _, err := os.Stat("/tmp/pwned"); err == nil {
		t.Error("/tmp/pwned exists")
	}
}

func TestEncryptedEntry(t *testing.T) {
	b := rawZip(t, &zip.FileHeader{Name: "word/document.xml", Method: zip.Store, Flags: 0x1,
		CompressedSize64: 16, UncompressedSize64: 4}, bytes.Repeat([]byte{0x5a}, 16))
	zr, err := open(t, b, extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zr.Open("word/document.xml"); !errors.Is(err, extract.ErrEncrypted) {
		t.Fatalf("Open = %v, want ErrEncrypted", err)
	}
}

func TestUnsupportedMethod(t *testing.T) {
	b := rawZip(t, &zip.FileHeader{Name: "a", Method: 14, CompressedSize64: 4, UncompressedSize64: 4}, []byte("LZMA"))
	zr, err := open(t, b, extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zr.Open("a"); !errors.Is(err, extract.ErrMalformed) {
		t.Fatalf("Open = %v, want ErrMalformed", err)
	}
}

func TestSafeName(t *testing.T) {
	for name, want := range map[string]bool{
		"word/document.xml": true, "[Content_Types].xml": true, "_rels/.rels": true, "a..b/c": true,
		"": false, "/abs": false, "../x": false, "a/../../x": false, `a\b`: false, "C:x": false, "a\x00b": false,
	} {
		if got := safeName(name); got != want {
			t.Errorf("safeName(%q) = %v, want %v", name, got, want)
		}
	}
}
