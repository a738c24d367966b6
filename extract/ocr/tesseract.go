package ocr

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	stdimage "image"
	"image/color"
	_ "image/gif" // decoded to turn a page upright
	_ "image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/image"
)

// ErrUnavailable reports that an OCR engine cannot run here: its program
// is not installed or does not answer. Callers that treat OCR as optional
// ("auto") test for it with errors.Is and go on without OCR.
var ErrUnavailable = errors.New("ocr: engine unavailable")

// Defaults of [Config].
const (
	DefaultBinary      = "tesseract"
	DefaultLanguage    = "eng"
	DefaultDPI         = 300
	DefaultTimeout     = 2 * time.Minute
	DefaultPDFRenderer = "pdftoppm"
	DefaultPDFInfo     = "pdfinfo"
	DefaultMaxPixels   = 100_000_000
	DefaultMaxMemory   = 2 << 30
)

// Config configures a [Tesseract] engine. The zero value is usable: every
// zero field takes its default.
type Config struct {
	// Binary is the tesseract program: a name looked up on PATH or a
	// path (default "tesseract").
	Binary string
	// Languages are the tesseract models to read with, such as "eng" or
	// "deu" (default ["eng"]); several are combined ("deu+eng"). Each
	// must be installed (Debian: tesseract-ocr-LANG).
	Languages []string
	// DPI is the resolution PDF pages are rendered at (default 300;
	// 70 to 1200). Pages too large for MaxPixels at DPI are rendered at
	// a lower resolution.
	DPI int
	// Concurrency bounds the pages recognised at once by this engine,
	// across all documents (default GOMAXPROCS). Each page runs one
	// single-threaded tesseract process.
	Concurrency int
	// Timeout bounds the work on one page: rendering and recognition
	// (default 2 minutes).
	Timeout time.Duration
	// PDFRenderer is the pdftoppm program of poppler-utils (default
	// "pdftoppm"); PDFInfo its pdfinfo (default "pdfinfo"). Without
	// them the engine reads images only.
	PDFRenderer string
	PDFInfo     string
	// TempDir is where each page gets its private temp directory,
	// removed when the page is done (default os.TempDir()).
	TempDir string
	// MaxPixels bounds the pixels of an image handed to tesseract
	// (default 100 million: a 300 DPI page is about 9 million). An image
	// declaring more is not read (its page warning says why); a PDF page
	// is rendered at a resolution that stays under it.
	MaxPixels int64
	// MaxMemory bounds the address space of each tool process, in bytes
	// (default 2 GiB; -1: no limit). It is set with prlimit (util-linux);
	// without prlimit on PATH the tools run without a limit, and New
	// logs so. A tool over the limit fails, and the page's warning says so.
	MaxMemory int64
	// PageSegMode is tesseract's --psm (default: 1, automatic
	// segmentation with orientation and script detection, when the osd
	// model is installed - it reads rotated scans; 3 otherwise).
	PageSegMode int
	// Logger receives tool failures. Default: discard.
	Logger *slog.Logger
}

// Tesseract reads page images with the tesseract command-line program
// (Debian: tesseract-ocr). It implements [extract.OCR] and
// [extract.OCRConcurrency], and is safe for concurrent use.
//
// Images (PNG, JPEG, TIFF, GIF, BMP, WebP) go to tesseract through its
// standard input after [image.Probe] checked their format and pixel count;
// page N of a multi-page TIFF is read alone (tessedit_page_number). A PDF
// page is measured with pdfinfo and rendered with pdftoppm (poppler-utils),
// the PDF again on standard input, into an uncompressed TIFF in a private temp directory
// that is removed afterwards. Each tool runs in its own process group,
// killed when the page's context ends, with one OpenMP thread, capped
// output and a minimal environment.
type Tesseract struct {
	runner
	cfg       Config
	bin       string // resolved paths
	renderer  string
	info      string
	version   string
	installed map[string]bool
	psm       int
	types     []string
	sem       chan struct{}
}

