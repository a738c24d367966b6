package transcribe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/quarryhq/quarry/internal/upstream"
	"io"
	"log/slog"
	"math"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"syscall"
	"time"
)

// Defaults of [WhisperConfig].
const (
	DefaultWhisperModel     = "whisper-1"
	DefaultChunkDuration    = 10 * time.Minute
	DefaultChunkOverlap     = 5 * time.Second
	DefaultRequestTimeout   = 5 * time.Minute
	DefaultRetryBackoff     = 500 * time.Millisecond
	DefaultMaxRetryWait     = 10 * time.Second
	DefaultMaxResponseBytes = 8 << 20
)

// WhisperConfig configures [Whisper].
type WhisperConfig struct {
	// BaseURL is the server's API root, with its /v1, e.g.
	// "https://api.openai.com/v1" or "http://localhost:8080/v1"; the
	// engine posts to BaseURL + "/audio/transcriptions". Required.
	BaseURL string
	// Model is sent as the model field. Default "whisper-1".
	Model string
	// APIKey is sent as a bearer token when set.
	APIKey string
	// Language, when set, is sent as the ISO-639-1 language hint.
	Language string
	// HTTPClient sends the requests. Default: a client without timeout
	// (RequestTimeout bounds each request).
	HTTPClient *http.Client
	// ChunkDuration is the longest audio sent in one request; longer
	// audio is split into chunks of this length that overlap by
	// ChunkOverlap, transcribed in order and stitched. Default
	// DefaultChunkDuration (10 min of 16 kHz mono is 19.2 MB, under
	// OpenAI's 25 MB upload limit).
	ChunkDuration time.Duration
	// ChunkOverlap is how much consecutive chunks share, so a word cut at
	// a chunk's end is heard whole in the next. Default
	// DefaultChunkOverlap; must be under half of ChunkDuration.
	ChunkOverlap time.Duration
	// RequestTimeout bounds each request. Default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// RetryBackoff is the wait before the one retry of a 5xx or a
	// connection failure; a longer Retry-After from the server wins.
	// Default DefaultRetryBackoff.
	RetryBackoff time.Duration
	// MaxRetryWait: a 429 whose Retry-After is at most this long is
	// retried once after that wait; a longer one (or none) fails with
	// ErrRateLimited at once, its Retry-After passed on. Default
	// DefaultMaxRetryWait; negative never retries a 429.
	MaxRetryWait time.Duration
	// MaxResponseBytes bounds an answer; past it the call fails with
	// ErrUpstream. Default DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// Logger receives debug records of the requests (never the text).
	// Default: discard.
	Logger *slog.Logger
}

// Whisper transcribes with any OpenAI-compatible
// /v1/audio/transcriptions server: OpenAI, whisper.cpp server,
// faster-whisper (speaches), LocalAI, vLLM.
type Whisper struct {
	cfg WhisperConfig
	url string
}

var _ Transcriber = (*Whisper)(nil)

