package pptx

import (
	"context"
	"encoding/xml"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/ooxml"
	"github.com/quarryhq/quarry/internal/safezip"
)

// xmlReader streams one XML part of the package (internal/safezip).
type xmlReader = safezip.XMLReader

// attr returns the value of the attribute with the given local name.
func attr(se xml.StartElement, local string) string { return safezip.Attr(se, local) }

// relAttr returns the value of the namespaced relationship-id attribute
// (r:id, r:dm) with the given local name ([ooxml.RelAttr]).
func relAttr(se xml.StartElement, local string) string { return ooxml.RelAttr(se, local) }

// maxPartBytes caps the bookkeeping parts (relationships, content types,
// presentation, properties) whose content is not text.
const maxPartBytes = 16 << 20

// rel is a package relationship.
type rel = ooxml.Rel

// readRels reads the relationships of part ([ooxml.ReadRels]).
func readRels(ctx context.Context, zr *safezip.Reader, part string) ([]rel, error) {
	return ooxml.ReadRels(ctx, zr, part, maxPartBytes)
}

// relOfType returns the first relationship whose type ends in "/"+suffix
// (as [ooxml.RelOfType]).
func relOfType(rels []rel, suffix string) (rel, bool) { return ooxml.RelOfType(rels, suffix) }

// relByID returns the relationship with the given id (as [ooxml.RelByID]).
func relByID(rels []rel, id string) (rel, bool) { return ooxml.RelByID(rels, id) }

// mainContentTypes are the content types of a PresentationML main part,
// with the media type of the package each one makes.
var mainContentTypes = []ooxml.MainType{
	{ContentType: "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml", MediaType: MediaTypePPTM},
	{ContentType: "application/vnd.ms-powerpoint.slideshow.macroenabled.main+xml", MediaType: MediaTypePPSM},
	{ContentType: "application/vnd.ms-powerpoint.template.macroenabled.main+xml", MediaType: MediaTypePOTM},
	{ContentType: "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml", MediaType: MediaTypePPTX},
	{ContentType: "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml", MediaType: MediaTypePPSX},
	{ContentType: "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml", MediaType: MediaTypePOTX},
}

// mainPart finds the presentation part ([ooxml.MainPart]), else
// ppt/presentation.xml. It returns "" when there is none.
func mainPart(ctx context.Context, zr *safezip.Reader, pkgRels []rel) (string, error) {
	return ooxml.MainPart(ctx, zr, pkgRels, mainContentTypes, "ppt/presentation.xml", maxPartBytes)
}

// isFatal reports whether err must stop the extraction even when it comes
// from an optional part ([ooxml.IsFatal]).
func isFatal(err error) bool { return ooxml.IsFatal(err) }

// readCore reads the core properties into md ([ooxml.ReadCore]).
func readCore(ctx context.Context, zr *safezip.Reader, pkgRels []rel, md *extract.Metadata) error {
	return ooxml.ReadCore(ctx, zr, pkgRels, md, maxPartBytes)
}

// checkCFB refuses an encrypted package or a legacy .ppt
// ([ooxml.CheckCFB]).
func checkCFB(in extract.Input) error { return ooxml.CheckCFB(in, "pptx", ".ppt") }

// Sniff recognises PresentationML packages the generic sniffer misses: a
// ZIP naming a "ppt/" part, or whose [Content_Types].xml names a
// presentation main part, which also tells a macro-enabled deck, a slide
// show or a template apart ([ooxml.Sniff]).
func (p *Parser) Sniff(head []byte) string {
	return ooxml.Sniff(head, "ppt/", MediaTypePPTX, mainContentTypes)
}
