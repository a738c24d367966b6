package server_test

// Projects and synchronous batch extraction over real HTTP against the real
// SQLite file of a stack.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarryhq/quarry/audit"
	"github.com/quarryhq/quarry/auth"
	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/flags"
	"github.com/quarryhq/quarry/server"
)

// malformedPDF is sniffed as a PDF that the parser cannot read.
var malformedPDF = []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n")

// randomProjectID is a well-formed project id that names nothing.
func randomProjectID() string { return strings.Replace(randomSourceID(), "src_", "prj_", 1) }

func createProject(t *testing.T, s *stack, h []string, name string) server.Project {
	t.Helper()
	var p server.Project
	r := doJSON(t, s, http.MethodPost, "/api/v1/projects", map[string]any{"name": name}, h...)
	requireOK(t, r, http.StatusCreated, &p)
	return p
}

func getProject(t *testing.T, s *stack, h []string, id string) server.Project {
	t.Helper()
	var p server.Project
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/projects/"+id, nil, h...), http.StatusOK, &p)
	return p
}

// uploadFileFirst uploads content with the project_id part after the file
// part, so that the file is stored before the project is known.
func uploadFileFirst(t *testing.T, s *stack, h []string, name string, content []byte, projectID string) response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	mw.WriteField("project_id", projectID)
	mw.Close()
	return s.do(t, http.MethodPost, "/api/v1/upload", &buf, append([]string{"Content-Type", mw.FormDataContentType()}, h...)...)
}

