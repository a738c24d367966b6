// Package rtf is Quarry's Rich Text Format parser (application/rtf,
// text/rtf), in pure Go.
//
// Register it like any parser:
//
//	reg := extract.NewRegistry()
//	reg.MustRegister("rtf", rtf.New())
//
// A small streaming tokenizer reads control words, control symbols and
// groups; it keeps an explicit stack of group states instead of recursing,
// so nesting costs no Go stack, and refuses groups nested deeper than
// [MaxDepth] with [extract.ErrMalformed]. A document that ends inside open
// groups is read as far as it goes (with a warning); input that does not
// start with "{\rtf" (after an optional UTF-8 byte-order mark and white
// space) is refused with [extract.ErrMalformed].
//
// Characters: \uN (with the \ucN count of fallback characters skipped,
// surrogate pairs joined), \'hh escapes and 8-bit literal text decoded with
// the code page of the current font (\fcharsetN or \cpgN in the font table,
// so Shift_JIS, GBK, Big5, EUC-KR and the Windows code pages all work), else
// the document's \ansicpgN (\mac, \pc, \pca); \emdash, \bullet, quotes and
// the like become their characters. Structure: \par and \sect end a
// paragraph (a blank line), \line breaks a line, \tab is a tab, \cell ends a
// table cell (cells are separated by tabs) and \row a row (one row per line).
//
// Left out: destinations that are not text (font, colour and style tables,
// pictures, embedded object data, \bin data, field instructions - the field
// result is kept -, bookmarks, index and table-of-contents entries, comments,
// every \* destination the parser does not know), hidden (\v) and deleted
// (\deleted) text, and page headers and footers, which are page furniture as
// in the DOCX parser: with [extract.Input].HeadersFooters they are kept,
// headers first and footers last, each distinct text once. Footnotes follow
// the body. Metadata.Title and Author come from \title and \author in \info,
// Created and Modified from \creatim and \revtim (read as UTC, RTF having no
// time zone).
//
// The parser stops reading once the text passes [extract.Limits].MaxChars.
package rtf
