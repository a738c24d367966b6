package server

import (
	"context"
	"errors"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/quarryhq/quarry/sources"
)

type sourceOutput struct {
	Location string `header:"Location" doc:"URL of the new source"`
	Replayed string `header:"Idempotent-Replayed" doc:"true when this is the stored response to an earlier request with the same Idempotency-Key"`
	Body     Envelope[Source]
}

type sourceListOutput struct {
	Body Envelope[SourceList]
}

type noContent struct{}

// uploadInput streams the request body instead of letting huma parse it:
// huma neither caps multipart bodies nor removes their temp files, and a
// parsed form would write the file to disk once more before we store it.
// Resolve runs after huma has read the (absent) body, and hands the handler
// the raw stream.
type uploadInput struct {
	ContentType    string `header:"Content-Type"`
	ContentLength  int64  `header:"Content-Length"`
	IdempotencyKey string `header:"Idempotency-Key" doc:"makes retries safe; see the operation's description"`
	body           io.Reader
	setDeadline    func(time.Time) error
}

func (in *uploadInput) Resolve(ctx huma.Context) []error {
	in.body = ctx.BodyReader()
	in.setDeadline = ctx.SetReadDeadline
	return nil
}

type downloadInput struct {
	IdempotencyKey string `header:"Idempotency-Key" doc:"makes retries safe; see the operation's description"`
	Body           struct {
		URL       string `json:"url" minLength:"1" maxLength:"8192" doc:"http or https URL of a document; private and loopback addresses are refused"`
		ProjectID string `json:"project_id,omitempty" maxLength:"64" doc:"add the source to this project of the caller's tenant; one that does not exist answers 404 not_found before anything is fetched"`
	}
}

type listInput struct {
	Limit     int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
	Cursor    string `query:"cursor" maxLength:"256" doc:"next_cursor of the previous page"`
	Kind      string `query:"kind" enum:"upload,url,text"`
	Status    string `query:"status" enum:"stored,extracted,failed"`
	ProjectID string `query:"project_id" maxLength:"64" doc:"only the sources of this project (none for a project that does not exist)"`
}

type sourceIDInput struct {
	FileID string `path:"file_id" minLength:"1" maxLength:"256" doc:"source id"`
}

// maxFormParts bounds the parts of an upload body (RELIABILITY.md T05).
const maxFormParts = 20

func (s *Server) bindSources() {
	huma.Register(s.v1, huma.Operation{
		OperationID:   "upload",
		Method:        http.MethodPost,
		Path:          "/api/v1/upload",
		Security:      anonymousEditor,
		Summary:       "Upload a document",
		Description:   "Stores the multipart `file` part as a source. The content is hashed, sniffed and stored while it streams, so memory stays flat whatever its size. Files over the upload limit answer 413 payload_too_large; an empty file answers 422 validation_error. An optional `project_id` part adds the source to that project of the caller's tenant; a project_id that names none answers 404 not_found and nothing is kept (sent before the file part, it is checked before the file is read). " + idempotencyDoc,
		Tags:          []string{"sources"},
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity},
	}, s.upload)
	// Documented after registration: a request body declared at
	// registration would make huma read and validate the body itself.
	s.v1.OpenAPI().Paths["/api/v1/upload"].Post.RequestBody = &huma.RequestBody{
		Required: true,
		Content: map[string]*huma.MediaType{
			"multipart/form-data": uploadFormSchema("the document", map[string]*huma.Schema{
				"project_id": {Type: huma.TypeString, Description: "add the source to this project of the caller's tenant (404 not_found when there is none)", MaxLength: ptr(64)},
			}),
		},
	}

	huma.Register(s.v1, huma.Operation{
		OperationID:   "download-from-url",
		Method:        http.MethodPost,
		Path:          "/api/v1/download-from-url",
		Summary:       "Store a document from a URL",
		Description:   "Downloads the URL through the SSRF-safe fetcher (http/https only, ports 80/443, no private, loopback or link-local addresses, at most 3 redirects each re-checked, a byte cap after decompression) and stores it as a source. " + idempotencyDoc,
		Tags:          []string{"sources"},
		DefaultStatus: http.StatusCreated,
		Security:      anonymousEditor,
		Errors:        []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusBadGateway, http.StatusGatewayTimeout},
	}, s.downloadFromURL)

	huma.Register(s.v1, huma.Operation{
		OperationID: "list-sources",
		Method:      http.MethodGet,
		Path:        "/api/v1/sources",
		Summary:     "List sources",
		Description: "Newest first, with cursor pagination.",
		Tags:        []string{"sources"},
		Security:    anonymousViewer,
		Errors:      []int{http.StatusBadRequest},
	}, s.listSources)

	huma.Register(s.v1, huma.Operation{
		OperationID: "get-source",
		Method:      http.MethodGet,
		Path:        "/api/v1/source/{file_id}",
		Summary:     "Get a source",
		Description: "The source with its latest extraction, if any.",
		Tags:        []string{"sources"},
		Security:    anonymousViewer,
		Errors:      []int{http.StatusNotFound},
	}, s.getSource)

	huma.Register(s.v1, huma.Operation{
		OperationID:   "delete-source",
		Method:        http.MethodDelete,
		Path:          "/api/v1/source/{file_id}",
		Summary:       "Delete a source",
		Description:   "Removes the source and its extractions; the stored file goes too when no other source shares its content.",
		Tags:          []string{"sources"},
		DefaultStatus: http.StatusNoContent,
		Security:      needEditor,
		Errors:        []int{http.StatusNotFound},
	}, s.deleteSource)
}

