package pdf

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"

	"github.com/quarryhq/quarry/extract"
)

// AES-256 (security handler V 5, R 5 and 6; ISO 32000-2 7.6.4.3.3-4).
//
// The library derives a key per object the AES-128 way, which AES-256 does
// not do, and its decryption cannot be reached from outside. So a document
// encrypted with AES-256 is decrypted by the parser into a new, unencrypted
// copy in memory: every object the repair scan finds is rewritten with its
// strings decrypted (written back as hex strings) and its stream data
// decrypted, and the copy gets a fresh cross-reference stream without
// /Encrypt. The copy is then read like any other PDF.

// errAES256 marks a document that uses the AES-256 security handler.
var errAES256 = errors.New("pdf: AES-256 encryption")

// maxDecryptedCopy bounds the in-memory copy of an AES-256 document.
const maxDecryptedCopy = 512 << 20

type aes256Handler struct {
	key          []byte
	strings      bool // strings are encrypted (StrF is not /Identity)
	streams      bool // streams are encrypted (StmF is not /Identity)
	skipMetadata bool // /EncryptMetadata false
}

// decryptAES256 returns an unencrypted copy of the document in r.
func decryptAES256(ctx context.Context, r io.ReaderAt, size int64, password string) ([]byte, error) {
	if size > maxDecryptedCopy {
		return nil, fmt.Errorf("%w: an AES-256 document is decrypted in memory, up to %d MiB", extract.ErrTooLarge, maxDecryptedCopy>>20)
	}
	s := &repairScan{objs: map[int]*scannedObject{}}
	if err := s.scan(ctx, r, size); err != nil {
		return nil, err
	}
	var trailer []byte
	for i := len(s.trailers) - 1; i >= 0; i-- {
		t := s.trailers[i]
		if end := bytes.Index(t, []byte("stream")); end >= 0 {
			t = t[:end]
		}
		if dictValue(t, "Encrypt") != nil && dictValue(t, "Root") != nil {
			trailer = t
			break
		}
	}
	if trailer == nil {
		return nil, fmt.Errorf("%w: the encryption dictionary cannot be found", extract.ErrMalformed)
	}
	encRef := dictValue(trailer, "Encrypt")
	encNum := refNum(encRef)
	var encDict []byte
	if encNum > 0 {
		body, _, err := objectBody(r, size, s.objs[encNum], nil)
		if err != nil {
			return nil, err
		}
		encDict = body
	} else {
		encDict = encRef
	}
	h, err := newAES256Handler(encDict, password)
	if err != nil {
		return nil, err
	}

	var out bytes.Buffer
	out.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	nums := make([]int, 0, len(s.objs))
	for num, o := range s.objs {
		if o.stm == 0 && num != encNum && o.kind != "XRef" {
			nums = append(nums, num)
		}
	}
	slices.Sort(nums)
	for _, num := range nums {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		o := s.objs[num]
		body, data, err := objectBody(r, size, o, func(num int) (int, bool) {
			b, _, err := objectBody(r, size, s.objs[num], nil)
			if err != nil {
				return 0, false
			}
			v, err := strconv.Atoi(string(b))
			return v, err == nil
		})
		if err != nil {
			continue // a damaged object is left out, as a repair would
		}
		isMeta := objectKindMetadata(body)
		dict := h.decryptStrings(body)
		fmt.Fprintf(&out, "%d %d obj\n", num, o.gen)
		if data == nil {
			out.Write(dict)
			out.WriteString("\nendobj\n")
			continue
		}
		if h.streams && !(isMeta && h.skipMetadata) {
			if data, err = aesDecrypt(h.key, data); err != nil {
				data = nil // undecryptable: an empty stream
			}
		}
		out.Write(reLength.ReplaceAll(dict, fmt.Appendf(nil, "/Length %d", len(data))))
		out.WriteString("\nstream\n")
		out.Write(data)
		out.WriteString("\nendstream\nendobj\n")
		if out.Len() > maxDecryptedCopy {
			return nil, fmt.Errorf("%w: the decrypted document is over %d MiB", extract.ErrTooLarge, maxDecryptedCopy>>20)
		}
	}
	out.WriteString("trailer\n<< /Root ")
	out.Write(dictValue(trailer, "Root"))
	if info := dictValue(trailer, "Info"); info != nil {
		out.WriteString(" /Info ")
		out.Write(info)
	}
	out.WriteString(" >>\n")
	return out.Bytes(), nil
}

func objectKindMetadata(dict []byte) bool {
	v := dictValue(dict, "Type")
	return string(v) == "/Metadata"
}

