package server_test

// POST /api/v1/video-to-text over real HTTP on loopback, against the real
// stack (SQLite, blobs) with the real transcript parser: ffmpeg and ffprobe
// through package media, pocketsphinx (or a fake OpenAI-compatible whisper
// server) through package transcribe. The tools are skipped cleanly when
// absent (mediatest), and required when QUARRY_REQUIRE_TOOLS=1. Also the
// T25 (playlist named clip.mp4) and T26 (too long, timeout, no ffmpeg,
// process hygiene) cases of RELIABILITY.md.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/standard"
	"github.com/quarryhq/quarry/extract/transcript"
	"github.com/quarryhq/quarry/flags"
	"github.com/quarryhq/quarry/internal/mediatest"
	"github.com/quarryhq/quarry/media"
	"github.com/quarryhq/quarry/server"
	"github.com/quarryhq/quarry/sources"
	"github.com/quarryhq/quarry/transcribe"
	"github.com/quarryhq/quarry/urlfetch"
)

// videoSpeech is what flite says in the speech fixtures (about 5 s);
// pocketsphinx's en-us model gets it nearly right.
const videoSpeech = "The quick brown fox jumps over the lazy dog. Please call me tomorrow morning at the office."

// videoShortSpeech is the speech of the cases that only need some
// recognised text (about 2 s).
const videoShortSpeech = "Please call me tomorrow morning."

// videoSRT is a SubRip file of two cues, the second on two lines and the
// first with a tag; videoCuesText and videoCueSegments are its transcript.
const videoSRT = "1\n00:00:00,500 --> 00:00:01,250\nHello <i>world</i>\n\n" +
	"2\n00:00:01,500 --> 00:00:02,750\nSecond cue\nsplit over two lines\n"

const videoCuesText = "Hello world\nSecond cue split over two lines"

var videoCueSegments = []server.TranscriptSegment{
	{StartSeconds: 0.5, EndSeconds: 1.25, Text: "Hello world", Start: 0, End: 11},
	{StartSeconds: 1.5, EndSeconds: 2.75, Text: "Second cue split over two lines", Start: 12, End: 43},
}

// videoFixtures holds the media fixtures, made once per test binary. Each
// is generated in a temp dir removed at once, and kept in memory (they are
// small), so nothing is left in the temp dir whichever tests run.
var videoFixtures struct {
	mu sync.Mutex
	m  map[string][]byte
}

