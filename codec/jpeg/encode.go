package jpeg

/*
#include <stdlib.h>
int lbj_ijg8_encode(const unsigned char *, int, int, int, int, int, int, int, int, unsigned char **, unsigned long *, char *);
int lbj_ijg12_encode(const unsigned char *, int, int, int, int, int, int, int, int, unsigned char **, unsigned long *, char *);
int lbj_ijg16_encode(const unsigned char *, int, int, int, int, int, int, int, int, unsigned char **, unsigned long *, char *);
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/lightbox-pacs/lightbox/codec"
)

// LosslessSV1 decodes and encodes JPEG Lossless, Non-Hierarchical,
// First-Order Prediction (Process 14, Selection Value 1;
// 1.2.840.10008.1.2.4.70).
type LosslessSV1 struct{ Decoder }

// Extended decodes and encodes JPEG Extended (Process 2 and 4;
// 1.2.840.10008.1.2.4.51), lossy.
type Extended struct{ Decoder }

var (
	_ codec.Encoder = LosslessSV1{}
	_ codec.Encoder = Extended{}
)

// Lossy reports false.
func (LosslessSV1) Lossy() bool { return false }

// Method returns "": lossless.
func (LosslessSV1) Method() string { return "" }

// Encode compresses a frame of 2- to 16-bit samples (Bits Stored, any
// Bits Allocated 8 or 16, signed or not) with one or three components,
// losslessly: the low Bits Stored bits of each sample are coded, so a
// decoder returns exactly them (signed samples as their two's complement
// bit pattern, as PS3.5 8.2.1 says). Colour is coded as given, without a
// colour transform, and keeps its photometric interpretation.
func (LosslessSV1) Encode(src []byte, in codec.PixelInfo, _ codec.EncodeOptions) ([]byte, codec.PixelInfo, error) {
	if err := checkEncodable(src, in); err != nil {
		return nil, codec.PixelInfo{}, err
	}
	if in.BitsStored < 2 || in.BitsStored > 16 {
		return nil, codec.PixelInfo{}, fmt.Errorf("jpeg: %w: lossless JPEG codes 2 to 16 bits, have %d", codec.ErrUnsupported, in.BitsStored)
	}
	b, err := ijgEncode(src, in, in.BitsStored, streamPrecision(in.BitsStored), true, 0)
	if err != nil {
		return nil, codec.PixelInfo{}, err
	}
	info := in
	info.NumberOfFrames = 1
	info.PlanarConfiguration = 0
	return b, info, nil
}

// Lossy reports true.
func (Extended) Lossy() bool { return true }

// Method returns "ISO_10918_1".
func (Extended) Method() string { return "ISO_10918_1" }

// Encode compresses a frame of unsigned samples of up to 12 bits with one
// or three components (RGB or YBR_FULL, coded without subsampling or
// colour transform) as a sequential DCT stream at opts.Quality (default
// 90): 8-bit precision for Bits Stored up to 8, 12-bit above, when the
// returned PixelInfo says Bits Stored 12. Signed samples are refused: the
// DCT of two's complement bit patterns is meaningless.
func (Extended) Encode(src []byte, in codec.PixelInfo, opts codec.EncodeOptions) ([]byte, codec.PixelInfo, error) {
	if err := checkEncodable(src, in); err != nil {
		return nil, codec.PixelInfo{}, err
	}
	if in.Signed() || in.BitsStored > 12 || in.BitsStored < 1 {
		return nil, codec.PixelInfo{}, fmt.Errorf("jpeg: %w: JPEG Extended codes unsigned samples of up to 12 bits, have %d-bit signed=%v",
			codec.ErrUnsupported, in.BitsStored, in.Signed())
	}
	switch in.PhotometricInterpretation {
	case "MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL":
	default:
		return nil, codec.PixelInfo{}, fmt.Errorf("jpeg: %w: JPEG Extended encoding of %s", codec.ErrUnsupported, in.PhotometricInterpretation)
	}
	q := opts.Quality
	if q <= 0 || q > 100 {
		q = 90
	}
	precision := 8
	if in.BitsStored > 8 {
		precision = 12
	}
	b, err := ijgEncode(src, in, in.BitsStored, precision, false, q)
	if err != nil {
		return nil, codec.PixelInfo{}, err
	}
	info := in
	info.NumberOfFrames = 1
	info.PlanarConfiguration = 0
	if precision == 12 {
		info.BitsStored, info.HighBit = 12, 11
	}
	return b, info, nil
}

// checkEncodable checks what every IJG encode needs.
func checkEncodable(src []byte, in codec.PixelInfo) error {
	switch {
	case in.BitsAllocated != 8 && in.BitsAllocated != 16, in.Float:
		return fmt.Errorf("jpeg: %w: encoding %d-bit samples", codec.ErrUnsupported, in.BitsAllocated)
	case in.SamplesPerPixel != 1 && in.SamplesPerPixel != 3:
		return fmt.Errorf("jpeg: %w: encoding %d samples per pixel", codec.ErrUnsupported, in.SamplesPerPixel)
	case in.PlanarConfiguration != 0:
		return fmt.Errorf("jpeg: %w: encoding colour-by-plane samples", codec.ErrUnsupported)
	case in.BitsStored > in.BitsAllocated || in.HighBit != in.BitsStored-1:
		return fmt.Errorf("jpeg: %w: Bits Stored %d, High Bit %d in %d bits", codec.ErrUnsupported, in.BitsStored, in.HighBit, in.BitsAllocated)
	case in.Rows <= 0 || in.Columns <= 0 || in.Rows > 65535 || in.Columns > 65535:
		return fmt.Errorf("jpeg: %w: %dx%d frame", codec.ErrUnsupported, in.Columns, in.Rows)
	case int64(len(src)) != in.FrameSize() || len(src) == 0:
		return fmt.Errorf("jpeg: frame has %d bytes, info says %d", len(src), in.FrameSize())
	}
	return nil
}

// streamPrecision is the precision of the IJG build that holds bits: IJG
// 6b encodes only at its compiled-in precision, 8, 12 or 16 (a 10-bit
// image becomes a 12-bit stream whose values stay below 1024).
func streamPrecision(bits int) int {
	switch {
	case bits <= 8:
		return 8
	case bits <= 12:
		return 12
	}
	return 16
}

// ijgEncode runs the GDCM IJG build of the given precision, coding the
// low bits of each sample.
func ijgEncode(src []byte, in codec.PixelInfo, bits, precision int, lossless bool, quality int) ([]byte, error) {
	var out *C.uchar
	var outLen C.ulong
	var errbuf [errLen]C.char
	args := func() (*C.uchar, C.int, C.int, C.int, C.int, C.int, C.int, C.int, C.int, **C.uchar, *C.ulong, *C.char) {
		return (*C.uchar)(unsafe.Pointer(&src[0])), C.int(in.Rows), C.int(in.Columns), C.int(in.SamplesPerPixel),
			C.int(in.BitsAllocated / 8), C.int(bits), C.int(precision), cbool(lossless), C.int(quality), &out, &outLen, &errbuf[0]
	}
	var rc C.int
	switch precision {
	case 8:
		rc = C.lbj_ijg8_encode(args())
	case 12:
		rc = C.lbj_ijg12_encode(args())
	case 16:
		rc = C.lbj_ijg16_encode(args())
	default:
		return nil, fmt.Errorf("jpeg: %w: %d-bit stream", codec.ErrUnsupported, precision)
	}
	if rc != 0 {
		return nil, fmt.Errorf("jpeg: encode %d-bit: %s", precision, C.GoString(&errbuf[0]))
	}
	defer C.free(unsafe.Pointer(out))
	return C.GoBytes(unsafe.Pointer(out), C.int(outLen)), nil
}
