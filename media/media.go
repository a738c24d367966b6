package media

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"time"
)

// Errors returned by this package. Callers match them with errors.Is; the
// server maps them to its error codes.
var (
	// ErrUnavailable means ffmpeg or ffprobe is not installed (or was
	// removed since [New]): dependency_unavailable.
	ErrUnavailable = errors.New("media: ffmpeg unavailable")
	// ErrUnsupportedMedia means the input is not a container this package
	// accepts (by its own sniffing), such as an HLS playlist, an ffconcat
	// script or text: unsupported_media_type.
	ErrUnsupportedMedia = errors.New("media: unsupported media")
	// ErrTooLong means the media lasts longer than Config.MaxDuration:
	// media_too_long.
	ErrTooLong = errors.New("media: media too long")
	// ErrTimeout means an ffmpeg or ffprobe call ran over its deadline
	// and was killed with its whole process group: extraction_timeout.
	ErrTimeout = errors.New("media: media processing timed out")
	// ErrMalformed means ffmpeg or ffprobe could not read the media, or a
	// subtitle file holds no cue.
	ErrMalformed = errors.New("media: malformed media")
	// ErrNoAudio means the media has no audio stream to extract.
	ErrNoAudio = errors.New("media: no audio stream")
	// ErrTooLarge means a tool's output (ffprobe JSON, a subtitle track)
	// went over Config.MaxOutputBytes.
	ErrTooLarge = errors.New("media: output too large")
)

// Defaults of [Config].
const (
	DefaultMaxDuration    = 3 * time.Hour
	DefaultTimeout        = 10 * time.Minute
	DefaultMaxOutputBytes = 64 << 20
)

// Config configures [Tools]. The zero value is usable: every zero field
// takes its default.
type Config struct {
	// FFmpeg and FFprobe are the commands to run, looked up in PATH when
	// they hold no slash. Defaults "ffmpeg" and "ffprobe".
	FFmpeg  string
	FFprobe string
	// TempDir is where each call makes (and always removes) its private
	// working directory. Default os.TempDir().
	TempDir string
	// MaxDuration is the longest media accepted: longer media fails with
	// ErrTooLong before any decoding. Default DefaultMaxDuration.
	MaxDuration time.Duration
	// Timeout bounds every single ffmpeg or ffprobe call; at the deadline
	// its process group is killed. Default DefaultTimeout.
	Timeout time.Duration
	// MaxOutputBytes bounds what a call's output is allowed to hold in
	// memory (ffprobe JSON, each subtitle track). Default
	// DefaultMaxOutputBytes.
	MaxOutputBytes int64
	// Logger receives debug records of the commands run (never the media
	// content). Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.FFmpeg == "" {
		c.FFmpeg = "ffmpeg"
	}
	if c.FFprobe == "" {
		c.FFprobe = "ffprobe"
	}
	if c.TempDir == "" {
		c.TempDir = os.TempDir()
	}
	if c.MaxDuration == 0 {
		c.MaxDuration = DefaultMaxDuration
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxOutputBytes == 0 {
		c.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.MaxDuration < 0:
		return fmt.Errorf("media: Config.MaxDuration must not be negative, got %s", c.MaxDuration)
	case c.Timeout < 0:
		return fmt.Errorf("media: Config.Timeout must not be negative, got %s", c.Timeout)
	case c.MaxOutputBytes < 0:
		return fmt.Errorf("media: Config.MaxOutputBytes must not be negative, got %d", c.MaxOutputBytes)
	}
	fi, err := os.Stat(c.TempDir)
	if err != nil {
		return fmt.Errorf("media: Config.TempDir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("media: Config.TempDir %q is not a directory", c.TempDir)
	}
	return nil
}

// Tools runs ffmpeg and ffprobe on untrusted media with the safety
// measures described in the package documentation. It is safe for
// concurrent use.
type Tools struct {
	cfg     Config
	ffmpeg  string // resolved paths
	ffprobe string
}

// New checks the configuration and finds the two commands. When either is
// missing the error wraps [ErrUnavailable].
func New(cfg Config) (*Tools, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ffmpeg, err := exec.LookPath(cfg.FFmpeg)
	if err != nil {
		return nil, fmt.Errorf("%w: Config.FFmpeg %q: %w", ErrUnavailable, cfg.FFmpeg, err)
	}
	ffprobe, err := exec.LookPath(cfg.FFprobe)
	if err != nil {
		return nil, fmt.Errorf("%w: Config.FFprobe %q: %w", ErrUnavailable, cfg.FFprobe, err)
	}
	return &Tools{cfg: cfg, ffmpeg: ffmpeg, ffprobe: ffprobe}, nil
}

// Config returns the configuration in use, defaults filled in.
func (t *Tools) Config() Config { return t.cfg }
