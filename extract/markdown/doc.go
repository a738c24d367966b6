// Package markdown is Quarry's Markdown parser (text/markdown).
//
// It decodes the input as package txt does (byte-order marks, declared and
// detected charsets, NFC), parses it with goldmark (CommonMark plus the
// GitHub extensions: tables, strikethrough, autolinks, task lists) and walks
// the syntax tree to plain text without markup: headings, paragraphs, list
// items and table rows on their own lines, table cells separated by a tab,
// code blocks kept verbatim, links reduced to their text, images to their
// alternative text, raw HTML reduced to its text. The first level-1 heading
// becomes Metadata.Title, and every heading, ATX ("## Setup") or setext
// (underlined), goes to Document.Headings with its level and offset.
package markdown
