package server_test

// RELIABILITY.md section E (T46-T49): authorization, tenancy and flags, and
// the role matrix of CONTRACT.md section 4, over real HTTP against the
// real SQLite file of a stack.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/oklog/ulid/v2"

	"github.com/quarryhq/quarry/audit"
	"github.com/quarryhq/quarry/auth"
	"github.com/quarryhq/quarry/flags"
	"github.com/quarryhq/quarry/server"
)

// doJSON sends v as a JSON body with extra headers.
func doJSON(t *testing.T, s *stack, method, path string, v any, header ...string) response {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return s.do(t, method, path, bytes.NewReader(b), append([]string{"Content-Type", "application/json"}, header...)...)
}

// uploadAs uploads text as name with extra headers (a bearer token) and
// extra multipart fields.
func uploadAs(t *testing.T, s *stack, header []string, name, text string, fields ...string) response {
	t.Helper()
	body, ctype := multipartBody(t, name, []byte(text), fields...)
	return s.do(t, http.MethodPost, "/api/v1/upload", bytes.NewReader(body), append([]string{"Content-Type", ctype}, header...)...)
}

func mustUpload(t *testing.T, s *stack, header []string, name, text string) server.Source {
	t.Helper()
	var src server.Source
	requireOK(t, uploadAs(t, s, header, name, text), http.StatusCreated, &src)
	return src
}

// listIDs returns the ids of every source the caller can list (bounded).
func listIDs(t *testing.T, s *stack, query string, header []string) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for range 50 {
		var list server.SourceList
		q := "/api/v1/sources?limit=100" + query
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		requireOK(t, s.do(t, http.MethodGet, q, nil, header...), http.StatusOK, &list)
		for _, it := range list.Items {
			ids = append(ids, it.ID)
		}
		if list.NextCursor == nil {
			return ids
		}
		cursor = *list.NextCursor
	}
	t.Fatal("the source list does not end")
	return nil
}

// randomSourceID is a well-formed source id that names nothing.
func randomSourceID() string { return "src_" + strings.ToLower(ulid.Make().String()) }

// tenantRows hashes every sources and extractions row of a tenant.
func tenantRows(t *testing.T, s *stack, tenant string) string {
	t.Helper()
	var rows []string
	if err := s.db.Read.Select(&rows, `SELECT id || '|' || tenant_id || '|' || filename || '|' || sha256 || '|' || status || '|' || metadata || '|' || updated_at
		FROM sources WHERE tenant_id = ? ORDER BY id`, tenant); err != nil {
		t.Fatal(err)
	}
	var xs []string
	if err := s.db.Read.Select(&xs, `SELECT x.source_id || '|' || x.mode || '|' || x.created_at || '|' || length(x.result)
		FROM extractions x JOIN sources s ON s.id = x.source_id WHERE s.tenant_id = ? ORDER BY 1`, tenant); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(strings.Join(rows, "\n") + "\n--\n" + strings.Join(xs, "\n")))
	return fmt.Sprintf("%d sources, %d extractions, %s", len(rows), len(xs), hex.EncodeToString(sum[:8]))
}

func sourceTenant(t *testing.T, s *stack, id string) string {
	t.Helper()
	var tenant string
	if err := s.db.Read.Get(&tenant, `SELECT tenant_id FROM sources WHERE id = ?`, id); err != nil {
		t.Fatalf("source %s: %v", id, err)
	}
	return tenant
}

