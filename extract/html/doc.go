// Package html is Quarry's HTML parser (text/html, application/xhtml+xml).
//
// It streams the document through the golang.org/x/net/html tokenizer,
// without building a tree, so memory stays bounded by the longest token and
// deep nesting (100 000 nested divs) costs nothing; and it never fetches
// anything: there is no network code, sub-resources (images, style sheets,
// frames, refresh targets) are ignored. The tokenizer knows only the fixed
// HTML named character references, so DOCTYPE entity declarations (XXE,
// billion laughs) stay inert text that is never expanded nor output.
//
// The character encoding comes from, in order: a byte-order mark; a
// charset declared in the media type (except the generic guesses of content
// sniffers); a <meta charset> or http-equiv Content-Type in the first 1024
// bytes (golang.org/x/net/html/charset); else the detection of package txt
// (UTF-8 validated over the whole input, else a scored legacy encoding).
//
// The text is what a browser shows, roughly: script, style, noscript,
// template, svg, math, iframe, object and the head are dropped; block
// elements (p, div, li, tr, headings, br...) break lines, inline elements do
// not break words; white space collapses except inside pre; table cells are
// separated by a tab; images contribute their alt text. When the page has
// exactly one <main> element (else exactly one <article>), only its text is
// kept, which drops site headers, menus and footers; otherwise the whole body
// is kept, navigation, headers, footers and asides included. Measured on the
// evaluation corpus (Docling's ground truth), preferring <main> raises the
// word F1 of a Wikipedia page from 0.954 to 0.960 (precision 0.967 to 0.996),
// while dropping nav/header/footer/aside elsewhere would cost recall, since
// Docling keeps them. Metadata.Title comes from <title> (else the first h1),
// Metadata.Author from <meta name=author>, Metadata.Language from <html lang>.
// The h1-h6 elements of the kept text become Document.Headings; a heading
// left unclosed until the next one or the end is no heading.
package html
