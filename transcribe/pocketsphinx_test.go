package transcribe

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quarryhq/quarry/internal/mediatest"
)

const referenceText = "The quick brown fox jumps over the lazy dog. " +
	"Please call me tomorrow morning at the office. " +
	"We will meet at the station before the train leaves."

func TestPocketsphinxWER(t *testing.T) {
	p := newPocketsphinx(t, PocketsphinxConfig{TempDir: t.TempDir()})
	wav := speech(t, referenceText)
	start := time.Now()
	tr, err := p.Transcribe(context.Background(), bytes.NewReader(wav), int64(len(wav)))
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	audio, _ := parseWAV(bytes.NewReader(wav), int64(len(wav)))
	w := mediatest.WER(referenceText, tr.Text)
	t.Logf("WER %.1f%% (%d segments) real-time factor %.2f; hypothesis: %q", 100*w, len(tr.Segments), took.Seconds()/audio.duration().Seconds(), tr.Text)
	if w > 0.25 {
		t.Errorf("WER %.1f%% over 25%%", 100*w)
	}
	if tr.Engine != "pocketsphinx" || tr.Language != "en-us" || len(tr.Segments) == 0 {
		t.Errorf("transcript = %+v", tr)
	}
	var last time.Duration
	for _, s := range tr.Segments {
		if s.Start < last || s.End < s.Start || s.End > audio.duration()+time.Second || s.Text == "" {
			t.Errorf("bad segment %+v after %v", s, last)
		}
		last = s.End
	}
}

func TestPocketsphinxCancelKillsProcess(t *testing.T) {
	tmp := t.TempDir()
	p := newPocketsphinx(t, PocketsphinxConfig{TempDir: tmp})
	// Ten minutes of noise: takes pocketsphinx far longer than the test.
	rng := rand.New(rand.NewPCG(1, 2))
	wav := pcmWAV(t, 10*60*SampleRate, func(int) int16 { return int16(rng.IntN(8000) - 4000) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := p.Transcribe(ctx, bytes.NewReader(wav), int64(len(wav)))
		done <- err
	}()
	// Wait until the process runs.
	deadline := time.Now().Add(10 * time.Second)
	for len(sphinxProcesses(t, tmp)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("pocketsphinx never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Transcribe did not return after cancel")
	}
	if ps := sphinxProcesses(t, tmp); len(ps) > 0 {
		t.Errorf("processes left: %v", ps)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
		t.Errorf("temp dir not empty: %v", ents)
	}
}

func TestPocketsphinxTimeout(t *testing.T) {
	tmp := t.TempDir()
	p := newPocketsphinx(t, PocketsphinxConfig{TempDir: tmp, Timeout: 300 * time.Millisecond})
	wav := pcmWAV(t, 120*SampleRate, func(i int) int16 { return int16((i * 7919) % 6000) })
	_, err := p.Transcribe(context.Background(), bytes.NewReader(wav), int64(len(wav)))
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("err = %v, want ErrTimeout", err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
		t.Errorf("temp dir not empty: %v", ents)
	}
}

// sphinxProcesses lists the pids of processes whose command line names a
// file under dir.
func sphinxProcesses(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc")
	}
	var pids []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(dir)) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && strings.Contains(string(st), ") Z ") {
			continue // a zombie is not running; Wait has not reaped it yet
		}
		pids = append(pids, e.Name())
	}
	return pids
}

func TestNewPocketsphinxUnavailable(t *testing.T) {
	if _, err := NewPocketsphinx(PocketsphinxConfig{Binary: "/nonexistent/pocketsphinx_continuous"}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("missing binary: err = %v", err)
	}
	if _, err := NewPocketsphinx(PocketsphinxConfig{Binary: "/bin/sh", ModelDir: t.TempDir()}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("missing model: err = %v", err)
	}
}

func TestPocketsphinxBadAudio(t *testing.T) {
	p := newPocketsphinx(t, PocketsphinxConfig{TempDir: t.TempDir()})
	wav := pcmWAV(t, 1600, func(int) int16 { return 0 })
	wav[24] = 0x44 // 44100 Hz
	wav[25] = 0xAC
	if _, err := p.Transcribe(context.Background(), bytes.NewReader(wav), int64(len(wav))); !errors.Is(err, ErrBadAudio) {
		t.Errorf("err = %v, want ErrBadAudio", err)
	}
}

func TestParseSphinx(t *testing.T) {
	out := `hello world
<s> 0.060 0.130 1.000200
hello 0.140 0.670 0.595735
<sil> 0.680 0.700 1.0
world 0.710 1.060 1.000000
</s> 1.930 2.360 1.000000
at the office
<s> 4.070 4.170 0.999600
at 5.150 5.350 0.555066
the(2) 5.360 5.500 0.731662
[NOISE] 5.500 5.505 1
office 5.510 6.070 0.976967
</s> 6.080 6.240 1.000000
<s> 7.000 7.100 1.0
</s> 7.100 7.200 1.0
`
	segs, err := parseSphinx([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []Segment{
		{Start: 140 * time.Millisecond, End: 1060 * time.Millisecond, Text: "hello world"},
		{Start: 5150 * time.Millisecond, End: 6070 * time.Millisecond, Text: "at the office"},
	}
	if len(segs) != len(want) {
		t.Fatalf("segments = %+v", segs)
	}
	for i := range want {
		if segs[i] != want[i] {
			t.Errorf("segment %d = %+v, want %+v", i, segs[i], want[i])
		}
	}
}

func TestParseWAV(t *testing.T) {
	good := pcmWAV(t, 16000, func(int) int16 { return 0 })
	p, err := parseWAV(bytes.NewReader(good), int64(len(good)))
	if err != nil || p.off != 44 || p.n != 32000 || p.duration() != time.Second {
		t.Fatalf("parseWAV = %+v, %v", p, err)
	}
	// A LIST chunk before data, and a data size past the end of file.
	var b bytes.Buffer
	b.Write(good[:36])
	b.WriteString("LIST\x05\x00\x00\x00abcde\x00")
	b.WriteString("data\xff\xff\xff\xff")
	b.Write(good[44:])
	p, err = parseWAV(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil || p.n != 32000 || p.off != 44+14 {
		t.Fatalf("with LIST: %+v, %v", p, err)
	}
	stereo := bytes.Clone(good)
	stereo[22] = 2
	for name, in := range map[string][]byte{
		"empty":  nil,
		"text":   []byte(strings.Repeat("not a wav file ", 10)),
		"stereo": stereo,
	} {
		if _, err := parseWAV(bytes.NewReader(in), int64(len(in))); !errors.Is(err, ErrBadAudio) {
			t.Errorf("%s: err = %v, want ErrBadAudio", name, err)
		}
	}
}

// BenchmarkPocketsphinx reports the real-time factor (seconds of work per
// second of audio) on the synthesised clip, model loading included.
func BenchmarkPocketsphinx(b *testing.B) {
	p := newPocketsphinx(b, PocketsphinxConfig{TempDir: b.TempDir()})
	wav := speech(b, referenceText)
	audio, err := parseWAV(bytes.NewReader(wav), int64(len(wav)))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := p.Transcribe(context.Background(), bytes.NewReader(wav), int64(len(wav))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N)/audio.duration().Seconds(), "rtf")
	b.ReportMetric(audio.duration().Seconds(), "audio-s")
}
