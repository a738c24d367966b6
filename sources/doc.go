// Package sources stores the inputs people bring to Quarry (uploads,
// downloads from URLs, pasted text) and the results of extracting them.
//
// A [Service] streams each input once: it caps its size ([ErrTooLarge]),
// refuses empty input ([ErrEmpty]), sniffs the media type from the first
// bytes (never trusting the caller's name or type), hashes it and writes
// it to the content-addressed blob store, so memory stays flat whatever
// the size and identical content is stored once. The row goes to the
// sources table; an id is "src_" and a lower-case ULID.
//
// [Service.Extract] runs the extract.Extractor over the stored content and
// keeps the latest extraction per source and mode. Sources are listed
// newest first with opaque cursors ([Service.List]).
//
// Filenames are metadata only, cleaned by [SanitizeFilename]. Package
// projects groups sources: Get and List fill Source.ProjectIDs from its
// project_sources table (one query per call, not per source), and
// ListParams.ProjectID lists one project's sources. Every source belongs
// to [DefaultTenant] until tenancy is enforced.
//
// Errors wrap this package's sentinels, extract's (ErrUnsupportedFormat,
// ErrMalformed, ErrEncrypted, ErrTimeout, ErrTooLarge) and, for URL
// ingest, urlfetch's, so that the server maps each to its contract code
// with errors.Is.
package sources
