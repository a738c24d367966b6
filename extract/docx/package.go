package docx

import (
	"context"
	"encoding/xml"
	"io"
	"strconv"
	"strings"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/ooxml"
	"github.com/quarryhq/quarry/internal/safezip"
)

// rel is a package relationship.
type rel = ooxml.Rel

// readRels reads the relationships of part ([ooxml.ReadRels]; no size
// cap beyond the archive's limits).
func readRels(ctx context.Context, zr *safezip.Reader, part string) ([]rel, error) {
	return ooxml.ReadRels(ctx, zr, part, 0)
}

// relOfType returns the first relationship whose type ends in "/"+suffix
// (as [ooxml.RelOfType]).
func relOfType(rels []rel, suffix string) (rel, bool) { return ooxml.RelOfType(rels, suffix) }

// mainContentTypes are the content types of a WordprocessingML main part,
// with the media type of the package each one makes.
var mainContentTypes = []ooxml.MainType{
	{ContentType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml", MediaType: MediaTypeDOCX},
	{ContentType: "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml", MediaType: MediaTypeDOTX},
	{ContentType: "application/vnd.ms-word.document.macroEnabled.main+xml", MediaType: MediaTypeDOCM},
	{ContentType: "application/vnd.ms-word.template.macroEnabledTemplate.main+xml", MediaType: MediaTypeDOTM},
}

// mainPart finds the main document part ([ooxml.MainPart]), else
// word/document.xml.
func mainPart(ctx context.Context, zr *safezip.Reader, pkgRels []rel) (string, error) {
	return ooxml.MainPart(ctx, zr, pkgRels, mainContentTypes, "word/document.xml", 0)
}

// isFatal reports whether err must stop the extraction even when it comes
// from an optional part ([ooxml.IsFatal]): a malformed optional part
// (styles, numbering, properties) only loses its features.
func isFatal(err error) bool { return ooxml.IsFatal(err) }

// readCore reads title, author, language and dates from the core
// properties part ([ooxml.ReadCore]).
func readCore(ctx context.Context, zr *safezip.Reader, pkgRels []rel, md *extract.Metadata) error {
	return ooxml.ReadCore(ctx, zr, pkgRels, md, 0)
}

// numbering holds the list definitions of numbering.xml and the list
// properties paragraph styles carry.
type numbering struct {
	nums     map[string]string            // numId -> abstractNumId
	levels   map[string]map[int]*levelDef // abstractNumId -> ilvl -> level
	override map[string]map[int]int       // numId -> ilvl -> start override
	styles   map[string]styleDef          // paragraph styleId -> style
	counters map[string]map[int]int       // numId -> ilvl -> current value
	read     bool                         // styles.xml was read
}

type levelDef struct {
	start  int
	format string
	text   string
}

type styleDef struct {
	basedOn, numID string
	ilvl           int
	hasNum         bool
	name           string // w:name, such as "heading 1" or "Title"
	outline        int    // outlineLvl of the style's paragraph properties
	hasOutline     bool
}

func newNumbering() *numbering {
	return &numbering{
		nums: map[string]string{}, levels: map[string]map[int]*levelDef{},
		override: map[string]map[int]int{}, styles: map[string]styleDef{},
		counters: map[string]map[int]int{},
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// readNumbering reads numbering.xml.
func (nb *numbering) readNumbering(ctx context.Context, zr *safezip.Reader, part string) error {
	x, err := openXML(ctx, zr, part)
	if err != nil {
		return err
	}
	defer x.Close()
	var abs, num string
	var lvl *levelDef
	ovLvl := -1
	for {
		tok, err := x.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "abstractNum":
				abs, num = attr(t, "abstractNumId"), ""
				if nb.levels[abs] == nil {
					nb.levels[abs] = map[int]*levelDef{}
				}
			case "num":
				num, abs = attr(t, "numId"), ""
			case "abstractNumId":
				if num != "" {
					nb.nums[num] = attr(t, "val")
				}
			case "lvlOverride":
				ovLvl = atoi(attr(t, "ilvl"))
			case "startOverride":
				if num != "" && ovLvl >= 0 {
					if nb.override[num] == nil {
						nb.override[num] = map[int]int{}
					}
					nb.override[num][ovLvl] = atoi(attr(t, "val"))
				}
			case "lvl":
				if abs != "" && len(nb.levels[abs]) < 16 {
					lvl = &levelDef{start: 1, format: "decimal"}
					nb.levels[abs][atoi(attr(t, "ilvl"))] = lvl
				} else {
					lvl = nil
				}
			case "start":
				if lvl != nil {
					lvl.start = atoi(attr(t, "val"))
				}
			case "numFmt":
				if lvl != nil {
					lvl.format = attr(t, "val")
				}
			case "lvlText":
				if lvl != nil {
					lvl.text = attr(t, "val")
				}
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "lvl":
				lvl = nil
			case "lvlOverride":
				ovLvl = -1
			case "abstractNum":
				abs = ""
			case "num":
				num = ""
			}
		}
	}
}

// readStyles reads the list and outline properties and the names of the
// paragraph styles.
func (nb *numbering) readStyles(ctx context.Context, zr *safezip.Reader, part string) error {
	nb.read = true
	x, err := openXML(ctx, zr, part)
	if err != nil {
		return err
	}
	defer x.Close()
	var id string
	var cur styleDef
	for {
		tok, err := x.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "style":
				id, cur = "", styleDef{}
				if attr(t, "type") == "paragraph" {
					id = attr(t, "styleId")
				}
			case "basedOn":
				cur.basedOn = attr(t, "val")
			case "name":
				cur.name = attr(t, "val")
			case "outlineLvl":
				cur.outline, cur.hasOutline = atoi(attr(t, "val")), true
			case "numId":
				cur.numID, cur.hasNum = attr(t, "val"), true
			case "ilvl":
				cur.ilvl = atoi(attr(t, "val"))
			case "pPrChange", "rPr":
				if err := x.Skip(); err != nil {
					return err
				}
			}
		case xml.EndElement:
			if t.Name.Local == "style" && id != "" && len(nb.styles) < 100000 {
				nb.styles[id] = cur
				id = ""
			}
		}
	}
}