// videoFixture returns the fixture name, building it with build (which
// writes into dir and returns the file's path) the first time. A build
// that skips or fails its test stores nothing: the next test tries again.
func videoFixture(t *testing.T, name string, build func(dir string) string) []byte {
	t.Helper()
	videoFixtures.mu.Lock()
	defer videoFixtures.mu.Unlock()
	if b, ok := videoFixtures.m[name]; ok {
		return b
	}
	dir, err := os.MkdirTemp("", "quarry-video-fixture-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	b, err := os.ReadFile(build(dir))
	if err != nil {
		t.Fatal(err)
	}
	if videoFixtures.m == nil {
		videoFixtures.m = map[string][]byte{}
	}
	videoFixtures.m[name] = b
	return b
}

// videoSpeechFile is the speech of text in the container of ext.
func videoSpeechFile(t *testing.T, text, ext string) []byte {
	t.Helper()
	return videoFixture(t, text+ext, func(dir string) string { return mediatest.Speech(t, dir, text, ext) })
}

// videoSubsFile is a 3 s video with videoSRT as an "eng" subtitle track:
// SubRip in name.mkv, mov_text in name.mp4.
func videoSubsFile(t *testing.T, name string) []byte {
	t.Helper()
	return videoFixture(t, "subs:"+name, func(dir string) string {
		return mediatest.WithSubtitles(t, dir, name, videoSRT, "eng", 3)
	})
}

// videoOptions configures a videoRig.
type videoOptions struct {
	// noMedia builds the transcript parser without ffmpeg (Media nil).
	noMedia bool
	// noSpeech builds it without a speech engine (Transcriber nil).
	noSpeech bool
	// whisper, when set, is the speech engine instead of pocketsphinx.
	whisper *transcribe.WhisperConfig
	// timeout is the transcript parser's deadline (default its own).
	timeout time.Duration
	// maxDuration is media's duration cap (default its own).
	maxDuration time.Duration
	isolated    bool
	fetch       urlfetch.Config
}

// videoRig is a stack whose registry is standard.NewRegistry() plus the
// transcript parser, with the temp dirs of media, the parser and
// pocketsphinx checked empty at the end of the test.
type videoRig struct {
	*stack
	reg  *extract.Registry
	tmps []string
}

func newVideoRig(t *testing.T, o videoOptions) *videoRig {
	t.Helper()
	if !o.noMedia {
		mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	}
	if !o.noSpeech && o.whisper == nil {
		mediatest.RequirePocketsphinx(t)
	}
	root := t.TempDir()
	tmps := []string{filepath.Join(root, "media"), filepath.Join(root, "parser"), filepath.Join(root, "sphinx")}
	for _, d := range tmps {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	tc := transcript.Config{Timeout: o.timeout, TempDir: tmps[1]}
	if !o.noMedia {
		tools, err := media.New(media.Config{TempDir: tmps[0], MaxDuration: o.maxDuration})
		if err != nil {
			t.Fatal(err)
		}
		tc.Media = tools
	}
	switch {
	case o.noSpeech:
	case o.whisper != nil:
		w, err := transcribe.NewWhisper(*o.whisper)
		if err != nil {
			t.Fatal(err)
		}
		tc.Transcriber = w
	default:
		ps, err := transcribe.NewPocketsphinx(transcribe.PocketsphinxConfig{TempDir: tmps[2]})
		if err != nil {
			t.Fatal(err)
		}
		tc.Transcriber = ps
	}
	p, err := transcript.New(tc)
	if err != nil {
		t.Fatal(err)
	}
	reg := standard.NewRegistry()
	if err := reg.Register(transcript.Name, p); err != nil {
		t.Fatal(err)
	}
	s := newStack(t, stackOptions{registry: reg, isolated: o.isolated, fetch: o.fetch})
	v := &videoRig{stack: s, reg: reg, tmps: tmps}
	// Runs before the stack's own cleanups and the removal of root.
	t.Cleanup(func() { v.requireTempEmpty(t) })
	return v
}

// requireTempEmpty checks that every temp file and directory of media,
// the parser and pocketsphinx is gone.
func (v *videoRig) requireTempEmpty(t *testing.T) {
	t.Helper()
	for _, left := range v.tempEntries() {
		t.Errorf("left in a temp dir: %s", left)
	}
}

// tempEntries lists what is in the temp dirs of media, the parser and
// pocketsphinx.
func (v *videoRig) tempEntries() []string {
	var left []string
	for _, d := range v.tmps {
		entries, err := os.ReadDir(d)
		if err != nil {
			left = append(left, d+": "+err.Error())
			continue
		}
		for _, e := range entries {
			left = append(left, filepath.Join(filepath.Base(d), e.Name()))
		}
	}
	return left
}

// video posts content as the multipart file part of POST /video-to-text,
// then each of subtitles as a subtitles part.
func (v *videoRig) video(t *testing.T, filename string, content []byte, subtitles ...[]byte) response {
	t.Helper()
	body, ctype := videoMultipart(t, filename, content, subtitles...)
	return v.do(t, http.MethodPost, "/api/v1/video-to-text", bytes.NewReader(body), "Content-Type", ctype)
}

func videoMultipart(t *testing.T, filename string, content []byte, subtitles ...[]byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(content); err != nil {
		t.Fatal(err)
	}
	for _, s := range subtitles {
		sw, err := mw.CreateFormFile("subtitles", "subs.srt")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sw.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

// transcriptOf requires a 200 Transcript and checks its invariants.
func transcriptOf(t *testing.T, r response) server.Transcript {
	t.Helper()
	var tr server.Transcript
	requireOK(t, r, http.StatusOK, &tr)
	checkTranscript(t, tr)
	return tr
}

// checkTranscript checks what holds of every transcript: the segments
// index the text in code points and are in time order within the media,
// one per line, and warnings is a list.
func checkTranscript(t *testing.T, tr server.Transcript) {
	t.Helper()
	if tr.SourceID == "" || tr.Segments == nil || tr.Warnings == nil {
		t.Errorf("transcript without source_id, segments or warnings: %+v", tr)
	}
	runes := []rune(tr.Text)
	var lines []string
	prev := 0.0
	for i, sg := range tr.Segments {
		if sg.Start < 0 || sg.Start > sg.End || sg.End > len(runes) {
			t.Errorf("segment %d: offsets [%d, %d) outside the text of %d code points", i, sg.Start, sg.End, len(runes))
			continue
		}
		if got := string(runes[sg.Start:sg.End]); got != sg.Text {
			t.Errorf("segment %d: text[%d:%d] = %q, segment text %q", i, sg.Start, sg.End, got, sg.Text)
		}
		if sg.StartSeconds < prev || sg.EndSeconds < sg.StartSeconds {
			t.Errorf("segment %d: times %.3f-%.3f out of order (previous start %.3f)", i, sg.StartSeconds, sg.EndSeconds, prev)
		}
		if tr.DurationSeconds > 0 && sg.EndSeconds > tr.DurationSeconds+1 {
			t.Errorf("segment %d ends at %.3f s, after the media (%.3f s)", i, sg.EndSeconds, tr.DurationSeconds)
		}
		prev = sg.StartSeconds
		lines = append(lines, sg.Text)
	}
	if len(tr.Segments) > 0 && strings.Join(lines, "\n") != tr.Text {
		t.Errorf("text %q is not the segments one per line %q", tr.Text, lines)
	}
}

// requireSameSegments compares a stored extraction's segments to the
// transcript's.
func requireSameSegments(t *testing.T, what string, got []extract.Segment, want []server.TranscriptSegment) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d segments, want %d: %+v", what, len(got), len(want), got)
		return
	}
	for i, g := range got {
		w := want[i]
		if g.Start != w.Start || g.End != w.End || g.StartSeconds != w.StartSeconds || g.EndSeconds != w.EndSeconds || g.Text != w.Text {
			t.Errorf("%s: segment %d = %+v, want %+v", what, i, g, w)
		}
	}
}

func requireCueSegments(t *testing.T, got []server.TranscriptSegment) {
	t.Helper()
	if !slices.Equal(got, videoCueSegments) {
		t.Errorf("segments = %+v\nwant %+v", got, videoCueSegments)
	}
}

// requireKept checks the ids of the sources of the default tenant.
func requireKept(t *testing.T, s *stack, want ...string) {
	t.Helper()
	got := listIDs(t, s, "", nil)
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("sources kept: %v, want %v", got, want)
	}
}

// withCompanions returns ids and the companions they name: the
// subtitles uploaded with a video are a source of their own.
func withCompanions(t *testing.T, s *stack, ids ...string) []string {
	t.Helper()
	out := slices.Clone(ids)
	for _, id := range ids {
		if c, ok := sourceOf(t, s, id).Metadata[sources.MetaCompanion].(string); ok {
			out = append(out, c)
		}
	}
	return out
}

func sourceOf(t *testing.T, s *stack, id string) server.Source {
	t.Helper()
	var src server.Source
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/source/"+id, nil), http.StatusOK, &src)
	return src
}

// TestVideoSpeech: speech in MP4 (H.264/AAC), WebM and Matroska (FLAC) is
// recognised by pocketsphinx, stored as the source's extraction, and
// POST /extract (text and summary) returns it again.
func TestVideoSpeech(t *testing.T) {
	mediatest.RequireFlite(t)
	v := newVideoRig(t, videoOptions{})
	var ids []string
	for _, ext := range []string{".mp4", ".webm", ".mkv"} {
		t.Run(ext, func(t *testing.T) {
			content := videoSpeechFile(t, videoSpeech, ext)
			start := time.Now()
			tr := transcriptOf(t, v.video(t, "speech"+ext, content))
			ids = append(ids, tr.SourceID)
			wer := mediatest.WER(videoSpeech, tr.Text)
			t.Logf("%s: WER %.1f%%, %d segments, %.2f s in %s: %q", ext, 100*wer, len(tr.Segments), tr.DurationSeconds, time.Since(start).Round(time.Millisecond), tr.Text)
			if wer >= 0.25 {
				t.Errorf("WER %.1f%%, want under 25%%", 100*wer)
			}
			if tr.Engine != "pocketsphinx" || tr.Language != "en" || len(tr.Segments) == 0 {
				t.Errorf("engine %q, language %q, %d segments; want pocketsphinx, en, some", tr.Engine, tr.Language, len(tr.Segments))
			}
			if tr.DurationSeconds < 3 || tr.DurationSeconds > 10 {
				t.Errorf("duration %.3f s, want the speech's (about 5 s)", tr.DurationSeconds)
			}
			if len(tr.Warnings) != 0 {
				t.Errorf("warnings %+v", tr.Warnings)
			}

			src := sourceOf(t, v.stack, tr.SourceID)
			x := src.LatestExtraction
			if src.Kind != "upload" || src.Status != "extracted" || x == nil {
				t.Fatalf("source = %+v, want an extracted upload with its latest extraction", src)
			}
			if x.Mode != "text" || x.Text != tr.Text || x.Metadata.Parser != transcript.Name || x.Metadata.Engine != "pocketsphinx" ||
				x.Metadata.DurationSeconds != tr.DurationSeconds || x.Metadata.Language != "en" {
				t.Errorf("latest extraction = %+v, want the transcript", x)
			}
			requireSameSegments(t, "latest_extraction", x.Segments, tr.Segments)
			if ext != ".mp4" {
				return // POST /extract runs the same code for every container
			}

			var ex server.Extraction
			requireOK(t, v.postJSON(t, "/api/v1/extract", map[string]any{"source_id": tr.SourceID}), http.StatusOK, &ex)
			if ex.Text != tr.Text || ex.Metadata.Parser != transcript.Name || ex.Metadata.Engine != "pocketsphinx" || ex.Mode != "text" {
				t.Errorf("POST /extract = text %q, metadata %+v; want the transcript %q", ex.Text, ex.Metadata, tr.Text)
			}
			requireSameSegments(t, "POST /extract", ex.Segments, tr.Segments)

			var sum server.Extraction
			requireOK(t, v.postJSON(t, "/api/v1/extract", map[string]any{"source_id": tr.SourceID, "mode": "summary"}), http.StatusOK, &sum)
			if sum.Mode != "summary" || strings.TrimSpace(sum.Text) == "" || sum.Metadata.Parser != transcript.Name {
				t.Errorf("summary = %+v", sum)
			}
			for _, w := range strings.Fields(sum.Text) {
				if !strings.Contains(tr.Text, strings.Trim(w, ".,;:!?")) {
					t.Errorf("summary word %q is not in the transcript %q", w, tr.Text)
				}
			}
		})
	}

	// Silence: nothing recognised, an empty transcript that says so.
	silence := videoFixture(t, "silent-2s.flac", func(dir string) string { return mediatest.Silent(t, dir, "silent.flac", 2*time.Second) })
	tr := transcriptOf(t, v.video(t, "silence.flac", silence))
	if tr.Text != "" || len(tr.Segments) != 0 || len(tr.Warnings) != 1 || tr.Warnings[0].Code != transcript.WarnNoSpeech || tr.Engine != "pocketsphinx" {
		t.Errorf("silence: %+v, want an empty pocketsphinx transcript with a no_speech warning", tr)
	}
	requireKept(t, v.stack, append(ids, tr.SourceID)...)
}

// TestVideoSubtitleTracks: a text subtitle track is the transcript, exact
// in text and timing, with its language tag: SubRip in Matroska, mov_text
// in MP4.
func TestVideoSubtitleTracks(t *testing.T) {
	v := newVideoRig(t, videoOptions{})
	for _, name := range []string{"subs.mkv", "subs.mp4"} {
		t.Run(name, func(t *testing.T) {
			tr := transcriptOf(t, v.video(t, name, videoSubsFile(t, name)))
			if tr.Text != videoCuesText {
				t.Errorf("text = %q, want %q", tr.Text, videoCuesText)
			}
			requireCueSegments(t, tr.Segments)
			if tr.Engine != transcript.EngineSubtitles || tr.Language != "en" || len(tr.Warnings) != 0 {
				t.Errorf("engine %q, language %q, warnings %+v; want subtitles, en, none", tr.Engine, tr.Language, tr.Warnings)
			}
			if tr.DurationSeconds < 2.8 || tr.DurationSeconds > 3.2 {
				t.Errorf("duration %.3f s, want about 3", tr.DurationSeconds)
			}
		})
	}
}

// TestVideoUploadedSubtitles: a subtitles part beats the speech; an empty
// one is a validation error and one without a cue a malformed document,
// and neither leaves the uploaded video stored.
func TestVideoUploadedSubtitles(t *testing.T) {
	mediatest.RequireFlite(t)
	v := newVideoRig(t, videoOptions{})
	content := videoSpeechFile(t, videoShortSpeech, ".mp4")

	tr := transcriptOf(t, v.video(t, "speech.mp4", content, []byte(videoSRT)))
	if tr.Text != videoCuesText || tr.Engine != transcript.EngineSubtitles {
		t.Errorf("transcript %+v, want the uploaded cues", tr)
	}
	requireCueSegments(t, tr.Segments)
	// The longer of the probed media (about 2 s) and the last cue.
	if tr.DurationSeconds < 2.75 || tr.DurationSeconds > 5 {
		t.Errorf("duration %.3f s, want the longer of the speech and the cues", tr.DurationSeconds)
	}
	src := sourceOf(t, v.stack, tr.SourceID)
	if x := src.LatestExtraction; x == nil || x.Text != videoCuesText || x.Metadata.Engine != transcript.EngineSubtitles || x.Metadata.Parser != transcript.Name {
		t.Errorf("latest extraction = %+v, want the uploaded cues", x)
	}
	// The uploaded subtitles are a source of their own, the video's
	// companion.
	companion, _ := src.Metadata[sources.MetaCompanion].(string)
	if sub := sourceOf(t, v.stack, companion); extract.BaseType(sub.MediaType) != "application/x-subrip" || sub.Kind != "upload" {
		t.Errorf("companion %q = %+v, want the uploaded SubRip file", companion, sub)
	}

	// Subtitles that say enough get their language detected.
	sentences := "1\n00:00:00,100 --> 00:00:03,000\nThe quick brown fox jumps over the lazy dog.\n\n" +
		"2\n00:00:03,100 --> 00:00:06,000\nPlease call me tomorrow morning at the office.\n\n" +
		"3\n00:00:06,100 --> 00:00:08,000\nWe will meet at the station before the train leaves.\n"
	en := transcriptOf(t, v.video(t, "speech.mp4", content, []byte(sentences)))
	if en.Engine != transcript.EngineSubtitles || en.Language != "en" || len(en.Segments) != 3 || en.DurationSeconds != 8 {
		t.Errorf("English subtitles: %+v, want 3 cues in en lasting 8 s", en)
	}
	if en.SourceID == tr.SourceID {
		t.Errorf("two uploads share the source %s", en.SourceID)
	}
	kept := []string{tr.SourceID, en.SourceID}

	for _, c := range []struct {
		name      string
		subtitles string
		status    int
		code      string
	}{
		{"empty", "", http.StatusUnprocessableEntity, server.CodeValidationError},
		{"blank", " \r\n\t\n", http.StatusUnprocessableEntity, server.CodeValidationError},
		{"no cue", "this is not\na subtitle file\n", http.StatusUnprocessableEntity, server.CodeMalformedDocument},
		{"a PDF", "%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", http.StatusUnsupportedMediaType, server.CodeUnsupportedMediaType},
		// Well-formed subtitles without a cue are an empty
		// transcript, not the speech.
		{"vtt header only", "WEBVTT\n", http.StatusOK, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Another video than the stored one, so that a kept upload
			// would be a new source, not the same blob.
			r := v.video(t, "other.mp4", videoSpeechFile(t, videoShortSpeech, ".webm"), []byte(c.subtitles))
			if c.status == http.StatusOK {
				empty := transcriptOf(t, r)
				if empty.Text != "" || len(empty.Segments) != 0 || empty.Engine != transcript.EngineSubtitles {
					t.Errorf("cue-less subtitles: %+v, want an empty subtitle transcript", empty)
				}
				kept = append(kept, empty.SourceID)
				return
			}
			requireError(t, r, c.status, c.code)
			if (c.code == server.CodeValidationError || c.code == server.CodeUnsupportedMediaType) && (len(r.env.Error.Details) == 0 || r.env.Error.Details[0].Field != "subtitles") {
				t.Errorf("details = %+v, want the subtitles field", r.env.Error.Details)
			}
		})
	}
	requireKept(t, v.stack, withCompanions(t, v.stack, kept...)...)
}

