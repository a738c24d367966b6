// Package pptx extracts text from Office Open XML presentations (.pptx,
// .pptm, .ppsx, .ppsm, .potx, .potm), transitional and strict, in pure Go.
//
// Register it like any parser:
//
//	reg := extract.NewRegistry()
//	reg.MustRegister("pptx", pptx.New())
//
// Each slide is one page, in the order of the presentation's slide list
// (p:sldIdLst in ppt/presentation.xml, followed through its relationships);
// a page's number is the slide's number, so a slide that is missing or
// unreadable leaves a gap and a "page_failed" warning, and a slide listed
// twice is read once. Hidden slides are kept: they are part of the deck
// (backup and appendix slides), and MarkItDown keeps them too.
//
// What comes out of a slide, in reading order: the title placeholder first,
// then the other shapes in bands from top to bottom, each band from left to
// right, a band being shapes whose vertical extents overlap (two columns,
// staggered boxes); placeholders that have no position of their own take
// the one their layout, else their master, gives them, shapes of a group
// are ordered within the group, and shapes with no known position follow
// in file order. One block per shape, separated by blank lines. A shape's paragraphs (a:p) are
// lines, a:br breaks a line, fields (a:fld) give their current text. Tables
// (a:tbl) give one row per line with cells separated by tabs; a cell merged
// into its neighbour is empty, so columns stay aligned. SmartArt gives the
// text of its nodes, from its data part. Of markup given twice
// (mc:AlternateContent), one branch is read. Pictures, charts, ink and
// embedded objects give nothing. Footer, date and slide-number placeholders
// are page furniture and are left out unless asked for
// ([Options].HeadersFooters, or extract.Input.HeadersFooters per document).
//
// Speaker notes are kept by default: after the slide's text, a blank line,
// a line "Notes:", then the text of the notes page (its body placeholder and
// text boxes). They often carry what the presenter says and the slide only
// hints at, and MarkItDown keeps them too; [Options].OmitNotes leaves them
// out. Comments are left out.
//
// Each slide title is a level-1 heading of its page. Metadata comes from
// docProps/core.xml: title (else the first slide's title), creator
// (Author), language, created and modified.
//
// Hostile input: the package is opened through internal/safezip, which
// checks entry count, declared sizes and ratios before inflating anything
// and caps every read; XML is streamed with encoding/xml, which expands no
// DTD entities and fetches no external resources (a reference to a
// DOCTYPE-declared entity is a syntax error); nesting deeper than 10 000
// elements is refused; relationships are followed one step from a known
// part (never recursively), so cyclic relationships cost nothing; the walk
// stops once the text passes [extract.Limits].MaxChars, and after
// [extract.Limits].MaxPages slides. An encrypted (password-protected)
// package, an OLE compound file, gives [extract.ErrEncrypted]; a legacy
// binary .ppt gives [extract.ErrMalformed], as does a package without a
// presentation part, or whose slides all fail.
package pptx
