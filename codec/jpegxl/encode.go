package jpegxl

/*
#include <stdlib.h>
int lbjxl_encode(const unsigned char *src, size_t srclen, int rows, int cols, int comps, int in_bytes, int bits,
                 int lossless, float distance, int effort, unsigned char **out, size_t *outlen, char *err,
                 size_t errlen);
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
)

// Lossless decodes and encodes JPEG XL Lossless (1.2.840.10008.1.2.4.110).
type Lossless struct{ Decoder }

// Lossy decodes and encodes JPEG XL (1.2.840.10008.1.2.4.112), encoding
// lossily.
type Lossy struct{ Decoder }

var (
	_ codec.Encoder = Lossless{}
	_ codec.Encoder = Lossy{}
)

// effort is libjxl's encoder effort (1 fastest .. 9 slowest; its default
// is 7). On a 320x240 12-bit MR here, lossless effort 3 took 24 ms and
// effort 5 132 ms, for a stream 0.7% smaller (BenchmarkEncode).
const effort = 3

// Lossy reports false.
func (Lossless) Lossy() bool { return false }

// Method returns "": lossless.
func (Lossless) Method() string { return "" }

// Encode compresses a frame losslessly: unsigned samples, 8 bits in 8
// allocated or 1 to 16 bits in 16, grey (MONOCHROME1/2, PALETTE COLOR) or
// RGB. Signed samples are refused (JPEG XL has no signed integer samples)
// and so is YBR colour (the decoder returns RGB).
func (Lossless) Encode(src []byte, in codec.PixelInfo, _ codec.EncodeOptions) ([]byte, codec.PixelInfo, error) {
	if err := checkEncodable(src, in, true); err != nil {
		return nil, codec.PixelInfo{}, err
	}
	b, err := encode(src, in, true, 0)
	if err != nil {
		return nil, codec.PixelInfo{}, err
	}
	info := in
	info.NumberOfFrames, info.PlanarConfiguration = 1, 0
	return b, info, nil
}

// Lossy reports true.
func (Lossy) Lossy() bool { return true }

// Method returns "ISO_18181_1".
func (Lossy) Method() string { return "ISO_18181_1" }

// Encode compresses a frame lossily (VarDCT) at the Butteraugli distance
// that opts.Quality maps to as libjxl's cjxl maps it (default quality 90,
// distance 1.0); grey or RGB, unsigned.
func (Lossy) Encode(src []byte, in codec.PixelInfo, opts codec.EncodeOptions) ([]byte, codec.PixelInfo, error) {
	if err := checkEncodable(src, in, false); err != nil {
		return nil, codec.PixelInfo{}, err
	}
	q := opts.Quality
	if q <= 0 || q > 100 {
		q = 90
	}
	b, err := encode(src, in, false, distance(q))
	if err != nil {
		return nil, codec.PixelInfo{}, err
	}
	info := in
	info.NumberOfFrames, info.PlanarConfiguration = 1, 0
	return b, info, nil
}

// distance maps a 1..100 quality to a Butteraugli distance (cjxl's
// mapping: 90 is 1.0, 100 would be lossless and is capped at 0.1).
func distance(q int) float32 {
	if q >= 30 {
		return max(0.1+float32(100-q)*0.09, 0.1)
	}
	return 6.4 + float32(30-q)*0.25 // cjxl's steeper slope below 30
}

func checkEncodable(src []byte, in codec.PixelInfo, lossless bool) error {
	switch {
	case in.Float || in.Signed():
		return fmt.Errorf("jpegxl: %w: signed or float samples", codec.ErrUnsupported)
	case in.BitsAllocated == 8 && in.BitsStored != 8, in.BitsAllocated == 16 && (in.BitsStored < 1 || in.BitsStored > 16),
		in.BitsAllocated != 8 && in.BitsAllocated != 16:
		return fmt.Errorf("jpegxl: %w: %d bits stored in %d", codec.ErrUnsupported, in.BitsStored, in.BitsAllocated)
	case in.HighBit != in.BitsStored-1 || in.PlanarConfiguration != 0:
		return fmt.Errorf("jpegxl: %w: high bit %d, planar configuration %d", codec.ErrUnsupported, in.HighBit, in.PlanarConfiguration)
	case in.Rows <= 0 || in.Columns <= 0 || int64(len(src)) != in.FrameSize():
		return fmt.Errorf("jpegxl: frame has %d bytes, info says %d", len(src), in.FrameSize())
	}
	switch {
	case in.SamplesPerPixel == 1 && (in.PhotometricInterpretation == "MONOCHROME1" || in.PhotometricInterpretation == "MONOCHROME2"):
	case in.SamplesPerPixel == 1 && in.PhotometricInterpretation == "PALETTE COLOR" && lossless:
	case in.SamplesPerPixel == 3 && in.PhotometricInterpretation == "RGB":
	default:
		return fmt.Errorf("jpegxl: %w: %s with %d samples", codec.ErrUnsupported, in.PhotometricInterpretation, in.SamplesPerPixel)
	}
	return nil
}

// encode scales samples of fewer than 16 bits in 16 to libjxl's full
// 16-bit range (the decoder's rescale16 inverts it exactly) and encodes.
func encode(src []byte, in codec.PixelInfo, lossless bool, dist float32) ([]byte, error) {
	inBytes := in.BitsAllocated / 8
	if inBytes == 2 && in.BitsStored < 16 {
		scaled := make([]byte, len(src))
		maxv := uint32(1)<<in.BitsStored - 1
		for i := 0; i+1 < len(src); i += 2 {
			v := uint32(uint16(src[i])|uint16(src[i+1])<<8) & maxv
			v = (v*65535 + maxv/2) / maxv
			scaled[i], scaled[i+1] = byte(v), byte(v>>8)
		}
		src = scaled
	}
	var out *C.uchar
	var outLen C.size_t
	var errbuf [errLen]C.char
	rc := C.lbjxl_encode((*C.uchar)(unsafe.Pointer(&src[0])), C.size_t(len(src)), C.int(in.Rows), C.int(in.Columns),
		C.int(in.SamplesPerPixel), C.int(inBytes), C.int(in.BitsStored), cbool(lossless), C.float(dist), C.int(effort),
		&out, &outLen, &errbuf[0], errLen)
	if rc != 0 {
		return nil, fmt.Errorf("jpegxl: encode: %s", C.GoString(&errbuf[0]))
	}
	defer C.free(unsafe.Pointer(out))
	return C.GoBytes(unsafe.Pointer(out), C.int(outLen)), nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// registered lists what init registers: encoders for .110 and .112, the
// decoder alone for .111 (JPEG recompression needs a JPEG input).
var registered = []codec.Codec{
	Lossless{Decoder{dicom.JPEGXLLossless}},
	Decoder{dicom.JPEGXLJPEGRecompression},
	Lossy{Decoder{dicom.JPEGXL}},
}
