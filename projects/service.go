package projects

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/quarryhq/quarry/internal/ids"
	"github.com/quarryhq/quarry/storage"
)

// Config configures a Service.
type Config struct {
	// DB is the migrated database (required).
	DB *storage.DB
	// Logger (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service stores projects and their sources. It is safe for concurrent
// use.
type Service struct {
	db  *storage.DB
	log *slog.Logger
	now func() time.Time
	ids *ids.Generator
}

// New returns a Service. Errors name the Config field at fault.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil {
		return nil, errors.New("projects: Config.DB is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{db: cfg.DB, log: cfg.Logger, now: cfg.Now, ids: newIDGen()}, nil
}

// projectRow is a row of projects with its source count.
type projectRow struct {
	ID          string `db:"id"`
	TenantID    string `db:"tenant_id"`
	Name        string `db:"name"`
	Description string `db:"description"`
	CreatedAt   string `db:"created_at"`
	UpdatedAt   string `db:"updated_at"`
	SourceCount int    `db:"source_count"`
}

const projectSelect = `SELECT p.id, p.tenant_id, p.name, p.description, p.created_at, p.updated_at,
	(SELECT COUNT(*) FROM project_sources ps WHERE ps.project_id = p.id) AS source_count
	FROM projects p`

func (r *projectRow) project() (*Project, error) {
	created, err := storage.ParseTimestamp(r.CreatedAt)
	if err != nil {
		return nil, err
	}
	updated, err := storage.ParseTimestamp(r.UpdatedAt)
	if err != nil {
		return nil, err
	}
	return &Project{
		ID: r.ID, TenantID: r.TenantID, Name: r.Name, Description: r.Description,
		SourceCount: r.SourceCount, CreatedAt: created, UpdatedAt: updated,
	}, nil
}

// queryer is a pool or a transaction.
type queryer interface {
	sqlx.QueryerContext
	Rebind(query string) string
}

// get reads project id of tenantID through q.
func get(ctx context.Context, q queryer, tenantID, id string) (*Project, error) {
	if tenantID == "" {
		return nil, ErrNoTenant
	}
	if !ValidID(id) {
		return nil, ErrNotFound
	}
	var row projectRow
	err := sqlx.GetContext(ctx, q, &row, q.Rebind(projectSelect+` WHERE p.id = ? AND p.tenant_id = ?`), id, tenantID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, err
	}
	return row.project()
}

// nameTaken reports whether another project of tenantID than exceptID has
// the name key.
func nameTaken(ctx context.Context, tx *sqlx.Tx, tenantID, key, exceptID string) (bool, error) {
	var n int
	err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM projects WHERE tenant_id = ? AND name_key = ? AND id <> ?`), tenantID, key, exceptID)
	return n > 0, err
}

// isUniqueViolation reports a unique constraint failure of SQLite or
// PostgreSQL: a concurrent writer in another process took the name.
func isUniqueViolation(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "duplicate key value")
}

// Create makes a project named name (trimmed; 1 to MaxNameLen code points,
// no control characters) with description (trimmed; at most
// MaxDescriptionLen code points) in tenantID. A name already used in the
// tenant, whatever its case, is ErrConflict; a bad name or description a
// *ValidationError.
func (s *Service) Create(ctx context.Context, tenantID, name, description string) (*Project, error) {
	if tenantID == "" {
		return nil, ErrNoTenant
	}
	name, err := cleanName(name)
	if err != nil {
		return nil, err
	}
	description, err = cleanDescription(description)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond) // as stored
	id, err := s.ids.Next(now)
	if err != nil {
		return nil, fmt.Errorf("projects: create: %w", err)
	}
	key, ts := nameKey(name), storage.Timestamp(now)
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if taken, err := nameTaken(ctx, tx, tenantID, key, ""); err != nil {
			return err
		} else if taken {
			return ErrConflict
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO projects (id, tenant_id, name, name_key, description, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`), id, tenantID, name, key, description, ts, ts)
		if err != nil && isUniqueViolation(err) {
			return ErrConflict
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("projects: create %q: %w", name, err)
	}
	return &Project{ID: id, TenantID: tenantID, Name: name, Description: description, CreatedAt: now, UpdatedAt: now}, nil
}

// Get returns project id of tenantID, or ErrNotFound (also for another
// tenant's project).
func (s *Service) Get(ctx context.Context, tenantID, id string) (*Project, error) {
	p, err := get(ctx, s.db.Read, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("projects: get %s: %w", id, err)
	}
	return p, nil
}

// List limits.
const (
	DefaultListLimit = 20
	MaxListLimit     = 100
)

