package ocr

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/ocr/ocrtest"
)

// fakeTesseract is a shell script standing in for tesseract: it answers
// --version and --list-langs, and otherwise does what the file "mode"
// beside it says. It lets the process handling be tested without
// tesseract, and with behaviour tesseract cannot be made to show (a hang,
// a child process, an output flood).
const fakeTesseract = `#!/bin/sh
d=$(dirname "$0")
case "$1" in
--version) echo "tesseract 9.9.9-fake"; exit 0;;
--list-langs) echo 'List of available languages in "/fake/" (3):'; echo eng; echo deu; echo osd; exit 0;;
esac
out="$2"
emit() { # the txt and tsv outputs tesseract writes beside outputbase $2
	echo "$1" > "$out.txt"
	printf '5\t1\t1\t1\t1\t1\t0\t0\t9\t9\t95\tword\n' > "$out.tsv"
}
echo "$@" > "$d/args.$$"
env > "$d/env.$$"
ulimit -v > "$d/ulimit.$$"
case "$(cat "$d/mode")" in
echo) n=$(wc -c); emit "read $n bytes";;
hang) sleep 60 & sleep 60; wait;;
flood) yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 6000000;;
floodfile) emit x; yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 6000000 > "$out.txt";;
fail) echo "Error in pixReadMem: $(pwd)/secret cannot read" >&2; exit 1;;
count)
	cat > /dev/null
	touch "$d/running.$$"
	sleep 0.3
	ls "$d" | grep -c '^running\.' >> "$d/seen"
	rm -f "$d/running.$$"
	emit counted;;
esac
`

// fakeNeeds are the programs the fake tesseract runs.
var fakeNeeds = []string{"sh", "dirname", "cat", "env", "wc", "sleep", "yes", "head", "ls", "grep", "rm", "touch"}

// newFake writes the fake tesseract in a fresh directory and returns an
// engine over it, the directory and the engine's TempDir.
func newFake(t *testing.T, mode string, cfg Config) (eng *Tesseract, bin, tmp string) {
	t.Helper()
	ocrtest.RequireTools(t, fakeNeeds...)
	bin = t.TempDir()
	tmp = t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "tesseract"), []byte(fakeTesseract), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "mode"), []byte(mode), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Binary = filepath.Join(bin, "tesseract")
	cfg.TempDir = tmp
	eng, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return eng, bin, tmp
}

