package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"

	"github.com/quarryhq/quarry/assist"
	"github.com/quarryhq/quarry/flags"
)

// AssistDelta is the data of a delta event of POST /ai-assist/stream.
type AssistDelta struct {
	Text string `json:"text" doc:"the next piece of the output"`
}

// AssistStreamError is the data of an error event of POST
// /ai-assist/stream: a failure after the stream began.
type AssistStreamError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type assistStreamInput struct {
	Body assistRequest
}

func (s *Server) bindAssistStream() {
	op := huma.Operation{
		OperationID: "ai-assist-stream",
		Method:      http.MethodPost,
		Path:        "/api/v1/ai-assist/stream",
		Summary:     "Run an assist task, streaming its output",
		Description: "Takes the body of POST /ai-assist and answers text/event-stream (server-sent events, not an envelope) as the output is produced: `delta` events carry the next piece of the output (`{\"text\": ...}`), then one `done` event carries the Assist result, as POST /ai-assist returns it, or one `error` event (`{\"code\", \"message\"}`) when the provider fails after output began. " +
			"A failure before any output (validation, an unknown source, the provider refusing or unreachable) answers the usual JSON envelope with its status instead, so a client sees 503, 504 or 422 as it would from POST /ai-assist. " +
			"The extractive provider sends its whole output as one delta; an LLM streams token by token. Behind the ai.assist feature flag.",
		Tags:     []string{"assist"},
		Security: anonymousEditor,
		Metadata: map[string]any{"feature": flags.AIAssist},
		Errors:   []int{http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout},
	}
	reg := s.v1.OpenAPI().Components.Schemas
	event := func(name string, data *huma.Schema) *huma.Schema {
		return &huma.Schema{
			Title: "Event " + name, Type: huma.TypeObject, Required: []string{"event", "data"},
			Properties: map[string]*huma.Schema{
				"event": {Type: huma.TypeString, Enum: []any{name}},
				"data":  data,
			},
		}
	}
	op.Responses = map[string]*huma.Response{"200": {
		Description: "server-sent events: delta*, then done or error",
		Content: map[string]*huma.MediaType{"text/event-stream": {Schema: &huma.Schema{
			Type:        huma.TypeArray,
			Description: "The events, each serialised as `event: NAME` and `data: JSON` lines per the SSE specification.",
			Items: &huma.Schema{OneOf: []*huma.Schema{
				event("delta", reg.Schema(reflect.TypeFor[AssistDelta](), true, "")),
				event("done", reg.Schema(reflect.TypeFor[AssistResult](), true, "")),
				event("error", reg.Schema(reflect.TypeFor[AssistStreamError](), true, "")),
			}},
		}}},
	}}
	huma.Register(s.v1, op, s.assistStream)
}

// streamEvent is one thing the provider produced: a delta, or its end.
type streamEvent struct {
	delta string
	res   *assist.Result
	err   error
	end   bool
}

// assistStream runs the task in a goroutine and waits for its first
// event before answering: a failure before any output is a normal error
// response (status, envelope, Retry-After); from the first delta on the
// answer is a stream.
func (s *Server) assistStream(ctx context.Context, in *assistStreamInput) (*huma.StreamResponse, error) {
	task, err := s.assistTask(ctx, in.Body)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	events := make(chan streamEvent)
	send := func(ev streamEvent) error {
		select {
		case events <- ev:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	go func() {
		res, err := s.deps.Assist.Stream(ctx, task, func(d string) error { return send(streamEvent{delta: d}) })
		_ = send(streamEvent{res: res, err: err, end: true})
	}()
	var first streamEvent
	select {
	case first = <-events:
	case <-ctx.Done():
		cancel()
		return nil, s.fail(ctx, ctx.Err())
	}
	if first.end && first.err != nil {
		cancel()
		return nil, s.fail(ctx, first.err)
	}
	sourceID := in.Body.SourceID
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		defer cancel()
		hctx.SetHeader("Content-Type", "text/event-stream")
		hctx.SetHeader("Cache-Control", "no-store")
		hctx.SetHeader("X-Accel-Buffering", "no")
		hctx.SetStatus(http.StatusOK)
		w := hctx.BodyWriter()
		flush := func() {}
		if _, rw := humachi.Unwrap(hctx); rw != nil {
			rc := http.NewResponseController(rw)
			flush = func() { _ = rc.Flush() }
		}
		write := func(name string, v any) bool {
			b, err := json.Marshal(v)
			if err != nil {
				return false
			}
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b); err != nil {
				return false
			}
			flush()
			return true
		}
		ev := first
		for {
			switch {
			case !ev.end:
				if !write("delta", AssistDelta{Text: ev.delta}) {
					return // the client went away: cancel stops the provider
				}
			case ev.err != nil:
				code, msg := ErrorCode(ev.err)
				if code == CodeInternal {
					s.log.ErrorContext(ctx, "assist stream failed", "request_id", requestIDFrom(ctx), "error", ev.err.Error())
				}
				write("error", AssistStreamError{Code: code, Message: msg})
				return
			default:
				r := ev.res
				write("done", AssistResult{
					Task: string(r.Task), Output: r.Output, Provider: r.Provider, Model: r.Model,
					SourceID: sourceID, Usage: r.Usage, Citations: r.Citations,
				})
				return
			}
			select {
			case ev = <-events:
			case <-ctx.Done():
				return
			}
		}
	}}, nil
}
