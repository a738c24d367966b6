package pdf

import (
	"bufio"
	"compress/gzip"
	"embed"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	lpdf "github.com/ledongthuc/pdf"
)

// CID fonts of Adobe's character collections (Japan1, GB1, CNS1, Korea1)
// without a ToUnicode CMap are decoded through Adobe's own CID-to-Unicode
// CMaps, as pdftotext does with poppler-data. The CMaps are embedded,
// gzipped (BSD-3-Clause, Adobe: cidmaps/NOTICE), and parsed on first use.

//go:embed cidmaps/*.gz
var cidMaps embed.FS

var (
	cidTablesMu sync.Mutex
	cidTables   = map[string][]string{}
)

// cidTable returns CID -> text for the collection ordering ("Japan1"...),
// nil when there is none.
func cidTable(ordering string) []string {
	switch ordering {
	case "Japan1", "GB1", "CNS1", "Korea1":
	default:
		return nil
	}
	cidTablesMu.Lock()
	defer cidTablesMu.Unlock()
	if t, ok := cidTables[ordering]; ok {
		return t
	}
	t := loadCIDTable("cidmaps/Adobe-" + ordering + "-UCS2.gz")
	cidTables[ordering] = t
	return t
}

func loadCIDTable(name string) []string {
	f, err := cidMaps.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil
	}
	var table []string
	set := func(cid int, text string) {
		if cid < 0 || cid > 0xFFFF {
			return
		}
		for len(table) <= cid {
			table = append(table, "")
		}
		table[cid] = text
	}
	sc := bufio.NewScanner(zr)
	mode := ""
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasSuffix(line, "beginbfchar"):
			mode = "char"
			continue
		case strings.HasSuffix(line, "beginbfrange"):
			mode = "range"
			continue
		case strings.HasPrefix(line, "end"):
			mode = ""
			continue
		}
		f := hexFields(line)
		switch {
		case mode == "char" && len(f) == 2:
			set(int(f[0].n), f[1].text)
		case mode == "range" && len(f) == 3:
			// <lo> <hi> <dst>: dst increments in its last code unit.
			dst := []rune(f[2].text)
			for cid := f[0].n; cid <= f[1].n && len(dst) > 0; cid++ {
				set(int(cid), string(dst))
				dst[len(dst)-1]++
			}
		}
	}
	return table
}

type hexField struct {
	n    uint64 // the value, for short fields
	text string // the UTF-16BE text
}

// hexFields reads the <hex> fields of a CMap line.
func hexFields(line string) []hexField {
	var out []hexField
	for {
		i := strings.IndexByte(line, '<')
		j := strings.IndexByte(line, '>')
		if i < 0 || j < i {
			return out
		}
		h := line[i+1 : j]
		line = line[j+1:]
		n, _ := strconv.ParseUint(h[:min(len(h), 8)], 16, 64)
		var units []uint16
		for k := 0; k+4 <= len(h); k += 4 {
			u, _ := strconv.ParseUint(h[k:k+4], 16, 16)
			units = append(units, uint16(u))
		}
		out = append(out, hexField{n: n, text: string(utf16.Decode(units))})
	}
}

// collectionEncoding decodes two-byte CIDs through a collection table.
type collectionEncoding struct{ table []string }

func (c collectionEncoding) Decode(raw string) string {
	var b []byte
	for i := 0; i+1 < len(raw); i += 2 {
		cid := int(raw[i])<<8 | int(raw[i+1])
		if cid < len(c.table) && c.table[cid] != "" {
			b = append(b, c.table[cid]...)
		} else {
			b = utf8.AppendRune(b, utf8.RuneError)
		}
	}
	return string(b)
}

// collectionDecoder returns a decoder for an Identity-encoded Type0 font
// whose descendant names an Adobe character collection, nil otherwise.
func collectionDecoder(fv lpdf.Value) lpdf.TextEncoding {
	info := fv.Key("DescendantFonts").Index(0).Key("CIDSystemInfo")
	if info.Key("Registry").Text() != "Adobe" {
		return nil
	}
	t := cidTable(info.Key("Ordering").Text())
	if t == nil {
		return nil
	}
	return collectionEncoding{t}
}
