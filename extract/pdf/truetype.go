package pdf

import (
	"encoding/binary"
	"io"
	"unicode/utf8"

	lpdf "github.com/ledongthuc/pdf"
)

// CID TrueType fonts with an Identity encoding and no ToUnicode CMap (a
// common output of office suites for CJK text) say nothing in the PDF about
// which character a glyph draws; the embedded font's own "cmap" table
// does. The parser reads it, inverts it (glyph id -> character) and
// decodes two-byte codes through /CIDToGIDMap, as pdftotext does.

const maxFontFileBytes = 32 << 20

// gidEncoding decodes two-byte CIDs through a CID-to-glyph map and the
// inverted cmap of the embedded TrueType font.
type gidEncoding struct {
	cidToGID []uint16 // nil for /Identity
	runes    map[uint16]rune
}

func (g *gidEncoding) Decode(raw string) string {
	var b []byte
	for i := 0; i+1 < len(raw); i += 2 {
		cid := uint16(raw[i])<<8 | uint16(raw[i+1])
		gid := cid
		if g.cidToGID != nil {
			if int(cid) >= len(g.cidToGID) {
				b = utf8.AppendRune(b, utf8.RuneError)
				continue
			}
			gid = g.cidToGID[cid]
		}
		r, ok := g.runes[gid]
		if !ok {
			r = utf8.RuneError
		}
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}

// embeddedTrueType returns a decoder for a Type0 font whose descendant is a
// CIDFontType2 with an embedded font file holding a usable cmap; nil
// otherwise.
func (e *extraction) embeddedTrueType(fv lpdf.Value) lpdf.TextEncoding {
	desc := fv.Key("DescendantFonts").Index(0)
	if desc.Key("Subtype").Name() != "CIDFontType2" {
		return nil
	}
	ff := desc.Key("FontDescriptor").Key("FontFile2")
	if ff.Kind() != lpdf.Stream || !e.checkStream(ff, maxFontFileBytes) {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(ff.Reader(), maxFontFileBytes))
	if err != nil {
		return nil
	}
	runes := invertCmap(data)
	if len(runes) == 0 {
		return nil
	}
	enc := &gidEncoding{runes: runes}
	if m := desc.Key("CIDToGIDMap"); m.Kind() == lpdf.Stream && e.checkStream(m, 1<<17+2) {
		raw, _ := io.ReadAll(io.LimitReader(m.Reader(), 1<<17))
		enc.cidToGID = make([]uint16, len(raw)/2)
		for i := range enc.cidToGID {
			enc.cidToGID[i] = binary.BigEndian.Uint16(raw[2*i:])
		}
	}
	return enc
}

// invertCmap reads the "cmap" table of the TrueType/OpenType font data and
// returns glyph id -> character for its Unicode subtables (formats 4 and
// 12, platform 3 encodings 1 and 10, or platform 0). Where several
// characters share a glyph, the lowest wins. Bad data gives what could be
// read.
func invertCmap(font []byte) map[uint16]rune {
	u16 := func(off int) (int, bool) {
		if off < 0 || off+2 > len(font) {
			return 0, false
		}
		return int(binary.BigEndian.Uint16(font[off:])), true
	}
	u32 := func(off int) (int, bool) {
		if off < 0 || off+4 > len(font) {
			return 0, false
		}
		return int(binary.BigEndian.Uint32(font[off:])), true
	}
	numTables, ok := u16(4)
	if !ok {
		return nil
	}
	cmap := -1
	for i := range min(numTables, 256) {
		rec := 12 + 16*i
		if rec+16 > len(font) {
			return nil
		}
		if string(font[rec:rec+4]) == "cmap" {
			cmap, _ = u32(rec + 8)
		}
	}
	if cmap < 0 {
		return nil
	}
	n, _ := u16(cmap + 2)
	best, bestRank := -1, 0
	for i := range min(n, 64) {
		rec := cmap + 4 + 8*i
		pid, ok1 := u16(rec)
		eid, ok2 := u16(rec + 2)
		off, ok3 := u32(rec + 4)
		if !ok1 || !ok2 || !ok3 {
			break
		}
		rank := 0
		switch {
		case pid == 3 && eid == 10:
			rank = 4
		case pid == 0:
			rank = 3
		case pid == 3 && eid == 1:
			rank = 2
		}
		if rank > bestRank {
			best, bestRank = cmap+off, rank
		}
	}
	if best < 0 {
		return nil
	}
	out := map[uint16]rune{}
	put := func(r rune, gid int) {
		if gid == 0 || gid > 0xFFFF || !utf8.ValidRune(r) {
			return
		}
		if old, ok := out[uint16(gid)]; !ok || r < old {
			out[uint16(gid)] = r
		}
	}
	format, _ := u16(best)
	switch format {
	case 4:
		segX2, _ := u16(best + 6)
		ends, starts := best+14, best+16+segX2
		deltas, ranges := starts+segX2, starts+2*segX2
		for s := 0; s < segX2/2; s++ {
			end, ok1 := u16(ends + 2*s)
			start, ok2 := u16(starts + 2*s)
			delta, ok3 := u16(deltas + 2*s)
			ro, ok4 := u16(ranges + 2*s)
			if !ok1 || !ok2 || !ok3 || !ok4 || start > end {
				break
			}
			for c := start; c <= end && c != 0xFFFF; c++ {
				gid := 0
				if ro == 0 {
					gid = (c + delta) & 0xFFFF
				} else {
					g, ok := u16(ranges + 2*s + ro + 2*(c-start))
					if !ok {
						break
					}
					if g != 0 {
						gid = (g + delta) & 0xFFFF
					}
				}
				put(rune(c), gid)
			}
		}
	case 12:
		groups, _ := u32(best + 12)
		for i := range min(groups, 1<<16) {
			g := best + 16 + 12*i
			start, ok1 := u32(g)
			end, ok2 := u32(g + 4)
			gid, ok3 := u32(g + 8)
			if !ok1 || !ok2 || !ok3 || start > end || end-start > 1<<17 {
				break
			}
			for c := start; c <= end; c++ {
				put(rune(c), gid+c-start)
			}
		}
	}
	return out
}
