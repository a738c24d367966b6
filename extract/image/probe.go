package image

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	stdjpeg "image/jpeg"
	"io"

	"github.com/quarryhq/quarry/extract"
)

// Formats, as Info.Format names them.
const (
	FormatPNG  = "png"
	FormatJPEG = "jpeg"
	FormatGIF  = "gif"
	FormatBMP  = "bmp"
	FormatWebP = "webp"
	FormatTIFF = "tiff"
)

// Frame is one image of a file: a TIFF page, or the one image of the other
// formats.
type Frame struct {
	// Width and Height are in pixels, as the file declares them.
	Width, Height int64
}

// Pixels returns Width × Height.
func (f Frame) Pixels() int64 { return f.Width * f.Height }

// Info describes an image file without decoding its pixels.
type Info struct {
	// Format is FormatPNG, FormatJPEG, ... as the magic number says.
	Format string
	// MediaType is the media type of Format, such as "image/png".
	MediaType string
	// Frames are the images of the file in order: one per TIFF IFD (at
	// most the maxFrames given to Probe), one for the other formats
	// (the first frame of an animated GIF, PNG or WebP).
	Frames []Frame
	// Capped is set when the file has more frames than Frames holds.
	Capped bool
}

// maxDimension bounds a declared width or height; larger values are not
// images but hostile or broken headers. (PNG and the others allow 2^31-1;
// nothing real comes near it.)
const maxDimension = 1 << 30

// maxIFDEntries bounds the entries of one TIFF IFD that Probe reads.
const maxIFDEntries = 1 << 16

var mediaTypes = map[string]string{
	FormatPNG:  "image/png",
	FormatJPEG: "image/jpeg",
	FormatGIF:  "image/gif",
	FormatBMP:  "image/bmp",
	FormatWebP: "image/webp",
	FormatTIFF: "image/tiff",
}

// Probe reads the headers of the image in r (size bytes) and returns its
// format and the dimensions of its frames, reading at most maxFrames TIFF
// frames (Limits.MaxPages of [extract.DefaultLimits] when maxFrames is 0 or
// less). It never decodes pixel data, so a decompression bomb costs it
// nothing: callers compare Frame.Pixels with their own limit before they
// hand the file to a decoder.
//
// The format is decided by the magic number alone. Errors wrap
// [extract.ErrUnsupportedFormat] (not an image format Probe knows) or
// [extract.ErrMalformed] (headers cut short, zero or absurd dimensions, a
// loop in the chain of TIFF IFDs), or are ctx's error.
func Probe(ctx context.Context, r io.ReaderAt, size int64, maxFrames int) (Info, error) {
	if maxFrames <= 0 {
		maxFrames = extract.DefaultLimits().MaxPages
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	head := make([]byte, 32)
	n, err := r.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return Info{}, fmt.Errorf("image: read: %w", err)
	}
	head = head[:n]
	var info Info
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		info.Format = FormatPNG
		info.Frames, err = probePNG(head)
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		info.Format = FormatJPEG
		info.Frames, err = probeJPEG(ctx, r, size)
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		info.Format = FormatGIF
		info.Frames, err = probeGIF(head)
	case bytes.HasPrefix(head, []byte("BM")):
		info.Format = FormatBMP
		info.Frames, err = probeBMP(head)
	case len(head) >= 12 && bytes.HasPrefix(head, []byte("RIFF")) && string(head[8:12]) == "WEBP":
		info.Format = FormatWebP
		info.Frames, err = probeWebP(head)
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")),
		bytes.HasPrefix(head, []byte("II+\x00")), bytes.HasPrefix(head, []byte("MM\x00+")):
		info.Format = FormatTIFF
		info.Frames, info.Capped, err = probeTIFF(ctx, r, size, maxFrames)
	default:
		return Info{}, fmt.Errorf("image: %w: not a PNG, JPEG, GIF, BMP, WebP or TIFF image", extract.ErrUnsupportedFormat)
	}
	if err != nil {
		return Info{}, err
	}
	info.MediaType = mediaTypes[info.Format]
	for i, f := range info.Frames {
		if f.Width <= 0 || f.Height <= 0 || f.Width > maxDimension || f.Height > maxDimension {
			return Info{}, malformed("%s frame %d declares %d×%d pixels", info.Format, i+1, f.Width, f.Height)
		}
	}
	return info, nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("image: %w: %s", extract.ErrMalformed, fmt.Sprintf(format, args...))
}