// TestVideoExtractAfterUploadedSubtitles: the OpenAPI description of
// POST /video-to-text says the transcript "is also stored as the source's
// extraction: GET /source/{id} and POST /extract return it too". For a
// transcript made from an uploaded subtitles part, POST /extract runs the
// parser again, which recognises the speech instead, and stores that over
// the subtitle transcript.
func TestVideoExtractAfterUploadedSubtitles(t *testing.T) {
	mediatest.RequireFlite(t)
	v := newVideoRig(t, videoOptions{})
	tr := transcriptOf(t, v.video(t, "speech.mp4", videoSpeechFile(t, videoShortSpeech, ".mp4"), []byte(videoSRT)))
	if tr.Text != videoCuesText || tr.Engine != transcript.EngineSubtitles {
		t.Fatalf("transcript %+v, want the uploaded cues", tr)
	}
	var ex server.Extraction
	requireOK(t, v.postJSON(t, "/api/v1/extract", map[string]any{"source_id": tr.SourceID}), http.StatusOK, &ex)
	if ex.Text != videoCuesText || ex.Metadata.Engine != transcript.EngineSubtitles {
		t.Errorf("POST /extract: engine %q, text %q; want the stored transcript %q", ex.Metadata.Engine, ex.Text, videoCuesText)
	}
	if x := sourceOf(t, v.stack, tr.SourceID).LatestExtraction; x == nil || x.Text != videoCuesText {
		t.Errorf("GET /source after POST /extract: latest extraction %+v, want the subtitle transcript", x)
	}
}

