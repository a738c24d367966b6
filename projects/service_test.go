package projects_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/projects"
	"github.com/quarryhq/quarry/sources"
	"github.com/quarryhq/quarry/storage"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// env is a projects and a sources service over one temp-file SQLite
// database, migrated: the real tables, foreign keys and cascades.
type env struct {
	svc   *projects.Service
	src   *sources.Service
	db    *storage.DB
	clock *clock
}

// clock is a settable clock that steps one millisecond per reading.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := storage.Open(ctx, storage.Config{Path: filepath.Join(dir, "quarry.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	blobs, err := storage.NewLocalBlobs(filepath.Join(dir, "blobs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := extract.New(extract.NewRegistry(), extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := sources.New(sources.Config{DB: db, Blobs: blobs, Extractor: ex})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	svc, err := projects.New(projects.Config{DB: db, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, src: src, db: db, clock: c}
}

// source stores a text source in tenant and returns its id.
func (e *env) source(t testing.TB, tenant, text string) string {
	t.Helper()
	s, err := e.src.IngestText(context.Background(), tenant, text, "")
	if err != nil {
		t.Fatal(err)
	}
	return s.ID
}

func (e *env) create(t testing.TB, tenant, name string) *projects.Project {
	t.Helper()
	p, err := e.svc.Create(context.Background(), tenant, name, "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) memberships(t testing.TB) int {
	t.Helper()
	var n int
	if err := e.db.Read.Get(&n, `SELECT COUNT(*) FROM project_sources`); err != nil {
		t.Fatal(err)
	}
	return n
}

const tenantA, tenantB = "default", "tenant-b"

func TestNewValidation(t *testing.T) {
	if _, err := projects.New(projects.Config{}); err == nil || !strings.Contains(err.Error(), "Config.DB") {
		t.Fatalf("New without DB: %v", err)
	}
}

func TestCRUD(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	p, err := e.svc.Create(ctx, tenantA, "  Quarterly reports ", "  Every report of 2026.\n\tBy quarter. ")
	if err != nil {
		t.Fatal(err)
	}
	if !projects.ValidID(p.ID) || !strings.HasPrefix(p.ID, "prj_") {
		t.Errorf("id %q is not prj_ and a ULID", p.ID)
	}
	if p.Name != "Quarterly reports" || p.Description != "Every report of 2026.\n\tBy quarter." || p.TenantID != tenantA || p.SourceCount != 0 {
		t.Errorf("created %+v", p)
	}
	if p.CreatedAt.IsZero() || !p.CreatedAt.Equal(p.UpdatedAt) || p.CreatedAt.Location() != time.UTC {
		t.Errorf("times %v %v", p.CreatedAt, p.UpdatedAt)
	}

	got, err := e.svc.Get(ctx, tenantA, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *p {
		t.Errorf("Get = %+v, want %+v", got, p)
	}

	name, desc := "Reports", ""
	up, err := e.svc.Update(ctx, tenantA, p.ID, projects.Update{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	if up.Name != "Reports" || up.Description != p.Description || !up.UpdatedAt.After(p.UpdatedAt) || !up.CreatedAt.Equal(p.CreatedAt) {
		t.Errorf("after rename %+v", up)
	}
	up, err = e.svc.Update(ctx, tenantA, p.ID, projects.Update{Description: &desc})
	if err != nil {
		t.Fatal(err)
	}
	if up.Name != "Reports" || up.Description != "" {
		t.Errorf("after clearing the description %+v", up)
	}
	same, err := e.svc.Update(ctx, tenantA, p.ID, projects.Update{})
	if err != nil || *same != *up {
		t.Errorf("empty update = %+v, %v; want %+v unchanged", same, err, up)
	}
	if got, _ := e.svc.Get(ctx, tenantA, p.ID); *got != *up {
		t.Errorf("stored %+v, returned %+v", got, up)
	}

	if err := e.svc.Delete(ctx, tenantA, p.ID); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"get":    func() error { _, err := e.svc.Get(ctx, tenantA, p.ID); return err }(),
		"update": func() error { _, err := e.svc.Update(ctx, tenantA, p.ID, projects.Update{Name: &name}); return err }(),
		"delete": e.svc.Delete(ctx, tenantA, p.ID),
		"sources": func() error {
			_, err := e.svc.SourceIDs(ctx, tenantA, p.ID)
			return err
		}(),
		"malformed id": e.svc.Delete(ctx, tenantA, "prj_nope"),
		"source id":    func() error { _, err := e.svc.Get(ctx, tenantA, e.source(t, tenantA, "x")); return err }(),
	} {
		if !errors.Is(err, projects.ErrNotFound) {
			t.Errorf("%s after delete: %v, want ErrNotFound", name, err)
		}
	}
	// The name is free again.
	e.create(t, tenantA, "reports")
}

func TestNamesAreUniqueWhateverTheCase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	reports := e.create(t, tenantA, "Reports")
	e.create(t, tenantA, "Straße")
	for _, name := range []string{"Reports", "REPORTS", "  reports  ", "rEpOrTs", "STRASSE", "strasse"} {
		if _, err := e.svc.Create(ctx, tenantA, name, ""); !errors.Is(err, projects.ErrConflict) {
			t.Errorf("Create %q: %v, want ErrConflict", name, err)
		}
	}
	// Composed and decomposed forms are one name.
	e.create(t, tenantA, "Caf\u00e9")
	if _, err := e.svc.Create(ctx, tenantA, "CAFE\u0301", ""); !errors.Is(err, projects.ErrConflict) {
		t.Errorf("decomposed CAFÉ: %v, want ErrConflict", err)
	}
	// Another tenant has its own names.
	if _, err := e.svc.Create(ctx, tenantB, "reports", ""); err != nil {
		t.Errorf("the same name in another tenant: %v", err)
	}
	// Renaming: to another project's name conflicts, to one's own in
	// another case does not.
	other := e.create(t, tenantA, "Invoices")
	taken := "REPORTS"
	if _, err := e.svc.Update(ctx, tenantA, other.ID, projects.Update{Name: &taken}); !errors.Is(err, projects.ErrConflict) {
		t.Errorf("rename onto another project's name: %v", err)
	}
	if p, err := e.svc.Update(ctx, tenantA, reports.ID, projects.Update{Name: &taken}); err != nil || p.Name != "REPORTS" {
		t.Errorf("rename in another case: %+v, %v", p, err)
	}
}

func TestConcurrentCreateOneWins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			_, err := e.svc.Create(context.Background(), tenantA, fmt.Sprintf("Race%s", strings.Repeat(" ", i%2)), "")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, projects.ErrConflict):
			t.Errorf("unexpected %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d creations succeeded, want 1", won)
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	cases := []struct {
		name, desc, field string
	}{
		{"", "", "name"},
		{" \t\n ", "", "name"},
		{strings.Repeat("a", projects.MaxNameLen+1), "", "name"},
		{strings.Repeat("é", projects.MaxNameLen+1), "", "name"},
		{"two\nlines", "", "name"},
		{"bell\a", "", "name"},
		{"nul\x00", "", "name"},
		{"line\u2028separator", "", "name"},
		{"bad \xff utf-8", "", "name"},
		{"ok", strings.Repeat("d", projects.MaxDescriptionLen+1), "description"},
		{"ok", "nul\x00", "description"},
		{"ok", "escape\x1b[31m", "description"},
	}
	for _, c := range cases {
		_, err := e.svc.Create(ctx, tenantA, c.name, c.desc)
		ve, ok := errors.AsType[*projects.ValidationError](err)
		if !ok || ve.Field != c.field {
			t.Errorf("Create(%q, %q) = %v, want a ValidationError of %s", c.name, c.desc, err, c.field)
		}
	}
	// The limits count code points, and a description keeps its line
	// breaks and tabs.
	if _, err := e.svc.Create(ctx, tenantA, strings.Repeat("é", projects.MaxNameLen), strings.Repeat("ü", projects.MaxDescriptionLen-2)+"\r\n"); err != nil {
		t.Errorf("names and descriptions at the limit: %v", err)
	}
	p := e.create(t, tenantA, "valid")
	bad := "\x00"
	if _, err := e.svc.Update(ctx, tenantA, p.ID, projects.Update{Name: &bad}); !errors.As(err, new(*projects.ValidationError)) {
		t.Errorf("Update with a bad name: %v", err)
	}
	if _, err := e.svc.Update(ctx, tenantA, p.ID, projects.Update{Description: &bad}); !errors.As(err, new(*projects.ValidationError)) {
		t.Errorf("Update with a bad description: %v", err)
	}
	if _, err := e.svc.Create(ctx, "", "x", ""); !errors.Is(err, projects.ErrNoTenant) {
		t.Errorf("Create without a tenant: %v", err)
	}
	if _, err := e.svc.List(ctx, projects.ListParams{}); !errors.Is(err, projects.ErrNoTenant) {
		t.Errorf("List without a tenant: %v", err)
	}
}

func TestListPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var want []string
	for i := range 7 {
		want = append(want, e.create(t, tenantA, fmt.Sprintf("project %d", i)).ID)
	}
	e.create(t, tenantB, "not A's")
	slices.Reverse(want) // newest first

	var got []string
	cursor := ""
	pages := 0
	for {
		page, err := e.svc.List(ctx, projects.ListParams{TenantID: tenantA, Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, p := range page.Items {
			got = append(got, p.ID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
		// A project made meanwhile sorts first and never shifts the pages.
		if pages == 1 {
			e.create(t, tenantA, "made while paging")
		}
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Errorf("%d pages %v, want 3 pages %v", pages, got, want)
	}

	page, err := e.svc.List(ctx, projects.ListParams{TenantID: tenantA})
	if err != nil || len(page.Items) != 8 || page.NextCursor != "" {
		t.Errorf("default limit: %d items, cursor %q, %v", len(page.Items), page.NextCursor, err)
	}
	page, err = e.svc.List(ctx, projects.ListParams{TenantID: "empty"})
	if err != nil || page.Items == nil || len(page.Items) != 0 {
		t.Errorf("an empty tenant: %+v, %v", page, err)
	}
	srcCursor, _ := e.src.List(ctx, sources.ListParams{TenantID: tenantA})
	for _, c := range []string{"forged", "cHJqX25vcGU", strings.Repeat("A", 100), srcCursor.NextCursor + "x"} {
		if _, err := e.svc.List(ctx, projects.ListParams{TenantID: tenantA, Cursor: c}); !errors.Is(err, projects.ErrInvalidCursor) {
			t.Errorf("cursor %q: %v, want ErrInvalidCursor", c, err)
		}
	}
}

func TestTenancy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a := e.create(t, tenantA, "A's project")
	aSrc := e.source(t, tenantA, "A's document")
	bSrc := e.source(t, tenantB, "B's document")
	if _, err := e.svc.AddSources(ctx, tenantA, a.ID, []string{aSrc}); err != nil {
		t.Fatal(err)
	}
	name := "taken over"
	for op, err := range map[string]error{
		"get":        func() error { _, err := e.svc.Get(ctx, tenantB, a.ID); return err }(),
		"update":     func() error { _, err := e.svc.Update(ctx, tenantB, a.ID, projects.Update{Name: &name}); return err }(),
		"delete":     e.svc.Delete(ctx, tenantB, a.ID),
		"add":        func() error { _, err := e.svc.AddSources(ctx, tenantB, a.ID, []string{bSrc}); return err }(),
		"source ids": func() error { _, err := e.svc.SourceIDs(ctx, tenantB, a.ID); return err }(),
		"remove":     e.svc.RemoveSource(ctx, tenantB, a.ID, aSrc),
	} {
		if !errors.Is(err, projects.ErrNotFound) {
			t.Errorf("B's %s of A's project: %v, want ErrNotFound", op, err)
		}
	}
	if page, _ := e.svc.List(ctx, projects.ListParams{TenantID: tenantB}); len(page.Items) != 0 {
		t.Errorf("B lists %+v", page.Items)
	}
	// A cannot add B's source: it answers like an unknown one.
	_, err := e.svc.AddSources(ctx, tenantA, a.ID, []string{bSrc})
	if snf, ok := errors.AsType[*projects.SourceNotFoundError](err); !ok || !slices.Equal(snf.IDs, []string{bSrc}) {
		t.Errorf("A adds B's source: %v", err)
	}
	// A's project is unchanged.
	got, err := e.svc.Get(ctx, tenantA, a.ID)
	if err != nil || got.Name != "A's project" || got.SourceCount != 1 {
		t.Errorf("A's project after B's attempts: %+v, %v", got, err)
	}
	// B's source never shows A's project.
	bs, err := e.src.Get(ctx, tenantB, bSrc)
	if err != nil || len(bs.ProjectIDs) != 0 {
		t.Errorf("B's source: %+v, %v", bs, err)
	}
	// Listing B's sources by A's project finds nothing.
	page, err := e.src.List(ctx, sources.ListParams{TenantID: tenantB, ProjectID: a.ID})
	if err != nil || len(page.Items) != 0 {
		t.Errorf("B's sources of A's project: %+v, %v", page, err)
	}
}

func TestAddSources(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.create(t, tenantA, "batch")
	var srcs []string
	for i := range 4 {
		srcs = append(srcs, e.source(t, tenantA, fmt.Sprintf("document %d", i)))
	}

	// Validation: none, too many.
	if _, err := e.svc.AddSources(ctx, tenantA, p.ID, nil); !isField(err, "source_ids") {
		t.Errorf("no ids: %v", err)
	}
	if _, err := e.svc.AddSources(ctx, tenantA, p.ID, make([]string, projects.MaxAddSources+1)); !isField(err, "source_ids") {
		t.Errorf("too many ids: %v", err)
	}

	// Unknown ids (well-formed or not) are named, in order, and nothing is
	// added.
	unknown := "src_01jd0000000000000000000000"
	_, err := e.svc.AddSources(ctx, tenantA, p.ID, []string{srcs[0], unknown, "junk", srcs[1], unknown})
	snf, ok := errors.AsType[*projects.SourceNotFoundError](err)
	if !ok || !errors.Is(err, projects.ErrSourceNotFound) || !slices.Equal(snf.IDs, []string{unknown, "junk"}) {
		t.Fatalf("unknown sources: %v", err)
	}
	if !strings.Contains(err.Error(), unknown) || !strings.Contains(err.Error(), "junk") {
		t.Errorf("the error does not name the ids: %v", err)
	}
	if n := e.memberships(t); n != 0 {
		t.Fatalf("%d memberships after a refused call", n)
	}
	if _, err := e.svc.AddSources(ctx, "", p.ID, srcs); !errors.Is(err, projects.ErrNoTenant) {
		t.Errorf("no tenant: %v", err)
	}
	if _, err := e.svc.AddSources(ctx, tenantA, "prj_01jd0000000000000000000000", srcs); !errors.Is(err, projects.ErrNotFound) {
		t.Errorf("unknown project: %v", err)
	}

	// Duplicates and members are fine; the order is the order of first
	// addition.
	got, err := e.svc.AddSources(ctx, tenantA, p.ID, []string{srcs[2], srcs[0], srcs[2]})
	if err != nil || got.SourceCount != 2 || !got.UpdatedAt.After(p.UpdatedAt) {
		t.Fatalf("first add: %+v, %v", got, err)
	}
	again, err := e.svc.AddSources(ctx, tenantA, p.ID, []string{srcs[0], srcs[2]})
	if err != nil || again.SourceCount != 2 || !again.UpdatedAt.Equal(got.UpdatedAt) {
		t.Errorf("adding members again: %+v, %v; want unchanged %+v", again, err, got)
	}
	third, err := e.svc.AddSources(ctx, tenantA, p.ID, []string{srcs[0], srcs[3], srcs[1]})
	if err != nil || third.SourceCount != 4 {
		t.Fatalf("third add: %+v, %v", third, err)
	}
	ids, err := e.svc.SourceIDs(ctx, tenantA, p.ID)
	if want := []string{srcs[2], srcs[0], srcs[3], srcs[1]}; err != nil || !slices.Equal(ids, want) {
		t.Errorf("SourceIDs = %v, %v; want %v", ids, err, want)
	}
	if g, _ := e.svc.Get(ctx, tenantA, p.ID); g.SourceCount != 4 {
		t.Errorf("stored count %d", g.SourceCount)
	}

	// RemoveSource takes one out; the source stays.
	if err := e.svc.RemoveSource(ctx, tenantA, p.ID, srcs[0]); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RemoveSource(ctx, tenantA, p.ID, srcs[0]); !errors.Is(err, projects.ErrSourceNotFound) {
		t.Errorf("removing a non-member: %v", err)
	}
	if _, err := e.src.Get(ctx, tenantA, srcs[0]); err != nil {
		t.Errorf("the removed source is gone: %v", err)
	}
	ids, _ = e.svc.SourceIDs(ctx, tenantA, p.ID)
	if want := []string{srcs[2], srcs[3], srcs[1]}; !slices.Equal(ids, want) {
		t.Errorf("after removing: %v, want %v", ids, want)
	}
	// Added back, it goes last.
	if _, err := e.svc.AddSources(ctx, tenantA, p.ID, []string{srcs[0]}); err != nil {
		t.Fatal(err)
	}
	ids, _ = e.svc.SourceIDs(ctx, tenantA, p.ID)
	if want := []string{srcs[2], srcs[3], srcs[1], srcs[0]}; !slices.Equal(ids, want) {
		t.Errorf("after adding back: %v, want %v", ids, want)
	}

	// An empty project lists no sources, as a non-nil slice.
	empty := e.create(t, tenantA, "empty")
	if ids, err := e.svc.SourceIDs(ctx, tenantA, empty.ID); err != nil || ids == nil || len(ids) != 0 {
		t.Errorf("empty project: %#v, %v", ids, err)
	}
}

func TestAddSourcesAtTheLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.create(t, tenantA, "big")
	ids := make([]string, 0, projects.MaxAddSources)
	for i := range projects.MaxAddSources {
		ids = append(ids, e.source(t, tenantA, fmt.Sprintf("doc %d", i)))
	}
	got, err := e.svc.AddSources(ctx, tenantA, p.ID, ids)
	if err != nil || got.SourceCount != projects.MaxAddSources {
		t.Fatalf("%d sources: %+v, %v", len(ids), got, err)
	}
	listed, err := e.svc.SourceIDs(ctx, tenantA, p.ID)
	if err != nil || !slices.Equal(listed, ids) {
		t.Errorf("SourceIDs: %d ids, %v", len(listed), err)
	}
}

func TestSourcesKnowTheirProjects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p1 := e.create(t, tenantA, "one")
	p2 := e.create(t, tenantA, "two")
	s1, s2, s3 := e.source(t, tenantA, "in one and two"), e.source(t, tenantA, "in two"), e.source(t, tenantA, "in none")
	if _, err := e.svc.AddSources(ctx, tenantA, p2.ID, []string{s1, s2}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddSources(ctx, tenantA, p1.ID, []string{s1}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{s1: {p1.ID, p2.ID}, s2: {p2.ID}, s3: {}}
	for id, projectIDs := range want {
		src, err := e.src.Get(ctx, tenantA, id)
		if err != nil || !slices.Equal(src.ProjectIDs, projectIDs) || src.ProjectIDs == nil {
			t.Errorf("Get %s: %v, %v; want %v", id, src.ProjectIDs, err, projectIDs)
		}
	}
	page, err := e.src.List(ctx, sources.ListParams{TenantID: tenantA})
	if err != nil || len(page.Items) != 3 {
		t.Fatalf("list: %+v, %v", page, err)
	}
	for _, src := range page.Items {
		if !slices.Equal(src.ProjectIDs, want[src.ID]) || src.ProjectIDs == nil {
			t.Errorf("List %s: %v, want %v", src.ID, src.ProjectIDs, want[src.ID])
		}
	}

	// The project filter, with paging.
	listed := func(projectID string, limit int) []string {
		t.Helper()
		var out []string
		cursor := ""
		for {
			page, err := e.src.List(ctx, sources.ListParams{TenantID: tenantA, ProjectID: projectID, Limit: limit, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range page.Items {
				out = append(out, s.ID)
			}
			if page.NextCursor == "" {
				return out
			}
			cursor = page.NextCursor
		}
	}
	if got := listed(p2.ID, 1); !slices.Equal(got, []string{s2, s1}) {
		t.Errorf("sources of two: %v, want %v", got, []string{s2, s1})
	}
	if got := listed(p1.ID, 20); !slices.Equal(got, []string{s1}) {
		t.Errorf("sources of one: %v", got)
	}
	if got := listed("prj_01jd0000000000000000000000", 20); len(got) != 0 {
		t.Errorf("sources of an unknown project: %v", got)
	}
	// Filters combine.
	page, err = e.src.List(ctx, sources.ListParams{TenantID: tenantA, ProjectID: p2.ID, Kind: sources.KindURL})
	if err != nil || len(page.Items) != 0 {
		t.Errorf("url sources of two: %+v, %v", page, err)
	}
}

func TestCascades(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.create(t, tenantA, "cascade")
	keep := e.create(t, tenantA, "keeps its sources")
	s1, s2 := e.source(t, tenantA, "first"), e.source(t, tenantA, "second")
	for _, pr := range []*projects.Project{p, keep} {
		if _, err := e.svc.AddSources(ctx, tenantA, pr.ID, []string{s1, s2}); err != nil {
			t.Fatal(err)
		}
	}

	// Deleting a source takes it out of every project; the projects stay.
	if err := e.src.Delete(ctx, tenantA, s1); err != nil {
		t.Fatal(err)
	}
	for _, pr := range []*projects.Project{p, keep} {
		got, err := e.svc.Get(ctx, tenantA, pr.ID)
		if err != nil || got.SourceCount != 1 {
			t.Errorf("%s after the source delete: %+v, %v", pr.Name, got, err)
		}
		ids, _ := e.svc.SourceIDs(ctx, tenantA, pr.ID)
		if !slices.Equal(ids, []string{s2}) {
			t.Errorf("%s sources: %v", pr.Name, ids)
		}
	}

	// Deleting a project removes its memberships; its sources stay.
	if err := e.svc.Delete(ctx, tenantA, p.ID); err != nil {
		t.Fatal(err)
	}
	src, err := e.src.Get(ctx, tenantA, s2)
	if err != nil || !slices.Equal(src.ProjectIDs, []string{keep.ID}) {
		t.Errorf("s2 after the project delete: %+v, %v", src, err)
	}
	var n int
	if err := e.db.Read.Get(&n, `SELECT COUNT(*) FROM project_sources WHERE project_id = ?`, p.ID); err != nil || n != 0 {
		t.Errorf("%d memberships of the deleted project, %v", n, err)
	}
	if n := e.memberships(t); n != 1 {
		t.Errorf("%d memberships left, want 1 (s2 in the kept project)", n)
	}

	// The foreign keys are enforced: no membership of a missing source or
	// project can be written.
	for _, q := range []struct{ project, source string }{{keep.ID, "src_01jd0000000000000000000000"}, {"prj_01jd0000000000000000000000", s2}} {
		_, err := e.db.Write.Exec(`INSERT INTO project_sources (project_id, source_id, position, added_at) VALUES (?, ?, 99, '2026-01-01T00:00:00.000000Z')`, q.project, q.source)
		if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
			t.Errorf("membership %v inserted: %v", q, err)
		}
	}
}

func isField(err error, field string) bool {
	ve, ok := errors.AsType[*projects.ValidationError](err)
	return ok && ve.Field == field
}
