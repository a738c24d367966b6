package transcript_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/transcript"
)

// Register the transcript parser and extract a SubRip file. Subtitle files
// need neither ffmpeg nor a speech engine; audio and video would take a
// media.Tools as Config.Media and a transcribe.Transcriber.
func ExampleParser() {
	p, err := transcript.New(transcript.Config{})
	if err != nil {
		log.Fatal(err)
	}
	reg := extract.NewRegistry()
	reg.MustRegister(transcript.Name, p)
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		log.Fatal(err)
	}

	srt := "1\n00:00:01,000 --> 00:00:02,500\nHello, <i>world</i>!\n\n" +
		"2\n00:00:03,000 --> 00:00:04,250\nSubtitles are\ntranscripts too.\n"
	doc, err := ex.Extract(context.Background(), extract.Input{
		R: strings.NewReader(srt), Size: int64(len(srt)), MediaType: "application/x-subrip",
	}, extract.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("engine %s, %.2f s\n", doc.Metadata.Engine, doc.Metadata.DurationSeconds)
	fmt.Println(doc.Text)
	for _, s := range doc.Segments {
		fmt.Printf("[%d,%d) %.3f-%.3f %q\n", s.Start, s.End, s.StartSeconds, s.EndSeconds, s.Text)
	}
	// Output:
	// engine subtitles, 4.25 s
	// Hello, world!
	// Subtitles are transcripts too.
	// [0,13) 1.000-2.500 "Hello, world!"
	// [14,44) 3.000-4.250 "Subtitles are transcripts too."
}
