package jpeg2000

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Header is what a JPEG 2000 codestream's main header says.
type Header struct {
	Width, Height int
	Components    int
	// Precision is the largest component bit depth; Signed is set when any
	// component is signed.
	Precision int
	Signed    bool
	// MCT is set when the COD marker applies the multiple-component
	// (colour) transform.
	MCT bool
	// HT is set when the codestream uses High-Throughput block coding
	// (Part 15; CAP marker present).
	HT bool
}

var soc = []byte{0xFF, 0x4F, 0xFF, 0x51}

// ParseHeader reads the SIZ and COD markers of a J2K codestream, or of the
// codestream inside a JP2 file.
func ParseHeader(b []byte) (Header, error) {
	if !bytes.HasPrefix(b, soc) {
		// A JP2 file: find the contiguous codestream box's content.
		i := bytes.Index(b[:min(len(b), 4096)], []byte("jp2c"))
		if i < 0 || !bytes.HasPrefix(b[i+4:], soc) {
			return Header{}, errors.New("no J2K codestream (SOC, SIZ) at the start of the frame")
		}
		b = b[i+4:]
	}
	var h Header
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return h, fmt.Errorf("expected a marker at byte %d", i)
		}
		m := b[i+1]
		l := int(binary.BigEndian.Uint16(b[i+2:]))
		if l < 2 || i+2+l > len(b) {
			return h, fmt.Errorf("marker 0xFF%02X overruns the frame", m)
		}
		seg := b[i+4 : i+2+l]
		switch m {
		case 0x51: // SIZ
			if len(seg) < 36 {
				return h, errors.New("short SIZ marker")
			}
			x1, y1 := binary.BigEndian.Uint32(seg[2:]), binary.BigEndian.Uint32(seg[6:])
			x0, y0 := binary.BigEndian.Uint32(seg[10:]), binary.BigEndian.Uint32(seg[14:])
			if x0 > x1 || y0 > y1 {
				return h, errors.New("SIZ image offset beyond its size")
			}
			h.Width, h.Height = int(x1-x0), int(y1-y0)
			h.Components = int(binary.BigEndian.Uint16(seg[34:]))
			if h.Components == 0 || len(seg) < 36+3*h.Components {
				return h, errors.New("SIZ marker with bad component count")
			}
			for c := 0; c < h.Components; c++ {
				s := seg[36+3*c]
				h.Precision = max(h.Precision, int(s&0x7F)+1)
				h.Signed = h.Signed || s&0x80 != 0
			}
		case 0x50: // CAP: Part 15 (HT) capabilities
			h.HT = true
		case 0x52: // COD
			if len(seg) < 5 {
				return h, errors.New("short COD marker")
			}
			h.MCT = seg[4] != 0
		case 0x90, 0x93: // SOT, SOD: end of the main header
			if h.Components == 0 {
				return h, errors.New("no SIZ marker")
			}
			return h, nil
		}
		i += 2 + l
	}
	if h.Components == 0 {
		return h, errors.New("no SIZ marker")
	}
	return h, nil
}
