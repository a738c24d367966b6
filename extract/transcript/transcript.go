package transcript

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/media"
	"github.com/quarryhq/quarry/transcribe"
)

// EngineSubtitles is the Metadata.Engine of transcripts made from
// subtitles.
const EngineSubtitles = "subtitles"

// Name is the name Quarry registers the parser under (metadata.parser of
// transcripts).
const Name = "media"

// Warning codes of transcripts, beside those of package extract.
const (
	// WarnNoAudio: the media has neither an audio stream nor a text
	// subtitle track, so its transcript is empty.
	WarnNoAudio = "no_audio"
	// WarnNoSpeech: the speech engine recognised no words.
	WarnNoSpeech = "no_speech"
	// WarnSubtitlesUnreadable: a subtitle track could not be read, so
	// the transcript comes from speech recognition instead.
	WarnSubtitlesUnreadable = "subtitles_unreadable"
)

// DefaultTimeout is the deadline of one transcript when Config.Timeout is
// zero: RELIABILITY.md's wall time for media work.
const DefaultTimeout = 10 * time.Minute

// MaxSubtitleBytes is the largest subtitle file read (an hour of dense
// subtitles is under 100 KiB).
const MaxSubtitleBytes = 8 << 20

// Media is what the parser needs of package media: *media.Tools.
type Media interface {
	Probe(ctx context.Context, r io.ReaderAt, size int64) (*media.Info, error)
	Subtitles(ctx context.Context, r io.ReaderAt, size int64) ([]media.Track, error)
	ExtractAudio(ctx context.Context, r io.ReaderAt, size int64, w io.Writer) (int64, error)
}

// Config configures a [Parser]. Every field is optional.
type Config struct {
	// Media runs ffprobe and ffmpeg (a *media.Tools). Nil means ffmpeg is
	// not installed: audio and video fail with an error wrapping
	// media.ErrUnavailable (dependency_unavailable), while subtitle
	// files are still read.
	Media Media
	// Transcriber recognises speech in media without a text subtitle
	// track. Nil means subtitles only: such media fails with an error
	// wrapping transcribe.ErrUnavailable.
	Transcriber transcribe.Transcriber
	// Timeout is the deadline of one transcript, probing, subtitle or
	// audio extraction and recognition together (default
	// DefaultTimeout). The Extractor applies it in place of its own
	// document deadline (extract.ExternalTool).
	Timeout time.Duration
	// TempDir holds the extracted audio while it is recognised, in a
	// file removed before Parse returns (default os.TempDir()).
	TempDir string
	// Logger receives one debug record per transcript, with timings and
	// never any text (default: discard).
	Logger *slog.Logger
}

// Parser is the extract.Parser of audio, video and subtitle files. It is
// safe for concurrent use.
type Parser struct {
	cfg Config
}