// imageTypes are the image media types tesseract (leptonica) reads.
var imageTypes = []string{"image/png", "image/jpeg", "image/tiff", "image/gif", "image/bmp", "image/webp"}

// probeTimeout bounds the version and language queries of New.
const probeTimeout = 15 * time.Second

// New checks that tesseract runs and has the configured languages, and
// returns the engine. The error wraps [ErrUnavailable] when tesseract is
// not installed or does not run; a missing language model or an invalid
// setting is a plain error naming the field.
func New(cfg Config) (*Tesseract, error) {
	cfg.Binary = cmp.Or(cfg.Binary, DefaultBinary)
	if len(cfg.Languages) == 0 {
		cfg.Languages = []string{DefaultLanguage}
	}
	cfg.DPI = cmp.Or(cfg.DPI, DefaultDPI)
	cfg.Concurrency = cmp.Or(cfg.Concurrency, runtime.GOMAXPROCS(0))
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.PDFRenderer = cmp.Or(cfg.PDFRenderer, DefaultPDFRenderer)
	cfg.PDFInfo = cmp.Or(cfg.PDFInfo, DefaultPDFInfo)
	cfg.TempDir = cmp.Or(cfg.TempDir, os.TempDir())
	cfg.MaxPixels = cmp.Or(cfg.MaxPixels, DefaultMaxPixels)
	cfg.MaxMemory = cmp.Or(cfg.MaxMemory, DefaultMaxMemory)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.DPI < 70 || cfg.DPI > 1200:
		return nil, fmt.Errorf("ocr: Config.DPI must be between 70 and 1200, got %d", cfg.DPI)
	case cfg.Concurrency < 0:
		return nil, errors.New("ocr: Config.Concurrency must not be negative")
	case cfg.Timeout < 0:
		return nil, errors.New("ocr: Config.Timeout must not be negative")
	case cfg.MaxPixels < 0:
		return nil, errors.New("ocr: Config.MaxPixels must not be negative")
	case cfg.MaxMemory < -1 || cfg.MaxMemory >= 0 && cfg.MaxMemory < 64<<20:
		return nil, errors.New("ocr: Config.MaxMemory must be -1 (no limit) or at least 64 MiB")
	case cfg.PageSegMode < 0 || cfg.PageSegMode > 13 || cfg.PageSegMode == 2:
		return nil, fmt.Errorf("ocr: Config.PageSegMode must be a tesseract --psm from 0 to 13 but 2, got %d", cfg.PageSegMode)
	}
	for _, l := range cfg.Languages {
		if !validLanguage(l) {
			return nil, fmt.Errorf("ocr: Config.Languages: %q is not a tesseract language name such as eng or chi_sim", l)
		}
	}
	if st, err := os.Stat(cfg.TempDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("ocr: Config.TempDir %q is not a directory", cfg.TempDir)
	}

	t := &Tesseract{cfg: cfg, installed: map[string]bool{}}
	var err error
	if t.bin, err = exec.LookPath(cfg.Binary); err != nil {
		return nil, fmt.Errorf("%w: tesseract is not installed (%v); Debian: apt-get install tesseract-ocr", ErrUnavailable, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	res, err := runner{}.run(ctx, cfg.TempDir, nil, t.bin, "--version")
	if err != nil {
		return nil, fmt.Errorf("%w: %s --version: %v", ErrUnavailable, cfg.Binary, err)
	}
	// "tesseract 5.3.0" (older versions print it on stderr).
	first, _, _ := strings.Cut(strings.TrimSpace(string(res.stdout)+"\n"+res.stderr), "\n")
	t.version = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(first), "tesseract"))
	res, err = runner{}.run(ctx, cfg.TempDir, nil, t.bin, "--list-langs")
	if err != nil {
		return nil, fmt.Errorf("%w: %s --list-langs: %v", ErrUnavailable, cfg.Binary, err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(res.stdout) + "\n" + res.stderr))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); validLanguage(l) {
			t.installed[l] = true
		}
	}
	for _, l := range cfg.Languages {
		if !t.installed[l] {
			return nil, fmt.Errorf("ocr: Config.Languages: tesseract has no model for %q (installed: %s); Debian: apt-get install tesseract-ocr-%s",
				l, strings.Join(t.Languages(), ", "), strings.ReplaceAll(l, "_", "-"))
		}
	}
	t.psm = cfg.PageSegMode
	if t.psm == 0 {
		t.psm = 3
		if t.installed["osd"] {
			t.psm = 1
		}
	}

	t.types = slices.Clone(imageTypes)
	renderer, rerr := exec.LookPath(cfg.PDFRenderer)
	info, ierr := exec.LookPath(cfg.PDFInfo)
	if rerr == nil && ierr == nil {
		t.renderer, t.info = renderer, info
		t.types = append(t.types, "application/pdf")
	} else {
		cfg.Logger.Info("OCR reads images only: pdftoppm or pdfinfo is missing (Debian: apt-get install poppler-utils)",
			"renderer", cfg.PDFRenderer, "pdfinfo", cfg.PDFInfo)
	}
	if cfg.MaxMemory > 0 {
		if p, err := exec.LookPath("prlimit"); err == nil {
			t.runner = runner{prlimit: p, maxMemory: cfg.MaxMemory}
		} else {
			cfg.Logger.Info("OCR tools run without a memory limit: prlimit is missing (Debian: util-linux)")
		}
	}
	t.sem = make(chan struct{}, cfg.Concurrency)
	return t, nil
}

