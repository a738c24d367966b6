package assist

import (
	"context"
	"unicode/utf8"
)

// Kind names an assist task.
type Kind string

// The tasks of POST /ai-assist.
const (
	Summarize Kind = "summarize"
	Rewrite   Kind = "rewrite"
	Titles    Kind = "titles"
	Ask       Kind = "ask"
	Translate Kind = "translate"
)

// Valid reports whether k is one of the known tasks.
func (k Kind) Valid() bool {
	switch k {
	case Summarize, Rewrite, Titles, Ask, Translate:
		return true
	}
	return false
}

// Task is what a caller asks the Service to do.
type Task struct {
	// Kind is the task; required.
	Kind Kind
	// Text is the source text; required.
	Text string
	// Instruction says how to rewrite; required for Rewrite.
	Instruction string
	// Question is what to answer; required for Ask.
	Question string
	// Language is the target language (a name or a BCP 47 tag); required for
	// Translate.
	Language string
}

// Passage is a piece of the source text given to a provider, with its place
// in the source: [Start, End) in code points.
type Passage struct {
	Start, End int
	Text       string
}

// Request is what the Service hands to a Provider: the task with its source
// text already cut to the context budget.
type Request struct {
	Task Kind
	// Text is the grounding text: the source itself when it fits the
	// budget, else the selected passages joined by a blank line.
	Text string
	// Passages are the pieces Text is made of, in document order, with their
	// offsets in the source text. A provider that cites uses them to map
	// offsets in Text back to the source (see Request.SourceOffset).
	Passages []Passage
	// Instruction, Question and Language are copied from the Task.
	Instruction, Question, Language string
	// MaxOutputChars caps the answer in code points; a provider may stop
	// early, the Service truncates anyway.
	MaxOutputChars int
}

// SourceOffset maps an offset in r.Text (code points) to an offset in the
// source text. Offsets in the separators between passages map to the end of
// the preceding passage.
func (r *Request) SourceOffset(i int) int {
	pos := 0
	for k, p := range r.Passages {
		n := p.End - p.Start
		if i <= pos+n {
			return p.Start + max(0, i-pos)
		}
		pos += n
		if k < len(r.Passages)-1 {
			pos += utf8.RuneCountInString(passageSep)
			if i < pos {
				return p.End
			}
		}
	}
	if len(r.Passages) == 0 {
		return i
	}
	return r.Passages[len(r.Passages)-1].End
}

// Usage counts tokens as the provider reports them (estimated when it does
// not).
type Usage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

// Citation is a span of the source text that supports an answer: [Start, End)
// in code points.
type Citation struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// Response is a provider's answer.
type Response struct {
	Output string
	// Provider names the provider ("openai", "extractive").
	Provider string
	// Model names the model that answered.
	Model string
	Usage Usage
	// Citations are offsets into the source text (not into Request.Text).
	Citations []Citation
}

// Provider answers requests. It is the whole core of a provider; the
// optional Streamer adds streaming. Implementations must be safe for
// concurrent use and must not log the text or the prompts.
type Provider interface {
	Complete(ctx context.Context, req Request) (*Response, error)
}

// Streamer is implemented by providers that can stream their answer. Stream
// calls yield with each piece of output as it arrives; when yield returns an
// error, Stream stops and returns it, with the Response so far when it has
// one. The returned Response holds the whole output.
type Streamer interface {
	Stream(ctx context.Context, req Request, yield func(delta string) error) (*Response, error)
}

// Result is the answer of Service.Do: the contract's "Assist result".
type Result struct {
	Task      Kind       `json:"task"`
	Output    string     `json:"output"`
	Provider  string     `json:"provider"`
	Model     string     `json:"model"`
	Usage     Usage      `json:"usage"`
	Citations []Citation `json:"citations,omitempty"`
	// Truncated reports that the output was cut to Config.MaxOutputChars.
	Truncated bool `json:"-"`
	// InputTruncated reports that the source text did not fit
	// Config.MaxInputChars and only part of it was sent.
	InputTruncated bool `json:"-"`
}
