// Package pdf extracts text from PDF documents with
// github.com/ledongthuc/pdf, wrapped so that hostile files cannot take the
// process down or run without bound (RELIABILITY.md 0.5, T18-T21).
//
// # What it does
//
//   - Pages are found by walking /Root /Pages /Kids with a set of ancestors,
//     a depth limit (64) and a node budget; /Count is never trusted (T18).
//     A cyclic page tree is ErrMalformed (T19); the library's Page(i) would
//     loop on it forever. Iteration stops at Limits.MaxPages with a
//     "truncated" warning.
//   - Each page is read under its own recover: a failing page gives a
//     page_failed warning (keeping the text read before the failure) and
//     the document goes on. When no page at all can be read, Parse returns
//     the first page's error (ErrMalformed, or ErrTooLarge for a bomb).
//   - Text is positioned with the PDF text model (text and graphics
//     matrices, glyph widths, Tc/Tw/Tz, TJ adjustments) by the parser's own
//     content interpreter and lexer (lexer.go; it skips inline images,
//     which the library's PostScript tokenizer cannot): a space is
//     inserted where the gap between two pieces of text is wider than 0.15
//     of the font size, a newline where the baseline moves by more than
//     half of it. Text keeps content-stream order, except that a line
//     holding right-to-left script is ordered by position and turned into
//     logical order (logicalOrder); Form XObjects are
//     followed (depth 12, no self-recursion). Fonts are cached per
//     document by object, never by name (the library's GetPlainText caches
//     by name across pages and garbles later pages of long documents).
//     ToUnicode CMaps are read by the parser (the library ignores them
//     when a font has an /Encoding dictionary), falling back to the font's
//     encoding for codes the CMap does not map; Identity-H/V CID TrueType
//     fonts without a CMap are read through the embedded font's cmap
//     table, else as UCS-2. Glyphs no decoder knows come out as U+FFFD.
//   - A page without any text gets a no_text_layer warning; the
//     Extractor's OCR (extract.Config.OCR) reads such pages when set.
//   - Metadata: /Info Title, Author, CreationDate, ModDate (PDF text
//     strings: UTF-16BE or UTF-8 with a byte-order mark, else
//     PDFDocEncoding; PDF dates), /Lang, page count.
//   - Encryption: RC4 and AES-128 (V 1, 2, 4; R 2-4) through the library,
//     and AES-256 (V 5, R 5 and 6) by decrypting the document into an
//     unencrypted copy in memory (aes256.go), with Input.Password as the
//     user or owner password; an empty user password opens without one.
//     A missing or wrong password is ErrEncrypted. Revision 6 passwords
//     are used as UTF-8 without SASLprep normalisation.
//   - Damaged files (a broken or missing cross-reference table, a
//     truncated file, a lost catalog, a wrong stream /Length) are repaired
//     by scanning for objects and appending a rebuilt cross-reference
//     stream (repair.go), with a "repaired" warning.
//   - Not a PDF: ErrMalformed. Two refusals of the library are avoided
//     cheaply: a %PDF-2.0 header or one followed by a comment on the same
//     line, and garbage after the last %%EOF.
//
// # How the library is contained
//
// The library reports errors by panicking and recovers only in a few
// methods. Every call into it happens under a recover in Parse, per page,
// per font and per metadata read; a panic becomes ErrMalformed (document)
// or a page_failed warning (page). The library never leaves the goroutine
// that called Parse.
//
// The library caches nothing: it re-reads an object from the io.ReaderAt
// each time it resolves it and reads compressed stream data through it
// while inflating. The parser hands it a guarded ReaderAt that panics out
// of the library when ctx is done or when the bytes read exceed a budget
// (400 times the file size, at least 1 GiB). So any loop inside the library
// that resolves objects (a cyclic /Extends chain of object streams, a
// cyclic /Prev chain of cross-reference sections, a Page(i) walk) ends at
// the deadline instead of running on; the parser's own interpreter also
// checks ctx every 1024 operators and caps operators per document (50 M).
//
// Nested object streams: a cross-reference stream can place an object in
// an object stream that is itself said to be in an object stream (itself,
// or a cycle). The library's resolve then recurses without reading until
// the Go stack overflows, a fatal runtime error that no recover catches.
// The spec forbids stream objects in object streams, so after opening, the
// parser reads the library's cross-reference table (an unexported field,
// through reflection) and refuses, with ErrMalformed, any entry whose
// object stream is itself in an object stream or beyond the table. The
// library resolves one reference while opening, before that check: the
// trailer's /Encrypt. For a file whose last cross-reference section is a
// stream whose dictionary names /Encrypt, the parser first opens it with
// that name overlaid (same length, stream data untouched), checks the
// table, and only then opens it for real; a dictionary that cannot be
// delimited before the first "stream" (a string holding the word) is
// ErrMalformed. Residual risks: the pre-check mirrors the library's
// lexing of the startxref line and of the dictionary's strings and
// comments; if the library's lexer ever disagrees with that mirror in a
// way that hides an /Encrypt key from the parser (the first open still
// seeing /Encrypt is refused), the stack overflow is back for that file.
// And if an upgrade of the library renames Reader.xref or its fields, the
// check silently does nothing: TestObjStmXrefLayout fails on such an
// upgrade.
//
// Decompression bombs (T20): the library inflates without a cap and offers
// no hook. Before a content stream, Form XObject or ToUnicode CMap is
// interpreted, the parser inflates it once into io.Discard through a
// LimitReader: over 64 MiB (CMaps: 4 MiB) the page fails with ErrTooLarge;
// the sum over the document is capped by Limits.MaxUnpackedBytes. Text
// stops at Limits.MaxChars (+1, so the Extractor reports the truncation).
//
// # What it cannot bound (the next issue moves parsing to a child process)
//
// A goroutine cannot be killed. Where the library works without reading
// the file, the guards never run:
//   - a content stream under the stream cap is lexed into memory operand by
//     operand (an operator-free stream of 64 MiB of numbers grows the
//     operand stack to a few hundred MiB), and a single string operand is
//     held whole;
//   - decoding with a pathological ToUnicode CMap or /Differences array is
//     quadratic inside one operator.
//
// In those cases the Extractor's deadline still answers ErrTimeout, but the
// goroutine runs on (or the process dies). Parsing untrusted PDFs in a
// child process under a deadline and a memory limit is the fix.
//
// Left for the next issue: reading order and columns, right-to-left and
// vertical text, standard-14 font metrics (widths are estimated for fonts
// without /Widths), cross-reference repair for truncated files, the child
// process.
package pdf
