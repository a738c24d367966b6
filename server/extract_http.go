package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/quarryhq/quarry/assist"
	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/flags"
	"github.com/quarryhq/quarry/internal/runes"
	"github.com/quarryhq/quarry/sources"
)

type extractInput struct {
	Body struct {
		SourceID string          `json:"source_id" minLength:"1" maxLength:"64" doc:"id of a stored source"`
		Mode     string          `json:"mode,omitempty" enum:"text,summary" default:"text" doc:"text: the whole text; summary: a summary, made as options.summarizer says (by default the most central sentences, in document order)"`
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
	Summarizer       string           `json:"summarizer,omitempty" enum:"extractive,llm" default:"extractive" doc:"how mode summary is made: extractive, the most central sentences of the text (offline); llm, written by the configured language model (QUARRY_LLM_URL) from the whole text, behind the ai.assist feature flag. llm needs mode summary and does not take summary_sentences or chunking"`
}

// summarizerLLM is options.summarizer for a summary written by the
// language model; "extractive", the default, is the Extractor's summary.
const summarizerLLM = "llm"

// warnInputTruncated says that the language model read only the first
// part of the text: the text exceeded the assist context budget.
const warnInputTruncated = "input_truncated"

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
			"At most QUARRY_MAX_IN_FLIGHT extractions run at once (audio and video: QUARRY_MAX_MEDIA_IN_FLIGHT, on slots of their own); when all slots stay busy for 5 s the answer is 503 over_capacity with Retry-After. " +
			"options.summarizer says how mode summary is made. extractive (the default) keeps the most central sentences (TextRank), in document order, offline. " +
			"llm has the configured language model (QUARRY_LLM_URL) write the summary from the source's whole text: its stored text extraction when that one is complete (all pages, not truncated) and headers_footers is not asked, else a new text extraction, stored as well (password and headers_footers apply to it). " +
			"An llm summary is one page whose number is the first page summarized; metadata is the text extraction's, with metadata.engine set to llm:<model>, and so are its warnings; options.pages selects the pages summarized; options.max_chars caps the summary (a truncated warning says when it applied); " +
			"the model reads at most the assist context budget (the first 24000 code points by default; an input_truncated warning says when the text was longer); a source without text gives an empty summary without calling the model. " +
			"summarizer llm needs mode summary and does not take summary_sentences or chunking (422 validation_error naming the field); it is behind the ai.assist feature flag (403 feature_disabled when that is off for the tenant) and answers 503 dependency_unavailable when no language model is configured, never an extractive summary instead; " +
			"model failures answer 502 fetch_failed, 504 upstream_timeout or 503 dependency_unavailable with the model's Retry-After passed on.",
		Tags:     []string{"extraction"},
		Security: anonymousEditor,
		Errors: []int{http.StatusForbidden, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout},
	}, s.extract)
}

