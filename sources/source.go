package sources

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/quarryhq/quarry/extract"
)

// Kind says how a source came in.
type Kind string

// Kinds.
const (
	KindUpload Kind = "upload" // a file uploaded by the caller
	KindURL    Kind = "url"    // downloaded from a URL the caller gave
	KindText   Kind = "text"   // text the caller pasted
)

// Valid reports whether k is one of the kinds above.
func (k Kind) Valid() bool { return k == KindUpload || k == KindURL || k == KindText }

// Status is where a source is in its life.
type Status string

// Statuses.
const (
	StatusStored    Status = "stored"    // stored, not extracted yet
	StatusExtracted Status = "extracted" // the last extraction succeeded
	StatusFailed    Status = "failed"    // the last extraction failed on the document
)

// Valid reports whether s is one of the statuses above.
func (s Status) Valid() bool { return s == StatusStored || s == StatusExtracted || s == StatusFailed }

// DefaultTenant is the tenant of every source while tenancy is not
// enforced (and of rows created before it was).
const DefaultTenant = "default"

// Source is a stored input.
type Source struct {
	// ID is "src_" followed by a lower-case ULID: opaque, random, URL-safe.
	ID       string `json:"id"`
	TenantID string `json:"-"`
	Kind     Kind   `json:"kind"`
	// Filename is the sanitized name the source was given (see
	// [SanitizeFilename]); it is metadata only and never names a file.
	Filename string `json:"filename"`
	// MediaType is sniffed from the content, never taken from the caller.
	MediaType string `json:"media_type"`
	SizeBytes int64  `json:"size_bytes"`
	// SHA256 is the lower-case hex SHA-256 of the content.
	SHA256 string `json:"sha256"`
	// URL is the URL a KindURL source was fetched from, "" otherwise.
	URL    string `json:"url,omitempty"`
	Status Status `json:"status"`
	// ProjectIDs are the projects the source is in, sorted; never nil.
	// Get and List fill it; a new source is in no project.
	ProjectIDs []string  `json:"project_ids"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// Metadata is always non-nil. URL sources record "final_url" and
	// "content_type" (as declared by the server) there.
	Metadata map[string]any `json:"metadata"`
}

// Extraction is the stored result of extracting a source in one mode.
// It marshals to the flat JSON object of the HTTP contract (source_id,
// mode, text, pages, metadata, warnings, duration_ms, created_at).
type Extraction struct {
	SourceID   string
	Mode       extract.Mode
	Document   extract.Document
	DurationMS int64
	CreatedAt  time.Time
}

type extractionJSON struct {
	SourceID string       `json:"source_id"`
	Mode     extract.Mode `json:"mode"`
	extract.Document
	DurationMS int64     `json:"duration_ms"`
	CreatedAt  time.Time `json:"created_at"`
}

// MarshalJSON writes the contract's flat Extraction object.
func (e Extraction) MarshalJSON() ([]byte, error) {
	return json.Marshal(extractionJSON{e.SourceID, e.Mode, e.Document, e.DurationMS, e.CreatedAt})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *Extraction) UnmarshalJSON(b []byte) error {
	var j extractionJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = Extraction{j.SourceID, j.Mode, j.Document, j.DurationMS, j.CreatedAt}
	return nil
}

// Errors. The server maps each to one error code of the HTTP contract.
// Extraction failures are returned wrapping the sentinels of package
// extract (extract.ErrUnsupportedFormat, ErrMalformed, ErrEncrypted,
// ErrTimeout, ErrTooLarge) and URL fetch failures wrapping those of
// package urlfetch, unchanged.
var (
	// ErrNotFound: no source (or extraction) has that id.
	ErrNotFound = errors.New("sources: not found")
	// ErrInvalidCursor: a list cursor that this package did not issue.
	ErrInvalidCursor = errors.New("sources: invalid cursor")
	// ErrInvalidFilter: a list filter with an unknown kind or status.
	ErrInvalidFilter = errors.New("sources: invalid filter")
	// ErrTooLarge: the upload or download is over Config.MaxBytes.
	ErrTooLarge = errors.New("sources: content too large")
	// ErrEmpty: a zero-byte upload, download or text.
	ErrEmpty = errors.New("sources: content is empty")
	// ErrNoTenant: a call without a tenant id. Every source belongs to a
	// tenant, and the caller names it: this package never guesses.
	ErrNoTenant = errors.New("sources: no tenant given")
	// ErrURLUnsupported: IngestURL on a Service without a Fetcher.
	ErrURLUnsupported = errors.New("sources: URL ingest is not configured")
)
