package csv

import (
	"context"
	stdcsv "encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/extract/txt"
)

// Version is the parser version reported as metadata.parser_version.
const Version = "1"

// WarnMalformed is the warning code of a table whose reading stopped at a
// record encoding/csv could not read; the text holds the records before it.
const WarnMalformed = "malformed"

// Media types.
const (
	MediaTypeCSV = "text/csv"
	MediaTypeTSV = "text/tab-separated-values"
)

// Parser reads CSV and TSV. The zero value is ready to use; it holds no
// state and is safe for concurrent use.
type Parser struct{}

// New returns a CSV/TSV parser.
func New() *Parser { return &Parser{} }

// MediaTypes reports the media types the parser reads.
func (*Parser) MediaTypes() []string { return []string{MediaTypeCSV, MediaTypeTSV} }

// Version reports the parser version.
func (*Parser) Version() string { return Version }

// sniffLines is how many records the delimiter sniffer looks at, and
// sniffBytes how much text at most.
const (
	sniffLines = 50
	sniffBytes = 64 << 10
)

// delimiters are the candidates of the delimiter sniffer, in order of
// preference on a tie.
var delimiters = []rune{',', ';', '\t', '|'}

// Parse extracts the rows of a CSV or TSV document.
func (*Parser) Parse(ctx context.Context, in extract.Input) (*extract.Document, error) {
	if in.R == nil {
		return nil, fmt.Errorf("csv: %w: no input", extract.ErrMalformed)
	}
	maxChars := in.Limits.MaxChars
	if maxChars <= 0 {
		maxChars = extract.DefaultLimits().MaxChars
	}
	d, err := txt.Decode(ctx, in.R, in.Size, in.MediaType, maxChars)
	if err != nil {
		return nil, err
	}
	srcCut := utf8.RuneCountInString(d.Text) > maxChars
	src := d.Text
	if srcCut {
		// Drop the record the cap cut in two, unless it is the only one.
		if i := strings.LastIndexByte(src, '\n'); i > 0 {
			src = src[:i+1]
		}
	}
	comma := '\t'
	if extract.BaseType(in.MediaType) != MediaTypeTSV {
		comma = SniffDelimiter(src)
	}
	if !namedTable(in.Filename) && looksLikeProse(src, comma) {
		// The content sniffer calls any text with a steady comma count
		// CSV; prose keeps its own lines rather than become a table.
		doc := &extract.Document{Text: d.Text, Metadata: extract.Metadata{Charset: d.Charset}}
		if d.Invalid {
			doc.Warnings = append(doc.Warnings, extract.Warning{Code: extract.WarnInvalidUTF8,
				Message: "invalid " + d.Charset + " sequences were replaced with U+FFFD"})
		}
		return doc, nil
	}

	r := stdcsv.NewReader(strings.NewReader(src))
	r.Comma = comma
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	r.ReuseRecord = true

	doc := &extract.Document{Metadata: extract.Metadata{Charset: d.Charset}}
	var b strings.Builder
	chars, rows := 0, 0
	for {
		if rows%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *stdcsv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("csv: %w: %v", extract.ErrMalformed, err)
			}
			if rows == 0 {
				return nil, fmt.Errorf("csv: %w: %v", extract.ErrMalformed, err)
			}
			doc.Warnings = append(doc.Warnings, extract.Warning{Code: WarnMalformed,
				Message: fmt.Sprintf("reading stopped at line %d: %v", pe.StartLine, pe.Err)})
			break
		}
		rows++
		line := joinRecord(rec)
		if line == "" {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
		if chars += utf8.RuneCountInString(line) + 1; chars > maxChars {
			break
		}
	}
	doc.Text = b.String()
	if srcCut && chars <= maxChars {
		doc.Warnings = append(doc.Warnings, extract.Warning{Code: extract.WarnTruncated,
			Message: fmt.Sprintf("the table was cut at %d characters of source", maxChars)})
	}
	if d.Invalid {
		doc.Warnings = append(doc.Warnings, extract.Warning{Code: extract.WarnInvalidUTF8,
			Message: "invalid " + d.Charset + " sequences were replaced with U+FFFD"})
	}
	return doc, nil
}

// cellCleaner turns the line breaks and tabs of a cell into spaces.
var cellCleaner = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ")

// joinRecord renders one record as a line: cells trimmed and joined by
// tabs, trailing empty cells dropped. It returns "" for a record without text.
func joinRecord(rec []string) string {
	n := len(rec)
	for n > 0 && strings.TrimSpace(rec[n-1]) == "" {
		n--
	}
	if n == 0 {
		return ""
	}
	var b strings.Builder
	for i, c := range rec[:n] {
		if i > 0 {
			b.WriteByte('\t')
		}
		b.WriteString(strings.TrimSpace(cellCleaner.Replace(c)))
	}
	return b.String()
}

// SniffDelimiter returns the delimiter of the CSV text that starts with
// text: among comma, semicolon, tab and pipe, the one for which the most of
// the first records have the same number of fields, at least two. Ties go
// to the earlier candidate in that order, and comma is the answer when no
// candidate splits any record.
func SniffDelimiter(text string) rune {
	if len(text) > sniffBytes {
		text = text[:sniffBytes]
		if i := strings.LastIndexByte(text, '\n'); i > 0 {
			text = text[:i+1]
		}
	}
	best, bestScore, bestFields := ',', 0.0, 0
	for _, c := range delimiters {
		score, fields := consistency(text, c)
		if fields < 2 {
			continue
		}
		if score > bestScore || score == bestScore && fields > bestFields {
			best, bestScore, bestFields = c, score, fields
		}
	}
	return best
}

// consistency reads up to sniffLines records of text split by comma and
// returns the share of them that have the most common field count, and
// that count.
func consistency(text string, comma rune) (float64, int) {
	r := stdcsv.NewReader(strings.NewReader(text))
	r.Comma = comma
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	counts := map[int]int{}
	n := 0
	for n < sniffLines {
		rec, err := r.Read()
		if err != nil {
			break
		}
		counts[len(rec)]++
		n++
	}
	mode, freq := 0, 0
	for k, v := range counts {
		if v > freq || v == freq && k > mode {
			mode, freq = k, v
		}
	}
	if n == 0 || mode < 2 {
		return 0, mode
	}
	return float64(freq) / float64(n), mode
}

var (
	_ extract.Parser    = (*Parser)(nil)
	_ extract.Versioner = (*Parser)(nil)
)

// namedTable reports a file name that says the content is a table.
func namedTable(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".csv", ".tsv", ".tab":
		return true
	}
	return false
}

// looksLikeProse reports text whose "cells" read like sentences: four words
// or more per cell on average over the first lines. Real tables have short
// cells (a table with long text cells then keeps its own lines, which loses
// nothing).
func looksLikeProse(text string, comma rune) bool {
	cells, words := 0, 0
	for i, line := range strings.Split(text, "\n") {
		if i >= sniffLines {
			break
		}
		for cell := range strings.SplitSeq(line, string(comma)) {
			if strings.TrimSpace(cell) == "" {
				continue
			}
			cells++
			words += len(strings.Fields(cell))
		}
	}
	return cells > 0 && words >= 4*cells
}
