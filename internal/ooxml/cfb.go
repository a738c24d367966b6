package ooxml

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/quarryhq/quarry/extract"
)

// cfbMagic starts an OLE compound file: the container of an encrypted OOXML
// package, and of a legacy binary document (.doc, .ppt, .xls).
var cfbMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// encryptedPackage is the UTF-16LE name of the stream of an encrypted
// OOXML package inside its compound file.
var encryptedPackage = []byte("E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k\x00a\x00g\x00e\x00")

// CheckCFB refuses an OLE compound file: with an "EncryptedPackage" stream
// in its first 64 KiB it is a password-protected package
// ([extract.ErrEncrypted]); otherwise a legacy binary document, which an
// OOXML parser does not read ([extract.ErrMalformed]). Anything else passes.
// format prefixes the errors ("pptx") and legacy names the binary format
// in them (".ppt").
func CheckCFB(in extract.Input, format, legacy string) error {
	head := make([]byte, 8)
	if _, err := in.R.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: read: %w", format, err)
	}
	if !bytes.Equal(head, cfbMagic) {
		return nil
	}
	buf := make([]byte, min(in.Size, 64<<10))
	n, _ := in.R.ReadAt(buf, 0)
	if bytes.Contains(buf[:n], encryptedPackage) {
		return fmt.Errorf("%s: %w: the package is encrypted (password-protected OOXML)", format, extract.ErrEncrypted)
	}
	return fmt.Errorf("%s: %w: an OLE compound file (legacy %s), not an OOXML package", format, extract.ErrMalformed, legacy)
}
