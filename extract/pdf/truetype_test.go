package pdf

import (
	"encoding/binary"
	"testing"
)

// sfnt builds font data holding only a cmap table with one subtable.
func sfnt(pid, eid uint16, sub []byte) []byte {
	be := binary.BigEndian
	cmap := be.AppendUint16(nil, 0)
	cmap = be.AppendUint16(cmap, 1)
	cmap = be.AppendUint16(cmap, pid)
	cmap = be.AppendUint16(cmap, eid)
	cmap = be.AppendUint32(cmap, 12)
	cmap = append(cmap, sub...)
	font := be.AppendUint32(nil, 0x00010000)
	font = be.AppendUint16(font, 1) // numTables
	font = append(font, make([]byte, 6)...)
	font = append(font, "cmap"...)
	font = be.AppendUint32(font, 0)
	font = be.AppendUint32(font, 28) // offset
	font = be.AppendUint32(font, uint32(len(cmap)))
	return append(font, cmap...)
}

func TestInvertCmap(t *testing.T) {
	be := binary.BigEndian
	// Format 4: 'A'-'C' -> glyphs 10-12 by delta; U+3042 -> glyph 7 by
	// the glyph array; the 0xFFFF end segment.
	f4 := be.AppendUint16(nil, 4)
	f4 = be.AppendUint16(f4, 0) // length
	f4 = be.AppendUint16(f4, 0) // language
	f4 = be.AppendUint16(f4, 6) // segCountX2
	f4 = append(f4, make([]byte, 6)...)
	for _, v := range []uint16{'C', 0x3042, 0xFFFF} { // ends
		f4 = be.AppendUint16(f4, v)
	}
	f4 = be.AppendUint16(f4, 0)                       // reserved pad
	for _, v := range []uint16{'A', 0x3042, 0xFFFF} { // starts
		f4 = be.AppendUint16(f4, v)
	}
	for _, v := range []uint16{uint16(0x10000 + 10 - 'A'), 0, 1} { // deltas
		f4 = be.AppendUint16(f4, v)
	}
	for _, v := range []uint16{0, 4, 0} { // range offsets: segment 1 -> glyph array
		f4 = be.AppendUint16(f4, v)
	}
	f4 = be.AppendUint16(f4, 7) // glyph array
	got := invertCmap(sfnt(3, 1, f4))
	want := map[uint16]rune{10: 'A', 11: 'B', 12: 'C', 7: 0x3042}
	if len(got) != len(want) {
		t.Fatalf("format 4: got %v, want %v", got, want)
	}
	for g, r := range want {
		if got[g] != r {
			t.Errorf("format 4: glyph %d -> %q, want %q", g, got[g], r)
		}
	}

	// Format 12: U+1F600-U+1F601 -> glyphs 3-4.
	f12 := be.AppendUint16(nil, 12)
	f12 = append(f12, make([]byte, 10)...)
	f12 = be.AppendUint32(f12, 1)
	f12 = be.AppendUint32(f12, 0x1F600)
	f12 = be.AppendUint32(f12, 0x1F601)
	f12 = be.AppendUint32(f12, 3)
	got = invertCmap(sfnt(3, 10, f12))
	if got[3] != 0x1F600 || got[4] != 0x1F601 || len(got) != 2 {
		t.Errorf("format 12: got %v", got)
	}

	enc := &gidEncoding{runes: map[uint16]rune{10: 'A', 7: 0x3042}}
	if s := enc.Decode("\x00\x0a\x00\x07\x00\x63"); s != "Aあ\uFFFD" {
		t.Errorf("Decode = %q", s)
	}
	// Truncated and garbage font data give nothing, without panicking.
	font := sfnt(3, 1, f4)
	for i := range font {
		invertCmap(font[:i])
	}
	if invertCmap([]byte("not a font")) != nil {
		t.Error("garbage gave a map")
	}
}

func TestUnmappedControls(t *testing.T) {
	for in, want := range map[string]string{
		"plain text":     "plain text",
		"a\x02b\x1fc":    "a\uFFFDb\uFFFDc",
		"tab\there\n":    "tab\uFFFDhere\uFFFD",
		"c1 \u0085 char": "c1 \uFFFD char",
		"日本語":            "日本語",
	} {
		if got := unmappedControls(in); got != want {
			t.Errorf("unmappedControls(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCIDCollections: Adobe's CID-to-Unicode CMaps load for the four
// collections; CID 34 is "A" in Japan1 (the range <0001> <003c> <0020>).
func TestCIDCollections(t *testing.T) {
	for _, o := range []string{"Japan1", "GB1", "CNS1", "Korea1"} {
		if n := len(cidTable(o)); n < 10000 {
			t.Errorf("%s: %d CIDs", o, n)
		}
	}
	if cidTable("Identity") != nil {
		t.Error("Identity has a table")
	}
	j := cidTable("Japan1")
	if j[1] != " " || j[34] != "A" {
		t.Errorf("Japan1 CID 1 %q, CID 34 %q", j[1], j[34])
	}
	if got := (collectionEncoding{j}).Decode("\x00\x22\x00\x01\xff\xff"); got != "A \uFFFD" {
		t.Errorf("Decode = %q", got)
	}
}
