// Package epub extracts text from EPUB 2 and EPUB 3 publications, in pure
// Go.
//
// Register it like any parser:
//
//	reg := extract.NewRegistry()
//	reg.MustRegister("epub", epub.New())
//
// The package document is the one META-INF/container.xml names (else the
// archive's first .opf file). Each content document of its spine is one
// page, in reading order, non-linear items (notes, answers) included where
// the spine puts them; its text is what package html extracts from it
// (script, style and the head dropped, blocks as lines, table cells
// separated by tabs, image alt text kept), so chapters read like web pages
// do. Documents without text (a cover image, an image page) give no page,
// and pages are numbered 1, 2, ... in the order they come out. The
// navigation document and the NCX table of contents are not read for text
// unless the spine lists them (then they are a page like any other).
//
// Metadata comes from the package document: title (the first dc:title,
// else the first chapter's title), author (the dc:creator elements joined
// with ", ", at most ten), language (dc:language), created (dc:date, the
// publication date, from a year alone to a full time stamp) and modified
// (the dcterms:modified meta property).
//
// Odd and hostile input: the archive is opened through internal/safezip
// (entry count, declared sizes, ratios and overlaps checked before
// inflating; every read capped; unsafe names and symlinks left out); the
// container, package document and encryption list are streamed with
// encoding/xml (no DTD entities expanded nor fetched, nesting capped at
// 10 000); content documents go through the HTML tokenizer, which never
// fetches anything. Spine items that refer to no manifest item, point
// outside the publication (".." past its root), are remote URLs, are
// missing from the archive or cannot be read are skipped, each reason
// counted in one "page_failed" warning; a manifest id given twice keeps its
// first item, and a document the spine lists twice is read once. Content
// documents that META-INF/encryption.xml lists (DRM; font obfuscation
// aside) are skipped, and a publication whose content is all encrypted
// gives [extract.ErrEncrypted]. A mimetype entry naming another type gives
// [extract.ErrUnsupportedFormat]; no package document, or no readable
// content document among those listed, gives [extract.ErrMalformed]. The
// text stops at [extract.Limits].MaxChars and after
// [extract.Limits].MaxPages pages.
package epub