// blobFiles lists the files of the stack's blob store.
func blobFiles(t *testing.T, s *stack) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(s.blobs.Dir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sourceRows(t *testing.T, s *stack) int {
	t.Helper()
	var n int
	if err := s.db.Read.Get(&n, `SELECT COUNT(*) FROM sources`); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestProjectsCRUD(t *testing.T) {
	s := authStack(t, stackOptions{}, nil)
	ed := s.bearer(t, auth.RoleEditor)

	r := doJSON(t, s, http.MethodPost, "/api/v1/projects", map[string]any{"name": "  Annual reports ", "description": "All of them.\nBy year."}, ed...)
	var p server.Project
	requireOK(t, r, http.StatusCreated, &p)
	if !strings.HasPrefix(p.ID, "prj_") || p.Name != "Annual reports" || p.Description != "All of them.\nBy year." || p.SourceCount != 0 || p.CreatedAt.IsZero() {
		t.Errorf("created %+v", p)
	}
	if loc := r.header.Get("Location"); loc != "/api/v1/projects/"+p.ID {
		t.Errorf("Location = %q", loc)
	}
	if got := getProject(t, s, ed, p.ID); got != p {
		t.Errorf("GET = %+v, want %+v", got, p)
	}
	// The raw JSON has the contract's fields, and no tenant.
	var raw map[string]any
	json.Unmarshal(s.do(t, http.MethodGet, "/api/v1/projects/"+p.ID, nil, ed...).env.Data, &raw)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range raw {
			if !yield(k) {
				return
			}
		}
	})
	if want := []string{"created_at", "description", "id", "name", "source_count", "updated_at"}; !slices.Equal(keys, want) {
		t.Errorf("fields %v, want %v", keys, want)
	}

	// Names are unique whatever their case.
	r = doJSON(t, s, http.MethodPost, "/api/v1/projects", map[string]any{"name": "ANNUAL REPORTS"}, ed...)
	requireError(t, r, http.StatusConflict, server.CodeConflict)
	requireDetail(t, r, "body.name")
	// Validation names the field.
	for _, body := range []map[string]any{
		{"name": ""},
		{"name": "   "},
		{"name": "tab\there"},
		{"name": strings.Repeat("x", 201)},
		{"name": "ok", "description": strings.Repeat("d", 2001)},
		{"name": "ok", "description": "nul\u0000"},
		{"description": "no name"},
		{"name": "ok", "tenant_id": "other"},
	} {
		r := doJSON(t, s, http.MethodPost, "/api/v1/projects", body, ed...)
		requireError(t, r, http.StatusUnprocessableEntity, server.CodeValidationError)
		if len(r.env.Error.Details) == 0 || !strings.HasPrefix(r.env.Error.Details[0].Field, "body") {
			t.Errorf("%v: details %+v", body, r.env.Error.Details)
		}
	}

	// PATCH changes what it is given.
	other := createProject(t, s, ed, "Invoices")
	var up server.Project
	requireOK(t, doJSON(t, s, http.MethodPatch, "/api/v1/projects/"+p.ID, map[string]any{"description": ""}, ed...), http.StatusOK, &up)
	if up.Name != "Annual reports" || up.Description != "" || !up.UpdatedAt.After(p.UpdatedAt) {
		t.Errorf("after PATCH description: %+v", up)
	}
	requireOK(t, doJSON(t, s, http.MethodPatch, "/api/v1/projects/"+p.ID, map[string]any{"name": "annual REPORTS"}, ed...), http.StatusOK, &up)
	if up.Name != "annual REPORTS" {
		t.Errorf("after renaming in another case: %+v", up)
	}
	r = doJSON(t, s, http.MethodPatch, "/api/v1/projects/"+p.ID, map[string]any{"name": "invoices"}, ed...)
	requireError(t, r, http.StatusConflict, server.CodeConflict)
	r = doJSON(t, s, http.MethodPatch, "/api/v1/projects/"+p.ID, map[string]any{"name": "bad\u0007"}, ed...)
	requireError(t, r, http.StatusUnprocessableEntity, server.CodeValidationError)
	requireDetail(t, r, "body.name")

	// List: newest first, paged, cursors checked.
	third := createProject(t, s, ed, "Third")
	var list server.ProjectList
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/projects?limit=2", nil, ed...), http.StatusOK, &list)
	if len(list.Items) != 2 || list.Items[0].ID != third.ID || list.Items[1].ID != other.ID || list.NextCursor == nil {
		t.Fatalf("first page %+v", list)
	}
	var page2 server.ProjectList
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/projects?limit=2&cursor="+*list.NextCursor, nil, ed...), http.StatusOK, &page2)
	if len(page2.Items) != 1 || page2.Items[0].ID != p.ID || page2.NextCursor != nil {
		t.Fatalf("second page %+v", page2)
	}
	r = s.do(t, http.MethodGet, "/api/v1/projects?cursor=forged", nil, ed...)
	requireError(t, r, http.StatusBadRequest, server.CodeInvalidRequest)
	requireDetail(t, r, "query.cursor")
	requireError(t, s.do(t, http.MethodGet, "/api/v1/projects?limit=101", nil, ed...), http.StatusUnprocessableEntity, server.CodeValidationError)

	// DELETE: 204, then 404 everywhere.
	r = s.do(t, http.MethodDelete, "/api/v1/projects/"+p.ID, nil, ed...)
	if r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	for _, r := range []response{
		s.do(t, http.MethodGet, "/api/v1/projects/"+p.ID, nil, ed...),
		s.do(t, http.MethodDelete, "/api/v1/projects/"+p.ID, nil, ed...),
		doJSON(t, s, http.MethodPatch, "/api/v1/projects/"+p.ID, map[string]any{"name": "x"}, ed...),
		doJSON(t, s, http.MethodPost, "/api/v1/projects/"+p.ID+"/extract", map[string]any{}, ed...),
		s.do(t, http.MethodGet, "/api/v1/projects/not-an-id", nil, ed...),
	} {
		requireError(t, r, http.StatusNotFound, server.CodeNotFound)
	}

	// Every change is audited, without names.
	for _, action := range []string{"project.created", "project.updated", "project.deleted"} {
		rows := auditRows(t, s, auth.DefaultTenantID, action)
		if len(rows) == 0 {
			t.Errorf("no %s audit row", action)
		}
		for _, e := range rows {
			if strings.Contains(fmt.Sprint(e.Details), "nnual") {
				t.Errorf("%s records the name: %+v", action, e.Details)
			}
		}
	}
}

