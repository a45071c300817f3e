package imaging

import (
	"fmt"
	"image"
)

// raster is the renderer's working image: w x h pixels of ch channels (1
// grey or 3 RGB), in 8-bit (p8) or 16-bit (p16) samples, row-major and
// interleaved with no padding.
type raster struct {
	w, h, ch int
	depth    int
	p8       []uint8
	p16      []uint16
}

func newRaster(w, h, ch, depth int) *raster {
	r := &raster{w: w, h: h, ch: ch, depth: depth}
	if depth == 16 {
		r.p16 = make([]uint16, w*h*ch)
	} else {
		r.p8 = make([]uint8, w*h*ch)
	}
	return r
}

// maxValue is the white level of the raster's depth.
func (r *raster) maxValue() uint32 {
	if r.depth == 16 {
		return 0xFFFF
	}
	return 0xFF
}

// set stores v in every channel of pixel (x, y).
func (r *raster) set(x, y int, v uint32) {
	i := (y*r.w + x) * r.ch
	for c := 0; c < r.ch; c++ {
		if r.depth == 16 {
			r.p16[i+c] = uint16(v)
		} else {
			r.p8[i+c] = uint8(v)
		}
	}
}

// image wraps the raster as the standard library image type that fits it:
// *image.Gray, *image.Gray16, *image.RGBA or *image.RGBA64 (opaque).
func (r *raster) image() image.Image {
	rect := image.Rect(0, 0, r.w, r.h)
	n := r.w * r.h
	switch {
	case r.ch == 1 && r.depth != 16:
		return &image.Gray{Pix: r.p8, Stride: r.w, Rect: rect}
	case r.ch == 1:
		img := image.NewGray16(rect)
		for i, v := range r.p16 {
			img.Pix[2*i], img.Pix[2*i+1] = uint8(v>>8), uint8(v)
		}
		return img
	case r.depth != 16:
		img := image.NewRGBA(rect)
		for i := 0; i < n; i++ {
			s, d := r.p8[3*i:3*i+3:3*i+3], img.Pix[4*i:4*i+4:4*i+4]
			d[0], d[1], d[2], d[3] = s[0], s[1], s[2], 0xFF
		}
		return img
	default:
		img := image.NewRGBA64(rect)
		for i := 0; i < n; i++ {
			s, d := r.p16[3*i:3*i+3:3*i+3], img.Pix[8*i:8*i+8:8*i+8]
			d[0], d[1], d[2], d[3] = uint8(s[0]>>8), uint8(s[0]), uint8(s[1]>>8), uint8(s[1])
			d[4], d[5], d[6], d[7] = uint8(s[2]>>8), uint8(s[2]), 0xFF, 0xFF
		}
		return img
	}
}

// crop returns the part of r inside rect (clipped to r), or an error when
// nothing of rect is inside.
func (r *raster) crop(rect image.Rectangle) (*raster, error) {
	rect = rect.Intersect(image.Rect(0, 0, r.w, r.h))
	if rect.Empty() {
		return nil, fmt.Errorf("imaging: region outside the %dx%d frame", r.w, r.h)
	}
	if rect == image.Rect(0, 0, r.w, r.h) {
		return r, nil
	}
	out := newRaster(rect.Dx(), rect.Dy(), r.ch, r.depth)
	n := rect.Dx() * r.ch
	for y := 0; y < rect.Dy(); y++ {
		off := ((rect.Min.Y+y)*r.w + rect.Min.X) * r.ch
		if r.depth == 16 {
			copy(out.p16[y*n:(y+1)*n], r.p16[off:off+n])
		} else {
			copy(out.p8[y*n:(y+1)*n], r.p8[off:off+n])
		}
	}
	return out, nil
}
