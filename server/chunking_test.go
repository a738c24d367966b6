package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract/chunk"
	"github.com/quarryhq/quarry/server"
)

const guideMD = `# Quarry guide

Quarry turns documents into clean text. It reads PDF, Word, OpenDocument, HTML and Markdown files.

## Installing

Download the binary for your platform and put it on your path. No other program is needed.

### On Linux

Use the package of your distribution, or the static binary. Both run on any recent kernel.

## Running

Start the server with quarry serve. It listens on the loopback address by default, so that nothing is exposed by accident.
`

var chunkID = regexp.MustCompile(`^chk_[0-9a-f]{16}$`)

// checkExtractionChunks checks the chunks of an extraction against its
// text: exact slices in code points, ids, pages, paths never null.
func checkExtractionChunks(t *testing.T, x server.Extraction) {
	t.Helper()
	runes := []rune(x.Text)
	prev := -1
	for i, c := range x.Chunks {
		if c.Start <= prev || c.End > len(runes) || string(runes[c.Start:c.End]) != c.Text {
			t.Fatalf("chunk %d [%d,%d) is not text[start:end] in order: %q", i, c.Start, c.End, c.Text)
		}
		if !chunkID.MatchString(c.ID) || c.HeadingPath == nil || c.PageStart < 1 || c.PageEnd < c.PageStart {
			t.Fatalf("chunk %d: %+v", i, c)
		}
		prev = c.Start
	}
}

func TestExtractChunking(t *testing.T) {
	s := newStack(t, stackOptions{})
	src := uploadText(t, s, "guide.md", guideMD)
	r := s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID, "options": map[string]any{
		"chunking": map[string]any{"strategy": "by_heading", "max_chars": 120, "overlap": 30}}})
	var x server.Extraction
	requireOK(t, r, http.StatusOK, &x)
	if bytes.Contains(r.body, []byte(`"heading_path":null`)) || !bytes.Contains(r.body, []byte(`"heading_path":[`)) {
		t.Fatalf("heading_path is not always an array: %s", r.body)
	}
	checkExtractionChunks(t, x)
	if len(x.Chunks) < 5 {
		t.Fatalf("%d chunks, want the sections split at 120 characters", len(x.Chunks))
	}
	var linux []string
	for _, c := range x.Chunks {
		if n := len([]rune(c.Text)); n > 120 {
			t.Errorf("chunk of %d characters over max_chars 120: %q", n, c.Text)
		}
		if strings.Contains(c.Text, "kernel") {
			linux = c.HeadingPath
		}
	}
	if want := []string{"Quarry guide", "Installing", "On Linux"}; !slices.Equal(linux, want) {
		t.Errorf("the Linux section's path is %q, want %q", linux, want)
	}
	if x.Metadata.Language != "en" {
		t.Errorf("metadata.language = %q, want en", x.Metadata.Language)
	}

	// The stored extraction is the one returned, chunks included.
	var got server.Source
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/source/"+src.ID, nil), http.StatusOK, &got)
	if got.LatestExtraction == nil || len(got.LatestExtraction.Chunks) != len(x.Chunks) {
		t.Fatalf("latest_extraction does not carry the chunks: %+v", got.LatestExtraction)
	}
	for i, c := range got.LatestExtraction.Chunks {
		if c.ID != x.Chunks[i].ID || c.Text != x.Chunks[i].Text || !slices.Equal(c.HeadingPath, x.Chunks[i].HeadingPath) {
			t.Fatalf("stored chunk %d differs: %+v vs %+v", i, c, x.Chunks[i])
		}
	}

	// Same input, same chunks; without chunking, no chunks field at all,
	// and the latest extraction is that one.
	var again server.Extraction
	requireOK(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID, "options": map[string]any{
		"chunking": map[string]any{"strategy": "by_heading", "max_chars": 120, "overlap": 30}}}), http.StatusOK, &again)
	for i := range x.Chunks {
		if again.Chunks[i].ID != x.Chunks[i].ID {
			t.Fatalf("chunk %d: id %s then %s", i, x.Chunks[i].ID, again.Chunks[i].ID)
		}
	}
	r = s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID})
	requireOK(t, r, http.StatusOK, nil)
	if bytes.Contains(r.env.Data, []byte(`"chunks"`)) {
		t.Errorf("chunks nobody asked for: %s", r.env.Data)
	}
	var latest server.Source
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/source/"+src.ID, nil), http.StatusOK, &latest)
	if latest.LatestExtraction == nil || latest.LatestExtraction.Chunks != nil {
		t.Errorf("latest_extraction after an extraction without chunking: %+v", latest.LatestExtraction)
	}
}