func TestProjectsNeedATokenAndARole(t *testing.T) {
	// Open server (auth not required): projects still need a token, as
	// the contract's auth column says (editor; read: viewer).
	s := authStack(t, stackOptions{}, nil)
	viewer, editor := s.bearer(t, auth.RoleViewer), s.bearer(t, auth.RoleEditor)
	p := createProject(t, s, editor, "Roles")
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/api/v1/projects", map[string]any{"name": "anon"}},
		{http.MethodGet, "/api/v1/projects", nil},
		{http.MethodGet, "/api/v1/projects/" + p.ID, nil},
		{http.MethodPatch, "/api/v1/projects/" + p.ID, map[string]any{"name": "anon"}},
		{http.MethodDelete, "/api/v1/projects/" + p.ID, nil},
		{http.MethodPost, "/api/v1/projects/" + p.ID + "/sources", map[string]any{"source_ids": []string{randomSourceID()}}},
		{http.MethodPost, "/api/v1/projects/" + p.ID + "/extract", map[string]any{}},
	} {
		r := doJSON(t, s, c.method, c.path, c.body)
		requireError(t, r, http.StatusUnauthorized, server.CodeUnauthorized)
		write := c.method != http.MethodGet
		r = doJSON(t, s, c.method, c.path, c.body, viewer...)
		if write {
			requireError(t, r, http.StatusForbidden, server.CodeForbidden)
		} else {
			requireOK(t, r, http.StatusOK, nil)
		}
	}
	if got := getProject(t, s, viewer, p.ID); got.Name != "Roles" {
		t.Errorf("the refused writes changed the project: %+v", got)
	}
	// Anonymous uploads may still name a project: they act as editor of
	// the default tenant.
	var src server.Source
	requireOK(t, s.upload(t, "anon.txt", []byte("anonymous upload into a project"), "project_id", p.ID), http.StatusCreated, &src)
	if !slices.Equal(src.ProjectIDs, []string{p.ID}) {
		t.Errorf("project_ids %v", src.ProjectIDs)
	}

	// With auth required, the same holds (the role matrix covers the
	// rest).
	s2 := authStack(t, stackOptions{}, func(c *server.Config) { c.AuthRequired = true })
	v2 := s2.bearer(t, auth.RoleViewer)
	requireError(t, doJSON(t, s2, http.MethodPost, "/api/v1/projects", map[string]any{"name": "x"}, v2...), http.StatusForbidden, server.CodeForbidden)
	requireError(t, doJSON(t, s2, http.MethodPost, "/api/v1/projects", map[string]any{"name": "x"}), http.StatusUnauthorized, server.CodeUnauthorized)
	createProject(t, s2, s2.bearer(t, auth.RoleAdmin), "admins may")
}

func TestProjectsTenancy(t *testing.T) {
	s := authStack(t, stackOptions{}, func(c *server.Config) { c.TenancyEnforced = true; c.AuthRequired = true })
	a := bearerOf(s.login(t, s.user(t, auth.DefaultTenantID, auth.RoleEditor)).AccessToken)
	b := bearerOf(s.login(t, s.user(t, "tenant-b", auth.RoleEditor)).AccessToken)

	bProject := createProject(t, s, b, "B's project")
	bSrc := mustUpload(t, s, b, "b.txt", "B's document, in B's project.")
	requireOK(t, doJSON(t, s, http.MethodPost, "/api/v1/projects/"+bProject.ID+"/sources", map[string]any{"source_ids": []string{bSrc.ID}}, b...), http.StatusOK, nil)
	aProject := createProject(t, s, a, "B's project") // names are per tenant
	aSrc := mustUpload(t, s, a, "a.txt", "A's document.")
	before := tenantRows(t, s, "tenant-b")

	// Every way to reach B's project answers exactly like an unknown id.
	unknown := randomProjectID()
	probes := []struct {
		name string
		call func(id string) response
	}{
		{"GET", func(id string) response { return s.do(t, http.MethodGet, "/api/v1/projects/"+id, nil, a...) }},
		{"PATCH", func(id string) response {
			return doJSON(t, s, http.MethodPatch, "/api/v1/projects/"+id, map[string]any{"name": "taken"}, a...)
		}},
		{"DELETE", func(id string) response { return s.do(t, http.MethodDelete, "/api/v1/projects/"+id, nil, a...) }},
		{"add sources", func(id string) response {
			return doJSON(t, s, http.MethodPost, "/api/v1/projects/"+id+"/sources", map[string]any{"source_ids": []string{aSrc.ID}}, a...)
		}},
		{"extract", func(id string) response {
			return doJSON(t, s, http.MethodPost, "/api/v1/projects/"+id+"/extract", map[string]any{"mode": "text"}, a...)
		}},
	}
	for _, p := range probes {
		theirs, none := p.call(bProject.ID), p.call(unknown)
		requireError(t, theirs, http.StatusNotFound, server.CodeNotFound)
		requireError(t, none, http.StatusNotFound, server.CodeNotFound)
		if withoutRequestID(theirs.body) != withoutRequestID(none.body) {
			t.Errorf("%s: B's id answers %s, an unknown id %s", p.name, theirs.body, none.body)
		}
	}
	// Uploads into B's project answer 404 and store nothing.
	n := sourceRows(t, s)
	requireError(t, uploadAs(t, s, a, "x.txt", "into B's project?", "project_id", bProject.ID), http.StatusNotFound, server.CodeNotFound)
	requireError(t, uploadFileFirst(t, s, a, "y.txt", []byte("into B's project, file first?"), bProject.ID), http.StatusNotFound, server.CodeNotFound)
	if got := sourceRows(t, s); got != n {
		t.Errorf("refused uploads left %d sources", got-n)
	}
	// A cannot add B's source to its own project: it answers like an
	// unknown source.
	r := doJSON(t, s, http.MethodPost, "/api/v1/projects/"+aProject.ID+"/sources", map[string]any{"source_ids": []string{bSrc.ID}}, a...)
	requireError(t, r, http.StatusNotFound, server.CodeNotFound)
	r2 := doJSON(t, s, http.MethodPost, "/api/v1/projects/"+aProject.ID+"/sources", map[string]any{"source_ids": []string{randomSourceID()}}, a...)
	requireError(t, r2, http.StatusNotFound, server.CodeNotFound)
	if r.env.Error.Message == r2.env.Error.Message || !strings.Contains(r.env.Error.Message, bSrc.ID) {
		// The messages name their own ids, and nothing else differs.
		t.Errorf("messages: %q, %q", r.env.Error.Message, r2.env.Error.Message)
	}
	// Lists never show B's rows.
	var list server.ProjectList
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/projects?limit=100", nil, a...), http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].ID != aProject.ID {
		t.Errorf("A lists %+v", list.Items)
	}
	if ids := listIDs(t, s, "&project_id="+bProject.ID, a); len(ids) != 0 {
		t.Errorf("A lists B's project's sources: %v", ids)
	}
	if after := tenantRows(t, s, "tenant-b"); after != before {
		t.Errorf("B's rows changed: %s -> %s", before, after)
	}
	if got := getProject(t, s, b, bProject.ID); got.Name != "B's project" || got.SourceCount != 1 {
		t.Errorf("B's project after A's attempts: %+v", got)
	}
	// A's refused changes are audited in A's tenant, as denied.
	for _, action := range []string{"project.updated", "project.deleted", "project.sources_added"} {
		found := false
		for _, e := range auditRows(t, s, auth.DefaultTenantID, action) {
			if e.TargetID == bProject.ID {
				found = true
				if e.Result != audit.ResultDenied {
					t.Errorf("%s on B's project audited as %q", action, e.Result)
				}
			}
		}
		if !found {
			t.Errorf("no %s audit row for A's attempt on B's project", action)
		}
	}
}

