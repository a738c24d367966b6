package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// requireTools skips the test when ffmpeg is absent, or fails it when
// QUARRY_REQUIRE_TOOLS=1 (CI, where .ci/run installed ffmpeg).
func requireTools(tb testing.TB) {
	tb.Helper()
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("QUARRY_REQUIRE_TOOLS") == "1" {
				tb.Fatalf("%s is required (QUARRY_REQUIRE_TOOLS=1) but missing: %v", bin, err)
			}
			tb.Skipf("skipping: %s is not installed (install the ffmpeg package; set QUARRY_REQUIRE_TOOLS=1 to fail instead)", bin)
		}
	}
}

type fixtureSet struct {
	dir                          string
	mp4, webm, mkv, long, clip10 string
	videoCodec                   string
	err                          error
}

var (
	fixOnce sync.Once
	fix     fixtureSet
)

const testSRT = "1\n00:00:00,500 --> 00:00:01,200\nHello world\n\n2\n00:00:01,300 --> 00:00:01,900\nSecond line\nwith two lines\n"

func encoders() string {
	out, _ := exec.Command("ffmpeg", "-hide_banner", "-encoders").Output()
	return string(out)
}

func hasEncoder(list, name string) bool {
	for line := range strings.SplitSeq(list, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[1] == name {
			return true
		}
	}
	return false
}

func ffmpegRun(args ...string) error {
	cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-nostdin", "-v", "error", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ffmpeg %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// fixtures generates the test media once per test binary.
func fixtures(tb testing.TB) *fixtureSet {
	tb.Helper()
	requireTools(tb)
	fixOnce.Do(func() {
		dir, err := os.MkdirTemp("", "quarry-media-fixtures-")
		if err != nil {
			fix.err = err
			return
		}
		fix.dir = dir
		enc := encoders()
		vcodec := []string{"-c:v", "mpeg4"}
		fix.videoCodec = "mpeg4"
		if hasEncoder(enc, "libx264") {
			vcodec = []string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"}
			fix.videoCodec = "h264"
		}
		webmAudio := "libvorbis"
		if !hasEncoder(enc, webmAudio) {
			webmAudio = "libopus"
		}
		src := func(sec int) []string {
			return []string{
				"-f", "lavfi", "-i", fmt.Sprintf("testsrc=duration=%d:size=160x120:rate=10", sec),
				"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:duration=%d", sec),
			}
		}
		srt := filepath.Join(dir, "subs.srt")
		if fix.err = os.WriteFile(srt, []byte(testSRT), 0o600); fix.err != nil {
			return
		}
		fix.mp4 = filepath.Join(dir, "clip.mp4")
		fix.webm = filepath.Join(dir, "clip.webm")
		fix.mkv = filepath.Join(dir, "clip.mkv")
		fix.long = filepath.Join(dir, "long.mkv")
		fix.clip10 = filepath.Join(dir, "clip10.mp4")
		steps := [][]string{
			append(append(src(2), vcodec...), "-c:a", "aac", "-shortest", fix.mp4),
			append(src(2), "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-c:a", webmAudio, "-shortest", fix.webm),
			append(append(append(src(2), "-i", srt, "-i", srt, "-map", "0:v", "-map", "1:a", "-map", "2:s", "-map", "3:s"), vcodec...),
				"-c:a", "flac", "-c:s", "srt", "-metadata:s:s:0", "language=eng", "-metadata:s:s:1", "language=fre", fix.mkv),
			{"-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "5", "-c:a", "flac", fix.long},
			append(append(src(10), vcodec...), "-c:a", "aac", "-shortest", fix.clip10),
		}
		for _, s := range steps {
			if fix.err = ffmpegRun(s...); fix.err != nil {
				return
			}
		}
	})
	if fix.err != nil {
		tb.Fatalf("generating fixtures: %v", fix.err)
	}
	return &fix
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fix.dir != "" {
		_ = os.RemoveAll(fix.dir)
	}
	os.Exit(code)
}

// newTools returns Tools whose temp dir is private to the test, and
// checks at the end that every call removed its temp files.
func newTools(tb testing.TB, cfg Config) *Tools {
	tb.Helper()
	if cfg.TempDir == "" {
		cfg.TempDir = tb.TempDir()
	}
	tools, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { assertEmpty(tb, cfg.TempDir) })
	return tools
}

