package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/quarryhq/quarry/extract/transcript"
	"github.com/quarryhq/quarry/media"
	"github.com/quarryhq/quarry/transcribe"
)

// newTranscriptParser builds the parser of audio, video and subtitle files
// from ffmpeg (when installed) and the speech engine QUARRY_TRANSCRIBER
// picks, and returns what /health reports of them. A missing ffmpeg is not
// an error: video-to-text then answers dependency_unavailable, and says so
// in the log and on /health. A speech engine asked for by name that is not
// there is an error; "auto" falls back to subtitles only.
func newTranscriptParser(cfg Config, log *slog.Logger) (*transcript.Parser, map[string]string, error) {
	engines := map[string]string{}
	tc := transcript.Config{Timeout: cfg.MediaTimeout, Logger: log}
	tools, err := media.New(media.Config{MaxDuration: cfg.MediaMaxDuration, Timeout: cfg.MediaTimeout, Logger: log})
	switch {
	case err == nil:
		tc.Media = tools
		engines["ffmpeg"] = "ok"
	case errors.Is(err, media.ErrUnavailable):
		engines["ffmpeg"] = "unavailable"
		log.Info("video-to-text is off: ffmpeg is not installed (Debian: apt install ffmpeg); subtitle files are still read", "reason", err.Error())
	default:
		return nil, nil, fmt.Errorf("media: %w", err)
	}
	tr, err := newTranscriber(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	if tr != nil {
		tc.Transcriber = tr
		engines["transcriber"] = tr.Name()
	} else {
		engines["transcriber"] = "off"
	}
	p, err := transcript.New(tc)
	if err != nil {
		return nil, nil, err
	}
	return p, engines, nil
}

// newTranscriber returns the speech engine of QUARRY_TRANSCRIBER, or nil
// for none (subtitles only).
func newTranscriber(cfg Config, log *slog.Logger) (transcribe.Transcriber, error) {
	mode := strings.ToLower(cfg.Transcriber)
	whisper := func() (transcribe.Transcriber, error) {
		w, err := transcribe.NewWhisper(transcribe.WhisperConfig{
			BaseURL: cfg.WhisperURL, Model: cfg.WhisperModel, APIKey: cfg.WhisperAPIKey, Language: cfg.WhisperLanguage, Logger: log,
		})
		if err != nil {
			return nil, fmt.Errorf("QUARRY_WHISPER_URL (whisper_url): %w", err)
		}
		log.Info("speech recognition: whisper", "url", cfg.WhisperURL, "model", cfg.WhisperModel)
		return w, nil
	}
	switch {
	case mode == "off":
		log.Info("speech recognition is off (QUARRY_TRANSCRIBER=off): only media with subtitles is transcribed")
		return nil, nil
	case mode == "whisper", mode == "auto" && cfg.WhisperURL != "":
		return whisper()
	}
	ps, err := transcribe.NewPocketsphinx(transcribe.PocketsphinxConfig{Timeout: cfg.MediaTimeout, Logger: log})
	switch {
	case err == nil:
		log.Info("speech recognition: pocketsphinx (offline, English)")
		return ps, nil
	case mode == "auto" && errors.Is(err, transcribe.ErrUnavailable):
		log.Info("speech recognition is off: pocketsphinx is not installed and QUARRY_WHISPER_URL is not set (QUARRY_TRANSCRIBER=auto); only media with subtitles is transcribed", "reason", err.Error())
		return nil, nil
	}
	return nil, fmt.Errorf("QUARRY_TRANSCRIBER (transcriber): %w", err)
}