func TestUploadIntoProject(t *testing.T) {
	s := authStack(t, stackOptions{}, nil)
	ed := s.bearer(t, auth.RoleEditor)
	p := createProject(t, s, ed, "Uploads")
	other := createProject(t, s, ed, "Other")

	// project_id before the file, anonymously.
	var first server.Source
	requireOK(t, s.upload(t, "first.txt", []byte("first document of the project"), "project_id", p.ID), http.StatusCreated, &first)
	if !slices.Equal(first.ProjectIDs, []string{p.ID}) {
		t.Errorf("upload answer project_ids %v", first.ProjectIDs)
	}
	// project_id after the file.
	var second server.Source
	requireOK(t, uploadFileFirst(t, s, nil, "second.txt", []byte("second document of the project"), p.ID), http.StatusCreated, &second)
	if !slices.Equal(second.ProjectIDs, []string{p.ID}) {
		t.Errorf("upload answer project_ids %v", second.ProjectIDs)
	}
	loose := uploadText(t, s, "loose.txt", "in no project")
	// Added to a second project over the API.
	var got server.Project
	requireOK(t, doJSON(t, s, http.MethodPost, "/api/v1/projects/"+other.ID+"/sources", map[string]any{"source_ids": []string{second.ID, second.ID}}, ed...), http.StatusOK, &got)
	if got.SourceCount != 1 {
		t.Errorf("other: %+v", got)
	}

	// GET /source shows project_ids.
	for id, want := range map[string][]string{first.ID: {p.ID}, second.ID: {p.ID, other.ID}, loose.ID: {}} {
		var src server.Source
		requireOK(t, s.do(t, http.MethodGet, "/api/v1/source/"+id, nil), http.StatusOK, &src)
		slices.Sort(want)
		if !slices.Equal(src.ProjectIDs, want) || src.ProjectIDs == nil {
			t.Errorf("GET /source/%s project_ids %v, want %v", id, src.ProjectIDs, want)
		}
	}
	// GET /sources shows them too, and filters by project.
	var all server.SourceList
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/sources", nil), http.StatusOK, &all)
	for _, src := range all.Items {
		if src.ID == second.ID && len(src.ProjectIDs) != 2 {
			t.Errorf("list: %s project_ids %v", src.ID, src.ProjectIDs)
		}
	}
	if ids := listIDs(t, s, "&project_id="+p.ID, nil); !slices.Equal(ids, []string{second.ID, first.ID}) {
		t.Errorf("sources of the project: %v", ids)
	}
	if ids := listIDs(t, s, "&project_id="+other.ID+"&kind=upload", nil); !slices.Equal(ids, []string{second.ID}) {
		t.Errorf("sources of the other project: %v", ids)
	}
	if ids := listIDs(t, s, "&project_id="+randomProjectID(), nil); len(ids) != 0 {
		t.Errorf("sources of an unknown project: %v", ids)
	}
	if got := getProject(t, s, ed, p.ID); got.SourceCount != 2 {
		t.Errorf("source_count %d", got.SourceCount)
	}

	// An unknown project: 404, and nothing stored, wherever the part is.
	n, blobs := sourceRows(t, s), len(blobFiles(t, s))
	for _, r := range []response{
		s.upload(t, "lost.txt", []byte("never stored"), "project_id", randomProjectID()),
		s.upload(t, "lost.txt", []byte("never stored"), "project_id", "prj_nope"),
		uploadFileFirst(t, s, nil, "lost.txt", []byte("stored, then removed"), randomProjectID()),
		doJSON(t, s, http.MethodPost, "/api/v1/download-from-url", map[string]any{"url": "http://127.0.0.1:9/x.txt", "project_id": randomProjectID()}),
	} {
		requireError(t, r, http.StatusNotFound, server.CodeNotFound)
		if r.env.Error.Message != "project not found" {
			t.Errorf("message %q", r.env.Error.Message)
		}
	}
	if got := sourceRows(t, s); got != n {
		t.Errorf("refused uploads left %d sources", got-n)
	}
	if got := len(blobFiles(t, s)); got != blobs {
		t.Errorf("refused uploads left %d blobs", got-blobs)
	}

	// Deleting a source takes it out of its projects; deleting a project
	// leaves its sources.
	if r := s.do(t, http.MethodDelete, "/api/v1/projects/"+other.ID, nil, ed...); r.status != http.StatusNoContent {
		t.Fatalf("delete project: %d %s", r.status, r.body)
	}
	var src server.Source
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/source/"+second.ID, nil), http.StatusOK, &src)
	if !slices.Equal(src.ProjectIDs, []string{p.ID}) {
		t.Errorf("after deleting the other project: %v", src.ProjectIDs)
	}
	if r := s.do(t, http.MethodDelete, "/api/v1/source/"+first.ID, nil, ed...); r.status != http.StatusNoContent {
		t.Fatalf("delete source: %d %s", r.status, r.body)
	}
	if got := getProject(t, s, ed, p.ID); got.SourceCount != 1 {
		t.Errorf("source_count after deleting a source: %d", got.SourceCount)
	}
}

