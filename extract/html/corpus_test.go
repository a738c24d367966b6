package html_test

import (
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/html"
	"github.com/quarryhq/quarry/extract/txt"
	"github.com/quarryhq/quarry/internal/corpustest"
)

func TestCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("corpus scoring in -short mode")
	}
	reg := extract.NewRegistry()
	reg.MustRegister("html", html.New())
	reg.MustRegister("txt", txt.New())
	ex, err := extract.New(reg, extract.Config{})
	if err != nil {
		t.Fatal(err)
	}
	res := corpustest.Run(t, corpustest.WithExtractor(ex), "html")
	t.Log("\n" + res.Report)
	for id, err := range res.Failed {
		t.Errorf("%s: %v", id, err)
	}
	if got := res.MeanF1["html"]; got < 0.85 {
		t.Errorf("mean word F1 on html = %.3f, want >= 0.85", got)
	}
}
