package extract

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/quarryhq/quarry/extract/chunk"
	"github.com/quarryhq/quarry/extract/lang"
)

// Chunking strategies, the values of ChunkOptions.Strategy.
const (
	// ChunkFixed packs the text into chunks of up to the cap, ending each
	// at the strongest boundary it finds: paragraph, sentence, line, word.
	ChunkFixed = "fixed"
	// ChunkByPage makes one chunk per page, and splits a page over the
	// cap as ChunkFixed does.
	ChunkByPage = "by_page"
	// ChunkByHeading makes one chunk per section (a heading and the text
	// up to the next heading), and splits a section over the cap as
	// ChunkFixed does. A document without headings is chunked as
	// ChunkFixed.
	ChunkByHeading = "by_heading"
)

const (
	// DefaultChunkMaxChars is the cap when ChunkOptions sets none.
	DefaultChunkMaxChars = 2000
	// MaxChunkSize is the largest cap, in code points or tokens.
	MaxChunkSize = 100000
	// MaxChunks is the most chunks one document may be split into: a
	// tiny cap on a large document (or a document of a million headings)
	// fails with an OptionError rather than build millions of chunks.
	MaxChunks = 100000
)

// ChunkOptions ask for the text to be split into chunks for retrieval
// (RAG): Document.Chunks. The zero value asks for ChunkFixed chunks of at
// most DefaultChunkMaxChars code points, without overlap.
//
// Chunks never cut a word unless the word alone is longer than the cap,
// never start or end with white space, and together cover every character
// of the text that is not white space. Tokens are an approximation, the
// same for every document and language: see package
// github.com/quarryhq/quarry/extract/chunk.
type ChunkOptions struct {
	// Strategy is ChunkFixed (the default), ChunkByPage or ChunkByHeading.
	Strategy string `json:"strategy,omitempty"`
	// MaxChars caps a chunk in code points, white space included.
	MaxChars int `json:"max_chars,omitempty"`
	// MaxTokens caps a chunk in approximate tokens instead; set MaxChars
	// or MaxTokens, not both.
	MaxTokens int `json:"max_tokens,omitempty"`
	// Overlap is how much of the end of a chunk the next chunk repeats,
	// in the unit of the cap, starting at a word boundary; at most half
	// the cap. Chunks of different pages (ChunkByPage) or sections
	// (ChunkByHeading) repeat nothing of each other.
	Overlap int `json:"overlap,omitempty"`
}

// Validate checks the options; errors are *OptionError with Field
// "chunking.strategy", "chunking.max_chars", "chunking.max_tokens" or
// "chunking.overlap".
func (o ChunkOptions) Validate() error {
	bad := func(field, reason string) error { return &OptionError{Field: "chunking." + field, Reason: reason} }
	switch o.Strategy {
	case "", ChunkFixed, ChunkByPage, ChunkByHeading:
	default:
		return bad("strategy", "must be fixed, by_page or by_heading")
	}
	for _, c := range []struct {
		field string
		v     int
	}{{"max_chars", o.MaxChars}, {"max_tokens", o.MaxTokens}} {
		if c.v < 0 {
			return bad(c.field, "must not be negative")
		}
		if c.v > MaxChunkSize {
			return bad(c.field, "must be at most "+strconv.Itoa(MaxChunkSize))
		}
	}
	if o.MaxChars > 0 && o.MaxTokens > 0 {
		return bad("max_tokens", "set max_chars or max_tokens, not both")
	}
	if o.Overlap < 0 {
		return bad("overlap", "must not be negative")
	}
	d := o.withDefaults()
	if d.Overlap > d.size()/2 {
		return bad("overlap", "must be at most half the cap: "+strconv.Itoa(d.size()/2)+" for "+d.capName()+" "+strconv.Itoa(d.size()))
	}
	return nil
}

// withDefaults fills the strategy and the cap.
func (o ChunkOptions) withDefaults() ChunkOptions {
	if o.Strategy == "" {
		o.Strategy = ChunkFixed
	}
	if o.MaxChars <= 0 && o.MaxTokens <= 0 {
		o.MaxChars = DefaultChunkMaxChars
	}
	return o
}

