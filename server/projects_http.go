package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/projects"
	"github.com/quarryhq/quarry/sources"
)

// Projects (CONTRACT.md section 4): named groups of sources, and
// synchronous batch extraction of their sources. The auth column of the
// contract says "editor (read: viewer)", not "anonymous allowed": like
// DELETE /source/{id}, every project operation needs a token, of role
// viewer to read and editor to write, also while QUARRY_AUTH_REQUIRED is
// false. Anonymous uploads may still name a project (project_id), since
// they act as editor of the default tenant.

// maxBatchSources bounds the sources of one POST /projects/{id}/extract.
const maxBatchSources = 100

type projectOutput struct {
	Location string `header:"Location" doc:"URL of the new project (201 only)"`
	Body     Envelope[Project]
}

type projectListOutput struct {
	Body Envelope[ProjectList]
}

type projectIDInput struct {
	ID string `path:"id" minLength:"1" maxLength:"64" doc:"project id"`
}

type createProjectInput struct {
	Body struct {
		Name        string `json:"name" minLength:"1" maxLength:"200" doc:"unique in the tenant whatever its case; trimmed; no control characters"`
		Description string `json:"description,omitempty" maxLength:"2000" doc:"trimmed; tabs and line breaks allowed, other control characters not"`
	}
}

type updateProjectInput struct {
	ID   string `path:"id" minLength:"1" maxLength:"64" doc:"project id"`
	Body struct {
		Name        *string `json:"name,omitempty" minLength:"1" maxLength:"200" doc:"the new name; absent keeps it"`
		Description *string `json:"description,omitempty" maxLength:"2000" doc:"the new description (\"\" clears it); absent keeps it"`
	}
}

type listProjectsInput struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
	Cursor string `query:"cursor" maxLength:"256" doc:"next_cursor of the previous page"`
}

type addSourcesInput struct {
	ID   string `path:"id" minLength:"1" maxLength:"64" doc:"project id"`
	Body struct {
		SourceIDs []string `json:"source_ids" minItems:"1" maxItems:"1000" doc:"sources of the caller's tenant to add; duplicates and sources already in the project are fine"`
	}
}

// batchExtractOptions are the options of POST /extract that apply to every
// source of a batch. A password (one per document) and the llm summarizer
// (one language-model call per source) are for POST /extract.
type batchExtractOptions struct {
	Pages            string           `json:"pages,omitempty" maxLength:"256" pattern:"^[0-9 ,-]*$" doc:"page selection such as 1-3,7 (1-based), for every source"`
	MaxChars         int              `json:"max_chars,omitempty" minimum:"1" doc:"cap on each returned text in code points (a truncated warning says when it applied)"`
	SummarySentences int              `json:"summary_sentences,omitempty" minimum:"1" maximum:"50" doc:"sentences in each summary (default 5)"`
	HeadersFooters   bool             `json:"headers_footers,omitempty" doc:"include page headers and footers (DOCX)"`
	Chunking         *chunkingOptions `json:"chunking,omitempty" doc:"split each returned text into chunks, as on POST /extract"`
}

func (o *batchExtractOptions) options(mode string) extract.Options {
	opts := extract.Options{Mode: extract.Mode(mode)}
	if o != nil {
		opts.Pages, opts.MaxChars, opts.SummarySentences = o.Pages, o.MaxChars, o.SummarySentences
		opts.HeadersFooters = o.HeadersFooters
		opts.Chunking = o.Chunking.options()
	}
	return opts
}

type batchExtractInput struct {
	ID             string `path:"id" minLength:"1" maxLength:"64" doc:"project id"`
	IdempotencyKey string `header:"Idempotency-Key" doc:"makes retries safe; see the operation's description"`
	Body           struct {
		Mode      string               `json:"mode,omitempty" enum:"text,summary" default:"text" doc:"text: the whole text; summary: the extractive summary"`
		SourceIDs []string             `json:"source_ids,omitempty" minItems:"1" maxItems:"100" doc:"sources of the project to extract, at most 100 (duplicates count once); absent: every source of the project, in the order they were added"`
		Options   *batchExtractOptions `json:"options,omitempty"`
	}
	extendWrite func(time.Time) error
}

