package transcribe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakeWhisper is an OpenAI-compatible transcription server that checks
// the multipart request and answers one segment per second of audio.
type fakeWhisper struct {
	t        *testing.T
	mu       sync.Mutex
	calls    int
	statuses []int // answered (with Retry-After: 1) before succeeding
	chunks   []time.Duration
}

func (f *fakeWhisper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls++
	call := f.calls
	f.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/audio/transcriptions" {
		f.t.Errorf("%s %s", r.Method, r.URL.Path)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer sk-test" {
		f.t.Errorf("Authorization = %q", got)
	}
	if err := r.ParseMultipartForm(64 << 20); err != nil {
		f.t.Errorf("multipart: %v", err)
		http.Error(w, "bad", 400)
		return
	}
	if r.FormValue("model") != "whisper-large" || r.FormValue("response_format") != "verbose_json" || r.FormValue("language") != "en" {
		f.t.Errorf("fields = %v", r.MultipartForm.Value)
	}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		f.t.Errorf("file part: %v", err)
		return
	}
	b, _ := io.ReadAll(file)
	audio, err := parseWAV(bytes.NewReader(b), int64(len(b)))
	if err != nil || hdr.Header.Get("Content-Type") != "audio/wav" {
		f.t.Errorf("file part is not our WAV: %v %v", err, hdr.Header)
		return
	}
	if call <= len(f.statuses) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(f.statuses[call-1])
		return
	}
	f.mu.Lock()
	f.chunks = append(f.chunks, audio.duration())
	f.mu.Unlock()
	// The first sample of each chunk tells which second it starts at.
	first := int(int16(uint16(b[44]) | uint16(b[45])<<8))
	type seg struct {
		Start float64 `json:"start"`
		End   float64 `json:"end"`
		Text  string  `json:"text"`
	}
	var segs []seg
	for s := 0; float64(s) < audio.duration().Seconds(); s++ {
		segs = append(segs, seg{float64(s), float64(s) + 0.8, fmt.Sprintf(" w%d", first+s)})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"task": "transcribe", "language": "english", "text": "ignored", "segments": segs})
}

