package server

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// Health is the body of /health.
type Health struct {
	Status  string            `json:"status" enum:"ok" doc:"ok when every check passes"`
	Version string            `json:"version"`
	Checks  map[string]string `json:"checks" doc:"each dependency and its state: ok, or why it failed"`
	Parsers []string          `json:"parsers,omitempty" doc:"registered document parsers"`
	Engines map[string]string `json:"engines,omitempty" doc:"optional engines and what serves them, such as ffmpeg: ok or unavailable (video-to-text is off without it), transcriber: pocketsphinx, whisper or off (subtitles only), ocr: tesseract or off, llm: the model or extractive; their absence never fails the health check"`
}

type healthOutput struct {
	Body Envelope[Health]
}

func (s *Server) bindHealth() {
	op := huma.Operation{
		Method:      http.MethodGet,
		Summary:     "Health",
		Description: "Reports the server version and the state of its dependencies (database, blob storage). Answers 503 dependency_unavailable when a check fails.",
		Tags:        []string{"health"},
		Errors:      []int{http.StatusServiceUnavailable},
		Security:    public,
	}
	root := op
	root.OperationID, root.Path = "health-root", "/health"
	root.Summary = "Health (root alias)"
	huma.Register(s.v1, root, s.health)
	v1 := op
	v1.OperationID, v1.Path = "health", "/api/v1/health"
	huma.Register(s.v1, v1, s.health)
	v2 := op
	v2.OperationID, v2.Path = "health-v2", "/api/v2/health"
	huma.Register(s.v2, v2, s.health)
}

func (s *Server) health(ctx context.Context, _ *struct{}) (*healthOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	h := Health{Status: "ok", Version: s.cfg.Version, Checks: map[string]string{}}
	var failed []ErrorDetail
	names := make([]string, 0, len(s.deps.Checks))
	for name := range s.deps.Checks {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := s.deps.Checks[name].Ping(ctx); err != nil {
			s.log.ErrorContext(ctx, "health check failed", "check", name, "error", err.Error(), "request_id", requestIDFrom(ctx))
			h.Checks[name] = "unavailable"
			failed = append(failed, ErrorDetail{Field: "checks." + name, Message: "unavailable"})
			continue
		}
		h.Checks[name] = "ok"
	}
	if s.deps.Extractor != nil {
		h.Parsers = s.deps.Extractor.Registry().Parsers()
	}
	if len(s.deps.Engines) > 0 {
		h.Engines = s.deps.Engines
	}
	if len(failed) > 0 {
		e := newError(http.StatusServiceUnavailable, CodeDependencyUnavailable, "a dependency is unavailable", failed...)
		e.RequestID = requestIDFrom(ctx)
		return nil, e
	}
	return &healthOutput{Body: ok(ctx, h)}, nil
}