func (in *batchExtractInput) Resolve(ctx huma.Context) []error {
	if _, w := humachi.Unwrap(ctx); w != nil {
		in.extendWrite = http.NewResponseController(w).SetWriteDeadline
	}
	return nil
}

type batchExtractOutput struct {
	Replayed string `header:"Idempotent-Replayed" doc:"true when this is the stored response to an earlier request with the same Idempotency-Key"`
	Body     Envelope[BatchExtraction]
}

func (s *Server) bindProjects() {
	tags := []string{"projects"}
	huma.Register(s.v1, huma.Operation{
		OperationID: "create-project", Method: http.MethodPost, Path: "/api/v1/projects",
		Summary:       "Create a project",
		Description:   "A project groups sources of the caller's tenant for batch extraction. Its name is unique in the tenant whatever its case (409 conflict otherwise). Needs an editor token.",
		Tags:          tags,
		DefaultStatus: http.StatusCreated,
		Security:      needEditor,
		Errors:        []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict},
	}, s.createProject)
	huma.Register(s.v1, huma.Operation{
		OperationID: "list-projects", Method: http.MethodGet, Path: "/api/v1/projects",
		Summary:     "List projects",
		Description: "The caller's tenant's projects, newest first, with cursor pagination. Needs a token (viewer).",
		Tags:        tags,
		Security:    needViewer,
		Errors:      []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden},
	}, s.listProjects)
	huma.Register(s.v1, huma.Operation{
		OperationID: "get-project", Method: http.MethodGet, Path: "/api/v1/projects/{id}",
		Summary:     "Get a project",
		Description: "Another tenant's project answers 404 like an unknown id. List its sources with GET /sources?project_id=. Needs a token (viewer).",
		Tags:        tags,
		Security:    needViewer,
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, s.getProject)
	huma.Register(s.v1, huma.Operation{
		OperationID: "update-project", Method: http.MethodPatch, Path: "/api/v1/projects/{id}",
		Summary:     "Rename or describe a project",
		Description: "Changes the fields given (name, description) and keeps the others. Needs an editor token.",
		Tags:        tags,
		Security:    needEditor,
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict},
	}, s.updateProject)
	huma.Register(s.v1, huma.Operation{
		OperationID: "delete-project", Method: http.MethodDelete, Path: "/api/v1/projects/{id}",
		Summary:       "Delete a project",
		Description:   "Removes the project; its sources stay (they only leave it). Needs an editor token.",
		Tags:          tags,
		DefaultStatus: http.StatusNoContent,
		Security:      needEditor,
		Errors:        []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, s.deleteProject)
	huma.Register(s.v1, huma.Operation{
		OperationID: "add-project-sources", Method: http.MethodPost, Path: "/api/v1/projects/{id}/sources",
		Summary: "Add sources to a project",
		Description: "Adds stored sources of the caller's tenant (at most 1000 per call) and returns the project. Idempotent: duplicates and sources already in the project are fine. " +
			"Every id must name a source of the tenant, else nothing is added and the answer is 404 not_found naming the unknown ids (another tenant's source answers like an unknown one). " +
			"Deleting a source takes it out of its projects. Needs an editor token.",
		Tags:     tags,
		Security: needEditor,
		Errors:   []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
	}, s.addProjectSources)
	huma.Register(s.v1, huma.Operation{
		OperationID: "extract-project", Method: http.MethodPost, Path: "/api/v1/projects/{id}/extract",
		Summary: "Extract the sources of a project",
		Description: "Extracts sources of the project (source_ids, at most 100, each of which must be in the project, else 422 validation_error naming them; without source_ids every source of the project, at most 100, else 422) " +
			"in mode text or summary with the options of POST /extract that apply to a batch (pages, max_chars, summary_sentences, headers_footers, chunking; a password or the llm summarizer are for POST /extract), and answers 200 with one result per source, in order: " +
			"its extraction (also stored as the source's latest, as POST /extract does) or the error POST /extract would have answered for it ({code, message}: malformed_document, encrypted_document, unsupported_media_type, extraction_timeout, over_capacity...). " +
			"One source failing never fails the batch; only when every source found all extraction slots busy is the answer 503 over_capacity. " +
			"Sources are extracted several at a time, within the server's extraction slots (QUARRY_MAX_IN_FLIGHT; audio and video on QUARRY_MAX_MEDIA_IN_FLIGHT). " +
			"The answer is synchronous, also while the batch.async.enabled feature flag is on: queued batch jobs (202 and a job) are not served yet. " +
			idempotencyDoc + " For a batch the request is the project, mode, source_ids and options; a response over 1 MiB is not kept, so its retry extracts again. " +
			"Needs an editor token.",
		Tags:     tags,
		Security: needEditor,
		Errors:   []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable},
	}, s.extractProject)
}

