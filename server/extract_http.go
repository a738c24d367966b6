package server

import (
	"context"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/quarryhq/quarry/extract"
)

type extractInput struct {
	Body struct {
		SourceID string          `json:"source_id" minLength:"1" maxLength:"64" doc:"id of a stored source"`
		Mode     string          `json:"mode,omitempty" enum:"text,summary" default:"text" doc:"text: the whole text; summary: an extractive summary of the most central sentences, in document order"`
		Options  *extractOptions `json:"options,omitempty"`
	}
}

type extractOptions struct {
	Password         string           `json:"password,omitempty" maxLength:"1024" doc:"opens an encrypted document; never stored or logged"`
	Pages            string           `json:"pages,omitempty" maxLength:"256" pattern:"^[0-9 ,-]*$" doc:"page selection such as 1-3,7 (1-based)"`
	MaxChars         int              `json:"max_chars,omitempty" minimum:"1" doc:"cap on the returned text in code points (a truncated warning says when it applied)"`
	SummarySentences int              `json:"summary_sentences,omitempty" minimum:"1" maximum:"50" doc:"sentences in a summary (default 5)"`
	HeadersFooters   bool             `json:"headers_footers,omitempty" doc:"include page headers and footers (DOCX), left out by default as page furniture"`
	Chunking         *chunkingOptions `json:"chunking,omitempty" doc:"split the returned text (the summary in summary mode) into chunks for retrieval; the extraction then carries chunks"`
}

// chunkingOptions are options.chunking of POST /extract: extract.ChunkOptions.
type chunkingOptions struct {
	Strategy string `json:"strategy,omitempty" enum:"fixed,by_page,by_heading" default:"fixed" doc:"fixed: pack paragraphs, sentences and words up to the cap; by_page: one chunk per page, split when over the cap; by_heading: one chunk per section under a heading (Markdown, HTML, DOCX, ODF headings), split when over the cap, fixed when the document has no headings"`
	MaxChars int    `json:"max_chars,omitempty" minimum:"1" maximum:"100000" doc:"cap on a chunk in code points, white space included; 2000 when neither cap is set"`
	// 100000 is extract.MaxChunkSize; overlap's maximum is half of it.
	MaxTokens int `json:"max_tokens,omitempty" minimum:"1" maximum:"100000" doc:"cap on a chunk in approximate tokens instead of max_chars (not both): in a word, a run of ASCII letters counts one token per 6 letters, a run of digits or of other letters one per 3, rounded up; each CJK character and each punctuation mark or symbol counts one; white space counts none. On English it counts a little above the tokenizers of current models (about 4 characters a token), so chunks stay under their limits"`
	Overlap   int `json:"overlap,omitempty" minimum:"0" maximum:"50000" doc:"how much of the end of a chunk the next chunk of the same page or section repeats, in the unit of the cap, from a word boundary; at most half the cap (default 0)"`
}

func (o *chunkingOptions) options() *extract.ChunkOptions {
	if o == nil {
		return nil
	}
	return &extract.ChunkOptions{Strategy: o.Strategy, MaxChars: o.MaxChars, MaxTokens: o.MaxTokens, Overlap: o.Overlap}
}

type extractOutput struct {
	Body Envelope[Extraction]
}

func (s *Server) bindExtract() {
	huma.Register(s.v1, huma.Operation{
		OperationID: "extract",
		Method:      http.MethodPost,
		Path:        "/api/v1/extract",
		Summary:     "Extract text or a summary",
		Description: "Extracts a stored source with the parser for its sniffed type, under a deadline and an output cap, and stores the result as the source's latest extraction. " +
			"With options.chunking the extraction carries chunks: pieces of its text of at most max_chars code points (or max_tokens approximate tokens) that end at the strongest boundary available (paragraph, sentence, line, word), each with its offsets into text, its pages and the headings it is under; at most 100000 chunks a document. " +
			"metadata.language is the language the document declares, else the one detected in its text (an ISO 639-1 code such as en, de, ar, ja; absent when the text is too short or mixed). " +
			"Document errors answer 415 unsupported_media_type, 422 malformed_document, encrypted_document or extraction_timeout; invalid options, 422 validation_error. " +
			"At most QUARRY_MAX_IN_FLIGHT extractions run at once; when all slots stay busy for 5 s the answer is 503 over_capacity with Retry-After.",
		Tags:     []string{"extraction"},
		Security: anonymousEditor,
		Errors:   []int{http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity, http.StatusServiceUnavailable},
	}, s.extract)
}

func (s *Server) extract(ctx context.Context, in *extractInput) (*extractOutput, error) {
	opts := extract.Options{Mode: extract.Mode(in.Body.Mode)}
	if o := in.Body.Options; o != nil {
		opts.Password, opts.Pages, opts.MaxChars, opts.SummarySentences = o.Password, o.Pages, o.MaxChars, o.SummarySentences
		opts.HeadersFooters = o.HeadersFooters
		opts.Chunking = o.Chunking.options()
	}
	release, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	x, err := s.deps.Sources.Extract(ctx, s.tenant(ctx), in.Body.SourceID, opts)
	if err != nil {
		code, _ := ErrorCode(err)
		s.record(ctx, principal(ctx), "extraction.failed", "source", in.Body.SourceID, resultOfSource(err), map[string]any{"mode": string(opts.Mode), "code": code})
		return nil, s.fail(ctx, err)
	}
	s.record(ctx, principal(ctx), "extraction.completed", "source", in.Body.SourceID, resultSuccess,
		map[string]any{"mode": string(x.Mode), "parser": x.Document.Metadata.Parser, "pages": len(x.Document.Pages), "duration_ms": x.DurationMS})
	return &extractOutput{Body: ok(ctx, *extractionDTO(x))}, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
