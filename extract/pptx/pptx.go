package pptx

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"github.com/quarryhq/quarry/internal/runes"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/safezip"
)

// Media types read by the parser.
const (
	MediaTypePPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
	MediaTypePPTM = "application/vnd.ms-powerpoint.presentation.macroenabled.12"
	MediaTypePPSX = "application/vnd.openxmlformats-officedocument.presentationml.slideshow"
	MediaTypePPSM = "application/vnd.ms-powerpoint.slideshow.macroenabled.12"
	MediaTypePOTX = "application/vnd.openxmlformats-officedocument.presentationml.template"
	MediaTypePOTM = "application/vnd.ms-powerpoint.template.macroenabled.12"
)

var mediaTypes = []string{MediaTypePPTX, MediaTypePPTM, MediaTypePPSX, MediaTypePPSM, MediaTypePOTX, MediaTypePOTM}

// version is reported as metadata.parser_version.
const version = "1.0.0"

// notesLabel introduces the speaker notes of a slide.
const notesLabel = "Notes:"

// Options tune the parser. The zero value is the default of [New].
type Options struct {
	// OmitNotes leaves speaker notes out. By default each slide's notes
	// follow its text under a "Notes:" line: they often hold what the
	// presenter says and the slide only hints at, and MarkItDown keeps
	// them too.
	OmitNotes bool
	// HeadersFooters keeps the footer, date and slide-number placeholders
	// of slides and notes, left out by default as page furniture; a caller
	// can also ask per document with extract.Input.HeadersFooters.
	HeadersFooters bool
}

// Parser extracts the text of PresentationML packages (PPTX, PPTM, PPSX,
// PPSM, POTX, POTM). It has no state and is safe for concurrent use.
type Parser struct {
	opts Options
}

// New returns a PPTX parser with the default options.
func New() *Parser { return &Parser{} }

// NewWithOptions returns a PPTX parser with opts.
func NewWithOptions(opts Options) *Parser { return &Parser{opts: opts} }

// MediaTypes lists the PresentationML package types.
func (p *Parser) MediaTypes() []string { return slices.Clone(mediaTypes) }

// Version returns the parser version.
func (p *Parser) Version() string { return version }

// deck is the state of one Parse call.
type deck struct {
	ctx       context.Context
	zr        *safezip.Reader
	budget    budget
	furniture bool
	notes     bool
	posCache  map[string]map[string]pos // layout or master part -> placeholder positions
	warnings  []extract.Warning
}

