package imaging

import (
	"fmt"
	"math"
)

// This file is the grayscale pipeline of PS3.4 N.2.1: stored values ->
// Modality LUT -> VOI LUT -> Presentation LUT (shape) -> output levels.
// For integer samples of up to 16 stored bits the whole pipeline is
// folded into one table indexed by the stored bit pattern, so a frame
// costs one table lookup per pixel; wider or float samples are mapped
// pixel by pixel.

// voiFunc maps a modality value to [0, 1].
type voiFunc func(m float64) float64

// grayPipeline is the composed pipeline for one frame.
type grayPipeline struct {
	d      *Display
	lay    storedLayout
	voi    voiFunc
	invert bool
	float  bool    // float samples
	out    float64 // white level, 255 or 65535
}

// level maps a stored value through the pipeline to an output level.
func (g *grayPipeline) level(s int64) uint16 {
	if g.d.isPadding(s) {
		return 0 // padding shows as black (PS3.3 C.7.5.1.1.2)
	}
	return g.levelOf(g.d.modality(float64(s)))
}

// levelOf maps a modality value to an output level.
func (g *grayPipeline) levelOf(m float64) uint16 {
	y := g.voi(m)
	if math.IsNaN(y) {
		y = 0
	}
	y = min(max(y, 0), 1)
	if g.invert {
		y = 1 - y
	}
	return uint16(y*g.out + 0.5)
}

// selectVOI picks the VOI transformation: the window override, else the
// data set's window or VOI LUT number opts.VOIIndex as opts.VOI says, else
// a window over [lo, hi], the range of modality values in the frame
// (computed lazily by minmax, which reports false for an empty frame).
// When the frame holds a single value (or none), the window spans
// absRange, the range of modality values the stored bits can express, as
// DCMTK does: a uniform frame then shows at its level in that range
// instead of all black.
func selectVOI(d *Display, opts Options, minmax, absRange func() (lo, hi float64, ok bool)) (voiFunc, error) {
	if w := opts.Window; w != nil {
		win := *w
		if win.Function == "" && len(d.Windows) > 0 {
			win.Function = d.Windows[0].Function
		}
		return win.fraction(), nil
	}
	i := opts.VOIIndex
	useWindow := func() (voiFunc, error) {
		if i < 0 || i >= len(d.Windows) {
			return nil, fmt.Errorf("%w: window %d of %d", ErrNoVOI, i+1, len(d.Windows))
		}
		return d.Windows[i].fraction(), nil
	}
	useLUT := func() (voiFunc, error) {
		if i < 0 || i >= len(d.VOILUTs) {
			return nil, fmt.Errorf("%w: VOI LUT %d of %d", ErrNoVOI, i+1, len(d.VOILUTs))
		}
		l := d.VOILUTs[i]
		scale := 1 / float64(l.Max())
		return func(m float64) float64 { return float64(l.lookupFloat(m)) * scale }, nil
	}
	switch opts.VOI {
	case VOIWindow:
		return useWindow()
	case VOILUT:
		return useLUT()
	case VOIAuto:
		if len(d.Windows) > 0 {
			return useWindow()
		}
		if len(d.VOILUTs) > 0 {
			return useLUT()
		}
	}
	lo, hi, ok := minmax()
	if !ok || lo >= hi {
		if alo, ahi, aok := absRange(); aok && alo < ahi {
			lo, hi, ok = alo, ahi, true
		}
	}
	if !ok {
		lo, hi = 0, 0
	}
	return MinMaxWindow(lo, hi).fraction(), nil
}

// MinMaxWindow returns the LINEAR window that maps lo to black and hi to
// white, as DCMTK's min-max window does: center (lo+hi+1)/2, width
// hi-lo+1.
func MinMaxWindow(lo, hi float64) Window {
	return Window{Center: (lo + hi + 1) / 2, Width: hi - lo + 1, Function: FunctionLinear, Explanation: "MIN-MAX"}
}

// renderGray runs the grayscale pipeline over frame f.
func renderGray(f Frame, d *Display, opts Options) (*raster, error) {
	p := f.Info
	if p.SamplesPerPixel != 1 {
		return nil, fmt.Errorf("%w: %s with %d samples per pixel", ErrUnsupported, p.PhotometricInterpretation, p.SamplesPerPixel)
	}
	g := &grayPipeline{d: d, lay: layoutOf(p), invert: d.inverted(opts.PresentationShape)}
	r := newRaster(p.Columns, p.Rows, 1, opts.depth())
	g.out = float64(r.maxValue())
	n := p.Rows * p.Columns
	switch {
	case p.Float:
		g.float = true
		return r, g.perPixel(f, r, n, func(i int) (float64, bool) {
			v := floatSample(f.Data, p.BitsAllocated, i)
			return d.modality(v), !math.IsNaN(v) && !math.IsInf(v, 0)
		}, opts)
	case g.lay.bits <= 16:
		return r, g.viaTable(f, r, n, opts)
	default:
		return r, g.perPixel(f, r, n, func(i int) (float64, bool) {
			s := g.lay.value(sample(f.Data, p.BitsAllocated, i))
			return d.modality(float64(s)), !d.isPadding(s)
		}, opts)
	}
}

