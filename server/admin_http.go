package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/quarryhq/quarry/audit"
	"github.com/quarryhq/quarry/auth"
	"github.com/quarryhq/quarry/flags"
)

// FeatureFlag is one known flag as the caller's tenant sees it.
type FeatureFlag struct {
	Key         string `json:"key"`
	Description string `json:"description"`
	Enabled     bool   `json:"enabled" doc:"effective for the caller's tenant"`
	Source      string `json:"source" enum:"default,global,tenant" doc:"where the effective value comes from"`
	Default     bool   `json:"default"`
	Global      *bool  `json:"global" doc:"the global override, null when none"`
	Tenant      *bool  `json:"tenant" doc:"the caller's tenant override, null when none"`
}

// FeatureFlags lists the known flags.
type FeatureFlags struct {
	TenantID string        `json:"tenant_id"`
	Flags    []FeatureFlag `json:"flags"`
}

type flagsOutput struct {
	Body Envelope[FeatureFlags]
}

type putFlagInput struct {
	Body struct {
		Key      string `json:"key" minLength:"1" maxLength:"64"`
		Enabled  bool   `json:"enabled"`
		Scope    string `json:"scope" enum:"global,tenant"`
		TenantID string `json:"tenant_id,omitempty" maxLength:"64" doc:"the caller's own tenant (the default); another tenant answers 404"`
	}
}

// AuditEvent is one audit record.
type AuditEvent struct {
	ID         string         `json:"id"`
	Time       time.Time      `json:"time"`
	TenantID   string         `json:"tenant_id"`
	ActorID    string         `json:"actor_id,omitempty"`
	ActorType  string         `json:"actor_type"`
	Action     string         `json:"action"`
	TargetType string         `json:"target_type,omitempty"`
	TargetID   string         `json:"target_id,omitempty"`
	Result     string         `json:"result" enum:"success,failure,denied"`
	RequestID  string         `json:"request_id,omitempty"`
	RemoteAddr string         `json:"remote_addr,omitempty"`
	Details    map[string]any `json:"details"`
}

// AuditList is one page of audit events.
type AuditList struct {
	Items      []AuditEvent `json:"items"`
	NextCursor *string      `json:"next_cursor"`
}

type auditListInput struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
	Cursor string `query:"cursor" maxLength:"256"`
	Action string `query:"action" maxLength:"64"`
	Actor  string `query:"actor" maxLength:"64"`
}

type auditListOutput struct {
	Body Envelope[AuditList]
}

func (s *Server) bindAdmin() {
	huma.Register(s.v1, huma.Operation{
		OperationID: "list-feature-flags", Method: http.MethodGet, Path: "/api/v1/admin/feature-flags",
		Summary: "List feature flags", Description: "Every known flag with its effective state for the caller's tenant.",
		Tags: []string{"admin"}, Security: needAdmin,
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden},
	}, s.listFlags)
	huma.Register(s.v1, huma.Operation{
		OperationID: "put-feature-flag", Method: http.MethodPut, Path: "/api/v1/admin/feature-flags",
		Summary:     "Set a feature flag",
		Description: "Sets a flag globally or for the caller's tenant (a tenant override beats the global value). Global flags are for admins of the default tenant, the operators of the installation. Every change is audited.",
		Tags:        []string{"admin"}, Security: needAdmin,
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, s.putFlag)
	huma.Register(s.v1, huma.Operation{
		OperationID: "list-audit-events", Method: http.MethodGet, Path: "/api/v1/admin/audit-events",
		Summary: "List audit events", Description: "The caller's tenant's audit trail, newest first, with cursor pagination.",
		Tags: []string{"admin"}, Security: needAdmin,
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusBadRequest},
	}, s.listAudit)
}

func (s *Server) requireFlags(ctx context.Context) error {
	if s.deps.Flags == nil {
		return s.invalid(ctx, http.StatusServiceUnavailable, CodeDependencyUnavailable, "feature flags are not configured on this server")
	}
	return nil
}

