package pdf

import (
	"sort"
	"strings"
	"unicode/utf16"

	lpdf "github.com/ledongthuc/pdf"
)

// toUnicode is a ToUnicode CMap (PDF 32000-1 9.10.3). The library ignores a
// font's /ToUnicode when the font also has an /Encoding dictionary, and
// mishandles some bfrange forms, so the parser reads CMaps itself (with the
// library's exported PostScript interpreter).
type toUnicode struct {
	spaces []codeRange // codespace ranges
	single map[string]string
	ranges []cmapRange // sorted by (len(lo), lo)
	width  int         // code length when no codespace matches
	simple bool        // one-byte codes whatever the codespace says
	// fallback decodes the codes the CMap does not map (the font's
	// /Encoding); partial CMaps are common.
	fallback lpdf.TextEncoding
}

type codeRange struct{ lo, hi string }

type cmapRange struct {
	lo, hi string
	dst    string   // UTF-16BE of lo's text
	arr    []string // or one text per code
}

const (
	maxCMapSingles = 1 << 17
	maxCMapRanges  = 1 << 14
)

// parseToUnicode reads the CMap stream v; nil when it maps nothing.
// scratch is a dictionary Value that "findresource" returns for the CMap's
// "begin" (the library offers no way to make one); the CMap's "def"s write
// into it, so it must be a freshly resolved object nobody else reads.
func parseToUnicode(v, scratch lpdf.Value, twoByte bool) *toUnicode {
	m := &toUnicode{single: map[string]string{}, width: 1, simple: !twoByte}
	if twoByte {
		m.width = 2
	}
	var args []lpdf.Value
	lpdf.Interpret(v, func(stk *lpdf.Stack, op string) {
		n := stk.Len()
		args = args[:0]
		for range n {
			args = append(args, stk.Pop())
		}
		// args is reversed: args[n-1] is the bottom of the stack.
		at := func(i int) lpdf.Value { return args[n-1-i] }
		switch op {
		case "findresource":
			stk.Push(scratch)
		case "endcodespacerange":
			for i := 0; i+1 < n; i += 2 {
				lo, hi := at(i).RawString(), at(i+1).RawString()
				if len(lo) >= 1 && len(lo) <= 4 && len(lo) == len(hi) {
					m.spaces = append(m.spaces, codeRange{lo, hi})
				}
			}
		case "endbfchar":
			for i := 0; i+1 < n && len(m.single) < maxCMapSingles; i += 2 {
				src, dst := at(i).RawString(), at(i+1)
				if src != "" && dst.Kind() == lpdf.String {
					m.single[src] = utf16Text(dst.RawString())
				} else if src != "" && dst.Kind() == lpdf.Name {
					m.single[src] = dst.Name()
				}
			}
		case "endbfrange":
			for i := 0; i+2 < n && len(m.ranges) < maxCMapRanges; i += 3 {
				lo, hi, dst := at(i).RawString(), at(i+1).RawString(), at(i+2)
				if lo == "" || len(lo) != len(hi) || len(lo) > 4 || hi < lo {
					continue
				}
				r := cmapRange{lo: lo, hi: hi}
				switch dst.Kind() {
				case lpdf.String:
					r.dst = dst.RawString()
				case lpdf.Array:
					for j := range min(dst.Len(), 1<<16) {
						r.arr = append(r.arr, utf16Text(dst.Index(j).RawString()))
					}
				default:
					continue
				}
				m.ranges = append(m.ranges, r)
			}
		}
		clear(args)
	})
	if len(m.single) == 0 && len(m.ranges) == 0 {
		return nil
	}
	sort.Slice(m.ranges, func(i, j int) bool { return less(m.ranges[i].lo, m.ranges[j].lo) })
	return m
}

func less(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// Decode implements lpdf.TextEncoding.
func (m *toUnicode) Decode(raw string) string {
	var b strings.Builder
	for len(raw) > 0 {
		n := m.codeLen(raw)
		code := raw[:n]
		raw = raw[n:]
		if s, ok := m.lookup(code); ok {
			b.WriteString(s)
			continue
		}
		if m.simple && m.fallback != nil {
			b.WriteString(decodeWith(m.fallback, code))
		}
	}
	return b.String()
}

func (m *toUnicode) lookup(code string) (string, bool) {
	if s, ok := m.single[code]; ok {
		return s, true
	}
	if s, ok := m.lookupRange(code); ok {
		return s, true
	}
	if m.simple { // a one-byte code written as two in the CMap
		code = "\x00" + code
		if s, ok := m.single[code]; ok {
			return s, true
		}
		return m.lookupRange(code)
	}
	return "", false
}

// decodeWith runs a library decoder under a recover.
func decodeWith(enc lpdf.TextEncoding, raw string) (s string) {
	defer func() {
		if v := recover(); v != nil {
			if a, ok := v.(*abort); ok {
				panic(a)
			}
			s = ""
		}
	}()
	return latin1(enc.Decode(raw))
}

func (m *toUnicode) codeLen(raw string) int {
	if m.simple {
		return 1
	}
	for _, sp := range m.spaces {
		n := len(sp.lo)
		if n <= len(raw) && sp.lo <= raw[:n] && raw[:n] <= sp.hi {
			return n
		}
	}
	return min(m.width, len(raw))
}

func (m *toUnicode) lookupRange(code string) (string, bool) {
	i := sort.Search(len(m.ranges), func(i int) bool { return less(code, m.ranges[i].lo) }) - 1
	// Ranges may overlap; look back a little for one holding code.
	for j := i; j >= 0 && j > i-8; j-- {
		r := m.ranges[j]
		if len(r.lo) != len(code) || code < r.lo || code > r.hi {
			continue
		}
		off := codeInt(code) - codeInt(r.lo)
		if r.arr != nil {
			if off < len(r.arr) {
				return r.arr[off], true
			}
			return "", false
		}
		if r.dst == "" {
			return "", false
		}
		// Add off to the last UTF-16 unit of dst.
		u := utf16Units(r.dst)
		if len(u) == 0 {
			return "", false
		}
		u[len(u)-1] += uint16(off)
		return string(utf16.Decode(u)), true
	}
	return "", false
}

func codeInt(s string) int {
	x := 0
	for i := 0; i < len(s); i++ {
		x = x<<8 | int(s[i])
	}
	return x
}

func utf16Units(s string) []uint16 {
	u := make([]uint16, 0, len(s)/2)
	for i := 0; i+1 < len(s); i += 2 {
		u = append(u, uint16(s[i])<<8|uint16(s[i+1]))
	}
	return u
}

// utf16Text decodes a CMap destination string: UTF-16BE, or a single byte.
func utf16Text(s string) string {
	if len(s) == 1 {
		return string(rune(s[0]))
	}
	return string(utf16.Decode(utf16Units(s)))
}

// ucs2 decodes two-byte codes as UCS-2: the guess for an Identity-H font
// without a ToUnicode CMap, which some producers write with code = Unicode.
type ucs2 struct{}

func (ucs2) Decode(raw string) string { return string(utf16.Decode(utf16Units(raw))) }
