package server

import (
	"time"

	"github.com/quarryhq/quarry/extract"
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
