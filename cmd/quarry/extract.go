package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
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
	DurationMS int64             `json:"duration_ms"`
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
	cfg, files, err := loadConfig(fs, args, getenv)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintln(stderr, "quarry extract:", err)
		return 2
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "usage: quarry extract [--mode text|summary] [--json] FILE...")
		return 2
	}
	if *mode != string(extract.ModeText) && *mode != string(extract.ModeSummary) {
		fmt.Fprintf(stderr, "quarry extract: --mode: want text or summary, got %q\n", *mode)
		return 2
	}
	log := slog.New(slog.DiscardHandler)
	if cfg.LogLevel == "debug" {
		log = newLogger(cfg, stderr)
	}
	ex, err := newExtractor(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "quarry extract:", err)
		return 1
	}
	opts := extract.Options{Mode: extract.Mode(*mode), Password: *password, Pages: *pages, HeadersFooters: *headersFooters}
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
				Warnings: doc.Warnings, DurationMS: time.Since(start).Milliseconds(),
			})
			continue
		}
		if len(files) > 1 {
			fmt.Fprintf(stdout, "==> %s <==\n", name)
		}
		fmt.Fprintln(stdout, doc.Text)
	}
	return status
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
