package odf

import (
	"context"
	"encoding/xml"

	"github.com/quarryhq/quarry/internal/safezip"
)

// maxDepth caps XML element nesting; the shared reader enforces it.
const maxDepth = safezip.MaxXMLDepth

// xmlReader streams one XML part of the package (internal/safezip).
type xmlReader = safezip.XMLReader

func openXML(ctx context.Context, zr *safezip.Reader, part string) (*xmlReader, error) {
	return zr.OpenXML(ctx, part)
}

// attr returns the value of the attribute with the given local name.
func attr(se xml.StartElement, local string) string { return safezip.Attr(se, local) }
