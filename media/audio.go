package media

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// Audio format of [Tools.ExtractAudio], what speech recognisers expect.
const (
	AudioSampleRate = 16000
	AudioChannels   = 1
)

// ExtractAudio writes the first audio stream of the media to w as a WAV
// file: 16 kHz, mono, signed 16-bit little-endian PCM, with a complete
// header (sizes filled in). It probes the media first, so media over
// Config.MaxDuration fails with [ErrTooLong] before decoding, and media
// without audio fails with [ErrNoAudio]. It returns the bytes written.
func (t *Tools) ExtractAudio(ctx context.Context, r io.ReaderAt, size int64, w io.Writer) (int64, error) {
	s, err := t.stage(ctx, r, size)
	if err != nil {
		return 0, err
	}
	defer s.remove()
	info, err := t.probe(ctx, s)
	if err != nil {
		return 0, err
	}
	if !info.HasAudio() {
		return 0, ErrNoAudio
	}
	// ffmpeg writes to a file of ours, not a pipe, so it can seek back and
	// fill in the RIFF and data sizes.
	out := filepath.Join(s.dir, "audio.wav")
	args := []string{"-hide_banner", "-nostdin", "-v", "error", "-n"}
	args = append(args, s.inputArgs()...)
	args = append(args,
		"-map", "0:a:0", "-vn", "-sn", "-dn",
		"-ac", strconv.Itoa(AudioChannels), "-ar", strconv.Itoa(AudioSampleRate), "-c:a", "pcm_s16le",
		// Defence in depth: never more than MaxDuration of audio, even if
		// the container lied about its duration.
		"-t", strconv.FormatFloat(t.cfg.MaxDuration.Seconds(), 'f', 3, 64),
		"-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
		"-f", "wav", "file:"+out)
	if err := t.run(ctx, t.ffmpeg, s.dir, args, nil); err != nil {
		return 0, err
	}
	f, err := os.Open(out)
	if err != nil {
		return 0, fmt.Errorf("media: reading the extracted audio: %w", err)
	}
	defer f.Close()
	n, err := io.Copy(w, f)
	if err != nil {
		return n, fmt.Errorf("media: writing the extracted audio: %w", err)
	}
	return n, nil
}
