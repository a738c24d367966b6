package extract

import (
	"context"
	"errors"
	"io"
	"time"
)

// Parser turns one document into text. It is the one published extension
// point of Quarry: implement it, register it in a [Registry], and Quarry
// extracts your format everywhere (CLI, server, batch jobs).
//
// Parse must honour ctx, must not keep in after it returns, and must report
// failures with the sentinel errors of this package ([ErrMalformed],
// [ErrEncrypted], [ErrTooLarge]) wrapped with %w so callers can tell them
// apart. A Parser returns either Document.Pages (each with its Text; the
// [Extractor] joins them and computes offsets) or Document.Text alone (one
// page). The Extractor applies the deadline, the output cap, page selection,
// panic containment and summaries, so a Parser needs none of that.
type Parser interface {
	// MediaTypes lists the sniffed media types (without parameters) that
	// this parser reads, such as "application/pdf".
	MediaTypes() []string
	// Parse extracts the text of in.
	Parse(ctx context.Context, in Input) (*Document, error)
}

// Sniffer is an optional interface for parsers whose format the generic
// content sniffer does not recognise (text in UTF-16 without a byte-order
// mark, OOXML packages whose first entry is not [Content_Types].xml...).
// Sniff sees the first bytes of the input and returns the media type it
// recognises, or "" when the content is not its format. It must be fast and
// must not allocate in proportion to head.
type Sniffer interface {
	Sniff(head []byte) string
}

// Versioner is an optional interface that reports the parser's version, shown
// as metadata.parser_version.
type Versioner interface {
	Version() string
}

// ExternalTool is an optional interface for parsers whose work runs in
// external programs or services that are isolated and bounded on their own
// (ffmpeg in its own process group, a speech engine, a remote API), such as
// the transcript parser for audio and video. For such a parser the
// [Extractor] uses ToolTimeout as the deadline instead of Config.Timeout
// (transcribing an hour of speech takes minutes, not seconds), and
// isolate.Pool runs it in the calling process rather than in a worker,
// whose address-space limit would bind the tools and whose deadline is the
// document one.
type ExternalTool interface {
	ToolTimeout() time.Duration
}

// Input is one document handed to a Parser.
type Input struct {
	// R reads the whole document. It is an io.ReaderAt so that container
	// formats (ZIP, PDF) can seek without buffering; use
	// io.NewSectionReader(in.R, 0, in.Size) for a stream.
	R io.ReaderAt
	// Size is the length of the document in bytes.
	Size int64
	// MediaType is the sniffed media type, with parameters such as
	// "text/plain; charset=utf-16le" when the sniffer found them.
	MediaType string
	// Filename is the name the document was given, a hint at most: it
	// never decides the format alone.
	Filename string
	// Password opens encrypted documents.
	Password string
	// HeadersFooters asks for page furniture - running headers and
	// footers - that parsers leave out by default.
	HeadersFooters bool
	// Limits bounds what the parser may allocate and produce.
	Limits Limits
	// Companion is a second file that belongs with the document and that a
	// parser may use, such as the subtitles uploaded with a video, which
	// the transcript parser prefers to the video's own tracks and speech.
	// Nil when there is none; parsers with no use for one ignore it (and
	// isolate.Pool does not pass it to worker processes).
	Companion *Companion
}

// Companion is a file that goes with an Input (see Input.Companion).
type Companion struct {
	R    io.ReaderAt
	Size int64
	// MediaType is its sniffed media type.
	MediaType string
	Filename  string
}

// Reader returns a fresh stream over the whole input.
func (in Input) Reader() io.Reader { return io.NewSectionReader(in.R, 0, in.Size) }

// Limits bounds the work of one extraction. Parsers read them from
// [Input.Limits]; zero fields take the defaults of [DefaultLimits].
type Limits struct {
	// MaxChars caps the extracted text, in code points. The Extractor
	// truncates beyond it with a "truncated" warning; parsers may stop early.
	MaxChars int
	// MaxPages caps the number of pages a paginated parser walks.
	MaxPages int
	// MaxArchiveEntries caps the entries of a ZIP-based document.
	MaxArchiveEntries int
	// MaxUnpackedBytes caps the summed uncompressed size of the parts a
	// container-format parser inflates.
	MaxUnpackedBytes int64
	// MaxCompressionRatio caps uncompressed/compressed size of an entry.
	MaxCompressionRatio int64
}

// DefaultLimits returns the limits of RELIABILITY.md section 3: 10 Mi
// characters of text, 2 000 pages, 10 000 archive entries, 200 MiB
// unpacked and a 100:1 compression ratio.
func DefaultLimits() Limits {
	return Limits{
		MaxChars:            10 << 20,
		MaxPages:            2000,
		MaxArchiveEntries:   10000,
		MaxUnpackedBytes:    200 << 20,
		MaxCompressionRatio: 100,
	}
}

// lowered returns l with every positive field of o that is lower than l's
// taking its place: a caller's Input.Limits can tighten the Extractor's
// limits, never loosen them.
func (l Limits) lowered(o Limits) Limits {
	lower := func(cur, v int64) int64 {
		if v > 0 && v < cur {
			return v
		}
		return cur
	}
	l.MaxChars = int(lower(int64(l.MaxChars), int64(o.MaxChars)))
	l.MaxPages = int(lower(int64(l.MaxPages), int64(o.MaxPages)))
	l.MaxArchiveEntries = int(lower(int64(l.MaxArchiveEntries), int64(o.MaxArchiveEntries)))
	l.MaxUnpackedBytes = lower(l.MaxUnpackedBytes, o.MaxUnpackedBytes)
	l.MaxCompressionRatio = lower(l.MaxCompressionRatio, o.MaxCompressionRatio)
	return l
}

