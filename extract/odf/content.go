package odf

import (
	"context"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/safezip"
)

// Caps on the repetition attributes of tables, so that a row of
// number-columns-repeated="1000000" empty cells (which spreadsheets write
// routinely up to the last column) stays small.
const (
	maxRepeat   = 100   // copies of one cell or row
	maxRowCells = 16384 // cells of one row, repeats included
	maxSpaces   = 100   // spaces of one text:s
)

// kind is what a start element opened, so that its end element knows what
// to close.
type kind uint8

const (
	kNone kind = iota
	kPara
	kList
	kItem
	kTable
	kRow
	kCell
	kPage
	kNote
)

// para is a paragraph being collected.
type para struct {
	b      strings.Builder
	prefix string
	space  bool // the text ends in a collapsible space
	level  int  // outline level of a text:h, 0 for a text:p
}

// heading is a text:h of the body: its level and where its text lies in
// the body's blocks.
type heading struct {
	level  int
	block  int // index in the body's blocks
	offset int // byte offset of the text in the block
	text   string
}

// maxHeadings bounds the headings remembered.
const maxHeadings = 100000

// cellRun is one cell of a row and how many times it repeats.
type cellRun struct {
	text  string
	count int
}

type table struct {
	rows      []string
	cells     []cellRun
	ncells    int
	rowRepeat int
	top       bool // a sheet of a spreadsheet: one page
}

// walker turns content.xml into pages of text.
type walker struct {
	maxChars int
	chars    int
	full     bool

	paged  bool // spreadsheet, presentation or drawing: pages
	kinds  []kind
	sinks  [][]string // blocks of the open containers (body, page, cell, note)
	paras  []*para
	tables []*table
	lists  int
	prefix string // list prefix for the next paragraph

	pages    []string
	notes    []string
	headings []heading
}

func newWalker(maxChars int) *walker {
	return &walker{maxChars: maxChars, sinks: [][]string{nil}}
}

// charge counts n code points of output; false once over the cap.
func (w *walker) charge(n int) bool {
	w.chars += n
	if w.chars > w.maxChars {
		w.full = true
	}
	return !w.full
}

// emit adds a block to the innermost open container.
func (w *walker) emit(s string) {
	if strings.TrimSpace(s) == "" {
		return
	}
	top := len(w.sinks) - 1
	w.sinks[top] = append(w.sinks[top], s)
}

func (w *walker) pushSink() { w.sinks = append(w.sinks, nil) }

func (w *walker) popSink() []string {
	top := len(w.sinks) - 1
	s := w.sinks[top]
	w.sinks = w.sinks[:top]
	return s
}

// write appends literal text to the open paragraph.
func (w *walker) write(s string) {
	if len(w.paras) == 0 || s == "" {
		return
	}
	p := w.paras[len(w.paras)-1]
	p.b.WriteString(s)
	p.space = false
	w.charge(utf8.RuneCountInString(s))
}

// text appends character data to the open paragraph, collapsing white
// space as ODF (section 6.1.2) asks.
func (w *walker) text(data []byte) {
	if len(w.paras) == 0 {
		return
	}
	p := w.paras[len(w.paras)-1]
	n := 0
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		data = data[size:]
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			if p.space || p.b.Len() == 0 {
				continue
			}
			p.b.WriteByte(' ')
			p.space = true
		} else {
			p.b.WriteRune(r)
			p.space = false
		}
		n++
	}
	w.charge(n)
}

// skipped are elements whose content is never text of the document:
// comments, deleted text of tracked changes, note citations (replaced by
// our own "[n]"), speaker notes, alternative text, embedded binaries,
// scripts, styles and index templates.
var skipped = map[string]bool{
	"annotation":           true,
	"tracked-changes":      true,
	"changed-region":       true,
	"note-citation":        true,
	"notes":                true,
	"title":                true, // svg:title (dc:title lives in meta.xml)
	"desc":                 true,
	"binary-data":          true,
	"forms":                true,
	"scripts":              true,
	"event-listeners":      true,
	"font-face-decls":      true,
	"automatic-styles":     true,
	"styles":               true,
	"master-styles":        true,
	"sequence-decls":       true,
	"variable-decls":       true,
	"user-field-decls":     true,
	"named-expressions":    true,
	"calculation-settings": true,
	"database-ranges":      true,
}

// walk reads content.xml. A walk cut short by the output cap is no error.
func (w *walker) walk(ctx context.Context, zr *safezip.Reader, part string) error {
	x, err := openXML(ctx, zr, part)
	if err != nil {
		return err
	}
	defer x.Close()
	for !w.full {
		tok, err := x.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			local := t.Name.Local
			if skipped[local] || strings.HasSuffix(local, "-source") {
				if err := x.Skip(); err != nil {
					return err
				}
				continue
			}
			w.kinds = append(w.kinds, w.start(t))
		case xml.EndElement:
			if n := len(w.kinds); n > 0 {
				k := w.kinds[n-1]
				w.kinds = w.kinds[:n-1]
				w.end(k)
			}
		case xml.CharData:
			w.text(t)
		}
	}
	return nil
}

func repeat(se xml.StartElement, name string) int {
	n, err := strconv.Atoi(attr(se, name))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, maxRepeat)
}

