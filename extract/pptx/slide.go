package pptx

import (
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
)

// errFull stops a walk once the output cap is reached.
var errFull = errors.New("pptx: output cap reached")

// shape is one shape of a slide's shape tree: a text shape, a table, a
// SmartArt frame or a group of shapes.
type shape struct {
	x, y    int64 // offset in EMU, in the coordinates of the parent
	h       int64 // height in EMU, 0 when unknown
	hasPos  bool
	isPh    bool   // a placeholder
	phType  string // its type ("" when the ph element has none)
	phIdx   string
	paras   []string // paragraphs of a text body, rows of a table
	diagram string   // relationship id of a SmartArt data part
	group   bool
	kids    []*shape
}

// title reports whether the shape is the slide's title placeholder.
func (s *shape) title() bool {
	return s.isPh && (s.phType == "title" || s.phType == "ctrTitle")
}

// furniture reports whether the shape is a date, footer, header or slide
// number placeholder: page furniture.
func (s *shape) furniture() bool {
	switch s.phType {
	case "dt", "ftr", "hdr", "sldNum", "sldImg":
		return s.isPh
	}
	return false
}

// walker reads the shape tree of one slide, notes slide, layout or master.
type walker struct {
	x      *xmlReader
	budget *budget
	noText bool // positions only (layouts and masters)
}

// budget counts the code points of output of one document.
type budget struct {
	max, used int
	full      bool
}

// charge counts n code points; errFull once over the cap.
func (b *budget) charge(n int) error {
	b.used += n
	if b.used > b.max {
		b.full = true
		return errFull
	}
	return nil
}

// tree reads the part up to and through its spTree element, returning the
// tree as a group shape.
func (w *walker) tree() (*shape, error) {
	root := &shape{group: true}
	for {
		tok, err := w.x.Next()
		if err == io.EOF {
			return root, nil
		}
		if err != nil {
			return root, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "spTree":
			return root, w.children(func(c xml.StartElement) error { return w.treeChild(root, c) })
		case "extLst", "clrMapOvr", "transition", "timing", "bg", "txStyles", "sldLayoutIdLst", "hf":
			if err := w.x.Skip(); err != nil {
				return root, err
			}
		}
	}
}

// children calls fn for each child element of the element just started;
// fn consumes the child (with children or Skip). It returns at the end of
// the element.
func (w *walker) children(fn func(xml.StartElement) error) error {
	depth := w.x.Depth()
	for {
		tok, err := w.x.Next()
		if err == io.EOF {
			return fmt.Errorf("%w: unexpected end of part", extract.ErrMalformed)
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := fn(t); err != nil {
				return err
			}
		case xml.EndElement:
			if w.x.Depth() < depth {
				return nil
			}
		}
	}
}

// alternate reads an mc:AlternateContent element: the children of its
// first branch go to fn, the other branches are skipped, so content that
// a writer gives twice (new markup and a fallback) comes out once.
func (w *walker) alternate(fn func(xml.StartElement) error) error {
	done := false
	return w.children(func(branch xml.StartElement) error {
		if done || (branch.Name.Local != "Choice" && branch.Name.Local != "Fallback") {
			return w.x.Skip()
		}
		done = true
		return w.children(fn)
	})
}

// treeChild reads one child of a shape tree or group.
func (w *walker) treeChild(parent *shape, se xml.StartElement) error {
	switch se.Name.Local {
	case "sp", "cxnSp", "graphicFrame":
		sh := &shape{}
		parent.kids = append(parent.kids, sh)
		return w.children(func(c xml.StartElement) error { return w.shapeChild(sh, c, se.Name.Local) })
	case "grpSp":
		g := &shape{group: true}
		parent.kids = append(parent.kids, g)
		return w.children(func(c xml.StartElement) error { return w.treeChild(g, c) })
	case "grpSpPr":
		return w.children(func(c xml.StartElement) error { return w.shapeChild(parent, c, se.Name.Local) })
	case "AlternateContent":
		return w.alternate(func(c xml.StartElement) error { return w.treeChild(parent, c) })
	}
	// Pictures, ink, OLE objects, non-visual properties: no text.
	return w.x.Skip()
}

// skippedInShape are elements of a shape that hold no text nor position.
var skippedInShape = map[string]bool{
	"style": true, "extLst": true, "blipFill": true, "prstGeom": true, "custGeom": true,
	"ln": true, "solidFill": true, "gradFill": true, "pattFill": true, "noFill": true,
	"effectLst": true, "scene3d": true, "sp3d": true, "cNvSpPr": true, "cNvGraphicFramePr": true,
}