func TestT46CrossTenantBOLA(t *testing.T) {
	s := authStack(t, stackOptions{}, func(c *server.Config) { c.TenancyEnforced = true; c.AuthRequired = true })
	aUser := s.user(t, auth.DefaultTenantID, auth.RoleEditor)
	a := bearerOf(s.login(t, aUser).AccessToken)
	bUser := s.user(t, "tenant-b", auth.RoleEditor)
	b := bearerOf(s.login(t, bUser).AccessToken)

	bSrc := mustUpload(t, s, b, "b-secret.txt", "Tenant B's secret. It stays in tenant B.")
	bSrc2 := mustUpload(t, s, b, "b-other.txt", "Another document of tenant B.")
	requireOK(t, doJSON(t, s, http.MethodPost, "/api/v1/extract", map[string]any{"source_id": bSrc.ID}, b...), http.StatusOK, nil)
	aSrc := mustUpload(t, s, a, "a.txt", "Tenant A's own document.")
	if got := sourceTenant(t, s, bSrc.ID); got != "tenant-b" {
		t.Fatalf("B's source is in tenant %q", got)
	}
	before := tenantRows(t, s, "tenant-b")

	// Every way to reach B's source answers exactly like an unknown id.
	unknown := randomSourceID()
	probes := []struct {
		name string
		call func(id string) response
	}{
		{"GET", func(id string) response { return s.do(t, http.MethodGet, "/api/v1/source/"+id, nil, a...) }},
		{"DELETE", func(id string) response { return s.do(t, http.MethodDelete, "/api/v1/source/"+id, nil, a...) }},
		{"extract", func(id string) response {
			return doJSON(t, s, http.MethodPost, "/api/v1/extract", map[string]any{"source_id": id}, a...)
		}},
		{"extract summary", func(id string) response {
			return doJSON(t, s, http.MethodPost, "/api/v1/extract", map[string]any{"source_id": id, "mode": "summary"}, a...)
		}},
	}
	for _, p := range probes {
		for _, id := range []string{bSrc.ID, bSrc2.ID} {
			theirs, none := p.call(id), p.call(unknown)
			requireError(t, theirs, http.StatusNotFound, server.CodeNotFound)
			requireError(t, none, http.StatusNotFound, server.CodeNotFound)
			if withoutRequestID(theirs.body) != withoutRequestID(none.body) {
				t.Errorf("%s: B's id answers %s, an unknown id %s", p.name, theirs.body, none.body)
			}
			for _, h := range []string{"Content-Type", "Content-Length", "Www-Authenticate", "Retry-After"} {
				if theirs.header.Get(h) != none.header.Get(h) {
					t.Errorf("%s: header %s: %q vs %q", p.name, h, theirs.header.Get(h), none.header.Get(h))
				}
			}
		}
	}
	// Lists never hold B's rows, whatever the query says.
	for _, q := range []string{"", "&tenant_id=tenant-b", "&tenant=tenant-b", "&kind=upload", "&status=extracted"} {
		ids := listIDs(t, s, q, a)
		if slices.Contains(ids, bSrc.ID) || slices.Contains(ids, bSrc2.ID) {
			t.Errorf("A's list %q holds B's sources: %v", q, ids)
		}
		if q == "" && !slices.Contains(ids, aSrc.ID) {
			t.Errorf("A's list misses A's own source")
		}
	}
	// B's rows are unchanged and B still sees them.
	if after := tenantRows(t, s, "tenant-b"); after != before {
		t.Errorf("B's rows changed: %s -> %s", before, after)
	}
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/source/"+bSrc.ID, nil, b...), http.StatusOK, nil)

	// The refused changes are audited in A's tenant, as denied.
	for _, action := range []string{"source.deleted", "extraction.failed"} {
		n := 0
		for _, e := range auditRows(t, s, auth.DefaultTenantID, action) {
			if e.ActorID == aUser.ID && (e.TargetID == bSrc.ID || e.TargetID == bSrc2.ID) {
				n++
				if e.Result != audit.ResultDenied {
					t.Errorf("%s on B's source audited as %q", action, e.Result)
				}
			}
		}
		if n == 0 {
			t.Errorf("no %s audit row for A's attempts on B's sources", action)
		}
		for _, e := range auditRows(t, s, "tenant-b", action) {
			if e.ActorID == aUser.ID {
				t.Errorf("A's attempt was written into B's audit trail: %+v", e)
			}
		}
	}
}

