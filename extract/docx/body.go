package docx

import (
	"encoding/xml"
	"fmt"
	"github.com/quarryhq/quarry/internal/runes"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
)

// frameKind is what an open element on the walker's stack collects.
type frameKind uint8

const (
	kindRoot  frameKind = iota // a part: blocks
	kindPara                   // a paragraph: inline text
	kindCell                   // a table cell: blocks joined by spaces
	kindRow                    // a table row: cells
	kindTable                  // a table: rows
	kindBox                    // a text box: blocks
	kindNote                   // a footnote or endnote: blocks
)

type frame struct {
	kind  frameKind
	depth int // element depth of the start tag that pushed it
	buf   strings.Builder
	tight bool // the last block was a list item

	// paragraphs
	style         string
	numID         string
	ilvl          int
	hasNum, hasLv bool
	outline       int  // outlineLvl of the paragraph's own properties
	hasOutline    bool // outline is set

	// rows and tables
	cells []string
	rows  []string

	// notes
	noteKey string
}

func (f *frame) isContainer() bool {
	return f.kind == kindRoot || f.kind == kindCell || f.kind == kindBox || f.kind == kindNote
}

// addBlock appends a paragraph or a table to a container. List items
// follow each other on single lines; other blocks are separated by a
// blank line. Cells keep their blocks on one line.
func (f *frame) addBlock(text string, listItem bool) int {
	if strings.TrimSpace(text) == "" {
		return 0
	}
	sep := f.buf.Len() > 0
	if f.buf.Len() > 0 {
		switch {
		case f.kind == kindCell:
			f.buf.WriteByte(' ')
		case listItem && f.tight:
			f.buf.WriteByte('\n')
		default:
			f.buf.WriteString("\n\n")
		}
	}
	f.buf.WriteString(text)
	f.tight = listItem
	if sep {
		return 2
	}
	return 0
}

// acState tracks one mc:AlternateContent: only its first branch is read.
type acState struct {
	depth int
	taken bool
}

// walker turns the tokens of WordprocessingML parts into text.
type walker struct {
	stack  []*frame
	acs    []acState
	inT    bool
	inMath int

	num *numbering

	chars    int // code points written so far, over all parts
	maxChars int
	full     bool // chars went past maxChars: stop

	recordRefs bool
	refs       []string          // "footnote:ID" / "endnote:ID" in order of reference
	notes      map[string]string // same keys -> note text

	// candidates are the styled paragraphs of the body, which may be
	// headings (headings.go).
	candidates []candidate
}

func (w *walker) top() *frame { return w.stack[len(w.stack)-1] }

func (w *walker) push(k frameKind, depth int) *frame {
	f := &frame{kind: k, depth: depth}
	w.stack = append(w.stack, f)
	return f
}

// container returns the innermost container frame below index i.
func (w *walker) container(below int) *frame {
	for i := below - 1; i >= 0; i-- {
		if w.stack[i].isContainer() {
			return w.stack[i]
		}
	}
	return w.stack[0]
}

func (w *walker) write(s string) {
	if s == "" || w.full {
		return
	}
	f := w.top()
	if f.kind == kindRow || f.kind == kindTable {
		return // text outside any cell: not WordprocessingML
	}
	n := utf8.RuneCountInString(s)
	if over := w.chars + n - (w.maxChars + 1); over > 0 {
		s = runes.Cut(s, n-over)
		n -= over
	}
	f.buf.WriteString(s)
	w.count(n)
}

// count charges n code points of output (text, separators, markers) to the
// output cap.
func (w *walker) count(n int) {
	w.chars += n
	if w.chars > w.maxChars {
		w.full = true
	}
}