// requireProjects answers 503 when the server has no projects service.
func (s *Server) requireProjects(ctx context.Context) error {
	if s.deps.Projects == nil {
		return s.invalid(ctx, http.StatusServiceUnavailable, CodeDependencyUnavailable, "projects are not configured on this server")
	}
	return nil
}

func resultOfProject(err error) string {
	switch {
	case err == nil:
		return resultSuccess
	case errors.Is(err, projects.ErrNotFound):
		return resultDenied
	}
	return resultFailure
}

// projectDetails names the fields of a projects error (see fail).
func projectDetails(err error) []ErrorDetail {
	if ve, ok := errors.AsType[*projects.ValidationError](err); ok {
		return []ErrorDetail{{Field: "body." + ve.Field, Message: ve.Reason}}
	}
	if se, ok := errors.AsType[*projects.SourceNotFoundError](err); ok {
		var d []ErrorDetail
		for _, id := range se.IDs[:min(len(se.IDs), maxBatchSources)] {
			d = append(d, ErrorDetail{Field: "body.source_ids", Message: "unknown source " + id})
		}
		return d
	}
	if errors.Is(err, projects.ErrConflict) {
		return []ErrorDetail{{Field: "body.name", Message: "already in use in the tenant"}}
	}
	return nil
}

func (s *Server) createProject(ctx context.Context, in *createProjectInput) (*projectOutput, error) {
	if err := s.requireProjects(ctx); err != nil {
		return nil, err
	}
	p, err := s.deps.Projects.Create(ctx, s.tenant(ctx), in.Body.Name, in.Body.Description)
	if err != nil {
		code, _ := ErrorCode(err)
		s.record(ctx, principal(ctx), "project.created", "project", "", resultFailure, map[string]any{"code": code})
		return nil, s.fail(ctx, err)
	}
	s.record(ctx, principal(ctx), "project.created", "project", p.ID, resultSuccess, nil)
	return &projectOutput{Location: "/api/v1/projects/" + p.ID, Body: ok(ctx, projectDTO(p))}, nil
}

func (s *Server) listProjects(ctx context.Context, in *listProjectsInput) (*projectListOutput, error) {
	if err := s.requireProjects(ctx); err != nil {
		return nil, err
	}
	page, err := s.deps.Projects.List(ctx, projects.ListParams{TenantID: s.tenant(ctx), Limit: in.Limit, Cursor: in.Cursor})
	if err != nil {
		if errors.Is(err, projects.ErrInvalidCursor) {
			return nil, s.invalid(ctx, http.StatusBadRequest, CodeInvalidRequest, "the cursor is not valid", ErrorDetail{Field: "query.cursor", Message: "not a cursor this server issued"})
		}
		return nil, s.fail(ctx, err)
	}
	list := ProjectList{Items: make([]Project, 0, len(page.Items))}
	for _, p := range page.Items {
		list.Items = append(list.Items, projectDTO(p))
	}
	if page.NextCursor != "" {
		list.NextCursor = &page.NextCursor
	}
	return &projectListOutput{Body: ok(ctx, list)}, nil
}