func ptr[T any](v T) *T { return &v }

// uploadFormSchema documents a multipart body read by readUploadForm: the
// required file part, described by fileDoc, and the other parts.
func uploadFormSchema(fileDoc string, others map[string]*huma.Schema) *huma.MediaType {
	props := map[string]*huma.Schema{"file": {Type: huma.TypeString, Format: "binary", Description: fileDoc}}
	maps.Copy(props, others)
	return &huma.MediaType{Schema: &huma.Schema{Type: huma.TypeObject, Required: []string{"file"}, Properties: props}}
}

func (s *Server) invalid(ctx context.Context, status int, code, msg string, details ...ErrorDetail) error {
	e := newError(status, code, msg, details...)
	e.RequestID = requestIDFrom(ctx)
	return e
}

// projectNotFound answers a project_id that names no project of the
// caller's tenant (or any project_id, on a server without projects).
func (s *Server) projectNotFound(ctx context.Context) error {
	return s.invalid(ctx, http.StatusNotFound, CodeNotFound, "project not found")
}

func (s *Server) upload(ctx context.Context, in *uploadInput) (*sourceOutput, error) {
	if err := s.checkIdempotencyKey(ctx, in.IdempotencyKey); err != nil {
		return nil, err
	}
	form, err := s.readUploadForm(ctx, in, nil)
	if err != nil {
		return nil, err
	}
	// The fingerprint is known once the file is read: a retry stores its
	// copy, which the replay then removes (the content itself is stored
	// once either way).
	res, replay, err := s.beginIdempotent(ctx, in.IdempotencyKey, "upload", fingerprint(form.src.SHA256, form.src.Filename, projectField(form.projectID)))
	if err != nil || replay != nil {
		form.discard(ctx)
		return replay, err
	}
	// A project_id part sent before the file was checked before anything
	// was stored; one sent after it is checked here, and the upload
	// removed when it names no project.
	if err := s.addToProject(ctx, form.src, form.projectID); err != nil {
		form.discard(ctx)
		s.releaseIdempotent(ctx, res)
		return nil, err
	}
	out := &sourceOutput{Location: "/api/v1/source/" + form.src.ID, Body: ok(ctx, sourceDTO(form.src))}
	s.completeIdempotent(ctx, res, out)
	s.recordSource(ctx, "source.created", form.src)
	return out, nil
}

// uploadForm is a multipart upload read by readUploadForm.
type uploadForm struct {
	s *Server
	// src is the stored file part.
	src       *sources.Source
	projectID string
	// fields holds the small parts the caller asked for, by name, and
	// filenames their file names.
	fields    map[string][]byte
	filenames map[string]string
}

// discard deletes the stored source of a request that is refused after
// all: a failed request leaves nothing behind.
func (f *uploadForm) discard(ctx context.Context) {
	if f.src == nil {
		return
	}
	if err := f.s.deps.Sources.Delete(context.WithoutCancel(ctx), f.src.TenantID, f.src.ID); err != nil {
		f.s.log.ErrorContext(ctx, "removing a refused upload", "source_id", f.src.ID, "error", err.Error())
	}
	f.src = nil
}

