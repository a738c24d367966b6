package server

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/quarryhq/quarry/assist"
	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/flags"
)

type assistInput struct {
	Body assistRequest
}

// assistRequest is the body of POST /ai-assist and /ai-assist/stream.
type assistRequest struct {
	Task        string `json:"task" enum:"summarize,rewrite,titles,ask,translate" doc:"what to do with the text"`
	SourceID    string `json:"source_id,omitempty" maxLength:"64" doc:"a stored source: its latest extraction is the text (extracted now when it has none); give source_id or text"`
	Text        string `json:"text,omitempty" maxLength:"1048576" doc:"the text itself, instead of source_id"`
	Instruction string `json:"instruction,omitempty" maxLength:"4000" doc:"how to rewrite (rewrite)"`
	Question    string `json:"question,omitempty" maxLength:"4000" doc:"what to answer from the text (ask)"`
	Language    string `json:"language,omitempty" maxLength:"64" doc:"the language to translate into (translate)"`
}

// AssistResult is the contract's Assist result.
type AssistResult struct {
	Task      string            `json:"task"`
	Output    string            `json:"output"`
	Provider  string            `json:"provider"`
	Model     string            `json:"model"`
	SourceID  string            `json:"source_id,omitempty"`
	Usage     assist.Usage      `json:"usage"`
	Citations []assist.Citation `json:"citations,omitempty" doc:"spans of the source text that support the answer: [start, end) in code points"`
}

type assistOutput struct {
	Body Envelope[AssistResult]
}

// assistTask checks the request and builds its task, extracting the text
// of a source that has no text extraction yet. Its errors are responses.
func (s *Server) assistTask(ctx context.Context, b assistRequest) (assist.Task, error) {
	if s.deps.Assist == nil {
		return assist.Task{}, s.fail(ctx, assist.ErrUnavailable)
	}
	if (b.SourceID == "") == (b.Text == "") {
		return assist.Task{}, s.fail(ctx, &assist.ValidationError{Field: "source_id", Reason: "give source_id or text, not both"})
	}
	text := b.Text
	if b.SourceID != "" {
		x, err := s.deps.Sources.GetExtraction(ctx, s.tenant(ctx), b.SourceID, extract.ModeText)
		if err != nil {
			release, aerr := s.acquireFor(ctx, s.tenant(ctx), b.SourceID)
			if aerr != nil {
				return assist.Task{}, aerr
			}
			x, err = s.deps.Sources.Extract(ctx, s.tenant(ctx), b.SourceID, extract.Options{})
			release()
		}
		if err != nil {
			return assist.Task{}, s.fail(ctx, err)
		}
		text = x.Document.Text
	}
	task := assist.Task{Kind: assist.Kind(b.Task), Text: text, Instruction: b.Instruction, Question: b.Question, Language: b.Language}
	if err := assist.Validate(task); err != nil {
		return assist.Task{}, s.fail(ctx, err)
	}
	return task, nil
}

func (s *Server) bindAssist() {
	huma.Register(s.v1, huma.Operation{
		OperationID: "ai-assist",
		Method:      http.MethodPost,
		Path:        "/api/v1/ai-assist",
		Summary:     "Summarize, rewrite, title, ask or translate a text",
		Description: "Runs an assist task over a stored source's text or a given text. The built-in extractive provider (no LLM configured) summarizes, proposes titles and answers questions with the best-matching passages and their citations; rewrite and translate need an LLM (QUARRY_LLM_URL) and answer 503 dependency_unavailable without one. " +
			"Provider failures answer 504 upstream_timeout, 502 fetch_failed or 503 dependency_unavailable, with the provider's Retry-After passed on. Behind the ai.assist feature flag.",
		Tags:     []string{"assist"},
		Security: anonymousEditor,
		Metadata: map[string]any{"feature": flags.AIAssist},
		Errors:   []int{http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout},
	}, s.assist)
}

func (s *Server) assist(ctx context.Context, in *assistInput) (*assistOutput, error) {
	b := in.Body
	task, err := s.assistTask(ctx, b)
	if err != nil {
		return nil, err
	}
	res, err := s.deps.Assist.Do(ctx, task)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &assistOutput{Body: ok(ctx, AssistResult{
		Task: string(res.Task), Output: res.Output, Provider: res.Provider, Model: res.Model,
		SourceID: b.SourceID, Usage: res.Usage, Citations: res.Citations,
	})}, nil
}
