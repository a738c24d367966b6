// Package ziptest builds ZIP packages for the tests of the ZIP-based
// formats (PPTX, XLSX, EPUB...): ordered entries, and decompression bombs
// whose headers lie. It is imported only from tests.
package ziptest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"io"
	"slices"
	"testing"
)

// Files is a package under construction: entry name to content.
type Files map[string]string

// Build zips files. The entries named in first come first, in that order
// ("[Content_Types].xml" as Office writes it; "mimetype", which is also
// stored uncompressed, as EPUB requires); the others follow sorted by
// name, so that the bytes are the same on every run. Empty entries are
// stored, others deflated.
func Build(tb testing.TB, files Files, first ...string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	write(tb, zw, files, first)
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// Bomb is Build with entry replaced by a raw DEFLATE stream of mib MiB of
// 'A', written last under a header that declares declared bytes
// uncompressed (the truth, or a lie).
func Bomb(tb testing.TB, files Files, entry string, mib int, declared uint64, first ...string) []byte {
	tb.Helper()
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestSpeed)
	chunk := bytes.Repeat([]byte("A"), 1<<20)
	for range mib {
		_, _ = fw.Write(chunk)
	}
	_ = fw.Close()
	rest := Files{}
	for n, c := range files {
		if n != entry {
			rest[n] = c
		}
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	write(tb, zw, rest, first)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: entry, Method: zip.Deflate,
		CompressedSize64: uint64(comp.Len()), UncompressedSize64: declared})
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = w.Write(comp.Bytes())
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func write(tb testing.TB, zw *zip.Writer, files Files, first []string) {
	tb.Helper()
	var names, rest []string
	for _, n := range first {
		if _, ok := files[n]; ok && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for n := range files {
		if !slices.Contains(first, n) {
			rest = append(rest, n)
		}
	}
	slices.Sort(rest)
	for _, n := range append(names, rest...) {
		data := []byte(files[n])
		var (
			w   io.Writer
			err error
		)
		switch {
		case n == "mimetype":
			w, err = zw.CreateRaw(&zip.FileHeader{Name: n, Method: zip.Store,
				CRC32: crc32.ChecksumIEEE(data), CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data))})
		case len(data) == 0:
			// Stored: a deflater per entry makes entry floods slow.
			w, err = zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Store})
		default:
			w, err = zw.Create(n)
		}
		if err != nil {
			tb.Fatal(err)
		}
		_, _ = w.Write(data)
	}
}