func (o ChunkOptions) size() int {
	if o.MaxTokens > 0 {
		return o.MaxTokens
	}
	return o.MaxChars
}

func (o ChunkOptions) capName() string {
	if o.MaxTokens > 0 {
		return "max_tokens"
	}
	return "max_chars"
}

func (o ChunkOptions) split() chunk.Options {
	c := chunk.Options{Unit: chunk.Chars, Max: o.size(), Overlap: o.Overlap}
	if o.MaxTokens > 0 {
		c.Unit = chunk.Tokens
	}
	return c
}

// Heading is one heading of a document. Parsers of formats that mark
// headings (Markdown, HTML, DOCX, ODF) report them; the Extractor places
// them in Document.Text and drops those of pages left out or cut.
type Heading struct {
	// Level is 1 (a title or chapter) to 6.
	Level int `json:"level"`
	// Text is the heading as it stands in the text.
	Text string `json:"text"`
	// Page is the number of the page the heading is on.
	Page int `json:"page"`
	// Start is where Text begins, in code points: a parser gives it
	// within its page's Text, the Extractor within Document.Text.
	Start int `json:"start"`
}

// Chunk is one piece of Document.Text.
type Chunk struct {
	// ID is derived from the chunk's text and offset: the same document
	// chunked with the same options gives the same ids.
	ID string `json:"id" example:"chk_3f2a9c0d4b1e8a7f" doc:"derived from the chunk's text and start: stable across extractions of the same content with the same options"`
	// Text is exactly Document.Text[Start:End] in code points.
	Text string `json:"text" doc:"exactly text[start:end] of the extraction, in code points"`
	// Start and End are offsets into Document.Text, in code points.
	Start int `json:"start" doc:"offset into the extraction's text, in Unicode code points"`
	End   int `json:"end" doc:"offset into the extraction's text, in Unicode code points (exclusive)"`
	// PageStart and PageEnd are the numbers of the pages the chunk
	// starts and ends on.
	PageStart int `json:"page_start" doc:"number of the page the chunk starts on"`
	PageEnd   int `json:"page_end" doc:"number of the page the chunk ends on"`
	// HeadingPath is the stack of headings the chunk's text is under,
	// outermost first, such as ["Chapter 2", "2.1 Setup"]; empty, never
	// nil, before the first heading or in formats without headings.
	HeadingPath []string `json:"heading_path" nullable:"false" doc:"the headings the chunk's text is under, outermost first; empty before the first heading and for formats without headings"`
}

func validateChunking(o *ChunkOptions) error {
	if o == nil {
		return nil
	}
	return o.Validate()
}

func detectLanguage(text string) string { return lang.Detect(text) }

// segment is a stretch of Document.Text chunked on its own: the whole
// text, a page or a section.
type segment struct {
	start, end   int // code points
	startB, endB int // bytes
}

// chunkDocument splits doc.Text into chunks as o asks. o is valid. The
// error is an *OptionError when the document would make more than
// MaxChunks chunks.
func chunkDocument(doc *Document, o ChunkOptions) ([]Chunk, error) {
	o = o.withDefaults()
	text := doc.Text
	cur := &runeCursor{s: text}
	total := utf8.RuneCountInString(text)
	var segs []segment
	switch o.Strategy {
	case ChunkByPage:
		for _, p := range doc.Pages {
			if p.Start < 0 || p.End > total || p.Start >= p.End {
				continue
			}
			segs = append(segs, segment{start: p.Start, end: p.End, startB: cur.byteAt(p.Start), endB: cur.byteAt(p.End)})
		}
	case ChunkByHeading:
		segs = sections(text, total, validHeadings(doc.Headings, total), cur)
	}
	if segs == nil {
		segs = []segment{{start: 0, end: total, startB: 0, endB: len(text)}}
	}
	hs := newHeadingIndex(text, validHeadings(doc.Headings, total))
	chunks := []Chunk{}
	tooMany := false
	var splitter chunk.Splitter
	var ids idHasher
	for _, sg := range segs {
		splitter.Each(text[sg.startB:sg.endB], o.split(), func(sp chunk.Span) bool {
			if len(chunks) == MaxChunks {
				tooMany = true
				return false
			}
			c := Chunk{
				Text:  text[sg.startB+sp.StartByte : sg.startB+sp.EndByte],
				Start: sg.start + sp.Start,
				End:   sg.start + sp.End,
			}
			c.ID = ids.id(c.Text, c.Start)
			c.PageStart, c.PageEnd = pageOf(doc.Pages, c.Start), pageOf(doc.Pages, c.End-1)
			c.HeadingPath = hs.path(sg.startB+sp.StartByte, sg.startB+sp.EndByte)
			chunks = append(chunks, c)
			return true
		})
		if tooMany {
			return nil, &OptionError{Field: "chunking." + o.capName(), Reason: "this document would make more than " +
				strconv.Itoa(MaxChunks) + " chunks: raise " + o.capName() + " or choose another strategy"}
		}
	}
	return chunks, nil
}

