package sources

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/ids"
	"github.com/quarryhq/quarry/storage"
	"github.com/quarryhq/quarry/urlfetch"
)

// DefaultMaxBytes is the upload and download cap when Config.MaxBytes is 0
// (QUARRY_MAX_UPLOAD_BYTES).
const DefaultMaxBytes = 50 << 20

// Fetcher downloads a URL; *urlfetch.Fetcher implements it.
type Fetcher interface {
	Fetch(ctx context.Context, rawURL string) (*urlfetch.Response, error)
}

// Extractor is what the service needs of an extraction engine.
type Extractor interface {
	Extract(ctx context.Context, in extract.Input, opts extract.Options) (*extract.Document, error)
	// Registry sniffs uploads in process.
	Registry() *extract.Registry
}

// Config configures a Service.
type Config struct {
	// DB is the migrated database (required).
	DB *storage.DB
	// Blobs stores the content (required).
	Blobs storage.BlobStore
	// Extractor sniffs and extracts (required): an *extract.Extractor
	// in process, or an *isolate.Pool running parsers in worker
	// processes.
	Extractor Extractor
	// Fetcher downloads URL sources. Optional: without it IngestURL
	// answers ErrURLUnsupported.
	Fetcher Fetcher
	// MaxBytes caps uploads, downloads and texts (default 50 MiB).
	MaxBytes int64
	// Logger (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service stores sources and their extractions. It is safe for
// concurrent use.
type Service struct {
	db       *storage.DB
	blobs    storage.BlobStore
	ex       Extractor
	fetcher  Fetcher
	maxBytes int64
	log      *slog.Logger
	now      func() time.Time
	ids      *ids.Generator
	keys     keyLocks
}

// New returns a Service. Errors name the Config field at fault.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.DB == nil:
		return nil, errors.New("sources: Config.DB is required")
	case cfg.Blobs == nil:
		return nil, errors.New("sources: Config.Blobs is required")
	case cfg.Extractor == nil:
		return nil, errors.New("sources: Config.Extractor is required")
	case cfg.MaxBytes < 0:
		return nil, errors.New("sources: Config.MaxBytes must not be negative")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{
		db:       cfg.DB,
		blobs:    cfg.Blobs,
		ex:       cfg.Extractor,
		fetcher:  cfg.Fetcher,
		maxBytes: cmp.Or(cfg.MaxBytes, DefaultMaxBytes),
		log:      cfg.Logger,
		now:      cfg.Now,
		ids:      newIDGen(),
	}, nil
}

// ingest is what one new source is made of.
type ingest struct {
	tenantID  string
	kind      Kind
	filename  string // sanitized
	mediaType string // "" to sniff
	url       string
	metadata  map[string]any
}

// IngestUpload stores the content of r as a new upload source. It streams:
// r is hashed, sniffed (the first extract.SniffLen bytes; the filename only
// refines a generic text type), capped at MaxBytes and written to the blob
// store in one pass, whatever its size. An empty r gives ErrEmpty, more
// than MaxBytes gives ErrTooLarge; a read error is returned wrapped. In
// every failure nothing is stored. A type no parser reads is still stored;
// extracting it answers extract.ErrUnsupportedFormat.
func (s *Service) IngestUpload(ctx context.Context, tenantID string, r io.Reader, filename string) (*Source, error) {
	src, err := s.ingest(ctx, r, ingest{tenantID: tenantID, kind: KindUpload, filename: SanitizeFilename(filename, "upload")})
	if err != nil {
		return nil, fmt.Errorf("sources: upload: %w", err)
	}
	return src, nil
}

// IngestText stores text as a new text source, of media type
// "text/plain; charset=utf-8" and filename (sanitized) or "text.txt".
func (s *Service) IngestText(ctx context.Context, tenantID, text, filename string) (*Source, error) {
	src, err := s.ingest(ctx, strings.NewReader(text), ingest{
		tenantID:  tenantID,
		kind:      KindText,
		filename:  SanitizeFilename(filename, "text.txt"),
		mediaType: "text/plain; charset=utf-8",
	})
	if err != nil {
		return nil, fmt.Errorf("sources: text: %w", err)
	}
	return src, nil
}

