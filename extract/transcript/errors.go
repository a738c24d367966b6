package transcript

import (
	"errors"
	"strings"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/media"
	"github.com/quarryhq/quarry/transcribe"
)

// Error is a transcript failure: Kind is the sentinel callers match (one
// of package extract's, media.ErrUnavailable or one of package
// transcribe's), Cause the error underneath, both reachable with
// errors.Is and errors.As. Its text is Kind's, then Msg: what a user may
// read, without temp paths or tool output.
type Error struct {
	Kind  error
	Cause error
	Msg   string
}

func (e *Error) Error() string {
	if e.Msg == "" {
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Msg
}

// Unwrap returns Kind and Cause.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Cause}
}

// mediaErr classifies a failure of package media under the sentinels of
// package extract, keeping the media error as the cause. Other errors
// (a cancelled ctx, I/O) pass unchanged.
func mediaErr(err error) error {
	for _, m := range []struct {
		media, kind error
		msg         string
	}{
		{media.ErrUnsupportedMedia, extract.ErrUnsupportedFormat, "the content is not audio or video in a container Quarry reads (MP4/MOV, Matroska/WebM, Ogg, WAV, MP3, FLAC, AVI, MPEG-TS)"},
		{media.ErrTooLong, extract.ErrTooLong, ""},
		{media.ErrTimeout, extract.ErrTimeout, "ffmpeg did not finish within its deadline and was stopped"},
		{media.ErrTooLarge, extract.ErrTooLarge, "a subtitle track or the media description is over the size limit"},
		{media.ErrMalformed, extract.ErrMalformed, "ffmpeg cannot read this media"},
		{media.ErrNoAudio, extract.ErrMalformed, "the media has no audio stream"},
		{media.ErrUnavailable, media.ErrUnavailable, "ffmpeg is not installed on this server, so audio and video cannot be read"},
	} {
		if errors.Is(err, m.media) {
			msg := m.msg
			if msg == "" {
				// ErrTooLong's own text says by how much: keep it.
				msg = strings.TrimPrefix(strings.TrimPrefix(err.Error(), m.media.Error()), ": ")
			}
			return &Error{Kind: m.kind, Cause: err, Msg: msg}
		}
	}
	return err
}

// transcribeErr classifies a failure of the speech engine. The engine's
// own sentinels stay (the server maps them: dependency_unavailable,
// fetch_failed, upstream_timeout); a local engine killed at its deadline
// becomes extract.ErrTimeout and unreadable audio extract.ErrMalformed.
func transcribeErr(err error) error {
	switch {
	case errors.Is(err, transcribe.ErrTimeout):
		return &Error{Kind: extract.ErrTimeout, Cause: err, Msg: "speech recognition did not finish within its deadline and was stopped"}
	case errors.Is(err, transcribe.ErrBadAudio):
		return &Error{Kind: extract.ErrMalformed, Cause: err, Msg: "the audio could not be decoded for speech recognition"}
	}
	return err
}
