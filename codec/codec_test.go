package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// copyCodec is a test codec whose "compressed" frame is the native frame
// behind a 2-byte JPEG SOI-like marker (so marker scanning finds frames).
type copyCodec struct{}

const testTS = "1.2.826.0.1.3680043.8.498.1" // private, test-only

func (copyCodec) TransferSyntax() string { return testTS }
func (copyCodec) Decode(dst, src []byte, in PixelInfo) (PixelInfo, error) {
	if !bytes.HasPrefix(src, sigJPEG) || len(src)-3 < len(dst) {
		return PixelInfo{}, fmt.Errorf("%w: bad test frame of %d bytes", ErrCorrupt, len(src))
	}
	copy(dst, src[3:])
	return in, nil
}

func init() { Register(copyCodec{}) }

func TestRegisterDuplicatePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("second Register for one transfer syntax did not panic")
		}
	}()
	Register(copyCodec{})
}

func us16(v int) []byte { return binary.LittleEndian.AppendUint16(nil, uint16(v)) }

// image builds a data set with the given geometry and pixel data element.
func image(info PixelInfo, pd *dicom.Element) *dicom.Dataset {
	ds := dicom.NewDataset()
	ds.Set(&dicom.Element{Tag: TagRows, VR: dicom.US, Value: us16(info.Rows)})
	ds.Set(&dicom.Element{Tag: TagColumns, VR: dicom.US, Value: us16(info.Columns)})
	ds.Set(&dicom.Element{Tag: TagSamplesPerPixel, VR: dicom.US, Value: us16(info.SamplesPerPixel)})
	ds.Set(&dicom.Element{Tag: TagBitsAllocated, VR: dicom.US, Value: us16(info.BitsAllocated)})
	ds.Set(&dicom.Element{Tag: TagBitsStored, VR: dicom.US, Value: us16(info.BitsStored)})
	ds.Set(&dicom.Element{Tag: TagPixelRepresentation, VR: dicom.US, Value: us16(info.PixelRepresentation)})
	ds.Set(&dicom.Element{Tag: TagPlanarConfiguration, VR: dicom.US, Value: us16(info.PlanarConfiguration)})
	ds.Set(dicom.NewStringElement(TagPhotometricInterpretation, dicom.CS, info.PhotometricInterpretation))
	ds.Set(dicom.NewStringElement(TagNumberOfFrames, dicom.IS, fmt.Sprint(info.NumberOfFrames)))
	if pd != nil {
		ds.Set(pd)
	}
	return ds
}

// encapsulated lays fragments out as a reader would have found them.
func encapsulated(bot []byte, frags ...[]byte) *dicom.Element {
	e := &dicom.Element{Tag: TagPixelData, VR: dicom.OB, Length: dicom.UndefinedLength}
	off := int64(1000)
	for _, f := range append([][]byte{bot}, frags...) {
		if f == nil {
			f = []byte{}
		}
		off += 8
		e.Fragments = append(e.Fragments, dicom.Fragment{Offset: off, Length: uint32(len(f)), Data: f})
		off += int64(len(f))
	}
	return e
}

func testFrame(i, n int) []byte {
	b := make([]byte, n)
	for k := range b {
		b[k] = byte(i*31 + k)
	}
	return b
}

func TestLocateFrames(t *testing.T) {
	info := PixelInfo{Rows: 2, Columns: 4, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 8, PhotometricInterpretation: "MONOCHROME2", NumberOfFrames: 3}
	n := int(info.FrameSize())
	stream := func(i int) []byte { return append(append([]byte{}, sigJPEG...), testFrame(i, n)...) }
	// Each frame split in two fragments: head (with the marker) and tail.
	head := func(i int) []byte { return stream(i)[:5] }
	tail := func(i int) []byte { return stream(i)[5:] }
	botOf := func(sizes ...int) []byte {
		var b []byte
		off := 0
		for _, s := range sizes {
			b = binary.LittleEndian.AppendUint32(b, uint32(off))
			off += s
		}
		return b
	}
	fl := len(stream(0))
	cases := []struct {
		name string
		ds   *dicom.Dataset
	}{
		{"one fragment per frame, no offset table", image(info, encapsulated(nil, stream(0), stream(1), stream(2)))},
		{"basic offset table", image(info, encapsulated(botOf(8+fl, 8+fl, 8+fl), stream(0), stream(1), stream(2)))},
		{"basic offset table, frames over two fragments", image(info, encapsulated(botOf(16+fl, 16+fl, 16+fl), head(0), tail(0), head(1), tail(1), head(2), tail(2)))},
		{"no offset table, frames over two fragments (markers)", image(info, encapsulated(nil, head(0), tail(0), head(1), tail(1), head(2), tail(2)))},
		{"wrong offset table ignored (markers)", image(info, encapsulated(botOf(3, 3, 3), head(0), tail(0), head(1), tail(1), head(2), tail(2)))},
		{"extended offset table", withEOT(image(info, encapsulated(nil, stream(0), stream(1), stream(2))), []uint64{0, uint64(8 + fl), uint64(16 + 2*fl)}, []uint64{uint64(fl), uint64(fl), uint64(fl)})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Open(c.ds, testTS, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				got, _, err := p.Frame(i)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if !bytes.Equal(got, testFrame(i, n)) {
					t.Errorf("frame %d: got % x", i, got)
				}
			}
			if _, _, err := p.Frame(3); !errors.Is(err, ErrFrameRange) {
				t.Errorf("frame 3: %v, want ErrFrameRange", err)
			}
		})
	}
}