// walkPart reads a whole part into a fresh root frame and returns its
// text. Footnote and endnote elements become notes.
func (w *walker) walkPart(x *xmlReader) (string, error) {
	w.stack = w.stack[:0]
	w.acs = w.acs[:0]
	w.inT, w.inMath = false, 0
	w.push(kindRoot, 0)
	for !w.full {
		tok, err := x.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := w.start(x, t); err != nil {
				return "", err
			}
		case xml.EndElement:
			w.end(x.Depth(), t)
		case xml.CharData:
			if w.inT {
				w.write(string(t))
			}
		}
	}
	for len(w.stack) > 1 { // truncated: close what is open
		w.closeTop()
	}
	return w.stack[0].buf.String(), nil
}

// skipped are elements whose content is never text of the document as
// shown with all changes accepted: deletions, moved-away text, field
// instructions, comments and hidden bookkeeping.
var skipped = map[string]bool{
	"del": true, "moveFrom": true, "delText": true, "delInstrText": true,
	"instrText": true, "fldData": true, "binData": true, "comment": true,
	"tblGrid": true, "tblPrEx": true, "pPrChange": true, "rPrChange": true,
	"sectPrChange": true, "numberingChange": true,
}

func (w *walker) start(x *xmlReader, se xml.StartElement) error {
	name := se.Name.Local
	switch name {
	case "p":
		w.push(kindPara, x.Depth())
	case "pPr":
		return w.paraProps(x)
	case "t":
		w.inT = true
	case "tab", "ptab":
		w.write("\t")
	case "br", "cr":
		w.write("\n")
	case "noBreakHyphen":
		w.write("-")
	case "sym":
		if r, err := strconv.ParseUint(attr(se, "char"), 16, 32); err == nil {
			// Symbol fonts map their glyphs to U+F020–U+F0FF; those are
			// private-use code points without a meaning of their own.
			if c := rune(r); c >= 0x20 && (c < 0xE000 || c > 0xF8FF) && utf8.ValidRune(c) {
				w.write(string(c))
			}
		}
	case "footnoteReference", "endnoteReference":
		if w.recordRefs {
			kind := strings.TrimSuffix(name, "Reference")
			w.refs = append(w.refs, kind+":"+attr(se, "id"))
			w.write("[" + strconv.Itoa(len(w.refs)) + "]")
		}
	case "tbl":
		w.push(kindTable, x.Depth())
	case "tr":
		w.push(kindRow, x.Depth())
	case "tc":
		w.push(kindCell, x.Depth())
	case "txbxContent":
		w.push(kindBox, x.Depth())
	case "footnote", "endnote":
		switch attr(se, "type") {
		case "separator", "continuationSeparator", "continuationNotice":
			return x.Skip()
		}
		f := w.push(kindNote, x.Depth())
		f.noteKey = name + ":" + attr(se, "id")
	case "AlternateContent":
		w.acs = append(w.acs, acState{depth: x.Depth()})
	case "Choice", "Fallback":
		if n := len(w.acs); n > 0 && w.acs[n-1].depth == x.Depth()-1 {
			if w.acs[n-1].taken {
				return x.Skip()
			}
			w.acs[n-1].taken = true
		}
	case "oMath":
		w.inMath++
	case "e", "sub", "sup", "num", "den", "lim", "deg", "fName":
		// Separate the parts of an equation (base, index, numerator...)
		// so that its symbols do not run together into one word.
		if w.inMath > 0 {
			w.spaceBefore()
		}
	default:
		if skipped[name] || (strings.HasSuffix(name, "Pr") && len(name) > 2) {
			return x.Skip()
		}
	}
	return nil
}

// spaceBefore writes a space unless the text so far ends in one.
func (w *walker) spaceBefore() {
	f := w.top()
	if f.kind != kindPara || f.buf.Len() == 0 {
		return
	}
	s := f.buf.String()
	if c := s[len(s)-1]; c != ' ' && c != '\t' && c != '\n' {
		w.write(" ")
	}
}

