package transcribe

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// The audio format every engine here takes, what media.ExtractAudio writes.
const (
	SampleRate     = 16000
	bytesPerSample = 2
	bytesPerSecond = SampleRate * bytesPerSample
	wavHeaderSize  = 44
)

// pcm locates the samples of a validated WAV file: n bytes at off in r.
type pcm struct {
	r   io.ReaderAt
	off int64
	n   int64
}

// duration is the length of the audio.
func (p pcm) duration() time.Duration {
	return bytesToDuration(p.n)
}

func bytesToDuration(n int64) time.Duration {
	return time.Duration(n) * time.Second / bytesPerSecond
}

// durationToBytes converts d to a byte count on a sample boundary.
func durationToBytes(d time.Duration) int64 {
	return int64(d/time.Millisecond) * bytesPerSecond / 1000 / bytesPerSample * bytesPerSample
}

// parseWAV checks that r holds a 16 kHz mono s16le PCM WAV file and
// returns where its samples are. It walks the RIFF chunks (ffmpeg may write
// LIST chunks before data) and tolerates a data size larger than the file
// (a header written by a streaming encoder).
func parseWAV(r io.ReaderAt, size int64) (pcm, error) {
	var hdr [12]byte
	if size < wavHeaderSize {
		return pcm{}, fmt.Errorf("%w: %d bytes is too short", ErrBadAudio, size)
	}
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return pcm{}, fmt.Errorf("%w: reading the header: %w", ErrBadAudio, err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return pcm{}, fmt.Errorf("%w: no RIFF/WAVE header", ErrBadAudio)
	}
	var sawFmt bool
	off := int64(12)
	for off+8 <= size {
		var ch [8]byte
		if _, err := r.ReadAt(ch[:], off); err != nil {
			return pcm{}, fmt.Errorf("%w: reading a chunk header: %w", ErrBadAudio, err)
		}
		id := string(ch[0:4])
		n := int64(binary.LittleEndian.Uint32(ch[4:8]))
		body := off + 8
		switch id {
		case "fmt ":
			if n < 16 {
				return pcm{}, fmt.Errorf("%w: short fmt chunk", ErrBadAudio)
			}
			var f [16]byte
			if _, err := r.ReadAt(f[:], body); err != nil {
				return pcm{}, fmt.Errorf("%w: reading the fmt chunk: %w", ErrBadAudio, err)
			}
			format := binary.LittleEndian.Uint16(f[0:2])
			channels := binary.LittleEndian.Uint16(f[2:4])
			rate := binary.LittleEndian.Uint32(f[4:8])
			bits := binary.LittleEndian.Uint16(f[14:16])
			// 0xFFFE is WAVE_FORMAT_EXTENSIBLE; with 16-bit mono it is PCM.
			if (format != 1 && format != 0xFFFE) || channels != 1 || rate != SampleRate || bits != 16 {
				return pcm{}, fmt.Errorf("%w: format %d, %d channels, %d Hz, %d bits", ErrBadAudio, format, channels, rate, bits)
			}
			sawFmt = true
		case "data":
			if !sawFmt {
				return pcm{}, fmt.Errorf("%w: data chunk before fmt chunk", ErrBadAudio)
			}
			n = min(n, size-body)
			n -= n % bytesPerSample
			return pcm{r: r, off: body, n: n}, nil
		}
		off = body + n + n%2 // chunks are padded to even sizes
	}
	return pcm{}, fmt.Errorf("%w: no data chunk", ErrBadAudio)
}

// writeWAV writes n bytes of p's samples from byte offset from (a sample
// boundary) as a complete canonical 44-byte-header WAV file.
func writeWAV(w io.Writer, p pcm, from, n int64) error {
	var h [wavHeaderSize]byte
	copy(h[0:4], "RIFF")
	binary.LittleEndian.PutUint32(h[4:8], uint32(36+n))
	copy(h[8:16], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:20], 16)
	binary.LittleEndian.PutUint16(h[20:22], 1) // PCM
	binary.LittleEndian.PutUint16(h[22:24], 1) // mono
	binary.LittleEndian.PutUint32(h[24:28], SampleRate)
	binary.LittleEndian.PutUint32(h[28:32], bytesPerSecond)
	binary.LittleEndian.PutUint16(h[32:34], bytesPerSample)
	binary.LittleEndian.PutUint16(h[34:36], 16)
	copy(h[36:40], "data")
	binary.LittleEndian.PutUint32(h[40:44], uint32(n))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := io.Copy(w, io.NewSectionReader(p.r, p.off+from, n))
	return err
}
