package imaging

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
)

func TestFitSize(t *testing.T) {
	for _, tc := range []struct {
		w, h, maxW, maxH int
		aspect           float64
		wantW, wantH     int
	}{
		{512, 512, 128, 128, 1, 128, 128},
		{800, 350, 128, 128, 1, 128, 56},
		{350, 800, 128, 128, 1, 56, 128},
		{2010, 2446, 512, 0, 1, 512, 623},
		{2010, 2446, 0, 512, 1, 421, 512},
		{64, 64, 256, 256, 1, 256, 256}, // enlarges to fit
		{100, 100, 0, 0, 1, 100, 100},
		// Pixels twice as tall as wide: shown twice as tall.
		{100, 50, 200, 200, 2, 200, 200},
		{100, 50, 0, 0, 2, 100, 100},
		{1, 1000, 10, 10, 1, 1, 10}, // never 0
	} {
		w, h := fitSize(tc.w, tc.h, tc.maxW, tc.maxH, tc.aspect)
		if w != tc.wantW || h != tc.wantH {
			t.Errorf("fitSize(%d, %d, %d, %d, %v) = %d x %d, want %d x %d", tc.w, tc.h, tc.maxW, tc.maxH, tc.aspect, w, h, tc.wantW, tc.wantH)
		}
	}
}

func TestResize(t *testing.T) {
	// Downscaling averages areas exactly: 4x2 -> 2x1 averages 2x2 blocks.
	r := &raster{w: 4, h: 2, ch: 1, depth: 8, p8: []uint8{0, 100, 200, 200, 50, 50, 0, 255}}
	if got := r.resize(2, 1).p8; !slices.Equal(got, []uint8{50, 164}) {
		t.Errorf("2x2 box averages %v, want [50 164]", got)
	}
	// 3 -> 2 covers 1.5 source pixels per output pixel.
	r = &raster{w: 3, h: 1, ch: 1, depth: 8, p8: []uint8{0, 90, 180}}
	if got := r.resize(2, 1).p8; !slices.Equal(got, []uint8{30, 150}) {
		t.Errorf("3 -> 2 averages %v, want [30 150]", got)
	}
	// A constant image stays constant at any size, up or down, 16-bit RGB.
	c := newRaster(37, 23, 3, 16)
	for i := range c.p16 {
		c.p16[i] = []uint16{1000, 40000, 65535}[i%3]
	}
	for _, size := range [][2]int{{5, 3}, {37, 23}, {100, 61}, {1, 1}} {
		out := c.resize(size[0], size[1])
		for i, v := range out.p16 {
			if want := []uint16{1000, 40000, 65535}[i%3]; v != want {
				t.Fatalf("%v: sample %d = %d, want %d", size, i, v, want)
			}
		}
	}
	// Upscaling interpolates linearly between pixel centres.
	r = &raster{w: 2, h: 1, ch: 1, depth: 8, p8: []uint8{0, 200}}
	if got := r.resize(4, 1).p8; !slices.Equal(got, []uint8{0, 50, 150, 200}) {
		t.Errorf("2 -> 4 gives %v, want [0 50 150 200]", got)
	}
}