func TestT47TenantInjection(t *testing.T) {
	t.Run("body, query and header", func(t *testing.T) {
		s := authStack(t, stackOptions{}, func(c *server.Config) { c.TenancyEnforced = true })
		aUser := s.user(t, "tenant-a", auth.RoleEditor)
		a := bearerOf(s.login(t, aUser).AccessToken)
		bUser := s.user(t, "tenant-b", auth.RoleViewer)
		b := bearerOf(s.login(t, bUser).AccessToken)
		inject := append(slices.Clone(a), "X-Tenant-Id", "tenant-b", "X-Tenant", "tenant-b")

		// Upload with tenant_id, owner_id and role fields, a tenant query
		// and header: the tenant comes from the token.
		body, ctype := multipartBody(t, "x.txt", []byte("injected?"), "tenant_id", "tenant-b", "owner_id", bUser.ID, "role", "admin")
		r := s.do(t, http.MethodPost, "/api/v1/upload?tenant_id=tenant-b", bytes.NewReader(body), append([]string{"Content-Type", ctype}, inject...)...)
		var src server.Source
		requireOK(t, r, http.StatusCreated, &src)
		if got := sourceTenant(t, s, src.ID); got != "tenant-a" {
			t.Errorf("the upload landed in tenant %q, want tenant-a", got)
		}
		requireError(t, s.do(t, http.MethodGet, "/api/v1/source/"+src.ID, nil, b...), http.StatusNotFound, server.CodeNotFound)
		if slices.Contains(listIDs(t, s, "", b), src.ID) {
			t.Error("B lists A's injected upload")
		}
		requireOK(t, s.do(t, http.MethodGet, "/api/v1/source/"+src.ID+"?tenant_id=tenant-b", nil, inject...), http.StatusOK, nil)

		// JSON bodies with tenant_id or owner_id: refused by validation or
		// ignored, never obeyed.
		for _, c := range []struct {
			path string
			body map[string]any
		}{
			{"/api/v1/extract", map[string]any{"source_id": src.ID, "tenant_id": "tenant-b"}},
			{"/api/v1/extract", map[string]any{"source_id": src.ID, "owner_id": bUser.ID}},
			{"/api/v1/download-from-url", map[string]any{"url": "http://127.0.0.1:9/x.pdf", "tenant_id": "tenant-b"}},
		} {
			r := doJSON(t, s, http.MethodPost, c.path+"?tenant_id=tenant-b", c.body, inject...)
			switch {
			case r.status == http.StatusUnprocessableEntity && r.env.Error != nil && r.env.Error.Code == server.CodeValidationError:
			case r.status == http.StatusBadRequest && r.env.Error != nil && r.env.Error.Code == server.CodeInvalidRequest:
			case r.status < 300:
			case r.status == http.StatusBadRequest && c.path == "/api/v1/download-from-url" && r.env.Error != nil && r.env.Error.Code == server.CodeURLForbidden:
				// Ignored: the fetch guard answered.
			default:
				t.Errorf("%s %v: %d %s", c.path, c.body, r.status, r.body)
			}
		}
		if got := tenantRows(t, s, "tenant-b"); !strings.HasPrefix(got, "0 sources, 0 extractions") {
			t.Errorf("tenant-b has rows: %s", got)
		}

		// Role injection into login, and the token's role wins.
		r = doJSON(t, s, http.MethodPost, "/api/v1/auth/login", map[string]any{"email": bUser.Email, "password": testPassword, "role": "admin", "tenant_id": "tenant-a"})
		if r.status == http.StatusOK {
			var pair server.TokenPair
			requireOK(t, r, http.StatusOK, &pair)
			var me server.Me
			requireOK(t, callMe(t, s, pair.AccessToken), http.StatusOK, &me)
			if me.Role != "viewer" || me.Tenant.ID != "tenant-b" {
				t.Errorf("login with injected role and tenant: me = %+v", me)
			}
		} else {
			requireError(t, r, http.StatusUnprocessableEntity, server.CodeValidationError)
		}
		// /me ignores tenant hints too.
		var me server.Me
		requireOK(t, s.do(t, http.MethodGet, "/api/v1/me?tenant_id=tenant-a", nil, append(slices.Clone(b), "X-Tenant-Id", "tenant-a")...), http.StatusOK, &me)
		if me.Tenant.ID != "tenant-b" || me.Role != "viewer" {
			t.Errorf("me = %+v", me)
		}
		// A tenant flag for another tenant: 404 like an unknown tenant.
		admin := bearerOf(s.login(t, s.user(t, "tenant-a", auth.RoleAdmin)).AccessToken)
		requireError(t, doJSON(t, s, http.MethodPut, "/api/v1/admin/feature-flags",
			map[string]any{"key": flags.AIAssist, "enabled": false, "scope": "tenant", "tenant_id": "tenant-b"}, admin...), http.StatusNotFound, server.CodeNotFound)
		if on, err := s.flags.Enabled(context.Background(), "tenant-b", flags.AIAssist); err != nil || !on {
			t.Errorf("tenant-b's ai.assist = %v, %v after tenant-a's admin tried to turn it off", on, err)
		}
	})

	t.Run("switching tenancy on", func(t *testing.T) {
		// Rows created while tenancy is off live in the default tenant,
		// whoever created them. Turned on later, they stay there: visible
		// to the default tenant's users, invisible to every other tenant.
		dir := t.TempDir()
		s1 := authStack(t, stackOptions{dataDir: dir}, func(c *server.Config) { c.TenancyEnforced = false })
		anon := mustUpload(t, s1, nil, "anon.txt", "Uploaded anonymously before the switch.")
		acmeEditor := s1.user(t, "acme", auth.RoleEditor)
		byAcme := mustUpload(t, s1, bearerOf(s1.login(t, acmeEditor).AccessToken), "acme.txt", "Uploaded by an acme user before the switch.")
		requireOK(t, doJSON(t, s1, http.MethodPost, "/api/v1/extract", map[string]any{"source_id": byAcme.ID}), http.StatusOK, nil)
		for _, id := range []string{anon.ID, byAcme.ID} {
			if got := sourceTenant(t, s1, id); got != auth.DefaultTenantID {
				t.Errorf("with tenancy off, %s is in tenant %q", id, got)
			}
		}
		s1.http.Close()
		s1.db.Close()

		// The restart, over the same data directory and database file.
		s2 := authStack(t, stackOptions{dataDir: dir}, func(c *server.Config) { c.TenancyEnforced = true })
		def := bearerOf(s2.login(t, s2.user(t, auth.DefaultTenantID, auth.RoleViewer)).AccessToken)
		acme := bearerOf(s2.login(t, s2.user(t, "acme", auth.RoleViewer)).AccessToken)
		acmeCreator := bearerOf(s2.login(t, acmeEditor).AccessToken)
		defIDs := listIDs(t, s2, "", def)
		for _, id := range []string{anon.ID, byAcme.ID} {
			if !slices.Contains(defIDs, id) {
				t.Errorf("the default tenant does not list %s after the switch", id)
			}
			requireOK(t, s2.do(t, http.MethodGet, "/api/v1/source/"+id, nil, def...), http.StatusOK, nil)
			for name, h := range map[string][]string{"acme viewer": acme, "acme creator": acmeCreator} {
				theirs := s2.do(t, http.MethodGet, "/api/v1/source/"+id, nil, h...)
				none := s2.do(t, http.MethodGet, "/api/v1/source/"+randomSourceID(), nil, h...)
				requireError(t, theirs, http.StatusNotFound, server.CodeNotFound)
				if withoutRequestID(theirs.body) != withoutRequestID(none.body) {
					t.Errorf("%s: %s vs %s", name, theirs.body, none.body)
				}
			}
		}
		for _, h := range [][]string{acme, acmeCreator} {
			if ids := listIDs(t, s2, "", h); len(ids) != 0 {
				t.Errorf("acme lists %v after the switch, want nothing", ids)
			}
		}
		// Anonymous callers still act in the default tenant.
		requireOK(t, s2.do(t, http.MethodGet, "/api/v1/source/"+anon.ID, nil), http.StatusOK, nil)
	})
}

