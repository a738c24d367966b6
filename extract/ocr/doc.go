// Package ocr holds Quarry's OCR engine over the tesseract command-line
// program: [Tesseract], an [extract.OCR]. Set it as [extract.Config.OCR]
// and the Extractor reads with it the pages that have no text layer
// (scanned PDF pages, images) or a garbled one:
//
//	engine, err := ocr.New(ocr.Config{Languages: []string{"eng", "deu"}})
//	switch {
//	case errors.Is(err, ocr.ErrUnavailable):
//		// tesseract is not installed: go on without OCR
//	case err != nil:
//		return err // a setting is wrong (a language model is missing...)
//	}
//	ex, err := extract.New(reg, extract.Config{OCR: engine})
//
// # What it needs
//
// tesseract 4 or later with the language models configured (Debian:
// tesseract-ocr, tesseract-ocr-eng, and tesseract-ocr-osd for rotated
// scans), and for PDF pages pdftoppm and pdfinfo (Debian: poppler-utils).
// Without poppler the engine reads images only and leaves application/pdf
// out of its MediaTypes, so a scanned PDF's warning says OCR is off for it.
//
// # How a page is read
//
// An image (PNG, JPEG, TIFF, GIF, BMP, WebP) goes to tesseract on its
// standard input, after [image.Probe] checked from the headers that it is
// one of those formats (tesseract would otherwise take the input for a
// list of file names to open) and that the page has no more than
// Config.MaxPixels pixels. Page N of a multi-page TIFF is read alone.
//
// A PDF page is measured with pdfinfo, rendered with pdftoppm at
// Config.DPI (lower for a page too large for MaxPixels) in grey into an
// uncompressed TIFF in a private temp directory, and read from there; the
// PDF goes to both tools on standard input, so no path from a user ever
// reaches a command line. (The whole PDF goes through the pipe for each
// page: cheap next to OCR, which costs 1 to 3 CPU seconds a page.) Password-protected PDFs are not read (poppler takes passwords on
// the command line only, where other users see them).
//
// Rotated scans are read upright. With the osd model installed, tesseract
// runs in page segmentation mode 1, which turns pages lying on their side
// (90 or 270 degrees) before reading them. Pages upside down come out of
// it as garbage of low confidence: a page read with a mean word
// confidence under 60 gets an orientation check (--psm 0), and when that
// finds it turned, it is turned upright in memory and read again, the
// reading of higher confidence winning. Turning needs a format Go decodes
// (PDF pages, PNG, JPEG, GIF) of at most 25 million pixels; TIFF, BMP and
// WebP images upside down are read as they are.
//
// # Processes
//
// Each tool runs in its own process group, which is killed (SIGKILL)
// when the page's context ends - the Extractor's deadline, the caller
// going away, or Config.Timeout for the page. Tesseract runs with one
// OpenMP thread (OMP_THREAD_LIMIT=1): pages run in parallel instead, at
// most Config.Concurrency at once across all documents. The tools get a
// minimal environment, their stdout and stderr are capped (4 MiB and
// 64 KiB: tesseract's text goes to files, read up to 4 MiB), an
// address-space limit of Config.MaxMemory (2 GiB by default, set with
// prlimit from util-linux; tesseract peaks near 1.1 GB on a 97 million
// pixel grey page), and the page's temp directory is removed whatever
// happens.
//
// # Errors
//
// A page that cannot be read returns an error that the Extractor turns
// into the page's warning: [extract.ErrTooLarge] for an image over
// MaxPixels, [extract.ErrEncrypted], [extract.ErrMalformed],
// [extract.ErrTimeout] when the page took longer than Config.Timeout, or
// the tool's failure with its last diagnostic line.
package ocr
