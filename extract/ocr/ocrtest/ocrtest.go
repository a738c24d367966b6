// Package ocrtest holds test helpers for OCR: a gate for the external tools
// the tests need (tesseract, pdftoppm), page rendering, and a writer of
// uncompressed multi-page TIFF files, which no standard-library encoder
// produces.
//
// Tests that need a tool call [RequireTools] first. It skips the test with a
// message naming the missing tool and the Debian package that holds it, or
// fails it where QUARRY_REQUIRE_TOOLS=1 (CI sets it) says the tools must be
// there, so a CI image that lost a package cannot turn the OCR tests into
// silent skips.
package ocrtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// packages names the Debian package of each tool the tests use.
var packages = map[string]string{
	"tesseract": "tesseract-ocr",
	"pdftoppm":  "poppler-utils",
	"pdfinfo":   "poppler-utils",
	"sh":        "dash",
	"grep":      "grep",
}

// RequireTools skips tb unless every named tool is on PATH, or fails it
// when the environment variable QUARRY_REQUIRE_TOOLS is 1.
func RequireTools(tb testing.TB, tools ...string) {
	tb.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			msg := tool + " is not installed"
			pkg := packages[tool]
			if pkg == "" {
				pkg = "coreutils"
			}
			msg += " (Debian: apt-get install " + pkg + ")"
			if os.Getenv("QUARRY_REQUIRE_TOOLS") == "1" {
				tb.Fatal(msg + "; QUARRY_REQUIRE_TOOLS=1 says it must be")
			}
			tb.Skip(msg + "; set QUARRY_REQUIRE_TOOLS=1 to fail instead")
		}
	}
}

// Render renders page (1-based) of the PDF file at path with pdftoppm at
// dpi, as format "png", "jpeg" or "tiff", and returns the image file. It
// calls RequireTools for pdftoppm.
func Render(tb testing.TB, path string, page, dpi int, format string) []byte {
	tb.Helper()
	RequireTools(tb, "pdftoppm")
	dir := tb.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := strconv.Itoa(page)
	cmd := exec.CommandContext(ctx, "pdftoppm", "-r", strconv.Itoa(dpi), "-f", n, "-l", n, "-singlefile", "-"+format, path, filepath.Join(dir, "page"))
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("pdftoppm: %v: %s", err, out)
	}
	ext := map[string]string{"png": ".png", "jpeg": ".jpg", "tiff": ".tif"}[format]
	b, err := os.ReadFile(filepath.Join(dir, "page"+ext))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TIFF returns an uncompressed little-endian TIFF with one 8-bit grey page
// (IFD) per image, in order.
func TIFF(pages ...image.Image) []byte {
	var body bytes.Buffer
	le := binary.LittleEndian
	body.Write([]byte{'I', 'I', 42, 0, 0, 0, 0, 0}) // offset of IFD 0 patched below
	prevNext := 4                                   // where the previous "next IFD" offset lives
	for _, img := range pages {
		b := img.Bounds()
		w, h := b.Dx(), b.Dy()
		pixOff := body.Len()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				body.WriteByte(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
			}
		}
		if body.Len()%2 == 1 {
			body.WriteByte(0) // IFDs start on a word boundary
		}
		ifdOff := body.Len()
		le.PutUint32(body.Bytes()[prevNext:], uint32(ifdOff))
		type entry struct {
			tag, typ uint16
			val      uint32
		}
		const short, long = 3, 4
		entries := []entry{
			{256, long, uint32(w)},      // ImageWidth
			{257, long, uint32(h)},      // ImageLength
			{258, short, 8},             // BitsPerSample
			{259, short, 1},             // Compression: none
			{262, short, 1},             // Photometric: BlackIsZero
			{273, long, uint32(pixOff)}, // StripOffsets
			{277, short, 1},             // SamplesPerPixel
			{278, long, uint32(h)},      // RowsPerStrip
			{279, long, uint32(w * h)},  // StripByteCounts
		}
		var ifd [2]byte
		le.PutUint16(ifd[:], uint16(len(entries)))
		body.Write(ifd[:])
		for _, e := range entries {
			var rec [12]byte
			le.PutUint16(rec[0:], e.tag)
			le.PutUint16(rec[2:], e.typ)
			le.PutUint32(rec[4:], 1)
			if e.typ == short {
				le.PutUint16(rec[8:], uint16(e.val))
			} else {
				le.PutUint32(rec[8:], e.val)
			}
			body.Write(rec[:])
		}
		prevNext = body.Len()
		body.Write([]byte{0, 0, 0, 0}) // next IFD: none yet
	}
	return body.Bytes()
}

