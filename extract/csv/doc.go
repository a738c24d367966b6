// Package csv is Quarry's parser for delimiter-separated tables: CSV
// (text/csv) and TSV (text/tab-separated-values).
//
// The input is decoded as [txt.Decode] decodes plain text: byte-order
// marks, declared charsets and legacy encodings (windows-1252, Shift_JIS...)
// are recognised, and the text is normalised to NFC. Metadata.Charset names
// the encoding.
//
// The delimiter of text/csv is sniffed from the first lines: of comma,
// semicolon, tab and pipe, the one that splits the most of them into the
// same number (at least two) of fields wins, comma on a tie or when none
// does. text/tab-separated-values always uses tab.
//
// Records are read with encoding/csv, leniently: quotes in unquoted fields
// are kept as text (LazyQuotes) and rows may have any number of fields. The
// output has one line per record, in file order (the header row first),
// with the cells joined by a tab, which word tokenisers treat as white
// space and which keeps a table pasteable into a spreadsheet. Line breaks
// and tabs inside a cell become spaces, so that a record is always one
// line; cells lose their leading and trailing white space, trailing empty
// cells are dropped and records without any text are
// skipped. A record that cannot be read ends the output with a "malformed"
// warning, or fails with [extract.ErrMalformed] when no record was read at
// all.
//
// The parser reads at most Limits.MaxChars code points of source; when that
// cut the input it stops there, with a "truncated" warning if the Extractor
// would not notice the cut by itself. Metadata.Title stays empty.
//
// The generic sniffer recognises comma-separated files as text/csv and
// tab-separated ones as text/tab-separated-values; files separated by
// semicolons or pipes sniff as text/plain and are read by the plain-text
// parser (the parser implements no [extract.Sniffer]: the Registry asks
// sniffers only when the generic type has no parser, and text/plain has
// one).
package csv
