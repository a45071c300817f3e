package imaging

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// This file turns colour frames into RGB: RGB itself, the YCbCr family
// (PS3.3 C.7.6.3.1.2) and PALETTE COLOR (C.7.6.3.1.5, C.7.9).

// colorMatrix converts centred YCbCr to RGB: R = Y' + rCr*Cr, G = Y' +
// gCb*Cb + gCr*Cr, B = Y' + bCb*Cb, with Y' = yScale*(Y - yOff) and Cb, Cr
// taken about the mid level.
type colorMatrix struct {
	yScale, yOff       float64
	rCr, gCb, gCr, bCb float64
	chromaScale        float64
}

var (
	// ybrFull is the inverse of the ITU-R BT.601 full-range transform
	// PS3.3 gives for YBR_FULL (also the irreversible ICT of JPEG 2000).
	ybrFull = colorMatrix{yScale: 1, rCr: 1.402, gCb: -0.344136, gCr: -0.714136, bCb: 1.772, chromaScale: 1}
	// ybrPartial is the inverse of the BT.601 studio-range transform for
	// YBR_PARTIAL_422/420: Y in 16..235, Cb/Cr in 16..240 (8-bit).
	ybrPartial = colorMatrix{yScale: 255.0 / 219, yOff: 16.0 / 255, rCr: 1.402, gCb: -0.344136, gCr: -0.714136, bCb: 1.772, chromaScale: 255.0 / 224}
)

// renderColor converts a three-sample frame to an RGB raster.
func renderColor(f Frame, depth int) (*raster, error) {
	p := f.Info
	if p.SamplesPerPixel != 3 {
		return nil, fmt.Errorf("%w: %s with %d samples per pixel", ErrUnsupported, p.PhotometricInterpretation, p.SamplesPerPixel)
	}
	if p.Float || p.BitsAllocated < 8 {
		return nil, fmt.Errorf("%w: colour samples of %d bits (float %v)", ErrUnsupported, p.BitsAllocated, p.Float)
	}
	data, err := upsampledChroma(f)
	if err != nil {
		return nil, err
	}
	lay := layoutOf(p)
	lay.signed = false // colour samples are unsigned in practice; signed RGB is not meaningful
	r := newRaster(p.Columns, p.Rows, 3, depth)
	n := p.Rows * p.Columns
	inMax := float64(lay.mask)
	outMax := float64(r.maxValue())
	put := func(i int, v float64) {
		v = min(max(v, 0), 1)*outMax + 0.5
		if r.depth == 16 {
			r.p16[i] = uint16(v)
		} else {
			r.p8[i] = uint8(v)
		}
	}
	get := func(i int) float64 { return float64(lay.index(sample(data, p.BitsAllocated, i))) / inMax }
	switch p.PhotometricInterpretation {
	case "RGB":
		if p.BitsAllocated == 8 && lay.bits == 8 && depth == 8 {
			copy(r.p8, data[:3*n])
			return r, nil
		}
		for i := 0; i < 3*n; i++ {
			put(i, get(i))
		}
	case "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_PARTIAL_422", "YBR_PARTIAL_420":
		m := ybrFull
		if p.BitsAllocated == 8 && lay.bits == 8 && depth == 8 && !strings.HasPrefix(p.PhotometricInterpretation, "YBR_PARTIAL") {
			ybrFull8(r.p8, data[:3*n])
			return r, nil
		}
		if p.PhotometricInterpretation == "YBR_PARTIAL_422" || p.PhotometricInterpretation == "YBR_PARTIAL_420" {
			m = ybrPartial
		}
		// The chroma mid level is 2^(bits-1) on a scale of 2^bits-1.
		mid := float64(uint32(1)<<(lay.bits-1)) / inMax
		for i := 0; i < n; i++ {
			y := (get(3*i) - m.yOff) * m.yScale
			cb := (get(3*i+1) - mid) * m.chromaScale
			cr := (get(3*i+2) - mid) * m.chromaScale
			put(3*i, y+m.rCr*cr)
			put(3*i+1, y+m.gCb*cb+m.gCr*cr)
			put(3*i+2, y+m.bCb*cb)
		}
	case "YBR_RCT":
		// Inverse reversible colour transform (ISO 15444-1 G.2): Cb and Cr
		// are differences about the mid level.
		mid := int64(1) << (lay.bits - 1)
		for i := 0; i < n; i++ {
			y := int64(lay.index(sample(data, p.BitsAllocated, 3*i)))
			cb := int64(lay.index(sample(data, p.BitsAllocated, 3*i+1))) - mid
			cr := int64(lay.index(sample(data, p.BitsAllocated, 3*i+2))) - mid
			g := y - floorDiv4(cb+cr)
			put(3*i, float64(cr+g)/inMax)
			put(3*i+1, float64(g)/inMax)
			put(3*i+2, float64(cb+g)/inMax)
		}
	default:
		return nil, fmt.Errorf("%w: photometric interpretation %q", ErrUnsupported, p.PhotometricInterpretation)
	}
	return r, nil
}

// ybrFull8 converts 8-bit YBR_FULL to RGB with 16.16 fixed-point tables,
// rounding like the floating-point path.
func ybrFull8(dst, src []byte) {
	var rCr, gCb, gCr, bCb [256]int32
	for i := range 256 {
		c := float64(i - 128)
		rCr[i] = int32(math.Round(ybrFull.rCr * c * 65536))
		gCb[i] = int32(math.Round(ybrFull.gCb * c * 65536))
		gCr[i] = int32(math.Round(ybrFull.gCr * c * 65536))
		bCb[i] = int32(math.Round(ybrFull.bCb * c * 65536))
	}
	clamp := func(v int32) byte { return byte(min(max((v+32768)>>16, 0), 255)) }
	for i := 0; i+2 < len(src); i += 3 {
		y, cb, cr := int32(src[i])<<16, src[i+1], src[i+2]
		dst[i] = clamp(y + rCr[cr])
		dst[i+1] = clamp(y + gCb[cb] + gCr[cr])
		dst[i+2] = clamp(y + bCb[cb])
	}
}