// objectBody reads object o: its dictionary or value (after "obj", before
// "stream" or "endobj") and, for a stream, its raw data.
// lengthOf resolves an indirect /Length (nil: direct lengths only).
func objectBody(r io.ReaderAt, size int64, o *scannedObject, lengthOf func(num int) (int, bool)) (body, data []byte, err error) {
	if o == nil || o.stm != 0 {
		return nil, nil, fmt.Errorf("%w: object not found", extract.ErrMalformed)
	}
	head := make([]byte, min(1<<20, size-o.offset))
	n, _ := r.ReadAt(head, o.offset)
	head = head[:n]
	hdr := reObjHeader.FindIndex(head)
	if hdr == nil || hdr[0] != 0 {
		return nil, nil, fmt.Errorf("%w: bad object header", extract.ErrMalformed)
	}
	rest := head[hdr[1]:]
	end, isStream := objectEnd(rest)
	if end < 0 {
		return nil, nil, fmt.Errorf("%w: object without end", extract.ErrMalformed)
	}
	body = bytes.TrimSpace(rest[:end])
	if !isStream {
		return body, nil, nil
	}
	dataStart := o.offset + int64(hdr[1]+end+len("stream"))
	if b := rest[end+len("stream"):]; len(b) > 0 && b[0] == '\r' {
		dataStart++
		if len(b) > 1 && b[1] == '\n' {
			dataStart++
		}
	} else if len(b) > 0 && b[0] == '\n' {
		dataStart++
	}
	length, ok := dictInt(body, "Length")
	if ref := refNum(dictValue(body, "Length")); !ok && ref > 0 && lengthOf != nil {
		length, ok = lengthOf(ref)
	}
	if !ok || length < 0 || int64(length) > size-dataStart {
		return nil, nil, fmt.Errorf("%w: stream without a usable direct /Length", extract.ErrMalformed)
	}
	data = make([]byte, length)
	if m, _ := r.ReadAt(data, dataStart); m < length {
		return nil, nil, fmt.Errorf("%w: cut stream", extract.ErrMalformed)
	}
	return body, data, nil
}

// objectEnd returns where the object's value ends in b (the offset of
// "stream" or "endobj" outside strings) and whether a stream follows.
func objectEnd(b []byte) (int, bool) {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '(':
			_, n := literalString(b[i:])
			i += n - 1
		case '%':
			for i < len(b) && b[i] != '\n' && b[i] != '\r' {
				i++
			}
		case 's':
			if bytes.HasPrefix(b[i:], []byte("stream")) && (i == 0 || !isRegular(b[i-1])) {
				return i, true
			}
		case 'e':
			if bytes.HasPrefix(b[i:], []byte("endobj")) && (i == 0 || !isRegular(b[i-1])) {
				return i, false
			}
		}
	}
	return -1, false
}

// decryptStrings rewrites the literal and hex strings of an object's text
// as decrypted hex strings.
func (h *aes256Handler) decryptStrings(body []byte) []byte {
	if !h.strings {
		return body
	}
	var out []byte
	for i := 0; i < len(body); i++ {
		c := body[i]
		var s []byte
		n := 0
		switch {
		case c == '(':
			s, n = literalString(body[i:])
		case c == '<' && (i+1 >= len(body) || body[i+1] != '<'):
			s, n = hexString(body[i:])
		case c == '<':
			out = append(out, '<', '<')
			i++
			continue
		default:
			out = append(out, c)
			continue
		}
		if d, err := aesDecrypt(h.key, s); err == nil {
			s = d
		}
		out = fmt.Appendf(out, "<%x>", s)
		i += n - 1
	}
	return out
}

// literalString reads the (string) at the start of b and returns its bytes
// and the length of its source.
func literalString(b []byte) ([]byte, int) {
	var s []byte
	depth := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case '(':
			depth++
			if depth == 1 {
				continue
			}
		case ')':
			depth--
			if depth == 0 {
				return s, i + 1
			}
		case '\\':
			if i+1 >= len(b) {
				return s, len(b)
			}
			i++
			switch e := b[i]; e {
			case 'n':
				s = append(s, '\n')
			case 'r':
				s = append(s, '\r')
			case 't':
				s = append(s, '\t')
			case 'b':
				s = append(s, '\b')
			case 'f':
				s = append(s, '\f')
			case '\r':
				if i+1 < len(b) && b[i+1] == '\n' {
					i++
				}
			case '\n':
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7'; k++ {
						i++
						v = v*8 + int(b[i]-'0')
					}
					s = append(s, byte(v))
				} else {
					s = append(s, e)
				}
			}
			continue
		}
		s = append(s, c)
	}
	return s, len(b)
}