// TestVideoSubtitleFile: an .srt (or .vtt) alone is read as its cues, by
// /video-to-text and by /upload then /extract.
func TestVideoSubtitleFile(t *testing.T) {
	v := newVideoRig(t, videoOptions{})
	tr := transcriptOf(t, v.video(t, "subs.srt", []byte(videoSRT)))
	if tr.Text != videoCuesText || tr.Engine != transcript.EngineSubtitles || tr.DurationSeconds != 2.75 {
		t.Errorf("transcript %+v, want the cues, engine subtitles, duration 2.75", tr)
	}
	requireCueSegments(t, tr.Segments)

	vtt := "WEBVTT\n\n00:00.500 --> 00:01.250\nHello <b>world</b>\n\n00:01.500 --> 00:02.750 align:start\nSecond cue\nsplit over two lines\n"
	tr = transcriptOf(t, v.video(t, "subs.vtt", []byte(vtt)))
	if tr.Text != videoCuesText || tr.Engine != transcript.EngineSubtitles {
		t.Errorf("vtt transcript %+v", tr)
	}
	requireCueSegments(t, tr.Segments)

	var src server.Source
	requireOK(t, v.upload(t, "captions.srt", []byte(strings.ReplaceAll("\uFEFF"+videoSRT, "\n", "\r\n"))), http.StatusCreated, &src)
	if extract.BaseType(src.MediaType) != "application/x-subrip" {
		t.Errorf("media type of an .srt upload = %q", src.MediaType)
	}
	var ex server.Extraction
	requireOK(t, v.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID}), http.StatusOK, &ex)
	if ex.Text != videoCuesText || ex.Metadata.Parser != transcript.Name || ex.Metadata.Engine != transcript.EngineSubtitles {
		t.Errorf("POST /extract of an .srt = text %q, metadata %+v", ex.Text, ex.Metadata)
	}
	requireSameSegments(t, "POST /extract", ex.Segments, videoCueSegments)
}

// TestVideoJSONBody: {source_id} of a stored video, and the refusals of
// the JSON form.
func TestVideoJSONBody(t *testing.T) {
	mediatest.RequireFlite(t)
	v := newVideoRig(t, videoOptions{})
	var src server.Source
	requireOK(t, v.upload(t, "speech.mp4", videoSpeechFile(t, videoShortSpeech, ".mp4")), http.StatusCreated, &src)
	if src.Status != "stored" {
		t.Errorf("status %q before the transcript", src.Status)
	}
	tr := transcriptOf(t, v.postJSON(t, "/api/v1/video-to-text", map[string]any{"source_id": src.ID}))
	if tr.SourceID != src.ID || tr.Engine != "pocketsphinx" || strings.TrimSpace(tr.Text) == "" || len(tr.Segments) == 0 {
		t.Errorf("transcript %+v, want pocketsphinx text of %s", tr, src.ID)
	}
	if wer := mediatest.WER(videoShortSpeech, tr.Text); wer >= 0.5 {
		t.Errorf("WER %.1f%% for %q", 100*wer, tr.Text)
	}
	if got := sourceOf(t, v.stack, src.ID); got.Status != "extracted" || got.LatestExtraction == nil || got.LatestExtraction.Text != tr.Text {
		t.Errorf("source after the transcript: %+v", got)
	}

	post := func(ctype, body string) response {
		return v.do(t, http.MethodPost, "/api/v1/video-to-text", strings.NewReader(body), "Content-Type", ctype)
	}
	requireError(t, v.postJSON(t, "/api/v1/video-to-text", map[string]any{"source_id": "src_01jd6x4v9c8k2m3n4p5q6r7s8t"}), http.StatusNotFound, server.CodeNotFound)
	requireError(t, v.postJSON(t, "/api/v1/video-to-text", map[string]any{"source_id": src.ID, "url": "http://127.0.0.2/x.mp4"}), http.StatusUnprocessableEntity, server.CodeValidationError)
	requireError(t, v.postJSON(t, "/api/v1/video-to-text", map[string]any{}), http.StatusUnprocessableEntity, server.CodeValidationError)
	requireError(t, post("application/json", `{"source_id": `), http.StatusBadRequest, server.CodeInvalidRequest)
	requireError(t, post("application/json", `{"source_id": "`+src.ID+`", "language": "fr"}`), http.StatusBadRequest, server.CodeInvalidRequest)
	requireError(t, post("application/json", `{"source_id": "`+strings.Repeat("a", 65)+`"}`), http.StatusUnprocessableEntity, server.CodeValidationError)
	requireError(t, post("text/plain", src.ID), http.StatusBadRequest, server.CodeInvalidRequest)
	requireError(t, post("", `{"source_id": "`+src.ID+`"}`), http.StatusBadRequest, server.CodeInvalidRequest)
	requireKept(t, v.stack, src.ID)
}