// access is the outcome of one cell of the role matrix.
type access string

const (
	allowed      access = "allowed"
	unauthorized access = "401"
	forbidden    access = "403"
)

// matrixNeed is the auth column of CONTRACT.md section 4.
type matrixNeed string

const (
	needPublic     matrixNeed = "public"
	needAnonEditor matrixNeed = "anonymous allowed (write)"
	needAnonViewer matrixNeed = "anonymous allowed (read)"
	needAnyUser    matrixNeed = "any user"
	needEditorRole matrixNeed = "editor"
	needAdminRole  matrixNeed = "admin"
	// needMetrics: /metrics on the API listener is open while auth is
	// not required, and needs an admin token while it is.
	needMetrics matrixNeed = "metrics: open, or admin when auth is required"
)

// expected is the contract's answer for a caller: role "" is no token.
func (n matrixNeed) expected(role auth.Role, authRequired bool) access {
	if n == needPublic || n == needMetrics && !authRequired {
		return allowed
	}
	if role == "" {
		if (n == needAnonEditor || n == needAnonViewer) && !authRequired {
			return allowed
		}
		return unauthorized
	}
	least := map[matrixNeed]auth.Role{
		needAnonEditor: auth.RoleEditor, needAnonViewer: auth.RoleViewer, needAnyUser: auth.RoleViewer,
		needEditorRole: auth.RoleEditor, needAdminRole: auth.RoleAdmin, needMetrics: auth.RoleAdmin,
	}[n]
	if role.Allows(least) {
		return allowed
	}
	return forbidden
}

// matrixFixture is what the matrix's requests need: a source to read and
// extract, users to log in, refresh, log out and revoke.
type matrixFixture struct {
	s      *stack
	source string
	login  *auth.User
	victim *auth.User
	// project is a project of the default tenant holding source.
	project string
}

