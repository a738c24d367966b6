package ooxml

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"io"
)

// Sniff recognises an OOXML package from the start of its ZIP: one whose
// local file headers within head name a part under dir (mediaType, when
// the first entry is not one a generic sniffer expects), or whose
// [Content_Types].xml names a main part of types, which also tells a
// macro-enabled package or a template apart. It returns "" for anything
// else.
func Sniff(head []byte, dir, mediaType string, types []MainType) string {
	if !bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		return ""
	}
	found := ""
	triedTypes := false
	for i := 0; i+30 <= len(head); {
		j := bytes.Index(head[i:], []byte("PK\x03\x04"))
		if j < 0 || i+j+30 > len(head) {
			break
		}
		i += j
		n := int(binary.LittleEndian.Uint16(head[i+26:]))
		name := head[i+30 : min(i+30+n, len(head))]
		if bytes.HasPrefix(name, []byte(dir)) && found == "" {
			found = mediaType
		}
		if string(name) == "[Content_Types].xml" && !triedTypes {
			triedTypes = true // once: inflating is the costly part
			if t := sniffContentTypes(head[i:], types); t != "" {
				return t
			}
		}
		i += 4
	}
	return found
}

// sniffContentTypes reads the [Content_Types].xml entry whose local header
// starts lh (as far as its data lie within lh) and returns the media type
// of the first of types it names. It inflates at most 64 KiB.
func sniffContentTypes(lh []byte, types []MainType) string {
	flags := binary.LittleEndian.Uint16(lh[6:])
	method := binary.LittleEndian.Uint16(lh[8:])
	csize := int(binary.LittleEndian.Uint32(lh[18:]))
	start := 30 + int(binary.LittleEndian.Uint16(lh[26:])) + int(binary.LittleEndian.Uint16(lh[28:]))
	if start > len(lh) || flags&1 != 0 {
		return ""
	}
	data := lh[start:]
	if flags&8 == 0 && csize < len(data) {
		data = data[:csize]
	}
	var r io.Reader
	switch method {
	case 0:
		r = bytes.NewReader(data)
	case 8:
		fr := flate.NewReader(bytes.NewReader(data))
		defer fr.Close()
		r = fr
	default:
		return ""
	}
	ct, _ := io.ReadAll(io.LimitReader(r, 64<<10)) // a truncated stream still yields its start
	ct = bytes.ToLower(ct)
	for _, m := range types {
		if bytes.Contains(ct, bytes.ToLower([]byte(m.ContentType))) {
			return m.MediaType
		}
	}
	return ""
}
