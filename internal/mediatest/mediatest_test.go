package mediatest_test

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quarryhq/quarry/internal/mediatest"
)

func TestWER(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ref, hyp string
		want     float64
	}{
		{"", "", 0},
		{"", "hello", 1},
		{"hello world", "", 1},
		{"Hello, world!", "hello world", 0},
		{"it's the cat", "its the cat", 1.0 / 3},
		{"the quick brown fox", "the quick brown fox", 0},
		{"the quick brown fox", "the quick fox", 0.25},            // deletion
		{"the quick brown fox", "the very quick brown fox", 0.25}, // insertion
		{"the quick brown fox", "a quick brown box", 0.5},         // substitutions
		{"one two", "three four five six", 2},                     // over 1: more errors than words
	}
	for _, tt := range tests {
		if got := mediatest.WER(tt.ref, tt.hyp); got != tt.want {
			t.Errorf("WER(%q, %q) = %v, want %v", tt.ref, tt.hyp, got, tt.want)
		}
	}
}

// streams lists the codec_type,codec_name of each stream of path, and
// its duration in seconds.
func streams(t *testing.T, path string) (string, float64) {
	t.Helper()
	mediatest.RequireTools(t, "ffprobe")
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name:stream_tags=language:format=duration",
		"-of", "compact=p=0:nk=1", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	d, err := strconv.ParseFloat(lines[len(lines)-1], 64)
	if err != nil {
		t.Fatalf("ffprobe duration %q: %v", lines[len(lines)-1], err)
	}
	return strings.Join(lines[:len(lines)-1], ";"), d
}

func TestGenerators(t *testing.T) {
	t.Parallel()
	mediatest.RequireFlite(t)
	dir := t.TempDir()
	tests := []struct {
		name    string
		path    string
		streams []string // substrings of the ffprobe listing, in order
		seconds float64
	}{
		{"speech.wav", mediatest.Speech(t, dir, "hello world", ".wav"), []string{"pcm_s16le|audio"}, 0},
		{"speech.mp4", mediatest.Speech(t, dir, "hello world", ".mp4"), []string{"|video", "aac|audio"}, 0},
		{"speech.webm", mediatest.Speech(t, dir, "hello world", ".webm"), []string{"vp8|video", "|audio"}, 0},
		{"subs.mkv", mediatest.WithSubtitles(t, dir, "subs.mkv", "1\n00:00:00,500 --> 00:00:01,000\nHi\n", "eng", 2), []string{"|video", "flac|audio", "subrip|subtitle|eng"}, 2},
		{"subs.mp4", mediatest.WithSubtitles(t, dir, "subs.mp4", "1\n00:00:00,500 --> 00:00:01,000\nHi\n", "", 2), []string{"|video", "aac|audio", "mov_text|subtitle"}, 2},
		{"silent.flac", mediatest.Silent(t, dir, "silent.flac", 90*time.Second), []string{"flac|audio"}, 90},
		{"video.mp4", mediatest.VideoOnly(t, dir, 2), []string{"|video"}, 2},
	}
	for _, tt := range tests {
		got, d := streams(t, tt.path)
		list := strings.Split(got, ";")
		if len(list) != len(tt.streams) {
			t.Errorf("%s: streams %q, want %d", tt.name, got, len(tt.streams))
			continue
		}
		for i, want := range tt.streams {
			if !strings.Contains(list[i], want) {
				t.Errorf("%s: stream %d is %q, want it to contain %q", tt.name, i, list[i], want)
			}
		}
		if tt.seconds > 0 && (d < tt.seconds-0.2 || d > tt.seconds+0.3) {
			t.Errorf("%s: duration %.3f s, want about %.0f", tt.name, d, tt.seconds)
		} else if tt.seconds == 0 && (d < 0.3 || d > 5) {
			t.Errorf("%s: speech lasts %.3f s, want about a second", tt.name, d)
		}
	}
}