// NewWhisper returns a Whisper engine. A config without BaseURL fails
// with ErrUnavailable (not configured).
func NewWhisper(cfg WhisperConfig) (*Whisper, error) {
	if cfg.BaseURL == "" {
		return nil, fmt.Errorf("%w: WhisperConfig.BaseURL is required", ErrUnavailable)
	}
	if cfg.Model == "" {
		cfg.Model = DefaultWhisperModel
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.ChunkDuration == 0 {
		cfg.ChunkDuration = DefaultChunkDuration
	}
	if cfg.ChunkOverlap == 0 {
		cfg.ChunkOverlap = DefaultChunkOverlap
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = DefaultRetryBackoff
	}
	if cfg.MaxRetryWait == 0 {
		cfg.MaxRetryWait = DefaultMaxRetryWait
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.ChunkDuration < time.Second:
		return nil, errors.New("transcribe: WhisperConfig.ChunkDuration must be at least 1s")
	case cfg.ChunkOverlap < 0 || cfg.ChunkOverlap*2 >= cfg.ChunkDuration:
		return nil, errors.New("transcribe: WhisperConfig.ChunkOverlap must be between 0 and half of ChunkDuration")
	case cfg.RequestTimeout < 0 || cfg.RetryBackoff < 0 || cfg.MaxResponseBytes < 0:
		return nil, errors.New("transcribe: WhisperConfig durations and sizes must not be negative")
	}
	return &Whisper{cfg: cfg, url: strings.TrimRight(cfg.BaseURL, "/") + "/audio/transcriptions"}, nil
}

// Name returns "whisper".
func (w *Whisper) Name() string { return "whisper" }

// chunk is a stretch of the audio sent in one request, in bytes of PCM,
// and the part of the timeline whose segments it owns after stitching.
type chunk struct {
	from, n int64
	lo, hi  time.Duration // keep segments whose midpoint is in [lo, hi)
}

// chunks splits n bytes of audio into chunks of size bytes overlapping by
// overlap bytes. Each boundary is owned half by either side: the middle of
// an overlap is where one chunk's segments stop and the next's begin.
func chunks(n, size, overlap int64) []chunk {
	if n <= size {
		return []chunk{{from: 0, n: n, lo: 0, hi: math.MaxInt64}}
	}
	step := size - overlap
	var cs []chunk
	for from := int64(0); ; from += step {
		c := chunk{from: from, n: min(size, n-from), hi: math.MaxInt64}
		if len(cs) > 0 {
			c.lo = bytesToDuration(from + overlap/2)
			cs[len(cs)-1].hi = c.lo
		}
		cs = append(cs, c)
		if from+size >= n {
			return cs
		}
	}
}

// Transcribe sends the audio, in chunks when it is longer than
// ChunkDuration, and stitches the segments on one timeline. Where chunks
// overlap, each segment is kept from one chunk only: the one owning the
// segment's midpoint (overlaps are split at their middle).
func (w *Whisper) Transcribe(ctx context.Context, wav io.ReaderAt, size int64) (*Transcript, error) {
	audio, err := parseWAV(wav, size)
	if err != nil {
		return nil, err
	}
	cs := chunks(audio.n, durationToBytes(w.cfg.ChunkDuration), durationToBytes(w.cfg.ChunkOverlap))
	t := &Transcript{Engine: w.Name(), Language: w.cfg.Language}
	for i, c := range cs {
		var body bytes.Buffer
		if err := writeWAV(&body, audio, c.from, c.n); err != nil {
			return nil, fmt.Errorf("transcribe: reading the audio: %w", err)
		}
		offset := bytesToDuration(c.from)
		res, err := w.request(ctx, body.Bytes())
		if err != nil {
			w.cfg.Logger.Debug("transcribe: whisper chunk failed", "chunk", i, "of", len(cs), "err", err)
			return nil, err
		}
		if t.Language == "" {
			t.Language = res.Language
		}
		segs := res.Segments
		if len(segs) == 0 && strings.TrimSpace(res.Text) != "" {
			// A server that ignores verbose_json: one segment per chunk.
			segs = []whisperSegment{{Start: 0, End: bytesToDuration(c.n).Seconds(), Text: res.Text}}
		}
		for _, s := range segs {
			seg := Segment{
				Start: offset + seconds(s.Start),
				End:   offset + seconds(s.End),
				Text:  strings.TrimSpace(s.Text),
			}
			if seg.End < seg.Start {
				seg.End = seg.Start
			}
			if mid := seg.Start + (seg.End-seg.Start)/2; mid < c.lo || mid >= c.hi || seg.Text == "" {
				continue
			}
			t.Segments = append(t.Segments, seg)
		}
	}
	t.Text = joinText(t.Segments)
	return t, nil
}

type whisperSegment struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Text  string  `json:"text"`
}

type whisperResponse struct {
	Language string           `json:"language"`
	Text     string           `json:"text"`
	Segments []whisperSegment `json:"segments"`
}

