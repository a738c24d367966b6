package assist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"
)

// Defaults of Config.
const (
	DefaultMaxInputChars  = 24000
	DefaultMaxOutputChars = 8000
	DefaultChunkChars     = 600
	DefaultTimeout        = 60 * time.Second
)

// Limits on the short fields of a Task, in code points.
const (
	maxInstructionChars = 2000
	maxQuestionChars    = 2000
	maxLanguageChars    = 64
)

// Config configures a Service. The zero value of every field but Provider
// means its default.
type Config struct {
	// Provider answers the tasks; required.
	Provider Provider
	// Logger receives one record per task (task, provider, model, sizes,
	// duration, error kind), never text or prompts. Nil means a logger that
	// discards everything.
	Logger *slog.Logger
	// MaxInputChars is the context budget: the most code points of source
	// text sent to the provider (default DefaultMaxInputChars).
	MaxInputChars int
	// MaxOutputChars caps the output in code points (default
	// DefaultMaxOutputChars).
	MaxOutputChars int
	// ChunkChars is the size of the passages the source is cut into when it
	// exceeds the budget (default DefaultChunkChars).
	ChunkChars int
	// Timeout bounds one task, retries included (default DefaultTimeout).
	Timeout time.Duration
}

// Service runs assist tasks on a provider. It is safe for concurrent use.
type Service struct {
	cfg Config
}