// IngestURL downloads rawURL with the Fetcher and stores the body as a new
// url source, streaming as IngestUpload does. The source keeps rawURL; its
// metadata records the final URL after redirects and the declared content
// type. Fetcher errors (and body read errors) are returned wrapped
// unchanged, so errors.Is matches urlfetch's sentinels. Without a Fetcher
// it answers ErrURLUnsupported.
func (s *Service) IngestURL(ctx context.Context, tenantID, rawURL string) (*Source, error) {
	if tenantID == "" {
		return nil, ErrNoTenant
	}
	if s.fetcher == nil {
		return nil, ErrURLUnsupported
	}
	resp, err := s.fetcher.Fetch(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("sources: fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.ContentLength > s.maxBytes {
		return nil, fmt.Errorf("sources: fetch: %w: the server declares %d bytes, the limit is %d", ErrTooLarge, resp.ContentLength, s.maxBytes)
	}
	finalURL := rawURL
	if resp.URL != nil {
		finalURL = resp.URL.String()
	}
	meta := map[string]any{"final_url": finalURL}
	if resp.ContentType != "" {
		meta["content_type"] = resp.ContentType
	}
	src, err := s.ingest(ctx, resp.Body, ingest{
		tenantID: tenantID,
		kind:     KindURL,
		filename: SanitizeFilename(cmp.Or(resp.Filename, filenameFromURL(resp.URL), filenameFromURL(parseURL(rawURL))), "download"),
		url:      rawURL,
		metadata: meta,
	})
	if err != nil {
		return nil, fmt.Errorf("sources: fetch: %w", err)
	}
	return src, nil
}

func parseURL(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	return u
}

// filenameFromURL is the last non-empty path segment of u, unescaped.
func filenameFromURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	base := path.Base(u.Path)
	if base == "/" || base == "." {
		return ""
	}
	return base
}

// capReader counts what it reads and fails with ErrTooLarge on the first
// byte past max, so at most max+1 bytes are ever read.
type capReader struct {
	r        io.Reader
	n, max   int64
	tooLarge bool
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.tooLarge {
		return 0, ErrTooLarge
	}
	if rem := c.max + 1 - c.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		c.tooLarge = true
		return n, ErrTooLarge
	}
	return n, err
}