// WithDefaults returns l with its zero fields set from [DefaultLimits].
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.MaxChars > 0 {
		d.MaxChars = l.MaxChars
	}
	if l.MaxPages > 0 {
		d.MaxPages = l.MaxPages
	}
	if l.MaxArchiveEntries > 0 {
		d.MaxArchiveEntries = l.MaxArchiveEntries
	}
	if l.MaxUnpackedBytes > 0 {
		d.MaxUnpackedBytes = l.MaxUnpackedBytes
	}
	if l.MaxCompressionRatio > 0 {
		d.MaxCompressionRatio = l.MaxCompressionRatio
	}
	return d
}

// ContextReader returns a reader that fails with ctx's error once ctx is
// done. Parsers that stream their input wrap it with this to honour the
// extraction deadline between reads.
func ContextReader(ctx context.Context, r io.Reader) io.Reader {
	return &contextReader{ctx: ctx, r: r}
}

type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Document is the result of an extraction.
type Document struct {
	// Text is the whole text. Pages slice it: Text[Start:End] in code points.
	Text string `json:"text"`
	// Pages are the pages (or, for formats without pages, one page).
	Pages []Page `json:"pages"`
	// Metadata describes the document.
	Metadata Metadata `json:"metadata"`
	// Warnings report what went less than perfectly without failing.
	Warnings []Warning `json:"warnings"`
	// Headings are the document's headings, in order, where the format
	// marks them (Markdown, HTML, DOCX, ODF). Parsers set Start as an
	// offset into their page's Text; the Extractor turns it into an offset
	// into Document.Text.
	Headings []Heading `json:"headings,omitempty"`
	// Chunks are set when Options.Chunking asks for them: empty, not
	// nil, for a document without text, so that JSON says "chunks": []
	// then and leaves the field out when no chunks were asked for.
	Chunks []Chunk `json:"chunks,omitzero"`
	// Segments are the timed stretches of a transcript (audio, video,
	// subtitles), in time order. A parser that returns segments returns
	// one page, and Start and End index its text; the Extractor drops or
	// shortens segments that an output cap cut off, and leaves them out
	// of summaries.
	Segments []Segment `json:"segments,omitempty"`
}

// Segment is a timed stretch of a transcript: a subtitle cue or an
// utterance recognised in speech.
type Segment struct {
	// Start and End are offsets into Document.Text, in code points.
	Start int `json:"start"`
	End   int `json:"end"`
	// StartSeconds and EndSeconds are times from the start of the media.
	StartSeconds float64 `json:"start_seconds"`
	EndSeconds   float64 `json:"end_seconds"`
	Text         string  `json:"text"`
}

// Page is one page of a Document.
type Page struct {
	// Number is 1-based.
	Number int `json:"number"`
	// Text is the text of the page.
	Text string `json:"text"`
	// Start and End are offsets into Document.Text, in Unicode code points.
	Start int `json:"start"`
	End   int `json:"end"`
}

// Metadata describes a document. Empty fields are unknown.
type Metadata struct {
	Title         string     `json:"title,omitempty"`
	Author        string     `json:"author,omitempty"`
	Created       *time.Time `json:"created,omitempty"`
	Modified      *time.Time `json:"modified,omitempty"`
	PageCount     int        `json:"page_count"`
	Language      string     `json:"language,omitempty"`
	Charset       string     `json:"charset,omitempty"`
	Parser        string     `json:"parser"`
	ParserVersion string     `json:"parser_version,omitempty"`
	// DurationSeconds is how long audio or video lasts; 0 for documents.
	DurationSeconds float64 `json:"duration_seconds,omitempty"`
	// Engine names what made the text when a parser did not read it
	// from the document: for a transcript "subtitles" (a subtitle track
	// or file, exact text) or the speech engine ("pocketsphinx",
	// "whisper"); for a summary written by a language model "llm:" and
	// the model. Empty otherwise.
	Engine string `json:"engine,omitempty"`
}

// Warning codes.
const (
	WarnTruncated       = "truncated"
	WarnNoTextLayer     = "no_text_layer"
	WarnOCRApplied      = "ocr_applied"
	WarnGarbledText     = "suspected_garbled_text"
	WarnPageFailed      = "page_failed"
	WarnInvalidUTF8     = "invalid_utf8"
	WarnEmbeddedSkipped = "embedded_skipped"
	// WarnRepaired: the file was damaged (a broken cross-reference
	// table, a truncated download) and was read by recovering what it
	// could.
	WarnRepaired = "repaired"
)

// Warning reports something that went less than perfectly.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Page is the 1-based page the warning is about, 0 for the document.
	Page int `json:"page,omitempty"`
}

// Sentinel errors. Parsers wrap them with %w; the server maps each to one
// error code of the HTTP contract.
var (
	// ErrUnsupportedFormat: no registered parser reads the sniffed type.
	ErrUnsupportedFormat = errors.New("unsupported format")
	// ErrMalformed: the parser cannot read the document.
	ErrMalformed = errors.New("malformed document")
	// ErrEncrypted: the document needs a (correct) password.
	ErrEncrypted = errors.New("encrypted document")
	// ErrTooLarge: the document or what it unpacks to is over a limit.
	ErrTooLarge = errors.New("document too large")
	// ErrTimeout: the extraction did not finish within its deadline.
	ErrTimeout = errors.New("extraction timed out")
	// ErrTooLong: audio or video lasts longer than the configured
	// maximum (checked before any decoding).
	ErrTooLong = errors.New("media too long")
)
