package main

// Audio and video through the binary's own code paths: `quarry extract`
// on a speech MP4, POST /api/v1/video-to-text against `quarry serve`, and
// the validation of the speech recognition settings. The tools are skipped
// cleanly when absent (mediatest), and required when
// QUARRY_REQUIRE_TOOLS=1.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quarryhq/quarry/internal/mediatest"
)

// videoSpeech is what flite says in the speech fixture (about 5 s).
const videoSpeech = "The quick brown fox jumps over the lazy dog. Please call me tomorrow morning at the office."

// videoSRT is a SubRip file of two cues; videoCuesText its transcript.
const videoSRT = "1\n00:00:00,500 --> 00:00:01,250\nHello <i>world</i>\n\n" +
	"2\n00:00:01,500 --> 00:00:02,750\nSecond cue\nsplit over two lines\n"

const videoCuesText = "Hello world\nSecond cue split over two lines"

// videoTools skips the test (or fails it under QUARRY_REQUIRE_TOOLS=1)
// without ffmpeg, its flite filter or pocketsphinx.
func videoTools(t *testing.T) {
	t.Helper()
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	mediatest.RequireFlite(t)
	mediatest.RequirePocketsphinx(t)
}

// videoTempDir points TMPDIR, where media, the transcript parser and
// pocketsphinx make their temp files by default, at a new directory,
// checked empty at the end of the test. It returns a directory for the
// test's own files too (outside the checked one).
func videoTempDir(t *testing.T) (files string) {
	t.Helper()
	files = t.TempDir() // made under the real TMPDIR, before it changes
	tmp := filepath.Join(files, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	t.Cleanup(func() {
		entries, err := os.ReadDir(tmp)
		if err != nil {
			t.Error(err)
		}
		for _, e := range entries {
			t.Errorf("left in TMPDIR: %s", e.Name())
		}
	})
	return files
}

// videoWrite writes content to dir/name and returns its path.
func videoWrite(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestVideoExtractCommand: `quarry extract` prints the transcript of a
// speech MP4 (pocketsphinx), the cues of an .srt, and refuses a playlist
// named clip.mp4 with unsupported_media_type.
func TestVideoExtractCommand(t *testing.T) {
	videoTools(t)
	dir := videoTempDir(t)
	speech := mediatest.Speech(t, dir, videoSpeech, ".mp4")
	e := env(map[string]string{"QUARRY_TRANSCRIBER": "pocketsphinx"})
	ctx := context.Background()

	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"extract", speech}, nil, &out, &errOut, e); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	wer := mediatest.WER(videoSpeech, out.String())
	t.Logf("WER %.1f%%: %q", 100*wer, out.String())
	if wer >= 0.25 {
		t.Errorf("WER %.1f%%, want under 25%%", 100*wer)
	}

	out.Reset()
	if code := run(ctx, []string{"extract", "--json", speech}, nil, &out, &errOut, e); code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errOut.String())
	}
	var res extractResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, out.String())
	}
	if md := res.Metadata; md.Parser != "media" || md.Engine != "pocketsphinx" || md.Language != "en" || md.DurationSeconds < 3 || md.DurationSeconds > 10 {
		t.Errorf("--json metadata = %+v, want parser media, engine pocketsphinx, en, about 5 s", md)
	}
	if mediatest.WER(videoSpeech, res.Text) >= 0.25 || res.Mode != "text" {
		t.Errorf("--json text %q, mode %q", res.Text, res.Mode)
	}

	out.Reset()
	srt := videoWrite(t, dir, "subs.srt", videoSRT)
	if code := run(ctx, []string{"extract", srt}, nil, &out, &errOut, e); code != 0 || out.String() != videoCuesText+"\n" {
		t.Errorf("extract subs.srt: exit %d, output %q, want %q; stderr %s", code, out.String(), videoCuesText+"\n", errOut.String())
	}

	out.Reset()
	errOut.Reset()
	playlist := videoWrite(t, dir, "clip.mp4", "#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n#EXTINF:1,\nhttp://127.0.0.1:9/seg.ts\n")
	code := run(ctx, []string{"extract", playlist}, nil, &out, &errOut, e)
	if code != 1 || !strings.Contains(errOut.String(), "clip.mp4: unsupported_media_type:") || strings.Contains(out.String()+errOut.String(), "root:") {
		t.Errorf("extract of a playlist named clip.mp4: exit %d, stdout %q, stderr %q; want exit 1 and unsupported_media_type", code, out.String(), errOut.String())
	}
}