func (s *Server) getProject(ctx context.Context, in *projectIDInput) (*projectOutput, error) {
	if err := s.requireProjects(ctx); err != nil {
		return nil, err
	}
	p, err := s.deps.Projects.Get(ctx, s.tenant(ctx), in.ID)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &projectOutput{Body: ok(ctx, projectDTO(p))}, nil
}

func (s *Server) updateProject(ctx context.Context, in *updateProjectInput) (*projectOutput, error) {
	if err := s.requireProjects(ctx); err != nil {
		return nil, err
	}
	fields := []string{}
	if in.Body.Name != nil {
		fields = append(fields, "name")
	}
	if in.Body.Description != nil {
		fields = append(fields, "description")
	}
	p, err := s.deps.Projects.Update(ctx, s.tenant(ctx), in.ID, projects.Update{Name: in.Body.Name, Description: in.Body.Description})
	s.record(ctx, principal(ctx), "project.updated", "project", in.ID, resultOfProject(err), map[string]any{"fields": fields})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &projectOutput{Body: ok(ctx, projectDTO(p))}, nil
}

func (s *Server) deleteProject(ctx context.Context, in *projectIDInput) (*noContent, error) {
	if err := s.requireProjects(ctx); err != nil {
		return nil, err
	}
	err := s.deps.Projects.Delete(ctx, s.tenant(ctx), in.ID)
	s.record(ctx, principal(ctx), "project.deleted", "project", in.ID, resultOfProject(err), nil)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &noContent{}, nil
}

func (s *Server) addProjectSources(ctx context.Context, in *addSourcesInput) (*projectOutput, error) {
	if err := s.requireProjects(ctx); err != nil {
		return nil, err
	}
	if err := s.checkSourceIDs(ctx, in.Body.SourceIDs); err != nil {
		return nil, err
	}
	p, err := s.deps.Projects.AddSources(ctx, s.tenant(ctx), in.ID, in.Body.SourceIDs)
	d := map[string]any{"requested": len(in.Body.SourceIDs)}
	if err == nil {
		d["source_count"] = p.SourceCount
	} else {
		d["code"], _ = ErrorCode(err)
	}
	s.record(ctx, principal(ctx), "project.sources_added", "project", in.ID, resultOfProject(err), d)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &projectOutput{Body: ok(ctx, projectDTO(p))}, nil
}

// maxIDLen bounds an id in a request body: longer ones cannot be ids.
const maxIDLen = 64

// checkSourceIDs answers 422 for source ids that cannot be ids (too long),
// so that they are never echoed in messages.
func (s *Server) checkSourceIDs(ctx context.Context, ids []string) error {
	var details []ErrorDetail
	for i, id := range ids {
		if len(id) > maxIDLen {
			details = append(details, ErrorDetail{Field: "body.source_ids[" + strconv.Itoa(i) + "]", Message: "at most " + strconv.Itoa(maxIDLen) + " bytes"})
		}
	}
	if len(details) > 0 {
		return s.invalid(ctx, http.StatusUnprocessableEntity, CodeValidationError, "source ids are at most "+strconv.Itoa(maxIDLen)+" bytes long", details...)
	}
	return nil
}

// checkProject answers 404 not_found unless projectID ("" is none) is a
// project of the caller's tenant: uploads and downloads check it before
// they store anything.
func (s *Server) checkProject(ctx context.Context, projectID string) error {
	if projectID == "" {
		return nil
	}
	if s.deps.Projects == nil {
		return s.projectNotFound(ctx)
	}
	if _, err := s.deps.Projects.Get(ctx, s.tenant(ctx), projectID); err != nil {
		return s.fail(ctx, err)
	}
	return nil
}

