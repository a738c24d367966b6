package server

import (
	"time"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/projects"
	"github.com/quarryhq/quarry/sources"
)

// Source is the API form of a stored input (CONTRACT.md section 3).
type Source struct {
	ID               string         `json:"id" example:"src_01jd6x4v9c8k2m3n4p5q6r7s8t" doc:"opaque identifier"`
	Kind             string         `json:"kind" enum:"upload,url,text"`
	Filename         string         `json:"filename" doc:"sanitized original name; never used as a path"`
	MediaType        string         `json:"media_type" doc:"sniffed from the content, not from the name or the declared type"`
	SizeBytes        int64          `json:"size_bytes"`
	SHA256           string         `json:"sha256"`
	URL              string         `json:"url,omitempty" doc:"where a url source was downloaded from"`
	Status           string         `json:"status" enum:"stored,extracted,failed"`
	ProjectIDs       []string       `json:"project_ids"`
	CreatedAt        time.Time      `json:"created_at"`
	UpdatedAt        time.Time      `json:"updated_at"`
	Metadata         map[string]any `json:"metadata"`
	LatestExtraction *Extraction    `json:"latest_extraction,omitempty" doc:"the most recent extraction (GET /source/{file_id} only)"`
}

// Extraction is the result of POST /extract.
type Extraction struct {
	SourceID   string            `json:"source_id"`
	Mode       string            `json:"mode" enum:"text,summary"`
	Text       string            `json:"text"`
	Pages      []extract.Page    `json:"pages" doc:"start and end are offsets into text in Unicode code points: text[start:end] is the page"`
	Metadata   extract.Metadata  `json:"metadata"`
	Warnings   []extract.Warning `json:"warnings"`
	Chunks     []extract.Chunk   `json:"chunks,omitzero" nullable:"false" doc:"present when options.chunking asked for chunks: the text in order, every character that is not white space in at least one chunk, text[start:end] in code points"`
	Segments   []extract.Segment `json:"segments,omitempty" doc:"present for audio and video: the timed cues or utterances of the transcript, with their offsets into text"`
	DurationMS int64             `json:"duration_ms"`
	CreatedAt  time.Time         `json:"created_at"`
}

// SourceList is one page of sources.
type SourceList struct {
	Items      []Source `json:"items"`
	NextCursor *string  `json:"next_cursor" doc:"pass as ?cursor= for the next page; null on the last page"`
}

func sourceDTO(src *sources.Source) Source {
	projects := src.ProjectIDs
	if projects == nil {
		projects = []string{}
	}
	md := src.Metadata
	if md == nil {
		md = map[string]any{}
	}
	return Source{
		ID: src.ID, Kind: string(src.Kind), Filename: src.Filename, MediaType: src.MediaType,
		SizeBytes: src.SizeBytes, SHA256: src.SHA256, URL: src.URL, Status: string(src.Status),
		ProjectIDs: projects, CreatedAt: src.CreatedAt.UTC(), UpdatedAt: src.UpdatedAt.UTC(), Metadata: md,
	}
}

func extractionDTO(x *sources.Extraction) *Extraction {
	d := x.Document
	pages := d.Pages
	if pages == nil {
		pages = []extract.Page{}
	}
	warnings := d.Warnings
	if warnings == nil {
		warnings = []extract.Warning{}
	}
	return &Extraction{
		SourceID: x.SourceID, Mode: string(x.Mode), Text: d.Text, Pages: pages,
		Metadata: d.Metadata, Warnings: warnings, Chunks: d.Chunks, Segments: d.Segments, DurationMS: x.DurationMS, CreatedAt: x.CreatedAt.UTC(),
	}
}

// Project is the API form of a project (a named group of sources).
type Project struct {
	ID          string    `json:"id" example:"prj_01jd6x4v9c8k2m3n4p5q6r7s8t" doc:"opaque identifier"`
	Name        string    `json:"name" doc:"unique in the tenant, whatever its case"`
	Description string    `json:"description"`
	SourceCount int       `json:"source_count" doc:"number of sources in the project"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ProjectList is one page of projects.
type ProjectList struct {
	Items      []Project `json:"items"`
	NextCursor *string   `json:"next_cursor" doc:"pass as ?cursor= for the next page; null on the last page"`
}

// BatchExtraction is the answer of POST /projects/{id}/extract.
type BatchExtraction struct {
	ProjectID string        `json:"project_id"`
	Mode      string        `json:"mode" enum:"text,summary"`
	Results   []BatchResult `json:"results" doc:"one per source, in the order of source_ids (or, without source_ids, of the project's sources)"`
	Succeeded int           `json:"succeeded" doc:"results with an extraction"`
	Failed    int           `json:"failed" doc:"results with an error"`
}

// BatchResult is the outcome of one source of a batch: an extraction or an
// error, never both.
type BatchResult struct {
	SourceID   string      `json:"source_id"`
	Extraction *Extraction `json:"extraction,omitempty" doc:"the extraction, stored as the source's latest, when it succeeded"`
	Err        *ErrorBody  `json:"error,omitempty" doc:"why this source failed: the code and message POST /extract answers for it (malformed_document, encrypted_document, unsupported_media_type, extraction_timeout, over_capacity, ...)"`
}

func projectDTO(p *projects.Project) Project {
	return Project{
		ID: p.ID, Name: p.Name, Description: p.Description, SourceCount: p.SourceCount,
		CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(),
	}
}