// TestVideoFromURL: {url} downloads the media through the SSRF-safe
// fetcher, stores it as a url source and transcribes it; a refused URL
// reaches nothing and keeps nothing.
func TestVideoFromURL(t *testing.T) {
	mediatest.RequireFlite(t)
	content := videoSpeechFile(t, videoShortSpeech, ".mp4")
	var served atomic.Int64
	fix, port := fixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		switch r.URL.Path {
		case "/media/clip.mp4":
			w.Header().Set("Content-Type", "video/mp4")
			w.Write(content)
		case "/media/playlist.mp4":
			w.Header().Set("Content-Type", "video/mp4")
			w.Write([]byte("#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	can, _ := canary(t)
	v := newVideoRig(t, videoOptions{fetch: allow127002(port)})

	u := fix.URL + "/media/clip.mp4"
	tr := transcriptOf(t, v.postJSON(t, "/api/v1/video-to-text", map[string]any{"url": u}))
	if tr.Engine != "pocketsphinx" || strings.TrimSpace(tr.Text) == "" {
		t.Errorf("transcript %+v", tr)
	}
	src := sourceOf(t, v.stack, tr.SourceID)
	if src.Kind != "url" || src.URL != u || src.Filename != "clip.mp4" || src.LatestExtraction == nil || src.LatestExtraction.Text != tr.Text {
		t.Errorf("source = %+v, want a url source with the transcript", src)
	}

	requireError(t, v.postJSON(t, "/api/v1/video-to-text", map[string]any{"url": fix.URL + "/media/playlist.mp4"}), http.StatusUnsupportedMediaType, server.CodeUnsupportedMediaType)
	requireError(t, v.postJSON(t, "/api/v1/video-to-text", map[string]any{"url": fix.URL + "/media/missing.mp4"}), http.StatusBadGateway, server.CodeFetchFailed)
	requireError(t, v.postJSON(t, "/api/v1/video-to-text", map[string]any{"url": can.URL + "/clip.mp4"}), http.StatusBadRequest, server.CodeURLForbidden)
	requireError(t, v.postJSON(t, "/api/v1/video-to-text", map[string]any{"url": "file:///etc/passwd"}), http.StatusBadRequest, server.CodeURLForbidden)
	requireKept(t, v.stack, tr.SourceID)
	if n := served.Load(); n != 3 {
		t.Errorf("the fixture served %d requests, want 3", n)
	}
}

// TestVideoUnsupported: documents are not media: 415, and an upload is
// not kept (a stored document given by id stays).
func TestVideoUnsupported(t *testing.T) {
	v := newVideoRig(t, videoOptions{noSpeech: true})
	for name, content := range map[string][]byte{
		"doc.pdf":   helloPDF(),
		"notes.txt": []byte("Just some text, not a video.\n"),
		"clip.mp4":  []byte("Just some text named like a video.\n"),
		"empty.mp4": nil,
	} {
		r := v.video(t, name, content)
		if len(content) == 0 {
			requireError(t, r, http.StatusUnprocessableEntity, server.CodeValidationError)
			continue
		}
		requireError(t, r, http.StatusUnsupportedMediaType, server.CodeUnsupportedMediaType)
	}
	requireKept(t, v.stack)

	var src server.Source
	requireOK(t, v.upload(t, "doc.pdf", helloPDF()), http.StatusCreated, &src)
	requireError(t, v.postJSON(t, "/api/v1/video-to-text", map[string]any{"source_id": src.ID}), http.StatusUnsupportedMediaType, server.CodeUnsupportedMediaType)
	requireKept(t, v.stack, src.ID)
	if got := sourceOf(t, v.stack, src.ID); got.Status != "stored" {
		t.Errorf("a PDF refused by video-to-text is now %q", got.Status)
	}
}

// TestVideoT25Playlist is RELIABILITY.md T25: an HLS playlist and an
// ffconcat script named clip.mp4, naming /etc/passwd and the canary, are
// refused before any tool runs: 415, the canary untouched, no passwd
// content in any answer, nothing kept by /video-to-text.
func TestVideoT25Playlist(t *testing.T) {
	can, hits := canary(t)
	v := newVideoRig(t, videoOptions{noSpeech: true})
	port := can.URL[strings.LastIndexByte(can.URL, ':')+1:]
	// extract is what POST /extract answers for the stored payload: an
	// HLS playlist is sniffed as such and has no parser (415); an
	// ffconcat script is plain text to the sniffer, so the text parser
	// returns its bytes as text (200), fetching nothing.
	payloads := map[string]struct {
		content string
		extract int
	}{
		"hls":      {"#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n#EXTINF:1,\nhttp://127.0.0.1:" + port + "/seg.ts\n", http.StatusUnsupportedMediaType},
		"ffconcat": {"ffconcat version 1.0\nfile 'http://127.0.0.1:" + port + "/x.mp4'\nfile '/etc/passwd'\n", http.StatusOK},
		"hls-crlf": {"#EXTM3U\r\n#EXT-X-VERSION:3\r\n#EXTINF:1,\r\nhttp://127.0.0.1:" + port + "/seg.ts\r\n#EXT-X-ENDLIST\r\n", http.StatusUnsupportedMediaType},
	}
	var kept []string
	for name, p := range payloads {
		payload := p.content
		t.Run(name, func(t *testing.T) {
			var bodies [][]byte
			r := v.video(t, "clip.mp4", []byte(payload))
			bodies = append(bodies, r.body)
			requireError(t, r, http.StatusUnsupportedMediaType, server.CodeUnsupportedMediaType)

			// Stored with /upload, it is whatever the sniffer says
			// (text), never media: /video-to-text refuses it, and
			// /extract reads its bytes as text at most, fetching
			// nothing.
			var src server.Source
			r = v.upload(t, "clip.mp4", []byte(payload))
			bodies = append(bodies, r.body)
			requireOK(t, r, http.StatusCreated, &src)
			kept = append(kept, src.ID)
			if strings.HasPrefix(src.MediaType, "video/") || strings.HasPrefix(src.MediaType, "audio/") {
				t.Errorf("a %s playlist named clip.mp4 was sniffed as %q", name, src.MediaType)
			}
			r = v.postJSON(t, "/api/v1/video-to-text", map[string]any{"source_id": src.ID})
			bodies = append(bodies, r.body)
			requireError(t, r, http.StatusUnsupportedMediaType, server.CodeUnsupportedMediaType)
			r = v.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID})
			bodies = append(bodies, r.body)
			t.Logf("%s via /upload: %s; /extract: %d", name, src.MediaType, r.status)
			if p.extract == http.StatusOK {
				var ex server.Extraction
				requireOK(t, r, http.StatusOK, &ex)
				if ex.Metadata.Parser == transcript.Name || ex.Metadata.Engine != "" || strings.TrimSpace(ex.Text) != strings.TrimSpace(payload) {
					t.Errorf("/extract of the %s script: parser %q, engine %q, text %q; want its bytes as text", name, ex.Metadata.Parser, ex.Metadata.Engine, ex.Text)
				}
			} else {
				requireError(t, r, p.extract, server.CodeUnsupportedMediaType)
			}
			for _, b := range bodies {
				if bytes.Contains(b, []byte("root:")) {
					t.Errorf("an answer shows passwd content: %s", b)
				}
			}
		})
	}
	requireKept(t, v.stack, kept...)
	if n := hits.Load(); n != 0 {
		t.Errorf("the canary was reached %d times", n)
	}
}

// TestVideoT26TooLong is RELIABILITY.md T26 (a): ten hours of silence
// (small as FLAC) over a one-hour cap is refused from ffprobe's duration,
// before any decoding.
func TestVideoT26TooLong(t *testing.T) {
	v := newVideoRig(t, videoOptions{maxDuration: time.Hour})
	content := videoFixture(t, "silent-10h.flac", func(dir string) string {
		return mediatest.Silent(t, dir, "silent.flac", 10*time.Hour)
	})
	start := time.Now()
	r := v.video(t, "silence.flac", content)
	took := time.Since(start)
	requireError(t, r, http.StatusUnprocessableEntity, server.CodeMediaTooLong)
	if msg := r.env.Error.Message; !strings.Contains(msg, "10h0m0s") || !strings.Contains(msg, "1h0m0s") {
		t.Errorf("message %q, want the duration (10h0m0s) and the limit (1h0m0s)", msg)
	}
	t.Logf("%d KiB of FLAC refused in %s: %s", len(content)>>10, took.Round(time.Millisecond), r.env.Error.Message)
	if took > 10*time.Second {
		t.Errorf("refused after %s: decoded instead of probing?", took)
	}
	requireKept(t, v.stack)
	v.requireTempEmpty(t)
}

// TestVideoT26Timeout is RELIABILITY.md T26 (b): a transcript past the
// parser's deadline answers extraction_timeout at the deadline, and
// leaves no process, no goroutine and no temp file behind.
func TestVideoT26Timeout(t *testing.T) {
	mediatest.RequireFlite(t)
	const deadline = 300 * time.Millisecond
	v := newVideoRig(t, videoOptions{timeout: deadline})
	long := videoSpeechFile(t, strings.Repeat(videoSpeech+" ", 4), ".mp4") // about 20 s
	// Warm up the paths a transcript takes, for the goroutine baseline.
	transcriptOf(t, v.video(t, "subs.srt", []byte(videoSRT)))
	v.http.Client().CloseIdleConnections()
	baseline := settledGoroutines(0, 200*time.Millisecond)

	for i := range 3 {
		start := time.Now()
		r := v.video(t, "long.mp4", long)
		took := time.Since(start)
		requireError(t, r, http.StatusUnprocessableEntity, server.CodeExtractionTimeout)
		if took > deadline+5*time.Second {
			t.Errorf("answered after %s, deadline %s", took, deadline)
		}
		// The Extractor answers at the deadline without waiting for
		// the parser, whose goroutine then kills the tool's process
		// group and removes its temp files: allow it a moment.
		answered := time.Now()
		left := videoLeftovers(v)
		if len(left) > 0 {
			t.Logf("attempt %d: right after the answer: %q", i, left)
		}
		for len(left) > 0 && time.Since(answered) < 2*time.Second {
			time.Sleep(5 * time.Millisecond)
			left = videoLeftovers(v)
		}
		if len(left) > 0 {
			t.Errorf("attempt %d: left 2 s after the answer: %q", i, left)
		}
		t.Logf("attempt %d: %q after %s; processes and temp files gone %s after the answer",
			i, r.env.Error.Message, took.Round(time.Millisecond), time.Since(answered).Round(time.Millisecond))
	}
	v.requireTempEmpty(t)
	requireKept(t, v.stack, mustSourceIDOfSRT(t, v))

	v.http.Client().CloseIdleConnections()
	n := settledGoroutines(baseline, 3*time.Second)
	t.Logf("goroutines: %d before, %d after", baseline, n)
	if n > baseline+2 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before, %d after the deadline plus 3 s\n%s", baseline, n, buf[:runtime.Stack(buf, true)])
	}
}