func TestExtractChunkingTokensAndPages(t *testing.T) {
	s := newStack(t, stackOptions{})
	src := uploadText(t, s, "guide.md", guideMD)
	var x server.Extraction
	requireOK(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID, "options": map[string]any{
		"chunking": map[string]any{"max_tokens": 20, "overlap": 5}}}), http.StatusOK, &x)
	checkExtractionChunks(t, x)
	for _, c := range x.Chunks {
		if n := chunk.CountTokens(c.Text); n > 20 {
			t.Errorf("chunk of %d tokens over max_tokens 20: %q", n, c.Text)
		}
	}
	// by_page on a one-page document, in summary mode: the chunks index the
	// summary that is returned.
	requireOK(t, s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID, "mode": "summary", "options": map[string]any{
		"summary_sentences": 2, "chunking": map[string]any{"strategy": "by_page", "max_chars": 100000}}}), http.StatusOK, &x)
	checkExtractionChunks(t, x)
	if len(x.Chunks) != 1 || x.Chunks[0].Text != strings.TrimSpace(x.Text) {
		t.Errorf("summary chunks %+v of %q", x.Chunks, x.Text)
	}
	// A document without text: an empty list, not null.
	blank := uploadText(t, s, "blank.txt", " \n\n ")
	r := s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": blank.ID, "options": map[string]any{"chunking": map[string]any{}}})
	requireOK(t, r, http.StatusOK, nil)
	if !bytes.Contains(r.env.Data, []byte(`"chunks":[]`)) {
		t.Errorf("chunks of a blank document: %s", r.env.Data)
	}
}

func TestExtractChunkingValidation(t *testing.T) {
	s := newStack(t, stackOptions{})
	src := uploadText(t, s, "guide.md", guideMD)
	for _, c := range []struct {
		name     string
		chunking any
		field    string
	}{
		{"unknown strategy", map[string]any{"strategy": "sentences"}, "body.options.chunking.strategy"},
		{"zero cap", map[string]any{"max_chars": 0}, "body.options.chunking.max_chars"},
		{"negative cap", map[string]any{"max_chars": -5}, "body.options.chunking.max_chars"},
		{"cap over the maximum", map[string]any{"max_tokens": 200000}, "body.options.chunking.max_tokens"},
		{"negative overlap", map[string]any{"overlap": -1}, "body.options.chunking.overlap"},
		{"both caps", map[string]any{"max_chars": 500, "max_tokens": 100}, "body.options.chunking.max_tokens"},
		{"overlap over half the cap", map[string]any{"max_chars": 100, "overlap": 60}, "body.options.chunking.overlap"},
		{"overlap over half the default cap", map[string]any{"overlap": 1500}, "body.options.chunking.overlap"},
		{"unknown field", map[string]any{"size": 10}, "body.options.chunking.size"},
		{"not an object", "fixed", "body.options.chunking"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID, "options": map[string]any{"chunking": c.chunking}})
			requireError(t, r, http.StatusUnprocessableEntity, server.CodeValidationError)
			requireDetail(t, r, c.field)
		})
	}
	// Refused options leave the source as it was.
	var got server.Source
	requireOK(t, s.do(t, http.MethodGet, "/api/v1/source/"+src.ID, nil), http.StatusOK, &got)
	if got.Status != "stored" {
		t.Errorf("status after refused options: %q", got.Status)
	}
	// A cap too small for the document: too many chunks.
	big := uploadText(t, s, "words.txt", strings.Repeat("a ", 100001))
	r := s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": big.ID, "options": map[string]any{"chunking": map[string]any{"max_chars": 1}}})
	requireError(t, r, http.StatusUnprocessableEntity, server.CodeValidationError)
	requireDetail(t, r, "body.options.chunking.max_chars")
}

func TestExtractLanguage(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, c := range []struct{ name, text, want string }{
		{"de.txt", "Alle Menschen sind frei und gleich an Würde und Rechten geboren. Sie sind mit Vernunft und Gewissen begabt und sollen einander im Geist der Brüderlichkeit begegnen.", "de"},
		{"ja.txt", "すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。人間は、理性と良心とを授けられており、互いに同胞の精神をもって行動しなければならない。", "ja"},
		{"ar.txt", "يولد جميع الناس أحراراً متساوين في الكرامة والحقوق. وقد وهبوا عقلاً وضميراً وعليهم أن يعامل بعضهم بعضاً بروح الإخاء.", "ar"},
		{"ok.txt", "OK", ""},
	} {
		src := uploadText(t, s, c.name, c.text)
		r := s.postJSON(t, "/api/v1/extract", map[string]any{"source_id": src.ID})
		var x server.Extraction
		requireOK(t, r, http.StatusOK, &x)
		if x.Metadata.Language != c.want {
			t.Errorf("%s: metadata.language = %q, want %q", c.name, x.Metadata.Language, c.want)
		}
		var raw struct {
			Metadata map[string]json.RawMessage `json:"metadata"`
		}
		if err := json.Unmarshal(r.env.Data, &raw); err != nil {
			t.Fatal(err)
		}
		if _, ok := raw.Metadata["language"]; ok != (c.want != "") {
			t.Errorf("%s: metadata %s", c.name, r.env.Data)
		}
	}
}