func (s *Service) ingest(ctx context.Context, r io.Reader, in ingest) (*Source, error) {
	if in.tenantID == "" {
		return nil, ErrNoTenant
	}
	cr := &capReader{r: r, max: s.maxBytes}
	tooLarge := func(err error) error {
		if cr.tooLarge {
			return fmt.Errorf("%w: the limit is %d bytes", ErrTooLarge, s.maxBytes)
		}
		return err
	}

	// Read the head first: it decides emptiness and the media type before
	// anything is written.
	head, err := readHead(cr, extract.SniffLen)
	n := len(head)
	var body io.Reader
	switch {
	case errors.Is(err, io.EOF):
		body = bytes.NewReader(head)
	case err != nil:
		return nil, tooLarge(err)
	default:
		body = io.MultiReader(bytes.NewReader(head), cr)
	}
	if n == 0 {
		return nil, ErrEmpty
	}
	mediaType := in.mediaType
	if mediaType == "" {
		mediaType = s.ex.Registry().Sniff(head, in.filename)
	}

	// The key lock keeps a concurrent Delete of another source with the
	// same content from removing the blob between our Put and our insert.
	// It is taken when the stream ends, inside Put and before the blob is
	// renamed into place (storage.BlobInfo.Key is the SHA-256, known then),
	// and held until the row is in.
	h := sha256.New()
	pin := &pinOnEOF{r: io.TeeReader(body, h), h: h, keys: &s.keys}
	defer pin.release()
	info, err := s.blobs.Put(ctx, pin)
	if err != nil {
		return nil, tooLarge(err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if pin.key != info.Key {
		// The store did not read to EOF, or keys by something else: lock
		// now and check that the blob survived.
		pin.release()
		pin.unlock, pin.key = s.keys.lock(info.Key), info.Key
		if ok, err := s.blobs.Exists(ctx, info.Key); err != nil {
			return nil, err
		} else if !ok {
			return nil, errors.New("the stored content was deleted concurrently; retry")
		}
	}

	now := s.now().UTC().Truncate(time.Microsecond) // as stored
	id, err := s.ids.Next(now)
	if err != nil {
		return nil, err
	}
	if in.metadata == nil {
		in.metadata = map[string]any{}
	}
	src := &Source{
		ID:         id,
		TenantID:   in.tenantID,
		Kind:       in.kind,
		Filename:   in.filename,
		MediaType:  mediaType,
		SizeBytes:  info.Size,
		SHA256:     sum,
		URL:        in.url,
		Status:     StatusStored,
		ProjectIDs: []string{},
		CreatedAt:  now,
		UpdatedAt:  now,
		Metadata:   in.metadata,
	}
	meta, err := json.Marshal(src.Metadata)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}

	var urlArg any
	if in.url != "" {
		urlArg = in.url
	}
	q := s.db.Write.Rebind(`INSERT INTO sources
		(id, tenant_id, kind, filename, media_type, size_bytes, sha256, blob_key, url, status, metadata, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	_, err = s.db.Write.ExecContext(ctx, q, src.ID, src.TenantID, src.Kind, src.Filename, src.MediaType, src.SizeBytes,
		src.SHA256, info.Key, urlArg, src.Status, string(meta), storage.Timestamp(now), storage.Timestamp(now))
	if err != nil {
		s.releaseBlob(context.WithoutCancel(ctx), info.Key)
		return nil, fmt.Errorf("insert: %w", err)
	}
	return src, nil
}

// pinOnEOF passes reads through and, when the stream ends, locks the key
// of what was read (its SHA-256) in keys.
type pinOnEOF struct {
	r      io.Reader
	h      hash.Hash
	keys   *keyLocks
	key    string
	unlock func()
}

func (p *pinOnEOF) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err == io.EOF && p.unlock == nil {
		p.key = hex.EncodeToString(p.h.Sum(nil))
		p.unlock = p.keys.lock(p.key)
	}
	return n, err
}

func (p *pinOnEOF) release() {
	if p.unlock != nil {
		p.unlock()
		p.unlock, p.key = nil, ""
	}
}

// releaseBlob deletes the blob under key when no source refers to it. The
// caller holds the key lock.
func (s *Service) releaseBlob(ctx context.Context, key string) {
	var n int
	q := s.db.Write.Rebind(`SELECT COUNT(*) FROM sources WHERE blob_key = ?`)
	if err := s.db.Write.GetContext(ctx, &n, q, key); err != nil {
		s.log.WarnContext(ctx, "cannot count blob references; the blob is kept", "blob", key, "err", err)
		return
	}
	if n > 0 {
		return
	}
	if err := s.blobs.Delete(ctx, key); err != nil {
		s.log.WarnContext(ctx, "cannot delete an unreferenced blob", "blob", key, "err", err)
	}
}

// sourceRow is a row of sources.
type sourceRow struct {
	ID        string         `db:"id"`
	TenantID  string         `db:"tenant_id"`
	Kind      string         `db:"kind"`
	Filename  string         `db:"filename"`
	MediaType string         `db:"media_type"`
	SizeBytes int64          `db:"size_bytes"`
	SHA256    string         `db:"sha256"`
	BlobKey   string         `db:"blob_key"`
	URL       sql.NullString `db:"url"`
	Status    string         `db:"status"`
	Metadata  string         `db:"metadata"`
	CreatedAt string         `db:"created_at"`
	UpdatedAt string         `db:"updated_at"`
}

const sourceColumns = `id, tenant_id, kind, filename, media_type, size_bytes, sha256, blob_key, url, status, metadata, created_at, updated_at`

func (r *sourceRow) source() (*Source, error) {
	created, err := storage.ParseTimestamp(r.CreatedAt)
	if err != nil {
		return nil, err
	}
	updated, err := storage.ParseTimestamp(r.UpdatedAt)
	if err != nil {
		return nil, err
	}
	meta := map[string]any{}
	if err := json.Unmarshal([]byte(r.Metadata), &meta); err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", r.ID, err)
	}
	if meta == nil { // the JSON null
		meta = map[string]any{}
	}
	return &Source{
		ID:         r.ID,
		TenantID:   r.TenantID,
		Kind:       Kind(r.Kind),
		Filename:   r.Filename,
		MediaType:  r.MediaType,
		SizeBytes:  r.SizeBytes,
		SHA256:     r.SHA256,
		URL:        r.URL.String,
		Status:     Status(r.Status),
		ProjectIDs: []string{},
		CreatedAt:  created,
		UpdatedAt:  updated,
		Metadata:   meta,
	}, nil
}

func (s *Service) getRow(ctx context.Context, db *sqlx.DB, tenantID, id string) (*sourceRow, error) {
	if tenantID == "" {
		return nil, ErrNoTenant
	}
	if !validID(id) {
		return nil, ErrNotFound
	}
	var row sourceRow
	q := db.Rebind(`SELECT ` + sourceColumns + ` FROM sources WHERE id = ? AND tenant_id = ?`)
	if err := db.GetContext(ctx, &row, q, id, tenantID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return &row, nil
}

// Get returns the source with id, or ErrNotFound.
func (s *Service) Get(ctx context.Context, tenantID, id string) (*Source, error) {
	row, err := s.getRow(ctx, s.db.Read, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("sources: get %s: %w", id, err)
	}
	src, err := row.source()
	if err != nil {
		return nil, fmt.Errorf("sources: get %s: %w", id, err)
	}
	if err := s.fillProjects(ctx, tenantID, []*Source{src}); err != nil {
		return nil, fmt.Errorf("sources: get %s: %w", id, err)
	}
	return src, nil
}

// fillProjects sets the ProjectIDs of srcs (sources of tenantID) from
// project_sources, in one query: the ids of the tenant's projects each
// source is in, sorted (project ids sort in creation order).
func (s *Service) fillProjects(ctx context.Context, tenantID string, srcs []*Source) error {
	if len(srcs) == 0 {
		return nil
	}
	byID := make(map[string]*Source, len(srcs))
	srcIDs := make([]string, 0, len(srcs))
	for _, src := range srcs {
		byID[src.ID] = src
		srcIDs = append(srcIDs, src.ID)
	}
	q, args, err := sqlx.In(`SELECT ps.source_id, ps.project_id FROM project_sources ps
		JOIN projects p ON p.id = ps.project_id
		WHERE p.tenant_id = ? AND ps.source_id IN (?)
		ORDER BY ps.source_id, ps.project_id`, tenantID, srcIDs)
	if err != nil {
		return err
	}
	var rows []struct {
		SourceID  string `db:"source_id"`
		ProjectID string `db:"project_id"`
	}
	if err := s.db.Read.SelectContext(ctx, &rows, s.db.Read.Rebind(q), args...); err != nil {
		return fmt.Errorf("project ids: %w", err)
	}
	for _, r := range rows {
		if src := byID[r.SourceID]; src != nil {
			src.ProjectIDs = append(src.ProjectIDs, r.ProjectID)
		}
	}
	return nil
}

// List limits.
const (
	DefaultListLimit = 20
	MaxListLimit     = 100
)

// ListParams selects a page of sources.
type ListParams struct {
	// TenantID scopes the list (required).
	TenantID string
	// Limit is the page size: 0 or less means DefaultListLimit, more than
	// MaxListLimit is clamped to it.
	Limit int
	// Cursor is a ListPage.NextCursor from an earlier call, "" for the
	// first page.
	Cursor string
	// Kind and Status filter when not empty; unknown values answer
	// ErrInvalidFilter.
	Kind   Kind
	Status Status
	// ProjectID, when not empty, keeps the sources of that project of the
	// tenant. A project that does not exist (or is another tenant's) gives
	// an empty page, as a filter that matches nothing does.
	ProjectID string
}

// ListPage is one page of sources, newest first.
type ListPage struct {
	// Items is never nil.
	Items []*Source
	// NextCursor fetches the next page; "" on the last page.
	NextCursor string
}

// List returns sources newest first (by id: ids are ULIDs, so id order is
// creation order, and ties cannot happen since ids are unique), one page at
// a time. A cursor this package did not issue answers ErrInvalidCursor.
// Pages are stable under concurrent inserts: new sources sort before the
// cursor and never shift later pages.
func (s *Service) List(ctx context.Context, p ListParams) (*ListPage, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	q := `SELECT ` + sourceColumns + ` FROM sources WHERE tenant_id = ?`
	if p.TenantID == "" {
		return nil, ErrNoTenant
	}
	args := []any{p.TenantID}
	if p.Cursor != "" {
		after, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, err
		}
		q += ` AND id < ?`
		args = append(args, after)
	}
	if p.Kind != "" {
		if !p.Kind.Valid() {
			return nil, fmt.Errorf("%w: kind %q", ErrInvalidFilter, p.Kind)
		}
		q += ` AND kind = ?`
		args = append(args, string(p.Kind))
	}
	if p.Status != "" {
		if !p.Status.Valid() {
			return nil, fmt.Errorf("%w: status %q", ErrInvalidFilter, p.Status)
		}
		q += ` AND status = ?`
		args = append(args, string(p.Status))
	}
	if p.ProjectID != "" {
		q += ` AND EXISTS (SELECT 1 FROM project_sources ps JOIN projects p ON p.id = ps.project_id
			WHERE ps.source_id = sources.id AND ps.project_id = ? AND p.tenant_id = sources.tenant_id)`
		args = append(args, p.ProjectID)
	}
	page := &ListPage{Items: []*Source{}}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)

	var rows []sourceRow
	if err := s.db.Read.SelectContext(ctx, &rows, s.db.Read.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("sources: list: %w", err)
	}
	var err error
	page.Items, page.NextCursor, err = ids.Page(rows, limit, (*sourceRow).source, func(r *sourceRow) string { return r.ID })
	if err != nil {
		return nil, fmt.Errorf("sources: list: %w", err)
	}
	if err := s.fillProjects(ctx, p.TenantID, page.Items); err != nil {
		return nil, fmt.Errorf("sources: list: %w", err)
	}
	return page, nil
}

// Delete removes the source with id (its extractions go with it) and its
// blob when no other source has the same content. ErrNotFound when there
// is no such source.
//
// Within one process a blob is never removed under a concurrent ingest of
// the same content: an ingest locks the content's key as soon as its
// stream ends (before the store renames the blob into place) until its row
// is in, and Delete holds the same lock from the row delete to the blob
// delete. Across processes sharing the database and the store there is a
// small window (another process's Put finishing between our reference
// count and our blob delete) in which that ingest's blob can be removed;
// its source then answers a not-found error on extraction.
func (s *Service) Delete(ctx context.Context, tenantID, id string) error {
	row, err := s.getRow(ctx, s.db.Read, tenantID, id)
	if err != nil {
		return fmt.Errorf("sources: delete %s: %w", id, err)
	}
	unlock := s.keys.lock(row.BlobKey)
	defer unlock()
	var refs int
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM sources WHERE id = ? AND tenant_id = ?`), id, tenantID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		return tx.GetContext(ctx, &refs, tx.Rebind(`SELECT COUNT(*) FROM sources WHERE blob_key = ?`), row.BlobKey)
	})
	if err != nil {
		return fmt.Errorf("sources: delete %s: %w", id, err)
	}
	if refs == 0 {
		// The row is gone: a failure here leaves an unreferenced blob,
		// which is logged rather than reported as a failed delete.
		if err := s.blobs.Delete(context.WithoutCancel(ctx), row.BlobKey); err != nil {
			s.log.WarnContext(ctx, "cannot delete the blob of a deleted source", "source", id, "blob", row.BlobKey, "err", err)
		}
	}
	return nil
}