// viaTable renders integer samples of at most 16 stored bits through a
// table of every stored bit pattern.
func (g *grayPipeline) viaTable(f Frame, r *raster, n int, opts Options) error {
	p := f.Info
	var err error
	g.voi, err = selectVOI(g.d, opts, func() (float64, float64, bool) { return g.storedRange(f, n) }, g.absRange)
	if err != nil {
		return err
	}
	table := make([]uint16, 1<<g.lay.bits)
	for i := range table {
		table[i] = g.level(g.lay.patternValue(uint32(i)))
	}
	switch {
	case p.BitsAllocated == 8 && r.depth == 8:
		mapSamples8(r.p8, f.Data[:n], table, g.lay)
	case p.BitsAllocated == 16 && r.depth == 8:
		mapSamples16(r.p8, f.Data[:2*n], table, g.lay)
	default:
		for i := 0; i < n; i++ {
			v := table[g.lay.index(sample(f.Data, p.BitsAllocated, i))]
			if r.depth == 16 {
				r.p16[i] = v
			} else {
				r.p8[i] = uint8(v)
			}
		}
	}
	return nil
}

func mapSamples8(dst, src []byte, table []uint16, l storedLayout) {
	t8 := make([]uint8, 256)
	for i := range t8 {
		t8[i] = uint8(table[l.index(uint32(i))])
	}
	for i, v := range src {
		dst[i] = t8[v]
	}
}

func mapSamples16(dst, src []byte, table []uint16, l storedLayout) {
	t8 := make([]uint8, len(table))
	for i, v := range table {
		t8[i] = uint8(v)
	}
	shift, mask := l.shift, l.mask
	for i := range dst {
		raw := uint32(src[2*i]) | uint32(src[2*i+1])<<8
		dst[i] = t8[raw>>shift&mask]
	}
}

// storedRange returns the range of modality values over the frame's
// non-padding pixels, computed from the range of stored values.
func (g *grayPipeline) storedRange(f Frame, n int) (float64, float64, bool) {
	p := f.Info
	seen := make([]bool, 1<<g.lay.bits)
	switch shift, mask := g.lay.shift, g.lay.mask; p.BitsAllocated {
	case 8:
		for _, v := range f.Data[:n] {
			seen[uint32(v)>>shift&mask] = true
		}
	case 16:
		src := f.Data[:2*n]
		for i := 0; i < len(src); i += 2 {
			seen[(uint32(src[i])|uint32(src[i+1])<<8)>>shift&mask] = true
		}
	default:
		for i := 0; i < n; i++ {
			seen[g.lay.index(sample(f.Data, p.BitsAllocated, i))] = true
		}
	}
	lo, hi, ok := math.Inf(1), math.Inf(-1), false
	for i, s := range seen {
		if !s {
			continue
		}
		v := g.lay.patternValue(uint32(i))
		if g.d.isPadding(v) {
			continue
		}
		m := g.d.modality(float64(v))
		lo, hi, ok = min(lo, m), max(hi, m), true
	}
	return lo, hi, ok
}

// absRange returns the range of modality values of the stored values the
// layout can hold (not meaningful for float samples, which report false).
func (g *grayPipeline) absRange() (float64, float64, bool) {
	if g.float {
		return 0, 0, false
	}
	lo, hi := int64(0), int64(g.lay.mask)
	if g.lay.signed {
		lo, hi = -int64(g.lay.mask/2)-1, int64(g.lay.mask/2)
	}
	if g.d.ModalityLUT != nil {
		a, b := math.Inf(1), math.Inf(-1)
		for _, v := range g.d.ModalityLUT.Data {
			a, b = min(a, float64(v)), max(b, float64(v))
		}
		return a, b, true
	}
	m1, m2 := g.d.modality(float64(lo)), g.d.modality(float64(hi))
	return min(m1, m2), max(m1, m2), true
}

// perPixel renders samples whose modality values come from value(i),
// which also reports whether pixel i is an image pixel (not padding, not
// NaN); other pixels show black.
func (g *grayPipeline) perPixel(f Frame, r *raster, n int, value func(i int) (float64, bool), opts Options) error {
	var err error
	g.voi, err = selectVOI(g.d, opts, func() (float64, float64, bool) {
		lo, hi, ok := math.Inf(1), math.Inf(-1), false
		for i := 0; i < n; i++ {
			if m, good := value(i); good {
				lo, hi, ok = min(lo, m), max(hi, m), true
			}
		}
		return lo, hi, ok
	}, g.absRange)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		var v uint16
		if m, good := value(i); good {
			v = g.levelOf(m)
		}
		if r.depth == 16 {
			r.p16[i] = v
		} else {
			r.p8[i] = uint8(v)
		}
	}
	return nil
}
