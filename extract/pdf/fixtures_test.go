package pdf

import (
	"bytes"
	"compress/zlib"
	"crypto/md5"
	"crypto/rc4"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// buildPDF writes a PDF whose objects are objs (object i+1 is objs[i])
// with a correct cross-reference table. trailer is the body of the trailer
// dictionary without /Size, such as "/Root 1 0 R".
func buildPDF(objs []string, trailer string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, trailer, xref)
	return b.Bytes()
}

// stream returns a stream object with the given dictionary entries.
func stream(dict string, data []byte) string {
	return fmt.Sprintf("<< /Length %d %s >>\nstream\n%s\nendstream", len(data), dict, data)
}

func deflate(data []byte) []byte {
	var b bytes.Buffer
	w, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

const helvetica = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"

// onePage returns the objects of a one-page document drawing content with
// font /F1 (object 4) and an /Info dictionary (object 6).
func onePage(content string) []string {
	return []string{
		"<< /Type /Catalog /Pages 2 0 R /Lang (en-GB) >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		helvetica,
		stream("", []byte(content)),
		"<< /Title (Hello \\(test\\)) /Author <FEFF004A00F60072006700200057> /CreationDate (D:20240131120000+01'00') /ModDate (D:2024) >>",
	}
}

const helloContent = "BT /F1 24 Tf 72 720 Td (Hello) Tj 30 0 Td (World) Tj 0 -30 Td [(Second)-300(line)] TJ ET"

func helloPDF() []byte {
	return buildPDF(onePage(helloContent), "/Root 1 0 R /Info 6 0 R")
}

// Hostile fixtures of RELIABILITY.md T18-T21.

// countLie is T18: a valid one-page PDF whose /Count claims 2^31-1 pages.
func countLie() []byte {
	objs := onePage(helloContent)
	objs[1] = "<< /Type /Pages /Kids [3 0 R] /Count 2147483647 >>"
	return buildPDF(objs, "/Root 1 0 R")
}

// cyclicKids is T19: /Kids [2 0 R] inside object 2, /Count 5.
func cyclicKids() []byte {
	objs := onePage(helloContent)
	objs[1] = "<< /Type /Pages /Kids [2 0 R] /Count 5 >>"
	return buildPDF(objs, "/Root 1 0 R")
}

// cyclicKidsDeep is T19 with a longer cycle: 2 -> 7 -> 2.
func cyclicKidsDeep() []byte {
	objs := onePage(helloContent)
	objs[1] = "<< /Type /Pages /Kids [3 0 R 7 0 R] /Count 5 >>"
	objs = append(objs, "<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 4 >>")
	return buildPDF(objs, "/Root 1 0 R")
}

// cyclicParent: a page without /Resources whose /Parent chain is cyclic
// (the library's findInherited would loop forever).
func cyclicParent() []byte {
	objs := onePage(helloContent)
	objs[2] = "<< /Type /Page /Parent 7 0 R /Contents 5 0 R >>"
	objs = append(objs, "<< /Type /Pages /Parent 7 0 R /Count 1 >>")
	return buildPDF(objs, "/Root 1 0 R")
}

// flateBomb is T20: a FlateDecode content stream that inflates to about
// n bytes of "(AAAAAAAA) Tj" operators.
func flateBomb(n int) []byte {
	op := "(AAAAAAAA) Tj\n"
	content := "BT /F1 12 Tf 72 720 Td\n" + strings.Repeat(op, n/len(op)) + "ET"
	objs := onePage("")
	objs[4] = stream("/Filter /FlateDecode", deflate([]byte(content)))
	return buildPDF(objs, "/Root 1 0 R")
}

// T21 cases.

func truncated() []byte { h := helloPDF(); return h[:len(h)/2] }

func missingEOF() []byte {
	h := helloPDF()
	return bytes.TrimSuffix(h, []byte("%%EOF\n"))
}

func startxrefPastEOF() []byte {
	h := helloPDF()
	i := bytes.LastIndex(h, []byte("startxref\n"))
	return append(h[:i:i], []byte("startxref\n99999999\n%%EOF\n")...)
}

func unknownFilter() []byte {
	objs := onePage("")
	objs[4] = stream("/Filter /Foo", []byte(helloContent))
	return buildPDF(objs, "/Root 1 0 R")
}

func rootNotDict() []byte {
	objs := onePage(helloContent)
	objs[0] = "(not a catalog)"
	return buildPDF(objs, "/Root 1 0 R")
}

func rootMissing() []byte { return buildPDF(onePage(helloContent), "/Info 6 0 R") }

// selfFont: a font dictionary referencing itself as its descendant, its
// encoding and its ToUnicode.
func selfFont() []byte {
	objs := onePage(helloContent)
	objs[3] = "<< /Type /Font /Subtype /Type0 /BaseFont /X /Encoding 4 0 R /DescendantFonts [4 0 R] /ToUnicode 4 0 R >>"
	return buildPDF(objs, "/Root 1 0 R")
}

// selfForm: a Form XObject that draws itself.
func selfForm() []byte {
	objs := onePage("/X1 Do BT /F1 12 Tf (after) Tj ET")
	objs[2] = "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 4 0 R >> /XObject << /X1 7 0 R >> >> /Contents 5 0 R >>"
	objs = append(objs, stream("/Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /Font << /F1 4 0 R >> /XObject << /X1 7 0 R >> >>", []byte("BT /F1 12 Tf (form) Tj ET /X1 Do")))
	return buildPDF(objs, "/Root 1 0 R")
}

// brokenCMap: a ToUnicode CMap that makes the library panic
// ("missing beginbfchar").
func brokenCMap() []byte {
	objs := onePage(helloContent)
	objs[3] = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 7 0 R >>"
	objs = append(objs, stream("", []byte("/CIDInit /ProcSet findresource begin begincmap <01> <0041> endbfchar endbfrange ) ] >> endcmap")))
	return buildPDF(objs, "/Root 1 0 R")
}

// twoPagesOneBad: page 1 has an unknown filter, page 2 is fine.
func twoPagesOneBad() []byte {
	objs := onePage("")
	objs[1] = "<< /Type /Pages /Kids [3 0 R 7 0 R] /Count 2 >>"
	objs[4] = stream("/Filter /Foo", []byte(helloContent))
	objs = append(objs,
		"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 4 0 R >> >> /Contents 8 0 R >>",
		stream("", []byte("BT /F1 12 Tf 72 720 Td (Page two) Tj ET")))
	return buildPDF(objs, "/Root 1 0 R")
}

// scanned: one page that only paints an image.
func scanned() []byte {
	return buildPDF(onePage("q 612 0 0 792 0 0 cm /Im1 Do Q"), "/Root 1 0 R")
}

// Encryption (standard security handler, PDF 32000-1 7.6.3).

var pad = []byte{
	0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
	0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
}

// encryptDict returns an /Encrypt dictionary (V 4 AESV2 when aes, else V 2
// RC4 128-bit, R 4 / R 3) whose user password is password, and the file key.
func encryptDict(password string, aes bool, id string) (string, []byte) {
	O := bytes.Repeat([]byte{0x55}, 32)
	P := int32(-4)
	pw := append([]byte(password), pad...)[:32]
	h := md5.New()
	h.Write(pw)
	h.Write(O)
	h.Write([]byte{byte(P), byte(P >> 8), byte(P >> 16), byte(P >> 24)})
	h.Write([]byte(id))
	key := h.Sum(nil)
	for range 50 {
		s := md5.Sum(key[:16])
		key = s[:]
	}
	key = key[:16]
	h.Reset()
	h.Write(pad)
	h.Write([]byte(id))
	u := h.Sum(nil)
	for i := 0; i <= 19; i++ {
		k := bytes.Clone(key)
		for j := range k {
			k[j] ^= byte(i)
		}
		c, _ := rc4.NewCipher(k)
		c.XORKeyStream(u, u)
	}
	U := append(u, make([]byte, 16)...)
	R, V, cf := 3, 2, ""
	if aes {
		R, V = 4, 4
		cf = "/CF << /StdCF << /CFM /AESV2 /AuthEvent /DocOpen /Length 16 >> >> /StmF /StdCF /StrF /StdCF"
	}
	return fmt.Sprintf("<< /Filter /Standard /V %d /R %d /Length 128 /O <%x> /U <%x> /P %d %s >>", V, R, O, U, P, cf), key
}

const fileID = "0123456789abcdef"

// encryptedRC4 is a document encrypted with RC4 128 whose user password is
// password. Its content stream is encrypted with the object key.
func encryptedRC4(password string) []byte {
	enc, key := encryptDict(password, false, fileID)
	objs := onePage("")
	ok := objKey(key, 5, false)
	c, _ := rc4.NewCipher(ok)
	data := []byte(helloContent)
	c.XORKeyStream(data, data)
	objs[4] = stream("", data)
	objs = append(objs[:5], enc)
	return buildPDF(objs, fmt.Sprintf("/Root 1 0 R /Encrypt 6 0 R /ID [<%x> <%x>]", fileID, fileID))
}

// shortAES is T21: an AES-encrypted document (empty user password) whose
// /Info /Title string is shorter than one AES block.
func shortAES() []byte {
	enc, _ := encryptDict("", true, fileID)
	objs := onePage(helloContent)
	objs[5] = "<< /Title <0102> >>"
	objs = append(objs, enc)
	objs[3] = "<< /Type /Font /Subtype /Type1 /BaseFont (abc) >>"
	return buildPDF(objs, fmt.Sprintf("/Root 1 0 R /Info 6 0 R /Encrypt 7 0 R /ID [<%x> <%x>]", fileID, fileID))
}

// aes256 declares AES-256 (V 5, R 6), which the library does not support.
func aes256() []byte {
	objs := onePage(helloContent)
	objs = append(objs, "<< /Filter /Standard /V 5 /R 6 /Length 256 /O <00> /U <00> /P -4 >>")
	return buildPDF(objs, fmt.Sprintf("/Root 1 0 R /Encrypt 7 0 R /ID [<%x> <%x>]", fileID, fileID))
}

func objKey(key []byte, id int, aes bool) []byte {
	h := md5.New()
	h.Write(key)
	h.Write([]byte{byte(id), byte(id >> 8), byte(id >> 16), 0, 0})
	if aes {
		h.Write([]byte("sAlT"))
	}
	return h.Sum(nil)
}

// fixtures are the small hand-built documents, also the fuzz seeds
// (testdata/*.pdf).
func fixtures() map[string][]byte {
	return map[string][]byte{
		"hello":              helloPDF(),
		"t18-count-lie":      countLie(),
		"t19-cyclic-kids":    cyclicKids(),
		"t19-cyclic-deep":    cyclicKidsDeep(),
		"cyclic-parent":      cyclicParent(),
		"t20-small-bomb":     flateBomb(64 << 10),
		"t21-truncated":      truncated(),
		"t21-missing-eof":    missingEOF(),
		"t21-startxref-past": startxrefPastEOF(),
		"t21-unknown-filter": unknownFilter(),
		"t21-short-aes":      shortAES(),
		"t21-root-not-dict":  rootNotDict(),
		"t21-root-missing":   rootMissing(),
		"t21-self-font":      selfFont(),
		"self-form":          selfForm(),
		"broken-cmap":        brokenCMap(),
		"two-pages-one-bad":  twoPagesOneBad(),
		"scanned":            scanned(),
		"rc4-password":       encryptedRC4("secret"),
		"rc4-empty-password": encryptedRC4(""),
		"aes256":             aes256(),

		"objstm-valid":            objStmValid(),
		"objstm-self":             objStmSelf(),
		"objstm-cycle":            objStmCycle(),
		"objstm-out-of-range":     objStmOutOfRange(),
		"objstm-encrypted-valid":  objStmEncryptedValid(),
		"objstm-encrypt-self":     objStmEncryptSelf("/Encrypt"),
		"objstm-encrypt-self-esc": objStmEncryptSelf("/Encr#79pt"),
	}
}

// Cross-reference streams and object streams (PDF 32000-1 7.5.7, 7.5.8).

// xrefStreamDoc describes a PDF 1.5 file with a cross-reference stream.
// Object i+1 is objs[i]; an object listed in packed is stored in the object
// stream packed[i+1] instead (that object's own entry in objs is ignored: its
// content is built from its members). The cross-reference stream is object
// len(objs)+1. xref overrides entries after they are computed: {type, field
// 2, field 3}, which is how the hostile variants lie about where an object
// lives. key, when set, RC4-encrypts every stream except the
// cross-reference stream (strings are left in clear: the fixtures use none
// that matter).
type xrefStreamDoc struct {
	objs    []string
	packed  map[int]int
	xref    map[int][3]int
	trailer string
	key     []byte
}

func (d xrefStreamDoc) build() []byte {
	members := map[int][]int{} // object stream -> its objects, ascending
	for _, id := range slices.Sorted(maps.Keys(d.packed)) {
		members[d.packed[id]] = append(members[d.packed[id]], id)
	}
	n := len(d.objs)
	entries := make([][3]int, n+2)
	entries[0] = [3]int{0, 0, 65535}
	for stm, ids := range members {
		for i, id := range ids {
			entries[id] = [3]int{2, stm, i}
		}
	}

	var b bytes.Buffer
	b.WriteString("%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
	for i, o := range d.objs {
		id := i + 1
		if _, ok := d.packed[id]; ok {
			continue
		}
		if _, ok := members[id]; !ok && o == "" {
			continue // a free entry
		}
		if ids, ok := members[id]; ok {
			var head, body bytes.Buffer
			for _, m := range ids {
				fmt.Fprintf(&head, "%d %d ", m, body.Len())
				body.WriteString(d.objs[m-1])
				body.WriteString("\n")
			}
			data := deflate(append(head.Bytes(), body.Bytes()...))
			if d.key != nil {
				data = rc4Encrypt(objKey(d.key, id, false), data)
			}
			o = stream(fmt.Sprintf("/Type /ObjStm /N %d /First %d /Filter /FlateDecode", len(ids), head.Len()), data)
		}
		entries[id] = [3]int{1, b.Len(), 0}
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", id, o)
	}
	xrefID := n + 1
	entries[xrefID] = [3]int{1, b.Len(), 0}
	for id, e := range d.xref {
		entries[id] = e
	}
	var table []byte
	for _, e := range entries {
		table = append(table, byte(e[0]), byte(e[1]>>24), byte(e[1]>>16), byte(e[1]>>8), byte(e[1]), byte(e[2]>>8), byte(e[2]))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", xrefID,
		stream(fmt.Sprintf("/Type /XRef /Size %d /W [1 4 2] /Filter /FlateDecode %s", n+2, d.trailer), deflate(table)))
	fmt.Fprintf(&b, "startxref\n%d\n%%%%EOF\n", xref)
	return b.Bytes()
}

func rc4Encrypt(key, data []byte) []byte {
	c, _ := rc4.NewCipher(key)
	out := make([]byte, len(data))
	c.XORKeyStream(out, data)
	return out
}

// objStmDoc is the one-page document with the catalog, the page tree and the
// page (objects 1-3) in object stream 7.
func objStmDoc() xrefStreamDoc {
	return xrefStreamDoc{
		objs:    append(onePage(helloContent), ""),
		packed:  map[int]int{1: 7, 2: 7, 3: 7},
		trailer: "/Root 1 0 R /Info 6 0 R",
	}
}

// objStmValid is a well-formed document using an object stream: the
// control for the object-stream guard.
func objStmValid() []byte { return objStmDoc().build() }

// objStmSelf: the cross-reference stream says object stream 7 is itself
// stored in object stream 7. Resolving the catalog makes the library's
// resolve recurse without reading until the Go stack overflows.
func objStmSelf() []byte {
	d := objStmDoc()
	d.xref = map[int][3]int{7: {2, 7, 0}}
	return d.build()
}

// objStmCycle: object streams 7 and 8 each claim to be stored in the other.
func objStmCycle() []byte {
	d := objStmDoc()
	d.objs = append(d.objs, "")
	d.packed[4] = 8 // the font: 8 must hold something to be written
	d.xref = map[int][3]int{7: {2, 8, 0}, 8: {2, 7, 0}}
	return d.build()
}

// objStmOutOfRange: objects said to be in object stream 4000, beyond /Size.
func objStmOutOfRange() []byte {
	d := objStmDoc()
	d.xref = map[int][3]int{1: {2, 4000, 0}}
	return d.build()
}

// objStmEncrypted is objStmDoc RC4-encrypted with an empty user password
// (the content stream with its object key, the object stream with its own),
// /Encrypt being object 9.
func objStmEncrypted(encryptKey string) xrefStreamDoc {
	enc, key := encryptDict("", false, fileID)
	d := objStmDoc()
	d.objs[4] = stream("", rc4Encrypt(objKey(key, 5, false), []byte(helloContent)))
	d.objs = append(d.objs, "", enc) // 8 is unused (free), 9 is /Encrypt
	d.key = key
	d.trailer = fmt.Sprintf("/Root 1 0 R %s 9 0 R /ID [<%x> <%x>]", encryptKey, fileID, fileID)
	return d
}

// objStmEncryptedValid: an encrypted document with an object stream and a
// cross-reference stream, the control for the /Encrypt pre-check.
func objStmEncryptedValid() []byte { return objStmEncrypted("/Encrypt").build() }

// objStmEncryptSelf: the /Encrypt dictionary is said to be in object stream
// 9, which is said to be in itself. The library resolves /Encrypt while
// opening the document, before the cross-reference table can be checked.
// encryptKey spells the /Encrypt key (a name may use #xx escapes).
func objStmEncryptSelf(encryptKey string) []byte {
	d := objStmEncrypted(encryptKey)
	d.xref = map[int][3]int{9: {2, 9, 0}}
	return d.build()
}

// noXref is helloPDF without its cross-reference table and trailer.
func noXref() []byte {
	h := helloPDF()
	i := bytes.LastIndex(h, []byte("xref\n"))
	return append(h[:i:i], []byte("startxref\n0\n%%EOF\n")...)
}

// objStmCut is a document whose objects sit in an object stream and whose
// cross-reference stream was cut off: the scan expands the object stream.
func objStmCut() []byte {
	h := objStmValid()
	i := bytes.LastIndex(h, []byte("/Type /XRef"))
	i = bytes.LastIndex(h[:i], []byte(" obj"))
	i = bytes.LastIndexByte(h[:i], '\n')
	return h[: i+1 : i+1]
}

// wrongLength is noXref whose content stream says /Length 20: the stream
// is read up to its endstream.
func wrongLength() []byte {
	h := noXref()
	i := bytes.Index(h, []byte("/Length "))
	j := i + bytes.IndexAny(h[i+8:], " >") + 8
	return append(append(h[:i:i], "/Length 20"...), h[j:]...)
}
