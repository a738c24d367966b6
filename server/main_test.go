package server_test

import (
	"os"
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/isolate"
	"github.com/quarryhq/quarry/extract/standard"
)

// TestMain makes this test binary a parser worker too: stacks built with
// stackOptions.isolated start their workers from it.
func TestMain(m *testing.M) {
	isolate.RunWorkerIfChild(func() (*extract.Extractor, error) {
		return extract.New(standard.NewRegistry(), extract.Config{})
	})
	os.Exit(m.Run())
}
