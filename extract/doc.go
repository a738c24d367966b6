/*
Package extract turns documents into clean text. It defines the one
extension point of Quarry, the [Parser], the [Registry] that maps media
types to parsers, and the [Extractor] that runs a parser under a deadline,
an output cap and a panic guard and returns a well-formed [Document].

Quarry's own formats (plain text, HTML, Markdown, DOCX, PDF) live in
subpackages of extract and are ordinary Parsers: a parser you write is
registered and run exactly like them.

# Parsers

A Parser lists the media types it reads and turns one [Input] into one
[Document]:

	type Parser interface {
		MediaTypes() []string
		Parse(ctx context.Context, in Input) (*Document, error)
	}

MediaTypes returns bare, lower-case media types such as "application/pdf",
without parameters. Parse reads the document through Input.R, an
[io.ReaderAt] of Input.Size bytes, so that container formats can seek;
[Input.Reader] gives a fresh stream for formats read front to back.
Input.MediaType is the sniffed type and may carry parameters such as
"text/plain; charset=utf-16le" ([MediaTypeParam] reads them);
Input.Filename is a hint at most; Input.Password opens encrypted
documents.

The contract a Parser must keep:

  - Honour ctx: return soon after it is done, with ctx.Err() wrapped or
    not.
  - Keep nothing: do not read Input.R, or touch the Document, after Parse
    returns.
  - Be safe for concurrent use: one Parser value serves every request.
  - Report failures with the sentinel errors of this package wrapped with
    %w: [ErrMalformed] for input it cannot read, [ErrEncrypted] for a
    missing or wrong password, [ErrTooLarge] for input over a limit of
    Input.Limits. The server maps each sentinel to one error code; any
    other error is an internal error.
  - Return valid UTF-8, either as Document.Pages (each page's Text; the
    Extractor joins them) or as Document.Text alone (one page). Set
    Page.Number only when the format numbers its pages, and then keep the
    numbers increasing; the Extractor numbers unnumbered pages 1, 2, 3...
  - Respect [Limits] from Input.Limits: MaxPages, MaxArchiveEntries,
    MaxUnpackedBytes and MaxCompressionRatio bound what a parser may walk
    and inflate. MaxChars bounds the output: a parser may stop early when
    it has produced that much, but it need not, and must not fail because
    of it.

Two optional interfaces add capabilities, found by type assertion as in
database/sql/driver: a [Sniffer] recognises its format where the generic
content sniffer does not, and a [Versioner] reports the parser's version,
shown as Metadata.ParserVersion.

A Parser needs no deadline, panic handling, text normalisation, page
selection or summary of its own: the Extractor does all of that, the same
way for every format.

# Registry

A [Registry] is a value, not a global: build one with [NewRegistry] and
register each parser under a name:

	reg := extract.NewRegistry()
	reg.MustRegister("pdf", pdf.New())
	if err := reg.Register("myformat", myformat.New()); err != nil {
		return err
	}

[Registry.Register] refuses an empty name, a nil parser, a parser without
media types or with an invalid one, a name already taken and a media type
another parser already reads; [Registry.MustRegister] panics instead, for
main. [Registry.Parsers] and [Registry.MediaTypes] list what is registered,
sorted. A Registry is safe for concurrent use.

[Registry.Lookup] finds the parser of a media type, ignoring parameters,
and follows the content sniffer's type hierarchy: a "text/plain" parser
also reads "text/csv" and "application/json" unless another parser claims
them. The root type "application/octet-stream" only matches itself.

# Sniffing

The content decides the format, never the filename alone.
[Registry.Sniff] looks at the first [SniffLen] bytes:

  - The generic sniffer (github.com/gabriel-vasile/mimetype) names the
    type. A PDF called "report.docx" is a PDF; HTML called "x.pdf" is
    HTML.
  - When the content is plain text, the filename may refine it: a ".md"
    file is "text/markdown", but only when a parser for text/markdown is
    registered.
  - When no registered parser reads the sniffed type, each registered
    [Sniffer] is asked in registration order, and the first answer wins.

The result keeps the sniffer's parameters ("text/html; charset=utf-8").
[Extractor.Extract] sniffs when Input.MediaType is empty.

# The Extractor

[New] builds an [Extractor] over a Registry from a [Config]: the deadline
(default [DefaultTimeout]), the [Limits] (zero fields take
[DefaultLimits]) and a logger (default: discard). [Extractor.Extract]
sniffs, looks the parser up, runs it and guarantees:

  - Deadline: each extraction ends within Config.Timeout with
    [ErrTimeout], even when the parser ignores its context. Parsers run
    in-process, so such a parser keeps running in the background; its
    late result is dropped.
  - Panic containment: a parser panic becomes [ErrMalformed] for the
    caller, and is logged with its stack; the process survives.
  - Well-formed text: invalid UTF-8 is replaced with U+FFFD (with an
    "invalid_utf8" warning), NULs are dropped and line ends become "\n".
    Pages are joined with a blank line ("\n\n").
  - Offsets in code points: Page.Start and Page.End index Document.Text
    counted in Unicode code points, not bytes, so that
    []rune(doc.Text)[p.Start:p.End] == p.Text for every page. This is what
    JavaScript and Python clients expect of a JSON string.
  - Output cap: the text is at most Limits.MaxChars code points, cut on a
    code point boundary with a "truncated" warning. Options.MaxChars and
    Input.Limits can lower the Extractor's limits for one extraction,
    never raise them.
  - Page selection: Options.Pages ("1-3,7", see [ParsePageRanges]) keeps
    the selected pages, which keep their numbers; Metadata.PageCount stays
    the document's page count.
  - Metadata: Parser is the registered name; ParserVersion comes from a
    [Versioner]; Charset defaults to the sniffed charset parameter.
  - Warnings is never nil, so it encodes as [] in JSON.

# Summary mode

With Options.Mode set to [ModeSummary], Document.Text is an extractive
summary: the most central sentences of the text (TextRank, see package
github.com/quarryhq/quarry/extract/summary), in document order, at most
Options.SummarySentences of them (default 5). The summary is deterministic.
Its pages carry the numbers of the source pages the sentences came from,
each page's Text holds its sentences, and the offsets index the summary
text like any other Document, so a summary still cites its pages.

# Errors

Sentinel errors, tested with [errors.Is]:

  - [ErrUnsupportedFormat]: no registered parser reads the type.
  - [ErrMalformed]: the parser cannot read the document (also: an empty
    document, a parser panic, a parser returning no document).
  - [ErrEncrypted]: a password is needed or wrong.
  - [ErrTooLarge]: the document, or what it unpacks to, is over a limit.
  - [ErrTimeout]: the deadline passed.

An invalid option is an [*OptionError] naming the field ("pages",
"mode", "max_chars"); a cancelled caller context returns the context's
error. Error messages are safe to show: a panic value or stack never
reaches them, only the log.

# Testing a parser

Package github.com/quarryhq/quarry/extract/extracttest is the conformance
suite every parser should pass, Quarry's and yours. Give it the parser and
a few sample documents:

	func TestConformance(t *testing.T) {
		extracttest.Run(t, myformat.New(), extracttest.Case{
			Name:         "hello",
			Input:        helloDocument,
			WantContains: []string{"Hello, world"},
		})
	}

	func FuzzParse(f *testing.F) {
		extracttest.Fuzz(f, myformat.New(), helloDocument)
	}

Run checks the media types, registration, each case through the Extractor
and through Parse directly, hostile derivatives of each input (empty,
truncated, random, bit-flipped), a cancelled context, the output cap and
concurrent use; it reports panics, hangs, invalid UTF-8 and errors that
wrap no sentinel as test failures. Run it with -race.
*/
package extract
