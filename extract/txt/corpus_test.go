package txt_test

import (
	"testing"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/txt"
	"github.com/quarryhq/quarry/internal/corpustest"
)

func TestCorpus(t *testing.T) {
	reg := extract.NewRegistry()
	reg.MustRegister("txt", txt.New())
	corpustest.RequireMeanF1(t, reg, "txt", 0.95)
}