// probePNG reads IHDR, which the PNG specification puts first.
func probePNG(head []byte) ([]Frame, error) {
	if len(head) < 24 || string(head[12:16]) != "IHDR" || binary.BigEndian.Uint32(head[8:12]) != 13 {
		return nil, malformed("png: no IHDR chunk")
	}
	be := binary.BigEndian
	return []Frame{{Width: int64(be.Uint32(head[16:20])), Height: int64(be.Uint32(head[20:24]))}}, nil
}

// probeJPEG reads the markers up to the first start-of-frame with the
// standard library's DecodeConfig, which skips the other segments without
// keeping them.
func probeJPEG(ctx context.Context, r io.ReaderAt, size int64) ([]Frame, error) {
	br := bufio.NewReader(extract.ContextReader(ctx, io.NewSectionReader(r, 0, size)))
	cfg, err := stdjpeg.DecodeConfig(br)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, malformed("jpeg: %v", err)
	}
	return []Frame{{Width: int64(cfg.Width), Height: int64(cfg.Height)}}, nil
}

// probeGIF reads the logical screen descriptor.
func probeGIF(head []byte) ([]Frame, error) {
	if len(head) < 10 {
		return nil, malformed("gif: header cut short")
	}
	le := binary.LittleEndian
	return []Frame{{Width: int64(le.Uint16(head[6:8])), Height: int64(le.Uint16(head[8:10]))}}, nil
}

// probeBMP reads the DIB header: BITMAPCOREHEADER (12 bytes, 16-bit
// dimensions) or BITMAPINFOHEADER and its successors (32-bit dimensions, a
// negative height for top-down rows).
func probeBMP(head []byte) ([]Frame, error) {
	if len(head) < 26 {
		return nil, malformed("bmp: header cut short")
	}
	le := binary.LittleEndian
	switch dib := le.Uint32(head[14:18]); {
	case dib == 12:
		return []Frame{{Width: int64(le.Uint16(head[18:20])), Height: int64(le.Uint16(head[20:22]))}}, nil
	case dib >= 40 && dib <= 1<<10:
		w := int64(int32(le.Uint32(head[18:22])))
		h := int64(int32(le.Uint32(head[22:26])))
		return []Frame{{Width: w, Height: max(h, -h)}}, nil
	default:
		return nil, malformed("bmp: unknown header size %d", dib)
	}
}

// probeWebP reads the first chunk: VP8X (extended: canvas size), VP8L
// (lossless bitstream header) or "VP8 " (lossy key frame header).
func probeWebP(head []byte) ([]Frame, error) {
	if len(head) < 30 {
		return nil, malformed("webp: header cut short")
	}
	le := binary.LittleEndian
	u24 := func(b []byte) int64 { return int64(b[0]) | int64(b[1])<<8 | int64(b[2])<<16 }
	switch string(head[12:16]) {
	case "VP8X":
		return []Frame{{Width: u24(head[24:27]) + 1, Height: u24(head[27:30]) + 1}}, nil
	case "VP8L":
		if head[20] != 0x2F {
			return nil, malformed("webp: bad VP8L signature")
		}
		bits := le.Uint32(head[21:25])
		return []Frame{{Width: int64(bits&0x3FFF) + 1, Height: int64(bits>>14&0x3FFF) + 1}}, nil
	case "VP8 ":
		if head[23] != 0x9D || head[24] != 0x01 || head[25] != 0x2A {
			return nil, malformed("webp: bad VP8 start code")
		}
		return []Frame{{Width: int64(le.Uint16(head[26:28]) & 0x3FFF), Height: int64(le.Uint16(head[28:30]) & 0x3FFF)}}, nil
	default:
		return nil, malformed("webp: unknown first chunk %q", head[12:16])
	}
}