func (s *Server) extract(ctx context.Context, in *extractInput) (*extractOutput, error) {
	if o := in.Body.Options; o != nil && o.Summarizer == summarizerLLM {
		return s.extractLLM(ctx, in)
	}
	opts := extract.Options{Mode: extract.Mode(in.Body.Mode)}
	if o := in.Body.Options; o != nil {
		opts.Password, opts.Pages, opts.MaxChars, opts.SummarySentences = o.Password, o.Pages, o.MaxChars, o.SummarySentences
		opts.HeadersFooters = o.HeadersFooters
		opts.Chunking = o.Chunking.options()
	}
	release, err := s.acquireFor(ctx, s.tenant(ctx), in.Body.SourceID)
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

// extractLLM serves POST /extract with options.summarizer llm: the
// language model summarizes the source's whole text (or the selected
// pages), and the summary is stored as the source's summary extraction.
func (s *Server) extractLLM(ctx context.Context, in *extractInput) (*extractOutput, error) {
	id, o := in.Body.SourceID, in.Body.Options
	if err := checkLLMOptions(extract.Mode(in.Body.Mode), o); err != nil {
		return nil, s.fail(ctx, err)
	}
	sel, err := extract.ParsePageRanges(o.Pages)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if e := s.requireFlag(ctx, flags.AIAssist); e != nil {
		return nil, e
	}
	if s.deps.Assist == nil || !s.deps.Assist.Generative() {
		e := newError(http.StatusServiceUnavailable, CodeDependencyUnavailable, "summarizer llm needs a language model (QUARRY_LLM_URL)")
		e.RequestID = requestIDFrom(ctx)
		return nil, e
	}
	details := map[string]any{"mode": string(extract.ModeSummary), "summarizer": summarizerLLM}
	failed := func(err error) error {
		details["code"], _ = ErrorCode(err)
		s.record(ctx, principal(ctx), "extraction.failed", "source", id, resultOfSource(err), details)
		return s.fail(ctx, err)
	}

	tenant := s.tenant(ctx)
	tx, err := s.deps.Sources.GetExtraction(ctx, tenant, id, extract.ModeText)
	if err != nil && !errors.Is(err, sources.ErrNotFound) {
		return nil, failed(err)
	}
	if err != nil || o.HeadersFooters || !completeText(&tx.Document) {
		release, aerr := s.acquireFor(ctx, tenant, id)
		if aerr != nil {
			return nil, aerr
		}
		tx, err = s.deps.Sources.Extract(ctx, tenant, id, extract.Options{Mode: extract.ModeText, Password: o.Password, HeadersFooters: o.HeadersFooters})
		release()
		if err != nil {
			return nil, failed(err)
		}
	}
	text, first := selectPages(&tx.Document, sel)
	x, err := s.deps.Sources.ExtractWith(ctx, tenant, id, extract.ModeSummary, func(ctx context.Context, _ extract.Input) (*extract.Document, error) {
		if strings.TrimSpace(text) == "" {
			return llmSummary(&tx.Document, sel, nil, first, o.MaxChars), nil
		}
		res, err := s.deps.Assist.Do(ctx, assist.Task{Kind: assist.Summarize, Text: text})
		if err != nil {
			return nil, err
		}
		if res.Provider == "extractive" {
			return nil, fmt.Errorf("%w: summarizer llm got an extractive summary", assist.ErrUnavailable)
		}
		return llmSummary(&tx.Document, sel, res, first, o.MaxChars), nil
	})
	if err != nil {
		return nil, failed(err)
	}
	d := x.Document
	details["parser"], details["engine"], details["pages"], details["duration_ms"] = d.Metadata.Parser, d.Metadata.Engine, len(d.Pages), x.DurationMS
	s.record(ctx, principal(ctx), "extraction.completed", "source", id, resultSuccess, details)
	return &extractOutput{Body: ok(ctx, *extractionDTO(x))}, nil
}

// checkLLMOptions refuses the options that summarizer llm does not take.
func checkLLMOptions(mode extract.Mode, o *extractOptions) error {
	switch {
	case mode != extract.ModeSummary:
		return &extract.OptionError{Field: "summarizer", Reason: "llm needs mode summary"}
	case o.SummarySentences != 0:
		return &extract.OptionError{Field: "summary_sentences", Reason: "applies to the extractive summarizer only"}
	case o.Chunking != nil:
		return &extract.OptionError{Field: "chunking", Reason: "applies to the extractive summarizer only"}
	}
	return nil
}

// requireFlag answers 403 feature_disabled when flag key is off for the
// caller's tenant, as requireFeatures does for a whole operation.
func (s *Server) requireFlag(ctx context.Context, key string) *errorEnvelope {
	if s.deps.Flags == nil {
		return nil
	}
	on, err := s.deps.Flags.Enabled(ctx, principal(ctx).TenantID, key)
	var e *errorEnvelope
	switch {
	case err != nil:
		s.log.ErrorContext(ctx, "feature flag check failed", "flag", key, "error", err.Error(), "request_id", requestIDFrom(ctx))
		e = newError(http.StatusInternalServerError, CodeInternal, "")
	case !on:
		e = newError(http.StatusForbidden, CodeFeatureDisabled, "the feature "+key+" is turned off")
	default:
		return nil
	}
	e.RequestID = requestIDFrom(ctx)
	return e
}

// completeText reports whether a text extraction holds the whole text:
// every page, nothing cut. One made with options.pages or max_chars does
// not.
func completeText(d *extract.Document) bool {
	for _, w := range d.Warnings {
		if w.Code == extract.WarnTruncated {
			return false
		}
	}
	return len(d.Pages) >= d.Metadata.PageCount
}

// selectPages returns the text of the pages of d that sel selects (all of
// them when sel is nil), joined as the Extractor joins pages, and the
// number of the first one (1 when none is).
func selectPages(d *extract.Document, sel map[int]bool) (text string, first int) {
	if sel == nil {
		if len(d.Pages) > 0 {
			first = d.Pages[0].Number
		}
		return d.Text, max(first, 1)
	}
	var parts []string
	for _, p := range d.Pages {
		if sel[p.Number] {
			if first == 0 {
				first = p.Number
			}
			parts = append(parts, p.Text)
		}
	}
	return strings.Join(parts, "\n\n"), max(first, 1)
}

// llmSummary is the summary extraction made of res, the language model's
// summary of the text extraction tx: one page numbered first, the metadata
// of tx with metadata.engine naming the model, the warnings of tx (those
// about a page only when sel selects it), the text cut at maxChars code
// points when that is positive. A nil res is the empty summary of a source
// without text.
func llmSummary(tx *extract.Document, sel map[int]bool, res *assist.Result, first, maxChars int) *extract.Document {
	doc := &extract.Document{Pages: []extract.Page{}, Metadata: tx.Metadata, Warnings: []extract.Warning{}}
	doc.Metadata.Engine = ""
	for _, w := range tx.Warnings {
		if w.Page == 0 || sel == nil || sel[w.Page] {
			doc.Warnings = append(doc.Warnings, w)
		}
	}
	if res == nil {
		return doc
	}
	doc.Metadata.Engine = "llm:" + res.Model
	text := strings.TrimSpace(strings.NewReplacer("\r\n", "\n", "\r", "\n", "\x00", "").Replace(strings.ToValidUTF8(res.Output, "\uFFFD")))
	if res.InputTruncated {
		doc.Warnings = append(doc.Warnings, extract.Warning{Code: warnInputTruncated, Message: "the language model read only the first part of the text"})
	}
	cut := res.Truncated
	if maxChars > 0 && utf8.RuneCountInString(text) > maxChars {
		text, cut = runes.Cut(text, maxChars), true
	}
	n := utf8.RuneCountInString(text)
	if cut {
		doc.Warnings = append(doc.Warnings, extract.Warning{Code: extract.WarnTruncated, Message: "the summary was cut at " + strconv.Itoa(n) + " characters"})
	}
	doc.Text = text
	if text != "" {
		doc.Pages = []extract.Page{{Number: first, Text: text, Start: 0, End: n}}
	}
	return doc
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
