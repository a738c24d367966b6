// Package xmltext is Quarry's parser for generic XML read as text:
// application/xml and text/xml (and, through the Registry's type
// hierarchy, the XML subtypes the sniffer knows and no other parser
// claims: RSS, Atom, SVG, KML...). OOXML, ODF and XHTML are not its
// business: other parsers own those types.
//
// # Text
//
// The document is streamed with encoding/xml's Decoder.Token, never built
// into a tree. The text is the character data (CDATA sections included) of
// every element, in document order; attributes, comments, processing
// instructions and the DOCTYPE are left out. Runs of white space collapse
// to one space. When an element that held text ends, the next text starts a
// new line - unless it continues an element that has text of its own
// (mixed content, as in <p>see <b>this</b> here</p>), where only the white
// space of the source separates words, so that <p>un<b>break</b>able</p>
// stays one word.
// So record-like XML gives one line per leaf element and prose-like XML
// keeps its sentences whole. The text is normalised to NFC.
//
// Metadata.Title is the text of the first element whose local name is
// "title", in any namespace (RSS and Atom feeds, DocBook, TEI...).
//
// # Character encoding
//
// A byte-order mark decides first. Otherwise an encoding named in the XML
// declaration is honoured with golang.org/x/net/html/charset.NewReaderLabel;
// without a declaration, or with one that names UTF-8, UTF-16 or a label
// nobody knows, the input is decoded as [txt.NewReader] decodes plain text
// (UTF-8, UTF-16 without a mark, a legacy encoding recognised
// heuristically). Metadata.Charset names the encoding.
//
// # Safety
//
// encoding/xml never expands entities declared in a DTD and never fetches
// anything: an internal entity (the "billion laughs") or an external one
// (XXE, file:// or http:// system identifiers) is an undefined entity to
// it. The decoder runs in strict mode, so such a reference - like the other
// errors encoding/xml detects: mismatched or unclosed tags, a truncated
// document, characters XML forbids - fails with [extract.ErrMalformed], and
// so does input without any element. (encoding/xml does not check
// everything: duplicate attributes and text after the root element pass.) Only the five predefined entities and
// character references are resolved. Nesting deeper than [MaxDepth]
// elements fails with [extract.ErrMalformed] as soon as it is reached.
// The parser stops reading once its output passes Limits.MaxChars code
// points (the Extractor cuts it with a "truncated" warning); what follows
// is not checked.
//
// The generic sniffer recognises XML that starts with an XML declaration
// as text/xml; XML without one sniffs as text/plain and is read, markup
// and all, by the plain-text parser.
package xmltext