// Name reports "tesseract" and its version.
func (t *Tesseract) Name() string { return strings.TrimSpace("tesseract " + t.version) }

// MediaTypes reports the image types and, when pdftoppm and pdfinfo are
// installed, application/pdf.
func (t *Tesseract) MediaTypes() []string { return slices.Clone(t.types) }

// Concurrency reports Config.Concurrency.
func (t *Tesseract) Concurrency() int { return t.cfg.Concurrency }

// Languages reports the installed language models, sorted.
func (t *Tesseract) Languages() []string {
	out := make([]string, 0, len(t.installed))
	for l := range t.installed {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// Recognize reads page req.Page of req.Input. See [Tesseract] for how.
func (t *Tesseract) Recognize(ctx context.Context, req extract.OCRRequest) (string, error) {
	if req.Page < 1 {
		return "", fmt.Errorf("ocr: %w: page %d", extract.ErrMalformed, req.Page)
	}
	if req.Input.R == nil || req.Input.Size <= 0 {
		return "", fmt.Errorf("ocr: %w: empty input", extract.ErrMalformed)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, t.cfg.Timeout, errPageTimeout)
	defer cancel()
	select {
	case t.sem <- struct{}{}:
		defer func() { <-t.sem }()
	case <-ctx.Done():
		return "", t.ctxError(ctx)
	}
	mt := extract.BaseType(req.Input.MediaType)
	var text string
	var err error
	switch {
	case mt == "application/pdf" && t.renderer != "":
		text, err = t.recognizePDF(ctx, req)
	case strings.HasPrefix(mt, "image/"):
		text, err = t.recognizeImage(ctx, req)
	default:
		return "", fmt.Errorf("ocr: %w: tesseract does not read %s", extract.ErrUnsupportedFormat, mt)
	}
	if err != nil && ctx.Err() != nil {
		return "", t.ctxError(ctx)
	}
	return text, err
}

// errPageTimeout is the cause of a page's context at Config.Timeout.
var errPageTimeout = errors.New("ocr: page timeout")

// ctxError is the error of a page whose context ended: the page's own
// timeout reads as ErrTimeout, the caller's deadline or cancellation as
// the caller's context error.
func (t *Tesseract) ctxError(ctx context.Context) error {
	if errors.Is(context.Cause(ctx), errPageTimeout) {
		return fmt.Errorf("ocr: %w: the page took longer than %s", extract.ErrTimeout, t.cfg.Timeout)
	}
	return ctx.Err()
}

// recognizeImage reads an image, which goes to tesseract on stdin.
func (t *Tesseract) recognizeImage(ctx context.Context, req extract.OCRRequest) (string, error) {
	in := req.Input
	info, err := image.Probe(ctx, in.R, in.Size, req.Page)
	if err != nil {
		return "", err
	}
	if req.Page > len(info.Frames) {
		return "", fmt.Errorf("ocr: %w: the image has no page %d", extract.ErrMalformed, req.Page)
	}
	f := info.Frames[req.Page-1]
	if f.Pixels() > t.cfg.MaxPixels {
		return "", fmt.Errorf("ocr: %w: the image is %d×%d pixels, over the OCR limit of %d pixels",
			extract.ErrTooLarge, f.Width, f.Height, t.cfg.MaxPixels)
	}
	dir, err := os.MkdirTemp(t.cfg.TempDir, "quarry-ocr-")
	if err != nil {
		return "", fmt.Errorf("ocr: temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	pg := pageImage{
		stdin:    func() io.Reader { return extract.ContextReader(ctx, in.Reader()) },
		tiffPage: -1,
	}
	if info.Format == image.FormatTIFF {
		pg.tiffPage = req.Page - 1
	}
	if decodable(info.Format) && f.Pixels() <= maxRotatePixels {
		pg.decode = func() (stdimage.Image, error) {
			img, _, err := stdimage.Decode(extract.ContextReader(ctx, in.Reader()))
			return img, err
		}
	}
	return t.readPage(ctx, dir, pg, req.Language)
}

// recognizePDF renders one PDF page and reads it.
func (t *Tesseract) recognizePDF(ctx context.Context, req extract.OCRRequest) (string, error) {
	in := req.Input
	if in.Password != "" {
		// poppler takes passwords only as arguments, which other users
		// of the machine can read in the process list.
		return "", fmt.Errorf("ocr: %w: OCR of password-protected PDFs is not supported", extract.ErrEncrypted)
	}
	dir, err := os.MkdirTemp(t.cfg.TempDir, "quarry-ocr-")
	if err != nil {
		return "", fmt.Errorf("ocr: temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	page := strconv.Itoa(req.Page)

	// The page's size decides the resolution: a page of 200 × 200
	// inches must not become a 3.6 gigapixel bitmap.
	res, err := t.run(ctx, dir, extract.ContextReader(ctx, in.Reader()), t.info, "-f", page, "-l", page, "-box", "-")
	if err != nil {
		t.logFailure("pdfinfo", req, err, res.stderr)
		switch {
		case ctx.Err() != nil:
			return "", err
		case strings.Contains(res.stderr, "Wrong page range"):
			return "", fmt.Errorf("ocr: %w: the PDF has no page %d", extract.ErrMalformed, req.Page)
		}
		return "", toolError("pdfinfo", err, res.stderr, dir)
	}
	w, h, rot, err := pageBox(string(res.stdout), req.Page)
	if err != nil {
		return "", err
	}
	dpi := t.cfg.DPI
	if px := w / 72 * h / 72 * float64(dpi*dpi); px > float64(t.cfg.MaxPixels) {
		dpi = int(float64(dpi) * math.Sqrt(float64(t.cfg.MaxPixels)/px))
		if dpi < 30 {
			return "", fmt.Errorf("ocr: %w: page %d is %.0f×%.0f points, too large to render for OCR", extract.ErrTooLarge, req.Page, w, h)
		}
	}
	// Crop to the expected bitmap as a second guard, in case pdfinfo and
	// pdftoppm disagree about the page.
	pw, ph := int(math.Ceil(w/72*float64(dpi)))+2, int(math.Ceil(h/72*float64(dpi)))+2
	if rot%180 != 0 {
		pw, ph = ph, pw
	}
	// An uncompressed grey TIFF: tesseract reads it as fast as a PNG, and
	// pdftoppm spends half its time compressing a PNG.
	render := func(format, base string) (string, error) {
		res, err := t.run(ctx, dir, extract.ContextReader(ctx, in.Reader()), t.renderer,
			"-q", "-r", strconv.Itoa(dpi), "-f", page, "-l", page, "-singlefile", "-"+format, "-gray", "-cropbox",
			"-x", "0", "-y", "0", "-W", strconv.Itoa(pw), "-H", strconv.Itoa(ph), "-", base)
		if err != nil {
			t.logFailure("pdftoppm", req, err, res.stderr)
			if ctx.Err() != nil {
				return "", err
			}
			return "", toolError("pdftoppm", err, res.stderr, dir)
		}
		return base + map[string]string{"tiff": ".tif", "png": ".png"}[format], nil
	}
	path, err := render("tiff", filepath.Join(dir, "page"))
	if err != nil {
		return "", err
	}
	pg := pageImage{path: path, tiffPage: -1, dpi: dpi}
	if float64(pw)*float64(ph) <= maxRotatePixels {
		// Go decodes no TIFF: a page to turn is rendered again as PNG.
		pg.decode = func() (stdimage.Image, error) {
			path, err := render("png", filepath.Join(dir, "upright"))
			if err != nil {
				return nil, err
			}
			f, err := os.Open(path)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			return png.Decode(bufio.NewReader(f))
		}
	}
	return t.readPage(ctx, dir, pg, req.Language)
}

// pageImage is one page image to read: a file of the page's temp dir, or
// the input itself on tesseract's stdin.
type pageImage struct {
	path     string           // the image file, or "" for stdin
	stdin    func() io.Reader // a fresh stream of the image, when path is ""
	tiffPage int              // the 0-based frame of a multi-page TIFF, or -1
	dpi      int              // the resolution, 0 when the image does not say
	// decode decodes the image for turning it upright; nil when Go
	// cannot decode the format or the image is too large for it.
	decode func() (stdimage.Image, error)
}

// Orientation retry. Tesseract's segmentation mode 1 turns pages by 90 or
// 270 degrees upright, but not pages upside down; those come out as
// garbage of low confidence. A page read with a mean word confidence under
// lowConfidence therefore gets an orientation check (--psm 0), and when
// that finds the page turned, it is turned upright in Go and read again;
// the reading of higher confidence wins.
const (
	lowConfidence = 60
	// maxRotatePixels bounds the images turned in memory (a 300 DPI A4
	// page is 8.7 million pixels, an A3 page 17.4 million).
	maxRotatePixels = 25_000_000
)

// decodable reports the formats the standard library decodes.
func decodable(format string) bool {
	return format == image.FormatPNG || format == image.FormatJPEG || format == image.FormatGIF
}

// readPage reads pg, turning it upright when it reads poorly and the
// orientation check finds it turned.
func (t *Tesseract) readPage(ctx context.Context, dir string, pg pageImage, hint string) (string, error) {
	first, err := t.read(ctx, dir, pg, hint)
	if err != nil || first.words == 0 || first.conf >= lowConfidence || pg.decode == nil || !t.installed["osd"] {
		return first.text, err
	}
	deg, err := t.orientation(ctx, dir, pg)
	if err != nil || deg == 0 {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return first.text, nil
	}
	img, err := pg.decode()
	if err != nil {
		t.cfg.Logger.Warn("OCR could not decode a page to turn it", "error", err.Error())
		return first.text, nil
	}
	turned := filepath.Join(dir, "turned.png")
	if err := writeGrayPNG(turned, rotate(img, deg)); err != nil {
		return "", fmt.Errorf("ocr: turn page: %w", err)
	}
	second, err := t.read(ctx, dir, pageImage{path: turned, tiffPage: -1, dpi: pg.dpi}, hint)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return first.text, nil
	}
	if second.conf > first.conf {
		return second.text, nil
	}
	return first.text, nil
}

// reading is the outcome of one tesseract run.
type reading struct {
	text  string
	conf  float64 // mean word confidence (0-100), weighted by word length
	words int
}

// read runs tesseract on pg, writing its text and TSV (word confidences)
// into dir.
func (t *Tesseract) read(ctx context.Context, dir string, pg pageImage, hint string) (reading, error) {
	base := filepath.Join(dir, "out")
	args := []string{cmp.Or(pg.path, "stdin"), base, "-l", strings.Join(t.languages(hint), "+"), "--psm", strconv.Itoa(t.psm)}
	if pg.dpi > 0 {
		args = append(args, "--dpi", strconv.Itoa(pg.dpi))
	}
	if pg.tiffPage >= 0 {
		args = append(args, "-c", "tessedit_page_number="+strconv.Itoa(pg.tiffPage))
	}
	args = append(args, "txt", "tsv")
	var stdin io.Reader
	if pg.path == "" {
		stdin = pg.stdin()
	}
	res, err := t.run(ctx, dir, stdin, t.bin, args...)
	if err != nil {
		t.cfg.Logger.Warn("tesseract failed", "error", err.Error(), "stderr", res.stderr)
		if ctx.Err() != nil || errors.Is(err, errOutputTooLarge) {
			return reading{}, err
		}
		return reading{}, toolError("tesseract", err, res.stderr, dir)
	}
	text, err := readCapped(base + ".txt")
	if err != nil {
		return reading{}, err
	}
	tsv, err := readCapped(base + ".tsv")
	if err != nil {
		return reading{}, err
	}
	r := reading{text: strings.TrimSpace(strings.ReplaceAll(text, "\f", ""))}
	r.conf, r.words = confidence(tsv)
	return r, nil
}

// readCapped reads an output file of at most maxStdout bytes.
func readCapped(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("ocr: tesseract wrote no output: %w", errors.Unwrap(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStdout+1))
	if err != nil {
		return "", fmt.Errorf("ocr: read output: %w", err)
	}
	if len(b) > maxStdout {
		return "", errOutputTooLarge
	}
	return string(b), nil
}

// confidence returns the mean confidence of the words of tesseract's TSV
// output, weighted by their length in code points, and the word count.
func confidence(tsv string) (float64, int) {
	var sum, weight float64
	words := 0
	for line := range strings.SplitSeq(tsv, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 12 || f[0] != "5" {
			continue // level 5 rows are words
		}
		conf, err := strconv.ParseFloat(f[10], 64)
		word := strings.TrimSpace(f[11])
		if err != nil || conf < 0 || word == "" {
			continue
		}
		n := float64(len([]rune(word)))
		sum += conf * n
		weight += n
		words++
	}
	if weight == 0 {
		return 0, 0
	}
	return sum / weight, words
}

// orientation runs tesseract's orientation detection (--psm 0) on pg and
// returns the clockwise turn, in degrees, that sets the page upright.
func (t *Tesseract) orientation(ctx context.Context, dir string, pg pageImage) (int, error) {
	args := []string{cmp.Or(pg.path, "stdin"), "stdout", "--psm", "0"}
	if pg.dpi > 0 {
		args = append(args, "--dpi", strconv.Itoa(pg.dpi))
	}
	if pg.tiffPage >= 0 {
		args = append(args, "-c", "tessedit_page_number="+strconv.Itoa(pg.tiffPage))
	}
	var stdin io.Reader
	if pg.path == "" {
		stdin = pg.stdin()
	}
	res, err := t.run(ctx, dir, stdin, t.bin, args...)
	if err != nil {
		return 0, err // "Too few characters", for one
	}
	return parseOrientation(string(res.stdout))
}

// parseOrientation reads "Rotate: 180" from tesseract --psm 0 output.
func parseOrientation(out string) (int, error) {
	for line := range strings.SplitSeq(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Rotate:"); ok {
			deg, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || deg%90 != 0 {
				return 0, fmt.Errorf("ocr: bad orientation %q", v)
			}
			return ((deg % 360) + 360) % 360, nil
		}
	}
	return 0, errors.New("ocr: no orientation in tesseract's output")
}

// rotate returns img turned clockwise by deg (a multiple of 90), in grey.
func rotate(img stdimage.Image, deg int) *stdimage.Gray {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	gray, isGray := img.(*stdimage.Gray)
	at := func(x, y int) uint8 {
		if isGray {
			return gray.Pix[y*gray.Stride+x] // x, y from the bounds' origin
		}
		return color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y
	}
	var out *stdimage.Gray
	if deg%180 == 90 {
		out = stdimage.NewGray(stdimage.Rect(0, 0, h, w))
	} else {
		out = stdimage.NewGray(stdimage.Rect(0, 0, w, h))
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := at(x, y)
			switch deg {
			case 90:
				out.Pix[x*out.Stride+(h-1-y)] = v
			case 180:
				out.Pix[(h-1-y)*out.Stride+(w-1-x)] = v
			case 270:
				out.Pix[(w-1-x)*out.Stride+y] = v
			default:
				out.Pix[y*out.Stride+x] = v
			}
		}
	}
	return out
}

// writeGrayPNG writes img as a PNG, favouring speed over size.
func writeGrayPNG(path string, img *stdimage.Gray) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(bw, img); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (t *Tesseract) logFailure(tool string, req extract.OCRRequest, err error, stderr string) {
	t.cfg.Logger.Warn("OCR tool failed", "tool", tool, "page", req.Page, "error", err.Error(), "stderr", stderr)
}

// languages returns the models to read with: the hinted language first
// when its model is installed, then the configured ones.
func (t *Tesseract) languages(hint string) []string {
	langs := t.cfg.Languages
	if l := tesseractLanguage(hint); l != "" && t.installed[l] && !slices.Contains(langs, l) {
		return append([]string{l}, langs...)
	}
	return langs
}

// pageBoxLine matches pdfinfo -box lines: "Page    1 CropBox:  0.00 0.00 595.20 841.92"
// and "Page    1 rot:   270".
var pageBoxLine = regexp.MustCompile(`^Page\s+(\d+)\s+(CropBox|rot):\s+(.*)$`)

// pageBox reads the crop box size (in points) and rotation of page from
// pdfinfo -box output.
func pageBox(out string, page int) (w, h float64, rot int, err error) {
	found := false
	for line := range strings.SplitSeq(out, "\n") {
		m := pageBoxLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil || m[1] != strconv.Itoa(page) {
			continue
		}
		f := strings.Fields(m[3])
		switch m[2] {
		case "rot":
			if len(f) > 0 {
				rot, _ = strconv.Atoi(f[0])
			}
		case "CropBox":
			if len(f) != 4 {
				continue
			}
			var v [4]float64
			for i := range v {
				if v[i], err = strconv.ParseFloat(f[i], 64); err != nil {
					return 0, 0, 0, fmt.Errorf("ocr: pdfinfo: bad crop box %q", m[3])
				}
			}
			w, h = math.Abs(v[2]-v[0]), math.Abs(v[3]-v[1])
			found = true
		}
	}
	if !found {
		return 0, 0, 0, fmt.Errorf("ocr: %w: the PDF has no page %d", extract.ErrMalformed, page)
	}
	if w < 1 || h < 1 || math.IsInf(w, 0) || math.IsInf(h, 0) || math.IsNaN(w) || math.IsNaN(h) {
		return 0, 0, 0, fmt.Errorf("ocr: %w: page %d has an empty or invalid crop box", extract.ErrMalformed, page)
	}
	return w, h, ((rot % 360) + 360) % 360, nil
}

var _ extract.OCR = (*Tesseract)(nil)
var _ extract.OCRConcurrency = (*Tesseract)(nil)
