package ziptest

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
)

func entries(t *testing.T, b []byte) []*zip.File {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return zr.File
}

func TestBuildOrder(t *testing.T) {
	files := Files{"b.xml": "b", "mimetype": "application/epub+zip", "a.xml": "a", "[Content_Types].xml": "ct"}
	var names []string
	fs := entries(t, Build(t, files, "mimetype", "[Content_Types].xml"))
	for _, f := range fs {
		names = append(names, f.Name)
	}
	if want := []string{"mimetype", "[Content_Types].xml", "a.xml", "b.xml"}; !slices.Equal(names, want) {
		t.Fatalf("order %v, want %v", names, want)
	}
	if fs[0].Method != zip.Store || fs[2].Method != zip.Deflate {
		t.Errorf("methods %d %d, want mimetype stored and others deflated", fs[0].Method, fs[2].Method)
	}
	if !bytes.Equal(Build(t, files), Build(t, files)) {
		t.Error("two builds differ")
	}
}

func TestBomb(t *testing.T) {
	b := Bomb(t, Files{"a.xml": "a", "big.xml": "small"}, "big.xml", 2, 1<<10)
	fs := entries(t, b)
	last := fs[len(fs)-1]
	if len(fs) != 2 || last.Name != "big.xml" || last.UncompressedSize64 != 1<<10 {
		t.Fatalf("entries %d, last %s declaring %d", len(fs), last.Name, last.UncompressedSize64)
	}
	rc, err := last.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	// The header lies (1 KiB declared, 2 MiB inside): archive/zip notices.
	if _, err := io.Copy(io.Discard, rc); !errors.Is(err, zip.ErrFormat) {
		t.Errorf("reading past the declared size: %v, want zip.ErrFormat", err)
	}
}
