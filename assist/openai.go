package assist

import (
	"context"
	"errors"
	"fmt"
	"github.com/quarryhq/quarry/internal/upstream"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// OpenAIConfig configures the OpenAI provider.
type OpenAIConfig struct {
	// BaseURL is the server's API root, e.g. "https://api.openai.com/v1" or
	// "http://localhost:11434/v1" (Ollama); required (QUARRY_LLM_URL).
	BaseURL string
	// Model is the model name; required (QUARRY_LLM_MODEL).
	Model string
	// APIKey is sent as a bearer token when set (QUARRY_LLM_API_KEY).
	APIKey string
	// HTTPClient sends the requests (default: a client without timeout; the
	// Service's deadline bounds each task).
	HTTPClient *http.Client
	// MaxResponseBytes caps the bytes read from one response, streamed or
	// not (default 4 MiB); a larger answer fails with ErrUpstream.
	MaxResponseBytes int64
	// RetryBackoff is the wait before the one retry (default 500ms); a
	// longer Retry-After from the server wins when the deadline allows it.
	RetryBackoff time.Duration
}

// OpenAI is a provider for any OpenAI-compatible chat-completions server
// (OpenAI, Ollama, llama.cpp server, vLLM, LocalAI). It implements Provider
// and Streamer. A failed request is retried once, only after a 5xx answer
// or a connection error, never after a 4xx; the SDK's own retries are off.
// It ignores the OPENAI_* environment variables: everything comes from
// OpenAIConfig.
type OpenAI struct {
	cfg  OpenAIConfig
	chat openai.ChatCompletionService
}

// NewOpenAI returns an OpenAI provider. A config without BaseURL or Model
// fails with an error wrapping ErrUnavailable (not configured).
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	if cfg.BaseURL == "" {
		return nil, fmt.Errorf("%w: OpenAIConfig.BaseURL is required", ErrUnavailable)
	}
	if cfg.Model == "" {
		return nil, fmt.Errorf("%w: OpenAIConfig.Model is required", ErrUnavailable)
	}
	if cfg.MaxResponseBytes < 0 {
		return nil, errors.New("assist: OpenAIConfig.MaxResponseBytes must not be negative")
	}
	if cfg.RetryBackoff < 0 {
		return nil, errors.New("assist: OpenAIConfig.RetryBackoff must not be negative")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = 4 << 20
	}
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = 500 * time.Millisecond
	}
	limit := cfg.MaxResponseBytes
	opts := []option.RequestOption{
		option.WithBaseURL(strings.TrimRight(cfg.BaseURL, "/") + "/"),
		option.WithHTTPClient(cfg.HTTPClient),
		option.WithMaxRetries(0),
		option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
			resp, err := next(r)
			if resp != nil && resp.Body != nil {
				resp.Body = &cappedBody{rc: resp.Body, left: limit}
			}
			return resp, err
		}),
	}
	if cfg.APIKey != "" {
		opts = append(opts, option.WithAPIKey(cfg.APIKey))
	}
	// NewChatCompletionService, unlike openai.NewClient, reads no
	// environment variable.
	return &OpenAI{cfg: cfg, chat: openai.NewChatCompletionService(opts...)}, nil
}

var errTooLarge = errors.New("assist: upstream response too large")

// cappedBody fails once more than left bytes have been read.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.rc.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *cappedBody) Close() error { return c.rc.Close() }

func (o *OpenAI) params(req Request) (openai.ChatCompletionNewParams, error) {
	system, user, err := Prompt(req)
	if err != nil {
		return openai.ChatCompletionNewParams{}, err
	}
	p := openai.ChatCompletionNewParams{
		Model: o.cfg.Model,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage(system),
			openai.UserMessage(user),
		},
	}
	if req.MaxOutputChars > 0 {
		// About 4 characters a token; leave room so the cap, not the
		// model, cuts. max_tokens is what compatible servers understand.
		p.MaxTokens = openai.Int(int64(req.MaxOutputChars/2 + 16))
	}
	return p, nil
}

// Complete implements Provider.
func (o *OpenAI) Complete(ctx context.Context, req Request) (*Response, error) {
	p, err := o.params(req)
	if err != nil {
		return nil, err
	}
	var out *openai.ChatCompletion
	err = o.retry(ctx, func() (bool, error) {
		var err error
		out, err = o.chat.New(ctx, p)
		return true, err
	})
	if err != nil {
		return nil, err
	}
	if len(out.Choices) == 0 {
		return nil, &UpstreamError{Kind: ErrUpstream, Err: errors.New("answer without choices")}
	}
	return &Response{
		Output:   out.Choices[0].Message.Content,
		Provider: "openai",
		Model:    modelOr(out.Model, o.cfg.Model),
		Usage:    Usage{InputTokens: int(out.Usage.PromptTokens), OutputTokens: int(out.Usage.CompletionTokens)},
	}, nil
}

