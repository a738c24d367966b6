package media

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// Track is one text subtitle track of the media, converted to WebVTT.
type Track struct {
	// Index is the stream's index in the container.
	Index    int
	Codec    string
	Language string
	Title    string
	Default  bool
	// VTT is the track as WebVTT text, as ffmpeg wrote it.
	VTT string
	// Cues are the cues of VTT, parsed by [ParseVTT].
	Cues []Cue
}

// textSubtitleCodecs are the subtitle codecs ffmpeg can turn into WebVTT.
// Bitmap subtitles (PGS, DVD, DVB) carry no text and are skipped.
var textSubtitleCodecs = map[string]bool{
	"subrip": true, "srt": true, "ass": true, "ssa": true, "webvtt": true,
	"mov_text": true, "text": true, "microdvd": true, "subviewer": true,
	"subviewer1": true, "sami": true, "realtext": true, "mpl2": true,
	"pjs": true, "vplayer": true, "jacosub": true, "stl": true, "eia_608": true,
}

// Subtitles extracts every text subtitle track of the media, in one ffmpeg
// run, as WebVTT and as parsed cues. Media without text subtitles gives no
// track and no error. As with [Tools.ExtractAudio], the media is probed
// first (ErrTooLong, ErrUnsupportedMedia), and a track over
// Config.MaxOutputBytes fails with [ErrTooLarge].
func (t *Tools) Subtitles(ctx context.Context, r io.ReaderAt, size int64) ([]Track, error) {
	s, err := t.stage(ctx, r, size)
	if err != nil {
		return nil, err
	}
	defer s.remove()
	info, err := t.probe(ctx, s)
	if err != nil {
		return nil, err
	}
	var tracks []Track
	args := []string{"-hide_banner", "-nostdin", "-v", "error", "-n"}
	args = append(args, s.inputArgs()...)
	for _, st := range info.Streams {
		if st.Kind != KindSubtitle || !textSubtitleCodecs[st.Codec] {
			continue
		}
		out := filepath.Join(s.dir, "sub"+strconv.Itoa(len(tracks))+".vtt")
		args = append(args, "-map", "0:"+strconv.Itoa(st.Index), "-c:s", "webvtt",
			"-fs", strconv.FormatInt(t.cfg.MaxOutputBytes+1, 10), "-f", "webvtt", "file:"+out)
		tracks = append(tracks, Track{Index: st.Index, Codec: st.Codec, Language: st.Language, Title: st.Title, Default: st.Default})
	}
	if len(tracks) == 0 {
		return nil, nil
	}
	if err := t.run(ctx, t.ffmpeg, s.dir, args, nil); err != nil {
		return nil, err
	}
	for i := range tracks {
		b, err := readBounded(filepath.Join(s.dir, "sub"+strconv.Itoa(i)+".vtt"), t.cfg.MaxOutputBytes)
		if err != nil {
			return nil, err
		}
		tracks[i].VTT = string(b)
		if tracks[i].Cues, err = ParseVTT(b); err != nil {
			return nil, fmt.Errorf("media: subtitle stream %d: %w", tracks[i].Index, err)
		}
	}
	return tracks, nil
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("media: reading a subtitle track: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("media: reading a subtitle track: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: a subtitle track is over %d bytes", ErrTooLarge, limit)
	}
	return b, nil
}