// idHasher derives chunk ids: "chk_" and the first 8 bytes, in hex, of the
// SHA-256 of the chunk's text, a NUL and its start in decimal.
type idHasher struct {
	buf []byte
}

func (h *idHasher) id(text string, start int) string {
	h.buf = append(h.buf[:0], text...)
	h.buf = append(h.buf, 0)
	h.buf = strconv.AppendInt(h.buf, int64(start), 10)
	sum := sha256.Sum256(h.buf)
	return "chk_" + hex.EncodeToString(sum[:8])
}

// pageOf returns the number of the page holding code point i: the last
// page starting at or before it (i falls between pages only on the
// separator, which no chunk starts or ends on).
func pageOf(pages []Page, i int) int {
	lo, hi := 0, len(pages)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if pages[m].Start <= i {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		if len(pages) == 0 {
			return 1
		}
		return pages[0].Number
	}
	return pages[lo-1].Number
}

// validHeadings returns the headings that lie within a text of total code
// points, in order and without overlaps.
func validHeadings(hs []Heading, total int) []Heading {
	out := make([]Heading, 0, len(hs))
	prevEnd := 0
	for _, h := range hs {
		n := utf8.RuneCountInString(h.Text)
		if h.Start < prevEnd || n == 0 || h.Start+n > total {
			continue
		}
		out = append(out, h)
		prevEnd = h.Start + n
	}
	return out
}

// sections cuts text at its headings: the text before the first heading,
// then each heading with the text up to the next one. A section holding
// only its heading goes with the next section when that one is a
// subsection ("Chapter 2" directly followed by "2.1 Setup"), so that no
// chunk is a lone heading. Nil when there are no headings.
func sections(text string, total int, hs []Heading, cur *runeCursor) []segment {
	if len(hs) == 0 {
		return nil
	}
	starts := make([]int, len(hs))
	ends := make([]int, len(hs))
	for i, h := range hs {
		starts[i] = cur.byteAt(h.Start)
		ends[i] = cur.byteAt(h.Start + utf8.RuneCountInString(h.Text))
	}
	var out []segment
	from, fromB := 0, 0
	for i, h := range hs {
		if i > 0 && h.Level > hs[i-1].Level && blank(text[ends[i-1]:starts[i]]) {
			continue // the previous section is its heading alone
		}
		if starts[i] > fromB {
			out = append(out, segment{start: from, end: h.Start, startB: fromB, endB: starts[i]})
		}
		from, fromB = h.Start, starts[i]
	}
	return append(out, segment{start: from, end: total, startB: fromB, endB: len(text)})
}

func blank(s string) bool { return strings.TrimFunc(s, unicode.IsSpace) == "" }

// headingIndex answers which headings a stretch of text is under.
type headingIndex struct {
	text  string
	start []int      // byte offset of each heading
	end   []int      // byte offset of each heading's end
	paths [][]string // the heading stack after each heading
}

func newHeadingIndex(text string, hs []Heading) *headingIndex {
	ix := &headingIndex{text: text}
	cur := &runeCursor{s: text}
	var stack []int // levels
	var names []string
	for _, h := range hs {
		for len(stack) > 0 && stack[len(stack)-1] >= h.Level {
			stack, names = stack[:len(stack)-1], names[:len(names)-1]
		}
		stack, names = append(stack, h.Level), append(names, oneLine(h.Text))
		ix.start = append(ix.start, cur.byteAt(h.Start))
		ix.end = append(ix.end, cur.byteAt(h.Start+utf8.RuneCountInString(h.Text)))
		ix.paths = append(ix.paths, slices.Clone(names))
	}
	return ix
}