func TestT48RoleMatrix(t *testing.T) {
	ops := []struct {
		name string
		need matrixNeed
		call func(t *testing.T, f *matrixFixture, h []string) response
	}{
		{"GET /health", needPublic, func(t *testing.T, f *matrixFixture, h []string) response {
			return f.s.do(t, http.MethodGet, "/api/v1/health", nil, h...)
		}},
		{"GET /health (root)", needPublic, func(t *testing.T, f *matrixFixture, h []string) response {
			return f.s.do(t, http.MethodGet, "/health", nil, h...)
		}},
		{"GET /openapi.json", needPublic, func(t *testing.T, f *matrixFixture, h []string) response {
			return f.s.do(t, http.MethodGet, "/api/v1/openapi.json", nil, h...)
		}},
		{"POST /upload", needAnonEditor, func(t *testing.T, f *matrixFixture, h []string) response {
			return uploadAs(t, f.s, h, "m.txt", "a matrix upload")
		}},
		{"POST /download-from-url", needAnonEditor, func(t *testing.T, f *matrixFixture, h []string) response {
			return doJSON(t, f.s, http.MethodPost, "/api/v1/download-from-url", map[string]any{"url": "http://127.0.0.1:9/doc.pdf"}, h...)
		}},
		{"POST /extract", needAnonEditor, func(t *testing.T, f *matrixFixture, h []string) response {
			return doJSON(t, f.s, http.MethodPost, "/api/v1/extract", map[string]any{"source_id": f.source}, h...)
		}},
		{"GET /sources", needAnonViewer, func(t *testing.T, f *matrixFixture, h []string) response {
			return f.s.do(t, http.MethodGet, "/api/v1/sources", nil, h...)
		}},
		{"GET /source/{id}", needAnonViewer, func(t *testing.T, f *matrixFixture, h []string) response {
			return f.s.do(t, http.MethodGet, "/api/v1/source/"+f.source, nil, h...)
		}},
		{"DELETE /source/{id}", needEditorRole, func(t *testing.T, f *matrixFixture, h []string) response {
			// A throwaway source, so that the others keep theirs.
			src := mustUpload(t, f.s, bearerOf(f.s.login(t, f.s.user(t, auth.DefaultTenantID, auth.RoleEditor)).AccessToken), "d.txt", "to delete")
			return f.s.do(t, http.MethodDelete, "/api/v1/source/"+src.ID, nil, h...)
		}},
		{"POST /auth/login", needPublic, func(t *testing.T, f *matrixFixture, h []string) response {
			return doJSON(t, f.s, http.MethodPost, "/api/v1/auth/login", map[string]any{"email": f.login.Email, "password": testPassword}, h...)
		}},
		{"POST /auth/refresh", needPublic, func(t *testing.T, f *matrixFixture, h []string) response {
			rt := f.s.login(t, f.login).RefreshToken
			return doJSON(t, f.s, http.MethodPost, "/api/v1/auth/refresh", map[string]any{"refresh_token": rt}, h...)
		}},
		{"POST /auth/logout", needPublic, func(t *testing.T, f *matrixFixture, h []string) response {
			rt := f.s.login(t, f.login).RefreshToken
			return doJSON(t, f.s, http.MethodPost, "/api/v1/auth/logout", map[string]any{"refresh_token": rt}, h...)
		}},
		{"POST /auth/revoke", needAdminRole, func(t *testing.T, f *matrixFixture, h []string) response {
			return doJSON(t, f.s, http.MethodPost, "/api/v1/auth/revoke", map[string]any{"user_id": f.victim.ID}, h...)
		}},
		{"GET /me", needAnyUser, func(t *testing.T, f *matrixFixture, h []string) response {
			return f.s.do(t, http.MethodGet, "/api/v1/me", nil, h...)
		}},
		{"GET /admin/feature-flags", needAdminRole, func(t *testing.T, f *matrixFixture, h []string) response {
			return f.s.do(t, http.MethodGet, "/api/v1/admin/feature-flags", nil, h...)
		}},
		{"PUT /admin/feature-flags", needAdminRole, func(t *testing.T, f *matrixFixture, h []string) response {
			return doJSON(t, f.s, http.MethodPut, "/api/v1/admin/feature-flags", map[string]any{"key": flags.BatchAsync, "enabled": false, "scope": "tenant"}, h...)
		}},
		{"GET /admin/audit-events", needAdminRole, func(t *testing.T, f *matrixFixture, h []string) response {
			return f.s.do(t, http.MethodGet, "/api/v1/admin/audit-events", nil, h...)
		}},
		{"GET /metrics", needMetrics, func(t *testing.T, f *matrixFixture, h []string) response {
			return f.s.do(t, http.MethodGet, "/metrics", nil, h...)
		}},
		{"POST /projects", needEditorRole, func(t *testing.T, f *matrixFixture, h []string) response {
			return doJSON(t, f.s, http.MethodPost, "/api/v1/projects", map[string]any{"name": fmt.Sprintf("matrix %d", userSeq.Add(1))}, h...)
		}},
		{"GET /projects", needAnyUser, func(t *testing.T, f *matrixFixture, h []string) response {
			return f.s.do(t, http.MethodGet, "/api/v1/projects", nil, h...)
		}},
		{"GET /projects/{id}", needAnyUser, func(t *testing.T, f *matrixFixture, h []string) response {
			return f.s.do(t, http.MethodGet, "/api/v1/projects/"+f.project, nil, h...)
		}},
		{"PATCH /projects/{id}", needEditorRole, func(t *testing.T, f *matrixFixture, h []string) response {
			return doJSON(t, f.s, http.MethodPatch, "/api/v1/projects/"+f.project, map[string]any{"description": "patched"}, h...)
		}},
		{"DELETE /projects/{id}", needEditorRole, func(t *testing.T, f *matrixFixture, h []string) response {
			// A throwaway project, so that the others keep theirs.
			p, err := f.s.projects.Create(context.Background(), auth.DefaultTenantID, fmt.Sprintf("to delete %d", userSeq.Add(1)), "")
			if err != nil {
				t.Fatal(err)
			}
			return f.s.do(t, http.MethodDelete, "/api/v1/projects/"+p.ID, nil, h...)
		}},
		{"POST /projects/{id}/sources", needEditorRole, func(t *testing.T, f *matrixFixture, h []string) response {
			return doJSON(t, f.s, http.MethodPost, "/api/v1/projects/"+f.project+"/sources", map[string]any{"source_ids": []string{f.source}}, h...)
		}},
		{"POST /projects/{id}/extract", needEditorRole, func(t *testing.T, f *matrixFixture, h []string) response {
			return doJSON(t, f.s, http.MethodPost, "/api/v1/projects/"+f.project+"/extract", map[string]any{"mode": "text"}, h...)
		}},
	}

	for _, authRequired := range []bool{false, true} {
		s := authStack(t, stackOptions{}, func(c *server.Config) { c.AuthRequired = authRequired })
		f := &matrixFixture{s: s,
			login:  s.user(t, auth.DefaultTenantID, auth.RoleViewer),
			victim: s.user(t, auth.DefaultTenantID, auth.RoleViewer),
		}
		f.source = mustUpload(t, s, s.bearer(t, auth.RoleEditor), "fixture.txt", "The matrix reads and extracts this source.").ID
		p, err := s.projects.Create(context.Background(), auth.DefaultTenantID, "matrix fixture", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.projects.AddSources(context.Background(), auth.DefaultTenantID, p.ID, []string{f.source}); err != nil {
			t.Fatal(err)
		}
		f.project = p.ID
		callers := []struct {
			name string
			role auth.Role
		}{{"no token", ""}, {"viewer", auth.RoleViewer}, {"editor", auth.RoleEditor}, {"admin", auth.RoleAdmin}}
		for _, c := range callers {
			var header []string
			var user *auth.User
			if c.role != "" {
				user = s.user(t, auth.DefaultTenantID, c.role)
				header = bearerOf(s.login(t, user).AccessToken)
			}
			for _, op := range ops {
				name := fmt.Sprintf("auth.required=%v/%s/%s", authRequired, c.name, op.name)
				t.Run(name, func(t *testing.T) {
					want := op.need.expected(c.role, authRequired)
					r := op.call(t, f, header)
					switch want {
					case allowed:
						if r.status == http.StatusUnauthorized || r.status == http.StatusForbidden || r.status >= 500 {
							t.Fatalf("want allowed (%s), got %d %s", op.need, r.status, r.body)
						}
					case unauthorized:
						requireError(t, r, http.StatusUnauthorized, server.CodeUnauthorized)
						if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
							t.Errorf("401 without a Bearer challenge")
						}
					case forbidden:
						requireError(t, r, http.StatusForbidden, server.CodeForbidden)
						// Each denial of a token holder is audited.
						e, ok := byRequestID(auditRows(t, s, auth.DefaultTenantID, "authz.denied"))[r.env.RequestID]
						if !ok {
							t.Fatalf("no authz.denied audit row for request %s", r.env.RequestID)
						}
						if e.ActorID != user.ID || e.Result != audit.ResultDenied || e.TargetType != "operation" || e.TargetID == "" {
							t.Errorf("authz.denied row = %+v", e)
						}
					}
				})
			}
		}
	}
}