// isDocumentError reports the extraction failures that are the document's
// fault, which mark a source failed.
func isDocumentError(err error) bool {
	for _, target := range []error{extract.ErrMalformed, extract.ErrEncrypted, extract.ErrTimeout, extract.ErrUnsupportedFormat, extract.ErrTooLarge, extract.ErrTooLong} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// Extract runs the Extractor on the stored content of source id with opts,
// stores the result as the latest extraction of (source, mode) and marks
// the source extracted. When the document is at fault (errors wrapping
// extract.ErrMalformed, ErrEncrypted, ErrTimeout, ErrUnsupportedFormat,
// ErrTooLarge or ErrTooLong) the source is marked failed and the error
// returned; other errors (bad options, a cancelled ctx, I/O, a missing
// engine) change nothing.
func (s *Service) Extract(ctx context.Context, tenantID, id string, opts extract.Options) (*Extraction, error) {
	return s.ExtractWith(ctx, tenantID, id, cmp.Or(opts.Mode, extract.ModeText), func(ctx context.Context, in extract.Input) (*extract.Document, error) {
		return s.ex.Extract(ctx, in, opts)
	})
}

// ExtractWith is Extract with fn in place of the Extractor, for results
// made another way, such as a video's transcript from an uploaded subtitle
// file. fn gets the stored content with its sniffed media type and
// filename; its result is stored as the extraction of (source id, mode)
// with the same rules as Extract's.
func (s *Service) ExtractWith(ctx context.Context, tenantID, id string, mode extract.Mode, fn func(context.Context, extract.Input) (*extract.Document, error)) (*Extraction, error) {
	row, err := s.getRow(ctx, s.db.Read, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("sources: extract %s: %w", id, err)
	}
	blob, err := s.blobs.Open(ctx, row.BlobKey)
	if err != nil {
		return nil, fmt.Errorf("sources: extract %s: content: %w", id, err)
	}
	defer blob.Close()

	in := extract.Input{R: blob, Size: blob.Size(), MediaType: row.MediaType, Filename: row.Filename}
	if c, closeCompanion := s.companion(ctx, row); c != nil {
		defer closeCompanion()
		in.Companion = c
	}
	mode = cmp.Or(mode, extract.ModeText)
	start := time.Now()
	doc, err := fn(ctx, in)
	elapsed := time.Since(start).Milliseconds()
	if err != nil {
		if isDocumentError(err) {
			if serr := s.setStatus(context.WithoutCancel(ctx), tenantID, id, StatusFailed); serr != nil && !errors.Is(serr, ErrNotFound) {
				s.log.WarnContext(ctx, "cannot mark a source failed", "source", id, "err", serr)
			}
		}
		return nil, fmt.Errorf("sources: extract %s: %w", id, err)
	}
	if doc == nil {
		return nil, fmt.Errorf("sources: extract %s: no document", id)
	}

	result, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("sources: extract %s: %w", id, err)
	}
	now := s.now().UTC().Truncate(time.Microsecond) // as stored
	ts := storage.Timestamp(now)
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE sources SET status = ?, updated_at = ? WHERE id = ? AND tenant_id = ?`),
			StatusExtracted, ts, id, tenantID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound // deleted meanwhile
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO extractions (source_id, mode, result, duration_ms, created_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (source_id, mode) DO UPDATE SET
				result = excluded.result, duration_ms = excluded.duration_ms, created_at = excluded.created_at`),
			id, string(mode), string(result), elapsed, ts)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sources: extract %s: %w", id, err)
	}
	return &Extraction{SourceID: id, Mode: mode, Document: *doc, DurationMS: elapsed, CreatedAt: now}, nil
}