func floorDiv4(v int64) int64 { return v >> 2 } // arithmetic shift floors

// upsampledChroma returns the frame's samples with three per pixel. Codecs
// deliver subsampled YBR already expanded, but a frame handed over as
// stored (Y Y Cb Cr per two pixels) is expanded here.
func upsampledChroma(f Frame) ([]byte, error) {
	p := f.Info
	bps := p.BitsAllocated / 8
	full := p.Rows * p.Columns * 3 * bps
	if len(f.Data) >= full {
		return f.Data, nil
	}
	half := p.Rows * p.Columns * 2 * bps
	switch p.PhotometricInterpretation {
	case "YBR_FULL_422", "YBR_PARTIAL_422":
	default:
		return nil, fmt.Errorf("imaging: %s frame has %d bytes, needs %d", p.PhotometricInterpretation, len(f.Data), full)
	}
	if len(f.Data) < half || p.Columns%2 != 0 {
		return nil, fmt.Errorf("imaging: %s frame has %d bytes for %dx%d pixels", p.PhotometricInterpretation, len(f.Data), p.Columns, p.Rows)
	}
	out := make([]byte, full)
	for g := 0; g < p.Rows*p.Columns/2; g++ {
		s, d := f.Data[g*4*bps:], out[g*6*bps:]
		for k := 0; k < bps; k++ {
			y1, y2, cb, cr := s[k], s[bps+k], s[2*bps+k], s[3*bps+k]
			d[k], d[bps+k], d[2*bps+k] = y1, cb, cr
			d[3*bps+k], d[4*bps+k], d[5*bps+k] = y2, cb, cr
		}
	}
	return out, nil
}

// Palette is a PALETTE COLOR lookup table: one LUT per channel.
type Palette struct {
	Red, Green, Blue *LUT
}

// ReadPalette reads the Red, Green and Blue Palette Color Lookup Tables of
// ds, plain or segmented, with 8- or 16-bit entries. signed tells whether
// the first mapped value is read as signed (Pixel Representation 1).
func ReadPalette(ds *dicom.Dataset, signed bool, src io.ReaderAt) (*Palette, error) {
	var luts [3]*LUT
	for c := range luts {
		off := dicom.Tag(c)
		d, err := parseDescriptor(ds, ds.Get(tagRedPaletteDescriptor+off), signed)
		if err != nil {
			return nil, fmt.Errorf("imaging: palette channel %d: %w", c, err)
		}
		if seg := ds.Get(tagSegmentedRedPaletteSeq + off); seg != nil {
			raw, err := values(seg, src)
			if err != nil {
				return nil, err
			}
			w, err := expandSegmented(segmentWords(ds, raw, d.bits), d.n)
			if err != nil {
				return nil, fmt.Errorf("imaging: palette channel %d: %w", c, err)
			}
			luts[c], err = lutData(nil, le16(w), descriptor{n: len(w), first: d.first, bits: d.bits})
			if err != nil {
				return nil, err
			}
			continue
		}
		raw, err := values(ds.Get(tagRedPaletteData+off), src)
		if err != nil {
			return nil, err
		}
		if luts[c], err = lutData(ds, raw, d); err != nil {
			return nil, fmt.Errorf("imaging: palette channel %d: %w", c, err)
		}
	}
	return &Palette{Red: luts[0], Green: luts[1], Blue: luts[2]}, nil
}

// segmentWords decodes segmented LUT data: 16-bit words, or for 8-bit
// entries one byte per value.
func segmentWords(ds *dicom.Dataset, raw []byte, bits int) []uint16 {
	if bits > 8 {
		return words(ds, raw)
	}
	out := make([]uint16, len(raw))
	for i, b := range raw {
		out[i] = uint16(b)
	}
	return out
}

func le16(w []uint16) []byte {
	b := make([]byte, 2*len(w))
	for i, v := range w {
		b[2*i], b[2*i+1] = byte(v), byte(v>>8)
	}
	return b
}

// renderPalette maps a one-sample frame through the palette.
func renderPalette(f Frame, pal *Palette, depth int) (*raster, error) {
	p := f.Info
	if p.SamplesPerPixel != 1 || p.Float || p.BitsAllocated > 16 {
		return nil, fmt.Errorf("%w: PALETTE COLOR with %d samples of %d bits", ErrUnsupported, p.SamplesPerPixel, p.BitsAllocated)
	}
	lay := layoutOf(p)
	r := newRaster(p.Columns, p.Rows, 3, depth)
	outMax := float64(r.maxValue())
	// One RGB triple per stored bit pattern.
	table := make([]uint16, 3<<lay.bits)
	for i := 0; i < 1<<lay.bits; i++ {
		s := int(lay.patternValue(uint32(i)))
		for c, l := range []*LUT{pal.Red, pal.Green, pal.Blue} {
			table[3*i+c] = uint16(float64(l.Lookup(s))*outMax/float64(l.Max()) + 0.5)
		}
	}
	n := p.Rows * p.Columns
	for i := 0; i < n; i++ {
		t := table[3*lay.index(sample(f.Data, p.BitsAllocated, i)):]
		if depth == 16 {
			r.p16[3*i], r.p16[3*i+1], r.p16[3*i+2] = t[0], t[1], t[2]
		} else {
			r.p8[3*i], r.p8[3*i+1], r.p8[3*i+2] = uint8(t[0]), uint8(t[1]), uint8(t[2])
		}
	}
	return r, nil
}