// mustSourceIDOfSRT returns the id of the one source of the rig (the
// warm-up subtitle file).
func mustSourceIDOfSRT(t *testing.T, v *videoRig) string {
	t.Helper()
	ids := listIDs(t, v.stack, "", nil)
	if len(ids) != 1 {
		t.Fatalf("sources %v, want the warm-up one only", ids)
	}
	if src := sourceOf(t, v.stack, ids[0]); extract.BaseType(src.MediaType) != "application/x-subrip" {
		t.Fatalf("the source kept is %+v, want the warm-up subtitles", src)
	}
	return ids[0]
}

// videoLeftovers lists the tools still running on the rig's temp dirs and
// what is left in them.
func videoLeftovers(v *videoRig) []string {
	return append(videoProcesses(v.tmps), v.tempEntries()...)
}

// videoProcesses lists the ffmpeg, ffprobe and pocketsphinx processes
// whose command line names one of dirs, and zombies of those commands
// among this process's children.
func videoProcesses(dirs []string) []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	tools := []string{"ffmpeg", "ffprobe", "pocketsphinx_continuous", "pocketsphinx_co"}
	self := strconv.Itoa(os.Getpid())
	var found []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			s := string(stat)
			open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
			if open > 0 && closing > open {
				comm := s[open+1 : closing]
				f := strings.Fields(s[closing+1:])
				if len(f) >= 2 && f[0] == "Z" && f[1] == self && slices.Contains(tools, comm) {
					found = append(found, "zombie "+e.Name()+" "+comm)
				}
			}
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if !slices.Contains(tools, filepath.Base(args[0])) {
			continue
		}
		for _, d := range dirs {
			if bytes.Contains(b, []byte(d)) {
				found = append(found, e.Name()+": "+strings.Join(args, " "))
				break
			}
		}
	}
	return found
}

