package html

import (
	"context"
	"errors"
	"fmt"
	"github.com/quarryhq/quarry/internal/runes"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract"
	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// skipped elements: their content is not text.
var skipped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true, atom.Svg: true,
	atom.Math: true, atom.Iframe: true, atom.Object: true, atom.Head: true, atom.Noembed: true,
	atom.Noframes: true, atom.Select: true, atom.Datalist: true,
}

// blocks maps block elements to the line breaks around them.
var blocks = map[atom.Atom]int{
	atom.P: 2, atom.H1: 2, atom.H2: 2, atom.H3: 2, atom.H4: 2, atom.H5: 2, atom.H6: 2,
	atom.Table: 2, atom.Pre: 2, atom.Blockquote: 2, atom.Ul: 2, atom.Ol: 2, atom.Dl: 2,
	atom.Figure: 2, atom.Hr: 2, atom.Section: 2, atom.Article: 2, atom.Main: 1, atom.Header: 1,
	atom.Footer: 1, atom.Nav: 1, atom.Aside: 1, atom.Div: 1, atom.Li: 1, atom.Tr: 1, atom.Dt: 1,
	atom.Dd: 1, atom.Caption: 1, atom.Figcaption: 1, atom.Address: 1, atom.Form: 1,
	atom.Fieldset: 1, atom.Legend: 1, atom.Details: 1, atom.Summary: 1, atom.Center: 1,
	atom.Body: 1, atom.Html: 1, atom.Thead: 1, atom.Tbody: 1, atom.Tfoot: 1, atom.Option: 1,
	atom.Menu: 1, atom.Dialog: 1, atom.Hgroup: 1, atom.Search: 1,
}

type walker struct {
	ctx      context.Context
	maxChars int
	b        strings.Builder
	chars    int
	full     bool

	pending   int  // line breaks owed before the next text
	space     bool // a space owed before the next text
	tab       bool // a cell separator owed before the next text
	skip      map[atom.Atom]int
	skipping  int
	pre       int
	firstCell bool

	main, article region

	inTitle bool
	title   string
	titleB  strings.Builder
	inH1    bool
	h1      string
	h1B     strings.Builder
	author  string
	lang    string

	head     hspan // the open h1-h6, level 0 when none
	headings []hspan
}

// hspan is a heading: its level and where its text lies in the walker's
// text and in its main and article regions (byte offsets; -1 outside).
type hspan struct {
	level             int
	b, e              int
	main, mainE       int
	article, articleE int
	started           bool
}

// maxHeadingBytes bounds a heading: an unclosed <h2> does not swallow the
// page.
const maxHeadingBytes = 2048

var headingLevels = map[atom.Atom]int{atom.H1: 1, atom.H2: 2, atom.H3: 3, atom.H4: 4, atom.H5: 5, atom.H6: 6}

// openHeading starts a heading, closing one left open.
func (w *walker) openHeading(level int) {
	w.closeHeading()
	w.head = hspan{level: level}
}

// closeHeading records the open heading, when it holds text and is whole.
func (w *walker) closeHeading() {
	h := w.head
	w.head = hspan{}
	if h.level == 0 || !h.started || w.full {
		return
	}
	h.e = w.b.Len()
	h.mainE, h.articleE = regionEnd(&w.main, h.main), regionEnd(&w.article, h.article)
	if h.e > h.b && h.e-h.b <= maxHeadingBytes {
		w.headings = append(w.headings, h)
	}
}

func regionEnd(r *region, start int) int {
	if start < 0 || r.depth == 0 {
		return -1
	}
	return r.b.Len()
}

func regionStart(r *region) int {
	if r.depth == 0 {
		return -1
	}
	return r.b.Len()
}

func newWalker(ctx context.Context, maxChars int) *walker {
	return &walker{ctx: ctx, maxChars: maxChars, skip: map[atom.Atom]int{}}
}

func (w *walker) brk(n int) {
	w.pending = max(w.pending, n)
	w.space, w.tab = false, false
}

// emit writes s, after the line breaks or space owed.
func (w *walker) emit(s string) {
	if s == "" || w.full {
		return
	}
	if w.b.Len() > 0 {
		switch {
		case w.pending > 0:
			w.put(strings.Repeat("\n", w.pending))
		case w.tab:
			w.put("\t")
		case w.space:
			w.put(" ")
		}
	}
	w.pending, w.space, w.tab = 0, false, false
	if w.head.level > 0 && !w.head.started {
		w.head.started = true
		w.head.b = w.b.Len()
		w.head.main, w.head.article = regionStart(&w.main), regionStart(&w.article)
	}
	w.put(s)
}

func (w *walker) put(s string) {
	n := utf8.RuneCountInString(s)
	if w.chars+n > w.maxChars {
		// Keep one code point over the cap so that the Extractor warns.
		s = runes.Cut(s, w.maxChars+1-w.chars)
		w.full = true
	}
	w.chars += n
	w.b.WriteString(s)
	if w.main.depth > 0 {
		w.main.b.WriteString(s)
	}
	if w.article.depth > 0 {
		w.article.b.WriteString(s)
	}
}

// region collects the text of one kind of main-content element.
type region struct {
	depth, count int
	b            strings.Builder
}

func (r *region) start() {
	if r.depth == 0 {
		r.count++
	}
	r.depth++
}

func (r *region) end() {
	if r.depth > 0 {
		r.depth--
	}
}

// Text returns the extracted text: that of the one <main> element when the
// page has exactly one, else that of its one <article>, else everything.
func (w *walker) Text() string {
	t, _ := w.content()
	return t
}

