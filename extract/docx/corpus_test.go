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
	if testing.Short() {
		t.Skip("corpus run skipped in -short mode")
	}
	reg := extract.NewRegistry()
	reg.MustRegister("docx", docx.New())
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	res := corpustest.Run(t, corpustest.WithExtractor(ex), "docx")
	t.Log("\n" + res.Report)
	for id, err := range res.Failed {
		t.Errorf("%s: %v", id, err)
	}
	const want = 0.95
	if got := res.MeanF1["docx"]; got < want {
		t.Errorf("mean word F1 %.3f, want >= %.2f", got, want)
	}
}
