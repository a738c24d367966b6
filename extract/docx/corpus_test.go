package docx_test

import (
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/docx"
	"github.com/quarryhq/quarry/internal/corpustest"
)

// TestCorpus extracts the DOCX files of the shared corpus and scores them
// against their expected text. It skips where the corpus is absent.
func TestCorpus(t *testing.T) {
	reg := extract.NewRegistry()
	reg.MustRegister("docx", docx.New())
	corpustest.RequireMeanF1(t, reg, "docx", 0.95)
}