func TestT49Enumeration(t *testing.T) {
	s := authStack(t, stackOptions{}, nil)
	admin := s.bearer(t, auth.RoleAdmin)
	for _, path := range []string{"/api/v1/sources", "/api/v1/admin/audit-events"} {
		for _, limit := range []string{"1000000", "-1", "0", "101", "1e3", "abc"} {
			r := s.do(t, http.MethodGet, path+"?limit="+limit, nil, admin...)
			requireError(t, r, http.StatusUnprocessableEntity, server.CodeValidationError)
			if len(r.env.Error.Details) == 0 || r.env.Error.Details[0].Field != "query.limit" {
				t.Errorf("%s limit=%s: details %+v", path, limit, r.env.Error.Details)
			}
		}
		requireOK(t, s.do(t, http.MethodGet, path+"?limit=100", nil, admin...), http.StatusOK, nil)
		// offset is not a parameter: it never reaches a query.
		if r := s.do(t, http.MethodGet, path+"?offset=9e18", nil, admin...); r.status >= 500 {
			t.Errorf("%s offset=9e18: %d %s", path, r.status, r.body)
		}
		forged := []string{
			"forged",
			base64.RawURLEncoding.EncodeToString([]byte("' OR 1=1--")),
			base64.RawURLEncoding.EncodeToString([]byte("src_zzzzzzzzzzzzzzzzzzzzzzzzzz")),
			base64.RawURLEncoding.EncodeToString([]byte("aud_01jd0000000000000000000000")[:20]),
			strings.Repeat("A", 200),
			"%00",
		}
		for _, c := range forged {
			r := s.do(t, http.MethodGet, path+"?cursor="+c, nil, admin...)
			requireError(t, r, http.StatusBadRequest, server.CodeInvalidRequest)
		}
	}

	// 50 ids share nothing beyond the ULID time prefix: their 80 random
	// bits are unrelated, not a counter.
	const n = 50
	ids := make([]ulid.ULID, 0, n)
	for i := range n {
		src := mustUpload(t, s, nil, "e.txt", fmt.Sprintf("enumeration probe %d", i))
		rest, ok := strings.CutPrefix(src.ID, "src_")
		if !ok || len(rest) != ulid.EncodedSize || rest != strings.ToLower(rest) {
			t.Fatalf("id %q is not src_ and a lower-case ULID", src.ID)
		}
		id, err := ulid.ParseStrict(rest)
		if err != nil {
			t.Fatalf("id %q: %v", src.ID, err)
		}
		ids = append(ids, id)
	}
	ms := map[uint64]bool{}
	for _, id := range ids {
		ms[id.Time()] = true
	}
	t.Logf("%d ids in %d distinct milliseconds", len(ids), len(ms))
	seen := map[string]int{}
	for i, id := range ids {
		e := id.Entropy()
		top := hex.EncodeToString(e[:5]) // 40 random bits
		if j, dup := seen[top]; dup {
			t.Errorf("ids %d and %d (%s, %s) share the top 40 bits of their random part: a monotonic counter, not random",
				j, i, ids[j], id)
		}
		seen[top] = i
		if i > 0 && id.Time() < ids[i-1].Time() {
			t.Errorf("id %d goes back in time", i)
		}
	}
}

// probeOutput is the answer of the test operation behind a feature flag.
type probeOutput struct {
	Body struct {
		OK bool `json:"ok"`
	}
}

