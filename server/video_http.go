package server

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/transcript"
	"github.com/quarryhq/quarry/flags"
	"github.com/quarryhq/quarry/sources"
)

// maxSubtitleBytes caps the subtitles part of POST /video-to-text.
const maxSubtitleBytes = 8 << 20

// maxVideoJSONBytes caps the JSON body of POST /video-to-text.
const maxVideoJSONBytes = 64 << 10

// Transcript is the contract's Transcript.
type Transcript struct {
	SourceID        string              `json:"source_id"`
	Text            string              `json:"text" doc:"the transcript, one subtitle cue or recognised utterance per line"`
	Language        string              `json:"language" doc:"ISO 639-1 code from the subtitle track's tag or detected in the text; empty when unknown"`
	Engine          string              `json:"engine" doc:"where the text came from: subtitles (a subtitle track or the uploaded subtitle file: exact), or the speech engine (pocketsphinx, whisper)"`
	Segments        []TranscriptSegment `json:"segments" doc:"the cues or utterances in time order"`
	DurationSeconds float64             `json:"duration_seconds" doc:"duration of the media"`
	Warnings        []extract.Warning   `json:"warnings" doc:"no_audio (no audio and no subtitles: empty transcript), no_speech (nothing recognised), subtitles_unreadable, truncated"`
}

// TranscriptSegment is one timed piece of a Transcript.
type TranscriptSegment struct {
	StartSeconds float64 `json:"start_seconds"`
	EndSeconds   float64 `json:"end_seconds"`
	Text         string  `json:"text"`
	Start        int     `json:"start" doc:"offset of the segment in text, in code points"`
	End          int     `json:"end" doc:"end offset of the segment in text, in code points"`
}

type transcriptOutput struct {
	Body Envelope[Transcript]
}

// videoInput reads the body itself, as uploadInput does: either a
// multipart upload (streamed into a source) or a small JSON object.
type videoInput struct {
	ContentType   string `header:"Content-Type"`
	ContentLength int64  `header:"Content-Length"`
	upload        uploadInput
	extendWrite   func(time.Time) error
}

func (in *videoInput) Resolve(ctx huma.Context) []error {
	in.upload = uploadInput{ContentType: in.ContentType, ContentLength: in.ContentLength}
	in.upload.Resolve(ctx)
	if _, w := humachi.Unwrap(ctx); w != nil {
		rc := http.NewResponseController(w)
		in.extendWrite = rc.SetWriteDeadline
	}
	return nil
}

// videoToTextRequest is the JSON form of POST /video-to-text.
type videoToTextRequest struct {
	SourceID string `json:"source_id,omitempty" maxLength:"64" doc:"a stored audio, video or subtitle source"`
	URL      string `json:"url,omitempty" maxLength:"8192" doc:"http or https URL of audio or video, downloaded through the SSRF-safe fetcher and stored as a source"`
}

func (s *Server) bindVideo() {
	huma.Register(s.v1, huma.Operation{
		OperationID: "video-to-text",
		Method:      http.MethodPost,
		Path:        "/api/v1/video-to-text",
		Summary:     "Transcribe audio or video",
		Description: "Stores the media as a source (a multipart `file` upload, or JSON `{url}` downloaded through the SSRF-safe fetcher) or takes a stored one (JSON `{source_id}`), and returns its transcript, which is also stored as the source's extraction: GET /source/{id} and POST /extract return it too. " +
			"The transcript comes from, in this order: the multipart `subtitles` part (.srt or .vtt, at most 8 MiB; stored as a source of its own and named in the media source's metadata.companion_source_id, so that later extractions of the media use it too), a text subtitle track of the container (the default one, else the first), or speech recognition of the first audio stream (QUARRY_TRANSCRIBER: pocketsphinx offline, or an OpenAI-compatible whisper server). " +
			"Containers: MP4/MOV/M4A, Matroska/WebM, Ogg, WAV, MP3, FLAC, AVI, MPEG-TS, judged from the bytes with ffmpeg's own probing never used, so a playlist or script named clip.mp4 answers 415 unsupported_media_type; subtitle files alone are accepted too. " +
			"The request is synchronous under QUARRY_MEDIA_TIMEOUT (default 10 min; 422 extraction_timeout past it); media longer than QUARRY_MEDIA_MAX_DURATION answers 422 media_too_long before any decoding. " +
			"Without ffmpeg, or without a speech engine for media that has no subtitles, the answer is 503 dependency_unavailable (GET /health lists the engines). " +
			"At most QUARRY_MAX_MEDIA_IN_FLIGHT transcriptions run at once, on slots of their own (documents never wait for them); when all stay busy for 5 s the answer is 503 over_capacity with Retry-After. " +
			"For {source_id}, a whole transcript stored before is returned as it is, without transcribing again (POST /extract transcribes again). " +
			"A refused upload is not kept. Behind the media.video_to_text feature flag.",
		Tags:     []string{"media"},
		Security: anonymousEditor,
		Metadata: map[string]any{"feature": flags.VideoToText},
		Errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType,
			http.StatusUnprocessableEntity, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout},
	}, s.videoToText)
	jsonSchema := s.v1.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[videoToTextRequest](), true, "VideoToTextRequest")
	s.v1.OpenAPI().Paths["/api/v1/video-to-text"].Post.RequestBody = &huma.RequestBody{
		Required: true,
		Content: map[string]*huma.MediaType{
			"multipart/form-data": uploadFormSchema("the audio or video (or a subtitle file)", map[string]*huma.Schema{
				"subtitles":  {Type: huma.TypeString, Format: "binary", Description: "optional .srt or .vtt subtitles of the file: used as the transcript instead of its tracks or speech"},
				"project_id": {Type: huma.TypeString, Description: "add the media source to this project of the caller's tenant (404 not_found when there is none; nothing is kept)", MaxLength: ptr(64)},
			}),
			"application/json": {Schema: jsonSchema},
		},
	}
}

