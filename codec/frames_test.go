package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// TestLocateFramesAPI covers the exported LocateFrames (spans as indices
// into Fragments), including values the reader left in the source.
func TestLocateFramesAPI(t *testing.T) {
	j2k := func(tail ...byte) []byte { return append([]byte{0xFF, 0x4F, 0xFF, 0x51, 0, 0}, tail...) }
	body := func(n int) []byte { return bytes.Repeat([]byte{0x11}, n) }
	u64s := func(v ...uint64) []byte {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint64(b, x)
		}
		return b
	}
	info := PixelInfo{Rows: 4, Columns: 4, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 8, PhotometricInterpretation: "MONOCHROME2"}

	for _, tc := range []struct {
		name    string
		frames  int
		pd      *dicom.Element
		extra   func(ds *dicom.Dataset, src *bytes.Reader)
		src     []byte
		want    []FrameSpan
		wantErr error
	}{
		{
			name: "one fragment per frame", frames: 2,
			pd:   encapsulated(nil, j2k(1), j2k(2)),
			want: []FrameSpan{{1, 2, -1}, {2, 3, -1}},
		},
		{
			name: "frames split over fragments, found by their codestream markers", frames: 2,
			pd:   encapsulated(nil, j2k(1), body(10), body(4), j2k(2), body(6)),
			want: []FrameSpan{{1, 4, -1}, {4, 6, -1}},
		},
		{
			name: "basic offset table", frames: 2,
			// item offsets from the first fragment's item: 0, then 8+6+8+10 = 32
			pd:   encapsulated(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 0), 32), body(6), body(10), body(4)),
			want: []FrameSpan{{1, 3, -1}, {3, 4, -1}},
		},
		{
			name: "markers that do not add up", frames: 2,
			pd:      encapsulated(nil, j2k(1), body(10), body(4)),
			wantErr: ErrCorrupt,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inf := info
			inf.NumberOfFrames = tc.frames
			ds := image(inf, tc.pd)
			got, err := LocateFrames(ds, tc.pd, tc.frames, nil)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("frame %d: %+v, want %+v", i+1, got[i], tc.want[i])
				}
			}
		})
	}

	// An Extended Offset Table whose values the reader left in the source
	// (Bulk): read from it, with the frame lengths.
	t.Run("extended offset table left in the source", func(t *testing.T) {
		pd := encapsulated(nil, body(6), body(10), body(4))
		inf := info
		inf.NumberOfFrames = 2
		ds := image(inf, pd)
		offs, lens := u64s(0, 32), u64s(15, 3)
		src := make([]byte, 64)
		copy(src[0:], offs)
		copy(src[32:], lens)
		ds.Set(&dicom.Element{Tag: TagExtendedOffsetTable, VR: dicom.OV, Length: uint32(len(offs)), Offset: 0, Bulk: true})
		ds.Set(&dicom.Element{Tag: TagExtendedOffsetTableLengths, VR: dicom.OV, Length: uint32(len(lens)), Offset: 32, Bulk: true})
		got, err := LocateFrames(ds, pd, 2, bytes.NewReader(src))
		if err != nil {
			t.Fatal(err)
		}
		want := []FrameSpan{{1, 3, 15}, {3, 4, 3}}
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
}
