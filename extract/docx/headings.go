package docx

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	"github.com/quarryhq/quarry/internal/safezip"
)

// candidate is a paragraph of the body with a style or an outline level
// of its own: a heading when the style or the level says so.
type candidate struct {
	style      string
	outline    int
	hasOutline bool
	start      int // byte offset of text in the body
	text       string
}

// maxCandidates bounds the styled paragraphs remembered.
const maxCandidates = 100000

// candidate remembers paragraph f, whose text was just added to the body
// at byte start.
func (w *walker) candidate(f *frame, start int, text string) {
	if len(w.candidates) >= maxCandidates {
		return
	}
	trimmed := strings.TrimLeft(text, " \t\n")
	w.candidates = append(w.candidates, candidate{
		style: f.style, outline: f.outline, hasOutline: f.hasOutline,
		start: start + len(text) - len(trimmed), text: trimmed,
	})
}

// headingLevel returns the heading level (1-6) of a paragraph, 0 when it
// is no heading: its own outline level first, else the first style of its
// style chain that has an outline level or a heading name ("heading 2",
// "Title"). Without styles.xml, the style id says ("Heading2", "Title").
func (nb *numbering) headingLevel(c candidate) int {
	if c.hasOutline {
		return outlineLevel(c.outline)
	}
	id := c.style
	for i := 0; id != "" && i < 16; i++ {
		s, ok := nb.styles[id]
		if !ok {
			return styleLevel(id, "heading")
		}
		if s.hasOutline {
			return outlineLevel(s.outline)
		}
		if l := styleLevel(s.name, "heading "); l > 0 {
			return l
		}
		id = s.basedOn
	}
	return 0
}

// outlineLevel maps w:outlineLvl (0-8; 9 is body text) to a level.
func outlineLevel(v int) int {
	if v < 0 || v > 8 {
		return 0
	}
	return min(v+1, 6)
}

// styleLevel reads a style name or id: "Title" is level 1, prefix followed
// by a digit 1-9 is that level (6 at most).
func styleLevel(name, prefix string) int {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "title" {
		return 1
	}
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 || n > 9 {
		return 0
	}
	return min(n, 6)
}

// headings returns the headings among the candidates, with code point
// offsets into text, in which the body starts at byte bodyOff. Styles are
// read now when the list numbering did not need them.
func (w *walker) headings(ctx context.Context, zr *safezip.Reader, rels []rel, nb *numbering, text string, bodyOff int) ([]extract.Heading, error) {
	if len(w.candidates) == 0 {
		return nil, nil
	}
	if !nb.read {
		if r, ok := relOfType(rels, "styles"); ok {
			if f := zr.Lookup(r.Target); f != nil && f.Size <= maxPartBytes {
				if err := nb.readStyles(ctx, zr, r.Target); isFatal(err) {
					return nil, err
				}
			}
		}
	}
	var out []extract.Heading
	pos, runes := 0, 0
	for _, c := range w.candidates {
		level := nb.headingLevel(c)
		if level == 0 {
			continue
		}
		start := bodyOff + c.start
		if start < pos || start+len(c.text) > len(text) || text[start:start+len(c.text)] != c.text {
			continue // cut at the output cap
		}
		runes += utf8.RuneCountInString(text[pos:start])
		pos = start
		out = append(out, extract.Heading{Level: level, Text: c.text, Page: 1, Start: runes})
	}
	return out, nil
}
