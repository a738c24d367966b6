// Package ooxml reads the package structure the Office Open XML formats
// (WordprocessingML, PresentationML, SpreadsheetML) share: relationships,
// the main part named by the package relationships or [Content_Types].xml,
// the core properties, and the compound-file wrapper of an encrypted or
// legacy binary document. It is built on internal/safezip, whose limits
// (entry sizes, ratios, XML depth) apply to every part it reads.
package ooxml

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/safezip"
)

// Rel is one relationship of a .rels part, its target resolved to a part
// name of the package.
type Rel struct {
	ID, Type, Target string
}

// RelsFor returns the name of the relationships part of part ("" for the
// package).
func RelsFor(part string) string {
	if part == "" {
		return "_rels/.rels"
	}
	dir, file := path.Split(part)
	return dir + "_rels/" + file + ".rels"
}

// ReadRels reads the relationships of part. A missing rels part is no
// relationships; external targets are left out. A rels part declaring more
// than maxBytes (when maxBytes > 0) is refused with an error wrapping
// [extract.ErrTooLarge]. On a read error the relationships read so far are
// returned with it.
func ReadRels(ctx context.Context, zr *safezip.Reader, part string, maxBytes int64) ([]Rel, error) {
	f := zr.Lookup(RelsFor(part))
	if f == nil {
		return nil, nil
	}
	if maxBytes > 0 && f.Size > maxBytes {
		return nil, fmt.Errorf("%s: %w: %d bytes of relationships", f.Name, extract.ErrTooLarge, f.Size)
	}
	x, err := zr.OpenXML(ctx, f.Name)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	base := path.Dir("/" + part)
	var out []Rel
	for {
		tok, err := x.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Relationship" || strings.EqualFold(safezip.Attr(se, "TargetMode"), "External") {
			continue
		}
		t := safezip.Attr(se, "Target")
		if t == "" {
			continue
		}
		if !strings.HasPrefix(t, "/") {
			t = path.Join(base, t)
		}
		// Rooted: ".." cannot climb out of the package.
		out = append(out, Rel{ID: safezip.Attr(se, "Id"), Type: safezip.Attr(se, "Type"), Target: strings.TrimPrefix(path.Clean(t), "/")})
	}
}

// RelOfType returns the first relationship whose type ends in "/"+suffix
// (transitional and strict OOXML differ only before the last element).
func RelOfType(rels []Rel, suffix string) (Rel, bool) {
	for _, r := range rels {
		if strings.HasSuffix(r.Type, "/"+suffix) {
			return r, true
		}
	}
	return Rel{}, false
}

// RelByID returns the relationship with the given id.
func RelByID(rels []Rel, id string) (Rel, bool) {
	for _, r := range rels {
		if r.ID == id {
			return r, true
		}
	}
	return Rel{}, false
}

// RelAttr returns the value of the relationship-id attribute (r:id, r:dm)
// with the given local name: one in a namespace, as p:sldId also has an
// un-prefixed id of its own.
func RelAttr(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Local == local && a.Name.Space != "" {
			return a.Value
		}
	}
	return ""
}

// MainType is a content type of a main part and the media type of the
// package it makes (a macro-enabled one, a template...).
type MainType struct {
	ContentType, MediaType string
}

// MainPart finds the main part of the package: the package's
// officeDocument relationship, else the [Content_Types].xml override of one
// of types (compared case-insensitively), else fallback when the package
// has it. It returns "" when there is none. A [Content_Types].xml part
// declaring more than maxBytes (when maxBytes > 0), or one that is
// malformed, only skips to fallback; other errors (limits, cancellation)
// are returned.
func MainPart(ctx context.Context, zr *safezip.Reader, pkgRels []Rel, types []MainType, fallback string, maxBytes int64) (string, error) {
	if r, ok := RelOfType(pkgRels, "officeDocument"); ok && zr.Lookup(r.Target) != nil {
		return r.Target, nil
	}
	if f := zr.Lookup("[Content_Types].xml"); f != nil && (maxBytes <= 0 || f.Size <= maxBytes) {
		name, err := overridePart(ctx, zr, f.Name, types)
		if name != "" || err != nil {
			return name, err
		}
	}
	if zr.Lookup(fallback) != nil {
		return fallback, nil
	}
	return "", nil
}

// overridePart returns the first existing part whose [Content_Types].xml
// override names one of types.
func overridePart(ctx context.Context, zr *safezip.Reader, name string, types []MainType) (string, error) {
	x, err := zr.OpenXML(ctx, name)
	if err != nil {
		return "", err
	}
	defer x.Close()
	for {
		tok, err := x.Next()
		if err == io.EOF {
			return "", nil
		}
		if err != nil {
			if IsFatal(err) {
				return "", err
			}
			return "", nil
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Override" {
			continue
		}
		ct := strings.ToLower(safezip.Attr(se, "ContentType"))
		for _, m := range types {
			if ct == strings.ToLower(m.ContentType) {
				if part := strings.TrimPrefix(safezip.Attr(se, "PartName"), "/"); zr.Lookup(part) != nil {
					return part, nil
				}
			}
		}
	}
}

// IsFatal reports whether err must stop the extraction even when it comes
// from an optional part: limits, encryption and cancellation. A malformed
// or missing optional part (styles, properties, a layout) only loses what
// it would add.
func IsFatal(err error) bool {
	return err != nil && !errors.Is(err, extract.ErrMalformed) && !errors.Is(err, fs.ErrNotExist)
}

// ReadCore reads title, author, language and dates from the core
// properties part (the package's core-properties relationship, else
// docProps/core.xml) into md. A missing part, or one declaring more than
// maxBytes (when maxBytes > 0), sets nothing. A value keeps its first
// 4 KiB (XMLReader.Fields).
func ReadCore(ctx context.Context, zr *safezip.Reader, pkgRels []Rel, md *extract.Metadata, maxBytes int64) error {
	name := "docProps/core.xml"
	if r, ok := RelOfType(pkgRels, "core-properties"); ok {
		name = r.Target
	}
	f := zr.Lookup(name)
	if f == nil || (maxBytes > 0 && f.Size > maxBytes) {
		return nil
	}
	x, err := zr.OpenXML(ctx, f.Name)
	if err != nil {
		return err
	}
	defer x.Close()
	return x.Fields(func(name, v string) {
		switch name {
		case "title":
			md.Title = v
		case "creator":
			md.Author = v
		case "language":
			md.Language = v
		case "created":
			md.Created = ParseW3CDTF(v)
		case "modified":
			md.Modified = ParseW3CDTF(v)
		}
	})
}

// ParseW3CDTF parses a W3C date-time of the core properties: RFC 3339, or
// without its zone or seconds, or a bare date. It returns nil for anything
// else.
func ParseW3CDTF(s string) *time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return &t
		}
	}
	return nil
}
