package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract/standard"
	"github.com/quarryhq/quarry/extract/transcript"
	"github.com/quarryhq/quarry/media"
	"github.com/quarryhq/quarry/server"
	"github.com/quarryhq/quarry/transcribe"
)

// slotMedia is a transcript.Media that needs no tool: every input is one
// second of audio.
type slotMedia struct{}

func (slotMedia) Probe(context.Context, io.ReaderAt, int64) (*media.Info, error) {
	return &media.Info{Format: media.FormatWAV, Duration: time.Second, Streams: []media.Stream{{Kind: media.KindAudio}}}, nil
}

func (slotMedia) Subtitles(context.Context, io.ReaderAt, int64) ([]media.Track, error) {
	return nil, nil
}

func (slotMedia) ExtractAudio(_ context.Context, _ io.ReaderAt, _ int64, w io.Writer) (int64, error) {
	n, err := w.Write(wavFile(16000))
	return int64(n), err
}

// blockingTranscriber holds every transcription until release closes.
type blockingTranscriber struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingTranscriber) Name() string { return "blocking" }

func (b *blockingTranscriber) Transcribe(ctx context.Context, _ io.ReaderAt, _ int64) (*transcribe.Transcript, error) {
	b.entered <- struct{}{}
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &transcribe.Transcript{Engine: "blocking", Segments: []transcribe.Segment{{End: time.Second, Text: "held"}}}, nil
}

// wavFile is a 16 kHz mono 16-bit PCM WAV file of n silent samples.
func wavFile(n int) []byte {
	b := make([]byte, 44+2*n)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], 16000)
	binary.LittleEndian.PutUint32(b[28:], 32000)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*n))
	return b
}

// TestMediaSlots: transcriptions have slots of their own
// (Config.MaxMediaInFlight): while one holds the only one, documents are
// still extracted, and another transcription, by /video-to-text or by
// /extract of a stored audio source, answers 503 over_capacity.
func TestMediaSlots(t *testing.T) {
	tr := &blockingTranscriber{entered: make(chan struct{}, 4), release: make(chan struct{})}
	tp, err := transcript.New(transcript.Config{Media: slotMedia{}, Transcriber: tr, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	reg := standard.NewRegistry()
	reg.MustRegister(transcript.Name, tp)
	s := newStack(t, stackOptions{registry: reg, server: func(c *server.Config) {
		c.MaxInFlight, c.MaxMediaInFlight, c.QueueTimeout = 1, 1, 200*time.Millisecond
	}})
	wav := wavFile(16000)
	var stored server.Source
	requireOK(t, s.upload(t, "stored.wav", wav), http.StatusCreated, &stored)
	if stored.MediaType != "audio/wav" && stored.MediaType != "audio/x-wav" {
		t.Fatalf("a WAV upload sniffed as %q", stored.MediaType)
	}

	first := make(chan response, 1)
	go func() {
		body, ctype := videoMultipart(t, "first.wav", wav)
		first <- s.do(t, http.MethodPost, "/api/v1/video-to-text", bytes.NewReader(body), "Content-Type", ctype)
	}()
	select {
	case <-tr.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first transcription never started")
	}

	doc := uploadText(t, s, "doc.txt", "Documents do not wait for videos.")
	var x server.Extraction
	requireOK(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": doc.ID}), http.StatusOK, &x)
	if x.Text != "Documents do not wait for videos." {
		t.Errorf("document text %q", x.Text)
	}

	body, ctype := videoMultipart(t, "second.wav", wav)
	r := s.do(t, http.MethodPost, "/api/v1/video-to-text", bytes.NewReader(body), "Content-Type", ctype)
	requireError(t, r, http.StatusServiceUnavailable, server.CodeOverCapacity)
	if r.header.Get("Retry-After") == "" {
		t.Error("over_capacity without Retry-After")
	}
	requireError(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": stored.ID}), http.StatusServiceUnavailable, server.CodeOverCapacity)

	close(tr.release)
	var got server.Transcript
	requireOK(t, <-first, http.StatusOK, &got)
	if got.Text != "held" || got.Engine != "blocking" {
		t.Errorf("first transcript %+v", got)
	}
	// The slot is free again.
	requireOK(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": stored.ID}), http.StatusOK, &x)
}

// countingTranscriber counts its transcriptions.
type countingTranscriber struct{ n atomic.Int32 }

func (c *countingTranscriber) Name() string { return "counting" }

func (c *countingTranscriber) Transcribe(context.Context, io.ReaderAt, int64) (*transcribe.Transcript, error) {
	n := c.n.Add(1)
	return &transcribe.Transcript{Engine: "counting", Segments: []transcribe.Segment{{End: time.Second, Text: "take " + strconv.Itoa(int(n))}}}, nil
}

// TestVideoStoredTranscriptReused: /video-to-text {source_id} returns the
// transcript stored before instead of transcribing again; POST /extract
// transcribes again, and a cut transcript is not reused.
func TestVideoStoredTranscriptReused(t *testing.T) {
	tr := &countingTranscriber{}
	tp, err := transcript.New(transcript.Config{Media: slotMedia{}, Transcriber: tr, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	reg := standard.NewRegistry()
	reg.MustRegister(transcript.Name, tp)
	s := newStack(t, stackOptions{registry: reg})
	var src server.Source
	requireOK(t, s.upload(t, "a.wav", wavFile(1600)), http.StatusCreated, &src)
	byID := map[string]any{"source_id": src.ID}
	var got server.Transcript
	for range 2 {
		requireOK(t, s.postJSON(t, "/api/v1/video-to-text", byID), http.StatusOK, &got)
		if got.Text != "take 1" || tr.n.Load() != 1 {
			t.Fatalf("transcript %q after %d transcriptions, want take 1 once", got.Text, tr.n.Load())
		}
	}
	var x server.Extraction
	requireOK(t, s.postJSON(t, "/api/v1/extract", byID), http.StatusOK, &x)
	if x.Text != "take 2" {
		t.Errorf("POST /extract text %q, want a new transcription", x.Text)
	}
	requireOK(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID, "options": map[string]any{"max_chars": 2}}), http.StatusOK, &x)
	requireOK(t, s.postJSON(t, "/api/v1/video-to-text", byID), http.StatusOK, &got)
	if got.Text != "take 4" {
		t.Errorf("after a cut extraction: %q, want a new transcription (take 4)", got.Text)
	}
}