// readUploadForm streams a multipart upload: the one "file" part goes
// into a new source as it arrives, "project_id" and the parts named in
// small (each read into memory up to its byte limit; over it is 413) are
// kept, others are drained within the body cap and ignored. On error
// nothing is left stored and the error is the response.
func (s *Server) readUploadForm(ctx context.Context, in *uploadInput, small map[string]int64) (*uploadForm, error) {
	limit := s.cfg.MaxUploadBytes + MultipartOverheadBytes
	for _, n := range small {
		limit += n
	}
	tooLarge := func() error {
		return s.invalid(ctx, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "the upload exceeds the limit of "+humanBytes(s.cfg.MaxUploadBytes))
	}
	if in.ContentLength > limit {
		return nil, tooLarge()
	}
	mt, params, err := mime.ParseMediaType(in.ContentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, s.invalid(ctx, http.StatusBadRequest, CodeInvalidRequest, "the body must be multipart/form-data with a file part",
			ErrorDetail{Field: "header.Content-Type", Message: "want multipart/form-data with a boundary"})
	}
	if in.setDeadline != nil {
		_ = in.setDeadline(time.Now().Add(s.cfg.UploadTimeout))
	}
	body := &cappedReader{r: in.body, n: limit}
	mr := multipart.NewReader(body, params["boundary"])
	form := &uploadForm{s: s, fields: map[string][]byte{}, filenames: map[string]string{}}
	fail := func(err error) (*uploadForm, error) {
		form.discard(ctx)
		return nil, err
	}
	unreadable := func() error {
		return s.invalid(ctx, http.StatusBadRequest, CodeInvalidRequest, "the multipart body cannot be read")
	}
	parts := 0
	for ; ; parts++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if body.over {
				return fail(tooLarge())
			}
			return fail(unreadable())
		}
		if parts >= maxFormParts {
			part.Close()
			return fail(s.invalid(ctx, http.StatusBadRequest, CodeInvalidRequest, "too many parts in the multipart body"))
		}
		name := part.FormName()
		switch max, isSmall := small[name]; {
		case name == "file":
			if form.src != nil {
				part.Close()
				return fail(s.invalid(ctx, http.StatusBadRequest, CodeInvalidRequest, "send one file per upload", ErrorDetail{Field: "file", Message: "more than one file part"}))
			}
			if err := s.checkProject(ctx, form.projectID); err != nil {
				part.Close()
				return fail(err)
			}
			tracked := &readErrTracker{r: part}
			form.src, err = s.deps.Sources.IngestUpload(ctx, s.tenant(ctx), tracked, part.FileName())
			part.Close()
			switch {
			case err == nil:
			case body.over:
				return fail(tooLarge())
			case tracked.err != nil && !errors.Is(err, sources.ErrTooLarge):
				// The client's body failed (cut connection, bad multipart
				// framing, read deadline): not our error.
				return fail(s.invalid(ctx, http.StatusBadRequest, CodeInvalidRequest, "the upload body could not be read"))
			default:
				return fail(s.fail(ctx, err))
			}
		case name == "project_id":
			v, err := io.ReadAll(io.LimitReader(part, 256))
			part.Close()
			if err != nil {
				return fail(unreadable())
			}
			form.projectID = strings.TrimSpace(string(v))
		case isSmall:
			if _, dup := form.fields[name]; dup {
				part.Close()
				return fail(s.invalid(ctx, http.StatusBadRequest, CodeInvalidRequest, "send one "+name+" part", ErrorDetail{Field: name, Message: "more than one " + name + " part"}))
			}
			v, err := io.ReadAll(io.LimitReader(part, max+1))
			part.Close()
			switch {
			case body.over:
				return fail(tooLarge())
			case err != nil:
				return fail(unreadable())
			case int64(len(v)) > max:
				return fail(s.invalid(ctx, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "the "+name+" part exceeds the limit of "+humanBytes(max),
					ErrorDetail{Field: name, Message: "at most " + humanBytes(max)}))
			}
			form.fields[name] = v
			form.filenames[name] = part.FileName()
		default:
			// Unknown fields are drained within the body cap and ignored.
			_, _ = io.Copy(io.Discard, part)
			part.Close()
		}
	}
	if parts == 0 {
		return nil, s.invalid(ctx, http.StatusBadRequest, CodeInvalidRequest, "the multipart body has no parts")
	}
	if form.src == nil {
		return nil, s.invalid(ctx, http.StatusUnprocessableEntity, CodeValidationError, "the file part is missing", ErrorDetail{Field: "file", Message: "required"})
	}
	return form, nil
}

// readErrTracker remembers the first read error of the client's stream.
type readErrTracker struct {
	r   io.Reader
	err error
}

func (t *readErrTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && t.err == nil {
		t.err = err
	}
	return n, err
}