func (s *Server) videoToText(ctx context.Context, in *videoInput) (*transcriptOutput, error) {
	if in.extendWrite != nil {
		// Transcribing takes minutes, not the seconds of documents: the
		// response may be written after the upload and the whole media
		// deadline.
		_ = in.extendWrite(time.Now().Add(s.cfg.UploadTimeout + s.cfg.MediaTimeout + time.Minute))
	}
	var (
		src           *sources.Source
		subtitles     []byte
		subtitlesName string
		created       bool
		projectID     string
	)
	mt, _, _ := mime.ParseMediaType(in.ContentType)
	switch mt {
	case "multipart/form-data":
		form, err := s.readUploadForm(ctx, &in.upload, map[string]int64{"subtitles": maxSubtitleBytes})
		if err != nil {
			return nil, err
		}
		if err := s.checkProject(ctx, form.projectID); err != nil {
			form.discard(ctx)
			return nil, err
		}
		projectID = form.projectID
		src, subtitles, subtitlesName, created = form.src, form.fields["subtitles"], form.filenames["subtitles"], true
		if subtitles != nil && len(strings.TrimSpace(string(subtitles))) == 0 {
			form.discard(ctx)
			return nil, s.invalid(ctx, http.StatusUnprocessableEntity, CodeValidationError, "the subtitles part is empty", ErrorDetail{Field: "subtitles", Message: "empty"})
		}
	case "application/json":
		var body videoToTextRequest
		dec := json.NewDecoder(io.LimitReader(in.upload.body, maxVideoJSONBytes+1))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			return nil, s.invalid(ctx, http.StatusBadRequest, CodeInvalidRequest, "the JSON body cannot be read: want {\"source_id\": ...} or {\"url\": ...}")
		}
		switch {
		case len(body.SourceID) > 64 || len(body.URL) > 8192:
			return nil, s.invalid(ctx, http.StatusUnprocessableEntity, CodeValidationError, "source_id or url is too long",
				ErrorDetail{Field: "body.url", Message: "source_id: at most 64 bytes; url: at most 8192"})
		case (body.SourceID == "") == (body.URL == ""):
			return nil, s.invalid(ctx, http.StatusUnprocessableEntity, CodeValidationError, "give source_id or url, not both",
				ErrorDetail{Field: "body.source_id", Message: "give source_id or url"})
		case body.SourceID != "":
			var err error
			if src, err = s.deps.Sources.Get(ctx, s.tenant(ctx), body.SourceID); err != nil {
				return nil, s.fail(ctx, err)
			}
		default:
			var err error
			if src, err = s.deps.Sources.IngestURL(ctx, s.tenant(ctx), body.URL); err != nil {
				return nil, s.fail(ctx, err)
			}
			created = true
		}
	default:
		return nil, s.invalid(ctx, http.StatusBadRequest, CodeInvalidRequest, "the body must be multipart/form-data with a file part, or JSON with source_id or url",
			ErrorDetail{Field: "header.Content-Type", Message: "want multipart/form-data or application/json"})
	}

	// What this request stored goes again if it fails: a refused upload
	// is not kept.
	var stored []*sources.Source
	if created {
		stored = append(stored, src)
	}
	var x *sources.Extraction
	var err error
	if !created {
		x = s.storedTranscript(ctx, src)
	}
	if x == nil {
		x, err = s.transcribe(ctx, src, subtitles, subtitlesName, &stored)
	}
	if err == nil {
		err = s.addToProject(ctx, src, projectID)
	}
	if err != nil {
		for _, st := range stored {
			if derr := s.deps.Sources.Delete(context.WithoutCancel(ctx), st.TenantID, st.ID); derr != nil {
				s.log.ErrorContext(ctx, "removing a refused upload", "source_id", st.ID, "error", derr.Error())
			}
		}
		e := s.fail(ctx, err)
		s.record(ctx, principal(ctx), "transcript.failed", "source", src.ID, resultOfSource(err), map[string]any{"code": e.Err.Code, "media_type": src.MediaType})
		return nil, e
	}
	for _, st := range stored {
		s.recordSource(ctx, "source.created", st)
	}
	d := x.Document
	s.record(ctx, principal(ctx), "transcript.completed", "source", src.ID, resultSuccess,
		map[string]any{"engine": d.Metadata.Engine, "duration_seconds": d.Metadata.DurationSeconds, "segments": len(d.Segments), "duration_ms": x.DurationMS})
	return &transcriptOutput{Body: ok(ctx, transcriptDTO(x))}, nil
}

