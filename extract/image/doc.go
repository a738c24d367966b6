// Package image is Quarry's parser for images: PNG, JPEG, TIFF, GIF, BMP
// and WebP. An image has no text layer, so the parser returns one empty
// page per image - one per frame (IFD) of a multi-page TIFF, one for the
// other formats, animated GIF, PNG and WebP included - each with a
// no_text_layer warning, and the page count in Metadata.PageCount. With an
// OCR engine on the Extractor ([extract.Config.OCR], such as the tesseract
// engine of package extract/ocr), the Extractor reads the pages' text with
// it and replaces the warning with ocr_applied; without one, the warning
// tells the caller that OCR is off, so an image never comes back as an
// empty success.
//
// The parser never decodes pixels. [Probe] reads the headers only: the
// PNG IHDR chunk, the JPEG markers up to the first start-of-frame, the GIF
// logical screen, the BMP DIB header, the first WebP chunk (VP8X, VP8L or
// VP8) and the chain of TIFF IFDs. A decompression bomb (a small file
// declaring 100 000 × 100 000 pixels) is therefore harmless here; the OCR
// engine compares the declared size with its own pixel limit before it
// hands the file to a decoder.
//
// The TIFF walk is bounded: offsets must lie inside the file, an IFD seen
// twice is a loop ([extract.ErrMalformed]), an IFD holds at most 65 536
// entries, and the walk stops at Limits.MaxPages with a "truncated"
// warning. Classic TIFF and BigTIFF are read, in either byte order.
//
// The format is decided by the magic number, not by the media type the
// parser was called with: a PNG labelled image/jpeg is read as the PNG it
// is. Input that is none of the six formats fails with
// [extract.ErrUnsupportedFormat]; headers cut short, zero or absurd
// dimensions (over 2^30 pixels a side) fail with [extract.ErrMalformed].
//
// Register the parser under the name "image":
//
//	reg.MustRegister("image", image.New())
package image