// MetaCompanion is the metadata key that names a source's companion (see
// SetCompanion).
const MetaCompanion = "companion_source_id"

// SetCompanion makes source companionID the companion of source id: its
// content goes with id's to the parser in every later extraction
// (extract.Input.Companion), as the subtitles uploaded with a video do.
// The link is metadata[MetaCompanion] of id; both sources must exist in
// the tenant (else ErrNotFound), and each stays a source of its own:
// deleting one leaves the other, and a companion that is gone is no
// longer passed.
func (s *Service) SetCompanion(ctx context.Context, tenantID, id, companionID string) (*Source, error) {
	if id == companionID {
		return nil, errors.New("sources: a source cannot be its own companion")
	}
	var src *Source
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM sources WHERE id = ? AND tenant_id = ?`), companionID, tenantID); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		var row sourceRow
		err := tx.GetContext(ctx, &row, tx.Rebind(`SELECT `+sourceColumns+` FROM sources WHERE id = ? AND tenant_id = ?`), id, tenantID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if src, err = row.source(); err != nil {
			return err
		}
		src.Metadata[MetaCompanion] = companionID
		src.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
		meta, err := json.Marshal(src.Metadata)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE sources SET metadata = ?, updated_at = ? WHERE id = ? AND tenant_id = ?`),
			string(meta), storage.Timestamp(src.UpdatedAt), id, tenantID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sources: set companion of %s: %w", id, err)
	}
	return src, nil
}