func withEOT(ds *dicom.Dataset, offs, lens []uint64) *dicom.Dataset {
	var o, l []byte
	for i := range offs {
		o = binary.LittleEndian.AppendUint64(o, offs[i])
		l = binary.LittleEndian.AppendUint64(l, lens[i])
	}
	ds.Set(&dicom.Element{Tag: TagExtendedOffsetTable, VR: dicom.OV, Value: o})
	ds.Set(&dicom.Element{Tag: TagExtendedOffsetTableLengths, VR: dicom.OV, Value: l})
	return ds
}

func TestLocateFramesFailures(t *testing.T) {
	info := PixelInfo{Rows: 2, Columns: 2, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 8, PhotometricInterpretation: "MONOCHROME2", NumberOfFrames: 3}
	cases := []struct {
		name string
		pd   *dicom.Element
		want error
	}{
		{"no fragments", encapsulated(nil), ErrCorrupt},
		{"fewer fragments than frames", encapsulated(nil, []byte{1, 2}, []byte{3, 4}), ErrTruncated},
		{"four fragments, no markers", encapsulated(nil, []byte{1, 2}, []byte{3, 4}, []byte{5, 6}, []byte{7, 8}), ErrCorrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open(image(info, c.pd), testTS, nil, Options{})
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
		})
	}
}

func TestNative(t *testing.T) {
	mono16 := PixelInfo{Rows: 2, Columns: 3, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 12, PhotometricInterpretation: "MONOCHROME2", NumberOfFrames: 2}
	rgbPlanar := PixelInfo{Rows: 1, Columns: 2, SamplesPerPixel: 3, BitsAllocated: 8, BitsStored: 8, PhotometricInterpretation: "RGB", PlanarConfiguration: 1, NumberOfFrames: 2}
	ybr422 := PixelInfo{Rows: 1, Columns: 4, SamplesPerPixel: 3, BitsAllocated: 8, BitsStored: 8, PhotometricInterpretation: "YBR_FULL_422", NumberOfFrames: 1}
	bits := PixelInfo{Rows: 3, Columns: 3, SamplesPerPixel: 1, BitsAllocated: 1, BitsStored: 1, PhotometricInterpretation: "MONOCHROME2", NumberOfFrames: 3}
	cases := []struct {
		name      string
		info      PixelInfo
		bigEndian bool
		vr        dicom.VR
		value     []byte
		frame     int
		want      []byte
		wantPI    string
	}{
		{"16-bit little endian frame 1", mono16, false, dicom.OW, []byte{1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0, 9, 0, 10, 0, 11, 0, 12, 0}, 1,
			[]byte{7, 0, 8, 0, 9, 0, 10, 0, 11, 0, 12, 0}, "MONOCHROME2"},
		{"16-bit big endian", mono16, true, dicom.OW, []byte{0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0, 9, 0, 10, 0, 11, 0x12, 0x34}, 1,
			[]byte{7, 0, 8, 0, 9, 0, 10, 0, 11, 0, 0x34, 0x12}, "MONOCHROME2"},
		{"planar RGB frame 1", rgbPlanar, false, dicom.OB, []byte{1, 2, 3, 4, 5, 6, 10, 11, 20, 21, 30, 31}, 1,
			[]byte{10, 20, 30, 11, 21, 31}, "RGB"},
		{"YBR_FULL_422 upsampled", ybr422, false, dicom.OB, []byte{1, 2, 50, 60, 3, 4, 70, 80}, 0,
			[]byte{1, 50, 60, 2, 50, 60, 3, 70, 80, 4, 70, 80}, "YBR_FULL"},
		// 9 bits per frame: frame 1 starts at bit 9, frame 2 at bit 18.
		{"bits allocated 1, frame 1 realigned", bits, false, dicom.OB, []byte{0b10101010, 0b11001101, 0b11110000, 0b00000011}, 1,
			[]byte{0b01100110, 0b0}, "MONOCHROME2"},
		{"bits allocated 1, frame 2 realigned", bits, false, dicom.OB, []byte{0b10101010, 0b11001101, 0b11110000, 0b00000011}, 2,
			[]byte{0b11111100, 0b0}, "MONOCHROME2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ds := image(c.info, &dicom.Element{Tag: TagPixelData, VR: c.vr, Length: uint32(len(c.value)), Value: c.value})
			ts := dicom.ExplicitVRLittleEndian
			if c.bigEndian {
				ds.Encoding = dicom.EncodingExplicitBE
				for _, e := range ds.Elements {
					if e.VR == dicom.US {
						e.Value[0], e.Value[1] = e.Value[1], e.Value[0]
					}
				}
				ts = dicom.ExplicitVRBigEndian
			}
			got, info, err := Decode(ds, ts, nil, c.frame)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, c.want) {
				t.Errorf("got % x, want % x", got, c.want)
			}
			if info.PhotometricInterpretation != c.wantPI || info.PlanarConfiguration != 0 {
				t.Errorf("info %+v", info)
			}
		})
	}
}