func TestDownloadIntoProject(t *testing.T) {
	var hits atomic.Int64
	hs, port := fixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("a downloaded document"))
	}))
	s := authStack(t, stackOptions{fetch: allow127002(port)}, nil)
	p := createProject(t, s, s.bearer(t, auth.RoleEditor), "Downloads")

	var src server.Source
	requireOK(t, doJSON(t, s, http.MethodPost, "/api/v1/download-from-url", map[string]any{"url": hs.URL + "/doc.txt", "project_id": p.ID}), http.StatusCreated, &src)
	if !slices.Equal(src.ProjectIDs, []string{p.ID}) || hits.Load() != 1 {
		t.Errorf("download: project_ids %v, %d fetches", src.ProjectIDs, hits.Load())
	}
	r := doJSON(t, s, http.MethodPost, "/api/v1/download-from-url", map[string]any{"url": hs.URL + "/doc.txt", "project_id": randomProjectID()})
	requireError(t, r, http.StatusNotFound, server.CodeNotFound)
	if hits.Load() != 1 {
		t.Errorf("an unknown project was fetched for: %d fetches", hits.Load())
	}
}

// batchStack is a stack with a project of three uploaded sources: two
// texts and a malformed PDF, in that order.
type batchStack struct {
	*stack
	editor  []string
	project server.Project
	ids     []string // text, pdf, html
}

func newBatchStack(t *testing.T, mod func(*server.Config)) *batchStack {
	t.Helper()
	s := authStack(t, stackOptions{}, mod)
	b := &batchStack{stack: s, editor: s.bearer(t, auth.RoleEditor)}
	b.project = createProject(t, s, b.editor, "Batch")
	for _, f := range []struct {
		name    string
		content []byte
	}{
		{"notes.txt", []byte("The first note. It talks about quarries and stone.")},
		{"broken.pdf", malformedPDF},
		{"page.html", []byte("<html><head><title>Page</title></head><body><p>The third document is a page.</p></body></html>")},
	} {
		var src server.Source
		requireOK(t, uploadAs(t, s, b.editor, f.name, string(f.content), "project_id", b.project.ID), http.StatusCreated, &src)
		b.ids = append(b.ids, src.ID)
	}
	return b
}

func (b *batchStack) extract(t *testing.T, body map[string]any, header ...string) response {
	t.Helper()
	return doJSON(t, b.stack, http.MethodPost, "/api/v1/projects/"+b.project.ID+"/extract", body, append(slices.Clone(b.editor), header...)...)
}