// content returns the text of Text and the headings within it, with byte
// offsets into that text.
func (w *walker) content() (string, []hspan) {
	for i, r := range []*region{&w.main, &w.article} {
		if r.count != 1 {
			continue
		}
		full := r.b.String()
		t := strings.TrimSpace(full)
		if t == "" {
			continue
		}
		lead := len(full) - len(strings.TrimLeft(full, " \t\n\r\f\v"))
		var hs []hspan
		for _, h := range w.headings {
			b, e := h.main, h.mainE
			if i == 1 {
				b, e = h.article, h.articleE
			}
			if b >= lead && e > b && e-lead <= len(t) {
				hs = append(hs, hspan{level: h.level, b: b - lead, e: e - lead})
			}
		}
		return t, hs
	}
	return w.b.String(), w.headings
}

// text adds a text token. Only HTML white space collapses, not U+00A0.
func (w *walker) text(s string) {
	if w.inTitle {
		w.titleB.WriteString(s)
		return
	}
	if w.skipping > 0 {
		return
	}
	if w.inH1 {
		w.h1B.WriteString(s)
	}
	if w.pre > 0 {
		w.emit(s)
		return
	}
	if s == "" {
		return
	}
	if isSpace(s[0]) {
		w.space = true
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r < utf8.RuneSelf && isSpace(byte(r)) })
	for i, f := range fields {
		if i > 0 {
			w.space = true
		}
		w.emit(f)
	}
	if len(fields) > 0 && isSpace(s[len(s)-1]) {
		w.space = true
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func (w *walker) run(r io.Reader) error {
	z := xhtml.NewTokenizer(r)
	for n := 0; !w.full; n++ {
		if n%1024 == 0 {
			if err := w.ctx.Err(); err != nil {
				return err
			}
		}
		tt := z.Next()
		switch tt {
		case xhtml.ErrorToken:
			if err := z.Err(); !errors.Is(err, io.EOF) {
				if ctxErr := w.ctx.Err(); ctxErr != nil {
					return ctxErr
				}
				if errors.Is(err, extract.ErrMalformed) {
					return err
				}
				return fmt.Errorf("html: %w: %v", extract.ErrMalformed, err)
			}
			return nil
		case xhtml.TextToken:
			w.text(string(z.Text()))
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			w.start(z, tt == xhtml.SelfClosingTagToken)
		case xhtml.EndTagToken:
			name, _ := z.TagName()
			w.end(atom.Lookup(name))
		}
	}
	return nil
}

func (w *walker) start(z *xhtml.Tokenizer, selfClosing bool) {
	name, hasAttr := z.TagName()
	a := atom.Lookup(name)
	var attrs map[string]string
	if hasAttr && (a == atom.Meta || a == atom.Img || a == atom.Html || a == atom.Input || a == atom.Area) {
		attrs = map[string]string{}
		for hasAttr {
			var k, v []byte
			k, v, hasAttr = z.TagAttr()
			if _, dup := attrs[string(k)]; !dup {
				attrs[string(k)] = string(v)
			}
		}
	}
	switch a {
	case atom.Title:
		if !selfClosing && w.title == "" {
			w.inTitle = true
		}
		return
	case atom.Meta:
		if strings.EqualFold(attrs["name"], "author") && w.author == "" {
			w.author = strings.Join(strings.Fields(attrs["content"]), " ")
		}
		return
	case atom.Html:
		if w.lang == "" {
			w.lang = strings.TrimSpace(attrs["lang"])
		}
	case atom.Body:
		// A missing </head> ends with the body.
		w.skipping -= w.skip[atom.Head]
		w.skip[atom.Head] = 0
	}
	if skipped[a] {
		if !selfClosing {
			w.skip[a]++
			w.skipping++
		}
		return
	}
	if w.skipping > 0 {
		return
	}
	switch a {
	case atom.Br:
		w.brk(1)
		return
	case atom.Img, atom.Area:
		if alt := strings.Join(strings.Fields(attrs["alt"]), " "); alt != "" {
			w.emit(alt)
			w.space = true
		}
		return
	case atom.Pre, atom.Listing, atom.Xmp, atom.Plaintext:
		w.pre++
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		if a == atom.H1 && w.h1 == "" {
			w.inH1 = true
		}
		w.openHeading(headingLevels[a])
	case atom.Main:
		w.main.start()
	case atom.Article:
		w.article.start()
	case atom.Tr:
		w.firstCell = true
	case atom.Td, atom.Th:
		if !w.firstCell && w.pending == 0 {
			w.tab = true
		}
		w.firstCell = false
		return
	}
	if n, ok := blocks[a]; ok {
		w.brk(n)
	}
}

func (w *walker) end(a atom.Atom) {
	if a == atom.Title && w.inTitle {
		w.inTitle = false
		w.title = strings.Join(strings.Fields(w.titleB.String()), " ")
		return
	}
	if skipped[a] {
		if w.skip[a] > 0 {
			w.skip[a]--
			w.skipping--
		}
		return
	}
	if w.skipping > 0 {
		return
	}
	switch a {
	case atom.Pre, atom.Listing, atom.Xmp:
		if w.pre > 0 {
			w.pre--
		}
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		if a == atom.H1 && w.inH1 {
			w.inH1 = false
			w.h1 = strings.Join(strings.Fields(w.h1B.String()), " ")
		}
		w.closeHeading()
	case atom.Td, atom.Th:
		w.space = true
	case atom.Main:
		w.main.end()
	case atom.Article:
		w.article.end()
	}
	if n, ok := blocks[a]; ok {
		w.brk(n)
	}
}
