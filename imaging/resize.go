package imaging

import (
	"math"
)

// This file scales rasters. Downscaling averages the exact area of source
// pixels each output pixel covers (a box filter with fractional edges), so
// thin structures and noise average out instead of aliasing; upscaling
// interpolates linearly. Both run as two separable passes.

// fitSize returns the size of a w x h image scaled to fit within maxW x
// maxH keeping its aspect ratio; aspect is the height of a pixel over its
// width (1 for square pixels). A zero bound leaves that side free.
func fitSize(w, h, maxW, maxH int, aspect float64) (int, int) {
	if aspect <= 0 || math.IsNaN(aspect) || math.IsInf(aspect, 0) {
		aspect = 1
	}
	fw, fh := float64(w), float64(h)*aspect // displayed size in square pixels
	if maxW <= 0 && maxH <= 0 {
		if aspect == 1 {
			return w, h
		}
		maxW = w // keep the width, correct the height
	}
	s := math.Inf(1)
	if maxW > 0 {
		s = float64(maxW) / fw
	}
	if maxH > 0 {
		s = min(s, float64(maxH)/fh)
	}
	return max(1, int(fw*s+0.5)), max(1, int(fh*s+0.5))
}

// weights are the contributions of source pixels to each output pixel
// along one axis: output i takes w[i][k] of source start[i]+k.
type weights struct {
	start []int
	w     [][]float32
}

// axisWeights computes weights mapping src samples to dst samples.
func axisWeights(src, dst int) weights {
	ws := weights{start: make([]int, dst), w: make([][]float32, dst)}
	scale := float64(src) / float64(dst)
	if scale > 1 { // downscale: exact area average
		for i := 0; i < dst; i++ {
			lo, hi := float64(i)*scale, float64(i+1)*scale
			a, b := int(lo), min(int(math.Ceil(hi)), src)
			row := make([]float32, b-a)
			for k := a; k < b; k++ {
				row[k-a] = float32((min(hi, float64(k+1)) - max(lo, float64(k))) / scale)
			}
			ws.start[i], ws.w[i] = a, row
		}
		return ws
	}
	for i := 0; i < dst; i++ { // upscale (or same size): linear
		u := (float64(i)+0.5)*scale - 0.5
		a := int(math.Floor(u))
		f := float32(u - float64(a))
		switch {
		case a < 0:
			ws.start[i], ws.w[i] = 0, []float32{1}
		case a >= src-1:
			ws.start[i], ws.w[i] = src-1, []float32{1}
		default:
			ws.start[i], ws.w[i] = a, []float32{1 - f, f}
		}
	}
	return ws
}

// resize returns r scaled to w x h.
func (r *raster) resize(w, h int) *raster {
	if w == r.w && h == r.h {
		return r
	}
	out := newRaster(w, h, r.ch, r.depth)
	if r.depth == 16 {
		resample(out.p16, r.p16, r.w, r.h, w, h, r.ch)
	} else {
		resample(out.p8, r.p8, r.w, r.h, w, h, r.ch)
	}
	return out
}

// resample scales src (sw x sh, ch channels) into dst (dw x dh):
// horizontally into a float buffer, then vertically.
func resample[T uint8 | uint16](dst, src []T, sw, sh, dw, dh, ch int) {
	hw, vw := axisWeights(sw, dw), axisWeights(sh, dh)
	tmp := make([]float32, dw*sh*ch)
	for y := 0; y < sh; y++ {
		srow, trow := src[y*sw*ch:(y+1)*sw*ch], tmp[y*dw*ch:(y+1)*dw*ch]
		if ch == 1 { // grey: the common case, without the channel loop
			for x, wts := range hw.w {
				s := srow[hw.start[x]:]
				var acc float32
				for k, wt := range wts {
					acc += wt * float32(s[k])
				}
				trow[x] = acc
			}
			continue
		}
		for x := 0; x < dw; x++ {
			s0, wts := hw.start[x]*ch, hw.w[x]
			for c := 0; c < ch; c++ {
				var acc float32
				for k, wt := range wts {
					acc += wt * float32(srow[s0+k*ch+c])
				}
				trow[x*ch+c] = acc
			}
		}
	}
	var maxV float32 = 255
	if _, ok := any(dst).([]uint16); ok {
		maxV = 65535
	}
	acc := make([]float32, dw*ch)
	for y := 0; y < dh; y++ {
		clear(acc)
		for k, wt := range vw.w[y] {
			trow := tmp[(vw.start[y]+k)*dw*ch : (vw.start[y]+k+1)*dw*ch]
			for i, v := range trow {
				acc[i] += wt * v
			}
		}
		drow := dst[y*dw*ch : (y+1)*dw*ch]
		for i, v := range acc {
			drow[i] = T(min(max(v+0.5, 0), maxV))
		}
	}
}
