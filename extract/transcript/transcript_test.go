package transcript_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/transcript"
	"github.com/quarryhq/quarry/internal/mediatest"
	"github.com/quarryhq/quarry/media"
	"github.com/quarryhq/quarry/transcribe"
)

// referenceText is what flite says in the speech tests (about 8 s).
const referenceText = "The quick brown fox jumps over the lazy dog. " +
	"Please call me tomorrow morning at the office. " +
	"We will meet at the station before the train leaves."

// twoCues is a SubRip file of two cues, the second on two lines.
const twoCues = "1\n00:00:00,500 --> 00:00:01,250\nHello <i>world</i>\n\n" +
	"2\n00:00:01,500 --> 00:00:02,750\nSecond cue\nsplit over two lines\n"

// twoCuesText and twoCuesSegments are the transcript of twoCues.
const twoCuesText = "Hello world\nSecond cue split over two lines"

var twoCuesSegments = []extract.Segment{
	{Start: 0, End: 11, StartSeconds: 0.5, EndSeconds: 1.25, Text: "Hello world"},
	{Start: 12, End: 43, StartSeconds: 1.5, EndSeconds: 2.75, Text: "Second cue split over two lines"},
}

// rig is a transcript Parser registered in a real Extractor, with every
// temp dir it may use under one root of the test's.
type rig struct {
	parser *transcript.Parser
	ex     *extract.Extractor
	root   string
	dirs   []string // must be empty after every extraction
}

type rigConfig struct {
	noMedia bool         // Config.Media nil: ffmpeg "not installed"
	media   media.Config // TempDir is set by newRig
	sphinx  bool         // Config.Transcriber is pocketsphinx
	timeout time.Duration
}

func newRig(tb testing.TB, rc rigConfig) *rig {
	tb.Helper()
	r := &rig{root: tb.TempDir()}
	dir := func(name string) string {
		d := filepath.Join(r.root, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			tb.Fatal(err)
		}
		r.dirs = append(r.dirs, d)
		return d
	}
	cfg := transcript.Config{TempDir: dir("parser"), Timeout: rc.timeout}
	if !rc.noMedia {
		mediatest.RequireTools(tb, "ffmpeg", "ffprobe")
		mc := rc.media
		mc.TempDir = dir("media")
		tools, err := media.New(mc)
		if err != nil {
			tb.Fatal(err)
		}
		cfg.Media = tools
	}
	if rc.sphinx {
		mediatest.RequirePocketsphinx(tb)
		ps, err := transcribe.NewPocketsphinx(transcribe.PocketsphinxConfig{TempDir: dir("sphinx")})
		if err != nil {
			tb.Fatal(err)
		}
		cfg.Transcriber = ps
	}
	p, err := transcript.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	r.parser = p
	reg := extract.NewRegistry()
	if err := reg.Register("media", p); err != nil {
		tb.Fatal(err)
	}
	// A document deadline far too short for any media work: the parser
	// is an extract.ExternalTool, so its own Timeout applies instead.
	if r.ex, err = extract.New(reg, extract.Config{Timeout: time.Millisecond}); err != nil {
		tb.Fatal(err)
	}
	return r
}

// extract runs the Extractor on the file at path (media type sniffed
// when mediaType is ""), then checks that nothing of it is left.
func (r *rig) extract(tb testing.TB, path, mediaType string, opts extract.Options) (*extract.Document, error) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	doc, err := r.ex.Extract(context.Background(), extract.Input{
		R: bytes.NewReader(b), Size: int64(len(b)), MediaType: mediaType, Filename: filepath.Base(path),
	}, opts)
	r.assertClean(tb)
	return doc, err
}