// New returns a Service, filling the defaults of cfg; it fails naming the
// field when cfg is invalid.
func New(cfg Config) (*Service, error) {
	if cfg.Provider == nil {
		return nil, errors.New("assist: Config.Provider is required")
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxInputChars", int64(cfg.MaxInputChars)},
		{"MaxOutputChars", int64(cfg.MaxOutputChars)},
		{"ChunkChars", int64(cfg.ChunkChars)},
		{"Timeout", int64(cfg.Timeout)},
	} {
		if f.v < 0 {
			return nil, fmt.Errorf("assist: Config.%s must not be negative", f.name)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.MaxInputChars == 0 {
		cfg.MaxInputChars = DefaultMaxInputChars
	}
	if cfg.MaxOutputChars == 0 {
		cfg.MaxOutputChars = DefaultMaxOutputChars
	}
	if cfg.ChunkChars == 0 {
		cfg.ChunkChars = DefaultChunkChars
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ChunkChars > cfg.MaxInputChars {
		cfg.ChunkChars = cfg.MaxInputChars
	}
	return &Service{cfg: cfg}, nil
}

// Validate checks t; the error is a *ValidationError naming the field.
func Validate(t Task) error {
	if t.Kind == "" {
		return &ValidationError{Field: "task", Reason: "required"}
	}
	if !t.Kind.Valid() {
		return &ValidationError{Field: "task", Reason: fmt.Sprintf("unknown task %q (want summarize, rewrite, titles, ask or translate)", t.Kind)}
	}
	if strings.TrimSpace(t.Text) == "" {
		return &ValidationError{Field: "text", Reason: "required"}
	}
	if !utf8.ValidString(t.Text) {
		return &ValidationError{Field: "text", Reason: "not valid UTF-8"}
	}
	check := func(field, v string, required bool, limit int) error {
		if required && strings.TrimSpace(v) == "" {
			return &ValidationError{Field: field, Reason: fmt.Sprintf("required for task %s", t.Kind)}
		}
		if !utf8.ValidString(v) {
			return &ValidationError{Field: field, Reason: "not valid UTF-8"}
		}
		if utf8.RuneCountInString(v) > limit {
			return &ValidationError{Field: field, Reason: fmt.Sprintf("longer than %d characters", limit)}
		}
		return nil
	}
	if err := check("question", t.Question, t.Kind == Ask, maxQuestionChars); err != nil {
		return err
	}
	if err := check("instruction", t.Instruction, t.Kind == Rewrite, maxInstructionChars); err != nil {
		return err
	}
	if err := check("language", t.Language, t.Kind == Translate, maxLanguageChars); err != nil {
		return err
	}
	if strings.ContainsAny(t.Language, "\r\n<>{}") {
		return &ValidationError{Field: "language", Reason: "must be a language name or tag"}
	}
	return nil
}

// Do runs t and returns its result, the output capped to MaxOutputChars.
func (s *Service) Do(ctx context.Context, t Task) (*Result, error) {
	return s.run(ctx, t, nil)
}

// Stream runs t like Do, calling yield with each piece of output as it
// arrives when the provider is a Streamer (once with the whole output
// otherwise). The pieces are capped like the output: the last one may be
// cut, and the provider is stopped when the cap is reached. An error from
// yield stops the task and is returned.
func (s *Service) Stream(ctx context.Context, t Task, yield func(delta string) error) (*Result, error) {
	if yield == nil {
		return nil, errors.New("assist: Stream needs a yield function")
	}
	return s.run(ctx, t, yield)
}

// errCapped stops a streaming provider once the output cap is reached.
var errCapped = errors.New("assist: output cap reached")

func (s *Service) run(ctx context.Context, t Task, yield func(string) error) (*Result, error) {
	if err := Validate(t); err != nil {
		return nil, err
	}
	start := time.Now()
	req, cut := ground(t.Text, t.Kind, t.Question, s.cfg.MaxInputChars, s.cfg.ChunkChars)
	req.Task, req.Instruction, req.Question, req.Language = t.Kind, t.Instruction, t.Question, t.Language
	req.MaxOutputChars = s.cfg.MaxOutputChars

	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()

	var (
		resp    *Response
		err     error
		capped  bool
		emitted int
		sofar   strings.Builder
	)
	st, canStream := s.cfg.Provider.(Streamer)
	switch {
	case yield != nil && canStream:
		resp, err = st.Stream(ctx, req, func(delta string) error {
			room := s.cfg.MaxOutputChars - emitted
			n := utf8.RuneCountInString(delta)
			if n > room {
				delta, n, capped = truncate(delta, room), room, true
			}
			emitted += n
			sofar.WriteString(delta)
			if delta != "" {
				if err := yield(delta); err != nil {
					return err
				}
			}
			if capped {
				return errCapped
			}
			return nil
		})
		if capped && errors.Is(err, errCapped) {
			if resp == nil {
				resp = &Response{}
			}
			resp.Output, err = sofar.String(), nil
		}
	default:
		resp, err = s.cfg.Provider.Complete(ctx, req)
	}
	if err == nil && resp == nil {
		err = fmt.Errorf("%w: provider returned no response", ErrUpstream)
	}
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded && !errors.Is(err, ErrUpstreamTimeout) {
			err = &UpstreamError{Kind: ErrUpstreamTimeout, Err: err}
		}
		s.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "assist failed",
			slog.String("task", string(t.Kind)),
			slog.Int("input_chars", utf8.RuneCountInString(req.Text)),
			slog.String("error_kind", errorKind(err)),
			slog.Duration("duration", time.Since(start)))
		return nil, err
	}
	out := resp.Output
	if utf8.RuneCountInString(out) > s.cfg.MaxOutputChars {
		out, capped = truncate(out, s.cfg.MaxOutputChars), true
	}
	if yield != nil && !canStream && out != "" {
		if err := yield(out); err != nil {
			return nil, err
		}
	}
	res := &Result{
		Task:           t.Kind,
		Output:         out,
		Provider:       resp.Provider,
		Model:          resp.Model,
		Usage:          resp.Usage,
		Citations:      resp.Citations,
		Truncated:      capped,
		InputTruncated: cut,
	}
	s.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "assist done",
		slog.String("task", string(t.Kind)),
		slog.String("provider", res.Provider),
		slog.String("model", res.Model),
		slog.Int("input_chars", utf8.RuneCountInString(req.Text)),
		slog.Bool("input_truncated", cut),
		slog.Int("output_chars", utf8.RuneCountInString(out)),
		slog.Bool("output_truncated", capped),
		slog.Int("input_tokens", res.Usage.InputTokens),
		slog.Int("output_tokens", res.Usage.OutputTokens),
		slog.Duration("duration", time.Since(start)))
	return res, nil
}

// errorKind names err's class for logs; it never includes err's text, which
// may quote the upstream answer.
func errorKind(err error) string {
	switch {
	case errors.Is(err, ErrUpstreamTimeout):
		return "upstream_timeout"
	case errors.Is(err, ErrRateLimited):
		return "rate_limited"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, ErrUpstream):
		return "upstream_error"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "other"
}

// truncate returns the first n code points of s.
func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k]
		}
		i++
	}
	return s
}
