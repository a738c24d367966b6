// Package standard registers Quarry's built-in parsers, the set the quarry
// binary and server use. Embedders that want fewer formats (or that avoid a
// parser's dependencies) register the parser packages they want instead.
package standard

import (
	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/csv"
	"github.com/quarryhq/quarry/extract/docx"
	"github.com/quarryhq/quarry/extract/eml"
	"github.com/quarryhq/quarry/extract/epub"
	"github.com/quarryhq/quarry/extract/html"
	"github.com/quarryhq/quarry/extract/image"
	"github.com/quarryhq/quarry/extract/jsontext"
	"github.com/quarryhq/quarry/extract/markdown"
	"github.com/quarryhq/quarry/extract/odf"
	"github.com/quarryhq/quarry/extract/pdf"
	"github.com/quarryhq/quarry/extract/pptx"
	"github.com/quarryhq/quarry/extract/rtf"
	"github.com/quarryhq/quarry/extract/txt"
	"github.com/quarryhq/quarry/extract/xlsx"
	"github.com/quarryhq/quarry/extract/xmltext"
)

// Register adds every built-in parser to r, under the names "text",
// "markdown", "html", "docx", "pdf", "csv", "json", "xml", "eml", "rtf",
// "odf", "pptx", "xlsx", "epub" and "image" (PNG, JPEG, TIFF, GIF, BMP
// and WebP: pages without text for the Extractor's OCR).
func Register(r *extract.Registry) error {
	for _, p := range []struct {
		name   string
		parser extract.Parser
	}{
		{"text", txt.New()},
		{"markdown", markdown.New()},
		{"html", html.New()},
		{"docx", docx.New()},
		{"pdf", pdf.New()},
		{"csv", csv.New()},
		{"json", jsontext.New()},
		{"xml", xmltext.New()},
		{"eml", eml.New()},
		{"rtf", rtf.New()},
		{"odf", odf.New()},
		{"pptx", pptx.New()},
		{"xlsx", xlsx.New()},
		{"epub", epub.New()},
		{"image", image.New()},
	} {
		if err := r.Register(p.name, p.parser); err != nil {
			return err
		}
	}
	return nil
}

// NewRegistry returns a Registry holding every built-in parser.
func NewRegistry() *extract.Registry {
	r := extract.NewRegistry()
	if err := Register(r); err != nil {
		panic(err) // the built-in set is fixed: a conflict is a bug in Quarry
	}
	return r
}