// cappedReader fails once more than n bytes were read, so an upload without
// (or with a lying) Content-Length is still cut at the limit.
type cappedReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.over = true
		return 0, sources.ErrTooLarge
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}

func (s *Server) downloadFromURL(ctx context.Context, in *downloadInput) (*sourceOutput, error) {
	if err := s.checkIdempotencyKey(ctx, in.IdempotencyKey); err != nil {
		return nil, err
	}
	projectID := projectField(in.Body.ProjectID)
	res, replay, err := s.beginIdempotent(ctx, in.IdempotencyKey, "download-from-url", fingerprint(in.Body.URL, projectID))
	if err != nil || replay != nil {
		return replay, err
	}
	// An unknown project is refused before anything is fetched.
	if err := s.checkProject(ctx, projectID); err != nil {
		s.releaseIdempotent(ctx, res)
		return nil, err
	}
	src, err := s.deps.Sources.IngestURL(ctx, s.tenant(ctx), in.Body.URL)
	if err != nil {
		s.releaseIdempotent(ctx, res)
		return nil, s.fail(ctx, err)
	}
	if err := s.addToProject(ctx, src, projectID); err != nil {
		s.discardSource(ctx, src)
		s.releaseIdempotent(ctx, res)
		return nil, err
	}
	out := &sourceOutput{Location: "/api/v1/source/" + src.ID, Body: ok(ctx, sourceDTO(src))}
	s.completeIdempotent(ctx, res, out)
	s.recordSource(ctx, "source.created", src)
	return out, nil
}

func (s *Server) listSources(ctx context.Context, in *listInput) (*sourceListOutput, error) {
	page, err := s.deps.Sources.List(ctx, sources.ListParams{
		TenantID: s.tenant(ctx),
		Limit:    in.Limit, Cursor: in.Cursor, Kind: sources.Kind(in.Kind), Status: sources.Status(in.Status), ProjectID: in.ProjectID,
	})
	if err != nil {
		if errors.Is(err, sources.ErrInvalidCursor) {
			return nil, s.invalid(ctx, http.StatusBadRequest, CodeInvalidRequest, "the cursor is not valid", ErrorDetail{Field: "query.cursor", Message: "not a cursor this server issued"})
		}
		return nil, s.fail(ctx, err)
	}
	items := make([]Source, 0, len(page.Items))
	for _, src := range page.Items {
		items = append(items, sourceDTO(src))
	}
	list := SourceList{Items: items}
	if page.NextCursor != "" {
		list.NextCursor = &page.NextCursor
	}
	return &sourceListOutput{Body: ok(ctx, list)}, nil
}

func (s *Server) getSource(ctx context.Context, in *sourceIDInput) (*sourceOutput, error) {
	src, err := s.deps.Sources.Get(ctx, s.tenant(ctx), in.FileID)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	dto := sourceDTO(src)
	x, err := s.deps.Sources.LatestExtraction(ctx, src.TenantID, src.ID)
	switch {
	case err == nil:
		dto.LatestExtraction = extractionDTO(x)
	case !errors.Is(err, sources.ErrNotFound):
		return nil, s.fail(ctx, err)
	}
	return &sourceOutput{Body: ok(ctx, dto)}, nil
}

func (s *Server) deleteSource(ctx context.Context, in *sourceIDInput) (*noContent, error) {
	err := s.deps.Sources.Delete(ctx, s.tenant(ctx), in.FileID)
	s.record(ctx, principal(ctx), "source.deleted", "source", in.FileID, resultOfSource(err), nil)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &noContent{}, nil
}

func humanBytes(n int64) string {
	const mib = 1 << 20
	if n%mib == 0 {
		return itoa(n/mib) + " MiB"
	}
	return itoa(n) + " bytes"
}

// recordSource audits a new source: its kind, type and size, never its
// content or (for URLs, which may carry secrets in their query) more than
// the host.
func (s *Server) recordSource(ctx context.Context, action string, src *sources.Source) {
	d := map[string]any{"kind": string(src.Kind), "media_type": src.MediaType, "size_bytes": src.SizeBytes}
	if src.URL != "" {
		if u, err := url.Parse(src.URL); err == nil {
			d["host"] = u.Hostname()
		}
	}
	s.record(ctx, principal(ctx), action, "source", src.ID, resultSuccess, d)
}

func resultOfSource(err error) string {
	switch {
	case err == nil:
		return resultSuccess
	case errors.Is(err, sources.ErrNotFound):
		return resultDenied
	}
	return resultFailure
}
