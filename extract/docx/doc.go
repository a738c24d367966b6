// Package docx extracts text from Office Open XML word-processing documents
// (.docx, .docm, .dotx, .dotm), transitional and strict, in pure Go.
//
// Register it like any parser:
//
//	reg := extract.NewRegistry()
//	reg.MustRegister("docx", docx.New())
//
// What comes out, in order: the body with its paragraphs, list items
// (prefixed "-" for bullets, or their number such as "1." or "a)"), tables
// (one row per line, cells separated by tabs, merged cells once, nested
// tables flattened into their cell), text boxes (one branch of each
// mc:AlternateContent, so never twice), content controls, hyperlink text,
// field results (never field codes) and equation text; tracked changes are
// accepted (insertions and moves kept where they land, deletions dropped).
// Footnotes and endnotes follow the body, numbered in order of reference
// ("[1] ..."), with the same "[1]" markers in the text. Page headers and
// footers are page furniture and are left out unless asked for
// ([Options].HeadersFooters, or extract.Input.HeadersFooters per document);
// then they come first and last, each distinct text once. Comments are left
// out.
// Parts are matched by local XML names, so strict OOXML reads like
// transitional; the main part is found through the package relationships.
//
// Metadata comes from docProps/core.xml: title, creator (Author), language,
// created and modified.
//
// Paragraphs of the body that are headings become Document.Headings: those
// with an outline level of their own (w:outlineLvl 0-8, level 1-6), else
// those whose style chain (w:basedOn) has an outline level or is named
// "heading N" or "Title" (level 1); styles.xml is read for this only when
// the body has styled paragraphs. Headings in tables, text boxes and notes
// are not counted.
//
// Hostile input: the package is opened through internal/safezip, which
// checks entry count, declared sizes and ratios before inflating anything
// and caps every read; XML is streamed with encoding/xml, which expands no
// DTD entities and fetches no external resources (a reference to a
// DOCTYPE-declared entity is a syntax error, so the document is refused as
// malformed); nesting deeper than 10 000 elements is refused; the parse
// stops early once the text passes [extract.Limits].MaxChars. An encrypted
// (password-protected) package, which is an OLE compound file, gives
// [extract.ErrEncrypted].
package docx
