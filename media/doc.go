// Package media runs ffmpeg and ffprobe on untrusted uploaded media: it
// probes duration and streams ([Tools.Probe]), extracts the audio as
// 16 kHz mono WAV for speech recognition ([Tools.ExtractAudio]) and
// extracts text subtitle tracks as WebVTT and cues ([Tools.Subtitles]).
// [ParseSRT] and [ParseVTT] read uploaded subtitle files.
//
// # Safety measures
//
// ffmpeg follows whatever its input tells it to: an "MP4" that is really
// an HLS playlist or an ffconcat script makes it open other local files
// or URLs (RELIABILITY.md T25). Decoding hostile media can also take
// unbounded time (T26). Every call therefore:
//
//   - sniffs the container from its magic bytes with our own code
//     ([Sniff]: MP4/MOV, Matroska/WebM, Ogg, WAV, MP3, FLAC, AVI, MPEG-TS)
//     and refuses anything else with [ErrUnsupportedMedia] before any tool
//     runs, playlists, ffconcat scripts, SDP and text included;
//   - forces that demuxer with -f, so ffmpeg's own format probing (which
//     would pick the hls or concat demuxer) never runs; for MOV it also
//     sets -enable_drefs 0 so no external data reference is followed;
//   - passes -protocol_whitelist file, so even a demuxer that tried to
//     open a nested resource could not reach the network, and gives the
//     input as "file:" plus the path of a copy in a private temp
//     directory of ours (never a path a user chose);
//   - runs the tool with exec.CommandContext, -nostdin, stdin from
//     /dev/null, an empty environment (no credentials inherited), in a
//     process group of its own (Setpgid; Pdeathsig kills it if Quarry
//     dies): at Config.Timeout or when the caller's context ends, the
//     whole group is killed with SIGKILL and the call fails with
//     [ErrTimeout] (or the context's error when cancelled);
//   - bounds what it keeps of the tool's output (Config.MaxOutputBytes
//     for ffprobe's JSON and each subtitle track, [ErrTooLarge] past it;
//     16 KiB of stderr, of which only the last line, with our temp paths
//     removed, reaches error messages);
//   - probes first and refuses media longer than Config.MaxDuration with
//     [ErrTooLong] before decoding; audio extraction is also cut at
//     MaxDuration with -t in case the container lied;
//   - removes its temp directory when it returns, whatever happened.
//
// [New] fails with [ErrUnavailable] when ffmpeg or ffprobe is missing, so
// the server can answer dependency_unavailable and report the feature off.
//
// The transcript parser (package extract/transcript) turns these errors
// into the HTTP contract's codes: ErrUnsupportedMedia ->
// unsupported_media_type (415), ErrTooLong -> media_too_long (422),
// ErrTimeout -> extraction_timeout (422), ErrUnavailable ->
// dependency_unavailable (503), ErrMalformed and ErrNoAudio ->
// malformed_document (422).
package media