// listOf resolves the list of a paragraph from its direct numPr and its
// style chain. ok is false when the paragraph is not a list item.
func (nb *numbering) listOf(numID string, ilvl int, hasNum, hasLvl bool, style string) (string, int, bool) {
	if !hasNum {
		for i := 0; style != "" && i < 16; i++ {
			s, ok := nb.styles[style]
			if !ok {
				break
			}
			if s.hasNum {
				numID, hasNum = s.numID, true
				if !hasLvl {
					ilvl = s.ilvl
				}
				break
			}
			style = s.basedOn
		}
	}
	if !hasNum || numID == "" || numID == "0" {
		return "", 0, false
	}
	return numID, min(max(ilvl, 0), 8), true
}

// marker returns the list marker of the next item of list numID at ilvl
// and advances the list's counters.
func (nb *numbering) marker(numID string, ilvl int) string {
	abs := nb.levels[nb.nums[numID]]
	lv := abs[ilvl]
	if lv == nil || lv.format == "bullet" || lv.format == "none" || lv.format == "" {
		return "-"
	}
	c := nb.counters[numID]
	if c == nil {
		c = map[int]int{}
		nb.counters[numID] = c
	}
	startOf := func(l int) int {
		if s, ok := nb.override[numID][l]; ok {
			return s
		}
		if d := abs[l]; d != nil {
			return d.start
		}
		return 1
	}
	if _, ok := c[ilvl]; ok {
		c[ilvl]++
	} else {
		c[ilvl] = startOf(ilvl)
	}
	for l := range c {
		if l > ilvl {
			delete(c, l)
		}
	}
	text := lv.text
	if text == "" {
		text = "%" + strconv.Itoa(ilvl+1) + "."
	}
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		if text[i] == '%' && i+1 < len(text) && text[i+1] >= '1' && text[i+1] <= '9' {
			l := int(text[i+1] - '1')
			v, ok := c[l]
			if !ok {
				v = startOf(l)
			}
			f := "decimal"
			if d := abs[l]; d != nil {
				f = d.format
			}
			b.WriteString(formatNumber(v, f))
			i++
			continue
		}
		b.WriteByte(text[i])
	}
	m := strings.TrimSpace(b.String())
	if m == "" {
		return "-"
	}
	return m
}

func formatNumber(n int, format string) string {
	switch format {
	case "lowerLetter", "upperLetter":
		if n < 1 || n > 26*10 { // at most ten letters ("zzzzzzzzzz")
			return strconv.Itoa(n)
		}
		s := strings.Repeat(string(rune('a'+(n-1)%26)), (n-1)/26+1)
		if format == "upperLetter" {
			s = strings.ToUpper(s)
		}
		return s
	case "lowerRoman", "upperRoman":
		s := roman(n)
		if format == "lowerRoman" {
			s = strings.ToLower(s)
		}
		return s
	}
	return strconv.Itoa(n)
}

func roman(n int) string {
	if n < 1 || n >= 4000 {
		return strconv.Itoa(n)
	}
	vals := []int{1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1}
	syms := []string{"M", "CM", "D", "CD", "C", "XC", "L", "XL", "X", "IX", "V", "IV", "I"}
	var b strings.Builder
	for i, v := range vals {
		for n >= v {
			b.WriteString(syms[i])
			n -= v
		}
	}
	return b.String()
}
