package capture

import "encoding/binary"

// jpegFrame is what the frame header of a baseline JPEG says.
type jpegFrame struct {
	width, height int
	components    int
	subsampled    bool // chroma sampled at a lower rate than luma
}

// baselineJPEG walks the marker segments up to the first scan and reports
// whether the stream is one the JPEG Baseline (Process 1) transfer syntax
// can carry as is: SOF0, 8-bit precision, one (grey) or three (YCbCr)
// components. Anything else (progressive, extended, lossless, 12-bit,
// CMYK, Adobe RGB) is decoded and stored natively instead.
func baselineJPEG(b []byte) (jpegFrame, bool) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return jpegFrame{}, false
	}
	var f jpegFrame
	seenSOF, adobeRGB := false, false
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return jpegFrame{}, false
		}
		m := b[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		if m == 0x01 || (m >= 0xD0 && m <= 0xD7) { // standalone markers
			i += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return jpegFrame{}, false
		}
		seg := b[i+4 : i+2+n]
		switch {
		case m == 0xC0:
			if seenSOF || len(seg) < 6 || seg[0] != 8 {
				return jpegFrame{}, false
			}
			seenSOF = true
			f.height = int(binary.BigEndian.Uint16(seg[1:]))
			f.width = int(binary.BigEndian.Uint16(seg[3:]))
			f.components = int(seg[5])
			if (f.components != 1 && f.components != 3) || len(seg) < 6+3*f.components {
				return jpegFrame{}, false
			}
			if f.components == 3 {
				ids := string([]byte{seg[6], seg[9], seg[12]})
				if ids == "RGB" {
					return jpegFrame{}, false
				}
				luma := seg[7]
				f.subsampled = seg[10] != luma || seg[13] != luma
			}
		case m >= 0xC1 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			return jpegFrame{}, false // not baseline
		case m == 0xEE && len(seg) >= 12 && string(seg[:5]) == "Adobe":
			adobeRGB = seg[11] == 0
		case m == 0xDA:
			if !seenSOF || f.height == 0 || (adobeRGB && f.components == 3) {
				return jpegFrame{}, false
			}
			return f, true
		case m == 0xD9:
			return jpegFrame{}, false
		}
		i += 2 + n
	}
	return jpegFrame{}, false
}
