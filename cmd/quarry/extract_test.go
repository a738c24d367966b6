package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const chunkDoc = "# Guide\n\nQuarry turns documents into clean text. It reads many formats.\n\n## Install\n\nDownload the binary and put it on your path.\n\n## Run\n\nStart the server with quarry serve.\n"

func TestExtractCommandChunks(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "guide.md")
	if err := os.WriteFile(file, []byte(chunkDoc), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"extract", "--json", "--chunk-strategy", "by_heading", "--chunk-max-chars", "60", "--chunk-overlap", "10", file}, nil, &out, &errOut, env(nil))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var res extractResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out.String())
	}
	if len(res.Chunks) < 3 {
		t.Fatalf("chunks %+v", res.Chunks)
	}
	runes := []rune(res.Text)
	for _, c := range res.Chunks {
		if string(runes[c.Start:c.End]) != c.Text || len([]rune(c.Text)) > 60 || c.HeadingPath == nil || !strings.HasPrefix(c.ID, "chk_") {
			t.Errorf("chunk %+v", c)
		}
	}
	if last := res.Chunks[len(res.Chunks)-1]; strings.Join(last.HeadingPath, " > ") != "Guide > Run" {
		t.Errorf("last chunk's path %q", last.HeadingPath)
	}
	if res.Metadata.Language != "en" {
		t.Errorf("language %q", res.Metadata.Language)
	}

	// Without --json: the chunks, each under a line naming it.
	out.Reset()
	code = run(context.Background(), []string{"extract", "--chunk-max-tokens", "12", file}, nil, &out, &errOut, env(nil))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "[chunk 1/") || !strings.Contains(out.String(), "page 1: Guide > Install]\n") {
		t.Errorf("plain output:\n%s", out.String())
	}

	// Without --chunk-* flags: no chunks.
	out.Reset()
	if code := run(context.Background(), []string{"extract", "--json", file}, nil, &out, &errOut, env(nil)); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(out.String(), `"chunks"`) {
		t.Errorf("chunks nobody asked for: %s", out.String())
	}
}

func TestExtractCommandChunkFlagErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "guide.md")
	if err := os.WriteFile(file, []byte(chunkDoc), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--chunk-strategy", "sentences"}, "--chunk-strategy: must be fixed, by_page or by_heading"},
		{[]string{"--chunk-max-chars", "-1"}, "--chunk-max-chars: must not be negative"},
		{[]string{"--chunk-max-chars", "100", "--chunk-max-tokens", "10"}, "--chunk-max-tokens: set max_chars or max_tokens, not both"},
		{[]string{"--chunk-max-tokens", "100", "--chunk-overlap", "80"}, "--chunk-overlap: must be at most half the cap"},
		{[]string{"--chunk-overlap", "x"}, "chunk-overlap"},
	} {
		var out, errOut bytes.Buffer
		args := append(append([]string{"extract"}, c.args...), file)
		if code := run(context.Background(), args, nil, &out, &errOut, env(nil)); code != 2 {
			t.Errorf("%v: exit %d, want 2", c.args, code)
		}
		if !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: stderr %q, want %q", c.args, errOut.String(), c.want)
		}
		if out.Len() != 0 {
			t.Errorf("%v: output %q", c.args, out.String())
		}
	}
}
