package media

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/quarryhq/quarry/internal/proc"
)

// Kind is the kind of a stream.
type Kind string

// Stream kinds. Other ffprobe codec types (data, attachment) keep their
// ffprobe name.
const (
	KindAudio    Kind = "audio"
	KindVideo    Kind = "video"
	KindSubtitle Kind = "subtitle"
)

// Info describes probed media.
type Info struct {
	// Format is the container from our own sniffing, forced on ffprobe.
	Format Format
	// Duration is the duration ffprobe reports for the container (or its
	// longest stream); 0 when unknown.
	Duration time.Duration
	Streams  []Stream
}

// Stream is one stream of the media.
type Stream struct {
	// Index is the stream's index in the container (ffmpeg's 0:Index).
	Index int
	Kind  Kind
	// Codec is ffmpeg's codec name, such as "h264", "aac" or "subrip".
	Codec string
	// Language is the language tag of the stream ("eng", "fre"...), or
	// "" (ffmpeg's "und" is reported as "").
	Language string
	// Title is the stream's title tag, or "".
	Title string
	// Default is the container's default flag.
	Default bool
}

// HasAudio reports whether the media has an audio stream.
func (i *Info) HasAudio() bool {
	for _, s := range i.Streams {
		if s.Kind == KindAudio {
			return true
		}
	}
	return false
}

// Probe reads the duration and the streams of the media. Media longer than
// Config.MaxDuration fails with [ErrTooLong]; input that is not an
// accepted container fails with [ErrUnsupportedMedia] before ffprobe runs.
func (t *Tools) Probe(ctx context.Context, r io.ReaderAt, size int64) (*Info, error) {
	s, err := t.stage(ctx, r, size)
	if err != nil {
		return nil, err
	}
	defer s.remove()
	return t.probe(ctx, s)
}

type probeJSON struct {
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
	Streams []struct {
		Index       int               `json:"index"`
		CodecType   string            `json:"codec_type"`
		CodecName   string            `json:"codec_name"`
		Duration    string            `json:"duration"`
		Tags        map[string]string `json:"tags"`
		Disposition map[string]int    `json:"disposition"`
	} `json:"streams"`
}

func (t *Tools) probe(ctx context.Context, s *staged) (*Info, error) {
	args := []string{"-hide_banner", "-v", "error"}
	args = append(args, s.inputArgs()...)
	args = append(args, "-print_format", "json", "-show_format", "-show_streams")
	out := &proc.Buffer{Max: t.cfg.MaxOutputBytes, Strict: true}
	if err := t.run(ctx, t.ffprobe, s.dir, args, out); err != nil {
		return nil, err
	}
	var p probeJSON
	if err := json.Unmarshal(out.Bytes(), &p); err != nil {
		return nil, fmt.Errorf("%w: ffprobe output: %w", ErrMalformed, err)
	}
	info := &Info{Format: s.format, Duration: parseSeconds(p.Format.Duration)}
	for _, st := range p.Streams {
		if info.Duration == 0 {
			info.Duration = max(info.Duration, parseSeconds(st.Duration))
		}
		lang := tag(st.Tags, "language")
		if lang == "und" {
			lang = ""
		}
		info.Streams = append(info.Streams, Stream{
			Index:    st.Index,
			Kind:     Kind(st.CodecType),
			Codec:    st.CodecName,
			Language: lang,
			Title:    tag(st.Tags, "title"),
			Default:  st.Disposition["default"] != 0,
		})
	}
	if info.Duration > t.cfg.MaxDuration {
		return nil, fmt.Errorf("%w: %s is over the limit of %s", ErrTooLong, info.Duration.Round(time.Second), t.cfg.MaxDuration)
	}
	return info, nil
}

func tag(tags map[string]string, key string) string {
	for k, v := range tags {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// parseSeconds parses ffprobe's "12.345000"; "N/A" and junk give 0.
func parseSeconds(s string) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || math.IsNaN(f) || f > math.MaxInt64/float64(time.Second) {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}