func assertEmpty(tb testing.TB, dir string) {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Error(err)
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "marker-") { // the T26 test's own files
			tb.Errorf("temp file left behind: %s", filepath.Join(dir, e.Name()))
		}
	}
}

func open(tb testing.TB, path string) *bytes.Reader {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.NewReader(b)
}

func TestNewConfig(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{FFmpeg: "/nonexistent/ffmpeg"}); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "Config.FFmpeg") {
		t.Errorf("missing ffmpeg: err = %v, want ErrUnavailable naming Config.FFmpeg", err)
	}
	if _, err := New(Config{FFprobe: "no-such-ffprobe-quarry"}); err != nil && !errors.Is(err, ErrUnavailable) {
		t.Errorf("missing ffprobe: err = %v, want ErrUnavailable", err)
	}
	for field, cfg := range map[string]Config{
		"Config.MaxDuration":    {MaxDuration: -1},
		"Config.Timeout":        {Timeout: -1},
		"Config.MaxOutputBytes": {MaxOutputBytes: -1},
		"Config.TempDir":        {TempDir: "/nonexistent/dir"},
	} {
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: err = %v, want one naming the field", field, err)
		}
	}
}

func TestSniff(t *testing.T) {
	t.Parallel()
	ts := make([]byte, 188*3)
	ts[0], ts[188], ts[376] = 0x47, 0x47, 0x47
	id3flac := append([]byte("ID3\x04\x00\x00\x00\x00\x00\x02ab"), []byte("fLaC....")...)
	tests := []struct {
		in   []byte
		want Format
	}{
		{[]byte("\x00\x00\x00\x18ftypmp42"), FormatMOV},
		{[]byte("\x1a\x45\xdf\xa3\x01"), FormatMatroska},
		{[]byte("OggS\x00\x02"), FormatOgg},
		{[]byte("RIFF\x24\x00\x00\x00WAVEfmt "), FormatWAV},
		{[]byte("RIFF\x24\x00\x00\x00AVI LIST"), FormatAVI},
		{[]byte("fLaC\x00\x00"), FormatFLAC},
		{[]byte("\xff\xfb\x90\x64\x00"), FormatMP3},
		{[]byte("ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x64"), FormatMP3},
		{id3flac, FormatFLAC},
		{ts, FormatMPEGTS},
	}
	for _, tt := range tests {
		got, err := Sniff(bytes.NewReader(tt.in), int64(len(tt.in)))
		if err != nil || got != tt.want {
			t.Errorf("Sniff(%q) = %q, %v; want %q", tt.in[:min(len(tt.in), 12)], got, err, tt.want)
		}
	}
	for _, in := range []string{"#EXTM3U\n", "\ufeff#EXTM3U\n", "ffconcat version 1.0\n", "v=0\no=- 0 0 IN IP4 127.0.0.1\n", "hello", "\xff\xf1\x50\x80"} {
		if _, err := Sniff(strings.NewReader(in), int64(len(in))); !errors.Is(err, ErrUnsupportedMedia) {
			t.Errorf("Sniff(%q): err = %v, want ErrUnsupportedMedia", in, err)
		}
	}
}