// bombSource fails the test if anything reads from it.
type bombSource struct{ t *testing.T }

func (b bombSource) ReadAt(p []byte, off int64) (int, error) {
	b.t.Fatalf("read of %d bytes at %d", len(p), off)
	return 0, nil
}

func TestLimitsBeforeAllocation(t *testing.T) {
	huge := PixelInfo{Rows: 65535, Columns: 65535, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16, PhotometricInterpretation: "MONOCHROME2", NumberOfFrames: 1}
	ds := image(huge, &dicom.Element{Tag: TagPixelData, VR: dicom.OW, Length: 10, Offset: 100, Bulk: true})
	if _, _, err := Decode(ds, dicom.ExplicitVRLittleEndian, bombSource{t}, 0); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error %v, want ErrTooLarge", err)
	}
	small := huge
	small.Rows, small.Columns = 100, 100
	ds = image(small, &dicom.Element{Tag: TagPixelData, VR: dicom.OW, Length: 10, Offset: 100, Bulk: true})
	p, err := Open(ds, dicom.ExplicitVRLittleEndian, bombSource{t}, Options{Limits: Limits{MaxFrameBytes: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Frame(0); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error %v, want ErrTooLarge under a 1000-byte limit", err)
	}
	p, _ = Open(ds, dicom.ExplicitVRLittleEndian, bombSource{t}, Options{})
	if _, _, err := p.Frame(0); !errors.Is(err, ErrTruncated) {
		t.Fatalf("error %v, want ErrTruncated for 10 bytes of a 20000-byte frame", err)
	}
}

func TestInvalidPixelInfo(t *testing.T) {
	base := PixelInfo{Rows: 2, Columns: 2, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16, PhotometricInterpretation: "MONOCHROME2", NumberOfFrames: 1}
	for name, mod := range map[string]func(*PixelInfo){
		"zero rows":            func(p *PixelInfo) { p.Rows = 0 },
		"bits allocated 12":    func(p *PixelInfo) { p.BitsAllocated = 12 },
		"bits stored too many": func(p *PixelInfo) { p.BitsStored = 17 },
		"five samples":         func(p *PixelInfo) { p.SamplesPerPixel = 5 },
	} {
		t.Run(name, func(t *testing.T) {
			p := base
			mod(&p)
			ds := image(p, &dicom.Element{Tag: TagPixelData, VR: dicom.OW, Value: make([]byte, 8)})
			if _, _, err := Decode(ds, dicom.ExplicitVRLittleEndian, nil, 0); !errors.Is(err, ErrInvalidPixelInfo) {
				t.Fatalf("error %v, want ErrInvalidPixelInfo", err)
			}
		})
	}
	if _, _, err := Decode(dicom.NewDataset(), dicom.ExplicitVRLittleEndian, nil, 0); !errors.Is(err, ErrNoPixelData) {
		t.Fatalf("error %v, want ErrNoPixelData", err)
	}
}

func TestSignExtend(t *testing.T) {
	b := []byte{0xFF, 0x0F, 0x00, 0x08, 0xFF, 0x07}
	signExtend(b, 16, 12)
	if want := []byte{0xFF, 0xFF, 0x00, 0xF8, 0xFF, 0x07}; !bytes.Equal(b, want) {
		t.Fatalf("got % x, want % x", b, want)
	}
}

func FuzzLocateFrames(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 10, 0, 0, 0}, []byte{0xFF, 0xD8, 0xFF, 1, 2, 3}, 2)
	f.Fuzz(func(t *testing.T, bot, data []byte, frames int) {
		if frames < 1 || frames > 64 {
			return
		}
		var frags [][]byte
		for len(data) > 0 {
			n := min(len(data), 1+int(data[0])%7)
			frags = append(frags, data[:n])
			data = data[n:]
		}
		info := PixelInfo{Rows: 1, Columns: 2, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 8, PhotometricInterpretation: "MONOCHROME2", NumberOfFrames: frames}
		p, err := Open(image(info, encapsulated(bot, frags...)), testTS, nil, Options{})
		if err != nil {
			return
		}
		for i := 0; i < p.NumFrames(); i++ {
			_, _, _ = p.Frame(i)
		}
	})
}