func TestRegion(t *testing.T) {
	full := renderCorpus(t, "us/us-rgb-esopecho.dcm", 0, Options{}).(*image.RGBA)
	region := image.Rect(10, 20, 110, 70)
	got := renderCorpus(t, "us/us-rgb-esopecho.dcm", 0, Options{Region: region}).(*image.RGBA)
	if got.Bounds() != image.Rect(0, 0, 100, 50) {
		t.Fatalf("bounds %v", got.Bounds())
	}
	stats, err := compareImages(got, full.SubImage(region), 8, 0)
	if err != nil || stats.maxDiff != 0 {
		t.Errorf("region differs from the same part of the full render: %v %v", stats, err)
	}
	// Clipped to the frame (56x20), then scaled to 28 wide; the file's
	// Pixel Aspect Ratio 4:3 makes that 28x13.
	img := renderCorpus(t, "us/us-rgb-esopecho.dcm", 0, Options{Region: image.Rect(200, 100, 400, 300), Width: 28})
	if img.Bounds().Dx() != 28 || img.Bounds().Dy() != 13 {
		t.Errorf("clipped and scaled region: %v, want 28x13", img.Bounds())
	}
	file, src := corpusFile(t, "us/us-rgb-esopecho.dcm")
	fr, err := DecodeFrame(file.Dataset, file.TransferSyntax, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Render(file.Dataset, fr, Options{Region: image.Rect(1000, 1000, 1010, 1010)}); err == nil {
		t.Error("region outside the frame: no error")
	}
}

func TestOverlays(t *testing.T) {
	// A 3x2 overlay with 2 frames starting at image frame 2, placed at row
	// 2, column 3 (1-based) of a 4x4 image, so its last column is clipped.
	// Frame 1 of the overlay sets bit (0,0), frame 2 bit (1,1).
	bits := make([]byte, 2)
	bits[0] |= 1 << 0 // overlay frame 0, pixel 0
	bits[1] |= 1 << 2 // overlay frame 1, row 1, column 1: bit 6+3+1 = 10
	g := uint16(0x6002)
	ds := newDS(
		elemUS(dicom.NewTag(g, ovRows), 2), elemUS(dicom.NewTag(g, ovColumns), 3),
		elemStr(dicom.NewTag(g, ovFrames), dicom.IS, "2"), elemUS(dicom.NewTag(g, ovFrameOrigin), 2),
		elemSS(dicom.NewTag(g, ovOrigin), 2, 3), elemStr(dicom.NewTag(g, ovType), dicom.CS, "G"),
		elemUS(dicom.NewTag(g, ovBitsAllocated), 1), elemUS(dicom.NewTag(g, ovBitPosition), 0),
		elemOW(dicom.NewTag(g, ovData), bits),
	)
	ovs := ReadOverlays(ds, 16, nil)
	if len(ovs) != 1 || ovs[0].Group != g || ovs[0].Frames != 2 || ovs[0].OriginRow != 2 || ovs[0].OriginColumn != 3 {
		t.Fatalf("overlays %+v", ovs)
	}
	for frame, want := range map[int][]int{
		0: nil,       // before the overlay's first frame
		1: {1*4 + 2}, // image (row 1, col 2) 0-based
		2: {2*4 + 3}, // overlay (1,1) -> image (2,3)
		3: nil,       // past its frames
	} {
		r := newRaster(4, 4, 1, 8)
		drawOverlays(r, Frame{Index: frame, Info: grayFrame(4, 4, false).Info}, ovs)
		var set []int
		for i, v := range r.p8 {
			if v == 255 {
				set = append(set, i)
			}
		}
		if !slices.Equal(set, want) {
			t.Errorf("frame %d: overlay pixels %v, want %v", frame, set, want)
		}
	}
}

func TestEmbeddedOverlay(t *testing.T) {
	// 12 bits stored in 16 allocated, overlay in bit 14 of pixel 1.
	f := grayFrame(2, 1, false, 100, 100|1<<14)
	f.Info.BitsStored, f.Info.HighBit = 12, 11
	g := uint16(0x6000)
	ds := newDS(
		elemUS(dicom.NewTag(g, ovRows), 1), elemUS(dicom.NewTag(g, ovColumns), 2),
		elemUS(dicom.NewTag(g, ovBitsAllocated), 16), elemUS(dicom.NewTag(g, ovBitPosition), 14),
		elemStr(tagWindowCenter, dicom.DS, "0"), elemStr(tagWindowWidth, dicom.DS, "1000"),
	)
	for _, overlays := range []bool{false, true} {
		img, err := Render(ds, f, Options{Overlays: overlays})
		if err != nil {
			t.Fatal(err)
		}
		got := grayLevels(img)
		// Bit 14 is outside Bits Stored: it never changes the pixel value.
		want := []int{153, 153}
		if overlays {
			want[1] = 255
		}
		if !slices.Equal(got, want) {
			t.Errorf("overlays %v: levels %v, want %v", overlays, got, want)
		}
	}
}

func TestFloatPixelData(t *testing.T) {
	// Float samples through a min/max window: monotonic, spanning the
	// levels. (The file's own window, LINEAR 0.5/1, is by PS3.3 a step at
	// 0 that shows every positive value white; its writer meant
	// LINEAR_EXACT.)
	img := renderCorpus(t, "seg-pmap/parametric-map-float.dcm", 0, Options{VOI: VOIMinMax})
	file, src := corpusFile(t, "seg-pmap/parametric-map-float.dcm")
	fr, err := DecodeFrame(file.Dataset, file.TransferSyntax, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	levels := grayLevels(img)
	lo, hi := slices.Min(levels), slices.Max(levels)
	distinct := map[int]bool{}
	for _, v := range levels {
		distinct[v] = true
	}
	if lo != 0 || hi != 255 || len(distinct) < 200 {
		t.Errorf("levels span %d..%d with %d distinct values, want 0..255 and most levels used", lo, hi, len(distinct))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for k := 0; k < 2000; k++ {
		i, j := rng.IntN(len(levels)), rng.IntN(len(levels))
		vi, vj := floatSample(fr.Data, 32, i), floatSample(fr.Data, 32, j)
		if vi < vj && levels[i] > levels[j] {
			t.Fatalf("value %v -> %d but %v -> %d", vi, levels[i], vj, levels[j])
		}
	}
}

func TestThumbnail(t *testing.T) {
	file, src := corpusFile(t, "us/philips-us-palette.dcm")
	fr, err := DecodeFrame(file.Dataset, file.TransferSyntax, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Thumbnail(file.Dataset, fr, 0, Options{Source: src, Depth: 16})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := img.(*image.RGBA); !ok || img.Bounds().Dx() != 128 || img.Bounds().Dy() != 56 {
		t.Errorf("thumbnail %T %v, want 8-bit RGBA 128x56", img, img.Bounds())
	}
}

func TestEncode(t *testing.T) {
	gray16 := renderCorpus(t, "ct/siemens-ct-issue141.dcm", 0, Options{Depth: 16})
	gray8 := renderCorpus(t, "ct/siemens-ct-issue141.dcm", 0, Options{})
	rgb := renderCorpus(t, "us/us-rgb-esopecho.dcm", 0, Options{})
	for _, tc := range []struct {
		name      string
		img       image.Image
		mediaType string
		model     color.Model
	}{
		{"png gray16", gray16, MediaTypePNG, color.Gray16Model},
		{"png gray8", gray8, MediaTypePNG, color.GrayModel},
		{"png rgb", rgb, MediaTypePNG, color.RGBAModel},
		{"jpeg gray16", gray16, MediaTypeJPEG, color.GrayModel},
		{"jpeg rgb", rgb, MediaTypeJPEG, color.YCbCrModel},
	} {
		var buf bytes.Buffer
		if err := Encode(&buf, tc.img, tc.mediaType, 95); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var out image.Image
		var err error
		if tc.mediaType == MediaTypePNG {
			out, err = png.Decode(&buf)
		} else {
			out, err = jpeg.Decode(&buf)
		}
		if err != nil {
			t.Fatalf("%s: decode: %v", tc.name, err)
		}
		if out.ColorModel() != tc.model || out.Bounds() != tc.img.Bounds() {
			t.Errorf("%s: decoded %v %v, want %v %v", tc.name, out.ColorModel(), out.Bounds(), tc.model, tc.img.Bounds())
		}
		// Lossless PNG gives back the samples; JPEG stays within a few levels
		// on average (Go subsamples chroma 4:2:0).
		tol := 0
		if tc.mediaType == MediaTypeJPEG {
			tol = 255
		}
		stats, err := compareImages(out, tc.img, 16, tol*257)
		if err != nil {
			t.Fatal(err)
		}
		if tc.mediaType == MediaTypePNG && stats.maxDiff != 0 || stats.sumDiff/float64(stats.pixels) > 8*257 { // JPEG: 4:2:0 chroma
			t.Errorf("%s: round trip %s", tc.name, stats)
		}
	}
	if err := Encode(&bytes.Buffer{}, gray8, "image/gif", 0); err == nil {
		t.Error("gif: no error")
	}
}

func TestTo8Bit(t *testing.T) {
	m := image.NewGray16(image.Rect(0, 0, 3, 1))
	for i, v := range []uint16{0, 0x7F7F, 0xFFFF} {
		m.SetGray16(i, 0, color.Gray16{Y: v})
	}
	got := To8Bit(m).(*image.Gray).Pix
	if !slices.Equal(got, []uint8{0, 127, 255}) {
		t.Errorf("To8Bit = %v", got)
	}
	// 16-bit renders agree with 8-bit ones to within rounding.
	g16 := renderCorpus(t, "cr-dx/fuji-cr-mono1-chest.dcm", 0, Options{Depth: 16})
	g8 := renderCorpus(t, "cr-dx/fuji-cr-mono1-chest.dcm", 0, Options{})
	stats, err := compareImages(To8Bit(g16), g8, 8, 1)
	if err != nil || stats.maxDiff > 1 {
		t.Errorf("16-bit render reduced to 8 bits vs 8-bit render: %v %v", stats, err)
	}
}

func TestPNGWriter(t *testing.T) {
	// The fixed-filter writer must round-trip every image type Render
	// returns, through the standard library's decoder, odd sizes included.
	imgs := []image.Image{
		renderCorpus(t, "ct/siemens-ct-issue141.dcm", 0, Options{}),
		renderCorpus(t, "ct/siemens-ct-issue141.dcm", 0, Options{Depth: 16, Width: 101, Height: 77}),
		renderCorpus(t, "us/us-rgb-esopecho.dcm", 0, Options{}),
		renderCorpus(t, "us/philips-us-palette.dcm", 0, Options{Depth: 16, Width: 333}),
		renderCorpus(t, "sc/sc-rgb-3x3-odd.dcm", 0, Options{}),
		image.NewNRGBA(image.Rect(0, 0, 3, 2)), // falls back to image/png
		image.NewRGBA(image.Rect(0, 0, 3, 2)),  // transparent: image/png keeps alpha
	}
	for _, img := range imgs {
		var buf bytes.Buffer
		if err := EncodePNG(&buf, img); err != nil {
			t.Fatal(err)
		}
		out, err := png.Decode(&buf)
		if err != nil {
			t.Fatalf("%T %v: %v", img, img.Bounds(), err)
		}
		stats, err := compareImages(out, img, 16, 0)
		if err != nil || stats.maxDiff != 0 {
			t.Errorf("%T %v: round trip %v %v", img, img.Bounds(), stats, err)
		}
	}
}