// shapeChild reads one element inside a shape, parent being the local name
// of the element that holds it.
func (w *walker) shapeChild(sh *shape, se xml.StartElement, parent string) error {
	switch se.Name.Local {
	case "ph":
		sh.isPh, sh.phType, sh.phIdx = true, attr(se, "type"), attr(se, "idx")
		return w.x.Skip()
	case "off":
		if parent == "xfrm" && !sh.hasPos {
			x, errX := strconv.ParseInt(attr(se, "x"), 10, 64)
			y, errY := strconv.ParseInt(attr(se, "y"), 10, 64)
			if errX == nil && errY == nil {
				sh.x, sh.y, sh.hasPos = x, y, true
			}
		}
		return w.x.Skip()
	case "ext":
		if parent == "xfrm" && sh.h == 0 {
			if h, err := strconv.ParseInt(attr(se, "cy"), 10, 64); err == nil && h > 0 && h < 1<<40 {
				sh.h = h
			}
		}
		return w.x.Skip()
	case "txBody":
		if w.noText {
			return w.x.Skip()
		}
		return w.children(func(c xml.StartElement) error {
			if c.Name.Local != "p" {
				return w.x.Skip()
			}
			p, err := w.paragraph()
			sh.paras = append(sh.paras, p)
			return err
		})
	case "tbl":
		if w.noText {
			return w.x.Skip()
		}
		return w.table(sh)
	case "relIds":
		sh.diagram = relAttr(se, "dm")
		return w.x.Skip()
	case "AlternateContent":
		return w.alternate(func(c xml.StartElement) error { return w.shapeChild(sh, c, parent) })
	}
	if skippedInShape[se.Name.Local] {
		return w.x.Skip()
	}
	return w.children(func(c xml.StartElement) error { return w.shapeChild(sh, c, se.Name.Local) })
}

// paragraph reads an a:p: the text of its runs and fields, a:br as a line
// break.
func (w *walker) paragraph() (string, error) {
	var b strings.Builder
	err := w.children(func(c xml.StartElement) error { return w.inline(&b, c) })
	return b.String(), err
}

// inline reads one element inside a paragraph.
func (w *walker) inline(b *strings.Builder, se xml.StartElement) error {
	switch se.Name.Local {
	case "t":
		return w.text(b)
	case "br":
		b.WriteByte('\n')
		return w.x.Skip()
	case "rPr", "pPr", "endParaRPr", "extLst":
		return w.x.Skip()
	case "AlternateContent":
		return w.alternate(func(c xml.StartElement) error { return w.inline(b, c) })
	}
	return w.children(func(c xml.StartElement) error { return w.inline(b, c) })
}

// text reads the character data of a t element.
func (w *walker) text(b *strings.Builder) error {
	depth := w.x.Depth()
	for {
		tok, err := w.x.Next()
		if err == io.EOF {
			return fmt.Errorf("%w: unexpected end of part", extract.ErrMalformed)
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
			if err := w.budget.charge(utf8.RuneCount(t)); err != nil {
				return err
			}
		case xml.EndElement:
			if w.x.Depth() < depth {
				return nil
			}
		}
	}
}

// cellSpace turns the line breaks and tabs inside a table cell into
// spaces, so that a row stays one line.
var cellSpace = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ")

// table reads an a:tbl: one row per line, cells separated by tabs. A cell
// merged into its left or upper neighbour (hMerge, vMerge) is empty, so the
// columns stay aligned.
func (w *walker) table(sh *shape) error {
	return w.children(func(tr xml.StartElement) error {
		if tr.Name.Local != "tr" {
			return w.x.Skip()
		}
		var cells []string
		err := w.children(func(tc xml.StartElement) error {
			if tc.Name.Local != "tc" {
				return w.x.Skip()
			}
			if attr(tc, "hMerge") == "1" || attr(tc, "vMerge") == "1" || attr(tc, "hMerge") == "true" || attr(tc, "vMerge") == "true" {
				cells = append(cells, "")
				return w.x.Skip()
			}
			var paras []string
			err := w.children(func(c xml.StartElement) error {
				if c.Name.Local != "txBody" {
					return w.x.Skip()
				}
				return w.children(func(p xml.StartElement) error {
					if p.Name.Local != "p" {
						return w.x.Skip()
					}
					s, err := w.paragraph()
					if s = strings.TrimSpace(cellSpace.Replace(s)); s != "" {
						paras = append(paras, s)
					}
					return err
				})
			})
			cells = append(cells, strings.Join(paras, " "))
			return err
		})
		for len(cells) > 0 && cells[len(cells)-1] == "" {
			cells = cells[:len(cells)-1]
		}
		if len(cells) > 0 {
			sh.paras = append(sh.paras, strings.Join(cells, "\t"))
		}
		return err
	})
}