// ListParams selects a page of projects.
type ListParams struct {
	// TenantID scopes the list (required).
	TenantID string
	// Limit is the page size: 0 or less means DefaultListLimit, more than
	// MaxListLimit is clamped to it.
	Limit int
	// Cursor is a ListPage.NextCursor from an earlier call, "" for the
	// first page.
	Cursor string
}

// ListPage is one page of projects, newest first.
type ListPage struct {
	// Items is never nil.
	Items []*Project
	// NextCursor fetches the next page; "" on the last page.
	NextCursor string
}

// List returns the tenant's projects newest first (by id: ids are ULIDs
// made in order), one page at a time. A cursor this package did not issue
// answers ErrInvalidCursor. Pages are stable under concurrent inserts: new
// projects sort before the cursor.
func (s *Service) List(ctx context.Context, p ListParams) (*ListPage, error) {
	if p.TenantID == "" {
		return nil, ErrNoTenant
	}
	limit := p.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	q := projectSelect + ` WHERE p.tenant_id = ?`
	args := []any{p.TenantID}
	if p.Cursor != "" {
		after, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, err
		}
		q += ` AND p.id < ?`
		args = append(args, after)
	}
	q += ` ORDER BY p.id DESC LIMIT ?`
	args = append(args, limit+1)
	var rows []projectRow
	if err := s.db.Read.SelectContext(ctx, &rows, s.db.Read.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("projects: list: %w", err)
	}
	items, next, err := ids.Page(rows, limit, (*projectRow).project, func(r *projectRow) string { return r.ID })
	if err != nil {
		return nil, fmt.Errorf("projects: list: %w", err)
	}
	return &ListPage{Items: items, NextCursor: next}, nil
}

// Update holds the fields to change; nil fields stay as they are.
type Update struct {
	Name        *string
	Description *string
}

// Update changes the name and/or description of project id, with the rules
// of Create, and returns the project as stored. Renaming to the project's
// own name in another case is allowed; to another project's name is
// ErrConflict. An Update without fields returns the project unchanged.
func (s *Service) Update(ctx context.Context, tenantID, id string, u Update) (*Project, error) {
	var name, description string
	var err error
	if u.Name != nil {
		if name, err = cleanName(*u.Name); err != nil {
			return nil, err
		}
	}
	if u.Description != nil {
		if description, err = cleanDescription(*u.Description); err != nil {
			return nil, err
		}
	}
	var out *Project
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		cur, err := get(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		if u.Name == nil && u.Description == nil {
			out = cur
			return nil
		}
		if u.Name == nil {
			name = cur.Name
		}
		if u.Description == nil {
			description = cur.Description
		}
		key := nameKey(name)
		if taken, err := nameTaken(ctx, tx, tenantID, key, id); err != nil {
			return err
		} else if taken {
			return ErrConflict
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE projects SET name = ?, name_key = ?, description = ?, updated_at = ?
			WHERE id = ? AND tenant_id = ?`), name, key, description, storage.Timestamp(now), id, tenantID)
		if err != nil {
			if isUniqueViolation(err) {
				return ErrConflict
			}
			return err
		}
		cur.Name, cur.Description, cur.UpdatedAt = name, description, now
		out = cur
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("projects: update %s: %w", id, err)
	}
	return out, nil
}

// Delete removes project id and its memberships; its sources stay.
// ErrNotFound when the tenant has no such project.
func (s *Service) Delete(ctx context.Context, tenantID, id string) error {
	if tenantID == "" {
		return ErrNoTenant
	}
	if !ValidID(id) {
		return fmt.Errorf("projects: delete %s: %w", id, ErrNotFound)
	}
	res, err := s.db.Write.ExecContext(ctx, s.db.Write.Rebind(`DELETE FROM projects WHERE id = ? AND tenant_id = ?`), id, tenantID)
	if err != nil {
		return fmt.Errorf("projects: delete %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("projects: delete %s: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("projects: delete %s: %w", id, ErrNotFound)
	}
	return nil
}

// AddSources adds the sources sourceIDs (1 to MaxAddSources ids, else a
// *ValidationError of "source_ids") to project id and returns the project.
// It is idempotent: duplicates in sourceIDs and sources already in the
// project are fine, and the project keeps the order in which its sources
// first came. Every id must name a source of the tenant, else nothing is
// added and the error is a *SourceNotFoundError naming the others (an
// unknown project is ErrNotFound). The project's updated_at moves only
// when a source was added.
func (s *Service) AddSources(ctx context.Context, tenantID, id string, sourceIDs []string) (*Project, error) {
	switch {
	case len(sourceIDs) == 0:
		return nil, &ValidationError{Field: "source_ids", Reason: "at least one source id"}
	case len(sourceIDs) > MaxAddSources:
		return nil, &ValidationError{Field: "source_ids", Reason: fmt.Sprintf("at most %d source ids per call", MaxAddSources)}
	}
	want := make([]string, 0, len(sourceIDs))
	seen := make(map[string]bool, len(sourceIDs))
	for _, sid := range sourceIDs {
		if !seen[sid] {
			seen[sid] = true
			want = append(want, sid)
		}
	}
	var out *Project
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		p, err := get(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		var found []string
		if shaped := validSourceIDs(want); len(shaped) > 0 {
			q, args, err := sqlx.In(`SELECT id FROM sources WHERE tenant_id = ? AND id IN (?)`, tenantID, shaped)
			if err != nil {
				return err
			}
			if err := tx.SelectContext(ctx, &found, tx.Rebind(q), args...); err != nil {
				return err
			}
		}
		if len(found) < len(want) {
			exists := make(map[string]bool, len(found))
			for _, f := range found {
				exists[f] = true
			}
			missing := &SourceNotFoundError{}
			for _, sid := range want {
				if !exists[sid] {
					missing.IDs = append(missing.IDs, sid)
				}
			}
			return missing
		}
		q, args, err := sqlx.In(`SELECT source_id FROM project_sources WHERE project_id = ? AND source_id IN (?)`, id, want)
		if err != nil {
			return err
		}
		var members []string
		if err := tx.SelectContext(ctx, &members, tx.Rebind(q), args...); err != nil {
			return err
		}
		isMember := make(map[string]bool, len(members))
		for _, m := range members {
			isMember[m] = true
		}
		var pos int64
		if err := tx.GetContext(ctx, &pos, tx.Rebind(`SELECT COALESCE(MAX(position), 0) FROM project_sources WHERE project_id = ?`), id); err != nil {
			return err
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		ts := storage.Timestamp(now)
		insert := tx.Rebind(`INSERT INTO project_sources (project_id, source_id, position, added_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (project_id, source_id) DO NOTHING`)
		added := 0
		for _, sid := range want {
			if isMember[sid] {
				continue
			}
			pos++
			if _, err := tx.ExecContext(ctx, insert, id, sid, pos, ts); err != nil {
				return err
			}
			added++
		}
		if added > 0 {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE projects SET updated_at = ? WHERE id = ? AND tenant_id = ?`), ts, id, tenantID); err != nil {
				return err
			}
			p.UpdatedAt = now
			p.SourceCount += added
		}
		out = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("projects: add sources to %s: %w", id, err)
	}
	return out, nil
}