// request posts one chunk, retrying once on a 5xx, a connection failure,
// or a 429 with a short Retry-After.
func (w *Whisper) request(ctx context.Context, wav []byte) (*whisperResponse, error) {
	body, ctype, err := w.multipart(wav)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		res, ue, retry := w.attempt(ctx, body, ctype)
		if ue == nil {
			return res, nil
		}
		ue.Attempts = attempt
		if attempt == 2 || !retry {
			return nil, ue
		}
		wait := max(w.cfg.RetryBackoff, ue.RetryAfter)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, ue
		}
		tm := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			tm.Stop()
			return nil, ue
		case <-tm.C:
		}
	}
}

func (w *Whisper) multipart(wav []byte) ([]byte, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fields := [][2]string{
		{"model", w.cfg.Model},
		{"response_format", "verbose_json"},
		{"timestamp_granularities[]", "segment"},
	}
	if w.cfg.Language != "" {
		fields = append(fields, [2]string{"language", w.cfg.Language})
	}
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return nil, "", err
		}
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="file"; filename="audio.wav"`)
	h.Set("Content-Type", "audio/wav")
	part, err := mw.CreatePart(h)
	if err != nil {
		return nil, "", err
	}
	if _, err := part.Write(wav); err != nil {
		return nil, "", err
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

// attempt sends one request. It returns the answer, or the failure and
// whether one retry is allowed.
func (w *Whisper) attempt(ctx context.Context, body []byte, ctype string) (*whisperResponse, *UpstreamError, bool) {
	rctx, cancel := context.WithTimeout(ctx, w.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return nil, &UpstreamError{Kind: ErrUnavailable, Err: err}, false
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	if w.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+w.cfg.APIKey)
	}
	start := time.Now()
	resp, err := w.cfg.HTTPClient.Do(req)
	if err != nil {
		ue, retry := classify(ctx, rctx, err)
		return nil, ue, retry
	}
	defer resp.Body.Close()
	w.cfg.Logger.Debug("transcribe: whisper answered", "status", resp.StatusCode, "duration", time.Since(start))
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		ue := &UpstreamError{Kind: ErrUpstream, StatusCode: resp.StatusCode, RetryAfter: upstream.RetryAfter(resp.Header)}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			ue.Kind = ErrRateLimited
			return nil, ue, ue.RetryAfter > 0 && ue.RetryAfter <= w.cfg.MaxRetryWait
		case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusGatewayTimeout:
			ue.Kind = ErrUpstreamTimeout
			return nil, ue, false
		case resp.StatusCode >= 500:
			return nil, ue, true
		}
		return nil, ue, false
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, w.cfg.MaxResponseBytes+1))
	if err != nil {
		ue, retry := classify(ctx, rctx, err)
		return nil, ue, retry
	}
	if int64(len(b)) > w.cfg.MaxResponseBytes {
		return nil, &UpstreamError{Kind: ErrUpstream, StatusCode: resp.StatusCode,
			Err: fmt.Errorf("answer over %d bytes", w.cfg.MaxResponseBytes)}, false
	}
	var res whisperResponse
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, &UpstreamError{Kind: ErrUpstream, StatusCode: resp.StatusCode,
			Err: fmt.Errorf("undecodable answer: %w", err)}, false
	}
	return &res, nil, false
}

// classify maps a transport error to an UpstreamError and says whether
// one retry is allowed (connection failures only). ctx is the caller's,
// rctx the request's.
func classify(ctx, rctx context.Context, err error) (*UpstreamError, bool) {
	switch {
	case ctx.Err() == context.Canceled:
		return &UpstreamError{Kind: ErrUpstream, Err: context.Canceled}, false
	case rctx.Err() == context.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded):
		return &UpstreamError{Kind: ErrUpstreamTimeout, Err: err}, false
	case errors.Is(err, syscall.ECONNREFUSED):
		return &UpstreamError{Kind: ErrUnavailable, Err: err}, true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &UpstreamError{Kind: ErrUpstreamTimeout, Err: err}, false
	}
	var oe *net.OpError
	if errors.As(err, &oe) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &UpstreamError{Kind: ErrUpstream, Err: err}, true
	}
	return &UpstreamError{Kind: ErrUpstream, Err: err}, false
}