// hexString reads the <hex string> at the start of b.
func hexString(b []byte) ([]byte, int) {
	end := bytes.IndexByte(b, '>')
	if end < 0 {
		end = len(b)
	}
	var digits []byte
	for _, c := range b[1:end] {
		if _, err := strconv.ParseUint(string(c), 16, 8); err == nil {
			digits = append(digits, c)
		}
	}
	if len(digits)%2 == 1 {
		digits = append(digits, '0')
	}
	s := make([]byte, len(digits)/2)
	for i := range s {
		v, _ := strconv.ParseUint(string(digits[2*i:2*i+2]), 16, 8)
		s[i] = byte(v)
	}
	return s, min(end+1, len(b))
}

// aesDecrypt decrypts AES-256-CBC data (a 16-byte IV, then the
// ciphertext) and removes its PKCS#7 padding.
func aesDecrypt(key, data []byte) ([]byte, error) {
	if len(data) < 2*aes.BlockSize || len(data)%aes.BlockSize != 0 {
		if len(data) == aes.BlockSize {
			return nil, nil // the IV of an empty string
		}
		return nil, errors.New("pdf: AES data is not whole blocks")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(data)-aes.BlockSize)
	cipher.NewCBCDecrypter(block, data[:aes.BlockSize]).CryptBlocks(out, data[aes.BlockSize:])
	if p := int(out[len(out)-1]); p >= 1 && p <= aes.BlockSize && p <= len(out) {
		out = out[:len(out)-p]
	}
	return out, nil
}

// newAES256Handler checks password against the encryption dictionary and
// returns the file key. The empty user password is tried first.
func newAES256Handler(enc []byte, password string) (*aes256Handler, error) {
	str := func(key string) []byte {
		v := dictValue(enc, key)
		if len(v) == 0 {
			return nil
		}
		switch v[0] {
		case '(':
			s, _ := literalString(v)
			return s
		case '<':
			s, _ := hexString(v)
			return s
		}
		return nil
	}
	rev, _ := dictInt(enc, "R")
	O, U, OE, UE := str("O"), str("U"), str("OE"), str("UE")
	if len(O) < 48 || len(U) < 48 || len(OE) < 32 || len(UE) < 32 {
		return nil, fmt.Errorf("%w: the AES-256 encryption dictionary is incomplete", extract.ErrMalformed)
	}
	h := &aes256Handler{strings: true, streams: true}
	for key, flag := range map[string]*bool{"StrF": &h.strings, "StmF": &h.streams} {
		if string(dictValue(enc, key)) == "/Identity" {
			*flag = false
		}
	}
	h.skipMetadata = string(dictValue(enc, "EncryptMetadata")) == "false"
	passwords := []string{""}
	if password != "" {
		passwords = append(passwords, password)
	}
	for _, pw := range passwords {
		p := []byte(pw)
		if len(p) > 127 {
			p = p[:127]
		}
		// Owner password: checked against O with U as extra data.
		if bytes.Equal(hash2B(rev, p, O[32:40], U[:48]), O[:32]) {
			h.key = aesNoIV(hash2B(rev, p, O[40:48], U[:48]), OE[:32])
			return h, nil
		}
		if bytes.Equal(hash2B(rev, p, U[32:40], nil), U[:32]) {
			h.key = aesNoIV(hash2B(rev, p, U[40:48], nil), UE[:32])
			return h, nil
		}
	}
	if password == "" {
		return nil, fmt.Errorf("%w: the PDF needs a password", extract.ErrEncrypted)
	}
	return nil, fmt.Errorf("%w: the password is wrong", extract.ErrEncrypted)
}

// aesNoIV decrypts the 32-byte OE/UE with AES-256-CBC, a zero IV and no
// padding.
func aesNoIV(key, data []byte) []byte {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil
	}
	out := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, make([]byte, aes.BlockSize)).CryptBlocks(out, data)
	return out
}

// hash2B is the password hash of revision 6 (Algorithm 2.B), or plain
// SHA-256 for revision 5.
func hash2B(rev int, password, salt, udata []byte) []byte {
	h := sha256.New()
	h.Write(password)
	h.Write(salt)
	h.Write(udata)
	k := h.Sum(nil)
	if rev < 6 {
		return k
	}
	var k1 []byte
	for i := 0; ; i++ {
		k1 = k1[:0]
		for range 64 {
			k1 = append(k1, password...)
			k1 = append(k1, k...)
			k1 = append(k1, udata...)
		}
		block, err := aes.NewCipher(k[:16])
		if err != nil {
			return nil
		}
		e := make([]byte, len(k1))
		cipher.NewCBCEncrypter(block, k[16:32]).CryptBlocks(e, k1)
		sum := 0
		for _, c := range e[:16] {
			sum += int(c)
		}
		var next hash.Hash
		switch sum % 3 {
		case 0:
			next = sha256.New()
		case 1:
			next = sha512.New384()
		default:
			next = sha512.New()
		}
		next.Write(e)
		k = next.Sum(nil)
		if i >= 63 && int(e[len(e)-1]) <= i+1-32 {
			break
		}
	}
	return k[:32]
}
