package transcribe

import (
	"context"
	"errors"
	"github.com/quarryhq/quarry/internal/upstream"
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
// errors.Is, as the server does for assist: ErrUnavailable and
// ErrRateLimited to dependency_unavailable (503, with Retry-After, see
// [UpstreamError]), ErrUpstreamTimeout to upstream_timeout (504),
// ErrUpstream to fetch_failed (502); ErrTimeout (a local engine killed at
// its deadline) and ErrBadAudio are the caller's to map.
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

// UpstreamError carries the details of a remote server's failure: its
// kind (one of this package's sentinels, matched by errors.Is), HTTP
// status and Retry-After. Its text never holds the upstream body.
type UpstreamError = upstream.Error

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