func TestFeatureFlagDisabled(t *testing.T) {
	s := authStack(t, stackOptions{}, func(c *server.Config) { c.TenancyEnforced = true })
	huma.Register(s.srv.API(), huma.Operation{
		OperationID: "test-ai-assist-probe", Method: http.MethodPost, Path: "/api/v1/test/ai-assist-probe",
		Security: []map[string][]string{{}}, // anonymous allowed; a token needs viewer
		Metadata: map[string]any{"feature": flags.AIAssist},
	}, func(ctx context.Context, _ *struct{}) (*probeOutput, error) {
		out := &probeOutput{}
		out.Body.OK = true
		return out, nil
	})
	probe := func(h []string) response {
		return s.do(t, http.MethodPost, "/api/v1/test/ai-assist-probe", nil, h...)
	}
	requireOn := func(name string, h []string) {
		t.Helper()
		if r := probe(h); r.status != http.StatusOK {
			t.Errorf("%s: %d %s, want 200 (feature on)", name, r.status, r.body)
		}
	}
	requireOff := func(name string, h []string) {
		t.Helper()
		r := probe(h)
		if r.status != http.StatusForbidden || r.env.Error == nil || r.env.Error.Code != server.CodeFeatureDisabled {
			t.Errorf("%s: %d %s, want 403 feature_disabled", name, r.status, r.body)
			return
		}
		requireError(t, r, http.StatusForbidden, server.CodeFeatureDisabled)
	}
	put := func(h []string, scope string, enabled bool) response {
		return doJSON(t, s, http.MethodPut, "/api/v1/admin/feature-flags", map[string]any{"key": flags.AIAssist, "enabled": enabled, "scope": scope}, h...)
	}
	defAdminUser := s.user(t, auth.DefaultTenantID, auth.RoleAdmin)
	defAdmin := bearerOf(s.login(t, defAdminUser).AccessToken)
	defViewer := s.bearer(t, auth.RoleViewer)
	acmeAdminUser := s.user(t, "acme", auth.RoleAdmin)
	acmeAdmin := bearerOf(s.login(t, acmeAdminUser).AccessToken)
	acmeViewer := bearerOf(s.login(t, s.user(t, "acme", auth.RoleViewer)).AccessToken)

	// Default: on.
	requireOn("anonymous, default", nil)
	requireOn("acme viewer, default", acmeViewer)

	// Off globally, through the admin endpoint.
	var ff server.FeatureFlags
	requireOK(t, put(defAdmin, "global", false), http.StatusOK, &ff)
	requireOff("anonymous, global off", nil)
	requireOff("default viewer, global off", defViewer)
	requireOff("acme viewer, global off", acmeViewer)

	// A tenant override beats the global value, for that tenant only.
	requireOK(t, put(acmeAdmin, "tenant", true), http.StatusOK, &ff)
	requireOn("acme viewer, acme on, global off", acmeViewer)
	requireOff("default viewer, acme on, global off", defViewer)
	for _, f := range ff.Flags {
		if f.Key == flags.AIAssist && (!f.Enabled || f.Source != "tenant" || f.Global == nil || *f.Global || f.Tenant == nil || !*f.Tenant || ff.TenantID != "acme") {
			t.Errorf("acme's view of %s = %+v (tenant %s)", f.Key, f, ff.TenantID)
		}
	}
	// And the other way round: global on, tenant off.
	requireOK(t, put(defAdmin, "global", true), http.StatusOK, nil)
	requireOK(t, put(acmeAdmin, "tenant", false), http.StatusOK, nil)
	requireOff("acme viewer, acme off, global on", acmeViewer)
	requireOn("default viewer, acme off, global on", defViewer)
	requireOn("anonymous, acme off, global on", nil)

	// Only the default tenant's admins set global flags; others get 403.
	requireError(t, put(acmeAdmin, "global", false), http.StatusForbidden, server.CodeForbidden)
	requireOn("default viewer after acme's refused global change", defViewer)
	// Unknown flags are refused.
	requireError(t, doJSON(t, s, http.MethodPut, "/api/v1/admin/feature-flags", map[string]any{"key": "no.such.flag", "enabled": true, "scope": "global"}, defAdmin...),
		http.StatusUnprocessableEntity, server.CodeValidationError)

	// Every change is audited as flags.update, in the actor's tenant.
	want := map[string][]string{ // tenant -> results of its flags.update rows, oldest first
		auth.DefaultTenantID: {"success", "success", "failure"},
		"acme":               {"success", "success", "denied"},
	}
	for tenant, results := range want {
		rows := auditRows(t, s, tenant, "flags.update")
		var got []string
		for i := len(rows) - 1; i >= 0; i-- {
			e := rows[i]
			got = append(got, e.Result)
			actor := map[string]string{auth.DefaultTenantID: defAdminUser.ID, "acme": acmeAdminUser.ID}[tenant]
			if e.TargetID != flags.AIAssist && e.TargetID != "no.such.flag" || e.ActorType != audit.ActorUser || e.ActorID != actor || e.RequestID == "" {
				t.Errorf("flags.update row %+v", e)
			}
			if e.Result == audit.ResultSuccess && (e.Details["scope"] == nil || e.Details["enabled"] == nil) {
				t.Errorf("flags.update row without scope and enabled: %+v", e)
			}
		}
		if !slices.Equal(got, results) {
			t.Errorf("tenant %s: flags.update results %v, want %v", tenant, got, results)
		}
	}
}