// probeTIFF walks the chain of IFDs (classic TIFF and BigTIFF) and reads
// ImageWidth and ImageLength from each. The walk is bounded: every offset
// must lie inside the file, an IFD seen twice is a loop (ErrMalformed), an
// IFD has at most maxIFDEntries entries, and it stops after maxFrames
// frames.
func probeTIFF(ctx context.Context, r io.ReaderAt, size int64, maxFrames int) (frames []Frame, capped bool, err error) {
	var hdr [16]byte
	if n, _ := r.ReadAt(hdr[:], 0); n < 8 {
		return nil, false, malformed("tiff: header cut short")
	}
	var order binary.ByteOrder = binary.LittleEndian
	if hdr[0] == 'M' {
		order = binary.BigEndian
	}
	big := order.Uint16(hdr[2:4]) == 43
	countSize, entrySize, offSize := int64(2), int64(12), int64(4)
	next := int64(order.Uint32(hdr[4:8]))
	if big {
		countSize, entrySize, offSize = 8, 20, 8
		if order.Uint16(hdr[4:6]) != 8 || order.Uint16(hdr[6:8]) != 0 {
			return nil, false, malformed("tiff: bad BigTIFF header")
		}
		o := order.Uint64(hdr[8:16])
		if o > uint64(size) {
			return nil, false, malformed("tiff: first IFD offset %d is past the end of the file", o)
		}
		next = int64(o)
	}
	seen := map[int64]bool{}
	for next != 0 {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		if len(frames) == maxFrames {
			return frames, true, nil
		}
		off := next
		if seen[off] {
			return nil, false, malformed("tiff: the IFD chain loops back to offset %d", off)
		}
		seen[off] = true
		if off < 8 || off > size-countSize {
			return nil, false, malformed("tiff: IFD offset %d is outside the file", off)
		}
		buf := make([]byte, countSize)
		if _, err := r.ReadAt(buf, off); err != nil {
			return nil, false, malformed("tiff: IFD %d: %v", len(frames)+1, err)
		}
		var count uint64
		if big {
			count = order.Uint64(buf)
		} else {
			count = uint64(order.Uint16(buf))
		}
		if count == 0 || count > maxIFDEntries {
			return nil, false, malformed("tiff: IFD %d has %d entries", len(frames)+1, count)
		}
		end := off + countSize + int64(count)*entrySize + offSize
		if end > size {
			return nil, false, malformed("tiff: IFD %d runs past the end of the file", len(frames)+1)
		}
		entries := make([]byte, int64(count)*entrySize+offSize)
		if _, err := r.ReadAt(entries, off+countSize); err != nil {
			return nil, false, malformed("tiff: IFD %d: %v", len(frames)+1, err)
		}
		var f Frame
		for i := int64(0); i < int64(count); i++ {
			e := entries[i*entrySize : (i+1)*entrySize]
			tag, typ := order.Uint16(e[0:2]), order.Uint16(e[2:4])
			if tag != 256 && tag != 257 {
				continue
			}
			val := e[8:]
			if big {
				val = e[12:]
			}
			var v int64
			switch typ {
			case 3: // SHORT
				v = int64(order.Uint16(val))
			case 4: // LONG
				v = int64(order.Uint32(val))
			case 16: // LONG8 (BigTIFF)
				if !big {
					continue
				}
				u := order.Uint64(val)
				if u > maxDimension {
					u = maxDimension + 1
				}
				v = int64(u)
			default:
				continue
			}
			if tag == 256 {
				f.Width = v
			} else {
				f.Height = v
			}
		}
		frames = append(frames, f)
		tail := entries[int64(count)*entrySize:]
		if big {
			u := order.Uint64(tail)
			if u > uint64(size) {
				return nil, false, malformed("tiff: IFD offset %d is outside the file", u)
			}
			next = int64(u)
		} else {
			next = int64(order.Uint32(tail))
		}
	}
	if len(frames) == 0 {
		return nil, false, malformed("tiff: no IFD")
	}
	return frames, false, nil
}