// tinyPNG is a small white PNG.
func tinyPNG(t testing.TB) []byte {
	img := image.NewGray(image.Rect(0, 0, 40, 20))
	for i := range img.Pix {
		img.Pix[i] = 0xFF
	}
	img.Set(5, 5, color.Black)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngRequest(data []byte, page int) extract.OCRRequest {
	return extract.OCRRequest{Input: extract.Input{R: bytes.NewReader(data), Size: int64(len(data)), MediaType: "image/png"}, Page: page}
}

// readAll returns the contents of the files of dir whose names start with
// prefix.
func readAll(t *testing.T, dir, prefix string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, prefix+"*"))
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func TestFakeVersionLanguagesAndArguments(t *testing.T) {
	eng, bin, tmp := newFake(t, "echo", Config{Languages: []string{"eng"}})
	if got := eng.Name(); got != "tesseract 9.9.9-fake" {
		t.Errorf("Name() = %q", got)
	}
	if got := strings.Join(eng.Languages(), ","); got != "deu,eng,osd" {
		t.Errorf("Languages() = %q", got)
	}
	if eng.psm != 1 {
		t.Errorf("psm = %d, want 1 with the osd model installed", eng.psm)
	}
	data := tinyPNG(t)
	req := pngRequest(data, 1)
	req.Language = "de-AT"
	text, err := eng.Recognize(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if want := "read " + strconv.Itoa(len(data)) + " bytes"; text != want {
		t.Errorf("text = %q, want %q (the image on stdin)", text, want)
	}
	args := readAll(t, bin, "args.")
	if len(args) != 1 || !strings.HasPrefix(args[0], "stdin "+tmp) || !strings.HasSuffix(strings.TrimSpace(args[0]), " -l deu+eng --psm 1 txt tsv") {
		t.Errorf("args = %q; want the image on stdin, the hinted language first", args)
	}
	if lim := readAll(t, bin, "ulimit."); len(lim) != 1 || strings.TrimSpace(lim[0]) != strconv.Itoa(DefaultMaxMemory>>10) {
		t.Errorf("ulimit -v = %q, want the 2 GiB default (in KiB)", lim)
	}
	env := readAll(t, bin, "env.")
	if len(env) != 1 || !strings.Contains(env[0], "OMP_THREAD_LIMIT=1\n") || !strings.Contains(env[0], "TMPDIR="+tmp+"/quarry-ocr-") {
		t.Errorf("env = %q; want OMP_THREAD_LIMIT=1 and TMPDIR in the page's temp dir", env)
	}
	ocrtest.CheckClean(t, tmp)
}

func TestFakeMultiPageTIFFReadsOnePage(t *testing.T) {
	eng, bin, tmp := newFake(t, "echo", Config{})
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	tif := ocrtest.TIFF(img, img, img)
	req := extract.OCRRequest{Input: extract.Input{R: bytes.NewReader(tif), Size: int64(len(tif)), MediaType: "image/tiff"}, Page: 3}
	if _, err := eng.Recognize(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if args := readAll(t, bin, "args."); len(args) != 1 || !strings.Contains(args[0], "-c tessedit_page_number=2") {
		t.Errorf("args = %q; want page 3 alone (tessedit_page_number=2)", args)
	}
	req.Page = 4
	if _, err := eng.Recognize(context.Background(), req); !errors.Is(err, extract.ErrMalformed) {
		t.Errorf("page 4 of 3: err = %v, want ErrMalformed", err)
	}
	ocrtest.CheckClean(t, tmp)
}

func TestFakeCancelKillsTheProcessGroup(t *testing.T) {
	eng, _, tmp := newFake(t, "hang", Config{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once the script and its background child run.
		for range 200 {
			if len(ocrtest.ProcessesIn(tmp)) >= 2 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	_, err := eng.Recognize(ctx, pngRequest(tinyPNG(t), 1))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Recognize returned %s after the cancellation", d)
	}
	ocrtest.CheckClean(t, tmp) // the background sleep died with the group
}

func TestFakePageTimeout(t *testing.T) {
	eng, _, tmp := newFake(t, "hang", Config{Timeout: 300 * time.Millisecond})
	start := time.Now()
	_, err := eng.Recognize(context.Background(), pngRequest(tinyPNG(t), 1))
	if !errors.Is(err, extract.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
	ocrtest.CheckClean(t, tmp)
}

func TestFakeOutputIsCapped(t *testing.T) {
	for _, mode := range []string{"flood", "floodfile"} {
		eng, _, tmp := newFake(t, mode, Config{})
		_, err := eng.Recognize(context.Background(), pngRequest(tinyPNG(t), 1))
		if !errors.Is(err, errOutputTooLarge) {
			t.Errorf("%s: err = %v, want errOutputTooLarge", mode, err)
		}
		ocrtest.CheckClean(t, tmp)
	}
}

func TestFakeFailureMessageHasNoTempPath(t *testing.T) {
	eng, _, tmp := newFake(t, "fail", Config{})
	_, err := eng.Recognize(context.Background(), pngRequest(tinyPNG(t), 1))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "tesseract failed (exit status 1)") || !strings.Contains(msg, "cannot read") || strings.Contains(msg, tmp) {
		t.Errorf("err = %q; want the tool, its status and its diagnostic without the temp path", msg)
	}
	ocrtest.CheckClean(t, tmp)
}

func TestFakeConcurrencyIsBounded(t *testing.T) {
	eng, bin, tmp := newFake(t, "count", Config{Concurrency: 2})
	data := tinyPNG(t)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if _, err := eng.Recognize(context.Background(), pngRequest(data, 1)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	seen, _ := os.ReadFile(filepath.Join(bin, "seen"))
	peak := 0
	for f := range strings.FieldsSeq(string(seen)) {
		n, _ := strconv.Atoi(f)
		peak = max(peak, n)
	}
	if peak < 1 || peak > 2 {
		t.Errorf("peak concurrent processes = %d (seen %q), want at most Concurrency 2", peak, seen)
	}
	ocrtest.CheckClean(t, tmp)
}

func TestFakeRefusals(t *testing.T) {
	eng, bin, tmp := newFake(t, "echo", Config{MaxPixels: 1000})
	big := ocrtest.BMP(image.NewGray(image.Rect(0, 0, 50, 50)))
	cases := []struct {
		name string
		req  extract.OCRRequest
		want error
	}{
		{"over MaxPixels", extract.OCRRequest{Input: extract.Input{R: bytes.NewReader(big), Size: int64(len(big)), MediaType: "image/bmp"}, Page: 1}, extract.ErrTooLarge},
		{"page 0", pngRequest(tinyPNG(t), 0), extract.ErrMalformed},
		{"page 2 of a PNG", pngRequest(tinyPNG(t), 2), extract.ErrMalformed},
		{"a list of file names", pngRequest([]byte("/etc/passwd\n/tmp/secret.png\n"), 1), extract.ErrUnsupportedFormat},
		{"not an image type", extract.OCRRequest{Input: extract.Input{R: strings.NewReader("x"), Size: 1, MediaType: "text/plain"}, Page: 1}, extract.ErrUnsupportedFormat},
		{"empty input", extract.OCRRequest{Input: extract.Input{R: strings.NewReader(""), Size: 0, MediaType: "image/png"}, Page: 1}, extract.ErrMalformed},
		{"encrypted PDF", extract.OCRRequest{Input: extract.Input{R: strings.NewReader("%PDF-1.4"), Size: 8, MediaType: "application/pdf", Password: "pw"}, Page: 1}, extract.ErrEncrypted},
	}
	for _, c := range cases {
		if _, err := eng.Recognize(context.Background(), c.req); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if args := readAll(t, bin, "args."); len(args) != 0 {
		t.Errorf("tesseract ran %d times on refused input", len(args))
	}
	ocrtest.CheckClean(t, tmp)
}

func TestNewErrors(t *testing.T) {
	ocrtest.RequireTools(t, fakeNeeds...)
	_, err := New(Config{Binary: filepath.Join(t.TempDir(), "no-such-tesseract")})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("missing binary: err = %v, want ErrUnavailable", err)
	}
	bin := t.TempDir()
	os.WriteFile(filepath.Join(bin, "tesseract"), []byte(fakeTesseract), 0o755)
	fake := filepath.Join(bin, "tesseract")
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Binary: fake, DPI: 10}, "Config.DPI"},
		{Config{Binary: fake, Concurrency: -1}, "Config.Concurrency"},
		{Config{Binary: fake, Timeout: -time.Second}, "Config.Timeout"},
		{Config{Binary: fake, PageSegMode: 2}, "Config.PageSegMode"},
		{Config{Binary: fake, MaxMemory: 1 << 20}, "Config.MaxMemory"},
		{Config{Binary: fake, Languages: []string{"-l"}}, "Config.Languages"},
		{Config{Binary: fake, Languages: []string{"../eng"}}, "Config.Languages"},
		{Config{Binary: fake, Languages: []string{"fra"}}, "tesseract-ocr-fra"},
		{Config{Binary: fake, TempDir: filepath.Join(bin, "missing")}, "Config.TempDir"},
	} {
		_, err := New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || errors.Is(err, ErrUnavailable) {
			t.Errorf("%+v: err = %v, want one naming %s (and not ErrUnavailable)", c.cfg, err, c.want)
		}
	}
	// Without poppler, PDFs are not read.
	eng, err := New(Config{Binary: fake, PDFRenderer: filepath.Join(bin, "no-pdftoppm")})
	if err != nil {
		t.Fatal(err)
	}
	for _, mt := range eng.MediaTypes() {
		if mt == "application/pdf" {
			t.Error("MediaTypes lists application/pdf without pdftoppm")
		}
	}
}

func TestRotateAndOrientation(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(img.Pix, []byte{1, 2, 3, 4, 5, 6})
	for _, c := range []struct {
		deg  int
		want []byte
		w    int
	}{
		{0, []byte{1, 2, 3, 4, 5, 6}, 3},
		{90, []byte{4, 1, 5, 2, 6, 3}, 2},
		{180, []byte{6, 5, 4, 3, 2, 1}, 3},
		{270, []byte{3, 6, 2, 5, 1, 4}, 2},
	} {
		got := rotate(img, c.deg)
		if !bytes.Equal(got.Pix, c.want) || got.Rect.Dx() != c.w {
			t.Errorf("rotate %d: %v (width %d), want %v (width %d)", c.deg, got.Pix, got.Rect.Dx(), c.want, c.w)
		}
		if rgba := rotate(image.NewRGBA(img.Rect), c.deg); rgba.Rect.Dx() != c.w {
			t.Errorf("rotate RGBA %d: width %d", c.deg, rgba.Rect.Dx())
		}
	}
	out := "Page number: 0\nOrientation in degrees: 180\nRotate: 180\nOrientation confidence: 2.37\n"
	if deg, err := parseOrientation(out); deg != 180 || err != nil {
		t.Errorf("parseOrientation = %d, %v", deg, err)
	}
	if _, err := parseOrientation("Too few characters. Skipping this page"); err == nil {
		t.Error("parseOrientation accepted output without Rotate")
	}
	tsv := "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n" +
		"1\t1\t0\t0\t0\t0\t0\t0\t10\t10\t-1\t\n" +
		"5\t1\t1\t1\t1\t1\t0\t0\t5\t5\t90\tabcd\n" +
		"5\t1\t1\t1\t1\t2\t0\t0\t5\t5\t30\tab\n"
	if conf, words := confidence(tsv); words != 2 || conf < 69.9 || conf > 70.1 {
		t.Errorf("confidence = %.2f over %d words, want 70 over 2", conf, words)
	}
}
