//go:build linux

package isolate_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/isolate"
)

// BenchmarkExtract compares in-process and isolated extraction, one
// document at a time: the difference is the per-document cost of
// isolation (the request and descriptor over the socket, the Document's
// JSON both ways, the spool copy for in-memory input, and a worker restart
// every MaxDocsPerWorker documents).
func BenchmarkExtract(b *testing.B) {
	ref := reference(b)
	p, _ := newPool(b, isolate.Config{Workers: 1})
	// The same without recycling, to tell the round trip from the
	// amortised cost of starting a worker every 100 documents.
	long, _ := newPool(b, isolate.Config{Workers: 1, MaxDocsPerWorker: 1 << 30})
	note := strings.Repeat("A short note of plain text. ", 40)
	// Inputs are read with ReadAt only, so one value serves every
	// iteration.
	inputs := []struct {
		name string
		in   extract.Input
	}{
		// A parser that does no work: the fixed cost of a round trip.
		{"noop-memory", bytesInput("application/x-pid", "x")},
		{"noop-file", withType(fileInput(b, writeTemp(b, "x")), "application/x-pid")},
		{"text-1KiB-memory", bytesInput("text/plain", note)},
		{"text-1KiB-file", fileInput(b, writeTemp(b, note))},
		{"pdf-multi_page-125KiB", fileInput(b, corpusPath(b, "pdf-docling-multi_page.pdf"))},
		{"pdf-tracemonkey-1MiB", fileInput(b, corpusPath(b, "pdf-pdfjs-tracemonkey.pdf"))},
	}
	for _, tc := range inputs {
		for _, mode := range []struct {
			name string
			ex   interface {
				Extract(context.Context, extract.Input, extract.Options) (*extract.Document, error)
			}
		}{{"in-process", ref}, {"isolated", p}, {"isolated-no-recycle", long}} {
			b.Run(tc.name+"/"+mode.name, func(b *testing.B) {
				for b.Loop() {
					if _, err := mode.ex.Extract(context.Background(), tc.in, extract.Options{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func withType(in extract.Input, mediaType string) extract.Input {
	in.MediaType = mediaType
	return in
}

func writeTemp(tb testing.TB, content string) string {
	tb.Helper()
	path := tb.TempDir() + "/note.txt"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}