func (w *walker) end(depth int, ee xml.EndElement) {
	switch ee.Name.Local {
	case "t":
		w.inT = false
		return
	case "AlternateContent":
		if n := len(w.acs); n > 0 && w.acs[n-1].depth == depth+1 {
			w.acs = w.acs[:n-1]
		}
		return
	case "oMath":
		if w.inMath > 0 {
			w.inMath--
			w.spaceBefore()
		}
		return
	case "e", "sub", "sup", "num", "den", "lim", "deg", "fName":
		if w.inMath > 0 {
			w.spaceBefore()
		}
		return
	}
	if len(w.stack) > 1 && w.top().depth == depth+1 {
		w.closeTop()
	}
}

// paraProps reads the list properties of a paragraph from its pPr.
func (w *walker) paraProps(x *xmlReader) error {
	f := w.top()
	target := x.Depth() - 1
	for x.Depth() > target {
		tok, err := x.Next()
		if err != nil {
			if err == io.EOF {
				return fmt.Errorf("docx: %w: a paragraph ends early", extract.ErrMalformed)
			}
			return err
		}
		se, ok := tok.(xml.StartElement)
		if !ok || f.kind != kindPara {
			continue
		}
		switch se.Name.Local {
		case "pStyle":
			f.style = attr(se, "val")
		case "numId":
			f.numID, f.hasNum = attr(se, "val"), true
		case "ilvl":
			f.ilvl, f.hasLv = atoi(attr(se, "val")), true
		case "outlineLvl":
			f.outline, f.hasOutline = atoi(attr(se, "val")), true
		case "pPrChange", "rPr", "sectPr":
			if err := x.Skip(); err != nil {
				return err
			}
		}
	}
	return nil
}

// closeTop pops the innermost frame and hands what it collected to the
// frame that holds it.
func (w *walker) closeTop() {
	n := len(w.stack) - 1
	f := w.stack[n]
	w.stack = w.stack[:n]
	switch f.kind {
	case kindPara:
		text := strings.TrimRight(f.buf.String(), " \t\n")
		listItem := false
		if id, lvl, ok := w.num.listOf(f.numID, f.ilvl, f.hasNum, f.hasLv, f.style); ok {
			m := w.num.marker(id, lvl)
			if strings.TrimSpace(text) != "" {
				text = strings.Repeat("  ", lvl) + m + " " + strings.TrimLeft(text, " \t")
				listItem = true
				w.count(2*lvl + len(m) + 1)
			}
		}
		c := w.container(n)
		before := c.buf.Len()
		w.count(c.addBlock(text, listItem))
		if w.recordRefs && c == w.stack[0] && c.buf.Len() > before && (f.style != "" || f.hasOutline) {
			w.candidate(f, c.buf.Len()-len(text), text)
		}
	case kindCell:
		text := strings.Join(strings.Fields(f.buf.String()), " ")
		if p := w.nearest(n, kindRow); p != nil {
			p.cells = append(p.cells, text)
			w.count(1) // the tab before the cell
		} else {
			w.count(w.container(n).addBlock(text, false))
		}
	case kindRow:
		line := strings.TrimRight(strings.Join(f.cells, "\t"), "\t")
		if line == "" {
			return
		}
		if p := w.nearest(n, kindTable); p != nil {
			p.rows = append(p.rows, line)
		} else {
			w.count(w.container(n).addBlock(line, false))
		}
	case kindTable:
		w.count(w.container(n).addBlock(strings.Join(f.rows, "\n"), false))
	case kindBox:
		w.count(w.container(n).addBlock(f.buf.String(), false))
	case kindNote:
		if w.notes != nil && len(w.notes) < 100000 {
			w.notes[f.noteKey] = f.buf.String()
		}
	}
}

// nearest returns the frame of kind k directly holding index i: the first
// frame below i, when it is of kind k.
func (w *walker) nearest(i int, k frameKind) *frame {
	if i > 0 && w.stack[i-1].kind == k {
		return w.stack[i-1]
	}
	return nil
}
