package server

import (
	"context"
	"errors"
	"log/slog"

	"github.com/quarryhq/quarry/audit"
	"github.com/quarryhq/quarry/auth"
)

// Audit results.
const (
	resultSuccess = "success"
	resultFailure = "failure"
	resultDenied  = "denied"
)

func resultOf(err error) string {
	switch {
	case err == nil:
		return resultSuccess
	case errors.Is(err, auth.ErrNotFound):
		return resultDenied
	}
	return resultFailure
}

// record writes one audit event for the caller p (nil: unauthenticated).
// Auditing never fails a request: a failed write is logged.
func (s *Server) record(ctx context.Context, p *auth.Principal, action, targetType, targetID, result string, details map[string]any) {
	if s.deps.Audit == nil {
		return
	}
	e := audit.Event{
		Action: action, TargetType: targetType, TargetID: targetID, Result: result,
		RequestID: requestIDFrom(ctx), RemoteAddr: clientIP(ctx), Details: details,
		TenantID: auth.DefaultTenantID, ActorType: "anonymous",
	}
	if p != nil && !p.Anonymous {
		e.TenantID, e.ActorID, e.ActorType = p.TenantID, p.UserID, "user"
	}
	if err := s.deps.Audit.Record(context.WithoutCancel(ctx), e); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "audit write failed", slog.String("action", action), slog.String("request_id", e.RequestID), slog.String("error", err.Error()))
	}
}

// AuthAuditor adapts an audit.Recorder to what package auth records (login
// failures, refresh-token reuse, revocations), adding the request id and
// client address of the request in ctx.
func AuthAuditor(rec *audit.Recorder) auth.Auditor { return authAuditor{rec} }

type authAuditor struct{ rec *audit.Recorder }

func (a authAuditor) Record(ctx context.Context, e auth.AuditEvent) error {
	actorType := "user"
	if e.ActorID == "" {
		actorType = "anonymous"
	} else if e.ActorID == auth.ActorSystem {
		actorType = "system"
	}
	return a.rec.Record(ctx, audit.Event{
		TenantID: e.TenantID, ActorID: e.ActorID, ActorType: actorType, Action: e.Action,
		TargetType: e.TargetType, TargetID: e.TargetID, Result: e.Result, Details: e.Details,
		RequestID: requestIDFrom(ctx), RemoteAddr: clientIP(ctx),
	})
}