// validSourceIDs keeps the ids that have the shape of a source id: the
// others cannot name a source.
func validSourceIDs(in []string) []string {
	out := make([]string, 0, len(in))
	for _, id := range in {
		if validSourceID(id) {
			out = append(out, id)
		}
	}
	return out
}

// RemoveSource takes source sourceID out of project id (the source stays).
// ErrNotFound when the tenant has no such project, ErrSourceNotFound when
// the source is not in it.
func (s *Service) RemoveSource(ctx context.Context, tenantID, id, sourceID string) error {
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := get(ctx, tx, tenantID, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM project_sources WHERE project_id = ? AND source_id = ?`), id, sourceID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: %s", ErrSourceNotFound, sourceID)
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE projects SET updated_at = ? WHERE id = ? AND tenant_id = ?`),
			storage.Timestamp(s.now()), id, tenantID)
		return err
	})
	if err != nil {
		return fmt.Errorf("projects: remove source from %s: %w", id, err)
	}
	return nil
}

// SourceIDs returns the ids of the sources of project id in the order they
// were added (never nil), or ErrNotFound.
func (s *Service) SourceIDs(ctx context.Context, tenantID, id string) ([]string, error) {
	if _, err := get(ctx, s.db.Read, tenantID, id); err != nil {
		return nil, fmt.Errorf("projects: sources of %s: %w", id, err)
	}
	out := []string{}
	// The join on the source's tenant is a second fence: AddSources only
	// ever adds sources of the project's tenant.
	err := s.db.Read.SelectContext(ctx, &out, s.db.Read.Rebind(`SELECT ps.source_id FROM project_sources ps
		JOIN sources src ON src.id = ps.source_id
		WHERE ps.project_id = ? AND src.tenant_id = ? ORDER BY ps.position`), id, tenantID)
	if err != nil {
		return nil, fmt.Errorf("projects: sources of %s: %w", id, err)
	}
	return out, nil
}
