package image_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/extracttest"
	"github.com/quarryhq/quarry/extract/image"
)

// seeds are the sample images of testdata: a 16×8 line drawing in each
// format, and a TIFF of three pages (16×8, 8×12, 16×8).
var seeds = map[string]struct {
	mediaType string
	format    string
	frames    int
}{
	"line.png":  {"image/png", image.FormatPNG, 1},
	"line.jpg":  {"image/jpeg", image.FormatJPEG, 1},
	"line.gif":  {"image/gif", image.FormatGIF, 1},
	"line.bmp":  {"image/bmp", image.FormatBMP, 1},
	"line.webp": {"image/webp", image.FormatWebP, 1},
	"three.tif": {"image/tiff", image.FormatTIFF, 3},
}

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConformance(t *testing.T) {
	var cases []extracttest.Case
	for name, s := range seeds {
		cases = append(cases, extracttest.Case{Name: name, Input: read(t, name), MediaType: s.mediaType, Filename: name})
	}
	cases = append(cases,
		extracttest.Case{Name: "not an image", Input: []byte("/etc/passwd\n"), MediaType: "image/png", WantErr: extract.ErrUnsupportedFormat},
		extracttest.Case{Name: "empty", Input: []byte{}, WantErr: extract.ErrMalformed},
	)
	extracttest.Run(t, image.New(), cases...)
}

func TestParse(t *testing.T) {
	for name, s := range seeds {
		data := read(t, name)
		doc, err := image.New().Parse(context.Background(), extract.Input{R: bytes.NewReader(data), Size: int64(len(data)), MediaType: s.mediaType})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(doc.Pages) != s.frames || doc.Metadata.PageCount != s.frames {
			t.Errorf("%s: %d pages, page count %d; want %d", name, len(doc.Pages), doc.Metadata.PageCount, s.frames)
		}
		if len(doc.Warnings) != s.frames {
			t.Errorf("%s: warnings %v, want one no_text_layer per page", name, doc.Warnings)
		}
		for i, pg := range doc.Pages {
			w := doc.Warnings[i]
			if pg.Number != i+1 || pg.Text != "" || w.Code != extract.WarnNoTextLayer || w.Page != i+1 {
				t.Errorf("%s: page %+v, warning %+v", name, pg, w)
			}
		}
		info, err := image.Probe(context.Background(), bytes.NewReader(data), int64(len(data)), 0)
		if err != nil || info.Format != s.format || info.MediaType != s.mediaType {
			t.Errorf("%s: Probe = %+v, %v", name, info, err)
		}
		if f := info.Frames[0]; f.Width != 16 || f.Height != 8 {
			t.Errorf("%s: first frame %d×%d, want 16×8", name, f.Width, f.Height)
		}
	}
}

// TestSniffedTypes checks that the Registry's sniffer names each sample
// with a media type the parser reads.
func TestSniffedTypes(t *testing.T) {
	reg := extract.NewRegistry()
	reg.MustRegister("image", image.New())
	for name, s := range seeds {
		got := extract.BaseType(reg.Sniff(read(t, name), ""))
		if got != s.mediaType {
			t.Errorf("%s sniffed as %q, want %q", name, got, s.mediaType)
		}
		if parser, _, err := reg.Lookup(got); err != nil || parser != "image" {
			t.Errorf("%s: Lookup(%q) = %q, %v", name, got, parser, err)
		}
	}
}

// tiff builds a little-endian classic TIFF whose IFDs are given as their
// (width, height) and whose "next IFD" offsets come from next: next(i, offs)
// returns the offset IFD i points at, given the offsets of all IFDs.
func tiff(dims [][2]uint32, next func(i int, offs []uint32) uint32) []byte {
	le := binary.LittleEndian
	const ifdSize = 2 + 2*12 + 4
	offs := make([]uint32, len(dims))
	for i := range dims {
		offs[i] = uint32(8 + i*ifdSize)
	}
	out := make([]byte, 8+len(dims)*ifdSize)
	copy(out, "II*\x00")
	if len(dims) > 0 {
		le.PutUint32(out[4:], offs[0])
	}
	for i, d := range dims {
		p := out[offs[i]:]
		le.PutUint16(p, 2)
		for j, tag := range []uint16{256, 257} {
			e := p[2+12*j:]
			le.PutUint16(e[0:], tag)
			le.PutUint16(e[2:], 4) // LONG
			le.PutUint32(e[4:], 1)
			le.PutUint32(e[8:], d[j])
		}
		le.PutUint32(p[2+24:], next(i, offs))
	}
	return out
}

