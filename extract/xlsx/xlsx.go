package xlsx

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"github.com/quarryhq/quarry/internal/runes"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/safezip"
	"github.com/xuri/excelize/v2"
)

// Media types read by the parser.
const (
	MediaTypeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	MediaTypeXLSM = "application/vnd.ms-excel.sheet.macroenabled.12"
	MediaTypeXLTX = "application/vnd.openxmlformats-officedocument.spreadsheetml.template"
	MediaTypeXLTM = "application/vnd.ms-excel.template.macroenabled.12"
)

var mediaTypes = []string{MediaTypeXLSX, MediaTypeXLSM, MediaTypeXLTX, MediaTypeXLTM}

// version is reported as metadata.parser_version.
const version = "1.0.0"

// shortDate is the pattern of Excel's locale-dependent built-in date
// formats (14, and 22 with the time): ISO 8601, the same in every locale.
const shortDate = "yyyy-mm-dd"

// Options tune the parser. The zero value is the default of [New].
type Options struct {
	// HiddenSheets keeps hidden and very hidden sheets, left out by
	// default: they are the workbook's machinery (lookup lists, helper
	// calculations, data a macro hides), not what a reader of the
	// workbook sees.
	HiddenSheets bool
}

// Parser extracts the text of SpreadsheetML workbooks (XLSX, XLSM, XLTX,
// XLTM). It has no state and is safe for concurrent use.
type Parser struct {
	opts Options
	caps caps
}

// New returns an XLSX parser with the default options.
func New() *Parser { return &Parser{caps: defaultCaps} }

// NewWithOptions returns an XLSX parser with opts.
func NewWithOptions(opts Options) *Parser { return &Parser{opts: opts, caps: defaultCaps} }

// MediaTypes lists the SpreadsheetML package types.
func (p *Parser) MediaTypes() []string { return slices.Clone(mediaTypes) }

// Version returns the parser version.
func (p *Parser) Version() string { return version }

// sheetInfo is one sheet of the workbook part.
type sheetInfo struct {
	name, state, rid string
}

