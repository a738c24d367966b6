package pdf

import (
	"strings"
	"unicode/utf8"

	lpdf "github.com/ledongthuc/pdf"
)

// fontKey identifies a font: the object it was read from and its resource
// name. Fonts are cached per document by object, never by name alone (the
// library's GetPlainText caches by name across pages, so /F1 of page 1
// garbles /F1 of page 40).
type fontKey struct {
	id   uint64
	name string
}

type widthRange struct {
	lo, hi int
	w      float64
}

// fontInfo is what the interpreter needs of a font: its decoder and its
// glyph widths, read once.
type fontInfo struct {
	enc     lpdf.TextEncoding
	twoByte bool            // Type0: two-byte codes
	first   int             // simple fonts: code of widths[0]
	widths  []float64       // simple fonts: /Widths
	missing float64         // width of codes without one, in glyph units
	cidMap  map[int]float64 // Type0: widths of single CIDs
	cidW    []widthRange    // Type0: widths of CID ranges
	scale   float64         // glyph units to text space (1/1000, or FontMatrix for Type3)
	std     *[95]uint16     // a standard 14 font without /Widths: its ASCII widths
}

// defaultFont is used when a page shows text without a usable font.
var defaultFont = &fontInfo{missing: 500, scale: 0.001}

const (
	maxWidths   = 1 << 16
	maxCIDItems = 1 << 16
)

// font returns the font called name in res, loading and caching it.
func (e *extraction) font(res lpdf.Value, name string) *fontInfo {
	fv := res.Key("Font").Key(name)
	if fv.Kind() != lpdf.Dict {
		return nil
	}
	id, ok := objID(fv)
	key := fontKey{id, name}
	if ok {
		if f, hit := e.fonts[key]; hit {
			return f
		}
	}
	f := e.loadFont(fv)
	if ok {
		e.fonts[key] = f
	}
	return f
}

func (e *extraction) loadFont(fv lpdf.Value) *fontInfo {
	f := &fontInfo{missing: 500, scale: 0.001}
	subtype := fv.Key("Subtype").Name()
	if strings.Contains(strings.ToLower(fv.Key("BaseFont").Name()), "courier") {
		f.missing = 600
	}
	if subtype == "Type0" {
		f.twoByte = true
		desc := fv.Key("DescendantFonts").Index(0)
		f.missing = 1000
		if dw := desc.Key("DW"); dw.Kind() == lpdf.Integer || dw.Kind() == lpdf.Real {
			f.missing = dw.Float64()
		}
		w := desc.Key("W")
		for i := 0; i < w.Len() && i < maxCIDItems && len(f.cidW) < maxCIDItems; {
			c := int(w.Index(i).Int64())
			next := w.Index(i + 1)
			if next.Kind() == lpdf.Array {
				if f.cidMap == nil {
					f.cidMap = map[int]float64{}
				}
				for j := range min(next.Len(), maxCIDItems-len(f.cidMap)) {
					f.cidMap[c+j] = next.Index(j).Float64()
				}
				i += 2
				continue
			}
			f.cidW = append(f.cidW, widthRange{c, int(next.Int64()), w.Index(i + 2).Float64()})
			i += 3
		}
	} else {
		f.first = int(fv.Key("FirstChar").Int64())
		ws := fv.Key("Widths")
		for i := range min(ws.Len(), maxWidths) {
			f.widths = append(f.widths, ws.Index(i).Float64())
		}
		if len(f.widths) == 0 {
			table, fixed := standardWidths(fv.Key("BaseFont").Name())
			f.std = table
			if fixed > 0 {
				f.missing = fixed
			}
		}
		if mw := fv.Key("FontDescriptor").Key("MissingWidth"); mw.Kind() == lpdf.Integer || mw.Kind() == lpdf.Real {
			if v := mw.Float64(); v > 0 {
				f.missing = v
			}
		}
		if subtype == "Type3" {
			if fm := fv.Key("FontMatrix"); fm.Kind() == lpdf.Array && fm.Len() == 6 {
				f.scale = fm.Index(0).Float64()
			}
		}
	}
	f.enc = e.encoder(fv, f.twoByte)
	return f
}