// chain links each IFD to the following one and the last to none.
func chain(i int, offs []uint32) uint32 {
	if i+1 < len(offs) {
		return offs[i+1]
	}
	return 0
}

func parse(data []byte, limits extract.Limits) (*extract.Document, error) {
	return image.New().Parse(context.Background(), extract.Input{R: bytes.NewReader(data), Size: int64(len(data)), MediaType: "image/tiff", Limits: limits})
}

func TestTIFFWalk(t *testing.T) {
	dims := func(n int) [][2]uint32 {
		d := make([][2]uint32, n)
		for i := range d {
			d[i] = [2]uint32{100, 200}
		}
		return d
	}
	if doc, err := parse(tiff(dims(5), chain), extract.Limits{}); err != nil || len(doc.Pages) != 5 {
		t.Errorf("5 IFDs: %v, %v", doc, err)
	}

	// Over the page limit: the first MaxPages, and a truncated warning.
	doc, err := parse(tiff(dims(10), chain), extract.Limits{MaxPages: 3})
	if err != nil || len(doc.Pages) != 3 || doc.Warnings[len(doc.Warnings)-1].Code != extract.WarnTruncated {
		t.Errorf("10 IFDs, MaxPages 3: %+v, %v", doc, err)
	}

	// A long chain stops at the default limit of 2 000 pages, at once.
	start := time.Now()
	doc, err = parse(tiff(dims(5000), chain), extract.Limits{})
	if err != nil || len(doc.Pages) != extract.DefaultLimits().MaxPages || time.Since(start) > 2*time.Second {
		t.Errorf("5 000 IFDs: %d pages, %v, in %s", len(doc.Pages), err, time.Since(start))
	}

	for name, next := range map[string]func(int, []uint32) uint32{
		"an IFD pointing at itself": func(i int, offs []uint32) uint32 { return offs[i] },
		"the last IFD pointing at the first": func(i int, offs []uint32) uint32 {
			if i == len(offs)-1 {
				return offs[0]
			}
			return offs[i+1]
		},
		"an offset past the end":     func(int, []uint32) uint32 { return 1 << 30 },
		"an offset in the header":    func(int, []uint32) uint32 { return 2 },
		"an offset at the last byte": func(int, []uint32) uint32 { return uint32(8 + 3*30 - 1) },
	} {
		_, err := parse(tiff(dims(3), next), extract.Limits{})
		if !errors.Is(err, extract.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}

	for name, d := range map[string][][2]uint32{
		"zero width":  {{0, 10}},
		"zero height": {{10, 0}},
		"absurd size": {{1 << 31, 10}},
	} {
		if _, err := parse(tiff(d, chain), extract.Limits{}); !errors.Is(err, extract.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestBigTIFFAndBigEndian(t *testing.T) {
	// BigTIFF, little-endian: header, then one IFD of two LONG8 entries.
	le := binary.LittleEndian
	b := make([]byte, 16+8+2*20+8)
	copy(b, "II+\x00")
	le.PutUint16(b[4:], 8)
	le.PutUint64(b[8:], 16)
	le.PutUint64(b[16:], 2)
	for j, tag := range []uint16{256, 257} {
		e := b[24+20*j:]
		le.PutUint16(e[0:], tag)
		le.PutUint16(e[2:], 16) // LONG8
		le.PutUint64(e[4:], 1)
		le.PutUint64(e[12:], uint64(300+j))
	}
	info, err := image.Probe(context.Background(), bytes.NewReader(b), int64(len(b)), 0)
	if err != nil || len(info.Frames) != 1 || info.Frames[0] != (image.Frame{Width: 300, Height: 301}) {
		t.Errorf("BigTIFF: %+v, %v", info, err)
	}
	// A BigTIFF IFD claiming 2^40 entries is refused without allocating.
	le.PutUint64(b[16:], 1<<40)
	if _, err := image.Probe(context.Background(), bytes.NewReader(b), int64(len(b)), 0); !errors.Is(err, extract.ErrMalformed) {
		t.Errorf("2^40 entries: err = %v", err)
	}

	// Classic TIFF, big-endian, SHORT dimensions.
	be := binary.BigEndian
	m := make([]byte, 8+2+2*12+4)
	copy(m, "MM\x00*")
	be.PutUint32(m[4:], 8)
	be.PutUint16(m[8:], 2)
	for j, tag := range []uint16{256, 257} {
		e := m[10+12*j:]
		be.PutUint16(e[0:], tag)
		be.PutUint16(e[2:], 3) // SHORT, left-justified in the value field
		be.PutUint32(e[4:], 1)
		be.PutUint16(e[8:], uint16(40+j))
	}
	info, err = image.Probe(context.Background(), bytes.NewReader(m), int64(len(m)), 0)
	if err != nil || info.Frames[0] != (image.Frame{Width: 40, Height: 41}) {
		t.Errorf("big-endian TIFF: %+v, %v", info, err)
	}
}

// TestDecompressionBomb: a PNG declaring 100 000 × 100 000 pixels (10^10,
// 40 GB decoded) is a page like any other to the parser, which never
// decodes it; the OCR engine refuses it by its pixel limit.
func TestDecompressionBomb(t *testing.T) {
	bomb := read(t, "line.png")
	bomb = append([]byte(nil), bomb...)
	binary.BigEndian.PutUint32(bomb[16:], 100_000)
	binary.BigEndian.PutUint32(bomb[20:], 100_000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	doc, err := image.New().Parse(context.Background(), extract.Input{R: bytes.NewReader(bomb), Size: int64(len(bomb)), MediaType: "image/png"})
	runtime.ReadMemStats(&after)
	if err != nil || len(doc.Pages) != 1 {
		t.Fatalf("bomb: %v, %v", doc, err)
	}
	if !strings.Contains(doc.Warnings[0].Message, "100000×100000") {
		t.Errorf("warning %q does not give the size", doc.Warnings[0].Message)
	}
	if d, alloc := time.Since(start), after.TotalAlloc-before.TotalAlloc; d > time.Second || alloc > 1<<20 {
		t.Errorf("bomb took %s and %d bytes", d, alloc)
	}
	info, err := image.Probe(context.Background(), bytes.NewReader(bomb), int64(len(bomb)), 0)
	if err != nil || info.Frames[0].Pixels() != 10_000_000_000 {
		t.Errorf("Probe: %+v, %v", info, err)
	}
}

func TestTruncatedAndBroken(t *testing.T) {
	for name := range seeds {
		data := read(t, name)
		for n := 0; n < len(data); n++ {
			doc, err := image.New().Parse(context.Background(), extract.Input{R: bytes.NewReader(data[:n]), Size: int64(n), MediaType: "image/png"})
			switch {
			case err == nil && doc == nil:
				t.Fatalf("%s cut to %d bytes: nil document", name, n)
			case err != nil && !errors.Is(err, extract.ErrMalformed) && !errors.Is(err, extract.ErrUnsupportedFormat):
				t.Fatalf("%s cut to %d bytes: err = %v, want ErrMalformed or ErrUnsupportedFormat", name, n, err)
			}
		}
	}
	for name, data := range map[string][]byte{
		"png without IHDR":   []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIDAT\x00\x00\x00\x01\x00\x00\x00\x01\x00"),
		"bmp, odd header":    append([]byte("BM"), make([]byte, 30)...),
		"webp, unknown part": []byte("RIFF\x20\x00\x00\x00WEBPVP9 \x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
		"webp, bad VP8":      []byte("RIFF\x20\x00\x00\x00WEBPVP8 \x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
		"jpeg, no frame":     {0xFF, 0xD8, 0xFF, 0xD9},
	} {
		_, err := image.New().Parse(context.Background(), extract.Input{R: bytes.NewReader(data), Size: int64(len(data))})
		if !errors.Is(err, extract.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := tiff([][2]uint32{{1, 1}, {1, 1}}, chain)
	if _, err := image.Probe(ctx, bytes.NewReader(data), int64(len(data)), 0); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
