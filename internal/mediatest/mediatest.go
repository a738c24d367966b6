// Package mediatest generates audio, video and subtitle fixtures with
// ffmpeg for tests, and scores speech recognition with a word error rate.
//
// It runs ffmpeg directly through os/exec and imports neither package
// media nor package transcribe, so their own tests may use it. The
// helpers skip a test when a tool is missing, or fail it when
// QUARRY_REQUIRE_TOOLS=1 (CI, where the tools are installed).
package mediatest

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
)

// PocketsphinxModel is the en-us acoustic model directory of the Debian
// package pocketsphinx-en-us.
const PocketsphinxModel = "/usr/share/pocketsphinx/model/en-us/en-us"

// packages names the Debian packages that install each command.
var packages = map[string]string{
	"ffmpeg":                  "ffmpeg",
	"ffprobe":                 "ffmpeg",
	"pocketsphinx_continuous": "pocketsphinx pocketsphinx-en-us",
}

// missing skips tb, or fails it when QUARRY_REQUIRE_TOOLS=1.
func missing(tb testing.TB, what, install string) {
	tb.Helper()
	if os.Getenv("QUARRY_REQUIRE_TOOLS") == "1" {
		tb.Fatalf("%s, and QUARRY_REQUIRE_TOOLS=1 (install the Debian packages %s)", what, install)
	}
	tb.Skipf("skipping: %s (install the Debian packages %s; set QUARRY_REQUIRE_TOOLS=1 to fail instead)", what, install)
}

// RequireTools skips tb when any of the named commands is missing from
// PATH, or fails it when QUARRY_REQUIRE_TOOLS=1 (CI). The message names
// the Debian packages to install.
func RequireTools(tb testing.TB, commands ...string) {
	tb.Helper()
	for _, c := range commands {
		if _, err := exec.LookPath(c); err != nil {
			missing(tb, c+" is not installed", cmp.Or(packages[c], "ffmpeg pocketsphinx pocketsphinx-en-us"))
		}
	}
}

var (
	ffmpegInfoOnce sync.Once
	ffmpegFilters  string
	ffmpegEncoders string
)

// ffmpegInfo lists ffmpeg's filters and encoders once per test binary.
func ffmpegInfo() (filters, encoders string) {
	ffmpegInfoOnce.Do(func() {
		out, _ := exec.Command("ffmpeg", "-hide_banner", "-filters").Output()
		ffmpegFilters = string(out)
		out, _ = exec.Command("ffmpeg", "-hide_banner", "-encoders").Output()
		ffmpegEncoders = string(out)
	})
	return ffmpegFilters, ffmpegEncoders
}

// listed reports whether an `ffmpeg -filters` or `-encoders` listing has
// name in its second column.
func listed(list, name string) bool {
	for line := range strings.SplitSeq(list, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[1] == name {
			return true
		}
	}
	return false
}

// RequireFlite is RequireTools("ffmpeg") plus a check that ffmpeg has
// the flite speech synthesis filter (Debian's ffmpeg has it).
func RequireFlite(tb testing.TB) {
	tb.Helper()
	RequireTools(tb, "ffmpeg")
	if filters, _ := ffmpegInfo(); !listed(filters, "flite") {
		missing(tb, "this ffmpeg has no flite filter", "ffmpeg")
	}
}

// RequirePocketsphinx is RequireTools("pocketsphinx_continuous") plus a
// check that the en-us model directory exists.
func RequirePocketsphinx(tb testing.TB) {
	tb.Helper()
	RequireTools(tb, "pocketsphinx_continuous")
	if fi, err := os.Stat(PocketsphinxModel); err != nil || !fi.IsDir() {
		missing(tb, "the pocketsphinx en-us model "+PocketsphinxModel+" is missing", "pocketsphinx-en-us")
	}
}

// ffmpeg runs ffmpeg with args, failing tb with its output on error.
func ffmpeg(tb testing.TB, args ...string) {
	tb.Helper()
	cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-nostdin", "-v", "error", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// videoCodec is H.264 when ffmpeg has libx264, else MPEG-4 part 2.
func videoCodec() []string {
	if _, enc := ffmpegInfo(); listed(enc, "libx264") {
		return []string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"}
	}
	return []string{"-c:v", "mpeg4"}
}

// testsrc is a small test pattern video input, endless when seconds is 0.
func testsrc(seconds int) []string {
	src := "testsrc=size=160x120:rate=10"
	if seconds > 0 {
		src += fmt.Sprintf(":duration=%d", seconds)
	}
	return []string{"-f", "lavfi", "-i", src}
}

// filterPath quotes path for a filter option value.
func filterPath(path string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, `:`, `\:`)
	return "'" + r.Replace(path) + "'"
}

