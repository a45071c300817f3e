package deflateframe

import (
	"bytes"
	"compress/flate"
	"errors"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
)

func TestRoundTripAndBomb(t *testing.T) {
	in := codec.PixelInfo{Rows: 10, Columns: 10, SamplesPerPixel: 1, BitsAllocated: 1, BitsStored: 1, PhotometricInterpretation: "MONOCHROME2", NumberOfFrames: 1}
	src := bytes.Repeat([]byte{0xA5}, int(in.FrameSize()))
	src[len(src)-1] &= 0x0F
	enc, _, err := Codec{}.Encode(src, in, codec.EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, len(src))
	if _, err := (Codec{}).Decode(dst, enc, in); err != nil || !bytes.Equal(dst, src) {
		t.Fatalf("round trip: %v", err)
	}
	// A stream inflating to 16 MB must be refused after len(dst)+1 bytes.
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write(make([]byte, 16<<20))
	w.Close()
	if _, err := (Codec{}).Decode(dst, b.Bytes(), in); !errors.Is(err, codec.ErrCorrupt) {
		t.Fatalf("bomb: error %v, want ErrCorrupt", err)
	}
	if _, err := (Codec{}).Decode(dst, enc[:len(enc)/2], in); !errors.Is(err, codec.ErrCorrupt) {
		t.Fatalf("truncated: error %v, want ErrCorrupt", err)
	}
}
