package imaging

import (
	"encoding/binary"
	"errors"
	"image"
	"math"
	"slices"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
)

func TestWindowFraction(t *testing.T) {
	for _, tc := range []struct {
		w    Window
		x    float64
		want float64
	}{
		// LINEAR, PS3.3 C.11.2.1.2.1: c=2048, w=4096 maps 0 -> 0, 4095 -> 1.
		{Window{Center: 2048, Width: 4096}, 0, 0},
		{Window{Center: 2048, Width: 4096}, 4095, 1},
		{Window{Center: 2048, Width: 4096}, 2047.5, 0.5},
		// LINEAR: the borders are c-0.5-(w-1)/2 (inclusive low) and
		// c-0.5+(w-1)/2.
		{Window{Center: 40, Width: 400}, -160, 0},
		{Window{Center: 40, Width: 400}, -159, (-159-39.5)/399 + 0.5},
		{Window{Center: 40, Width: 400}, 239.5, 1},
		{Window{Center: 40, Width: 400}, 240, 1},
		// Width below 1 acts as 1: a threshold at c-0.5.
		{Window{Center: 10, Width: 0.2}, 9.5, 0},
		{Window{Center: 10, Width: 0.2}, 9.6, 1},
		// LINEAR_EXACT, C.11.2.1.3.2: borders c -/+ w/2.
		{Window{Center: 40, Width: 400, Function: FunctionLinearExact}, -160, 0},
		{Window{Center: 40, Width: 400, Function: FunctionLinearExact}, 40, 0.5},
		{Window{Center: 40, Width: 400, Function: FunctionLinearExact}, 140, 0.75},
		{Window{Center: 40, Width: 400, Function: FunctionLinearExact}, 240, 1},
		{Window{Center: 0.5, Width: 0.5, Function: "linear_exact"}, 0.5, 0.5},
		// SIGMOID, C.11.2.1.3.1: 1/(1+exp(-4(x-c)/w)).
		{Window{Center: 40, Width: 400, Function: FunctionSigmoid}, 40, 0.5},
		{Window{Center: 40, Width: 400, Function: FunctionSigmoid}, 140, 1 / (1 + math.Exp(-1))},
		{Window{Center: 40, Width: 400, Function: FunctionSigmoid}, -60, 1 / (1 + math.Exp(1))},
	} {
		if got := tc.w.Fraction(tc.x); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%+v at %v = %v, want %v", tc.w, tc.x, got, tc.want)
		}
	}
}

func TestMinMaxWindow(t *testing.T) {
	w := MinMaxWindow(-1000, 3000)
	if w.Fraction(-1000) != 0 || w.Fraction(3000) != 1 || math.Abs(w.Fraction(1000)-0.5) > 1e-12 {
		t.Errorf("MinMaxWindow(-1000, 3000) = %+v maps ends to %v, %v", w, w.Fraction(-1000), w.Fraction(3000))
	}
}

