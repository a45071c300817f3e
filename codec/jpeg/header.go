package jpeg

import (
	"errors"
	"fmt"
)

// Header is what a JPEG stream's frame header (SOFn) says.
type Header struct {
	Marker     byte // the SOF marker: 0xC0 baseline, 0xC1 extended, 0xC2 progressive, 0xC3 lossless, ...
	Precision  int
	Width      int
	Height     int
	Components int
	Lossless   bool
}

// Process names the coding process of the SOF marker.
func (h Header) Process() string {
	switch h.Marker {
	case 0xC0:
		return "baseline"
	case 0xC1, 0xC9:
		return "extended"
	case 0xC2, 0xCA:
		return "progressive"
	case 0xC3, 0xCB:
		return "lossless"
	}
	return fmt.Sprintf("SOF 0x%02X", h.Marker)
}

// ParseHeader reads the markers of a JPEG stream up to its first frame
// header. Hierarchical (SOF5-7, SOF13-15) streams are refused: no library
// here decodes them.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return Header{}, errors.New("no SOI marker at the start of the frame")
	}
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			i++ // tolerate stray bytes between segments, as libjpeg does
			continue
		}
		m := b[i+1]
		switch {
		case m == 0xFF:
			i++
			continue
		case m == 0x01 || m >= 0xD0 && m <= 0xD8:
			i += 2
			continue
		}
		seg := int(b[i+2])<<8 | int(b[i+3])
		switch m {
		case 0xC0, 0xC1, 0xC2, 0xC3, 0xC9, 0xCA, 0xCB:
			if seg < 8 || i+2+seg > len(b) {
				return Header{}, errors.New("truncated frame header")
			}
			p := b[i+4:]
			h := Header{
				Marker:     m,
				Precision:  int(p[0]),
				Height:     int(p[1])<<8 | int(p[2]),
				Width:      int(p[3])<<8 | int(p[4]),
				Components: int(p[5]),
				Lossless:   m == 0xC3 || m == 0xCB,
			}
			if h.Precision < 2 || h.Precision > 16 || h.Components < 1 || h.Components > 4 {
				return Header{}, fmt.Errorf("frame header with precision %d and %d components", h.Precision, h.Components)
			}
			return h, nil
		case 0xC5, 0xC6, 0xC7, 0xCD, 0xCE, 0xCF:
			return Header{}, fmt.Errorf("hierarchical JPEG (SOF 0x%02X) is not supported", m)
		case 0xF7:
			return Header{}, errors.New("JPEG-LS stream (SOF55) in a JPEG transfer syntax")
		case 0xDA, 0xD9:
			return Header{}, errors.New("scan before any frame header")
		}
		if seg < 2 {
			return Header{}, fmt.Errorf("marker 0x%02X with length %d", m, seg)
		}
		i += 2 + seg
	}
	return Header{}, errors.New("no frame header (SOF) found")
}