// Parse extracts the text of a workbook: one page per visible worksheet,
// in workbook order, the sheet's name on its first line, then one line
// per row with the cells' displayed values separated by tabs.
func (p *Parser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	if in.R == nil || in.Size <= 0 {
		return nil, fmt.Errorf("xlsx: %w: the document is empty", extract.ErrMalformed)
	}
	if err := checkCFB(in); err != nil {
		return nil, err
	}
	zr, err := safezip.Open(in.R, in.Size, in.Limits)
	if err != nil {
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	lim := in.Limits.WithDefaults()
	pkgRels, err := readRels(ctx, zr, "")
	if isFatal(err) {
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	main, err := mainPart(ctx, zr, pkgRels)
	if err != nil {
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	if main == "" {
		return nil, fmt.Errorf("xlsx: %w: the package has no workbook part", extract.ErrMalformed)
	}
	rels, err := readRels(ctx, zr, main)
	if isFatal(err) {
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	infos, date1904, err := readWorkbook(ctx, zr, main)
	if err != nil {
		return nil, fmt.Errorf("xlsx: %w", err)
	}

	doc := &extract.Document{}
	var warnings []extract.Warning
	var sheets []sheetRef
	eligible := 0
	seenName, seenPart := map[string]bool{}, map[string]bool{}
	for _, s := range infos {
		r, ok := relByID(rels, s.rid)
		switch {
		case !ok || !strings.HasSuffix(r.Type, "/worksheet") || r.Target == main:
			continue // chart sheets, dialog and macro sheets: no cells
		case !p.opts.HiddenSheets && (s.state == "hidden" || s.state == "veryHidden"):
			continue
		case seenName[strings.ToLower(s.name)] || seenPart[r.Target]:
			continue // a sheet listed twice is read once
		case zr.Lookup(r.Target) == nil:
			warnings = append(warnings, extract.Warning{Code: extract.WarnPageFailed,
				Message: "sheet " + strconv.Quote(runes.Cut(s.name, 64)) + " is missing from the package"})
			continue
		}
		seenName[strings.ToLower(s.name)], seenPart[r.Target] = true, true
		if eligible++; len(sheets) == lim.MaxPages {
			continue
		}
		sheets = append(sheets, sheetRef{name: s.name, part: r.Target, page: len(sheets) + 1})
	}
	if eligible > len(sheets) {
		warnings = append(warnings, extract.Warning{Code: extract.WarnTruncated,
			Message: "only the first " + strconv.Itoa(lim.MaxPages) + " of " + strconv.Itoa(eligible) + " sheets were read"})
	}
	doc.Metadata.PageCount = eligible

	if len(sheets) > 0 {
		pages, sheetWarnings, truncated, err := p.sheets(ctx, zr, rels, sheets, date1904, lim)
		if err != nil {
			return nil, err
		}
		if len(pages) == 0 && len(sheetWarnings) > 0 {
			return nil, fmt.Errorf("xlsx: %w: none of the %d sheets could be read", extract.ErrMalformed, len(sheets))
		}
		doc.Pages = pages
		warnings = append(warnings, sheetWarnings...)
		if truncated {
			warnings = append(warnings, extract.Warning{Code: extract.WarnTruncated,
				Message: "the text was cut at " + strconv.Itoa(lim.MaxChars) + " characters or at the workbook's work limits (" + strconv.Itoa(p.caps.cells) + " cells)"})
		}
		for _, pg := range doc.Pages {
			if name, _, _ := strings.Cut(pg.Text, "\n"); strings.TrimSpace(name) != "" {
				doc.Headings = append(doc.Headings, extract.Heading{Level: 1, Text: name, Page: pg.Number, Start: 0})
			}
		}
	}
	doc.Warnings = append(doc.Warnings, warnings...)
	if err := readCore(ctx, zr, pkgRels, &doc.Metadata); isFatal(err) {
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	if n := len(zr.Skipped()); n > 0 {
		doc.Warnings = append(doc.Warnings, extract.Warning{
			Code:    extract.WarnEmbeddedSkipped,
			Message: strconv.Itoa(n) + " archive entries with unsafe names or symlinks were ignored",
		})
	}
	return doc, nil
}

// sheets rebuilds the package for excelize and reads the kept sheets
// through it. A sheet that cannot be read gives a warning; truncated
// reports that a cap cut the text.
func (p *Parser) sheets(ctx context.Context, zr *safezip.Reader, rels []rel, sheets []sheetRef, date1904 bool, lim extract.Limits) (pages []extract.Page, warnings []extract.Warning, truncated bool, err error) {
	rb := newRebuilder(ctx, zr, lim.MaxChars, p.caps)
	hasSST := false
	if r, ok := relOfType(rels, "sharedStrings"); ok && zr.Lookup(r.Target) != nil {
		if err := rb.sharedStrings(r.Target); err != nil {
			return nil, nil, false, fmt.Errorf("xlsx: %w", err)
		}
		hasSST = true
	}
	if r, ok := relOfType(rels, "styles"); ok {
		if err := rb.stylesPart(r.Target); err != nil {
			return nil, nil, false, fmt.Errorf("xlsx: %w", err)
		}
	}
	var kept []sheetRef
	for _, s := range sheets {
		if rb.truncated {
			break
		}
		err := rb.worksheet(s.part, len(kept)+1)
		if isFatal(err) {
			return nil, nil, false, fmt.Errorf("xlsx: sheet %q: %w", runes.Cut(s.name, 64), err)
		}
		if err != nil {
			warnings = append(warnings, extract.Warning{Code: extract.WarnPageFailed,
				Message: "sheet " + strconv.Quote(runes.Cut(s.name, 64)) + " could not be read: " + err.Error()})
			continue
		}
		s.page = len(kept) + 1
		kept = append(kept, s)
	}
	written := len(kept)
	if err := rb.frame(written, date1904, hasSST); err != nil {
		return nil, nil, false, fmt.Errorf("xlsx: %w", err)
	}
	pkg, err := rb.finish()
	if err != nil {
		return nil, nil, false, fmt.Errorf("xlsx: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, false, err
	}
	pages, full, err := read(ctx, pkg, kept, lim.MaxChars)
	return pages, warnings, full || rb.truncated, err
}

// read reads the rebuilt package with excelize. Excelize is third-party
// code that trusts its input; what it sees was rebuilt above, and a panic
// inside it is reported as a malformed document.
func read(ctx context.Context, pkg []byte, sheets []sheetRef, maxChars int) (pages []extract.Page, full bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			pages, full, err = nil, false, fmt.Errorf("xlsx: %w: the workbook could not be read (%v)", extract.ErrMalformed, v)
		}
	}()
	limit := int64(len(pkg))*1100 + 1<<20 // stored sizes are ours: a loose bound
	f, err := excelize.OpenReader(bytes.NewReader(pkg), excelize.Options{
		UnzipSizeLimit:    limit,
		UnzipXMLSizeLimit: limit, // equal: no part ever goes to a temporary file
		ShortDatePattern:  shortDate,
	})
	if err != nil {
		return nil, false, fmt.Errorf("xlsx: %w: %v", extract.ErrMalformed, err)
	}
	defer f.Close()
	budget := maxChars
	for i, s := range sheets {
		if i > 0 {
			if budget -= 2; budget <= 0 { // the page separator
				return pages, true, nil
			}
		}
		text, n, cut, err := readSheet(ctx, f, "S"+strconv.Itoa(i+1), s.name, budget)
		if err != nil {
			return nil, false, err
		}
		pages = append(pages, extract.Page{Number: s.page, Text: text})
		if cut {
			return pages, true, nil
		}
		budget -= n
	}
	return pages, false, nil
}

// cellSpace turns the line breaks and tabs inside a cell into spaces, so
// that a row stays one line.
var cellSpace = strings.NewReplacer("\t", " ", "\r\n", " ", "\n", " ", "\r", " ")

// readSheet returns the text of one sheet and its length in code points:
// its name, then each row with a value as one line, cells separated by
// tabs, trailing empty cells left out. It stops at budget code points,
// reporting cut.
func readSheet(ctx context.Context, f *excelize.File, sheet, name string, budget int) (text string, n int, cut bool, err error) {
	var b strings.Builder
	name = cellSpace.Replace(name)
	n = utf8.RuneCountInString(name)
	if n > budget {
		return runes.Cut(name, budget), budget, true, nil
	}
	b.WriteString(name)
	rows, err := f.Rows(sheet)
	if err != nil {
		return "", 0, false, fmt.Errorf("xlsx: %w: %v", extract.ErrMalformed, err)
	}
	defer rows.Close()
	for i := 0; rows.Next(); i++ {
		if i&255 == 0 {
			if err := ctx.Err(); err != nil {
				return "", 0, false, err
			}
		}
		cols, err := rows.Columns()
		if err != nil {
			return "", 0, false, fmt.Errorf("xlsx: %w: %v", extract.ErrMalformed, err)
		}
		for len(cols) > 0 && strings.TrimSpace(cols[len(cols)-1]) == "" {
			cols = cols[:len(cols)-1]
		}
		if len(cols) == 0 {
			continue
		}
		for j, c := range cols {
			cols[j] = cellSpace.Replace(c)
		}
		line := "\n" + strings.Join(cols, "\t")
		m := utf8.RuneCountInString(line)
		if n+m > budget {
			b.WriteString(runes.Cut(line, budget-n))
			return b.String(), budget, true, nil
		}
		b.WriteString(line)
		n += m
	}
	if err := rows.Error(); err != nil {
		return "", 0, false, fmt.Errorf("xlsx: %w: %v", extract.ErrMalformed, err)
	}
	return b.String(), n, false, nil
}

// readWorkbook reads the sheets of the workbook part, in order, and
// whether it counts dates from 1904.
func readWorkbook(ctx context.Context, zr *safezip.Reader, part string) ([]sheetInfo, bool, error) {
	f := zr.Lookup(part)
	if f.Size > maxPartBytes {
		return nil, false, fmt.Errorf("%s: %w: %d bytes", part, extract.ErrTooLarge, f.Size)
	}
	x, err := zr.OpenXML(ctx, f.Name)
	if err != nil {
		return nil, false, err
	}
	defer x.Close()
	var sheets []sheetInfo
	date1904 := false
	for {
		tok, err := x.Next()
		if err == io.EOF {
			return sheets, date1904, nil
		}
		if err != nil {
			return nil, false, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "workbookPr":
			v := attr(se, "date1904")
			date1904 = v == "1" || v == "true"
		case "sheet":
			sheets = append(sheets, sheetInfo{name: attr(se, "name"), state: attr(se, "state"), rid: relAttr(se, "id")})
		case "definedNames", "extLst", "fileVersion", "bookViews", "calcPr", "pivotCaches", "externalReferences":
			if err := x.Skip(); err != nil {
				return nil, false, err
			}
		}
	}
}

// Interface guards.
var (
	_ extract.Parser    = (*Parser)(nil)
	_ extract.Sniffer   = (*Parser)(nil)
	_ extract.Versioner = (*Parser)(nil)
)