func newFake(t *testing.T, cfg WhisperConfig, statuses ...int) (*Whisper, *fakeWhisper) {
	f := &fakeWhisper{t: t, statuses: statuses}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg.BaseURL = srv.URL + "/v1/"
	cfg.Model, cfg.APIKey, cfg.Language = "whisper-large", "sk-test", "en"
	cfg.HTTPClient = srv.Client()
	cfg.RetryBackoff = time.Millisecond
	w, err := NewWhisper(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w, f
}

// secondsWAV is n seconds of audio whose samples hold the second they are in.
func secondsWAV(t *testing.T, n int) []byte {
	return pcmWAV(t, n*SampleRate, func(i int) int16 { return int16(i / SampleRate) })
}

func TestWhisperSingleRequest(t *testing.T) {
	w, f := newFake(t, WhisperConfig{})
	wav := secondsWAV(t, 3)
	tr, err := w.Transcribe(context.Background(), bytes.NewReader(wav), int64(len(wav)))
	if err != nil {
		t.Fatal(err)
	}
	if f.calls != 1 || tr.Text != "w0 w1 w2" || tr.Engine != "whisper" || tr.Language != "en" || len(tr.Segments) != 3 {
		t.Fatalf("calls %d, transcript %+v", f.calls, tr)
	}
	if s := tr.Segments[2]; s.Start != 2*time.Second || s.End != 2800*time.Millisecond {
		t.Errorf("segment = %+v", s)
	}
}

func TestWhisperChunksAndStitches(t *testing.T) {
	w, f := newFake(t, WhisperConfig{ChunkDuration: 10 * time.Second, ChunkOverlap: 4 * time.Second})
	wav := secondsWAV(t, 25)
	tr, err := w.Transcribe(context.Background(), bytes.NewReader(wav), int64(len(wav)))
	if err != nil {
		t.Fatal(err)
	}
	// Chunks start at 0, 6, 12, 18 s; 18-25 s is the last (7 s).
	want := []time.Duration{10 * time.Second, 10 * time.Second, 10 * time.Second, 7 * time.Second}
	if fmt.Sprint(f.chunks) != fmt.Sprint(want) {
		t.Errorf("chunks = %v, want %v", f.chunks, want)
	}
	if len(tr.Segments) != 25 {
		t.Fatalf("%d segments: %q", len(tr.Segments), tr.Text)
	}
	for i, s := range tr.Segments {
		if s.Start != time.Duration(i)*time.Second || s.Text != fmt.Sprintf("w%d", i) {
			t.Errorf("segment %d = %+v", i, s)
		}
	}
}

func TestWhisperRetriesOnce(t *testing.T) {
	wav := secondsWAV(t, 2)
	w, f := newFake(t, WhisperConfig{}, http.StatusInternalServerError)
	if _, err := w.Transcribe(context.Background(), bytes.NewReader(wav), int64(len(wav))); err != nil || f.calls != 2 {
		t.Errorf("500 then 200: err %v, calls %d", err, f.calls)
	}
	w, f = newFake(t, WhisperConfig{}, http.StatusBadGateway, http.StatusInternalServerError)
	_, err := w.Transcribe(context.Background(), bytes.NewReader(wav), int64(len(wav)))
	var ue *UpstreamError
	if !errors.Is(err, ErrUpstream) || !errors.As(err, &ue) || ue.StatusCode != 500 || ue.Attempts != 2 || f.calls != 2 {
		t.Errorf("two 5xx: err %v, calls %d", err, f.calls)
	}
}

func TestWhisperRateLimited(t *testing.T) {
	wav := secondsWAV(t, 2)
	// Retry-After 1s is over MaxRetryWait: fail at once, Retry-After passed on.
	w, f := newFake(t, WhisperConfig{MaxRetryWait: 500 * time.Millisecond}, http.StatusTooManyRequests)
	_, err := w.Transcribe(context.Background(), bytes.NewReader(wav), int64(len(wav)))
	var ue *UpstreamError
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &ue) || ue.RetryAfter != time.Second || f.calls != 1 {
		t.Errorf("429: err %v, calls %d", err, f.calls)
	}
	// A short Retry-After is waited for, once.
	w, f = newFake(t, WhisperConfig{MaxRetryWait: 2 * time.Second}, http.StatusTooManyRequests)
	start := time.Now()
	if _, err := w.Transcribe(context.Background(), bytes.NewReader(wav), int64(len(wav))); err != nil || f.calls != 2 || time.Since(start) < time.Second {
		t.Errorf("429 then 200: err %v, calls %d", err, f.calls)
	}
}

func TestWhisperTimeoutAndUnavailable(t *testing.T) {
	wav := secondsWAV(t, 1)
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	w, err := NewWhisper(WhisperConfig{BaseURL: srv.URL + "/v1", RequestTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Transcribe(context.Background(), bytes.NewReader(wav), int64(len(wav))); !errors.Is(err, ErrUpstreamTimeout) {
		t.Errorf("slow server: err = %v", err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	url := closed.URL
	closed.Close()
	w, _ = NewWhisper(WhisperConfig{BaseURL: url + "/v1", RetryBackoff: time.Millisecond})
	if _, err := w.Transcribe(context.Background(), bytes.NewReader(wav), int64(len(wav))); !errors.Is(err, ErrUnavailable) {
		t.Errorf("refused: err = %v", err)
	}
	if _, err := NewWhisper(WhisperConfig{}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("no BaseURL: err = %v", err)
	}
	if _, err := NewWhisper(WhisperConfig{BaseURL: "http://x", ChunkDuration: 10 * time.Second, ChunkOverlap: 5 * time.Second}); err == nil {
		t.Error("overlap of half the chunk accepted")
	}
}

func TestWhisperBadAnswer(t *testing.T) {
	wav := secondsWAV(t, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bytes.Repeat([]byte("x"), 2048))
	}))
	defer srv.Close()
	for _, max := range []int64{1024, 1 << 20} {
		w, _ := NewWhisper(WhisperConfig{BaseURL: srv.URL, MaxResponseBytes: max})
		if _, err := w.Transcribe(context.Background(), bytes.NewReader(wav), int64(len(wav))); !errors.Is(err, ErrUpstream) {
			t.Errorf("max %d: err = %v", max, err)
		}
	}
}