func (s *Server) listFlags(ctx context.Context, _ *struct{}) (*flagsOutput, error) {
	if err := s.requireFlags(ctx); err != nil {
		return nil, err
	}
	tenantID := principal(ctx).TenantID
	states, err := s.deps.Flags.States(ctx, tenantID)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := FeatureFlags{TenantID: tenantID, Flags: make([]FeatureFlag, 0, len(states))}
	for _, st := range states {
		out.Flags = append(out.Flags, FeatureFlag{Key: st.Key, Description: st.Description, Enabled: st.Enabled,
			Source: st.Source, Default: st.Default, Global: st.Global, Tenant: st.Tenant})
	}
	return &flagsOutput{Body: ok(ctx, out)}, nil
}

func (s *Server) putFlag(ctx context.Context, in *putFlagInput) (*flagsOutput, error) {
	if err := s.requireFlags(ctx); err != nil {
		return nil, err
	}
	p := principal(ctx)
	b := in.Body
	f := flags.Flag{Key: b.Key, Enabled: b.Enabled, Scope: flags.Scope(b.Scope)}
	switch f.Scope {
	case flags.ScopeTenant:
		if b.TenantID != "" && b.TenantID != p.TenantID {
			// Another tenant answers exactly like an unknown one.
			s.record(ctx, p, "flags.update", "flag", b.Key, resultDenied, map[string]any{"scope": b.Scope})
			return nil, s.invalid(ctx, http.StatusNotFound, CodeNotFound, "tenant not found")
		}
		f.TenantID = p.TenantID
	case flags.ScopeGlobal:
		if b.TenantID != "" {
			return nil, s.invalid(ctx, http.StatusUnprocessableEntity, CodeValidationError, "a global flag has no tenant",
				ErrorDetail{Field: "body.tenant_id", Message: "must be empty for scope global"})
		}
		if s.cfg.TenancyEnforced && p.TenantID != auth.DefaultTenantID {
			s.record(ctx, p, "flags.update", "flag", b.Key, resultDenied, map[string]any{"scope": b.Scope})
			return nil, s.invalid(ctx, http.StatusForbidden, CodeForbidden, "global flags are set by admins of the default tenant")
		}
	}
	_, err := s.deps.Flags.Set(ctx, f, p.UserID)
	s.record(ctx, p, "flags.update", "flag", b.Key, resultOf(err), map[string]any{"scope": b.Scope, "enabled": b.Enabled})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return s.listFlags(ctx, nil)
}

func (s *Server) listAudit(ctx context.Context, in *auditListInput) (*auditListOutput, error) {
	if s.deps.Audit == nil {
		return nil, s.invalid(ctx, http.StatusServiceUnavailable, CodeDependencyUnavailable, "auditing is not configured on this server")
	}
	page, err := s.deps.Audit.List(ctx, audit.ListParams{
		TenantID: principal(ctx).TenantID, Action: in.Action, Actor: in.Actor, Limit: in.Limit, Cursor: in.Cursor,
	})
	if err != nil {
		if errors.Is(err, audit.ErrInvalidCursor) {
			return nil, s.invalid(ctx, http.StatusBadRequest, CodeInvalidRequest, "the cursor is not valid", ErrorDetail{Field: "query.cursor", Message: "not a cursor this server issued"})
		}
		return nil, s.fail(ctx, err)
	}
	out := AuditList{Items: make([]AuditEvent, 0, len(page.Items))}
	for _, e := range page.Items {
		d := e.Details
		if d == nil {
			d = map[string]any{}
		}
		out.Items = append(out.Items, AuditEvent{ID: e.ID, Time: e.Time.UTC(), TenantID: e.TenantID, ActorID: e.ActorID,
			ActorType: e.ActorType, Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID, Result: e.Result,
			RequestID: e.RequestID, RemoteAddr: e.RemoteAddr, Details: d})
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	return &auditListOutput{Body: ok(ctx, out)}, nil
}

// requireFeatures answers 403 feature_disabled for an operation whose
// Metadata["feature"] names a flag that is off for the caller's tenant.
func (s *Server) requireFeatures(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(hctx huma.Context, next func(huma.Context)) {
		key, _ := hctx.Operation().Metadata["feature"].(string)
		if key == "" || s.deps.Flags == nil {
			next(hctx)
			return
		}
		if e := s.requireFlag(hctx.Context(), key); e != nil {
			s.writeErr(api, hctx, e)
			return
		}
		next(hctx)
	}
}
