package capture

import (
	"encoding/binary"
	"image"
	"image/color"
)

// exifOrientation returns the Orientation (0112) of a JPEG's Exif APP1
// segment (TIFF IFD0), 1 to 8, or 0 when there is none or it cannot be
// read. Photographs of films taken with a phone carry it: their pixels are
// stored sideways and the viewer is expected to turn them.
func exifOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 0
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return 0
		}
		m := b[i+1]
		if m == 0xFF {
			i++
			continue
		}
		if m == 0xDA || m == 0xD9 {
			return 0 // no Exif before the scan
		}
		if m == 0x01 || (m >= 0xD0 && m <= 0xD7) {
			i += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return 0
		}
		seg := b[i+4 : i+2+n]
		if m == 0xE1 && len(seg) >= 14 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 0
}

func tiffOrientation(t []byte) int {
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	ifd := int64(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > int64(len(t)) {
		return 0
	}
	count := int64(bo.Uint16(t[ifd:]))
	for k := int64(0); k < count; k++ {
		e := ifd + 2 + 12*k
		if e+12 > int64(len(t)) {
			return 0
		}
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 { // SHORT
			if o := int(bo.Uint16(t[e+8:])); o >= 1 && o <= 8 {
				return o
			}
			return 0
		}
	}
	return 0
}

// orient returns img turned upright for an Exif orientation (2 to 8): the
// pixel shown at (x, y) of the result is the stored one the orientation
// names. Grey stays grey; anything else becomes RGBA.
func orient(img image.Image, o int) image.Image {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	src := func(dx, dy int) (int, int) {
		switch o {
		case 2:
			return w - 1 - dx, dy
		case 3:
			return w - 1 - dx, h - 1 - dy
		case 4:
			return dx, h - 1 - dy
		case 5:
			return dy, dx
		case 6:
			return dy, h - 1 - dx
		case 7:
			return w - 1 - dy, h - 1 - dx
		case 8:
			return w - 1 - dy, dx
		}
		return dx, dy
	}
	if g, ok := img.(*image.Gray); ok {
		out := image.NewGray(image.Rect(0, 0, dw, dh))
		for dy := 0; dy < dh; dy++ {
			for dx := 0; dx < dw; dx++ {
				sx, sy := src(dx, dy)
				out.Pix[dy*out.Stride+dx] = g.GrayAt(r.Min.X+sx, r.Min.Y+sy).Y
			}
		}
		return out
	}
	out := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for dy := 0; dy < dh; dy++ {
		for dx := 0; dx < dw; dx++ {
			sx, sy := src(dx, dy)
			out.Set(dx, dy, color.RGBAModel.Convert(img.At(r.Min.X+sx, r.Min.Y+sy)))
		}
	}
	return out
}