// TestVideoExtractCommandEngines: QUARRY_TRANSCRIBER=off answers
// dependency_unavailable for speech without subtitles; whisper sends the
// audio to QUARRY_WHISPER_URL and prints its text.
func TestVideoExtractCommandEngines(t *testing.T) {
	mediatest.RequireTools(t, "ffmpeg", "ffprobe")
	mediatest.RequireFlite(t)
	dir := videoTempDir(t)
	speech := mediatest.Speech(t, dir, "Please call me tomorrow.", ".mp4")
	ctx := context.Background()

	var out, errOut bytes.Buffer
	code := run(ctx, []string{"extract", speech}, nil, &out, &errOut, env(map[string]string{"QUARRY_TRANSCRIBER": "off"}))
	if code != 1 || !strings.Contains(errOut.String(), "dependency_unavailable") || !strings.Contains(errOut.String(), "QUARRY_TRANSCRIBER") {
		t.Errorf("QUARRY_TRANSCRIBER=off: exit %d, stderr %q; want dependency_unavailable naming QUARRY_TRANSCRIBER", code, errOut.String())
	}

	var model, format string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/audio/transcriptions" || r.Header.Get("Authorization") != "Bearer sk-video" {
			t.Errorf("whisper got %s %s, Authorization %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		model, format = r.FormValue("model"), r.FormValue("response_format")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"language":"en","text":"Whisper heard this.","segments":[{"start":0.2,"end":1.4,"text":" Whisper heard this."}]}`)
	}))
	defer fake.Close()
	out.Reset()
	errOut.Reset()
	code = run(ctx, []string{"extract", "--json", speech}, nil, &out, &errOut, env(map[string]string{
		"QUARRY_TRANSCRIBER": "whisper", "QUARRY_WHISPER_URL": fake.URL + "/v1", "QUARRY_WHISPER_MODEL": "whisper-video", "QUARRY_WHISPER_API_KEY": "sk-video",
	}))
	var res extractResult
	if code != 0 || json.Unmarshal(out.Bytes(), &res) != nil {
		t.Fatalf("whisper: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	if res.Text != "Whisper heard this." || res.Metadata.Engine != "whisper" || model != "whisper-video" || format != "verbose_json" {
		t.Errorf("whisper: text %q, metadata %+v, model %q, response_format %q", res.Text, res.Metadata, model, format)
	}
}

