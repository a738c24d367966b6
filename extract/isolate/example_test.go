package isolate_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/isolate"
	"github.com/quarryhq/quarry/extract/standard"
)

// newAppExtractor builds the Extractor, the same way in the parent and in
// every worker.
func newAppExtractor() (*extract.Extractor, error) {
	return extract.New(standard.NewRegistry(), extract.Config{
		Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil)), // a worker's stderr reaches the pool's Logger
	})
}

// The main function of a program that extracts untrusted documents in
// worker processes. RunWorkerIfChild comes first: in a worker it serves
// documents and exits, never returning. (Not run as a test: a test binary
// calls RunWorkerIfChild in TestMain, as this package's tests do.)
func Example() {
	isolate.RunWorkerIfChild(newAppExtractor)

	ex, err := newAppExtractor()
	if err != nil {
		log.Fatal(err)
	}
	var extractor interface {
		Extract(context.Context, extract.Input, extract.Options) (*extract.Document, error)
	} = ex
	pool, err := isolate.New(isolate.Config{Extractor: ex, Workers: 2})
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		log.Print("no worker processes on this platform; extracting in-process")
	case err != nil:
		log.Fatal(err)
	default:
		defer pool.Close(context.Background())
		extractor = pool
	}

	f, err := os.Open("report.pdf")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		log.Fatal(err)
	}
	doc, err := extractor.Extract(context.Background(), extract.Input{R: f, Size: st.Size(), Filename: "report.pdf"}, extract.Options{})
	if err != nil {
		log.Fatal(err) // extract.ErrTimeout, ErrMalformed ("the parser process died"), ...
	}
	fmt.Println(doc.Metadata.PageCount, "pages")
}