func TestAuditEndpoint(t *testing.T) {
	s := authStack(t, stackOptions{}, func(c *server.Config) { c.TenancyEnforced = true })
	defAdmin := s.bearer(t, auth.RoleAdmin)
	defEditorUser := s.user(t, auth.DefaultTenantID, auth.RoleEditor)
	defEditor := bearerOf(s.login(t, defEditorUser).AccessToken)
	acmeAdmin := bearerOf(s.login(t, s.user(t, "acme", auth.RoleAdmin)).AccessToken)
	acmeEditor := bearerOf(s.login(t, s.user(t, "acme", auth.RoleEditor)).AccessToken)
	var defSources, acmeSources []string
	for i := range 5 {
		defSources = append(defSources, mustUpload(t, s, defEditor, "d.txt", fmt.Sprintf("default %d", i)).ID)
	}
	for i := range 3 {
		acmeSources = append(acmeSources, mustUpload(t, s, acmeEditor, "a.txt", fmt.Sprintf("acme %d", i)).ID)
	}

	// page walks the audit list with query q and returns every item.
	page := func(h []string, q string) []server.AuditEvent {
		t.Helper()
		var all []server.AuditEvent
		cursor := ""
		for range 100 {
			path := "/api/v1/admin/audit-events?" + q
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			var list server.AuditList
			requireOK(t, s.do(t, http.MethodGet, path, nil, h...), http.StatusOK, &list)
			all = append(all, list.Items...)
			if list.NextCursor == nil {
				return all
			}
			cursor = *list.NextCursor
		}
		t.Fatal("the audit list does not end")
		return nil
	}

	// Action filter with pages of two: the five uploads, newest first,
	// each once.
	got := page(defAdmin, "action=source.created&limit=2")
	var ids []string
	for i, e := range got {
		ids = append(ids, e.TargetID)
		if e.Action != "source.created" || e.TenantID != auth.DefaultTenantID || e.ActorID != defEditorUser.ID || e.Result != "success" || e.RequestID == "" {
			t.Errorf("event %+v", e)
		}
		if i > 0 && e.ID >= got[i-1].ID {
			t.Errorf("not newest first: %s after %s", e.ID, got[i-1].ID)
		}
	}
	slices.Reverse(ids)
	if !slices.Equal(ids, defSources) {
		t.Errorf("source.created targets %v, want %v", ids, defSources)
	}
	// Actor filter.
	for _, e := range page(defAdmin, "actor="+defEditorUser.ID+"&limit=3") {
		if e.ActorID != defEditorUser.ID {
			t.Errorf("actor filter let through %+v", e)
		}
	}
	// Another tenant's events never appear, filtered or not, and acme
	// sees its own.
	for _, e := range page(defAdmin, "limit=100") {
		if e.TenantID != auth.DefaultTenantID || slices.Contains(acmeSources, e.TargetID) {
			t.Errorf("the default tenant's admin sees %+v", e)
		}
	}
	acme := page(acmeAdmin, "action=source.created")
	if len(acme) != len(acmeSources) {
		t.Errorf("acme sees %d source.created events, want %d", len(acme), len(acmeSources))
	}
	for _, e := range page(acmeAdmin, "limit=100") {
		if e.TenantID != "acme" || slices.Contains(defSources, e.TargetID) {
			t.Errorf("acme's admin sees %+v", e)
		}
	}
	// A cursor of the default tenant does not open the default tenant's
	// events to acme.
	var first server.AuditList
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/admin/audit-events?limit=1", nil, defAdmin...), http.StatusOK, &first)
	if first.NextCursor != nil {
		var cross server.AuditList
		requireOK(t, s.do(t, http.MethodGet, "/api/v1/admin/audit-events?limit=100&cursor="+*first.NextCursor, nil, acmeAdmin...), http.StatusOK, &cross)
		for _, e := range cross.Items {
			if e.TenantID != "acme" {
				t.Errorf("acme with the default tenant's cursor sees %+v", e)
			}
		}
	}
	// Viewers and editors are refused; a forged cursor is a 400.
	requireError(t, s.do(t, http.MethodGet, "/api/v1/admin/audit-events", nil, s.bearer(t, auth.RoleViewer)...), http.StatusForbidden, server.CodeForbidden)
	requireError(t, s.do(t, http.MethodGet, "/api/v1/admin/audit-events", nil, defEditor...), http.StatusForbidden, server.CodeForbidden)
	requireError(t, s.do(t, http.MethodGet, "/api/v1/admin/audit-events", nil), http.StatusUnauthorized, server.CodeUnauthorized)
	requireError(t, s.do(t, http.MethodGet, "/api/v1/admin/audit-events?cursor=forged", nil, defAdmin...), http.StatusBadRequest, server.CodeInvalidRequest)
	// No token or password in what the endpoint shows.
	for _, e := range page(defAdmin, "limit=100") {
		b, _ := json.Marshal(e)
		if bytes.Contains(b, []byte(testPassword)) || bytes.Contains(b, []byte("qrt_")) || bytes.Contains(b, []byte("eyJ")) {
			t.Errorf("audit event shows a secret: %s", b)
		}
	}
}
