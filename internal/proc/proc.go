// Package proc holds what every package that runs an external tool on
// untrusted input needs (ffmpeg and ffprobe in media, pocketsphinx in
// transcribe, tesseract and poppler in extract/ocr): a process group that
// dies as a whole, bounded output buffers, and the one line of a tool's
// stderr that may reach an error message.
package proc

import (
	"bytes"
	"errors"
	"strings"
)

// ErrFull is returned by a strict Buffer past its limit: the tool's next
// write fails, so it stops instead of producing output nobody keeps.
var ErrFull = errors.New("output limit reached")

// Buffer keeps at most Max bytes of what is written to it. Past Max, a
// Strict buffer fails the write with ErrFull; otherwise the rest is
// dropped and the write reports success, so the tool runs to its end.
// Over says whether anything was dropped or refused.
type Buffer struct {
	Max    int64
	Strict bool
	Over   bool
	buf    bytes.Buffer
}

// Write implements io.Writer.
func (b *Buffer) Write(p []byte) (int, error) {
	room := b.Max - int64(b.buf.Len())
	if int64(len(p)) <= room {
		return b.buf.Write(p)
	}
	b.Over = true
	if room > 0 {
		b.buf.Write(p[:room])
	}
	if b.Strict {
		return 0, ErrFull
	}
	return len(p), nil
}

// Bytes returns what was kept.
func (b *Buffer) Bytes() []byte { return b.buf.Bytes() }

// String returns what was kept.
func (b *Buffer) String() string { return b.buf.String() }

// LastLine returns the last non-blank line of s (a tool's stderr),
// capped at 200 bytes of valid UTF-8: the part of a tool's complaint an
// error message may quote.
func LastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	line := strings.TrimSpace(lines[len(lines)-1])
	if len(line) > 200 {
		line = strings.ToValidUTF8(line[:200], "")
	}
	return line
}
