// Package jsontext is Quarry's parser for JSON read as text:
// application/json, application/ld+json and application/x-ndjson (and,
// through the Registry's type hierarchy, the JSON subtypes the sniffer
// knows, such as application/geo+json).
//
// The input is decoded with [txt.NewReader] (byte-order marks, UTF-16
// without one...) and streamed through encoding/json's Decoder.Token: the
// document is never unmarshalled whole, so memory stays proportional to the
// nesting depth and the longest token, not to the document.
//
// # Output
//
// Every scalar becomes one line "path: value", where path names the value
// from the root: object keys joined by dots and array indices in brackets,
// as in
//
//	title: Quarry
//	authors[0].name: Ada
//	authors[1].name: Grace
//	meta.tags[2]: search
//
// A scalar at the root (a document that is just "hello" or 42) is a line
// of its own value, without "path: ". Strings are written as decoded
// (escapes resolved, line breaks kept), numbers as written in the source,
// booleans as true and false. null and empty strings carry no text and are
// left out, as are empty objects and arrays. Control characters in keys
// become spaces, so that a key never breaks its line.
//
// A stream of several top-level values - NDJSON, JSON Lines, or
// concatenated JSON under any of the media types - is read value after
// value, each value's lines separated from the next by a blank line, and
// each value's paths starting afresh.
//
// Metadata.Title is the string value of a "title" key of the first
// top-level object, when it has one.
//
// # Errors and limits
//
// Input that is not JSON - a syntax error anywhere before the output cap,
// an empty document, a truncated one - fails with [extract.ErrMalformed];
// there is no partial result. Nesting deeper than [MaxDepth] levels fails
// with [extract.ErrMalformed] as soon as the decoder reaches that depth,
// so that a "JSON bomb" of millions of brackets costs microseconds. The
// parser stops reading once its output passes Limits.MaxChars code points
// (the Extractor cuts it and adds the "truncated" warning); what follows
// the cut is not validated. The text is normalised to NFC.
//
// The generic sniffer recognises JSON objects and arrays as
// application/json and newline-delimited objects as application/x-ndjson;
// a lone JSON string or number sniffs as text/plain, which the plain-text
// parser reads.
package jsontext
