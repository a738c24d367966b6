package html_test

import (
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/html"
	"github.com/quarryhq/quarry/extract/txt"
	"github.com/quarryhq/quarry/internal/corpustest"
)

func TestCorpus(t *testing.T) {
	reg := extract.NewRegistry()
	reg.MustRegister("html", html.New())
	reg.MustRegister("txt", txt.New())
	corpustest.RequireMeanF1(t, reg, "html", 0.85)
}
