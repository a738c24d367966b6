package server_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/quarryhq/quarry/extract/standard"
	"github.com/quarryhq/quarry/extract/transcript"
	"github.com/quarryhq/quarry/internal/mediatest"
	"github.com/quarryhq/quarry/media"
	"github.com/quarryhq/quarry/server"
	"github.com/quarryhq/quarry/transcribe"
)

// benchSpeech is read aloud by ffmpeg's flite voice for the benchmark:
// about 20 s of speech.
const benchSpeech = "The quick brown fox jumps over the lazy dog. " +
	"A journey of a thousand miles begins with a single step. " +
	"The library opens at nine in the morning and closes at six in the evening. " +
	"Please remember to bring your ticket and a valid form of identification."

// BenchmarkVideoToText measures POST /video-to-text end to end on an MP4
// (H.264/AAC) of synthesised speech with pocketsphinx: upload, storage,
// probe, audio extraction, recognition and the stored extraction. It
// reports rtf, the seconds of work per second of media.
func BenchmarkVideoToText(b *testing.B) {
	mediatest.RequirePocketsphinx(b)
	dir := b.TempDir()
	path := mediatest.Speech(b, dir, benchSpeech, ".mp4")
	content, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	tools, err := media.New(media.Config{TempDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	ps, err := transcribe.NewPocketsphinx(transcribe.PocketsphinxConfig{TempDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	tp, err := transcript.New(transcript.Config{Media: tools, Transcriber: ps, TempDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	reg := standard.NewRegistry()
	reg.MustRegister(transcript.Name, tp)
	s := newStack(b, stackOptions{registry: reg})

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "speech.mp4")
	fw.Write(content)
	mw.Close()

	var mediaSeconds float64
	start := time.Now()
	for b.Loop() {
		resp, err := http.Post(s.http.URL+"/api/v1/video-to-text", mw.FormDataContentType(), bytes.NewReader(body.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		var env struct {
			Success bool
			Data    server.Transcript
		}
		err = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if err != nil || !env.Success || env.Data.Engine != "pocketsphinx" {
			b.Fatalf("status %d, err %v, %+v", resp.StatusCode, err, env)
		}
		mediaSeconds += env.Data.DurationSeconds
	}
	b.ReportMetric(time.Since(start).Seconds()/mediaSeconds, "rtf")
	b.ReportMetric(mediaSeconds/float64(b.N), "media-s/op")
}