func TestLUTData(t *testing.T) {
	le := func(ws ...uint16) []byte {
		b := make([]byte, 2*len(ws))
		for i, w := range ws {
			binary.LittleEndian.PutUint16(b[2*i:], w)
		}
		return b
	}
	for _, tc := range []struct {
		name     string
		desc     []uint16
		signed   bool
		raw      []byte
		first    int
		bits     int
		data     []uint16
		wantFail bool
	}{
		{name: "16-bit", desc: []uint16{4, 0, 16}, raw: le(0, 1000, 40000, 65535), bits: 16, data: []uint16{0, 1000, 40000, 65535}},
		{name: "8-bit packed two per word", desc: []uint16{4, 0, 8}, raw: []byte{1, 2, 3, 4}, bits: 8, data: []uint16{1, 2, 3, 4}},
		{name: "8-bit packed odd count padded", desc: []uint16{3, 0, 8}, raw: []byte{9, 8, 7, 0}, bits: 8, data: []uint16{9, 8, 7}},
		{name: "8-bit one per word", desc: []uint16{3, 0, 8}, raw: le(10, 20, 255), bits: 8, data: []uint16{10, 20, 255}},
		{name: "8-bit declared, 16-bit values", desc: []uint16{2, 0, 8}, raw: le(0, 0xFF00), bits: 16, data: []uint16{0, 0xFF00}},
		{name: "16-bit declared, 12-bit values kept", desc: []uint16{2, 0, 16}, raw: le(0, 4095), bits: 16, data: []uint16{0, 4095}},
		{name: "first value signed", desc: []uint16{2, 0xF800, 16}, signed: true, raw: le(5, 6), first: -2048, bits: 16, data: []uint16{5, 6}},
		{name: "first value unsigned", desc: []uint16{2, 0xF800, 16}, raw: le(5, 6), first: 0xF800, bits: 16, data: []uint16{5, 6}},
		{name: "0 entries means 65536", desc: []uint16{0, 0, 16}, raw: make([]byte, 1<<17), bits: 16, data: make([]uint16, 1<<16)},
		{name: "extra data cut", desc: []uint16{2, 0, 16}, raw: le(1, 2, 3), bits: 16, data: []uint16{1, 2}},
		{name: "bad bits default 16", desc: []uint16{1, 0, 40}, raw: le(7), bits: 16, data: []uint16{7}},
		{name: "empty data", desc: []uint16{2, 0, 16}, raw: nil, wantFail: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := newDS()
			d, err := parseDescriptor(ds, elemUS(tagLUTDescriptor, tc.desc...), tc.signed)
			if err != nil {
				t.Fatal(err)
			}
			l, err := lutData(ds, tc.raw, d)
			if tc.wantFail {
				if err == nil {
					t.Fatalf("got %+v, want an error", l)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.First != tc.first || l.Bits != tc.bits || !slices.Equal(l.Data, tc.data) {
				t.Errorf("got first %d bits %d data %v, want %d %d %v", l.First, l.Bits, head(l.Data), tc.first, tc.bits, head(tc.data))
			}
		})
	}
}

func head(v []uint16) []uint16 { return v[:min(len(v), 8)] }

func TestLUTLookupClamps(t *testing.T) {
	l := &LUT{First: -2, Bits: 8, Data: []uint16{10, 20, 30}}
	for x, want := range map[int]uint16{-100: 10, -2: 10, -1: 20, 0: 30, 5: 30} {
		if got := l.Lookup(x); got != want {
			t.Errorf("Lookup(%d) = %d, want %d", x, got, want)
		}
	}
	if got := l.lookupFloat(-1.4); got != 20 {
		t.Errorf("lookupFloat(-1.4) = %d, want 20", got)
	}
}

func TestExpandSegmented(t *testing.T) {
	for _, tc := range []struct {
		name     string
		w        []uint16
		n        int
		want     []uint16
		wantFail bool
	}{
		{name: "discrete", w: []uint16{0, 3, 5, 6, 7}, n: 10, want: []uint16{5, 6, 7}},
		{name: "discrete then linear", w: []uint16{0, 1, 0, 1, 4, 100}, n: 10, want: []uint16{0, 25, 50, 75, 100}},
		{name: "linear down", w: []uint16{0, 1, 100, 1, 2, 0}, n: 10, want: []uint16{100, 50, 0}},
		// Indirect: replay 2 segments found at word offset 0.
		{name: "indirect", w: []uint16{0, 1, 10, 1, 1, 20, 2, 2, 0, 0}, n: 10, want: []uint16{10, 20, 10, 20}},
		{name: "stops at n", w: []uint16{0, 4, 1, 2, 3, 4}, n: 2, want: []uint16{1, 2}},
		{name: "trailing pad word", w: []uint16{0, 2, 1, 2, 0}, n: 4, want: []uint16{1, 2}},
		{name: "linear first", w: []uint16{1, 4, 100}, n: 10, wantFail: true},
		{name: "discrete overruns", w: []uint16{0, 9, 1}, n: 10, wantFail: true},
		{name: "unknown opcode", w: []uint16{0, 1, 1, 7, 1, 1}, n: 10, wantFail: true},
		{name: "indirect past end", w: []uint16{0, 1, 1, 2, 1, 0xFFFF, 0}, n: 10, wantFail: true},
		// An indirect segment that points at itself must not loop.
		{name: "indirect self loop", w: []uint16{0, 1, 1, 2, 1, 3, 0}, n: 1 << 16, wantFail: true},
		{name: "empty", w: nil, n: 4, wantFail: true},
		// Empty segments replayed through nested indirect segments: the
		// work is bounded, not 300^8 segment visits.
		{name: "indirect fan-out of empty segments", w: fanOut(), n: 1 << 16, wantFail: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := expandSegmented(tc.w, tc.n)
			if tc.wantFail {
				if err == nil {
					t.Fatalf("got %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// fanOut builds segmented data where each indirect segment replays 300
// segments that are themselves indirect, ending in empty discrete ones.
func fanOut() []uint16 {
	w := []uint16{0, 1, 7} // one real entry so indirect segments are allowed
	start := len(w)
	for i := 0; i < 300; i++ {
		w = append(w, 2, 300, uint16(start), 0) // replay 300 segments from start
	}
	return append(w, 0, 0)
}

func FuzzExpandSegmented(f *testing.F) {
	f.Add([]byte{0, 0, 3, 0, 5, 0, 6, 0, 7, 0}, uint16(10))
	f.Add([]byte{0, 0, 1, 0, 10, 0, 1, 0, 1, 0, 20, 0, 2, 0, 2, 0, 0, 0, 0, 0}, uint16(0))
	f.Add([]byte{0, 0, 1, 0, 1, 0, 2, 0, 1, 0, 3, 0, 0, 0}, uint16(0))
	f.Fuzz(func(t *testing.T, raw []byte, n uint16) {
		entries := int(n)
		if entries == 0 {
			entries = 1 << 16
		}
		out, err := expandSegmented(words(nil, raw), entries)
		if err == nil && (len(out) == 0 || len(out) > entries) {
			t.Fatalf("%d entries for a table of %d", len(out), entries)
		}
	})
}

func FuzzLUTData(f *testing.F) {
	f.Add(uint16(4), uint16(0), uint16(8), []byte{1, 2, 3, 4})
	f.Add(uint16(0), uint16(0x8000), uint16(16), []byte{1, 2, 3, 4, 5, 6})
	f.Fuzz(func(t *testing.T, n, first, bits uint16, raw []byte) {
		ds := newDS()
		d, err := parseDescriptor(ds, elemUS(tagLUTDescriptor, n, first, bits), true)
		if err != nil {
			t.Fatal(err)
		}
		l, err := lutData(ds, raw, d)
		if err != nil {
			return
		}
		if len(l.Data) == 0 || len(l.Data) > d.n || l.Bits < 1 || l.Bits > 16 {
			t.Fatalf("LUT with %d entries of %d bits from descriptor %+v", len(l.Data), l.Bits, d)
		}
		l.Lookup(-1 << 20)
		l.Lookup(1 << 20)
	})
}

func TestPaddingAndAutoWindow(t *testing.T) {
	// CT-like signed frame: padding -2000, image values -1000..1000,
	// rescale slope 1 intercept 0.
	vals := []int{-2000, -1000, 0, 1000}
	for _, tc := range []struct {
		name  string
		pi    string
		extra []*dicom.Element
		want  []int
	}{
		{name: "no padding", pi: "MONOCHROME2", want: []int{0, 85, 170, 255}},
		{name: "padding value", pi: "MONOCHROME2", extra: []*dicom.Element{elemSS(tagPixelPaddingValue, -2000)}, want: []int{0, 0, 128, 255}},
		{name: "padding range", pi: "MONOCHROME2", extra: []*dicom.Element{elemSS(tagPixelPaddingValue, -2000), elemSS(tagPixelPaddingRangeLimit, -1000)}, want: []int{0, 0, 0, 255}},
		// MONOCHROME1 inverts the image; padding stays black.
		{name: "monochrome1 padding", pi: "MONOCHROME1", extra: []*dicom.Element{elemSS(tagPixelPaddingValue, -2000)}, want: []int{0, 255, 128, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := newDS(append(tc.extra, elemStr(tagPhotometricInterpretation, dicom.CS, tc.pi))...)
			f := grayFrame(4, 1, true, vals...)
			f.Info.PhotometricInterpretation = tc.pi
			img, err := Render(ds, f, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := grayLevels(img); !slices.Equal(got, tc.want) {
				t.Errorf("levels %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUniformFrame(t *testing.T) {
	// A frame of one value has no min/max window; it shows at its level in
	// the range the stored bits can hold (as DCMTK does), not black.
	f := grayFrame(2, 1, false, 65535, 65535)
	img, err := Render(newDS(), f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := grayLevels(img); !slices.Equal(got, []int{255, 255}) {
		t.Errorf("levels %v, want white", got)
	}
}

func TestPerFrameFunctionalGroups(t *testing.T) {
	voi := func(c, w string) *dicom.Dataset {
		return newDS(elemStr(tagWindowCenter, dicom.DS, c), elemStr(tagWindowWidth, dicom.DS, w))
	}
	rescale := func(slope, intercept string) *dicom.Dataset {
		return newDS(elemStr(tagRescaleSlope, dicom.DS, slope), elemStr(tagRescaleIntercept, dicom.DS, intercept))
	}
	ds := newDS(
		elemStr(tagWindowCenter, dicom.DS, "1"), elemStr(tagWindowWidth, dicom.DS, "1"), // top level: overridden
		elemSQ(tagSharedFunctionalGroups, newDS(
			elemSQ(tagFrameVOILUTSequence, voi("100", "200")),
			elemSQ(tagPixelValueTransformSeq, rescale("2", "-10")),
		)),
		elemSQ(tagPerFrameFunctionalGroups,
			newDS(), // frame 1: shared only
			newDS(elemSQ(tagFrameVOILUTSequence, voi("7", "8"))), // frame 2: own window
			newDS(elemSQ(tagPixelValueTransformSeq, rescale("1", "5"))),
		),
	)
	for _, tc := range []struct {
		frame   int
		window  Window
		rescale Rescale
	}{
		{0, Window{Center: 100, Width: 200}, Rescale{2, -10}},
		{1, Window{Center: 7, Width: 8}, Rescale{2, -10}},
		{2, Window{Center: 100, Width: 200}, Rescale{1, 5}},
		{9, Window{Center: 100, Width: 200}, Rescale{2, -10}}, // beyond the per-frame items
	} {
		d, err := ReadDisplay(ds, tc.frame, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Windows) != 1 || d.Windows[0].Center != tc.window.Center || d.Windows[0].Width != tc.window.Width || d.Rescale != tc.rescale {
			t.Errorf("frame %d: windows %+v rescale %+v, want %+v %+v", tc.frame, d.Windows, d.Rescale, tc.window, tc.rescale)
		}
	}
}

func TestSelectVOI(t *testing.T) {
	ds := newDS(
		elemStr(tagWindowCenter, dicom.DS, "10\\20"), elemStr(tagWindowWidth, dicom.DS, "2\\4"),
		elemStr(tagWindowExplanation, dicom.LO, "A\\B"),
		elemStr(tagVOILUTFunction, dicom.CS, "LINEAR_EXACT"),
	)
	d, err := ReadDisplay(ds, 0, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Windows) != 2 || d.Windows[1] != (Window{Center: 20, Width: 4, Function: FunctionLinearExact, Explanation: "B"}) {
		t.Fatalf("windows %+v", d.Windows)
	}
	never := func() (float64, float64, bool) { t.Fatal("min/max computed"); return 0, 0, false }
	for _, tc := range []struct {
		opts    Options
		x, want float64
		err     error
	}{
		{Options{}, 10, 0.5, nil},
		{Options{VOIIndex: 1}, 21, 0.75, nil},
		{Options{VOI: VOIWindow, VOIIndex: 2}, 0, 0, ErrNoVOI},
		{Options{VOI: VOILUT}, 0, 0, ErrNoVOI},
		// An override without a function takes the data set's.
		{Options{Window: &Window{Center: 0, Width: 10}}, 2.5, 0.75, nil},
		{Options{Window: &Window{Center: 0, Width: 10, Function: FunctionSigmoid}}, 0, 0.5, nil},
	} {
		fn, err := selectVOI(d, tc.opts, never, never)
		if !errors.Is(err, tc.err) {
			t.Errorf("%+v: error %v, want %v", tc.opts, err, tc.err)
			continue
		}
		if err == nil && math.Abs(fn(tc.x)-tc.want) > 1e-12 {
			t.Errorf("%+v: f(%v) = %v, want %v", tc.opts, tc.x, fn(tc.x), tc.want)
		}
	}
}

func TestEmptyModalityLUTIgnored(t *testing.T) {
	item := newDS(elemUS(tagLUTDescriptor), elemUS(tagLUTData))
	ds := newDS(elemSQ(tagModalityLUTSequence, item), elemStr(tagRescaleSlope, dicom.DS, "2"))
	d, err := ReadDisplay(ds, 0, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.ModalityLUT != nil || d.Rescale.Slope != 2 || len(d.Warnings) != 1 {
		t.Errorf("got LUT %v rescale %+v warnings %q", d.ModalityLUT, d.Rescale, d.Warnings)
	}
}

func TestRenderErrors(t *testing.T) {
	gray := grayFrame(2, 2, false, 1, 2, 3, 4)
	short := gray
	short.Data = short.Data[:3]
	cmyk := gray
	cmyk.Info.PhotometricInterpretation, cmyk.Info.SamplesPerPixel = "CMYK", 4
	cmyk.Data = make([]byte, 2*2*4*2)
	int64s := gray
	int64s.Info.BitsAllocated, int64s.Info.BitsStored = 64, 64
	int64s.Data = make([]byte, 2*2*8)
	for _, tc := range []struct {
		name string
		f    Frame
		opts Options
		want error
	}{
		{"short data", short, Options{}, nil},
		{"cmyk", cmyk, Options{}, ErrUnsupported},
		{"64-bit integers", int64s, Options{}, ErrUnsupported},
		{"no such window", gray, Options{VOI: VOIWindow}, ErrNoVOI},
		{"bad depth", gray, Options{Depth: 12}, nil},
	} {
		_, err := Render(newDS(), tc.f, tc.opts)
		if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestColorConversions(t *testing.T) {
	frame := func(pi string, bits, stored int, samples ...int) Frame {
		data := make([]byte, 0, len(samples)*bits/8)
		for _, v := range samples {
			if bits == 16 {
				data = binary.LittleEndian.AppendUint16(data, uint16(v))
			} else {
				data = append(data, byte(v))
			}
		}
		f := grayFrame(len(samples)/3, 1, false)
		f.Data = data
		f.Info.PhotometricInterpretation, f.Info.SamplesPerPixel = pi, 3
		f.Info.BitsAllocated, f.Info.BitsStored, f.Info.HighBit = bits, stored, stored-1
		return f
	}
	for _, tc := range []struct {
		name string
		f    Frame
		want []uint8 // RGB triples
	}{
		{"rgb", frame("RGB", 8, 8, 1, 2, 3), []uint8{1, 2, 3}},
		{"rgb 12 of 16 bits", frame("RGB", 16, 12, 4095, 2048, 0), []uint8{255, 128, 0}},
		// BT.601 full range: grey, white, and pure red (Y 76.245, Cb 84.972,
		// Cr 255.5 rounded).
		{"ybr full", frame("YBR_FULL", 8, 8, 128, 128, 128, 255, 128, 128, 76, 85, 255), []uint8{128, 128, 128, 255, 255, 255, 254, 0, 0}},
		{"ybr ict", frame("YBR_ICT", 8, 8, 255, 128, 128), []uint8{255, 255, 255}},
		// Studio range: Y 16 is black, 235 white.
		{"ybr partial 420", frame("YBR_PARTIAL_420", 8, 8, 16, 128, 128, 235, 128, 128), []uint8{0, 0, 0, 255, 255, 255}},
		// RGB (200,100,50) under the JPEG 2000 reversible transform.
		{"ybr rct", frame("YBR_RCT", 8, 8, 112, 78, 228), []uint8{200, 100, 50}},
	} {
		img, err := Render(newDS(), tc.f, Options{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []uint8
		for i, v := range img.(*image.RGBA).Pix {
			if i%4 != 3 {
				got = append(got, v)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// YBR_PARTIAL_422 handed over as stored: Y1 Y2 Cb Cr for two pixels.
	f := frame("YBR_PARTIAL_422", 8, 8, 16, 235, 128, 128, 0, 0)
	f.Data = f.Data[:4]
	f.Info.Columns = 2
	img, err := Render(newDS(), f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := img.(*image.RGBA).Pix; !slices.Equal(got, []uint8{0, 0, 0, 255, 255, 255, 255, 255}) {
		t.Errorf("subsampled YBR_PARTIAL_422: %v", got)
	}
}

func TestUnknownPhotometricIsGrey(t *testing.T) {
	for _, pi := range []string{"", "MONOCHROME", "RGB"} {
		f := grayFrame(2, 1, false, 0, 100)
		f.Info.PhotometricInterpretation = pi
		img, err := Render(newDS(), f, Options{})
		if err != nil {
			t.Fatalf("%q: %v", pi, err)
		}
		if got := grayLevels(img); !slices.Equal(got, []int{0, 255}) {
			t.Errorf("%q: levels %v", pi, got)
		}
	}
}

func TestStoredLayout(t *testing.T) {
	// 12 bits stored at high bit 13 (shifted by 2), signed; garbage in the
	// other bits is dropped.
	f := grayFrame(3, 1, true)
	f.Info.BitsStored, f.Info.HighBit = 12, 13
	for i, raw := range []uint16{0x8000 | 0x7FF<<2 | 1, 0x800 << 2, 0} {
		binary.LittleEndian.PutUint16(f.Data[2*i:], raw)
	}
	l := layoutOf(f.Info)
	for i, want := range []int64{2047, -2048, 0} {
		if got := l.value(sample(f.Data, 16, i)); got != want {
			t.Errorf("sample %d: %d, want %d", i, got, want)
		}
	}
	img, err := Render(newDS(), f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := grayLevels(img); !slices.Equal(got, []int{255, 0, 128}) {
		t.Errorf("levels %v", got)
	}
}
