// Package transcript is the extract.Parser of audio, video and subtitle
// files: it returns their transcript as a Document, so a video uploaded to
// Quarry is extracted, stored, summarised and chunked like any document.
//
// A transcript comes from the best source there is, in this order:
//
//  1. an uploaded subtitle file given with the media (extract.Input.Companion,
//     which package sources fills from a source's companion),
//  2. a text subtitle track of the container (SubRip, ASS, WebVTT,
//     mov_text...; the default track, else the first),
//  3. speech recognition of the first audio stream by a
//     transcribe.Transcriber (pocketsphinx offline, or an OpenAI-compatible
//     whisper server).
//
// Subtitles win because they are exact text with exact timing; speech
// recognition is a guess. A subtitle file (.srt, .vtt) on its own is read
// as its cues, without ffmpeg.
//
// The Document has one page. Each cue or utterance is a line of its text
// and a [extract.Segment] with its offsets into the text and its times in
// seconds; Metadata.DurationSeconds is the media's duration and
// Metadata.Engine says where the text came from ("subtitles",
// "pocketsphinx", "whisper"). Metadata.Language is the track's language
// tag as an ISO 639-1 code when it has one; otherwise the Extractor
// detects it from the text.
//
// All the work on the media happens in ffmpeg, ffprobe and the speech
// engine, each run by packages media and transcribe in a process group of
// their own under their own limits (see package media for the T25/T26
// measures). The parser is therefore an [extract.ExternalTool]: the
// Extractor gives it Config.Timeout (10 minutes by default) instead of the
// document deadline, and isolate.Pool runs it in the server process.
//
// Failures wrap the sentinels callers already map: media that is not a
// container package media accepts (an HLS playlist named clip.mp4, text,
// an unknown codec container) is extract.ErrUnsupportedFormat, media over
// the duration cap extract.ErrTooLong, unreadable media
// extract.ErrMalformed, a deadline extract.ErrTimeout; a missing ffmpeg
// wraps media.ErrUnavailable and a missing or failing speech engine the
// sentinels of package transcribe.
package transcript
