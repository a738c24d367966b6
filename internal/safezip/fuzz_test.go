package safezip

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/quarryhq/quarry/extract"
)

// FuzzOpen: Open and reading every entry never panics, every error wraps a
// sentinel of extract (or fs.ErrNotExist), and nothing reads past the
// budget.
func FuzzOpen(f *testing.F) {
	f.Add(zipOf(f, entry{name: "a.xml", data: []byte("<a>hello</a>")}, entry{name: "b/c", data: bytes.Repeat([]byte("xy"), 300)}))
	f.Add(zipOf(f, entry{name: "../evil", data: []byte("x")}, entry{name: "link", data: []byte("/etc"), mode: 0o777 | 1<<27}))
	f.Add(rawZip(f, &zip.FileHeader{Name: "lie", Method: zip.Deflate, CompressedSize64: 5, UncompressedSize64: 1}, []byte{0x4b, 0x4c, 0x4a, 0x06, 0}))
	f.Add(overlapZip(3, 64))
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte{})
	const budget = 1 << 20
	lim := extract.Limits{MaxArchiveEntries: 64, MaxUnpackedBytes: budget, MaxCompressionRatio: 100}
	f.Fuzz(func(t *testing.T, b []byte) {
		zr, err := Open(bytes.NewReader(b), int64(len(b)), lim)
		if err != nil {
			if !errors.Is(err, extract.ErrMalformed) && !errors.Is(err, extract.ErrTooLarge) {
				t.Fatalf("Open: unexpected error %v", err)
			}
			return
		}
		var total int64
		for _, f := range zr.Files() {
			if !safeName(f.Name) {
				t.Fatalf("unsafe name listed: %q", f.Name)
			}
			rc, err := f.Open()
			if err != nil {
				if !errors.Is(err, extract.ErrMalformed) && !errors.Is(err, extract.ErrTooLarge) && !errors.Is(err, extract.ErrEncrypted) {
					t.Fatalf("Open(%q): unexpected error %v", f.Name, err)
				}
				continue
			}
			n, err := io.Copy(io.Discard, rc)
			rc.Close()
			total += n
			if n > f.Size {
				t.Fatalf("%q: read %d bytes, declared %d", f.Name, n, f.Size)
			}
			if err != nil && !errors.Is(err, extract.ErrMalformed) && !errors.Is(err, extract.ErrTooLarge) {
				t.Fatalf("read %q: unexpected error %v", f.Name, err)
			}
		}
		if total > budget {
			t.Fatalf("read %d bytes, budget %d", total, budget)
		}
	})
}