// TestVideoT26NoFFmpeg is RELIABILITY.md T26 (c): without ffmpeg, media
// answers 503 dependency_unavailable naming ffmpeg and is not kept,
// subtitle files still work, and /health stays 200, reporting the engines.
func TestVideoT26NoFFmpeg(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg")
	_, err := media.New(media.Config{FFmpeg: "/nonexistent/ffmpeg", TempDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "ffmpeg") {
		t.Fatalf("media.New with a missing ffmpeg: %v", err)
	}
	if !errors.Is(err, media.ErrUnavailable) {
		t.Fatalf("media.New with a missing ffmpeg: %v, want media.ErrUnavailable", err)
	}
	v := newVideoRig(t, videoOptions{noMedia: true, noSpeech: true})
	// The harness passes no Deps.Engines: a second server over the
	// stack's database and blobs reports them, as `quarry serve` does.
	engines := map[string]string{"ffmpeg": "unavailable", "transcriber": "off"}
	ex, err := extract.New(v.reg, extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := sources.New(sources.Config{DB: v.db, Blobs: v.blobs, Extractor: ex})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Version: "test"}, server.Deps{
		Sources: svc, Extractor: ex, Checks: map[string]server.Pinger{"db": v.db, "storage": v.blobs},
		Auth: v.auth, Audit: v.audit, Flags: v.flags, Engines: engines,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	s := *v.stack
	s.srv, s.http = srv, hs
	w := &videoRig{stack: &s, reg: v.reg, tmps: v.tmps}

	clip := videoSubsFile(t, "subs.mkv")
	r := w.video(t, "subs.mkv", clip)
	requireError(t, r, http.StatusServiceUnavailable, server.CodeDependencyUnavailable)
	if !strings.Contains(r.env.Error.Message, "ffmpeg") || r.header.Get("Retry-After") == "" {
		t.Errorf("message %q, Retry-After %q; want ffmpeg named and a Retry-After", r.env.Error.Message, r.header.Get("Retry-After"))
	}
	// With uploaded subtitles no tool is needed.
	tr := transcriptOf(t, w.video(t, "subs.mkv", clip, []byte(videoSRT)))
	if tr.Text != videoCuesText || tr.Engine != transcript.EngineSubtitles || tr.DurationSeconds != 2.75 {
		t.Errorf("video with uploaded subtitles and no ffmpeg: %+v", tr)
	}
	// A subtitle file never needs ffmpeg.
	srt := transcriptOf(t, w.video(t, "subs.srt", []byte(videoSRT)))
	if srt.Text != videoCuesText || srt.Engine != transcript.EngineSubtitles {
		t.Errorf("lone .srt without ffmpeg: %+v", srt)
	}
	requireCueSegments(t, srt.Segments)
	requireKept(t, w.stack, withCompanions(t, w.stack, tr.SourceID, srt.SourceID)...)

	var h server.Health
	requireOK(t, w.do(t, http.MethodGet, "/api/v1/health", nil), http.StatusOK, &h)
	if h.Status != "ok" || !maps.Equal(h.Engines, engines) || !slices.Contains(h.Parsers, transcript.Name) {
		t.Errorf("health = %+v, want ok with engines %v and the media parser", h, engines)
	}
	requireOK(t, w.do(t, http.MethodGet, "/health", nil), http.StatusOK, nil)
}

// TestVideoNoTranscriber: without a speech engine, speech without
// subtitles is 503 dependency_unavailable (not kept); a video without
// audio has an empty transcript with the no_audio warning.
func TestVideoNoTranscriber(t *testing.T) {
	mediatest.RequireFlite(t)
	v := newVideoRig(t, videoOptions{noSpeech: true})
	r := v.video(t, "speech.mp4", videoSpeechFile(t, videoShortSpeech, ".mp4"))
	requireError(t, r, http.StatusServiceUnavailable, server.CodeDependencyUnavailable)
	if !strings.Contains(r.env.Error.Message, "QUARRY_TRANSCRIBER") {
		t.Errorf("message %q, want it to name QUARRY_TRANSCRIBER", r.env.Error.Message)
	}
	requireKept(t, v.stack)

	// Subtitles still make a transcript.
	subs := transcriptOf(t, v.video(t, "subs.mp4", videoSubsFile(t, "subs.mp4")))
	if subs.Text != videoCuesText || subs.Engine != transcript.EngineSubtitles {
		t.Errorf("subtitle track without a speech engine: %+v", subs)
	}

	silent := videoFixture(t, "video-only.mp4", func(dir string) string { return mediatest.VideoOnly(t, dir, 2) })
	tr := transcriptOf(t, v.video(t, "silent.mp4", silent))
	if tr.Text != "" || len(tr.Segments) != 0 || len(tr.Warnings) != 1 || tr.Warnings[0].Code != transcript.WarnNoAudio {
		t.Errorf("video without audio: %+v, want an empty transcript with a no_audio warning", tr)
	}
	if tr.DurationSeconds < 1.5 || tr.DurationSeconds > 2.5 {
		t.Errorf("duration %.3f, want about 2", tr.DurationSeconds)
	}
	requireKept(t, v.stack, subs.SourceID, tr.SourceID)
}

// videoFakeWhisper is an OpenAI-compatible transcription server on
// loopback that checks each request and answers as mode says.
type videoFakeWhisper struct {
	t     *testing.T
	srv   *httptest.Server
	mode  atomic.Value // string: ok, 500, 429, slow
	calls atomic.Int64
}

// The fake's answer in mode ok.
const (
	videoWhisperText1 = "Hello from the fake whisper."
	videoWhisperText2 = "A second segment, with ünïcode."
)

func newVideoFakeWhisper(t *testing.T) *videoFakeWhisper {
	f := &videoFakeWhisper{t: t}
	f.mode.Store("ok")
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *videoFakeWhisper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	t := f.t
	if r.Method != http.MethodPost || r.URL.Path != "/v1/audio/transcriptions" {
		t.Errorf("whisper got %s %s", r.Method, r.URL.Path)
	}
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		t.Errorf("whisper: multipart: %v", err)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if got := r.FormValue("model"); got != "whisper-test" {
		t.Errorf("whisper: model %q", got)
	}
	if got := r.FormValue("response_format"); got != "verbose_json" {
		t.Errorf("whisper: response_format %q", got)
	}
	file, _, err := r.FormFile("file")
	if err != nil {
		t.Errorf("whisper: file part: %v", err)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	wav, _ := io.ReadAll(file)
	file.Close()
	if err := checkWAV16kMono(wav); err != nil {
		t.Errorf("whisper: the file part: %v", err)
	}
	switch f.mode.Load().(string) {
	case "500":
		http.Error(w, "upstream exploded", http.StatusInternalServerError)
		return
	case "429":
		w.Header().Set("Retry-After", "120")
		http.Error(w, "slow down", http.StatusTooManyRequests)
		return
	case "slow":
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"task": "transcribe", "language": "en", "duration": 2.0, "text": videoWhisperText1 + " " + videoWhisperText2,
		"segments": []map[string]any{
			{"id": 0, "start": 0.24, "end": 1.5, "text": " " + videoWhisperText1},
			{"id": 1, "start": 1.5, "end": 2.125, "text": " " + videoWhisperText2 + " "},
		},
	})
}

// checkWAV16kMono checks a canonical 16 kHz mono 16-bit PCM WAV file.
func checkWAV16kMono(b []byte) error {
	if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" || string(b[12:16]) != "fmt " {
		return fmt.Errorf("not RIFF....WAVE with a fmt chunk: % x", b[:min(len(b), 16)])
	}
	format := binary.LittleEndian.Uint16(b[20:])
	channels := binary.LittleEndian.Uint16(b[22:])
	rate := binary.LittleEndian.Uint32(b[24:])
	bits := binary.LittleEndian.Uint16(b[34:])
	if format != 1 || channels != 1 || rate != 16000 || bits != 16 {
		return fmt.Errorf("format %d, %d channels, %d Hz, %d bits; want PCM mono 16 kHz 16 bits", format, channels, rate, bits)
	}
	if len(b) <= 44 {
		return fmt.Errorf("no audio data")
	}
	return nil
}

// TestVideoWhisper: the whisper engine against a fake OpenAI-compatible
// server: its segments make the transcript, and its failures map to the
// contract's codes (502 after one retry, 503 with its Retry-After, 504).
func TestVideoWhisper(t *testing.T) {
	mediatest.RequireFlite(t)
	f := newVideoFakeWhisper(t)
	v := newVideoRig(t, videoOptions{whisper: &transcribe.WhisperConfig{
		BaseURL: f.srv.URL + "/v1", Model: "whisper-test", HTTPClient: f.srv.Client(),
		RequestTimeout: time.Second, RetryBackoff: 10 * time.Millisecond,
	}})
	content := videoSpeechFile(t, videoShortSpeech, ".mp4")

	tr := transcriptOf(t, v.video(t, "speech.mp4", content))
	want := []server.TranscriptSegment{
		{StartSeconds: 0.24, EndSeconds: 1.5, Text: videoWhisperText1, Start: 0, End: utf8.RuneCountInString(videoWhisperText1)},
		{StartSeconds: 1.5, EndSeconds: 2.125, Text: videoWhisperText2, Start: utf8.RuneCountInString(videoWhisperText1) + 1,
			End: utf8.RuneCountInString(videoWhisperText1) + 1 + utf8.RuneCountInString(videoWhisperText2)},
	}
	if tr.Engine != "whisper" || tr.Text != videoWhisperText1+"\n"+videoWhisperText2 || tr.Language != "en" {
		t.Errorf("transcript %+v, want the fake's", tr)
	}
	if !slices.Equal(tr.Segments, want) {
		t.Errorf("segments %+v\nwant %+v", tr.Segments, want)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d requests to whisper, want 1", n)
	}
	kept := []string{tr.SourceID}

	for _, c := range []struct {
		mode       string
		status     int
		code       string
		calls      int64
		retryAfter string
	}{
		{"500", http.StatusBadGateway, server.CodeFetchFailed, 2, ""},
		{"429", http.StatusServiceUnavailable, server.CodeDependencyUnavailable, 1, "120"},
		{"slow", http.StatusGatewayTimeout, server.CodeUpstreamTimeout, 1, ""},
	} {
		t.Run(c.mode, func(t *testing.T) {
			f.mode.Store(c.mode)
			f.calls.Store(0)
			start := time.Now()
			r := v.video(t, "speech.mp4", content)
			requireError(t, r, c.status, c.code)
			if n := f.calls.Load(); n != c.calls {
				t.Errorf("%d requests to whisper, want %d", n, c.calls)
			}
			if c.retryAfter != "" && r.header.Get("Retry-After") != c.retryAfter {
				t.Errorf("Retry-After %q, want %q", r.header.Get("Retry-After"), c.retryAfter)
			}
			if strings.Contains(string(r.body), "exploded") || strings.Contains(string(r.body), "slow down") {
				t.Errorf("the upstream's body leaked: %s", r.body)
			}
			if took := time.Since(start); took > 8*time.Second {
				t.Errorf("answered after %s", took)
			}
		})
	}
	requireKept(t, v.stack, kept...)
}

// TestVideoFeatureFlag: with media.video_to_text off, 403
// feature_disabled, and nothing is stored.
func TestVideoFeatureFlag(t *testing.T) {
	v := newVideoRig(t, videoOptions{noSpeech: true})
	if _, err := v.flags.Set(context.Background(), flags.Flag{Key: flags.VideoToText, Scope: flags.ScopeGlobal, Enabled: false}, "test"); err != nil {
		t.Fatal(err)
	}
	requireError(t, v.video(t, "subs.srt", []byte(videoSRT)), http.StatusForbidden, server.CodeFeatureDisabled)
	requireError(t, v.postJSON(t, "/api/v1/video-to-text", map[string]any{"url": "http://127.0.0.2/x.mp4"}), http.StatusForbidden, server.CodeFeatureDisabled)
	requireKept(t, v.stack)
	if _, err := v.flags.Set(context.Background(), flags.Flag{Key: flags.VideoToText, Scope: flags.ScopeGlobal, Enabled: true}, "test"); err != nil {
		t.Fatal(err)
	}
	transcriptOf(t, v.video(t, "subs.srt", []byte(videoSRT)))
}

// TestVideoIsolated: with parser worker processes, media is still
// transcribed (in the server process: the transcript parser is an
// extract.ExternalTool), and documents still go to the workers.
func TestVideoIsolated(t *testing.T) {
	if testing.Short() {
		t.Skip("worker processes skipped in -short mode")
	}
	mediatest.RequireFlite(t)
	v := newVideoRig(t, videoOptions{isolated: true})
	tr := transcriptOf(t, v.video(t, "speech.mp4", videoSpeechFile(t, videoShortSpeech, ".mp4")))
	if tr.Engine != "pocketsphinx" || strings.TrimSpace(tr.Text) == "" {
		t.Errorf("transcript %+v", tr)
	}
	before := v.pool.Stats()
	src := uploadText(t, v.stack, "note.txt", "A document for the worker.")
	var ex server.Extraction
	requireOK(t, v.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID}), http.StatusOK, &ex)
	after := v.pool.Stats()
	t.Logf("pool before the document %+v, after %+v", before, after)
	if before.Documents != 0 {
		t.Errorf("the video went to a worker: %+v", before)
	}
	if after.Documents != 1 || after.Crashes != 0 {
		t.Errorf("the document did not go to a worker: %+v", after)
	}
}