// companion opens the companion of row, if it names one that still
// exists; the caller closes it with the function returned.
func (s *Service) companion(ctx context.Context, row *sourceRow) (*extract.Companion, func()) {
	var meta map[string]any
	if json.Unmarshal([]byte(row.Metadata), &meta) != nil {
		return nil, nil
	}
	id, _ := meta[MetaCompanion].(string)
	if id == "" {
		return nil, nil
	}
	crow, err := s.getRow(ctx, s.db.Read, row.TenantID, id)
	if err != nil {
		s.log.DebugContext(ctx, "the companion of a source is gone", "source", row.ID, "companion", id, "err", err)
		return nil, nil
	}
	blob, err := s.blobs.Open(ctx, crow.BlobKey)
	if err != nil {
		s.log.WarnContext(ctx, "cannot open the companion of a source", "source", row.ID, "companion", id, "err", err)
		return nil, nil
	}
	return &extract.Companion{R: blob, Size: blob.Size(), MediaType: crow.MediaType, Filename: crow.Filename}, func() { blob.Close() }
}

func (s *Service) setStatus(ctx context.Context, tenantID, id string, st Status) error {
	q := s.db.Write.Rebind(`UPDATE sources SET status = ?, updated_at = ? WHERE id = ? AND tenant_id = ?`)
	res, err := s.db.Write.ExecContext(ctx, q, st, storage.Timestamp(s.now()), id, tenantID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

type extractionRow struct {
	SourceID   string `db:"source_id"`
	Mode       string `db:"mode"`
	Result     string `db:"result"`
	DurationMS int64  `db:"duration_ms"`
	CreatedAt  string `db:"created_at"`
}

func (r *extractionRow) extraction() (*Extraction, error) {
	created, err := storage.ParseTimestamp(r.CreatedAt)
	if err != nil {
		return nil, err
	}
	e := &Extraction{SourceID: r.SourceID, Mode: extract.Mode(r.Mode), DurationMS: r.DurationMS, CreatedAt: created}
	if err := json.Unmarshal([]byte(r.Result), &e.Document); err != nil {
		return nil, fmt.Errorf("extraction of %s: %w", r.SourceID, err)
	}
	return e, nil
}

// LatestExtraction returns the most recent extraction of source id in any
// mode; ErrNotFound when the source does not exist or has none.
func (s *Service) LatestExtraction(ctx context.Context, tenantID, id string) (*Extraction, error) {
	e, err := s.extraction(ctx, tenantID, id, "")
	if err != nil {
		return nil, fmt.Errorf("sources: latest extraction %s: %w", id, err)
	}
	return e, nil
}

// GetExtraction returns the latest extraction of source id in mode;
// ErrNotFound when there is none.
func (s *Service) GetExtraction(ctx context.Context, tenantID, id string, mode extract.Mode) (*Extraction, error) {
	e, err := s.extraction(ctx, tenantID, id, cmp.Or(mode, extract.ModeText))
	if err != nil {
		return nil, fmt.Errorf("sources: extraction %s %s: %w", id, mode, err)
	}
	return e, nil
}

func (s *Service) extraction(ctx context.Context, tenantID, id string, mode extract.Mode) (*Extraction, error) {
	if tenantID == "" {
		return nil, ErrNoTenant
	}
	if !validID(id) {
		return nil, ErrNotFound
	}
	q := `SELECT e.source_id, e.mode, e.result, e.duration_ms, e.created_at
		FROM extractions e JOIN sources s ON s.id = e.source_id
		WHERE e.source_id = ? AND s.tenant_id = ?`
	args := []any{id, tenantID}
	if mode != "" {
		q += ` AND e.mode = ?`
		args = append(args, string(mode))
	}
	q += ` ORDER BY e.created_at DESC, e.mode LIMIT 1`
	var row extractionRow
	if err := s.db.Read.GetContext(ctx, &row, s.db.Read.Rebind(q), args...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return row.extraction()
}

// keyLocks is a set of mutexes by blob key, created on demand and dropped
// when unused.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

func (k *keyLocks) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyLock{}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

// readHead reads up to n bytes. Unlike io.ReadFull it reports only a clean
// io.EOF as the end: a stream that fails with io.ErrUnexpectedEOF (a cut
// connection, a truncated multipart part) is an error, not a short file.
func readHead(r io.Reader, n int) ([]byte, error) {
	head := make([]byte, n)
	read := 0
	for read < n {
		m, err := r.Read(head[read:])
		read += m
		if err != nil {
			return head[:read], err
		}
	}
	return head, nil
}
