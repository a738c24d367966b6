package media

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestParseSubtitleFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []Cue
	}{
		{"crlf.srt", []Cue{
			{ms(500), ms(1200), "Hello world"},
			{ms(1300), ms(1900), "Second line\nwith two lines"},
		}},
		{"bom-noblank.srt", []Cue{
			{ms(1000), ms(2000), "no blank line follows"},
			{ms(2500), ms(3500), "Tom & Jerry"},
		}},
		{"sample.vtt", []Cue{
			{ms(1000), ms(2000), "Hi <there>"},
			{time.Hour, time.Hour + ms(1250), "Late"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			parse := ParseSRT
			if filepath.Ext(tt.file) == ".vtt" {
				parse = ParseVTT
			}
			got, err := parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("cues:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestParseEdgeCases(t *testing.T) {
	t.Parallel()
	if cues, err := ParseVTT([]byte("WEBVTT\n\n")); err != nil || len(cues) != 0 {
		t.Errorf("empty VTT: %v, %v", cues, err)
	}
	if cues, err := ParseSRT(nil); err != nil || len(cues) != 0 {
		t.Errorf("empty SRT: %v, %v", cues, err)
	}
	if _, err := ParseSRT([]byte("just some text\n")); !errors.Is(err, ErrMalformed) {
		t.Errorf("text without cues: err = %v, want ErrMalformed", err)
	}
	// End before start, bad timestamps and empty cues are skipped.
	cues, err := ParseSRT([]byte("1\n00:00:05,000 --> 00:00:01,000\nbackwards\n\n2\n00:61:00,000 --> 00:62:00,000\nbad\n\n3\n00:00:01,000 --> 00:00:02,000\n\n4\n00:00:03,000 --> 00:00:04,000\nok\n"))
	if err != nil || len(cues) != 1 || cues[0].Text != "ok" {
		t.Errorf("cues = %q, %v; want only \"ok\"", cues, err)
	}
	if got := JoinText([]Cue{{Text: "a"}, {Text: "b"}}); got != "a\nb" {
		t.Errorf("JoinText = %q", got)
	}
}

func FuzzParseSubtitles(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.[sv][rt][tt]"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("00:00 --> 00:01\nx\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cues, err := ParseSRT(b)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("unexpected error %v", err)
		}
		for _, c := range cues {
			if c.Start < 0 || c.End < c.Start || c.Text == "" || !utf8.ValidString(c.Text) {
				t.Fatalf("bad cue %+v", c)
			}
		}
	})
}

func TestParseVTTBlocksOnly(t *testing.T) {
	in := "WEBVTT\n\nNOTE a comment\nover two lines\n\nSTYLE\n::cue { color: red }\n\nREGION\nid:r1\n"
	cues, err := ParseVTT([]byte(in))
	if err != nil || len(cues) != 0 {
		t.Fatalf("ParseVTT = %v, %v; want no cue and no error", cues, err)
	}
	in += "\n00:00:01.000 --> 00:00:02.000\nHello\n\nNOTE after\n\n00:00:03.000 --> 00:00:04.000\nWorld\n"
	cues, err = ParseVTT([]byte(in))
	if err != nil || len(cues) != 2 || cues[0].Text != "Hello" || cues[1].Text != "World" {
		t.Fatalf("ParseVTT = %+v, %v", cues, err)
	}
	if _, err := ParseVTT([]byte("WEBVTT\n\njust some text\n")); !errors.Is(err, ErrMalformed) {
		t.Errorf("text without cues: err = %v, want ErrMalformed", err)
	}
}