// BMP returns an uncompressed 24-bit BMP of img.
func BMP(img image.Image) []byte {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	stride := (w*3 + 3) &^ 3
	le := binary.LittleEndian
	out := make([]byte, 54+stride*h)
	copy(out, "BM")
	le.PutUint32(out[2:], uint32(len(out)))
	le.PutUint32(out[10:], 54)
	le.PutUint32(out[14:], 40)
	le.PutUint32(out[18:], uint32(w))
	le.PutUint32(out[22:], uint32(h)) // bottom-up rows
	le.PutUint16(out[26:], 1)
	le.PutUint16(out[28:], 24)
	for y := 0; y < h; y++ {
		row := out[54+(h-1-y)*stride:]
		for x := 0; x < w; x++ {
			g := color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y
			row[3*x], row[3*x+1], row[3*x+2] = g, g, g
		}
	}
	return out
}

// WebP returns a lossless WebP (VP8L) of img in black and white (grey
// levels below 128 become black). The bitstream uses no transforms and
// "simple" prefix codes, one bit per channel: the smallest encoder that
// libwebp decodes, written because the standard library has none.
func WebP(img image.Image) []byte {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	var bw bitWriter
	bw.write(0x2F, 8)
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	bw.write(0, 1)         // alpha_is_used
	bw.write(0, 3)         // version
	bw.write(0, 1)         // no transform
	bw.write(0, 1)         // no colour cache
	bw.write(0, 1)         // no meta prefix codes
	twoSymbols := func() { // simple code: symbols 0 and 255, one bit each
		bw.write(1, 1) // simple
		bw.write(1, 1) // two symbols
		bw.write(1, 1) // first symbol has 8 bits
		bw.write(0, 8)
		bw.write(255, 8)
	}
	twoSymbols()     // green
	twoSymbols()     // red
	twoSymbols()     // blue
	bw.write(1, 1)   // alpha: simple
	bw.write(0, 1)   // one symbol
	bw.write(1, 1)   // 8 bits
	bw.write(255, 8) // opaque
	bw.write(1, 1)   // distance: simple
	bw.write(0, 1)   // one symbol
	bw.write(0, 1)   // 1 bit
	bw.write(0, 1)   // symbol 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			v := uint32(0)
			if color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y >= 128 {
				v = 1
			}
			bw.write(v, 1) // green
			bw.write(v, 1) // red
			bw.write(v, 1) // blue
		}
	}
	data := bw.bytes()
	le := binary.LittleEndian
	var out bytes.Buffer
	out.WriteString("RIFF")
	pad := len(data) % 2
	binary.Write(&out, le, uint32(4+8+len(data)+pad))
	out.WriteString("WEBPVP8L")
	binary.Write(&out, le, uint32(len(data)))
	out.Write(data)
	if pad == 1 {
		out.WriteByte(0)
	}
	return out.Bytes()
}

// bitWriter packs bits least significant first, as VP8L reads them.
type bitWriter struct {
	buf   []byte
	acc   uint64
	nbits uint
}

func (w *bitWriter) write(v uint32, n uint) {
	w.acc |= uint64(v) << w.nbits
	w.nbits += n
	for w.nbits >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.nbits -= 8
	}
}

func (w *bitWriter) bytes() []byte {
	if w.nbits > 0 {
		return append(w.buf, byte(w.acc))
	}
	return w.buf
}

// CheckClean fails tb unless, within two seconds, no process runs with its
// working directory under dir (the OCR engine runs its tools in their
// page's temp directory, and their children inherit it) and dir holds no
// entry. Give the engine a TempDir of the test's own to use it.
func CheckClean(tb testing.TB, dir string) {
	tb.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		procs := ProcessesIn(dir)
		entries, err := os.ReadDir(dir)
		if err != nil {
			tb.Fatal(err)
		}
		if len(procs) == 0 && len(entries) == 0 {
			return
		}
		if time.Now().After(deadline) {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			tb.Fatalf("left behind in %s: processes %v, entries %v", dir, procs, names)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ProcessesIn lists the live processes (as "pid cmdline") whose working
// directory is dir or under it, read from /proc.
func ProcessesIn(dir string) []string {
	dir = filepath.Clean(dir)
	pids, _ := filepath.Glob("/proc/[0-9]*")
	var out []string
	for _, p := range pids {
		cwd, err := os.Readlink(filepath.Join(p, "cwd"))
		if err != nil || (cwd != dir && !strings.HasPrefix(cwd, dir+"/")) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(p, "cmdline"))
		out = append(out, filepath.Base(p)+" "+strings.ReplaceAll(string(bytes.TrimRight(cmdline, "\x00")), "\x00", " "))
	}
	return out
}

// ChildCPU returns the CPU time (user and system) of the child processes
// of this process that have been waited for. Benchmarks report OCR cost
// as its growth per page, which, unlike wall time, does not depend on
// what else the machine runs.
func ChildCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