func resultIDs(out server.BatchExtraction) []string {
	var ids []string
	for _, r := range out.Results {
		ids = append(ids, r.SourceID)
	}
	return ids
}

func TestBatchExtract(t *testing.T) {
	b := newBatchStack(t, nil)
	s := b.stack

	r := b.extract(t, map[string]any{"mode": "text"})
	var out server.BatchExtraction
	requireOK(t, r, http.StatusOK, &out)
	if out.ProjectID != b.project.ID || out.Mode != "text" || out.Succeeded != 2 || out.Failed != 1 || !slices.Equal(resultIDs(out), b.ids) {
		t.Fatalf("batch %+v", out)
	}
	if r.header.Get("Idempotent-Replayed") != "" || r.header.Get("Location") != "" {
		t.Errorf("headers %v", r.header)
	}
	txt, pdf, html := out.Results[0], out.Results[1], out.Results[2]
	if txt.Err != nil || txt.Extraction == nil || !strings.Contains(txt.Extraction.Text, "quarries and stone") || txt.Extraction.SourceID != b.ids[0] {
		t.Errorf("text result %+v", txt)
	}
	if html.Err != nil || html.Extraction == nil || !strings.Contains(html.Extraction.Text, "third document") || html.Extraction.Metadata.Title != "Page" {
		t.Errorf("html result %+v", html)
	}
	if pdf.Extraction != nil || pdf.Err == nil || pdf.Err.Code != server.CodeMalformedDocument || pdf.Err.Message == "" || strings.Contains(pdf.Err.Message, "src_") {
		t.Errorf("pdf result %+v", pdf)
	}
	// The same code and message as POST /extract.
	single := s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": b.ids[1]})
	requireError(t, single, http.StatusUnprocessableEntity, server.CodeMalformedDocument)
	if single.env.Error.Message != pdf.Err.Message {
		t.Errorf("batch message %q, POST /extract %q", pdf.Err.Message, single.env.Error.Message)
	}
	// Each extraction is stored, and statuses follow.
	for i, want := range []string{"extracted", "failed", "extracted"} {
		var src server.Source
		requireOK(t, s.do(t, http.MethodGet, "/api/v1/source/"+b.ids[i], nil), http.StatusOK, &src)
		if src.Status != want {
			t.Errorf("source %d status %q, want %q", i, src.Status, want)
		}
		if want == "extracted" && (src.LatestExtraction == nil || src.LatestExtraction.Text != out.Results[i].Extraction.Text) {
			t.Errorf("source %d latest extraction %+v", i, src.LatestExtraction)
		}
	}
	// The audit has the summary: counts and codes, never text.
	ev, ok := byRequestID(auditRows(t, s, auth.DefaultTenantID, "project.extracted"))[r.env.RequestID]
	if !ok {
		t.Fatal("no project.extracted audit row")
	}
	d, _ := json.Marshal(ev.Details)
	if ev.TargetID != b.project.ID || ev.Result != audit.ResultSuccess || !strings.Contains(string(d), `"succeeded":2`) || !strings.Contains(string(d), `"failed":1`) ||
		!strings.Contains(string(d), `"malformed_document":1`) || strings.Contains(string(d), "quarries") {
		t.Errorf("audit %+v %s", ev, d)
	}

	// source_ids: in the caller's order, duplicates once; summary mode
	// and options.
	requireOK(t, b.extract(t, map[string]any{"mode": "summary", "source_ids": []string{b.ids[2], b.ids[0], b.ids[2]},
		"options": map[string]any{"summary_sentences": 1, "chunking": map[string]any{"max_chars": 100}}}), http.StatusOK, &out)
	if out.Mode != "summary" || !slices.Equal(resultIDs(out), []string{b.ids[2], b.ids[0]}) || out.Succeeded != 2 {
		t.Fatalf("subset %+v", out)
	}
	if x := out.Results[1].Extraction; x == nil || x.Mode != "summary" || len(x.Chunks) == 0 {
		t.Errorf("summary with chunks %+v", out.Results[1])
	}

	// source_ids outside the project: 422 naming them; nothing extracted.
	outside := uploadText(t, s, "outside.txt", "not in the project")
	unknown := randomSourceID()
	r = b.extract(t, map[string]any{"source_ids": []string{b.ids[0], outside.ID, unknown}})
	requireError(t, r, http.StatusUnprocessableEntity, server.CodeValidationError)
	requireDetail(t, r, "body.source_ids[1]")
	requireDetail(t, r, "body.source_ids[2]")
	if !strings.Contains(r.env.Error.Message, outside.ID) || !strings.Contains(r.env.Error.Message, unknown) || strings.Contains(r.env.Error.Message, b.ids[0]) {
		t.Errorf("message %q", r.env.Error.Message)
	}
	if got := sourceStatus(t, s, outside.ID); got != "stored" {
		t.Errorf("a refused batch extracted a source: %s", got)
	}

	// At most 100 per call.
	many := make([]string, 101)
	for i := range many {
		many[i] = randomSourceID()
	}
	r = b.extract(t, map[string]any{"source_ids": many})
	requireError(t, r, http.StatusUnprocessableEntity, server.CodeValidationError)
	requireDetail(t, r, "body.source_ids")
	// Bad bodies.
	for _, body := range []map[string]any{
		{"mode": "poem"},
		{"source_ids": []string{}},
		{"options": map[string]any{"password": "secret"}},
		{"options": map[string]any{"summarizer": "llm"}},
		{"options": map[string]any{"pages": "3-1"}},
		{"options": map[string]any{"chunking": map[string]any{"max_chars": 10, "max_tokens": 10}}},
		{"source_ids": []string{strings.Repeat("s", 65)}},
	} {
		requireError(t, b.extract(t, body), http.StatusUnprocessableEntity, server.CodeValidationError)
	}

	// An empty project: no results.
	empty := createProject(t, s, b.editor, "Empty")
	requireOK(t, doJSON(t, s, http.MethodPost, "/api/v1/projects/"+empty.ID+"/extract", map[string]any{}, b.editor...), http.StatusOK, &out)
	if out.Results == nil || len(out.Results) != 0 || out.Succeeded != 0 {
		t.Errorf("empty project %+v", out)
	}
}

