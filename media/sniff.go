package media

import (
	"bytes"
	"fmt"
	"io"
)

// Format is a container format this package accepts. Its value is the
// name of the ffmpeg demuxer that every call forces with -f, so ffmpeg's
// own probing (which would accept playlists and scripts) never runs.
type Format string

// The accepted formats.
const (
	FormatMOV      Format = "mov" // MP4, MOV, M4A, 3GP
	FormatMatroska Format = "matroska"
	FormatOgg      Format = "ogg"
	FormatWAV      Format = "wav"
	FormatMP3      Format = "mp3"
	FormatFLAC     Format = "flac"
	FormatAVI      Format = "avi"
	FormatMPEGTS   Format = "mpegts"
)

// sniffLen is how much of the start of the input Sniff reads.
const sniffLen = 1024

// Sniff detects the container of the media from its magic bytes. Anything
// it does not recognise, and in particular an HLS playlist, an ffconcat
// script, an SDP description or any text, fails with an error wrapping
// [ErrUnsupportedMedia].
func Sniff(r io.ReaderAt, size int64) (Format, error) {
	head := make([]byte, min(size, sniffLen))
	n, err := r.ReadAt(head, 0)
	if n < len(head) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return "", fmt.Errorf("media: reading the input: %w", err)
	}
	if f := sniffHead(head); f != "" {
		return f, nil
	}
	// MP3 and FLAC files may start with an ID3v2 tag of any size.
	if len(head) >= 10 && bytes.HasPrefix(head, []byte("ID3")) {
		tag := int64(head[6]&0x7f)<<21 | int64(head[7]&0x7f)<<14 | int64(head[8]&0x7f)<<7 | int64(head[9]&0x7f)
		off := 10 + tag
		if head[5]&0x10 != 0 { // footer present
			off += 10
		}
		next := make([]byte, 4)
		if off+4 <= size {
			if _, err := r.ReadAt(next, off); err == nil {
				if bytes.Equal(next, []byte("fLaC")) {
					return FormatFLAC, nil
				}
				if mp3Sync(next) {
					return FormatMP3, nil
				}
			}
		}
	}
	return "", fmt.Errorf("%w: %s", ErrUnsupportedMedia, describe(head))
}

func sniffHead(b []byte) Format {
	has := func(off int, s string) bool {
		return len(b) >= off+len(s) && string(b[off:off+len(s)]) == s
	}
	switch {
	case has(4, "ftyp"), has(4, "moov"), has(4, "mdat"), has(4, "wide"), has(4, "free"), has(4, "skip"):
		return FormatMOV
	case has(0, "\x1a\x45\xdf\xa3"):
		return FormatMatroska
	case has(0, "OggS"):
		return FormatOgg
	case (has(0, "RIFF") || has(0, "RF64")) && has(8, "WAVE"):
		return FormatWAV
	case has(0, "RIFF") && has(8, "AVI "):
		return FormatAVI
	case has(0, "fLaC"):
		return FormatFLAC
	case tsSync(b, 188, 0), tsSync(b, 192, 4):
		return FormatMPEGTS
	case mp3Sync(b):
		return FormatMP3
	}
	return ""
}

// tsSync reports MPEG-TS sync bytes (0x47) at the start of the first
// packets, for packets of the given size (188, or 192 for M2TS).
func tsSync(b []byte, packet, off int) bool {
	n := 0
	for i := off; i < len(b) && n < 3; i += packet {
		if b[i] != 0x47 {
			return false
		}
		n++
	}
	return n >= 2 || (n == 1 && len(b) < packet+off)
}

// mp3Sync reports a valid MPEG audio frame header (layers I to III).
func mp3Sync(b []byte) bool {
	if len(b) < 4 || b[0] != 0xff || b[1]&0xe0 != 0xe0 {
		return false
	}
	version := (b[1] >> 3) & 3
	layer := (b[1] >> 1) & 3
	bitrate := b[2] >> 4
	rate := (b[2] >> 2) & 3
	return version != 1 && layer != 0 && bitrate != 15 && rate != 3
}

// describe names what refused input looks like, for the error message.
func describe(b []byte) string {
	t := bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\ufeff")), " \t\r\n")
	switch {
	case len(b) == 0:
		return "empty input"
	case bytes.HasPrefix(t, []byte("#EXTM3U")):
		return "an HLS/M3U playlist"
	case bytes.HasPrefix(t, []byte("ffconcat")):
		return "an ffconcat script"
	case bytes.HasPrefix(t, []byte("v=0")):
		return "an SDP description"
	}
	return "unrecognised container"
}