// addToProject puts the new source src into project projectID ("" is
// none) and records it in src.ProjectIDs. A project deleted meanwhile
// answers 404; the caller then removes src.
func (s *Server) addToProject(ctx context.Context, src *sources.Source, projectID string) error {
	if projectID == "" {
		return nil
	}
	if s.deps.Projects == nil {
		return s.projectNotFound(ctx)
	}
	if _, err := s.deps.Projects.AddSources(ctx, src.TenantID, projectID, []string{src.ID}); err != nil {
		return s.fail(ctx, err)
	}
	src.ProjectIDs = append(src.ProjectIDs, projectID)
	return nil
}

// discardSource deletes a source stored by a request that is refused
// after all: a failed request leaves nothing behind.
func (s *Server) discardSource(ctx context.Context, src *sources.Source) {
	if err := s.deps.Sources.Delete(context.WithoutCancel(ctx), src.TenantID, src.ID); err != nil {
		s.log.ErrorContext(ctx, "removing a refused source", "source_id", src.ID, "error", err.Error())
	}
}

func (s *Server) extractProject(ctx context.Context, in *batchExtractInput) (*batchExtractOutput, error) {
	if err := s.requireProjects(ctx); err != nil {
		return nil, err
	}
	if err := s.checkIdempotencyKey(ctx, in.IdempotencyKey); err != nil {
		return nil, err
	}
	if err := s.checkSourceIDs(ctx, in.Body.SourceIDs); err != nil {
		return nil, err
	}
	mode := in.Body.Mode
	if mode == "" {
		mode = string(extract.ModeText)
	}
	opts := in.Body.Options.options(mode)
	if _, err := extract.ParsePageRanges(opts.Pages); err != nil {
		return nil, s.fail(ctx, err)
	}
	if opts.Chunking != nil {
		if err := opts.Chunking.Validate(); err != nil {
			return nil, s.fail(ctx, err)
		}
	}
	// Duplicates count once; the order is the caller's.
	var asked []string
	for _, id := range in.Body.SourceIDs {
		if !slices.Contains(asked, id) {
			asked = append(asked, id)
		}
	}

	// The key is looked up before the project is read, so that a retry
	// gets the first answer even if the project changed since.
	optsJSON, _ := json.Marshal(in.Body.Options)
	which := "all"
	if in.Body.SourceIDs != nil {
		which = "ids:" + strings.Join(asked, ",")
	}
	res, stored, err := s.reserveIdempotent(ctx, in.IdempotencyKey, "project-extract", fingerprint(in.ID, mode, which, string(optsJSON)))
	if err != nil {
		return nil, err
	}
	if stored != nil {
		var out BatchExtraction
		if err := json.Unmarshal(stored.Body, &out); err != nil {
			return nil, s.fail(ctx, err)
		}
		return &batchExtractOutput{Replayed: "true", Body: ok(ctx, out)}, nil
	}
	out, err := s.runProjectBatch(ctx, in, asked, opts)
	if err != nil {
		s.releaseIdempotent(ctx, res)
		return nil, err
	}
	s.keepIdempotent(ctx, res, http.StatusOK, "", out)
	return &batchExtractOutput{Body: ok(ctx, *out)}, nil
}