// assertClean waits (a parser the Extractor gave up on at its deadline
// may still be stopping) until the temp dirs are empty and no process
// runs on a file under the rig's root.
func (r *rig) assertClean(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := processesWith(r.root)
		for _, d := range r.dirs {
			entries, err := os.ReadDir(d)
			if err != nil {
				tb.Fatal(err)
			}
			for _, e := range entries {
				left = append(left, "temp file "+filepath.Join(d, e.Name()))
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("left behind: %q", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processesWith lists the live processes whose command line contains s
// (none where there is no /proc).
func processesWith(s string) []string {
	entries, _ := os.ReadDir("/proc")
	var found []string
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(s)) {
			continue
		}
		found = append(found, "process "+e.Name()+": "+string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
	}
	return found
}

// checkSegments checks that the segments index doc.Text, in text and
// time order.
func checkSegments(tb testing.TB, doc *extract.Document) {
	tb.Helper()
	text := []rune(doc.Text)
	prevEnd, prevTime := 0, 0.0
	for i, s := range doc.Segments {
		if s.Start < prevEnd || s.End < s.Start || s.End > len(text) {
			tb.Errorf("segment %d [%d,%d) out of order or past the text (%d code points)", i, s.Start, s.End, len(text))
			continue
		}
		if got := string(text[s.Start:s.End]); got != s.Text || s.Text == "" {
			tb.Errorf("segment %d: text[%d:%d] = %q, segment text %q", i, s.Start, s.End, got, s.Text)
		}
		if s.StartSeconds < prevTime || s.EndSeconds < s.StartSeconds {
			tb.Errorf("segment %d: times %.3f-%.3f out of order (previous start %.3f)", i, s.StartSeconds, s.EndSeconds, prevTime)
		}
		prevEnd, prevTime = s.End, s.StartSeconds
	}
}

func hasWarning(doc *extract.Document, code string) bool {
	for _, w := range doc.Warnings {
		if w.Code == code {
			return true
		}
	}
	return false
}

func near(a, b, tolerance float64) bool { return math.Abs(a-b) <= tolerance }

// ffmpeg runs ffmpeg for the fixtures mediatest does not make.
func ffmpeg(tb testing.TB, args ...string) {
	tb.Helper()
	mediatest.RequireTools(tb, "ffmpeg")
	cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-nostdin", "-v", "error", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func writeFile(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestSubtitleTrack(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigConfig{})
	dir := t.TempDir()
	tests := []struct {
		name, lang, wantLang string
	}{
		{"subs.mkv", "eng", "en"},
		{"subs.mp4", "eng", "en"},
		// The track's tag wins over what the English text would be
		// detected as.
		{"tagged-fre.mkv", "fre", "fr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := mediatest.WithSubtitles(t, dir, tt.name, twoCues, tt.lang, 3)
			doc, err := r.extract(t, path, "", extract.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if doc.Text != twoCuesText {
				t.Errorf("text = %q, want %q", doc.Text, twoCuesText)
			}
			if fmt.Sprint(doc.Segments) != fmt.Sprint(twoCuesSegments) {
				t.Errorf("segments = %+v\nwant %+v", doc.Segments, twoCuesSegments)
			}
			checkSegments(t, doc)
			md := doc.Metadata
			if md.Engine != transcript.EngineSubtitles || md.Language != tt.wantLang || md.Parser != "media" || md.PageCount != 1 {
				t.Errorf("metadata = %+v, want engine subtitles, language %s, parser media, one page", md, tt.wantLang)
			}
			if !near(md.DurationSeconds, 3, 0.2) {
				t.Errorf("duration %.3f s, want about 3", md.DurationSeconds)
			}
			if len(doc.Warnings) != 0 {
				t.Errorf("warnings = %+v", doc.Warnings)
			}
		})
	}
}

// TestSubtitleTrackDefault: of two tracks, the default one (here the
// second) is the transcript.
func TestSubtitleTrackDefault(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigConfig{})
	dir := t.TempDir()
	first := writeFile(t, dir, "first.srt", "1\n00:00:00,500 --> 00:00:01,000\nFirst track\n")
	second := writeFile(t, dir, "second.srt", "1\n00:00:00,500 --> 00:00:01,000\nZweite Spur\n")
	for _, tt := range []struct{ ext, codec, acodec string }{{".mp4", "mov_text", "aac"}, {".mkv", "srt", "flac"}} {
		t.Run(tt.ext, func(t *testing.T) {
			out := filepath.Join(dir, "two"+tt.ext)
			ffmpeg(t, "-f", "lavfi", "-i", "testsrc=duration=2:size=160x120:rate=10", "-f", "lavfi", "-i", "sine=duration=2",
				"-i", first, "-i", second, "-map", "0:v", "-map", "1:a", "-map", "2:s", "-map", "3:s",
				"-c:v", "mpeg4", "-c:a", tt.acodec, "-c:s", tt.codec,
				"-disposition:s:0", "0", "-disposition:s:1", "default",
				"-metadata:s:s:0", "language=eng", "-metadata:s:s:1", "language=ger", out)
			doc, err := r.extract(t, out, "", extract.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if doc.Text != "Zweite Spur" || doc.Metadata.Language != "de" {
				t.Errorf("text %q, language %q; want the default track, Zweite Spur, de", doc.Text, doc.Metadata.Language)
			}
			checkSegments(t, doc)
		})
	}
}

func TestSpeech(t *testing.T) {
	t.Parallel()
	mediatest.RequireFlite(t)
	r := newRig(t, rigConfig{sphinx: true})
	dir := t.TempDir()
	for _, ext := range []string{".mp4", ".webm", ".mkv", ".wav"} {
		t.Run(ext, func(t *testing.T) {
			path := mediatest.Speech(t, dir, referenceText, ext)
			start := time.Now()
			doc, err := r.extract(t, path, "", extract.Options{})
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			md := doc.Metadata
			wer := mediatest.WER(referenceText, doc.Text)
			t.Logf("%s: WER %.1f%%, %d segments, %.2f s of audio in %s (RTF %.2f): %q",
				ext, 100*wer, len(doc.Segments), md.DurationSeconds, took.Round(time.Millisecond), took.Seconds()/md.DurationSeconds, doc.Text)
			if wer >= 0.25 {
				t.Errorf("WER %.1f%%, want under 25%%", 100*wer)
			}
			if md.Engine != "pocketsphinx" || md.Language != "en" || md.Parser != "media" {
				t.Errorf("metadata = %+v, want engine pocketsphinx, language en", md)
			}
			if md.DurationSeconds < 5 || md.DurationSeconds > 15 {
				t.Errorf("duration %.3f s, want the speech's (about 8 s)", md.DurationSeconds)
			}
			if len(doc.Segments) == 0 {
				t.Fatal("no segments")
			}
			checkSegments(t, doc)
			if last := doc.Segments[len(doc.Segments)-1]; last.EndSeconds > md.DurationSeconds+1 {
				t.Errorf("last segment ends at %.3f s, after the media (%.3f s)", last.EndSeconds, md.DurationSeconds)
			}
		})
	}
}

// TestSpeechUtterances: speech between pauses makes one segment per
// utterance, timed where it is spoken.
func TestSpeechUtterances(t *testing.T) {
	t.Parallel()
	mediatest.RequireFlite(t)
	r := newRig(t, rigConfig{sphinx: true})
	sentences := []string{
		"The quick brown fox jumps over the lazy dog",
		"Please call me tomorrow morning at the office",
		"We will meet at the station before the train leaves",
	}
	// Each sentence but the last followed by 2 s of silence.
	graph := ""
	for i, s := range sentences {
		graph += fmt.Sprintf("flite=text='%s':voice=rms", s)
		if i < len(sentences)-1 {
			graph += ",apad=pad_dur=2"
		}
		graph += fmt.Sprintf("[a%d];", i)
	}
	graph += "[a0][a1][a2]concat=n=3:v=0:a=1"
	path := filepath.Join(t.TempDir(), "pauses.mkv")
	ffmpeg(t, "-f", "lavfi", "-i", graph, "-c:a", "flac", path)
	doc, err := r.extract(t, path, "", extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkSegments(t, doc)
	if len(doc.Segments) != len(sentences) {
		t.Fatalf("%d segments %+v, want %d", len(doc.Segments), doc.Segments, len(sentences))
	}
	prevEnd := 0.0
	for i, s := range doc.Segments {
		if w := mediatest.WER(sentences[i], s.Text); w >= 0.25 {
			t.Errorf("segment %d %q: WER %.1f%% against %q", i, s.Text, 100*w, sentences[i])
		}
		// Each utterance starts after the previous one and its pause.
		if i > 0 && s.StartSeconds < prevEnd+1 {
			t.Errorf("segment %d starts at %.3f s, less than 1 s after the previous end %.3f s", i, s.StartSeconds, prevEnd)
		}
		prevEnd = s.EndSeconds
	}
	if strings.Count(doc.Text, "\n") != len(sentences)-1 {
		t.Errorf("text %q: want one utterance a line", doc.Text)
	}
}

func TestVideoOnly(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigConfig{}) // no Transcriber: none is needed
	doc, err := r.extract(t, mediatest.VideoOnly(t, t.TempDir(), 2), "", extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Text != "" || len(doc.Segments) != 0 || !hasWarning(doc, transcript.WarnNoAudio) {
		t.Errorf("doc = %+v, want no text and a no_audio warning", doc)
	}
	if !near(doc.Metadata.DurationSeconds, 2, 0.2) {
		t.Errorf("duration %.3f s, want about 2", doc.Metadata.DurationSeconds)
	}
}

// TestNoTranscriber: media without subtitles needs a speech engine. The
// MPEG-TS file, which the generic sniffer does not know, also shows that
// the parser's Sniffer brings it to the parser.
func TestNoTranscriber(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigConfig{})
	dir := t.TempDir()
	ts := filepath.Join(dir, "sine.ts")
	ffmpeg(t, "-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac", "-f", "mpegts", ts)
	for _, path := range []string{mediatest.Silent(t, dir, "silent.flac", 2*time.Second), ts} {
		if _, err := r.extract(t, path, "", extract.Options{}); !errors.Is(err, transcribe.ErrUnavailable) {
			t.Errorf("%s: err = %v, want transcribe.ErrUnavailable", filepath.Base(path), err)
		}
	}
}

func TestNoMediaVideo(t *testing.T) {
	t.Parallel()
	video := mediatest.WithSubtitles(t, t.TempDir(), "subs.mkv", twoCues, "eng", 2)
	r := newRig(t, rigConfig{noMedia: true})
	if _, err := r.extract(t, video, "", extract.Options{}); !errors.Is(err, media.ErrUnavailable) {
		t.Errorf("video: err = %v, want media.ErrUnavailable", err)
	}
}

// TestNoMediaSubtitleFiles: subtitle files never need ffmpeg.
func TestNoMediaSubtitleFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := newRig(t, rigConfig{noMedia: true})
	vtt := "WEBVTT\n\n00:00.500 --> 00:01.250\nHello <b>world</b>\n\n00:01.500 --> 00:02.750 align:start\nSecond cue\nsplit over two lines\n"
	for name, content := range map[string]string{"subs.srt": twoCues, "subs.vtt": vtt, "crlf.srt": strings.ReplaceAll("\uFEFF"+twoCues, "\n", "\r\n")} {
		doc, err := r.extract(t, writeFile(t, dir, name, content), "", extract.Options{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if doc.Text != twoCuesText || fmt.Sprint(doc.Segments) != fmt.Sprint(twoCuesSegments) {
			t.Errorf("%s: text %q, segments %+v", name, doc.Text, doc.Segments)
		}
		if md := doc.Metadata; md.Engine != transcript.EngineSubtitles || md.DurationSeconds != 2.75 {
			t.Errorf("%s: metadata %+v, want engine subtitles and the last cue's end as duration", name, md)
		}
	}
}

// TestNotMedia: playlists and concat scripts, which ffmpeg would follow
// to other files, are refused before any tool runs, whatever their name
// or declared type.
func TestNotMedia(t *testing.T) {
	t.Parallel()
	for name, rc := range map[string]rigConfig{"without ffmpeg": {noMedia: true}, "with ffmpeg": {}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, rc)
			dir := t.TempDir()
			for name, content := range map[string]string{
				"clip.mp4":  "#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n",
				"clip.mkv":  "ffconcat version 1.0\nfile /etc/passwd\n",
				"clip2.mp4": "\uFEFF#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://127.0.0.1:1/x.ts\n",
			} {
				path := writeFile(t, dir, name, content)
				if _, err := r.extract(t, path, "", extract.Options{}); !errors.Is(err, extract.ErrUnsupportedFormat) {
					t.Errorf("%s via the Extractor: err = %v, want ErrUnsupportedFormat", name, err)
				}
				if _, err := r.extract(t, path, "video/mp4", extract.Options{}); !errors.Is(err, extract.ErrUnsupportedFormat) {
					t.Errorf("%s as video/mp4 via the Extractor: err = %v, want ErrUnsupportedFormat", name, err)
				}
				_, err := r.parser.Parse(context.Background(), extract.Input{R: strings.NewReader(content), Size: int64(len(content)), MediaType: "video/mp4", Filename: name})
				if !errors.Is(err, extract.ErrUnsupportedFormat) || !errors.Is(err, media.ErrUnsupportedMedia) {
					t.Errorf("%s via Parse: err = %v, want ErrUnsupportedFormat wrapping media.ErrUnsupportedMedia", name, err)
				}
				r.assertClean(t)
			}
		})
	}
}

func TestTooLong(t *testing.T) {
	t.Parallel()
	path := mediatest.Silent(t, t.TempDir(), "long.flac", 10*time.Hour)
	r := newRig(t, rigConfig{media: media.Config{MaxDuration: time.Hour}})
	start := time.Now()
	_, err := r.extract(t, path, "", extract.Options{})
	if !errors.Is(err, extract.ErrTooLong) || !errors.Is(err, media.ErrTooLong) {
		t.Fatalf("err = %v, want ErrTooLong", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "10h0m0s") || !strings.Contains(msg, "1h0m0s") {
		t.Errorf("message %q does not say the duration and the limit", msg)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s: only a probe should have run", took)
	}
}

func TestMaxCharsAndSummary(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigConfig{})
	path := mediatest.WithSubtitles(t, t.TempDir(), "subs.mkv", twoCues, "eng", 3)
	for _, n := range []int{5, 11, 12, 20} {
		doc, err := r.extract(t, path, "", extract.Options{MaxChars: n})
		if err != nil {
			t.Fatal(err)
		}
		if doc.Text != string([]rune(twoCuesText)[:n]) || !hasWarning(doc, extract.WarnTruncated) {
			t.Errorf("MaxChars %d: text %q, warnings %+v", n, doc.Text, doc.Warnings)
		}
		checkSegments(t, doc)
		// A segment across the cap is shortened; one past it goes.
		want := []extract.Segment{twoCuesSegments[0]}
		want[0].End = min(n, 11)
		want[0].Text = want[0].Text[:want[0].End]
		if n > 12 {
			s := twoCuesSegments[1]
			s.End = n
			s.Text = s.Text[:n-s.Start]
			want = append(want, s)
		}
		if fmt.Sprint(doc.Segments) != fmt.Sprint(want) {
			t.Errorf("MaxChars %d: segments %+v, want %+v", n, doc.Segments, want)
		}
	}
	doc, err := r.extract(t, path, "", extract.Options{Mode: extract.ModeSummary})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Segments != nil {
		t.Errorf("summary %q has segments %+v", doc.Text, doc.Segments)
	}
}

func TestCompanionSubtitles(t *testing.T) {
	t.Parallel()
	mediatest.RequireFlite(t)
	r := newRig(t, rigConfig{sphinx: true})
	dir := t.TempDir()
	path := mediatest.Speech(t, dir, referenceText, ".mp4")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	in := extract.Input{R: bytes.NewReader(b), Size: int64(len(b)), MediaType: "video/mp4"}

	doc, err := withSubtitles(r.ex, in, []byte(twoCues), "")
	r.assertClean(t)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Text != twoCuesText || fmt.Sprint(doc.Segments) != fmt.Sprint(twoCuesSegments) {
		t.Errorf("text %q, segments %+v; want the uploaded subtitles", doc.Text, doc.Segments)
	}
	if md := doc.Metadata; md.Engine != transcript.EngineSubtitles || md.DurationSeconds < 5 || md.DurationSeconds > 15 {
		t.Errorf("metadata %+v, want engine subtitles and the probed duration of the speech", md)
	}
	if doc.Metadata.Parser != transcript.Name {
		t.Errorf("parser %q, want %q", doc.Metadata.Parser, transcript.Name)
	}
	sentences := "1\n00:00:00,100 --> 00:00:03,000\nThe quick brown fox jumps over the lazy dog.\n\n" +
		"2\n00:00:03,100 --> 00:00:06,000\nPlease call me tomorrow morning at the office.\n\n" +
		"3\n00:00:06,100 --> 00:00:08,000\nWe will meet at the station before the train leaves.\n"
	doc, err = withSubtitles(r.ex, in, []byte(sentences), "")
	if err != nil || doc.Metadata.Language != "en" {
		t.Errorf("English subtitles: language %q, err %v; want en detected from the text", doc.Metadata.Language, err)
	}

	if _, err := withSubtitles(r.ex, in, []byte("this is not\na subtitle file\n"), "application/x-subrip"); !errors.Is(err, extract.ErrMalformed) {
		t.Errorf("bad subtitles: err = %v, want ErrMalformed", err)
	}
	pdf := []byte("%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
	if _, err := r.parser.Parse(context.Background(), extract.Input{R: bytes.NewReader(pdf), Size: int64(len(pdf)), MediaType: "video/mp4", Companion: &extract.Companion{R: strings.NewReader(twoCues), Size: int64(len(twoCues)), MediaType: "application/x-subrip"}}); !errors.Is(err, extract.ErrUnsupportedFormat) {
		t.Errorf("subtitles for a PDF: err = %v, want ErrUnsupportedFormat", err)
	}
	// Empty but well-formed subtitles are still the transcript: an empty
	// one, not the speech.
	doc, err = withSubtitles(r.ex, in, []byte("WEBVTT\n"), "text/vtt")
	if err != nil || doc.Text != "" || doc.Metadata.Engine != transcript.EngineSubtitles {
		t.Errorf("empty subtitles: doc %+v, err %v; want an empty subtitle transcript", doc, err)
	}
	r.assertClean(t)

	// A companion that is not subtitles is ignored: the speech is read.
	doc, err = withSubtitles(r.ex, in, []byte("plain words"), "text/plain")
	if err != nil || doc.Metadata.Engine != "pocketsphinx" {
		t.Errorf("text companion: doc %+v, err %v; want the speech", doc, err)
	}
	r.assertClean(t)

	// Without ffmpeg, uploaded subtitles still make the transcript.
	bare := newRig(t, rigConfig{noMedia: true})
	doc, err = withSubtitles(bare.ex, in, []byte(twoCues), "")
	if err != nil || doc.Text != twoCuesText || doc.Metadata.DurationSeconds != 2.75 {
		t.Errorf("without ffmpeg: doc %+v, err %v", doc, err)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	mediatest.RequireFlite(t)
	path := mediatest.Speech(t, t.TempDir(), strings.Repeat(referenceText+" ", 3), ".mp4")
	// 1 ns: the deadline has passed before ffprobe starts; 300 ms:
	// ffmpeg or pocketsphinx is running (recognising 25 s of speech takes
	// seconds) and is killed.
	for _, timeout := range []time.Duration{time.Nanosecond, 300 * time.Millisecond} {
		r := newRig(t, rigConfig{sphinx: true, timeout: timeout})
		// Watch which of our tools run, to know that one was stopped.
		stop, seen := make(chan struct{}), make(chan map[string]bool, 1)
		go func() {
			names := map[string]bool{}
			for {
				for _, p := range processesWith(r.root) {
					if f := strings.Fields(p); len(f) > 2 {
						names[filepath.Base(f[2])] = true
					}
				}
				select {
				case <-stop:
					seen <- names
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
		start := time.Now()
		_, err := r.extract(t, path, "", extract.Options{})
		close(stop)
		ran := <-seen
		t.Logf("timeout %s: %v; tools seen running: %v", timeout, err, ran)
		if !errors.Is(err, extract.ErrTimeout) {
			t.Errorf("timeout %s: err = %v, want ErrTimeout", timeout, err)
		}
		if timeout > time.Millisecond && len(ran) == 0 {
			t.Errorf("timeout %s: no tool was seen running", timeout)
		}
		if took := time.Since(start); took > timeout+5*time.Second {
			t.Errorf("timeout %s: took %s", timeout, took)
		}
		r.assertClean(t)
	}
}

// fakeMedia is a Media that answers from its fields, with no tools.
type fakeMedia struct {
	info              *media.Info
	tracks            []media.Track
	probeErr, subsErr error
	audioErr          error
	audio             []byte
	audioCalls        int
}

func (f *fakeMedia) Probe(ctx context.Context, r io.ReaderAt, size int64) (*media.Info, error) {
	return f.info, f.probeErr
}

func (f *fakeMedia) Subtitles(ctx context.Context, r io.ReaderAt, size int64) ([]media.Track, error) {
	return f.tracks, f.subsErr
}

func (f *fakeMedia) ExtractAudio(ctx context.Context, r io.ReaderAt, size int64, w io.Writer) (int64, error) {
	f.audioCalls++
	if f.audioErr != nil {
		return 0, f.audioErr
	}
	n, err := w.Write(f.audio)
	return int64(n), err
}

// fakeTranscriber answers its transcript or error, after checking that
// it was given the audio fakeMedia extracted.
type fakeTranscriber struct {
	tr  *transcribe.Transcript
	err error
	got []byte
}

func (f *fakeTranscriber) Name() string { return "fake" }

func (f *fakeTranscriber) Transcribe(ctx context.Context, wav io.ReaderAt, size int64) (*transcribe.Transcript, error) {
	b, err := io.ReadAll(io.NewSectionReader(wav, 0, size))
	if err != nil {
		return nil, err
	}
	f.got = b
	return f.tr, f.err
}

// mkvHead passes media's sniffing as Matroska.
var mkvHead = append([]byte("\x1a\x45\xdf\xa3"), bytes.Repeat([]byte{0}, 60)...)

// fakeRig is a Parser over fakes in an Extractor.
func fakeRig(tb testing.TB, m *fakeMedia, tr transcribe.Transcriber) (*transcript.Parser, *extract.Extractor, string) {
	tb.Helper()
	tmp := tb.TempDir()
	cfg := transcript.Config{TempDir: tmp, Transcriber: tr}
	if m != nil {
		cfg.Media = m
	}
	p, err := transcript.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	reg := extract.NewRegistry()
	reg.MustRegister("media", p)
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	return p, ex, tmp
}

// withSubtitles extracts in with subs as its companion, an uploaded
// subtitle file of the given media type ("" sniffs it as the registry
// would).
func withSubtitles(ex *extract.Extractor, in extract.Input, subs []byte, subsType string) (*extract.Document, error) {
	if subsType == "" {
		subsType = ex.Registry().Sniff(subs, "subtitles.srt")
	}
	in.Companion = &extract.Companion{R: bytes.NewReader(subs), Size: int64(len(subs)), MediaType: subsType, Filename: "subtitles"}
	return ex.Extract(context.Background(), in, extract.Options{})
}

func extractBytes(ex *extract.Extractor, b []byte, mediaType string) (*extract.Document, error) {
	return ex.Extract(context.Background(), extract.Input{R: bytes.NewReader(b), Size: int64(len(b)), MediaType: mediaType}, extract.Options{})
}

func assertEmptyDir(tb testing.TB, dir string) {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		tb.Errorf("temp file left behind: %s", e.Name())
	}
}

func TestMediaErrors(t *testing.T) {
	t.Parallel()
	const secret = "/tmp/quarry-media-123456/input"
	tests := []struct {
		cause, want error
		msg         string // in the message, besides the kind's text
	}{
		{media.ErrUnsupportedMedia, extract.ErrUnsupportedFormat, "not audio or video"},
		{media.ErrTooLong, extract.ErrTooLong, ""},
		{media.ErrTimeout, extract.ErrTimeout, "deadline"},
		{media.ErrTooLarge, extract.ErrTooLarge, "size limit"},
		{media.ErrMalformed, extract.ErrMalformed, "cannot read"},
		{media.ErrNoAudio, extract.ErrMalformed, "no audio"},
		{media.ErrUnavailable, media.ErrUnavailable, "not installed"},
	}
	for _, tt := range tests {
		cause := fmt.Errorf("%w: ffmpeg: %s: Invalid data found when processing input", tt.cause, secret)
		if tt.cause == media.ErrTooLong {
			// Its text is kept: it says by how much (and never holds a path).
			cause = fmt.Errorf("%w: 10h0m0s is over the limit of 1h0m0s", media.ErrTooLong)
			tt.msg = ": 10h0m0s is over the limit of 1h0m0s"
		}
		for _, step := range []string{"probe", "subtitles", "audio"} {
			m := &fakeMedia{info: &media.Info{Duration: time.Second, Streams: []media.Stream{{Kind: media.KindAudio}, {Kind: media.KindSubtitle, Codec: "subrip"}}}}
			switch step {
			case "probe":
				m.probeErr = cause
			case "subtitles":
				if tt.cause == media.ErrMalformed {
					continue // an unreadable track falls back to speech: TestFakeFallbacks
				}
				m.subsErr = cause
			case "audio":
				m.info.Streams = m.info.Streams[:1]
				m.audioErr = cause
			}
			_, ex, tmp := fakeRig(t, m, &fakeTranscriber{})
			_, err := extractBytes(ex, mkvHead, "video/x-matroska")
			if !errors.Is(err, tt.want) || !errors.Is(err, tt.cause) {
				t.Errorf("%v at %s: err = %v, want it to wrap %v and the cause", tt.cause, step, err, tt.want)
				continue
			}
			var te *transcript.Error
			if !errors.As(err, &te) || te.Kind != tt.want {
				t.Errorf("%v at %s: err = %#v, want a *transcript.Error of kind %v", tt.cause, step, err, tt.want)
			}
			msg := err.Error()
			if strings.Contains(msg, secret) || strings.Contains(msg, "Invalid data") {
				t.Errorf("%v at %s: message %q shows the tool's output", tt.cause, step, msg)
			}
			if !strings.HasPrefix(msg, tt.want.Error()) || !strings.Contains(msg, tt.msg) {
				t.Errorf("%v at %s: message %q, want %q then %q", tt.cause, step, msg, tt.want, tt.msg)
			}
			assertEmptyDir(t, tmp)
		}
	}
	// Errors of no kind (a cancelled context, I/O) pass unchanged.
	other := errors.New("disk on fire")
	_, ex, _ := fakeRig(t, &fakeMedia{probeErr: other}, nil)
	if _, err := extractBytes(ex, mkvHead, "video/x-matroska"); err != other {
		t.Errorf("other: err = %v, want it unchanged", err)
	}
}

func TestTranscribeErrors(t *testing.T) {
	t.Parallel()
	const secret = "/tmp/quarry-transcribe-42/audio.wav"
	tests := []struct {
		cause, want error
	}{
		{transcribe.ErrTimeout, extract.ErrTimeout},
		{transcribe.ErrBadAudio, extract.ErrMalformed},
		{transcribe.ErrUnavailable, transcribe.ErrUnavailable},
		{transcribe.ErrUpstream, transcribe.ErrUpstream},
		{transcribe.ErrUpstreamTimeout, transcribe.ErrUpstreamTimeout},
		{transcribe.ErrRateLimited, transcribe.ErrRateLimited},
	}
	for _, tt := range tests {
		m := &fakeMedia{info: &media.Info{Streams: []media.Stream{{Kind: media.KindAudio}}}, audio: []byte("RIFF fake wav")}
		tr := &fakeTranscriber{err: fmt.Errorf("%w: pocketsphinx: %s", tt.cause, secret)}
		_, ex, tmp := fakeRig(t, m, tr)
		_, err := extractBytes(ex, mkvHead, "video/x-matroska")
		if !errors.Is(err, tt.want) || !errors.Is(err, tt.cause) {
			t.Errorf("%v: err = %v, want it to wrap %v and the cause", tt.cause, err, tt.want)
		}
		if tt.want != tt.cause && strings.Contains(err.Error(), secret) {
			t.Errorf("%v: message %q shows a temp path", tt.cause, err)
		}
		if string(tr.got) != "RIFF fake wav" {
			t.Errorf("%v: the transcriber got %q, not the extracted audio", tt.cause, tr.got)
		}
		assertEmptyDir(t, tmp)
	}
}

// TestFakeFallbacks walks the order of the sources of a transcript with
// fakes: the default track, then the first, then speech when the tracks
// are unreadable or empty.
func TestFakeFallbacks(t *testing.T) {
	t.Parallel()
	cue := func(text string) []media.Cue {
		return []media.Cue{{Start: time.Second, End: 2 * time.Second, Text: text}}
	}
	speech := &transcribe.Transcript{Engine: "fake", Language: "en-us", Segments: []transcribe.Segment{
		{Start: 0, End: 900 * time.Millisecond, Text: " hello  world "},
		{Start: time.Second, End: time.Second, Text: "   "}, // nothing: dropped
		{Start: 1100 * time.Millisecond, End: 2 * time.Second, Text: "good\nbye"},
	}}
	subs := media.Stream{Kind: media.KindSubtitle, Codec: "subrip"}
	audio := media.Stream{Kind: media.KindAudio}
	tests := []struct {
		name     string
		m        fakeMedia
		tr       *transcribe.Transcript
		text     string
		engine   string
		lang     string
		warnings []string
	}{
		{"default track", fakeMedia{
			info:   &media.Info{Streams: []media.Stream{audio, subs, subs, subs}},
			tracks: []media.Track{{Cues: nil, Default: true}, {Cues: cue("first"), Language: "fre"}, {Cues: cue("second"), Default: true, Language: "ita"}},
		}, nil, "second", "subtitles", "it", nil},
		{"first track", fakeMedia{
			info:   &media.Info{Streams: []media.Stream{subs, subs}},
			tracks: []media.Track{{Cues: cue("first"), Language: "spa"}, {Cues: cue("second")}},
		}, nil, "first", "subtitles", "es", nil},
		{"empty tracks", fakeMedia{
			info:   &media.Info{Streams: []media.Stream{audio, subs}},
			tracks: []media.Track{{Cues: nil}},
		}, speech, "hello world\ngood bye", "fake", "en", nil},
		{"unreadable track", fakeMedia{
			info:    &media.Info{Streams: []media.Stream{audio, subs}},
			subsErr: fmt.Errorf("media: subtitle stream 1: %w: no subtitle cue found", media.ErrMalformed),
		}, speech, "hello world\ngood bye", "fake", "en", []string{transcript.WarnSubtitlesUnreadable}},
		{"no speech", fakeMedia{info: &media.Info{Streams: []media.Stream{audio}}},
			&transcribe.Transcript{Engine: "fake"}, "", "fake", "", []string{transcript.WarnNoSpeech}},
		{"no audio, unreadable track", fakeMedia{
			info:    &media.Info{Streams: []media.Stream{subs}},
			subsErr: media.ErrMalformed,
		}, nil, "", "subtitles", "", []string{transcript.WarnSubtitlesUnreadable, transcript.WarnNoAudio}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.m
			m.info.Duration = 3 * time.Second
			var tr transcribe.Transcriber
			if tt.tr != nil {
				tr = &fakeTranscriber{tr: tt.tr}
			}
			_, ex, tmp := fakeRig(t, &m, tr)
			doc, err := extractBytes(ex, mkvHead, "video/x-matroska")
			if err != nil {
				t.Fatal(err)
			}
			if doc.Text != tt.text || doc.Metadata.Engine != tt.engine || doc.Metadata.Language != tt.lang || doc.Metadata.DurationSeconds != 3 {
				t.Errorf("text %q, metadata %+v; want %q, engine %s, language %q, 3 s", doc.Text, doc.Metadata, tt.text, tt.engine, tt.lang)
			}
			var codes []string
			for _, w := range doc.Warnings {
				codes = append(codes, w.Code)
			}
			if fmt.Sprint(codes) != fmt.Sprint(tt.warnings) {
				t.Errorf("warnings %v, want %v", codes, tt.warnings)
			}
			checkSegments(t, doc)
			if m.audioCalls > 0 && tt.tr == nil {
				t.Errorf("audio extracted %d times, though the transcript came from subtitles", m.audioCalls)
			}
			assertEmptyDir(t, tmp)
		})
	}
}

// TestSegmentsSurviveNormalisation: text the Extractor cleans (NUL,
// invalid UTF-8, CR) does not shift the segments of the text after it.
func TestSegmentsSurviveNormalisation(t *testing.T) {
	t.Parallel()
	tr := &transcribe.Transcript{Engine: "fake", Segments: []transcribe.Segment{
		{Start: 0, End: time.Second, Text: "nul\x00byte"},
		{Start: time.Second, End: 2 * time.Second, Text: "bad \xff\xfe utf8"},
		{Start: 2 * time.Second, End: 3 * time.Second, Text: "carriage\rreturn"},
		{Start: 3 * time.Second, End: 4 * time.Second, Text: "last words"},
	}}
	m := &fakeMedia{info: &media.Info{Duration: 4 * time.Second, Streams: []media.Stream{{Kind: media.KindAudio}}}}
	p, ex, _ := fakeRig(t, m, &fakeTranscriber{tr: tr})
	direct, err := p.Parse(context.Background(), extract.Input{R: bytes.NewReader(mkvHead), Size: int64(len(mkvHead)), MediaType: "video/x-matroska"})
	if err != nil {
		t.Fatal(err)
	}
	checkSegments(t, direct)
	doc, err := extractBytes(ex, mkvHead, "video/x-matroska")
	if err != nil {
		t.Fatal(err)
	}
	checkSegments(t, doc)
	if len(doc.Segments) != 4 || doc.Segments[3].Text != "last words" || doc.Text != direct.Text {
		t.Errorf("Extractor: text %q, segments %+v; Parse: text %q", doc.Text, doc.Segments, direct.Text)
	}
}

func TestSniff(t *testing.T) {
	t.Parallel()
	p, err := transcript.New(transcript.Config{})
	if err != nil {
		t.Fatal(err)
	}
	const srt = "application/x-subrip"
	tests := []struct{ head, want string }{
		{"1\n00:00:01,000 --> 00:00:02,000\nHello\n", srt},
		{"\uFEFF1\n00:00:01,000 --> 00:00:02,000\nHello\n", srt},
		{"1\r\n00:00:01,000 --> 00:00:02,000\r\nHello\r\n", srt},
		{"\n\n\r\n  1\n00:00:01,000 --> 00:00:02,000\n", srt},
		{"\uFEFF\r\n42\r\n00:00:01.000 --> 00:00:02.000\r\n", srt},
		{"1\n00:00:01,000 --> 00:00:02,000", srt}, // head cut after the timing
		{"1\nhello", ""},
		{"1\nhello\n00:00:01,000 --> 00:00:02,000\n", ""},
		{"hello\n00:00:01,000 --> 00:00:02,000\n", ""},
		{"1\n", ""},
		{"", ""},
		{"1a\n00:00:01,000 --> 00:00:02,000\n", ""},
		{"1\n00:01 --> 00:02\n", ""}, // too few colons for SubRip
		{"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHello\n", ""},
	}
	// MPEG-TS: sync bytes 188 bytes apart in binary content, but not in
	// text that happens to have a G there.
	ts := make([]byte, 3*188)
	ts[0], ts[188], ts[376] = 0x47, 0x47, 0x47
	text := bytes.Repeat([]byte("x"), 3*188)
	text[0], text[188], text[376] = 'G', 'G', 'G'
	tests = append(tests, struct{ head, want string }{string(ts), "video/mp2t"}, struct{ head, want string }{string(text), ""},
		struct{ head, want string }{string(ts[:2*188]), ""})
	for _, tt := range tests {
		if got := p.Sniff([]byte(tt.head)); got != tt.want {
			t.Errorf("Sniff(%q) = %q, want %q", tt.head[:min(len(tt.head), 40)], got, tt.want)
		}
	}
	// Registered, the Sniffer makes SubRip out of what the generic
	// sniffer calls plain text; WebVTT the generic sniffer knows.
	reg := extract.NewRegistry()
	reg.MustRegister("media", p)
	for head, want := range map[string]string{
		twoCues: srt,
		"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nHello\n": "text/vtt",
		"1\nhello\n": "text/plain",
	} {
		if got := extract.BaseType(reg.Sniff([]byte(head), "")); got != want {
			t.Errorf("Registry.Sniff(%q) = %q, want %q", head, got, want)
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	if _, err := transcript.New(transcript.Config{Timeout: -1}); err == nil || !strings.Contains(err.Error(), "Config.Timeout") {
		t.Errorf("negative timeout: err = %v", err)
	}
	if _, err := transcript.New(transcript.Config{TempDir: "/nonexistent/quarry"}); err == nil || !strings.Contains(err.Error(), "Config.TempDir") {
		t.Errorf("missing temp dir: err = %v", err)
	}
	file := writeFile(t, t.TempDir(), "file", "x")
	if _, err := transcript.New(transcript.Config{TempDir: file}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("temp dir a file: err = %v", err)
	}
	p, err := transcript.New(transcript.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if p.ToolTimeout() != transcript.DefaultTimeout {
		t.Errorf("ToolTimeout = %s, want the default %s", p.ToolTimeout(), transcript.DefaultTimeout)
	}
	var _ extract.ExternalTool = p
	var _ extract.Sniffer = p
	reg := extract.NewRegistry()
	if err := reg.Register("media", p); err != nil {
		t.Errorf("Register: %v", err)
	}
}

func TestSubtitleFileLimits(t *testing.T) {
	t.Parallel()
	_, ex, _ := fakeRig(t, nil, nil)
	big := bytes.Repeat([]byte("x"), transcript.MaxSubtitleBytes+1)
	if _, err := extractBytes(ex, big, "text/vtt"); !errors.Is(err, extract.ErrTooLarge) {
		t.Errorf("big file: err = %v, want ErrTooLarge", err)
	}
	if _, err := withSubtitles(ex, extract.Input{R: bytes.NewReader(mkvHead), Size: int64(len(mkvHead)), MediaType: "video/x-matroska"}, big, "text/vtt"); !errors.Is(err, extract.ErrTooLarge) {
		t.Errorf("big upload: err = %v, want ErrTooLarge", err)
	}
	if _, err := extractBytes(ex, []byte("just some text\n"), "application/x-subrip"); !errors.Is(err, extract.ErrMalformed) {
		t.Errorf("text: err = %v, want ErrMalformed", err)
	}
}

// BenchmarkTranscribeSpeech reports the real-time factor (seconds of
// work per second of audio) of a transcript by pocketsphinx of about 10 s
// of speech in an MP4, probing and audio extraction included.
func BenchmarkTranscribeSpeech(b *testing.B) {
	mediatest.RequireFlite(b)
	path := mediatest.Speech(b, b.TempDir(), referenceText+" Thank you for listening.", ".mp4")
	r := newRig(b, rigConfig{sphinx: true})
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var audio float64
	start := time.Now()
	for b.Loop() {
		doc, err := r.ex.Extract(context.Background(), extract.Input{R: bytes.NewReader(data), Size: int64(len(data))}, extract.Options{})
		if err != nil {
			b.Fatal(err)
		}
		audio = doc.Metadata.DurationSeconds
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N)/audio, "rtf")
	b.ReportMetric(audio, "audio-s")
}
