// Package odf extracts text from OpenDocument packages: text documents
// (.odt, .ott), spreadsheets (.ods, .ots) and presentations (.odp, .otp),
// in pure Go.
//
// Register it like any parser:
//
//	reg := extract.NewRegistry()
//	reg.MustRegister("odf", odf.New())
//
// What comes out of content.xml, in order: paragraphs and headings (text:s,
// text:tab and text:line-break as spaces, tabs and line breaks), list items
// prefixed "- " (indented two spaces per nesting level), tables one row per
// line with cells separated by tabs (trailing empty cells and empty rows
// left out, repetition attributes capped at 100 copies and a row at 16 384
// cells), and the text of frames, text boxes and shapes. Notes (footnotes
// and endnotes) leave a "[n]" marker in the text and follow the body as
// "[n] ...". Comments (office:annotation), deleted text of tracked changes,
// speaker notes and alternative text are left out. A spreadsheet gives one
// page per sheet and a presentation one page per slide (draw:page); a text
// document is one page. Elements are matched by local names.
//
// The headings of a text document's body (text:h, outside tables, frames
// and notes) become Document.Headings, at their text:outline-level (1 when
// absent, 6 at most).
//
// Metadata comes from meta.xml: title, author (meta:initial-creator, else
// dc:creator), language, created (meta:creation-date) and modified
// (dc:date).
//
// The package's first entry, a stored "mimetype", names its type; [Parser.Sniff]
// reads it from the first bytes, and Parse refuses a package whose mimetype
// names another type with [extract.ErrUnsupportedFormat].
//
// Hostile input: the package is opened through internal/safezip (entry
// count, declared sizes, compression ratios and every read capped); XML is
// streamed with encoding/xml, which expands no DTD entities and fetches no
// external resources (a reference to a DOCTYPE-declared entity is a syntax
// error, so the document is refused as malformed); nesting deeper than
// 10 000 elements is refused; the parse stops early once the text passes
// [extract.Limits].MaxChars. A package without content.xml, or not a ZIP,
// gives [extract.ErrMalformed]; a password-protected one (manifest
// encryption data for content.xml) gives [extract.ErrEncrypted].
package odf