// Speech synthesises text with ffmpeg's flite filter (voice rms) and
// writes it in dir, under a new name ending in ext, as a file of the container named by ext: ".wav" (16
// kHz mono s16le), ".flac", ".mkv" (FLAC audio), ".mp4" (H.264, or
// MPEG-4 part 2 without libx264, and AAC) or ".webm" (VP8 and Vorbis, or
// Opus without libvorbis); the video formats carry a test pattern for the
// length of the speech. It returns the file's path.
func Speech(tb testing.TB, dir, text, ext string) string {
	tb.Helper()
	RequireFlite(tb)
	txt, err := os.CreateTemp(dir, "speech-*.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.Remove(txt.Name())
	_, err = txt.WriteString(text)
	if cerr := txt.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
	speech := []string{"-f", "lavfi", "-i", "flite=textfile=" + filterPath(txt.Name()) + ":voice=rms"}
	out := create(tb, dir, "speech-*"+ext)
	var args []string
	switch ext {
	case ".wav":
		args = append(speech, "-ar", "16000", "-ac", "1", "-c:a", "pcm_s16le", out)
	case ".flac", ".mkv":
		args = append(speech, "-c:a", "flac", out)
	case ".mp4":
		args = append(append(append(speech, testsrc(0)...), "-map", "1:v", "-map", "0:a"), videoCodec()...)
		args = append(args, "-c:a", "aac", "-shortest", out)
	case ".webm":
		audio := "libvorbis"
		if _, enc := ffmpegInfo(); !listed(enc, audio) {
			audio = "libopus"
		}
		args = append(append(speech, testsrc(0)...), "-map", "1:v", "-map", "0:a",
			"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-c:a", audio, "-shortest", out)
	default:
		tb.Fatalf("mediatest.Speech: unsupported extension %q", ext)
	}
	ffmpeg(tb, args...)
	return out
}

// create makes an empty file in dir named after pattern (as
// os.CreateTemp) for ffmpeg to overwrite, so that calls sharing a
// directory do not collide.
func create(tb testing.TB, dir, pattern string) string {
	tb.Helper()
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return f.Name()
}

// WithSubtitles writes dir/name (extension .mkv or .mp4): a test pattern
// video of the given seconds, audio (a sine wave, AAC in .mp4 and FLAC
// in .mkv) and srt, SubRip text, as a subtitle stream (SubRip in .mkv,
// mov_text in .mp4) tagged with the ISO 639-2 language lang ("" leaves
// it untagged). It returns the file's path.
func WithSubtitles(tb testing.TB, dir, name, srt, lang string, seconds int) string {
	tb.Helper()
	RequireTools(tb, "ffmpeg")
	var acodec, scodec string
	switch filepath.Ext(name) {
	case ".mkv":
		acodec, scodec = "flac", "srt"
	case ".mp4":
		acodec, scodec = "aac", "mov_text"
	default:
		tb.Fatalf("mediatest.WithSubtitles: unsupported file name %q", name)
	}
	sub, err := os.CreateTemp(dir, "subs-*.srt")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.Remove(sub.Name())
	_, err = sub.WriteString(srt)
	if cerr := sub.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
	out := filepath.Join(dir, name)
	args := append(testsrc(seconds),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:duration=%d", seconds),
		"-i", sub.Name(), "-map", "0:v", "-map", "1:a", "-map", "2:s")
	args = append(args, videoCodec()...)
	args = append(args, "-c:a", acodec, "-c:s", scodec)
	if lang != "" {
		args = append(args, "-metadata:s:s:0", "language="+lang)
	}
	ffmpeg(tb, append(args, out)...)
	return out
}

// Silent writes dir/name: silent mono FLAC (8 kHz) lasting d. Silence
// compresses well, so even 10 hours is small. It returns the file's path.
func Silent(tb testing.TB, dir, name string, d time.Duration) string {
	tb.Helper()
	RequireTools(tb, "ffmpeg")
	out := filepath.Join(dir, name)
	// Large frames of the fastest level keep 10 hours under a second or
	// two and a megabyte.
	ffmpeg(tb, "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono:n=4608", "-t", fmt.Sprintf("%.3f", d.Seconds()),
		"-c:a", "flac", "-compression_level", "0", "-frame_size", "4608", out)
	return out
}

// VideoOnly writes an MP4 file in dir (under a new name): a test pattern
// video of the given seconds, with no audio and no subtitles. It returns
// the file's path.
func VideoOnly(tb testing.TB, dir string, seconds int) string {
	tb.Helper()
	RequireTools(tb, "ffmpeg")
	out := create(tb, dir, "video-*.mp4")
	ffmpeg(tb, append(append(testsrc(seconds), videoCodec()...), out)...)
	return out
}

// words lower-cases s and splits it into words of letters, digits and
// apostrophes; everything else separates them.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
}

// WER is the word error rate of hyp against ref: the word-level
// Levenshtein distance (substitutions, insertions, deletions) over the
// number of reference words. Words are lower-cased runs of letters,
// digits and apostrophes; punctuation is dropped. An empty ref scores 0
// against an empty hyp and 1 against any other.
func WER(ref, hyp string) float64 {
	r, h := words(ref), words(hyp)
	if len(r) == 0 {
		if len(h) == 0 {
			return 0
		}
		return 1
	}
	prev := make([]int, len(h)+1)
	cur := make([]int, len(h)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(r); i++ {
		cur[0] = i
		for j := 1; j <= len(h); j++ {
			sub := prev[j-1]
			if r[i-1] != h[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return float64(prev[len(h)]) / float64(len(r))
}