// pos is a placeholder position inherited from a layout or master.
type pos struct{ x, y, h int64 }

// positions returns the positions of the placeholders of a tree, keyed
// "idx:N" and "type:T".
func positions(root *shape) map[string]pos {
	m := map[string]pos{}
	var walk func(*shape)
	walk = func(s *shape) {
		for _, k := range s.kids {
			if k.group {
				walk(k)
				continue
			}
			if !k.isPh || !k.hasPos {
				continue
			}
			p := pos{k.x, k.y, k.h}
			if k.phIdx != "" {
				if _, ok := m["idx:"+k.phIdx]; !ok {
					m["idx:"+k.phIdx] = p
				}
			}
			if _, ok := m["type:"+phKind(k.phType)]; !ok {
				m["type:"+phKind(k.phType)] = p
			}
		}
	}
	walk(root)
	return m
}

// phKind maps a placeholder type to the type it inherits from: a slide's
// centred title takes the layout's title position, and a placeholder
// without a type is an object ("obj").
func phKind(t string) string {
	switch t {
	case "ctrTitle":
		return "title"
	case "subTitle", "":
		return "body"
	}
	return t
}

// inherit sets the position of the placeholders of root that have none of
// their own from the first of the maps that knows them: by index, then by
// type.
func inherit(root *shape, maps ...map[string]pos) {
	for _, k := range root.kids {
		if k.group {
			inherit(k, maps...)
			continue
		}
		if !k.isPh || k.hasPos {
			continue
		}
		for _, m := range maps {
			p, ok := m["idx:"+k.phIdx]
			if !ok || k.phIdx == "" {
				p, ok = m["type:"+phKind(k.phType)]
			}
			if ok {
				k.x, k.y, k.hasPos = p.x, p.y, true
				if k.h == 0 {
					k.h = p.h
				}
				break
			}
		}
	}
}

// order sorts the shapes of a tree into reading order: the title first,
// then bands top to bottom, each band left to right, where a band is a run
// of shapes whose vertical extents overlap (two columns, staggered boxes);
// shapes without a known position keep their order in the file, after the
// others. Groups are ordered within.
func order(root *shape) {
	var titles, placed, unplaced []*shape
	for _, k := range root.kids {
		switch {
		case k.title():
			titles = append(titles, k)
		case k.hasPos:
			placed = append(placed, k)
		default:
			unplaced = append(unplaced, k)
		}
	}
	slices.SortStableFunc(placed, func(a, b *shape) int { return cmp.Or(cmp.Compare(a.y, b.y), cmp.Compare(a.x, b.x)) })
	out := titles
	for i := 0; i < len(placed); {
		j, bottom := i+1, placed[i].y+placed[i].h
		for j < len(placed) && placed[j].y < bottom {
			bottom = max(bottom, placed[j].y+placed[j].h)
			j++
		}
		band := placed[i:j]
		slices.SortStableFunc(band, func(a, b *shape) int { return cmp.Or(cmp.Compare(a.x, b.x), cmp.Compare(a.y, b.y)) })
		out = append(out, band...)
		i = j
	}
	root.kids = append(out, unplaced...)
	for _, k := range root.kids {
		if k.group {
			order(k)
		}
	}
}

// blocks renders a sorted tree into text blocks, one per shape, leaving
// out empty shapes and, unless furniture is set, footer, date and slide
// number placeholders. keep, when set, decides which shapes count.
func blocks(root *shape, furniture bool, keep func(*shape) bool) []string {
	var out []string
	for _, k := range root.kids {
		if k.group {
			out = append(out, blocks(k, furniture, keep)...)
			continue
		}
		if (k.furniture() && !furniture) || (keep != nil && !keep(k)) {
			continue
		}
		if t := k.render(); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// render returns the text of a shape: its non-empty paragraphs (or table
// rows), one per line.
func (s *shape) render() string {
	var lines []string
	for _, p := range s.paras {
		p = strings.TrimRight(p, " \t\n")
		if strings.TrimSpace(p) != "" {
			lines = append(lines, p)
		}
	}
	return strings.Join(lines, "\n")
}

// titleText returns the text of the first title placeholder of a sorted
// tree, on one line.
func titleText(root *shape) string {
	for _, k := range root.kids {
		if k.title() {
			return strings.Join(strings.Fields(k.render()), " ")
		}
	}
	return ""
}
