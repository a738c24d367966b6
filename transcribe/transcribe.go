package transcribe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Transcriber turns speech into text with timings.
type Transcriber interface {
	// Transcribe recognises the speech of wav, a 16 kHz mono signed 16-bit
	// little-endian PCM WAV file of size bytes (what media.ExtractAudio
	// writes). Other WAV formats fail with ErrBadAudio.
	Transcribe(ctx context.Context, wav io.ReaderAt, size int64) (*Transcript, error)
	// Name is the engine's name: "pocketsphinx" or "whisper".
	Name() string
}

// Transcript is the result of a transcription.
type Transcript struct {
	// Segments are the recognised stretches of speech in time order.
	Segments []Segment
	// Text is the segments' text joined with single spaces.
	Text string
	// Engine is the Name of the Transcriber that produced it.
	Engine string
	// Language is the language recognised, or asked for, when known
	// ("en-us" for the pocketsphinx model, what the server reports for
	// whisper); empty when unknown.
	Language string
}

// Segment is a stretch of speech, timed from the start of the audio.
type Segment struct {
	Start time.Duration
	End   time.Duration
	Text  string
}

// Sentinel errors. Failures wrap one of them, so callers map them with
// errors.Is: ErrUnavailable to dependency_unavailable (503),
// ErrUpstreamTimeout and ErrTimeout to upstream_timeout / media_timeout
// (504), ErrUpstream to upstream_error (502), ErrRateLimited to 503 with
// Retry-After (see [UpstreamError]), ErrBadAudio to a 422.
var (
	// ErrUnavailable: the engine is not there (binary or model missing,
	// no server configured, connection refused).
	ErrUnavailable = errors.New("transcribe: engine unavailable")
	// ErrUpstream: the whisper server failed (5xx, bad answer, answer too
	// large), or pocketsphinx failed or printed too much.
	ErrUpstream = errors.New("transcribe: upstream error")
	// ErrUpstreamTimeout: the whisper server did not answer in time.
	ErrUpstreamTimeout = errors.New("transcribe: upstream timeout")
	// ErrRateLimited: the whisper server answered 429.
	ErrRateLimited = errors.New("transcribe: upstream rate limited")
	// ErrTimeout: the local engine (pocketsphinx) ran over its deadline
	// and was killed with its whole process group.
	ErrTimeout = errors.New("transcribe: engine timed out")
	// ErrBadAudio: the input is not a 16 kHz mono s16le PCM WAV file.
	ErrBadAudio = errors.New("transcribe: not 16 kHz mono 16-bit PCM WAV")
)

// UpstreamError carries the details of a whisper server failure. Its
// Error text holds the kind and the HTTP status only, never the upstream
// body. errors.Is matches Kind (one of the sentinels).
type UpstreamError struct {
	// Kind is ErrUpstream, ErrUpstreamTimeout, ErrRateLimited or
	// ErrUnavailable.
	Kind error
	// StatusCode is the upstream HTTP status, 0 when there was none.
	StatusCode int
	// RetryAfter is the upstream's Retry-After, 0 when absent.
	RetryAfter time.Duration
	// Attempts is how many requests were sent for the failing chunk (at
	// most 2).
	Attempts int
	// Err is the underlying error, for debugging; do not show it to users.
	Err error
}

func (e *UpstreamError) Error() string {
	s := e.Kind.Error()
	if e.StatusCode != 0 {
		s += fmt.Sprintf(" (status %d)", e.StatusCode)
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s
}

// Unwrap returns the kind and the cause.
func (e *UpstreamError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// joinText joins the segments' text with single spaces.
func joinText(segs []Segment) string {
	parts := make([]string, 0, len(segs))
	for _, s := range segs {
		if t := strings.TrimSpace(s.Text); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, " ")
}