// TestVideoServe: POST /api/v1/video-to-text against `quarry serve` as
// main runs it, with /health reporting the engines.
func TestVideoServe(t *testing.T) {
	videoTools(t)
	dir := videoTempDir(t)
	speech, err := os.ReadFile(mediatest.Speech(t, dir, videoSpeech, ".mp4"))
	if err != nil {
		t.Fatal(err)
	}
	e := env(map[string]string{"QUARRY_ADDR": "127.0.0.1:0", "QUARRY_DATA_DIR": filepath.Join(dir, "data"), "QUARRY_TRANSCRIBER": "pocketsphinx"})
	srv := startServe(t, e)
	base := srv.base

	body, ctype := multipartFile("speech.mp4", speech)
	resp, err := http.Post(base+"/api/v1/video-to-text", ctype, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		Success bool
		Data    struct {
			SourceID        string  `json:"source_id"`
			Text            string  `json:"text"`
			Engine          string  `json:"engine"`
			Language        string  `json:"language"`
			DurationSeconds float64 `json:"duration_seconds"`
			Segments        []struct {
				Text       string
				Start, End int
			} `json:"segments"`
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&tr)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !tr.Success {
		t.Fatalf("video-to-text: %d %+v %v", resp.StatusCode, tr, err)
	}
	if d := tr.Data; d.Engine != "pocketsphinx" || d.Language != "en" || d.SourceID == "" || len(d.Segments) == 0 || d.DurationSeconds <= 0 || mediatest.WER(videoSpeech, d.Text) >= 0.25 {
		t.Errorf("transcript = %+v", d)
	}

	resp, err = http.Get(base + "/api/v1/health")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Data struct {
			Status  string
			Engines map[string]string
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || h.Data.Status != "ok" ||
		h.Data.Engines["ffmpeg"] != "ok" || h.Data.Engines["transcriber"] != "pocketsphinx" {
		t.Errorf("health: %d %+v %v, want engines ffmpeg ok and transcriber pocketsphinx", resp.StatusCode, h.Data, err)
	}
	// Stop the server (and its parser workers) before TMPDIR is checked.
	if code := srv.stop(); code != 0 {
		t.Errorf("serve exited %d:\n%s", code, srv.logs.String())
	}
}

// TestVideoConfig: the speech recognition and media settings are
// validated, naming the setting, by the configuration and by the commands.
func TestVideoConfig(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"QUARRY_TRANSCRIBER": "bogus"}, "QUARRY_TRANSCRIBER"},
		{map[string]string{"QUARRY_TRANSCRIBER": "whisper"}, "QUARRY_WHISPER_URL"},
		{map[string]string{"QUARRY_TRANSCRIBER": "whisper", "QUARRY_WHISPER_URL": "ftp://127.0.0.1/v1"}, "QUARRY_WHISPER_URL"},
		{map[string]string{"QUARRY_WHISPER_URL": "not a url"}, "QUARRY_WHISPER_URL"},
		{map[string]string{"QUARRY_MEDIA_TIMEOUT": "-1s"}, "QUARRY_MEDIA_TIMEOUT"},
		{map[string]string{"QUARRY_MEDIA_TIMEOUT": "soon"}, "QUARRY_MEDIA_TIMEOUT"},
		{map[string]string{"QUARRY_MEDIA_MAX_DURATION": "0s"}, "QUARRY_MEDIA_MAX_DURATION"},
	}
	for _, c := range cases {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		if _, _, err := loadConfig(fs, nil, env(c.env)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want it to name %s", c.env, err, c.want)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg, _, err := loadConfig(fs, nil, env(map[string]string{"QUARRY_TRANSCRIBER": "WHISPER", "QUARRY_WHISPER_URL": "http://127.0.0.1:8000/v1"}))
	if err != nil || cfg.WhisperURL != "http://127.0.0.1:8000/v1" || cfg.MediaTimeout != 10*time.Minute || cfg.MediaMaxDuration != time.Hour {
		t.Errorf("whisper config: %+v, %v", cfg, err)
	}

	// The commands refuse to start, naming the setting.
	srt := videoWrite(t, t.TempDir(), "subs.srt", videoSRT)
	for _, c := range cases[:2] {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"extract", srt}, nil, &out, &errOut, env(c.env)); code != 2 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("extract with %v: exit %d, stderr %q; want 2 naming %s", c.env, code, errOut.String(), c.want)
		}
		e := map[string]string{"QUARRY_ADDR": "127.0.0.1:0", "QUARRY_DATA_DIR": t.TempDir()}
		for k, v := range c.env {
			e[k] = v
		}
		errOut.Reset()
		if code := run(context.Background(), []string{"serve"}, nil, &out, &errOut, env(e)); code == 0 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("serve with %v: exit %d, stderr %q; want a failure naming %s", c.env, code, errOut.String(), c.want)
		}
	}
}