// Parse extracts the text of a presentation: one page per slide, in the
// order of the presentation's slide list.
func (p *Parser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	if in.R == nil || in.Size <= 0 {
		return nil, fmt.Errorf("pptx: %w: the document is empty", extract.ErrMalformed)
	}
	if err := checkCFB(in); err != nil {
		return nil, err
	}
	zr, err := safezip.Open(in.R, in.Size, in.Limits)
	if err != nil {
		return nil, fmt.Errorf("pptx: %w", err)
	}
	lim := in.Limits.WithDefaults()
	pkgRels, err := readRels(ctx, zr, "")
	if isFatal(err) {
		return nil, fmt.Errorf("pptx: %w", err)
	}
	main, err := mainPart(ctx, zr, pkgRels)
	if err != nil {
		return nil, fmt.Errorf("pptx: %w", err)
	}
	if main == "" {
		return nil, fmt.Errorf("pptx: %w: the package has no presentation part", extract.ErrMalformed)
	}
	slides, err := slideList(ctx, zr, main)
	if err != nil {
		return nil, fmt.Errorf("pptx: %w", err)
	}

	d := &deck{
		ctx: ctx, zr: zr, budget: budget{max: lim.MaxChars},
		furniture: p.opts.HeadersFooters || in.HeadersFooters,
		notes:     !p.opts.OmitNotes,
		posCache:  map[string]map[string]pos{},
	}
	doc := &extract.Document{}
	failed := 0
	firstTitle := "" // the metadata title when the properties have none
	for i, part := range slides {
		n := i + 1
		if n > lim.MaxPages {
			d.warnings = append(d.warnings, extract.Warning{Code: extract.WarnTruncated,
				Message: "only the first " + strconv.Itoa(lim.MaxPages) + " of " + strconv.Itoa(len(slides)) + " slides were read"})
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if part == "" || zr.Lookup(part) == nil {
			failed++
			d.warnings = append(d.warnings, extract.Warning{Code: extract.WarnPageFailed, Page: n,
				Message: "slide " + strconv.Itoa(n) + " is missing from the package"})
			continue
		}
		text, title, err := d.slide(part)
		if errors.Is(err, errFull) {
			err = nil
		}
		if err != nil {
			if isFatal(err) {
				return nil, err
			}
			failed++
			d.warnings = append(d.warnings, extract.Warning{Code: extract.WarnPageFailed, Page: n,
				Message: "slide " + strconv.Itoa(n) + " could not be read: " + err.Error()})
			continue
		}
		doc.Pages = append(doc.Pages, extract.Page{Number: n, Text: text})
		if title != "" {
			// The title sorts first: it starts the page.
			doc.Headings = append(doc.Headings, extract.Heading{Level: 1, Text: title, Page: n, Start: 0})
			if firstTitle == "" {
				firstTitle = title
			}
		}
		if d.budget.full {
			break
		}
	}
	if failed > 0 && len(doc.Pages) == 0 {
		return nil, fmt.Errorf("pptx: %w: none of the %d slides could be read", extract.ErrMalformed, failed)
	}
	d.cut(doc)
	doc.Warnings = append(doc.Warnings, d.warnings...)
	if err := readCore(ctx, zr, pkgRels, &doc.Metadata); isFatal(err) {
		return nil, fmt.Errorf("pptx: %w", err)
	}
	if doc.Metadata.Title == "" {
		doc.Metadata.Title = firstTitle
	}
	if len(slides) > 0 {
		doc.Metadata.PageCount = len(slides)
	}
	if n := len(zr.Skipped()); n > 0 {
		doc.Warnings = append(doc.Warnings, extract.Warning{
			Code:    extract.WarnEmbeddedSkipped,
			Message: strconv.Itoa(n) + " archive entries with unsafe names or symlinks were ignored",
		})
	}
	return doc, nil
}

// cut applies the output cap exactly: the pages' texts, joined as the
// Extractor joins them (a blank line between pages), hold at most the
// budget. Headings of pages cut away go too.
func (d *deck) cut(doc *extract.Document) {
	rest := d.budget.max
	for i := range doc.Pages {
		t := doc.Pages[i].Text
		if i > 0 {
			if rest -= 2; rest < 0 || rest == 0 && t != "" {
				doc.Pages = doc.Pages[:i]
				d.budget.full = true
				break
			}
		}
		n := utf8.RuneCountInString(t)
		if n > rest {
			doc.Pages[i].Text = runes.Cut(t, rest)
			doc.Pages = doc.Pages[:i+1]
			d.budget.full = true
			break
		}
		rest -= n
	}
	if d.budget.full {
		d.warnings = append(d.warnings, extract.Warning{Code: extract.WarnTruncated,
			Message: "the text was cut at " + strconv.Itoa(d.budget.max) + " characters"})
	}
	kept := doc.Headings[:0]
	for _, h := range doc.Headings {
		for _, pg := range doc.Pages {
			if pg.Number == h.Page && h.Start < utf8.RuneCountInString(pg.Text) {
				kept = append(kept, h)
			}
		}
	}
	doc.Headings = kept
}

// slide returns the text of one slide (its notes after it) and its title.
func (d *deck) slide(part string) (text, title string, err error) {
	rels, err := readRels(d.ctx, d.zr, part)
	if isFatal(err) {
		return "", "", err
	}
	root, err := d.tree(part, false)
	if err != nil && !errors.Is(err, errFull) {
		return "", "", err
	}
	full := err != nil
	// Placeholders without a position of their own sit where the layout,
	// else the master, puts them.
	if r, ok := relOfType(rels, "slideLayout"); ok && r.Target != part {
		layout := d.positions(r.Target)
		var master map[string]pos
		if lrels, err := readRels(d.ctx, d.zr, r.Target); isFatal(err) {
			return "", "", err
		} else if m, ok := relOfType(lrels, "slideMaster"); ok && m.Target != part && m.Target != r.Target {
			master = d.positions(m.Target)
		}
		inherit(root, layout, master)
	}
	if !full {
		d.diagrams(root, rels)
	}
	order(root)
	title = titleText(root)
	text = strings.Join(blocks(root, d.furniture, nil), "\n\n")
	if d.notes && !d.budget.full {
		if r, ok := relOfType(rels, "notesSlide"); ok && r.Target != part && d.zr.Lookup(r.Target) != nil {
			notes, err := d.tree(r.Target, false)
			if err != nil && !errors.Is(err, errFull) {
				if isFatal(err) {
					return "", "", err
				}
				notes = nil // broken notes do not lose the slide
			}
			if notes != nil {
				order(notes)
				// The notes text, not the slide image (furniture stays
				// subject to d.furniture in blocks).
				keep := func(s *shape) bool { return !s.isPh || phKind(s.phType) == "body" || s.furniture() }
				if nt := strings.Join(blocks(notes, d.furniture, keep), "\n\n"); nt != "" {
					text = joinBlocks([]string{text, notesLabel + "\n" + nt})
				}
			}
		}
	}
	return text, title, nil
}

// tree parses the shape tree of part. With noText it reads positions only.
func (d *deck) tree(part string, noText bool) (*shape, error) {
	f := d.zr.Lookup(part)
	if f == nil {
		return nil, fmt.Errorf("%s: %w: part missing", part, extract.ErrMalformed)
	}
	x, err := d.zr.OpenXML(d.ctx, f.Name)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	w := &walker{x: x, budget: &d.budget, noText: noText}
	if noText {
		w.budget = &budget{max: 0}
	}
	return w.tree()
}

// positions returns the placeholder positions of a layout or master,
// reading each part once. A broken or missing part has none.
func (d *deck) positions(part string) map[string]pos {
	if m, ok := d.posCache[part]; ok {
		return m
	}
	var m map[string]pos
	if d.zr.Lookup(part) != nil {
		if root, err := d.tree(part, true); err == nil {
			m = positions(root)
		}
	}
	d.posCache[part] = m
	return m
}

// diagrams fills the SmartArt frames of a slide with the text of their
// data parts.
func (d *deck) diagrams(root *shape, rels []rel) {
	for _, k := range root.kids {
		if k.group {
			d.diagrams(k, rels)
			continue
		}
		if k.diagram == "" || d.budget.full {
			continue
		}
		r, ok := relByID(rels, k.diagram)
		if !ok || d.zr.Lookup(r.Target) == nil {
			continue
		}
		paras, err := d.diagramText(r.Target)
		if err == nil || errors.Is(err, errFull) {
			k.paras = append(k.paras, paras...)
		}
	}
}

// diagramText reads the text of a SmartArt data part: each node's text, in
// the order of the part's point list.
func (d *deck) diagramText(part string) ([]string, error) {
	x, err := d.zr.OpenXML(d.ctx, part)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	w := &walker{x: x, budget: &d.budget}
	var paras []string
	for {
		tok, err := x.Next()
		if err == io.EOF {
			return paras, nil
		}
		if err != nil {
			return paras, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "pt":
			if t := attr(se, "type"); t != "" && t != "node" && t != "asst" {
				if err := x.Skip(); err != nil {
					return paras, err
				}
			}
		case "p":
			p, err := w.paragraph()
			if s := strings.Join(strings.Fields(p), " "); s != "" {
				paras = append(paras, s)
			}
			if err != nil {
				return paras, err
			}
		case "prSet", "spPr", "extLst", "cxnLst", "bg", "whole":
			if err := x.Skip(); err != nil {
				return paras, err
			}
		}
	}
}

// slideList returns the slide parts of the presentation, in the order of
// its slide list (p:sldIdLst), each part once. A presentation without a
// slide list, or whose list resolves to nothing, falls back to its slide
// relationships in natural name order (slide2 before slide10). A list entry
// whose relationship is missing gives "" so that numbering stays that of
// the presentation.
func slideList(ctx context.Context, zr *safezip.Reader, main string) ([]string, error) {
	rels, err := readRels(ctx, zr, main)
	if isFatal(err) {
		return nil, err
	}
	f := zr.Lookup(main)
	if f.Size > maxPartBytes {
		return nil, fmt.Errorf("%s: %w: %d bytes", main, extract.ErrTooLarge, f.Size)
	}
	x, err := zr.OpenXML(ctx, f.Name)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	var out []string
	seen := map[string]bool{}
	resolved := 0
	for {
		tok, err := x.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "sldId":
			r, ok := relByID(rels, relAttr(se, "id"))
			target := r.Target
			if !ok || !strings.HasSuffix(r.Type, "/slide") || target == main {
				target = ""
			}
			if target != "" && seen[target] {
				continue // a slide listed twice is read once
			}
			seen[target] = true
			if target != "" {
				resolved++
			}
			out = append(out, target)
		case "notesMasterIdLst", "handoutMasterIdLst", "sldMasterIdLst", "defaultTextStyle", "extLst", "custShowLst", "embeddedFontLst":
			if err := x.Skip(); err != nil {
				return nil, err
			}
		}
	}
	if resolved > 0 {
		return out, nil
	}
	var parts []string
	for _, r := range rels {
		if strings.HasSuffix(r.Type, "/slide") && r.Target != main && !slices.Contains(parts, r.Target) {
			parts = append(parts, r.Target)
		}
	}
	slices.SortFunc(parts, naturalCompare)
	return parts, nil
}

// naturalCompare orders names with their digit runs compared as numbers.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) - len(nb)
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

func joinBlocks(blocks []string) string {
	var b strings.Builder
	for _, s := range blocks {
		if strings.TrimSpace(s) == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(s)
	}
	return b.String()
}

// Interface guards.
var (
	_ extract.Parser    = (*Parser)(nil)
	_ extract.Sniffer   = (*Parser)(nil)
	_ extract.Versioner = (*Parser)(nil)
)
