// Package transcribe turns speech into timed text behind the
// [Transcriber] interface. Its input is what media.ExtractAudio writes: a
// 16 kHz mono signed 16-bit little-endian PCM WAV file (other formats
// fail with [ErrBadAudio]).
//
// # Engines
//
// [Pocketsphinx] ([NewPocketsphinx]) is the offline engine: CMU
// pocketsphinx 0.8+5prealpha as Debian packages it (pocketsphinx,
// pocketsphinx-en-us), run as
//
//	pocketsphinx_continuous -infile audio.wav -time yes -hmm ... -lm ... -dict ...
//
// Its standard output is, per utterance, the hypothesis line then one
// "word start end posterior" line per word; each utterance becomes a
// [Segment] timed by its first and last words (fillers dropped, "the(2)"
// folded to "the"). The newer pocketsphinx 5 CLI ("pocketsphinx single",
// JSON output) is not what Debian ships and is not supported yet. Every
// run writes its own copy of the audio with a canonical 44-byte header
// (5prealpha skips exactly 44 bytes) into a private temp directory that is
// always removed, runs with exec.CommandContext in a process group of its
// own (Setpgid, Pdeathsig) killed as a whole when the context ends or at
// Timeout ([ErrTimeout]), with an empty environment and bounded stdout and
// stderr. [NewPocketsphinx] fails with [ErrUnavailable] when the binary
// or the model files are missing. On speech synthesised by ffmpeg's flite
// voice rms it measured a word error rate of 3.7 % here, at about 0.3 s
// of work per second of audio (model loading included).
//
// [Whisper] ([NewWhisper]) posts to any OpenAI-compatible
// /v1/audio/transcriptions server (OpenAI, whisper.cpp server,
// faster-whisper/speaches, LocalAI, vLLM) with net/http and
// mime/multipart: fields model, response_format=verbose_json,
// timestamp_granularities[]=segment and language, and the audio as the
// file part (audio/wav). Plain net/http keeps the retry and Retry-After
// rules identical to the assist package's and lets the WAV chunks be
// sent as built, which openai-go would not make simpler. Audio longer
// than ChunkDuration (10 min) is split in Go by sample offsets into
// chunks overlapping by ChunkOverlap (5 s), each with a fresh WAV header;
// segment times are shifted by the chunk's start and, where chunks
// overlap, a segment is kept from the chunk owning its midpoint (each
// overlap is split at its middle), so duplicates are dropped.
//
// # Errors
//
// Failures wrap a sentinel, matched with errors.Is: [ErrUnavailable]
// (dependency_unavailable), [ErrUpstream] (upstream_error),
// [ErrUpstreamTimeout] and [ErrTimeout] (timeouts), [ErrRateLimited]
// (503 with Retry-After), [ErrBadAudio] (422). Whisper failures are
// [*UpstreamError]s carrying the status and Retry-After. A 5xx or a
// connection failure is retried once; a 429 is retried once only when its
// Retry-After is at most MaxRetryWait, otherwise it fails at once with
// the Retry-After passed on; 408/504 and timeouts are not retried.
package transcribe