// oneLine returns s with its runs of white space made single spaces.
func oneLine(s string) string {
	prev := false
	for _, r := range s {
		space := unicode.IsSpace(r)
		if space && (r != ' ' || prev) {
			return strings.Join(strings.Fields(s), " ")
		}
		prev = space
	}
	return s
}

// path returns the heading path of the chunk at bytes [b, e): the stack of
// headings in force where its text begins, headings at its very start
// counting as its own ("Chapter 2\n\n2.1 Setup\n\n..." is under both).
func (ix *headingIndex) path(b, e int) []string {
	// k: the first heading at or after b.
	k, hi := 0, len(ix.start)
	for k < hi {
		m := int(uint(k+hi) >> 1)
		if ix.start[m] < b {
			k = m + 1
		} else {
			hi = m
		}
	}
	last := k - 1 // the heading in force at b
	p := b
	for k < len(ix.start) && ix.start[k] < e && blank(ix.text[p:ix.start[k]]) {
		last, p = k, ix.end[k]
		k++
	}
	if last < 0 {
		return []string{}
	}
	return slices.Clone(ix.paths[last])
}

// runeCursor converts code point offsets of s into byte offsets, reading
// forward from the last answer: increasing queries cost O(len(s)) in all.
type runeCursor struct {
	s    string
	b, r int
}

func (c *runeCursor) byteAt(r int) int {
	if r < c.r {
		c.b, c.r = 0, 0
	}
	for c.r < r && c.b < len(c.s) {
		_, w := utf8.DecodeRuneInString(c.s[c.b:])
		c.b += w
		c.r++
	}
	return c.b
}

// placeHeadings turns heading offsets into offsets into doc.Text, dropping
// headings of pages that were not selected or were cut, and headings whose
// text is not where the parser said (the Extractor may have replaced
// invalid UTF-8 or line ends since).
func placeHeadings(doc *Document) {
	if len(doc.Headings) == 0 {
		return
	}
	byPage := map[int][]Heading{}
	for _, h := range doc.Headings {
		p := h.Page
		if p == 0 && len(doc.Pages) > 0 {
			p = doc.Pages[0].Number
		}
		h.Page = p
		h.Level = min(max(h.Level, 1), 6)
		h.Text = strings.TrimFunc(cleanText(h.Text), unicode.IsSpace)
		if h.Text != "" && h.Start >= 0 {
			byPage[p] = append(byPage[p], h)
		}
	}
	// A fresh slice: the parser's may be shared (a cached Document).
	out := make([]Heading, 0, len(doc.Headings))
	for _, pg := range doc.Pages {
		hs := byPage[pg.Number]
		delete(byPage, pg.Number) // a repeated page number: headings once
		slices.SortStableFunc(hs, func(a, b Heading) int { return a.Start - b.Start })
		cur := &runeCursor{s: pg.Text}
		floorB, floorR := 0, 0 // bytes and code points before here are taken
		for _, h := range hs {
			pos, ok := findHeading(pg.Text, cur, h, floorB)
			if !ok {
				continue
			}
			r := floorR + utf8.RuneCountInString(pg.Text[floorB:pos])
			h.Start = pg.Start + r
			floorB, floorR = pos+len(h.Text), r+utf8.RuneCountInString(h.Text)
			out = append(out, h)
		}
	}
	doc.Headings = out
}

// findHeading returns the byte offset of h.Text in page text at or after
// byte floor: where h.Start says, or else the nearest occurrence before it
// (cleaning only shortens the text before a heading).
func findHeading(text string, cur *runeCursor, h Heading, floor int) (int, bool) {
	at := cur.byteAt(h.Start)
	if cur.r < h.Start {
		return 0, false // past the end of the page: cut
	}
	if at >= floor && strings.HasPrefix(text[at:], h.Text) {
		return at, true
	}
	if at < floor {
		return 0, false
	}
	window := text[floor:min(len(text), at+len(h.Text))]
	if i := strings.LastIndex(window, h.Text); i >= 0 {
		return floor + i, true
	}
	return 0, false
}
