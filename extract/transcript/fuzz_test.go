package transcript_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/transcript"
)

// FuzzParseSubtitleFile reads arbitrary bytes as a SubRip and as a
// WebVTT file, through Parse and through an Extractor (no tools: subtitle
// files never need them). It must not panic, must fail only with
// ErrMalformed or ErrTooLarge, and its segments must index the text, in
// time order, the same before and after the Extractor normalises it.
// Seeds: testdata/fuzz/FuzzParseSubtitleFile.
func FuzzParseSubtitleFile(f *testing.F) {
	f.Add([]byte(twoCues))
	f.Add([]byte("WEBVTT\n\nNOTE a comment\n\n00:01.000 --> 00:02.000 line:0\n<v Bob>Hi &amp; bye</v>\n"))
	p, err := transcript.New(transcript.Config{TempDir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	reg := extract.NewRegistry()
	reg.MustRegister("media", p)
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mt := range []string{"application/x-subrip", "text/vtt"} {
			in := extract.Input{R: bytes.NewReader(data), Size: int64(len(data)), MediaType: mt}
			doc, err := p.Parse(context.Background(), in)
			if err != nil {
				if !errors.Is(err, extract.ErrMalformed) && !errors.Is(err, extract.ErrTooLarge) {
					t.Fatalf("%s: err = %v, want ErrMalformed or ErrTooLarge", mt, err)
				}
				if len(data) > 0 {
					if _, xerr := ex.Extract(context.Background(), in, extract.Options{}); xerr == nil || xerr.Error() != err.Error() {
						t.Fatalf("%s: Extractor err = %v, Parse err = %v", mt, xerr, err)
					}
				}
				continue
			}
			checkParsed(t, mt, doc)
			if len(data) == 0 {
				continue // the Extractor refuses empty input itself
			}
			xdoc, err := ex.Extract(context.Background(), in, extract.Options{})
			if err != nil {
				t.Fatalf("%s: Extractor: %v", mt, err)
			}
			checkSegments(t, xdoc)
			if xdoc.Text != doc.Text || fmt.Sprint(xdoc.Segments) != fmt.Sprint(doc.Segments) {
				t.Fatalf("%s: the Extractor changed the transcript:\n%q %+v\n%q %+v", mt, doc.Text, doc.Segments, xdoc.Text, xdoc.Segments)
			}
		}
	})
}

// checkParsed checks a Document straight from Parse.
func checkParsed(t *testing.T, mt string, doc *extract.Document) {
	t.Helper()
	if doc == nil {
		t.Fatalf("%s: nil document without an error", mt)
	}
	if !utf8.ValidString(doc.Text) || strings.ContainsAny(doc.Text, "\x00\r") {
		t.Fatalf("%s: text %q is not clean UTF-8", mt, doc.Text)
	}
	if len(doc.Pages) != 1 || doc.Pages[0].Text != doc.Text {
		t.Fatalf("%s: pages %+v, want one holding the text", mt, doc.Pages)
	}
	if doc.Metadata.Engine != transcript.EngineSubtitles {
		t.Fatalf("%s: engine %q", mt, doc.Metadata.Engine)
	}
	checkSegments(t, doc)
	for _, s := range doc.Segments {
		if strings.ContainsAny(s.Text, "\n") || s.Text != strings.TrimSpace(s.Text) {
			t.Fatalf("%s: segment %q is not one trimmed line", mt, s.Text)
		}
		if s.EndSeconds > doc.Metadata.DurationSeconds {
			t.Fatalf("%s: segment ends at %.3f s, after the duration %.3f s", mt, s.EndSeconds, doc.Metadata.DurationSeconds)
		}
	}
	if n := strings.Count(doc.Text, "\n"); doc.Text != "" && n != len(doc.Segments)-1 {
		t.Fatalf("%s: %d lines for %d segments", mt, n+1, len(doc.Segments))
	}
}