func TestProbe(t *testing.T) {
	t.Parallel()
	f := fixtures(t)
	tools := newTools(t, Config{})
	tests := []struct {
		path   string
		format Format
		codecs []string
	}{
		{f.mp4, FormatMOV, []string{f.videoCodec, "aac"}},
		{f.webm, FormatMatroska, []string{"vp8", ""}},
		{f.mkv, FormatMatroska, []string{f.videoCodec, "flac", "subrip", "subrip"}},
	}
	for _, tt := range tests {
		r := open(t, tt.path)
		info, err := tools.Probe(context.Background(), r, r.Size())
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(tt.path), err)
		}
		if info.Format != tt.format {
			t.Errorf("%s: format %q, want %q", filepath.Base(tt.path), info.Format, tt.format)
		}
		if info.Duration < 1900*time.Millisecond || info.Duration > 2200*time.Millisecond {
			t.Errorf("%s: duration %s, want about 2s", filepath.Base(tt.path), info.Duration)
		}
		if len(info.Streams) != len(tt.codecs) {
			t.Fatalf("%s: streams %+v, want codecs %v", filepath.Base(tt.path), info.Streams, tt.codecs)
		}
		for i, c := range tt.codecs {
			if c != "" && info.Streams[i].Codec != c {
				t.Errorf("%s: stream %d codec %q, want %q", filepath.Base(tt.path), i, info.Streams[i].Codec, c)
			}
		}
		if !info.HasAudio() {
			t.Errorf("%s: no audio stream found", filepath.Base(tt.path))
		}
	}
}

func TestSubtitlesFromMKV(t *testing.T) {
	t.Parallel()
	f := fixtures(t)
	tools := newTools(t, Config{})
	r := open(t, f.mkv)
	tracks, err := tools.Subtitles(context.Background(), r, r.Size())
	if err != nil {
		t.Fatal(err)
	}
	want := []Cue{
		{ms(500), ms(1200), "Hello world"},
		{ms(1300), ms(1900), "Second line\nwith two lines"},
	}
	if len(tracks) != 2 {
		t.Fatalf("got %d tracks, want 2", len(tracks))
	}
	for i, lang := range []string{"eng", "fre"} {
		tr := tracks[i]
		if tr.Language != lang || tr.Codec != "subrip" || !strings.HasPrefix(tr.VTT, "WEBVTT") {
			t.Errorf("track %d: lang %q codec %q VTT %q", i, tr.Language, tr.Codec, tr.VTT)
		}
		if fmt.Sprint(tr.Cues) != fmt.Sprint(want) {
			t.Errorf("track %d cues:\n got %q\nwant %q", i, tr.Cues, want)
		}
	}
	// No subtitles: no track, no error.
	r = open(t, f.mp4)
	if tracks, err := tools.Subtitles(context.Background(), r, r.Size()); err != nil || len(tracks) != 0 {
		t.Errorf("mp4 without subtitles: %v, %v", tracks, err)
	}
}

// checkWAV reads the RIFF header in Go: PCM, mono, 16 kHz, 16 bits, and
// returns the duration of the data chunk.
func checkWAV(t *testing.T, b []byte) time.Duration {
	t.Helper()
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("not a RIFF/WAVE file: %q", b[:min(len(b), 12)])
	}
	if got := binary.LittleEndian.Uint32(b[4:]); int(got) != len(b)-8 {
		t.Errorf("RIFF size %d, want %d", got, len(b)-8)
	}
	var fmtOK bool
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8:]
		switch id {
		case "fmt ":
			format, ch := binary.LittleEndian.Uint16(body), binary.LittleEndian.Uint16(body[2:])
			rate, bits := binary.LittleEndian.Uint32(body[4:]), binary.LittleEndian.Uint16(body[14:])
			if format != 1 || ch != 1 || rate != 16000 || bits != 16 {
				t.Fatalf("fmt: format %d channels %d rate %d bits %d; want PCM mono 16000 16", format, ch, rate, bits)
			}
			fmtOK = true
		case "data":
			if !fmtOK {
				t.Fatal("data chunk before fmt chunk")
			}
			if size != len(body) {
				t.Errorf("data size %d, want %d (header not fixed up)", size, len(body))
			}
			return time.Duration(size/2) * time.Second / 16000
		}
		off += 8 + size + size%2
	}
	t.Fatal("no data chunk")
	return 0
}

func TestExtractAudio(t *testing.T) {
	t.Parallel()
	f := fixtures(t)
	tools := newTools(t, Config{})
	for _, path := range []string{f.mp4, f.webm, f.mkv} {
		t.Run(filepath.Ext(path), func(t *testing.T) {
			r := open(t, path)
			var out bytes.Buffer
			n, err := tools.ExtractAudio(context.Background(), r, r.Size(), &out)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(out.Len()) {
				t.Errorf("returned %d, wrote %d", n, out.Len())
			}
			if d := checkWAV(t, out.Bytes()); d < 1900*time.Millisecond || d > 2200*time.Millisecond {
				t.Errorf("audio lasts %s, want about 2s", d)
			}
		})
	}
}