// New checks cfg and returns the parser.
func New(cfg Config) (*Parser, error) {
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("transcript: Config.Timeout must not be negative, got %s", cfg.Timeout)
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.TempDir = cmp.Or(cfg.TempDir, os.TempDir())
	if fi, err := os.Stat(cfg.TempDir); err != nil {
		return nil, fmt.Errorf("transcript: Config.TempDir: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("transcript: Config.TempDir %q is not a directory", cfg.TempDir)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Parser{cfg: cfg}, nil
}

// subtitleTypes are the media types of subtitle files.
var subtitleTypes = []string{"text/vtt", "application/x-subrip"}

// MediaTypes lists the audio, video and subtitle types the generic
// sniffer reports for the containers package media accepts (MP4/MOV/M4A/
// 3GP, Matroska/WebM, Ogg, WAV, MP3, FLAC, AVI, MPEG-TS), and WebVTT and
// SubRip files. Which container it really is, media decides again from
// the bytes.
func (p *Parser) MediaTypes() []string {
	return append([]string{
		"video/mp4", "video/quicktime", "video/3gpp", "video/3gpp2", "audio/mp4", "audio/x-m4a", "video/x-m4v",
		"video/webm", "audio/webm", "video/matroska", "video/x-matroska", "audio/x-matroska",
		"application/ogg", "audio/ogg", "video/ogg", "audio/opus",
		"audio/wav", "audio/x-wav", "audio/vnd.wave",
		"audio/mpeg", "audio/flac", "audio/x-flac",
		"video/x-msvideo", "video/avi", "video/mp2t",
	}, subtitleTypes...)
}

// Sniff recognises SubRip files, which the generic sniffer reports as
// plain text: a cue number line, then a "00:00:01,000 --> ..." line; and
// MPEG-TS, which it does not know: binary content with the sync bytes of
// three packets.
func (p *Parser) Sniff(head []byte) string {
	if len(head) >= 3*188 && bytes.IndexByte(head, 0) >= 0 {
		if f, err := media.Sniff(bytes.NewReader(head), int64(len(head))); err == nil && f == media.FormatMPEGTS {
			return "video/mp2t"
		}
	}
	s := strings.TrimPrefix(string(head), "\uFEFF")
	s = strings.TrimLeft(s, "\r\n\t ")
	num, rest, ok := strings.Cut(s, "\n")
	if !ok || strings.TrimSpace(num) == "" || strings.Trim(strings.TrimSpace(num), "0123456789") != "" {
		return ""
	}
	timing, _, _ := strings.Cut(rest, "\n")
	if strings.Contains(timing, "-->") && strings.Count(timing, ":") >= 4 {
		return "application/x-subrip"
	}
	return ""
}

// ToolTimeout is Config.Timeout: see extract.ExternalTool.
func (p *Parser) ToolTimeout() time.Duration { return p.cfg.Timeout }

// Parse returns the transcript of in: for a subtitle file its cues; for
// audio or video the first of
//
//  1. in.Companion when it is a subtitle file (an .srt or .vtt uploaded
//     with the media), the media still being checked to be a container
//     package media accepts and probed for its duration when ffmpeg is
//     there;
//  2. a text subtitle track of the container (exact text and timing; the
//     default track, else the first);
//  3. speech recognised by Config.Transcriber in its first audio stream,
//
// as a one-page Document whose Segments are the cues or utterances, each
// on a line of its own, with Metadata.DurationSeconds and Engine set.
// Media that cannot be read answers the sentinels of package extract
// (ErrUnsupportedFormat for anything media does not accept, ErrTooLong,
// ErrTimeout, ErrMalformed, ErrTooLarge); a missing ffmpeg or speech
// engine answers errors wrapping media.ErrUnavailable or
// transcribe.ErrUnavailable, and the speech engine's own failures wrap
// the sentinels of package transcribe.
func (p *Parser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	if IsSubtitleType(in.MediaType) {
		cues, err := readSubtitles(in.R, in.Size)
		if err != nil {
			return nil, err
		}
		return fromCues(cues, lastEnd(cues), ""), nil
	}
	var sidecar []media.Cue
	if c := in.Companion; c != nil && IsSubtitleType(c.MediaType) {
		cues, err := readSubtitles(c.R, c.Size)
		if err != nil {
			return nil, err
		}
		// Subtitles without a cue are still the transcript (an empty one).
		sidecar = append([]media.Cue{}, cues...)
	}
	return p.transcribe(ctx, in, sidecar)
}

func (p *Parser) transcribe(ctx context.Context, in extract.Input, sidecar []media.Cue) (*extract.Document, error) {
	start := time.Now()
	if _, err := media.Sniff(in.R, in.Size); err != nil {
		return nil, mediaErr(err)
	}
	if p.cfg.Media == nil {
		if sidecar != nil {
			return p.done(ctx, start, fromCues(sidecar, lastEnd(sidecar), ""), "sidecar")
		}
		return nil, &Error{Kind: media.ErrUnavailable, Msg: "ffmpeg is not installed on this server, so audio and video cannot be read"}
	}
	info, err := p.cfg.Media.Probe(ctx, in.R, in.Size)
	if err != nil {
		return nil, mediaErr(err)
	}
	if sidecar != nil {
		return p.done(ctx, start, fromCues(sidecar, max(info.Duration, lastEnd(sidecar)), ""), "sidecar")
	}

	var warnings []extract.Warning
	if hasTextSubtitles(info) {
		tracks, err := p.cfg.Media.Subtitles(ctx, in.R, in.Size)
		switch {
		case errors.Is(err, media.ErrMalformed):
			warnings = append(warnings, extract.Warning{Code: WarnSubtitlesUnreadable, Message: "a subtitle track could not be read; the transcript comes from the audio"})
		case err != nil:
			return nil, mediaErr(err)
		default:
			if t := pickTrack(tracks); t != nil {
				return p.done(ctx, start, fromCues(t.Cues, info.Duration, t.Language), "subtitle track")
			}
		}
	}
	if !info.HasAudio() {
		doc := fromCues(nil, info.Duration, "")
		doc.Warnings = append(warnings, extract.Warning{Code: WarnNoAudio, Message: "the media has no audio and no text subtitles, so there is nothing to transcribe"})
		return p.done(ctx, start, doc, "no audio")
	}
	if p.cfg.Transcriber == nil {
		return nil, &Error{Kind: transcribe.ErrUnavailable, Msg: "the media has no subtitle track and no speech recognition engine is configured (QUARRY_TRANSCRIBER)"}
	}
	tr, err := p.recognise(ctx, in)
	if err != nil {
		return nil, err
	}
	doc := fromSegments(tr, info.Duration)
	doc.Warnings = append(warnings, doc.Warnings...)
	return p.done(ctx, start, doc, "speech")
}

// recognise extracts the audio into a temp file and runs the Transcriber
// on it; the file is removed whatever happens.
func (p *Parser) recognise(ctx context.Context, in extract.Input) (*transcribe.Transcript, error) {
	f, err := os.CreateTemp(p.cfg.TempDir, "quarry-audio-*.wav")
	if err != nil {
		return nil, fmt.Errorf("transcript: temp file: %w", err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	n, err := p.cfg.Media.ExtractAudio(ctx, in.R, in.Size, f)
	if err != nil {
		return nil, mediaErr(err)
	}
	tr, err := p.cfg.Transcriber.Transcribe(ctx, f, n)
	if err != nil {
		return nil, transcribeErr(err)
	}
	return tr, nil
}

func (p *Parser) done(ctx context.Context, start time.Time, doc *extract.Document, from string) (*extract.Document, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.cfg.Logger.DebugContext(ctx, "transcript made", "from", from, "engine", doc.Metadata.Engine,
		"duration_seconds", doc.Metadata.DurationSeconds, "segments", len(doc.Segments), "elapsed", time.Since(start))
	return doc, nil
}

// IsSubtitleType reports whether mediaType is a subtitle file type the
// parser reads (WebVTT, SubRip).
func IsSubtitleType(mediaType string) bool {
	t := extract.BaseType(mediaType)
	for _, s := range subtitleTypes {
		if t == s {
			return true
		}
	}
	return false
}

// readSubtitles reads and parses a subtitle file of at most
// MaxSubtitleBytes.
func readSubtitles(r io.ReaderAt, size int64) ([]media.Cue, error) {
	if size > MaxSubtitleBytes {
		return nil, fmt.Errorf("%w: a subtitle file may hold at most %d bytes", extract.ErrTooLarge, MaxSubtitleBytes)
	}
	b, err := io.ReadAll(io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, fmt.Errorf("transcript: reading subtitles: %w", err)
	}
	return parseSubtitles(b)
}

// parseSubtitles parses SubRip or WebVTT (one lenient parser reads both).
func parseSubtitles(b []byte) ([]media.Cue, error) {
	if len(b) > MaxSubtitleBytes {
		return nil, fmt.Errorf("%w: a subtitle file may hold at most %d bytes", extract.ErrTooLarge, MaxSubtitleBytes)
	}
	cues, err := media.ParseVTT(b)
	if err != nil {
		return nil, &Error{Kind: extract.ErrMalformed, Cause: err, Msg: "the subtitle file holds no readable cue"}
	}
	return cues, nil
}

func lastEnd(cues []media.Cue) time.Duration {
	var d time.Duration
	for _, c := range cues {
		d = max(d, c.End)
	}
	return d
}

func hasTextSubtitles(info *media.Info) bool {
	for _, s := range info.Streams {
		if s.Kind == media.KindSubtitle {
			return true
		}
	}
	return false
}

// pickTrack returns the default track with cues, else the first with cues.
func pickTrack(tracks []media.Track) *media.Track {
	var first *media.Track
	for i := range tracks {
		t := &tracks[i]
		if len(t.Cues) == 0 {
			continue
		}
		if t.Default {
			return t
		}
		if first == nil {
			first = t
		}
	}
	return first
}

// piece is one timed text of a transcript before it is laid out.
type piece struct {
	start, end time.Duration
	text       string
}

// fromCues lays out subtitle cues as a transcript, in time order (a
// subtitle file's cues need not be).
func fromCues(cues []media.Cue, duration time.Duration, lang string) *extract.Document {
	cues = slices.SortedStableFunc(slices.Values(cues), func(a, b media.Cue) int { return cmp.Compare(a.Start, b.Start) })
	ps := make([]piece, 0, len(cues))
	for _, c := range cues {
		ps = append(ps, piece{c.Start, c.End, oneLine(c.Text)})
	}
	return layout(ps, duration, EngineSubtitles, isoLanguage(lang))
}

// fromSegments lays out recognised speech as a transcript.
func fromSegments(tr *transcribe.Transcript, duration time.Duration) *extract.Document {
	ps := make([]piece, 0, len(tr.Segments))
	for _, s := range tr.Segments {
		ps = append(ps, piece{s.Start, s.End, oneLine(s.Text)})
	}
	doc := layout(ps, duration, tr.Engine, isoLanguage(tr.Language))
	if len(doc.Segments) == 0 {
		doc.Warnings = append(doc.Warnings, extract.Warning{Code: WarnNoSpeech, Message: "no speech was recognised in the audio"})
	}
	return doc
}

// oneLine is s on one line, spaces collapsed, as the Extractor keeps it:
// valid UTF-8 without NUL. Were the Extractor to clean it, the offsets of
// the segments after it would be off.
func oneLine(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	return strings.Join(strings.Fields(s), " ")
}

// layout joins the pieces one per line into a one-page Document whose
// segments index its text.
func layout(ps []piece, duration time.Duration, engine, lang string) *extract.Document {
	var b strings.Builder
	segs := make([]extract.Segment, 0, len(ps))
	offset := 0
	for _, pc := range ps {
		if pc.text == "" {
			continue
		}
		if len(segs) > 0 {
			b.WriteByte('\n')
			offset++
		}
		n := utf8.RuneCountInString(pc.text)
		b.WriteString(pc.text)
		segs = append(segs, extract.Segment{Start: offset, End: offset + n, StartSeconds: seconds(pc.start), EndSeconds: seconds(pc.end), Text: pc.text})
		offset += n
	}
	text := b.String()
	return &extract.Document{
		Text:     text,
		Pages:    []extract.Page{{Number: 1, Text: text}},
		Segments: segs,
		Metadata: extract.Metadata{
			PageCount:       1,
			Language:        lang,
			DurationSeconds: seconds(duration),
			Engine:          engine,
		},
		Warnings: []extract.Warning{},
	}
}

// seconds is d in seconds, to the millisecond.
func seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1000) / 1000
}

// isoLanguage turns a container's language tag ("eng", "fre", "en-US")
// or an engine's ("en-us") into its ISO 639-1 code where there is one;
// "" (then the Extractor detects the language from the text) for
// anything else, such as whisper's "english" or "und".
func isoLanguage(tag string) string {
	tag = strings.TrimSpace(tag)
	if tag == "" || strings.EqualFold(tag, "und") {
		return ""
	}
	t, err := language.Parse(tag)
	if err != nil {
		return ""
	}
	base, conf := t.Base()
	if conf == language.No {
		return ""
	}
	return base.String()
}
