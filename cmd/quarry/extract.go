package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/server"
)

// extractResult is one line of `quarry extract --json`: the Extraction
// object of the HTTP contract, without a source id (nothing is stored).
type extractResult struct {
	File       string            `json:"file"`
	Mode       extract.Mode      `json:"mode"`
	Text       string            `json:"text"`
	Pages      []extract.Page    `json:"pages"`
	Metadata   extract.Metadata  `json:"metadata"`
	Warnings   []extract.Warning `json:"warnings"`
	Chunks     []extract.Chunk   `json:"chunks,omitzero"`
	DurationMS int64             `json:"duration_ms"`
}

// chunkFlags are the --chunk-* flags of quarry extract.
var chunkFlags = map[string]string{
	"chunk-strategy": "chunking.strategy", "chunk-max-chars": "chunking.max_chars",
	"chunk-max-tokens": "chunking.max_tokens", "chunk-overlap": "chunking.overlap",
}

// extractCmd extracts files offline. Exit status 1 when any file failed;
// each failure prints "FILE: CODE: message" on stderr.
func extractCmd(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("quarry extract", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mode := fs.String("mode", "text", "text or summary")
	asJSON := fs.Bool("json", false, "print one Extraction object per file, one per line")
	password := fs.String("password", "", "password for encrypted documents")
	pages := fs.String("pages", "", "page selection such as 1-3,7")
	headersFooters := fs.Bool("headers-footers", false, "include page headers and footers (left out by default)")
	chunking := &extract.ChunkOptions{}
	fs.StringVar(&chunking.Strategy, "chunk-strategy", "", "split the text into chunks: fixed (default), by_page or by_heading; any --chunk-* flag asks for chunks")
	fs.IntVar(&chunking.MaxChars, "chunk-max-chars", 0, "cap on a chunk in code points (2000 when no cap is given)")
	fs.IntVar(&chunking.MaxTokens, "chunk-max-tokens", 0, "cap on a chunk in approximate tokens, instead of --chunk-max-chars")
	fs.IntVar(&chunking.Overlap, "chunk-overlap", 0, "how much of a chunk the next one repeats, in the unit of the cap (at most half of it)")
	cfg, files, err := loadConfig(fs, args, getenv)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintln(stderr, "quarry extract:", err)
		return 2
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "usage: quarry extract [--mode text|summary] [--json] [--chunk-strategy fixed|by_page|by_heading] [--chunk-max-chars N | --chunk-max-tokens N] [--chunk-overlap N] FILE...")
		return 2
	}
	if *mode != string(extract.ModeText) && *mode != string(extract.ModeSummary) {
		fmt.Fprintf(stderr, "quarry extract: --mode: want text or summary, got %q\n", *mode)
		return 2
	}
	chunked := false
	fs.Visit(func(f *flag.Flag) { chunked = chunked || chunkFlags[f.Name] != "" })
	if !chunked {
		chunking = nil
	} else if err := chunking.Validate(); err != nil {
		fmt.Fprintln(stderr, "quarry extract:", chunkFlagError(err))
		return 2
	}
	log := slog.New(slog.DiscardHandler)
	if cfg.LogLevel == "debug" {
		log = newLogger(cfg, stderr)
	}
	media, _, err := newTranscriptParser(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "quarry extract:", err)
		return 1
	}
	ex, err := newExtractor(cfg, log, media)
	if err != nil {
		fmt.Fprintln(stderr, "quarry extract:", err)
		return 1
	}
	opts := extract.Options{Mode: extract.Mode(*mode), Password: *password, Pages: *pages, HeadersFooters: *headersFooters, Chunking: chunking}
	status := 0
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for _, name := range files {
		start := time.Now()
		doc, err := extractFile(ctx, ex, name, opts)
		if err != nil {
			code, msg := server.ErrorCode(err)
			if code == server.CodeInternal {
				msg = err.Error() // a local user may see the cause: file not found, permissions...
			}
			fmt.Fprintf(stderr, "%s: %s: %s\n", name, code, msg)
			status = 1
			continue
		}
		if *asJSON {
			_ = enc.Encode(extractResult{
				File: name, Mode: opts.Mode, Text: doc.Text, Pages: doc.Pages, Metadata: doc.Metadata,
				Warnings: doc.Warnings, Chunks: doc.Chunks, DurationMS: time.Since(start).Milliseconds(),
			})
			continue
		}
		if len(files) > 1 {
			fmt.Fprintf(stdout, "==> %s <==\n", name)
		}
		if chunking == nil {
			fmt.Fprintln(stdout, doc.Text)
			continue
		}
		printChunks(stdout, doc.Chunks)
	}
	return status
}

// printChunks writes chunks as text, each after a line naming it, such as
// "[chunk 2/9 chk_... pages 1-2: Chapter 2 > 2.1 Setup]".
func printChunks(w io.Writer, chunks []extract.Chunk) {
	for i, c := range chunks {
		pages := "page " + strconv.Itoa(c.PageStart)
		if c.PageEnd != c.PageStart {
			pages = "pages " + strconv.Itoa(c.PageStart) + "-" + strconv.Itoa(c.PageEnd)
		}
		path := ""
		if len(c.HeadingPath) > 0 {
			path = ": " + strings.Join(c.HeadingPath, " > ")
		}
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "[chunk %d/%d %s %s%s]\n%s\n", i+1, len(chunks), c.ID, pages, path, c.Text)
	}
}

// chunkFlagError names the --chunk-* flag of an invalid chunking option.
func chunkFlagError(err error) error {
	oe, ok := errors.AsType[*extract.OptionError](err)
	if !ok {
		return err
	}
	for flagName, field := range chunkFlags {
		if field == oe.Field {
			return fmt.Errorf("--%s: %s", flagName, oe.Reason)
		}
	}
	return err
}

func extractFile(ctx context.Context, ex *extract.Extractor, name string, opts extract.Options) (*extract.Document, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory", name)
	}
	return ex.Extract(ctx, extract.Input{R: f, Size: st.Size(), Filename: filepath.Base(name)}, opts)
}
