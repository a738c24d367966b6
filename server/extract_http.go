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
	Password         string `json:"password,omitempty" maxLength:"1024" doc:"opens an encrypted document; never stored or logged"`
	Pages            string `json:"pages,omitempty" maxLength:"256" pattern:"^[0-9 ,-]*$" doc:"page selection such as 1-3,7 (1-based)"`
	MaxChars         int    `json:"max_chars,omitempty" minimum:"1" doc:"cap on the returned text in code points (a truncated warning says when it applied)"`
	SummarySentences int    `json:"summary_sentences,omitempty" minimum:"1" maximum:"50" doc:"sentences in a summary (default 5)"`
	HeadersFooters   bool   `json:"headers_footers,omitempty" doc:"include page headers and footers (DOCX), left out by default as page furniture"`
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
			"Document errors answer 415 unsupported_media_type, 422 malformed_document, encrypted_document or extraction_timeout. " +
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