// storedTranscript returns the transcript stored for src when there is a
// whole one (its text extraction, made by the media parser, not cut by
// max_chars): asking again for a stored video's transcript does not
// transcribe it again. POST /extract does.
func (s *Server) storedTranscript(ctx context.Context, src *sources.Source) *sources.Extraction {
	x, err := s.deps.Sources.GetExtraction(ctx, src.TenantID, src.ID, extract.ModeText)
	if err != nil || x.Document.Metadata.Parser != transcript.Name {
		return nil
	}
	for _, w := range x.Document.Warnings {
		if w.Code == extract.WarnTruncated {
			return nil
		}
	}
	return x
}

// transcribe extracts the transcript of src in an extraction slot and
// stores it as its text extraction. Uploaded subtitles are stored first as
// a source of their own and made src's companion, so that they are the
// transcript now and in every later extraction of src (POST /extract,
// summaries). Sources it stores are appended to stored.
func (s *Server) transcribe(ctx context.Context, src *sources.Source, subtitles []byte, subtitlesName string, stored *[]*sources.Source) (*sources.Extraction, error) {
	if s.deps.Extractor == nil {
		return nil, s.invalid(ctx, http.StatusServiceUnavailable, CodeDependencyUnavailable, "media is not configured on this server")
	}
	_, parser, err := s.deps.Extractor.Registry().Lookup(src.MediaType)
	if _, isMedia := parser.(extract.ExternalTool); err != nil || !isMedia {
		return nil, &unsupportedMediaError{mediaType: extract.BaseType(src.MediaType)}
	}
	if subtitles != nil {
		sub, err := s.deps.Sources.IngestUpload(ctx, src.TenantID, bytes.NewReader(subtitles), cmp.Or(subtitlesName, "subtitles"))
		if err != nil {
			return nil, err
		}
		*stored = append(*stored, sub)
		if !transcript.IsSubtitleType(sub.MediaType) {
			return nil, s.invalid(ctx, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
				"the subtitles part must be SubRip (.srt) or WebVTT (.vtt), not "+extract.BaseType(sub.MediaType),
				ErrorDetail{Field: "subtitles", Message: "not SubRip or WebVTT"})
		}
		if _, err := s.deps.Sources.SetCompanion(ctx, src.TenantID, src.ID, sub.ID); err != nil {
			return nil, err
		}
	}
	release, err := s.acquireMedia(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return s.deps.Sources.Extract(ctx, src.TenantID, src.ID, extract.Options{Mode: extract.ModeText})
}

// unsupportedMediaError is a source of a type /video-to-text does not
// take, such as a PDF: 415 unsupported_media_type.
type unsupportedMediaError struct{ mediaType string }

func (e *unsupportedMediaError) Error() string {
	return extract.ErrUnsupportedFormat.Error() + ": video-to-text takes audio, video or subtitle files, not " + e.mediaType
}

func (e *unsupportedMediaError) Unwrap() error { return extract.ErrUnsupportedFormat }

func transcriptDTO(x *sources.Extraction) Transcript {
	d := x.Document
	segs := make([]TranscriptSegment, 0, len(d.Segments))
	for _, sg := range d.Segments {
		segs = append(segs, TranscriptSegment{StartSeconds: sg.StartSeconds, EndSeconds: sg.EndSeconds, Text: sg.Text, Start: sg.Start, End: sg.End})
	}
	warnings := d.Warnings
	if warnings == nil {
		warnings = []extract.Warning{}
	}
	return Transcript{
		SourceID: x.SourceID, Text: d.Text, Language: d.Metadata.Language, Engine: d.Metadata.Engine,
		Segments: segs, DurationSeconds: d.Metadata.DurationSeconds, Warnings: warnings,
	}
}
