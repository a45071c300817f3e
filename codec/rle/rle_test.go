package rle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
)

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	cases := []codec.PixelInfo{
		{Rows: 7, Columns: 5, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 8, PhotometricInterpretation: "MONOCHROME2"},
		{Rows: 3, Columns: 300, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 12, PhotometricInterpretation: "MONOCHROME2"},
		{Rows: 4, Columns: 9, SamplesPerPixel: 3, BitsAllocated: 8, BitsStored: 8, PhotometricInterpretation: "RGB"},
		{Rows: 2, Columns: 3, SamplesPerPixel: 3, BitsAllocated: 16, BitsStored: 16, PhotometricInterpretation: "RGB"},
		{Rows: 2, Columns: 2, SamplesPerPixel: 1, BitsAllocated: 32, BitsStored: 32, PhotometricInterpretation: "MONOCHROME2"},
	}
	for _, in := range cases {
		in.NumberOfFrames = 1
		for _, fill := range []string{"random", "runs", "constant"} {
			src := make([]byte, in.FrameSize())
			for i := range src {
				switch fill {
				case "random":
					src[i] = byte(rng.Intn(256))
				case "runs":
					src[i] = byte(i / 37)
				}
			}
			enc, info, err := Codec{}.Encode(src, in, codec.EncodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			dst := make([]byte, len(src))
			if _, err := (Codec{}).Decode(dst, enc, info); err != nil {
				t.Fatalf("%+v %s: %v", in, fill, err)
			}
			if !bytes.Equal(dst, src) {
				t.Fatalf("%+v %s: round trip differs", in, fill)
			}
		}
	}
}

func TestPackBits(t *testing.T) {
	// A 128-byte run, a literal, and a 2-byte run inside a literal.
	in := append(bytes.Repeat([]byte{7}, 130), 1, 2, 2, 3)
	out := packBits(nil, in)
	dst := make([]byte, len(in))
	if n, err := unpackBits(dst, out, len(in), 1); err != nil || n != len(in) || !bytes.Equal(dst, in) {
		t.Fatalf("n=%d err=%v got % x", n, err, dst)
	}
}

func TestCorrupt(t *testing.T) {
	in := codec.PixelInfo{Rows: 4, Columns: 4, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 8, PhotometricInterpretation: "MONOCHROME2", NumberOfFrames: 1}
	good, _, _ := Codec{}.Encode(make([]byte, 16), in, codec.EncodeOptions{})
	bad := func(f func([]byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string][]byte{
		"short header":      good[:20],
		"two segments":      bad(func(b []byte) []byte { binary.LittleEndian.PutUint32(b, 2); return b }),
		"offset past end":   bad(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 1000); return b }),
		"offset in header":  bad(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 10); return b }),
		"segment too short": bad(func(b []byte) []byte { return b[:65] }),
		"literal overruns":  append(append([]byte(nil), good[:64]...), 100, 1, 2),
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			dst := make([]byte, 16)
			if _, err := (Codec{}).Decode(dst, src, in); !errors.Is(err, codec.ErrCorrupt) {
				t.Fatalf("error %v, want ErrCorrupt", err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	in := codec.PixelInfo{Rows: 3, Columns: 5, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16, PhotometricInterpretation: "MONOCHROME2", NumberOfFrames: 1}
	seed, _, _ := Codec{}.Encode(make([]byte, in.FrameSize()), in, codec.EncodeOptions{})
	f.Add(seed)
	f.Fuzz(func(t *testing.T, src []byte) {
		dst := make([]byte, in.FrameSize())
		_, _ = Codec{}.Decode(dst, src, in)
	})
}