// runProjectBatch checks the sources of a batch against the project and
// extracts them.
func (s *Server) runProjectBatch(ctx context.Context, in *batchExtractInput, asked []string, opts extract.Options) (*BatchExtraction, error) {
	tenant := s.tenant(ctx)
	members, err := s.deps.Projects.SourceIDs(ctx, tenant, in.ID)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	ids := asked
	if in.Body.SourceIDs == nil {
		if len(members) > maxBatchSources {
			return nil, s.invalid(ctx, http.StatusUnprocessableEntity, CodeValidationError,
				"the project has "+strconv.Itoa(len(members))+" sources, more than "+strconv.Itoa(maxBatchSources)+" per batch: pass source_ids",
				ErrorDetail{Field: "body.source_ids", Message: "required when the project has more than " + strconv.Itoa(maxBatchSources) + " sources"})
		}
		ids = members
	} else {
		var details []ErrorDetail
		var outside []string
		for i, id := range in.Body.SourceIDs {
			if !slices.Contains(members, id) {
				if !slices.Contains(outside, id) {
					outside = append(outside, id)
				}
				details = append(details, ErrorDetail{Field: "body.source_ids[" + strconv.Itoa(i) + "]", Message: "not a source of the project: " + id})
			}
		}
		if len(outside) > 0 {
			return nil, s.invalid(ctx, http.StatusUnprocessableEntity, CodeValidationError,
				"source_ids not in the project: "+strings.Join(outside, ", "), details...)
		}
	}

	start := time.Now()
	out := &BatchExtraction{ProjectID: in.ID, Mode: string(opts.Mode), Results: make([]BatchResult, len(ids))}
	workers := min(len(ids), s.cfg.MaxInFlight)
	// A long batch that makes progress keeps its connection: as each
	// source starts, the write deadline moves to when that source could
	// end at the latest (a transcription runs up to MediaTimeout) plus the
	// time to write. It only ever moves later, whichever worker moves it.
	var (
		deadlineMu sync.Mutex
		deadline   time.Time
	)
	extend := func() {
		if in.extendWrite == nil {
			return
		}
		deadlineMu.Lock()
		defer deadlineMu.Unlock()
		if t := time.Now().Add(s.cfg.MediaTimeout + s.cfg.WriteTimeout); t.After(deadline) {
			deadline = t
			_ = in.extendWrite(t)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				extend()
				out.Results[i] = s.extractOne(ctx, tenant, ids[i], opts)
			}
		})
	}
	wg.Wait()

	codes := map[string]int{}
	for _, r := range out.Results {
		if r.Err != nil {
			out.Failed++
			codes[r.Err.Code]++
		} else {
			out.Succeeded++
		}
	}
	details := map[string]any{"mode": string(opts.Mode), "sources": len(ids), "succeeded": out.Succeeded, "failed": out.Failed,
		"duration_ms": time.Since(start).Milliseconds()}
	if len(codes) > 0 {
		details["codes"] = codes
	}
	result := resultSuccess
	if out.Failed > 0 && out.Succeeded == 0 {
		result = resultFailure
	}
	s.record(ctx, principal(ctx), "project.extracted", "project", in.ID, result, details)
	if len(ids) > 0 && codes[CodeOverCapacity] == len(ids) {
		// Nothing was done: the client should retry the whole batch.
		return nil, s.invalid(ctx, http.StatusServiceUnavailable, CodeOverCapacity, "too many extractions in progress; retry shortly")
	}
	return out, nil
}

// extractOne extracts one source of a batch in its slot; a failure is its
// result, never the batch's.
func (s *Server) extractOne(ctx context.Context, tenant, id string, opts extract.Options) BatchResult {
	release, err := s.acquireFor(ctx, tenant, id)
	if err != nil {
		return BatchResult{SourceID: id, Err: s.itemError(ctx, err)}
	}
	defer release()
	x, err := s.deps.Sources.Extract(ctx, tenant, id, opts)
	if err != nil {
		return BatchResult{SourceID: id, Err: s.itemError(ctx, err)}
	}
	return BatchResult{SourceID: id, Extraction: extractionDTO(x)}
}

// itemError is the error of one source of a batch: the code and message
// that fail gives the same error, without details. Causes are logged as
// fail logs them.
func (s *Server) itemError(ctx context.Context, err error) *ErrorBody {
	e := s.fail(ctx, err) // logs the cause as for any response
	return &ErrorBody{Code: e.Err.Code, Message: e.Err.Message}
}