// encoder builds the font's decoder under a recover: the font's ToUnicode
// CMap (after checking the size of its stream), else UCS-2 for an
// Identity-H font, else the library's decoder for the font's /Encoding. A
// font whose decoder cannot be built decodes bytes as Latin-1.
func (e *extraction) encoder(fv lpdf.Value, twoByte bool) (enc lpdf.TextEncoding) {
	defer func() {
		if v := recover(); v != nil {
			if a, ok := v.(*abort); ok {
				panic(a)
			}
			enc = nil
		}
	}()
	if tu := fv.Key("ToUnicode"); tu.Kind() == lpdf.Stream {
		e.checkStream(tu, maxCMapBytes)
		if m := parseToUnicode(tu, fv, twoByte); m != nil {
			if !twoByte {
				lf := lpdf.Font{V: fv}
				m.fallback = lf.Encoder()
			}
			return m
		}
	}
	if twoByte {
		if name := fv.Key("Encoding").Name(); name == "Identity-H" || name == "Identity-V" {
			if enc := e.embeddedTrueType(fv); enc != nil {
				return enc
			}
			if enc := collectionDecoder(fv); enc != nil {
				return enc
			}
			return ucs2{}
		}
	}
	if isSymbolFont(fv) {
		return symbolDecoder{}
	}
	lf := lpdf.Font{V: fv}
	return lf.Encoder()
}

// isSymbolFont reports whether fv is the standard Symbol font used with
// its built-in encoding (no /Encoding of its own).
func isSymbolFont(fv lpdf.Value) bool {
	if fv.Key("Encoding").Kind() != lpdf.Null {
		return false
	}
	base := fv.Key("BaseFont").Name()
	if i := strings.IndexByte(base, '+'); i == 6 {
		base = base[i+1:]
	}
	return base == "Symbol" || strings.HasPrefix(base, "Symbol,") || strings.HasPrefix(base, "SymbolMT")
}

func (f *fontInfo) width(code int) float64 {
	if f.twoByte {
		if w, ok := f.cidMap[code]; ok {
			return w
		}
		for i := len(f.cidW) - 1; i >= 0; i-- {
			if r := f.cidW[i]; r.lo <= code && code <= r.hi {
				return r.w
			}
		}
		return f.missing
	}
	if i := code - f.first; i >= 0 && i < len(f.widths) && f.widths[i] > 0 {
		return f.widths[i]
	}
	if f.std != nil && code >= 32 && code < 127 {
		return float64(f.std[code-32])
	}
	return f.missing
}

// advance returns the horizontal displacement, in text space, of showing
// raw (PDF 32000-1 9.4.4).
func (f *fontInfo) advance(raw string, tfs, tc, tw, th float64) float64 {
	var tx float64
	if f.twoByte {
		for i := 0; i+1 < len(raw); i += 2 {
			code := int(raw[i])<<8 | int(raw[i+1])
			tx += f.width(code)*f.scale*tfs + tc
		}
	} else {
		for i := 0; i < len(raw); i++ {
			tx += f.width(int(raw[i]))*f.scale*tfs + tc
			if raw[i] == ' ' {
				tx += tw
			}
		}
	}
	return tx * th
}

// decode turns the codes of raw into text. The library's decoders pass
// unknown encodings through as raw bytes; those are read as Latin-1 so the
// text stays valid UTF-8.
func (f *fontInfo) decode(raw string) (s string) {
	if f.enc == nil {
		return latin1(raw)
	}
	defer func() {
		if v := recover(); v != nil {
			if a, ok := v.(*abort); ok {
				panic(a)
			}
			s = latin1(raw)
		}
	}()
	s = f.enc.Decode(raw)
	if !utf8.ValidString(s) {
		s = latin1(s)
	}
	return unmappedControls(s)
}

// unmappedControls replaces control characters with U+FFFD. A glyph never
// draws a control character: one comes out of a decoder that did not know
// the glyph (a code passed through raw, as for glyph names such as /g18),
// and U+FFFD says so, where the raw code would print as junk and hide
// the problem from the garbled-text check.
func unmappedControls(s string) string {
	clean := true
	for _, r := range s {
		if r < 0x20 || r >= 0x7F && r < 0xA0 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7F && r < 0xA0 {
			return utf8.RuneError
		}
		return r
	}, s)
}

// latin1 keeps the valid UTF-8 of s and reads every other byte as Latin-1.
func latin1(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(rune(s[i]))
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
