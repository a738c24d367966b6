// Package eml is Quarry's parser for Internet mail messages
// (message/rfc822, the .eml files mail clients save), in pure Go.
//
// Register it like any parser:
//
//	reg := extract.NewRegistry()
//	reg.MustRegister("eml", eml.New())
//
// The text is a header block - the From, To, Cc, Date and Subject fields
// present, RFC 2047 encoded words decoded in any charset of the WHATWG
// Encoding standard, 8-bit header bytes that are not UTF-8 read as
// windows-1252 - then the body, then an "Attachments:" section that lists
// every attachment as "- name (media type, N bytes)", N being the decoded
// size. Attachments are listed, never extracted.
//
// The MIME structure is walked part by part, streaming (net/mail,
// net/textproto, mime/multipart): base64 and quoted-printable transfer
// encodings are undone (base64 leniently: line breaks and stray characters
// are ignored); text/plain bodies are decoded from their declared charset,
// or detected as package txt does, with format=flowed unwrapped; an
// HTML body is turned into text with package html. In a
// multipart/alternative the text/plain branch wins over text/html, and the
// branches not chosen contribute nothing. A text part with a file name and
// no inline disposition, or one marked as an attachment, is listed as an
// attachment. An attached message (message/rfc822, message/global) is
// included once, as quoted text ("> " lines) with its own header block,
// body and attachments.
//
// Metadata.Title is the Subject, Metadata.Author the From field, and
// Metadata.Created the Date (net/mail.ParseDate, in UTC).
//
// Hostile input: parts nested deeper than [MaxDepth] are skipped with a
// warning; more than [MaxParts] parts, or decoded parts (attachments
// included) adding up to more than [extract.Limits].MaxUnpackedBytes, fail
// with [extract.ErrTooLarge]; text parts are read only as far as
// [extract.Limits].MaxChars needs. A truncated message is read as far as it
// goes, with a warning. Input that has no header fields is refused with
// [extract.ErrMalformed].
//
// The parser implements [extract.Sniffer] for messages the generic sniffer
// does not recognise (see [Parser.Sniff]). A Registry asks Sniffers only
// when the generic type has no parser, so with a text/plain parser
// registered such messages still sniff as text/plain.
package eml