// Stream implements Streamer. A failure is retried only before the first
// piece of output reached yield.
func (o *OpenAI) Stream(ctx context.Context, req Request, yield func(string) error) (*Response, error) {
	p, err := o.params(req)
	if err != nil {
		return nil, err
	}
	p.StreamOptions.IncludeUsage = openai.Bool(true)
	var (
		b     strings.Builder
		usage Usage
		model string
	)
	err = o.retry(ctx, func() (bool, error) {
		s := o.chat.NewStreaming(ctx, p)
		defer s.Close()
		for s.Next() {
			c := s.Current()
			if c.Model != "" {
				model = c.Model
			}
			if c.Usage.PromptTokens > 0 || c.Usage.CompletionTokens > 0 {
				usage = Usage{InputTokens: int(c.Usage.PromptTokens), OutputTokens: int(c.Usage.CompletionTokens)}
			}
			if len(c.Choices) == 0 || c.Choices[0].Delta.Content == "" {
				continue
			}
			d := c.Choices[0].Delta.Content
			b.WriteString(d)
			if err := yield(d); err != nil {
				return false, errYield{err}
			}
		}
		return b.Len() == 0, s.Err()
	})
	resp := &Response{Output: b.String(), Provider: "openai", Model: modelOr(model, o.cfg.Model), Usage: usage}
	var ye errYield
	if errors.As(err, &ye) {
		return resp, ye.err
	}
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// errYield carries an error returned by the caller's yield through retry.
type errYield struct{ err error }

func (e errYield) Error() string { return e.err.Error() }

func modelOr(m, def string) string {
	if m != "" {
		return m
	}
	return def
}

// retry runs call, and once more when it failed with a retryable error and
// may be repeated (call reports that with its first result).
func (o *OpenAI) retry(ctx context.Context, call func() (repeatable bool, err error)) error {
	var ue *UpstreamError
	for attempt := 1; ; attempt++ {
		repeatable, err := call()
		if err == nil {
			return nil
		}
		if _, ok := err.(errYield); ok {
			return err
		}
		var retryable bool
		ue, retryable = classify(ctx, err)
		ue.Attempts = attempt
		if attempt == 2 || !retryable || !repeatable {
			return ue
		}
		wait := max(o.cfg.RetryBackoff, ue.RetryAfter)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return ue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ue
		case <-t.C:
		}
	}
}

// classify maps a client error to an UpstreamError and says whether one
// retry is allowed (5xx and connection errors only).
func classify(ctx context.Context, err error) (*UpstreamError, bool) {
	var apiErr *openai.Error
	switch {
	case errors.As(err, &apiErr):
		ue := &UpstreamError{Kind: ErrUpstream, StatusCode: apiErr.StatusCode, Err: err}
		if apiErr.Response != nil {
			ue.RetryAfter = upstream.RetryAfter(apiErr.Response.Header)
		}
		switch {
		case apiErr.StatusCode == http.StatusTooManyRequests:
			ue.Kind = ErrRateLimited
			return ue, false
		case apiErr.StatusCode == http.StatusRequestTimeout || apiErr.StatusCode == http.StatusGatewayTimeout:
			ue.Kind = ErrUpstreamTimeout
			return ue, false
		case apiErr.StatusCode >= 500:
			return ue, true
		}
		return ue, false
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded:
		return &UpstreamError{Kind: ErrUpstreamTimeout, Err: err}, false
	case errors.Is(err, context.Canceled):
		return &UpstreamError{Kind: ErrUpstream, Err: err}, false
	case errors.Is(err, errTooLarge):
		return &UpstreamError{Kind: ErrUpstream, Err: err}, false
	case errors.Is(err, syscall.ECONNREFUSED):
		return &UpstreamError{Kind: ErrUnavailable, Err: err}, true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &UpstreamError{Kind: ErrUpstreamTimeout, Err: err}, false
	}
	var oe *net.OpError
	if errors.As(err, &oe) || errors.Is(err, syscall.ECONNRESET) {
		return &UpstreamError{Kind: ErrUpstream, Err: err}, true
	}
	// Undecodable answer (malformed JSON) and the like: not worth a retry.
	return &UpstreamError{Kind: ErrUpstream, Err: err}, false
}