func sourceStatus(t *testing.T, s *stack, id string) string {
	t.Helper()
	var src server.Source
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/source/"+id, nil), http.StatusOK, &src)
	return src.Status
}

func TestBatchExtractWholeProjectOver100(t *testing.T) {
	s := authStack(t, stackOptions{}, nil)
	ed := s.bearer(t, auth.RoleEditor)
	p := createProject(t, s, ed, "Big")
	ctx := context.Background()
	var ids []string
	for i := range 101 {
		src, err := s.sources.IngestText(ctx, auth.DefaultTenantID, "document "+strconv.Itoa(i), "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, src.ID)
	}
	if _, err := s.projects.AddSources(ctx, auth.DefaultTenantID, p.ID, ids); err != nil {
		t.Fatal(err)
	}
	r := doJSON(t, s, http.MethodPost, "/api/v1/projects/"+p.ID+"/extract", map[string]any{"mode": "text"}, ed...)
	requireError(t, r, http.StatusUnprocessableEntity, server.CodeValidationError)
	requireDetail(t, r, "body.source_ids")
	// 100 named ones work, in order, several at a time.
	var out server.BatchExtraction
	requireOK(t, doJSON(t, s, http.MethodPost, "/api/v1/projects/"+p.ID+"/extract", map[string]any{"source_ids": ids[1:]}, ed...), http.StatusOK, &out)
	if out.Succeeded != 100 || !slices.Equal(resultIDs(out), ids[1:]) {
		t.Fatalf("100 sources: %d succeeded, order ok %v", out.Succeeded, slices.Equal(resultIDs(out), ids[1:]))
	}
	for i, res := range out.Results {
		if res.Extraction == nil || res.Extraction.Text != "document "+strconv.Itoa(i+1) {
			t.Fatalf("result %d: %+v", i, res)
		}
	}
}

func TestBatchExtractIdempotencyKey(t *testing.T) {
	b := newBatchStack(t, nil)
	s := b.stack
	body := map[string]any{"mode": "text", "source_ids": []string{b.ids[0], b.ids[2]}}

	r1 := b.extract(t, body, "Idempotency-Key", "batch-1")
	var first server.BatchExtraction
	requireOK(t, r1, http.StatusOK, &first)
	if r1.header.Get("Idempotent-Replayed") != "" {
		t.Error("a first response says it is replayed")
	}
	// Another extraction in between replaces the stored ones: a replay
	// still answers the first result, without extracting again.
	requireOK(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": b.ids[0]}), http.StatusOK, nil)
	r2 := b.extract(t, body, "Idempotency-Key", "batch-1")
	var again server.BatchExtraction
	requireOK(t, r2, http.StatusOK, &again)
	if r2.header.Get("Idempotent-Replayed") != "true" || r2.env.RequestID == r1.env.RequestID {
		t.Errorf("replay headers %v, request ids %s %s", r2.header, r1.env.RequestID, r2.env.RequestID)
	}
	a, _ := json.Marshal(first)
	c, _ := json.Marshal(again)
	if !bytes.Equal(a, c) {
		t.Errorf("the replay differs:\n%s\n%s", a, c)
	}
	if n := len(auditRows(t, s, auth.DefaultTenantID, "project.extracted")); n != 1 {
		t.Errorf("%d batches ran, want 1", n)
	}
	// The same key with another request: 409. Another key: a new batch.
	for _, other := range []map[string]any{
		{"mode": "summary", "source_ids": []string{b.ids[0], b.ids[2]}},
		{"mode": "text", "source_ids": []string{b.ids[2], b.ids[0]}},
		{"mode": "text"},
		{"mode": "text", "source_ids": []string{b.ids[0], b.ids[2]}, "options": map[string]any{"max_chars": 5}},
	} {
		requireError(t, b.extract(t, other, "Idempotency-Key", "batch-1"), http.StatusConflict, server.CodeConflict)
	}
	requireOK(t, b.extract(t, body, "Idempotency-Key", "batch-2"), http.StatusOK, nil)
	if n := len(auditRows(t, s, auth.DefaultTenantID, "project.extracted")); n != 2 {
		t.Errorf("%d batches ran, want 2", n)
	}
	requireError(t, b.extract(t, body, "Idempotency-Key", strings.Repeat("k", 256)), http.StatusBadRequest, server.CodeInvalidRequest)
	// A refused request keeps no key.
	bad := map[string]any{"source_ids": []string{randomSourceID()}}
	requireError(t, b.extract(t, bad, "Idempotency-Key", "batch-3"), http.StatusUnprocessableEntity, server.CodeValidationError)
	requireOK(t, b.extract(t, map[string]any{}, "Idempotency-Key", "batch-3"), http.StatusOK, nil)
	// Keys are per caller: another editor's same key is a new request.
	requireOK(t, doJSON(t, s, http.MethodPost, "/api/v1/projects/"+b.project.ID+"/extract", map[string]any{"mode": "summary"},
		append(s.bearer(t, auth.RoleEditor), "Idempotency-Key", "batch-1")...), http.StatusOK, nil)
}

func TestBatchExtractStaysSynchronousWithAsyncFlag(t *testing.T) {
	b := newBatchStack(t, nil)
	if _, err := b.flags.Set(context.Background(), flags.Flag{Key: flags.BatchAsync, Scope: flags.ScopeGlobal, Enabled: true}, "test"); err != nil {
		t.Fatal(err)
	}
	var out server.BatchExtraction
	r := b.extract(t, map[string]any{})
	requireOK(t, r, http.StatusOK, &out)
	if len(out.Results) != 3 || r.header.Get("Location") != "" {
		t.Errorf("with batch.async.enabled: %d %+v", r.status, out)
	}
}

func TestBatchExtractOverCapacity(t *testing.T) {
	reg := extract.NewRegistry()
	reg.MustRegister("slow", slowParser{})
	s := authStack(t, stackOptions{registry: reg, extractTimeout: 2 * time.Second}, func(c *server.Config) {
		c.MaxInFlight = 1
		c.QueueTimeout = 50 * time.Millisecond
	})
	ed := s.bearer(t, auth.RoleEditor)
	p := createProject(t, s, ed, "Busy")
	var ids []string
	for i := range 2 {
		var src server.Source
		requireOK(t, uploadAs(t, s, nil, "slow.txt", "slow document "+strconv.Itoa(i), "project_id", p.ID), http.StatusCreated, &src)
		ids = append(ids, src.ID)
	}
	// A single extraction holds the only slot until its deadline.
	first := make(chan response, 1)
	go func() { first <- s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": ids[0]}) }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if strings.Contains(string(s.do(t, http.MethodGet, "/metrics", nil).body), "quarry_extractions_in_flight 1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first extraction never started")
		}
	}
	// Every source of the batch finds the slot busy: nothing was done, and
	// the answer says to retry.
	r := doJSON(t, s, http.MethodPost, "/api/v1/projects/"+p.ID+"/extract", map[string]any{"source_ids": []string{ids[1]}}, ed...)
	requireError(t, r, http.StatusServiceUnavailable, server.CodeOverCapacity)
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	requireError(t, <-first, http.StatusUnprocessableEntity, server.CodeExtractionTimeout)
	// With the slot free, a batch where one source times out still answers
	// 200, with that source's error.
	var out server.BatchExtraction
	requireOK(t, doJSON(t, s, http.MethodPost, "/api/v1/projects/"+p.ID+"/extract", map[string]any{"source_ids": []string{ids[1]}}, ed...), http.StatusOK, &out)
	if out.Failed != 1 || out.Results[0].Err == nil || out.Results[0].Err.Code != server.CodeExtractionTimeout {
		t.Errorf("batch %+v", out)
	}
}
