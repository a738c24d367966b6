// Package txt is Quarry's plain-text parser (text/plain).
//
// It finds the character encoding of the input in this order: a byte-order
// mark (UTF-8, UTF-16LE/BE, UTF-32LE/BE); a charset declared in the sniffed
// media type (except the generic guesses "iso-8859-1", "windows-1252" and
// "us-ascii" of content sniffers, which say only "not UTF-8"); UTF-16 or
// UTF-32 without a byte-order mark, recognised from the pattern of NUL bytes;
// UTF-8, validated over the whole input (up to what the output cap needs);
// and otherwise a small deterministic heuristic that decodes a sample with
// each legacy candidate (windows-1252, windows-1250, windows-1251, KOI8-R,
// windows-1253, Shift_JIS, EUC-JP, GBK, Big5, EUC-KR) and keeps the one whose
// words look most like real text: letters of one script per word, no invalid
// sequences or control characters, plausible letter case.
//
// The text is normalised to Unicode NFC and reported with the charset it
// was decoded from in Metadata.Charset ("utf-8", "utf-16le", "windows-1251",
// "shift_jis"...).
//
// [Decode] and [NewReader] expose the same decoding to other parsers of
// text formats (Markdown, HTML). The parser also implements
// [extract.Sniffer], so that UTF-16 and UTF-32 text without a byte-order
// mark, which generic sniffers call application/octet-stream, is read as
// text.
package txt