func (w *walker) start(se xml.StartElement) kind {
	switch se.Name.Local {
	case "spreadsheet", "presentation", "drawing":
		if len(w.kinds) <= 2 { // office:document-content/office:body/office:X
			w.paged = true
		}
	case "p", "h":
		p := &para{prefix: w.prefix}
		if se.Name.Local == "h" {
			// ODF 19.844.4: a heading without a level is at level 1.
			p.level = 1
			if n, err := strconv.Atoi(attr(se, "outline-level")); err == nil && n > 0 {
				p.level = min(n, 6)
			}
		}
		w.prefix = ""
		w.paras = append(w.paras, p)
		return kPara
	case "list":
		w.lists++
		return kList
	case "list-item":
		w.prefix = strings.Repeat("  ", max(w.lists-1, 0)) + "- "
		return kItem
	case "s":
		c, err := strconv.Atoi(attr(se, "c"))
		if err != nil || c < 1 {
			c = 1
		}
		w.write(strings.Repeat(" ", min(c, maxSpaces)))
	case "tab":
		w.write("\t")
	case "line-break":
		w.write("\n")
	case "table":
		w.tables = append(w.tables, &table{top: w.paged && len(w.tables) == 0 && !w.inPage()})
		return kTable
	case "table-row":
		if t := w.table(); t != nil {
			t.cells, t.ncells = t.cells[:0], 0
			t.rowRepeat = repeat(se, "number-rows-repeated")
			return kRow
		}
	case "table-cell", "covered-table-cell":
		if t := w.table(); t != nil {
			w.pushSink()
			t.cells = append(t.cells, cellRun{count: repeat(se, "number-columns-repeated")})
			return kCell
		}
	case "page":
		if w.paged {
			w.pushSink()
			return kPage
		}
	case "note":
		w.write("[" + strconv.Itoa(len(w.notes)+1) + "]")
		w.notes = append(w.notes, "")
		w.pushSink()
		return kNote
	}
	return kNone
}

func (w *walker) inPage() bool {
	for _, k := range w.kinds {
		if k == kPage {
			return true
		}
	}
	return false
}

func (w *walker) table() *table {
	if len(w.tables) == 0 {
		return nil
	}
	return w.tables[len(w.tables)-1]
}

func (w *walker) end(k kind) {
	switch k {
	case kPara:
		p := w.paras[len(w.paras)-1]
		w.paras = w.paras[:len(w.paras)-1]
		if s := strings.TrimRight(p.b.String(), " "); strings.TrimSpace(s) != "" {
			w.emit(p.prefix + s)
			w.charge(len(p.prefix))
			if p.level > 0 && !w.paged && len(w.sinks) == 1 && len(w.paras) == 0 && len(w.headings) < maxHeadings {
				text := strings.TrimLeft(s, " \t\n")
				w.headings = append(w.headings, heading{level: p.level, block: len(w.sinks[0]) - 1,
					offset: len(p.prefix) + len(s) - len(text), text: strings.TrimRight(text, " \t\n")})
			}
		}
	case kList:
		w.lists--
	case kItem:
		w.prefix = ""
	case kCell:
		t := w.table()
		text := strings.Join(w.popSink(), " ")
		text = strings.NewReplacer("\t", " ", "\n", " ").Replace(text)
		last := &t.cells[len(t.cells)-1]
		last.text = text
		last.count = min(last.count, maxRowCells-t.ncells)
		t.ncells += last.count
		if n := len(t.cells); n >= 2 && text == "" && t.cells[n-2].text == "" {
			t.cells[n-2].count += last.count // merge runs of empty cells
			t.cells = t.cells[:n-1]
		}
	case kRow:
		t := w.table()
		line := w.row(t.cells)
		if strings.TrimSpace(line) == "" {
			return
		}
		for i := 0; i < t.rowRepeat && !w.full; i++ {
			if i > 0 && !w.charge(utf8.RuneCountInString(line)) {
				break
			}
			t.rows = append(t.rows, line)
		}
	case kTable:
		t := w.table()
		w.tables = w.tables[:len(w.tables)-1]
		block := strings.Join(t.rows, "\n")
		if t.top {
			w.pages = append(w.pages, block)
		} else {
			w.emit(block)
		}
	case kPage:
		w.pages = append(w.pages, joinBlocks(w.popSink()))
	case kNote:
		body := strings.Join(w.popSink(), " ")
		n := len(w.notes)
		w.notes[n-1] = "[" + strconv.Itoa(n) + "] " + body
		w.charge(4 + len(strconv.Itoa(n)))
	}
}

// row joins the cells of a row with tabs, leaving out trailing empty cells.
func (w *walker) row(cells []cellRun) string {
	for len(cells) > 0 && cells[len(cells)-1].text == "" {
		cells = cells[:len(cells)-1]
	}
	var b strings.Builder
	for i, c := range cells {
		for j := 0; j < c.count && !w.full; j++ {
			if i > 0 || j > 0 {
				b.WriteByte('\t')
				w.charge(1)
			}
			b.WriteString(c.text)
			if j > 0 {
				w.charge(utf8.RuneCountInString(c.text))
			}
		}
	}
	return b.String()
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

// placeHeadings returns the headings of the body with code point offsets
// into text, which starts with the body's blocks joined by blank lines;
// headings past the end of text (cut at the output cap) are left out.
func (w *walker) placeHeadings(text string) []extract.Heading {
	out := make([]extract.Heading, 0, len(w.headings))
	blocks := w.sinks[0]
	block, blockStart := 0, 0 // byte offset of blocks[block] in text
	pos, runes := 0, 0
	for _, h := range w.headings {
		for block < h.block {
			blockStart += len(blocks[block]) + len("\n\n")
			block++
		}
		start := blockStart + h.offset
		if start < pos || start+len(h.text) > len(text) || text[start:start+len(h.text)] != h.text {
			break
		}
		runes += utf8.RuneCountInString(text[pos:start])
		pos = start
		out = append(out, extract.Heading{Level: h.level, Text: h.text, Page: 1, Start: runes})
	}
	return out
}
