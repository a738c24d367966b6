package transcribe

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/quarryhq/quarry/media"
)

// requireTools skips the test when a tool is missing, or fails it when
// QUARRY_REQUIRE_TOOLS=1 (CI, where .ci/run installed them).
func requireTools(tb testing.TB, why string, ok bool) {
	tb.Helper()
	if ok {
		return
	}
	if os.Getenv("QUARRY_REQUIRE_TOOLS") == "1" {
		tb.Fatalf("%s, and QUARRY_REQUIRE_TOOLS=1", why)
	}
	tb.Skipf("%s (install the Debian packages ffmpeg, pocketsphinx, pocketsphinx-en-us)", why)
}

func newPocketsphinx(tb testing.TB, cfg PocketsphinxConfig) *Pocketsphinx {
	tb.Helper()
	p, err := NewPocketsphinx(cfg)
	requireTools(tb, "pocketsphinx unavailable: "+errString(err), err == nil)
	return p
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// speech synthesises text with ffmpeg's flite filter (voice rms) and
// converts it with the media package to 16 kHz mono WAV.
func speech(tb testing.TB, text string) []byte {
	tb.Helper()
	_, err := exec.LookPath("ffmpeg")
	requireTools(tb, "ffmpeg not found", err == nil)
	out, _ := exec.Command("ffmpeg", "-hide_banner", "-filters").Output()
	requireTools(tb, "this ffmpeg has no flite filter (Debian's ffmpeg has it)", bytes.Contains(out, []byte(" flite ")))
	src := filepath.Join(tb.TempDir(), "speech.mkv")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y",
		"-f", "lavfi", "-i", "flite=text='"+text+"':voice=rms",
		"-c:a", "flac", src)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("ffmpeg flite: %v: %s", err, b)
	}
	tools, err := media.New(media.Config{})
	requireTools(tb, "media unavailable: "+errString(err), err == nil)
	f, err := os.Open(src)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	var wav bytes.Buffer
	if _, err := tools.ExtractAudio(context.Background(), f, st.Size(), &wav); err != nil {
		tb.Fatalf("ExtractAudio: %v", err)
	}
	return wav.Bytes()
}

// words lowercases s and splits it into words, punctuation dropped.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
}

// wer is the word error rate of hyp against ref: the word-level
// Levenshtein distance (substitutions, insertions, deletions) over the
// number of reference words.
func wer(ref, hyp string) float64 {
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

// pcmWAV returns a WAV file of n samples, sample i being f(i).
func pcmWAV(tb testing.TB, n int, f func(i int) int16) []byte {
	tb.Helper()
	data := make([]byte, 2*n)
	for i := range n {
		v := uint16(f(i))
		data[2*i], data[2*i+1] = byte(v), byte(v>>8)
	}
	var buf bytes.Buffer
	p := pcm{r: bytes.NewReader(data), n: int64(len(data))}
	if err := writeWAV(&buf, p, 0, p.n); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
