package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/quarryhq/quarry/internal/ids"
	"github.com/quarryhq/quarry/storage"
)

// Config configures a Recorder.
type Config struct {
	// DB is the migrated database (required).
	DB *storage.DB
	// Logger receives a warning when an event's details had to be
	// trimmed (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Recorder writes audit events to the audit_events table and lists them.
// It is append-only: there is no way to change or remove an event through
// this package. It is safe for concurrent use.
type Recorder struct {
	db  *storage.DB
	log *slog.Logger
	now func() time.Time
	ids *ids.Generator
}

// New returns a Recorder. Errors name the Config field at fault.
func New(cfg Config) (*Recorder, error) {
	if cfg.DB == nil {
		return nil, errors.New("audit: Config.DB is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Recorder{db: cfg.DB, log: cfg.Logger, now: cfg.Now, ids: newIDGen()}, nil
}

const insertEvent = `INSERT INTO audit_events
	(id, tenant_id, actor_id, actor_type, action, target_type, target_id, result, request_id, remote_addr, details, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// Record stores e as a new event.
//
// It sets e.ID (any given value is replaced) and, when zero, e.Time. It
// refuses, with an error wrapping [ErrInvalidEvent], an Action that is not
// 1 to 64 characters of [a-z0-9._], a Result other than ResultSuccess,
// ResultFailure and ResultDenied, and an ActorType other than ActorUser,
// ActorAnonymous, ActorSystem or "" (which becomes ActorUser when ActorID
// is set, ActorAnonymous otherwise). The other string fields are cut to
// [MaxFieldLen] bytes.
//
// Details is sanitized so that no token, password or document text is
// ever stored: at every depth, keys that look secret (containing token,
// password, secret, authorization, cookie, text, content, body and the
// like, see the package documentation) or longer than [MaxDetailKeyLen]
// are dropped, strings that look like a bearer token or a JWT become
// "[redacted]", and every string is cut to [MaxDetailValueLen] characters.
// Details over [MaxDetailsBytes] once encoded are trimmed, not refused: the
// largest top-level keys are dropped until the rest fits, and
// [TruncatedKey] is set to true. An audit trail that loses an event
// because of its details would be worse than one with shorter details.
func (r *Recorder) Record(ctx context.Context, e Event) error {
	if !validAction(e.Action) {
		return fmt.Errorf("%w: action %q must be 1 to %d characters of [a-z0-9._]", ErrInvalidEvent, cutBytes(e.Action, MaxActionLen+8), MaxActionLen)
	}
	if !validResult(e.Result) {
		return fmt.Errorf("%w: result %q must be %q, %q or %q", ErrInvalidEvent, cutBytes(e.Result, 32), ResultSuccess, ResultFailure, ResultDenied)
	}
	if e.ActorType == "" {
		e.ActorType = ActorAnonymous
		if e.ActorID != "" {
			e.ActorType = ActorUser
		}
	}
	if !validActorType(e.ActorType) {
		return fmt.Errorf("%w: actor type %q must be %q, %q or %q", ErrInvalidEvent, cutBytes(e.ActorType, 32), ActorUser, ActorAnonymous, ActorSystem)
	}
	encoded, trimmed, err := sanitizeDetails(e.Details)
	if err != nil {
		return err
	}
	if trimmed {
		r.log.WarnContext(ctx, "audit event details trimmed", "action", e.Action, "max_bytes", MaxDetailsBytes)
	}
	now := r.now()
	if e.Time.IsZero() {
		e.Time = now
	}
	if e.ID, err = r.ids.Next(now); err != nil {
		return err
	}
	_, err = r.db.Write.ExecContext(ctx, r.db.Write.Rebind(insertEvent),
		e.ID,
		cutBytes(e.TenantID, MaxFieldLen),
		cutBytes(e.ActorID, MaxFieldLen),
		e.ActorType,
		e.Action,
		cutBytes(e.TargetType, MaxFieldLen),
		cutBytes(e.TargetID, MaxFieldLen),
		e.Result,
		cutBytes(e.RequestID, MaxFieldLen),
		cutBytes(e.RemoteAddr, MaxFieldLen),
		string(encoded),
		storage.Timestamp(e.Time),
	)
	if err != nil {
		return fmt.Errorf("audit: record %s: %w", e.Action, err)
	}
	return nil
}

// List defaults.
const (
	// DefaultListLimit is the page size when ListParams.Limit is 0 or
	// negative.
	DefaultListLimit = 20
	// MaxListLimit is the largest page; larger limits are clamped to it.
	MaxListLimit = 100
)

// ListParams filters and pages [Recorder.List].
type ListParams struct {
	// TenantID limits the list to one tenant's events. "" lists every
	// tenant's events (and the events of no tenant): only for callers
	// allowed to see every tenant.
	TenantID string
	// Action, when set, keeps only events with exactly this action.
	Action string
	// Actor, when set, keeps only events with exactly this ActorID.
	Actor string
	// Limit is the page size: DefaultListLimit when 0 or negative,
	// clamped to MaxListLimit.
	Limit int
	// Cursor is the NextCursor of the previous page, "" for the first.
	Cursor string
}

// ListPage is one page of events.
type ListPage struct {
	// Items is never nil.
	Items []*Event
	// NextCursor fetches the next page; "" on the last page.
	NextCursor string
}

const eventColumns = `id, tenant_id, actor_id, actor_type, action, target_type, target_id, result, request_id, remote_addr, details, created_at`

type eventRow struct {
	ID         string `db:"id"`
	TenantID   string `db:"tenant_id"`
	ActorID    string `db:"actor_id"`
	ActorType  string `db:"actor_type"`
	Action     string `db:"action"`
	TargetType string `db:"target_type"`
	TargetID   string `db:"target_id"`
	Result     string `db:"result"`
	RequestID  string `db:"request_id"`
	RemoteAddr string `db:"remote_addr"`
	Details    string `db:"details"`
	CreatedAt  string `db:"created_at"`
}

func (row *eventRow) event() (*Event, error) {
	t, err := storage.ParseTimestamp(row.CreatedAt)
	if err != nil {
		return nil, err
	}
	details := map[string]any{}
	if row.Details != "" {
		if err := json.Unmarshal([]byte(row.Details), &details); err != nil {
			return nil, fmt.Errorf("event %s: details: %w", row.ID, err)
		}
		if details == nil { // the JSON null
			details = map[string]any{}
		}
	}
	return &Event{
		ID:         row.ID,
		Time:       t,
		TenantID:   row.TenantID,
		ActorID:    row.ActorID,
		ActorType:  row.ActorType,
		Action:     row.Action,
		TargetType: row.TargetType,
		TargetID:   row.TargetID,
		Result:     row.Result,
		RequestID:  row.RequestID,
		RemoteAddr: row.RemoteAddr,
		Details:    details,
	}, nil
}

// List returns events newest first (in recording order, which is id
// order), filtered by p, one page at a time. A cursor this package did not
// issue gives ErrInvalidCursor. A cursor only says where the previous page
// ended: it never widens what the tenant and filters allow.
func (r *Recorder) List(ctx context.Context, p ListParams) (*ListPage, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	q := `SELECT ` + eventColumns + ` FROM audit_events WHERE 1 = 1`
	var args []any
	if p.TenantID != "" {
		q += ` AND tenant_id = ?`
		args = append(args, p.TenantID)
	}
	if p.Cursor != "" {
		after, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, err
		}
		q += ` AND id < ?`
		args = append(args, after)
	}
	if p.Action != "" {
		q += ` AND action = ?`
		args = append(args, p.Action)
	}
	if p.Actor != "" {
		q += ` AND actor_id = ?`
		args = append(args, p.Actor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)

	var rows []eventRow
	if err := r.db.Read.SelectContext(ctx, &rows, r.db.Read.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	items, next, err := ids.Page(rows, limit, (*eventRow).event, func(r *eventRow) string { return r.ID })
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	return &ListPage{Items: items, NextCursor: next}, nil
}
