package transcribe

import (
	"bytes"
	"os"
	"testing"

	"github.com/quarryhq/quarry/internal/mediatest"
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

// speech synthesises text with ffmpeg's flite filter (voice rms) as a
// 16 kHz mono WAV file and returns its bytes.
func speech(tb testing.TB, text string) []byte {
	tb.Helper()
	b, err := os.ReadFile(mediatest.Speech(tb, tb.TempDir(), text, ".wav"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
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