func TestMaxDuration(t *testing.T) {
	t.Parallel()
	f := fixtures(t)
	tools := newTools(t, Config{MaxDuration: 2 * time.Second})
	r := open(t, f.long) // 5 s
	if _, err := tools.Probe(context.Background(), r, r.Size()); !errors.Is(err, ErrTooLong) {
		t.Errorf("Probe: err = %v, want ErrTooLong", err)
	}
	if _, err := tools.ExtractAudio(context.Background(), r, r.Size(), &bytes.Buffer{}); !errors.Is(err, ErrTooLong) {
		t.Errorf("ExtractAudio: err = %v, want ErrTooLong", err)
	}
	if _, err := tools.Subtitles(context.Background(), r, r.Size()); !errors.Is(err, ErrTooLong) {
		t.Errorf("Subtitles: err = %v, want ErrTooLong", err)
	}
}

// canary is a loopback server that must never be contacted.
func canary(t *testing.T) (url string, hits *atomic.Int64) {
	hits = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Write([]byte("\x47"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, hits
}

// T25: an upload named .mp4 that is a playlist or an ffconcat script.
func TestT25PlaylistRefused(t *testing.T) {
	t.Parallel()
	requireTools(t)
	url, hits := canary(t)
	tools := newTools(t, Config{})
	inputs := map[string]string{
		"hls":      "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXTINF:10,\n" + url + "/seg.ts\n#EXT-X-ENDLIST\n",
		"ffconcat": "ffconcat version 1.0\nfile /etc/passwd\nfile '" + url + "/seg.ts'\n",
	}
	for name, in := range inputs {
		r := strings.NewReader(in)
		ctx := context.Background()
		if _, err := tools.Probe(ctx, r, r.Size()); !errors.Is(err, ErrUnsupportedMedia) {
			t.Errorf("%s: Probe err = %v, want ErrUnsupportedMedia", name, err)
		}
		var out bytes.Buffer
		if _, err := tools.ExtractAudio(ctx, r, r.Size(), &out); !errors.Is(err, ErrUnsupportedMedia) {
			t.Errorf("%s: ExtractAudio err = %v, want ErrUnsupportedMedia", name, err)
		}
		if _, err := tools.Subtitles(ctx, r, r.Size()); !errors.Is(err, ErrUnsupportedMedia) {
			t.Errorf("%s: Subtitles err = %v, want ErrUnsupportedMedia", name, err)
		}
		if bytes.Contains(out.Bytes(), []byte("root:")) {
			t.Errorf("%s: passwd content in the output", name)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("canary hit %d times, want 0", n)
	}
}

// T25 in depth: every call reads only our own file, through the file
// protocol alone, with the demuxer forced (and MOV's external data
// references off); and even when the sniffing is bypassed and ffprobe is
// forced to read a playlist with the hls demuxer, nothing reaches the
// network. (ffmpeg 5.1's hls demuxer also refuses, by itself, segments on
// another protocol than its playlist's, so the canary alone would not
// notice a lost whitelist: the argument checks do.)
func TestT25WhitelistInDepth(t *testing.T) {
	for _, f := range []Format{FormatMOV, FormatMatroska, FormatWAV} {
		args := strings.Join((&staged{path: "/tmp/x/input", format: f}).inputArgs(), " ")
		want := "-protocol_whitelist file -f " + string(f)
		if !strings.HasPrefix(args, want) || !strings.HasSuffix(args, "-i file:/tmp/x/input") {
			t.Errorf("%s: input args %q, want %q ... -i file:/tmp/x/input", f, args, want)
		}
		if (f == FormatMOV) != strings.Contains(args, "-enable_drefs 0") {
			t.Errorf("%s: input args %q: -enable_drefs 0 is for MOV only", f, args)
		}
	}
	t.Parallel()
	requireTools(t)
	url, hits := canary(t)
	tools := newTools(t, Config{})
	in := "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n" + url + "/seg.ts\n#EXT-X-ENDLIST\n"
	dir := t.TempDir()
	s := &staged{dir: dir, path: filepath.Join(dir, "input"), format: "hls"}
	if err := os.WriteFile(s.path, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := tools.probe(context.Background(), s)
	t.Logf("forced hls probe: %v", err)
	if n := hits.Load(); n != 0 {
		t.Errorf("canary hit %d times, want 0", n)
	}
}

// T26: a deadline in the middle of a transcode kills the whole process
// group (ffmpeg and a child of its wrapper), and the temp files go.
func TestT26DeadlineKillsProcessGroup(t *testing.T) {
	t.Parallel()
	f := fixtures(t)
	real, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal(err)
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep command")
	}
	// Everything of this test runs from a directory whose unique name
	// shows in the command line of each process it starts.
	dir, err := os.MkdirTemp("", "quarry-t26-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Symlink(sleep, filepath.Join(dir, "marker-sleep")); err != nil {
		t.Fatal(err)
	}
	// The wrapper leaves a grandchild behind in the group, then becomes
	// ffmpeg reading its input in real time (-re): 10 s of work.
	wrapper := filepath.Join(dir, "marker-ffmpeg")
	script := "#!/bin/sh\n\"" + filepath.Join(dir, "marker-sleep") + "\" 300 &\nexec \"" + real + "\" -re \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	tools := newTools(t, Config{FFmpeg: wrapper, TempDir: dir, Timeout: 1500 * time.Millisecond})
	r := open(t, f.clip10)
	start := time.Now()
	_, err = tools.ExtractAudio(context.Background(), r, r.Size(), &bytes.Buffer{})
	elapsed := time.Since(start)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want ErrTimeout", err)
	}
	if elapsed > 5*time.Second {
		t.Errorf("returned after %s, want soon after the 1.5s deadline", elapsed)
	}
	// The kill is synchronous, but give the kernel a moment to reap.
	deadline := time.Now().Add(2 * time.Second)
	for {
		left := processesWith(t, dir)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes left behind: %q", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processesWith lists the live processes whose command line contains s.
func processesWith(t *testing.T, s string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var found []string
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(s)) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		found = append(found, e.Name()+": "+string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))+" ["+string(stat)+"]")
	}
	return found
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	f := fixtures(t)
	tools := newTools(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := open(t, f.mp4)
	if _, err := tools.Probe(ctx, r, r.Size()); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestNoAudio(t *testing.T) {
	t.Parallel()
	fixtures(t)
	dir := t.TempDir()
	video := filepath.Join(dir, "video.mkv")
	if err := ffmpegRun("-f", "lavfi", "-i", "testsrc=duration=1:size=64x48:rate=5", "-c:v", "mpeg4", video); err != nil {
		t.Fatal(err)
	}
	tools := newTools(t, Config{})
	r := open(t, video)
	if _, err := tools.ExtractAudio(context.Background(), r, r.Size(), &bytes.Buffer{}); !errors.Is(err, ErrNoAudio) {
		t.Errorf("err = %v, want ErrNoAudio", err)
	}
}

func TestMalformed(t *testing.T) {
	t.Parallel()
	requireTools(t)
	tools := newTools(t, Config{})
	in := "\x00\x00\x00\x18ftypmp42" + strings.Repeat("garbage", 100)
	_, err := tools.Probe(context.Background(), strings.NewReader(in), int64(len(in)))
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("err = %v, want ErrMalformed", err)
	}
	if err != nil && strings.Contains(err.Error(), os.TempDir()) {
		t.Errorf("error leaks a temp path: %v", err)
	}
}

func BenchmarkExtractAudio(b *testing.B) {
	f := fixtures(b)
	tools := newTools(b, Config{})
	r := open(b, f.clip10)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := tools.ExtractAudio(context.Background(), r, r.Size(), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N)/10, "rtf")
}
